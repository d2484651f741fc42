//! Settings: embedded defaults (`assets/config.toml`), overlaid by the user's
//! config file, overlaid by flags and environment. One tested `resolve`.

use std::path::{Path, PathBuf};

use serde::Deserialize;

pub mod profile;

pub use crate::domain::text::{describe_toml_error, line_column};
pub use crate::import::toml_files;
use profile::{BankProfile, ProfileError};

pub const DEFAULT_CONFIG: &str = include_str!("../assets/config.toml");

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("config file {path}: {message}")]
    Parse { path: String, message: String },
    #[error("config file {path} cannot be read: {source}")]
    Read { path: String, source: std::io::Error },
    #[error("cannot find a home directory for finbox's data; pass --db and --config")]
    NoHome,
    #[error(transparent)]
    Profile(#[from] ProfileError),
}

/// The settings file's keys. Unknown keys are errors, never ignored.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileSettings {
    seed: Option<u64>,
    db: Option<String>,
    banks_dir: Option<String>,
    /// Colours of the screen: `name = "red"` or `"#rrggbb"` per style.
    theme: Option<toml::Table>,
    consent: Option<ConsentFile>,
    /// `[keys.<context>] <action> = "<key>"`: the screen's keys, remapped.
    keys: Option<toml::Table>,
    notify: Option<NotifyFile>,
    simplefin: Option<SimplefinFile>,
    location: Option<LocationFile>,
    rules: Option<Vec<toml::Spanned<RuleFile>>>,
}

/// `[[rules]]`: a merchant recognised by some words or a pattern gets a
/// category, a new name, or is left out of insights.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleFile {
    name: Option<String>,
    merchant_contains: Option<String>,
    merchant_regex: Option<String>,
    category: Option<String>,
    rename: Option<String>,
    #[serde(default)]
    hide: bool,
}

impl FileSettings {
    /// The rules, checked; the first that cannot work is named with its
    /// place in `text`.
    fn rules(&self, path: &str, text: &str) -> Result<crate::domain::rules::Rules, ConfigError> {
        let mut out = Vec::new();
        for (i, spanned) in self.rules.iter().flatten().enumerate() {
            let r = spanned.get_ref();
            let name = r.name.clone().filter(|n| !n.trim().is_empty()).unwrap_or_else(|| format!("rule {}", i + 1));
            let rule = crate::domain::rules::Rule::new(
                name.clone(),
                r.merchant_contains.as_deref(),
                r.merchant_regex.as_deref(),
                r.category.clone(),
                r.rename.clone(),
                r.hide,
            )
            .map_err(|why| {
                let (line, column) = line_column(text, spanned.span().start);
                ConfigError::Parse {
                    path: path.to_string(),
                    message: format!("line {line}, column {column}: [[rules]] {name:?}: {why}"),
                }
            })?;
            out.push(rule);
        }
        Ok(crate::domain::rules::Rules(out))
    }
}

/// `[location]`: where the user is, for "nearest atm".
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct LocationFile {
    near: Option<toml::Spanned<String>>,
}

/// `[simplefin]`: how the SimpleFIN Bridge feed polls.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct SimplefinFile {
    budget: Option<toml::Spanned<i64>>,
    interval_hours: Option<toml::Spanned<i64>>,
}

/// The range of `[simplefin] budget`: the bridge allows about 24 requests a
/// day, warns, then disables the token.
pub const SIMPLEFIN_BUDGET: std::ops::RangeInclusive<i64> = 1..=24;
/// The range of `[simplefin] interval_hours`.
pub const SIMPLEFIN_INTERVAL_HOURS: std::ops::RangeInclusive<i64> = 1..=24;

/// `[consent]`: how long a grant lasts unless renewed.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConsentFile {
    days: Option<toml::Spanned<i64>>,
}

/// `[notify]`: what a new HIGH alert does besides showing in the header.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct NotifyFile {
    bell: Option<bool>,
    command: Option<toml::Spanned<String>>,
}

/// The range `[consent] days` must lie in: a day to ten years.
pub const CONSENT_DAYS: std::ops::RangeInclusive<i64> = 1..=3650;

impl FileSettings {
    fn overlay(self, over: FileSettings) -> FileSettings {
        FileSettings {
            seed: over.seed.or(self.seed),
            db: over.db.filter(|s| !s.is_empty()).or(self.db),
            banks_dir: over.banks_dir.filter(|s| !s.is_empty()).or(self.banks_dir),
            theme: match (self.theme, over.theme) {
                (Some(mut base), Some(top)) => {
                    base.extend(top);
                    Some(base)
                }
                (base, top) => top.or(base),
            },
            consent: Some(ConsentFile {
                days: over.consent.and_then(|c| c.days).or(self.consent.and_then(|c| c.days)),
            }),
            keys: over.keys.or(self.keys),
            notify: {
                let (base, top) = (self.notify.unwrap_or_default(), over.notify.unwrap_or_default());
                Some(NotifyFile { bell: top.bell.or(base.bell), command: top.command.or(base.command) })
            },
            location: over.location.or(self.location),
            rules: over.rules.or(self.rules),
            simplefin: {
                let (base, top) = (self.simplefin.unwrap_or_default(), over.simplefin.unwrap_or_default());
                Some(SimplefinFile {
                    budget: top.budget.or(base.budget),
                    interval_hours: top.interval_hours.or(base.interval_hours),
                })
            },
        }
    }

    /// Values out of range, named by key and place in `text` (the file's).
    fn check(&self, path: &str, text: &str) -> Result<(), ConfigError> {
        self.rules(path, text)?;
        if let Some(near) = self.location.as_ref().and_then(|l| l.near.as_ref())
            && let Err(why) = crate::domain::atm::Place::parse(near.get_ref())
        {
            let (line, column) = line_column(text, near.span().start);
            return Err(ConfigError::Parse {
                path: path.to_string(),
                message: format!("line {line}, column {column}: [location] near: {why}"),
            });
        }
        let sf = self.simplefin.as_ref();
        let ranged = [
            ("[simplefin] budget", sf.and_then(|s| s.budget.as_ref()), SIMPLEFIN_BUDGET, "requests a day"),
            (
                "[simplefin] interval_hours",
                sf.and_then(|s| s.interval_hours.as_ref()),
                SIMPLEFIN_INTERVAL_HOURS,
                "hours",
            ),
        ];
        for (key, value, range, unit) in ranged {
            if let Some(v) = value.filter(|v| !range.contains(v.get_ref())) {
                let (line, column) = line_column(text, v.span().start);
                return Err(ConfigError::Parse {
                    path: path.to_string(),
                    message: format!(
                        "line {line}, column {column}: {key} = {} is out of range: {} to {} {unit}",
                        v.get_ref(),
                        range.start(),
                        range.end()
                    ),
                });
            }
        }
        if let Some(days) = self.consent.as_ref().and_then(|c| c.days.as_ref())
            && !CONSENT_DAYS.contains(days.get_ref())
        {
            let (line, column) = line_column(text, days.span().start);
            return Err(ConfigError::Parse {
                path: path.to_string(),
                message: format!(
                    "line {line}, column {column}: [consent] days = {} is out of range: a grant lasts {} to {} days",
                    days.get_ref(),
                    CONSENT_DAYS.start(),
                    CONSENT_DAYS.end()
                ),
            });
        }
        if let Some(command) = self.notify.as_ref().and_then(|n| n.command.as_ref())
            && let Err(why) = shell_words::split(command.get_ref())
        {
            let (line, column) = line_column(text, command.span().start);
            return Err(ConfigError::Parse {
                path: path.to_string(),
                message: format!(
                    "line {line}, column {column}: [notify] command cannot be split into words ({why}): \
                     quote a word with spaces as a shell would, e.g. command = \"notify-send finbox '{{title}}'\""
                ),
            });
        }
        Ok(())
    }
}

/// Where finbox keeps things by default (XDG on Linux).
#[derive(Debug, Clone)]
pub struct Dirs {
    pub data: PathBuf,
    pub config: PathBuf,
}

impl Dirs {
    pub fn discover() -> Result<Dirs, ConfigError> {
        let p = directories::ProjectDirs::from("", "", "finbox").ok_or(ConfigError::NoHome)?;
        Ok(Dirs { data: p.data_dir().to_path_buf(), config: p.config_dir().to_path_buf() })
    }
}

/// What the command line and environment say.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    /// `--db` or `FINBOX_DB`.
    pub db: Option<PathBuf>,
    /// `--config` or `FINBOX_CONFIG`: then the file must exist.
    pub config: Option<PathBuf>,
    /// `--seed`.
    pub seed: Option<u64>,
}

/// Everything resolved.
#[derive(Debug, Clone)]
pub struct Settings {
    pub db: PathBuf,
    pub config_file: PathBuf,
    pub config_file_exists: bool,
    pub banks_dir: PathBuf,
    pub log_file: PathBuf,
    pub seed: u64,
    pub profiles: Vec<BankProfile>,
    /// Theme overrides from the settings (checked by the screen).
    pub theme: toml::Table,
    /// The user's `[keys]` table (checked when the screen starts).
    pub keys: toml::Table,
    /// How many days a grant (or a renew) lasts: `[consent] days`.
    pub consent_days: i64,
    /// `[notify]`: the bell and the command a new HIGH alert sets off.
    pub notify: NotifySettings,
    /// `[simplefin]`: requests a day, and hours between two syncs.
    pub simplefin_budget: u32,
    pub simplefin_interval_hours: u32,
    /// `[location] near`: where the user is (checked), for "nearest atm".
    pub near: Option<crate::domain::atm::Place>,
    /// `[[rules]]`, checked, in order.
    pub rules: crate::domain::rules::Rules,
}

/// What a new HIGH alert does besides showing in the header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotifySettings {
    /// Ring the terminal's bell.
    pub bell: bool,
    /// A program and its arguments, split into words as a shell would but
    /// never run by one; `{title}` and `{body}` in a word are replaced.
    /// `None` when empty.
    pub command: Option<String>,
}

impl Settings {
    /// Defaults, then the config file, then the overrides.
    pub fn resolve(dirs: &Dirs, over: &Overrides) -> Result<Settings, ConfigError> {
        let defaults: FileSettings = toml::from_str(DEFAULT_CONFIG).map_err(|e| ConfigError::Parse {
            path: "embedded:assets/config.toml".into(),
            message: describe_toml_error(&e, DEFAULT_CONFIG),
        })?;
        defaults.check("embedded:assets/config.toml", DEFAULT_CONFIG)?;
        let (config_file, required) = match &over.config {
            Some(p) => (p.clone(), true),
            None => (dirs.config.join("config.toml"), false),
        };
        let shown = config_file.display().to_string();
        let (user, exists, rules) = match std::fs::read_to_string(&config_file) {
            Ok(text) => {
                let parsed: FileSettings = toml::from_str(&text)
                    .map_err(|e| ConfigError::Parse { path: shown.clone(), message: describe_toml_error(&e, &text) })?;
                parsed.check(&shown, &text)?;
                let rules = parsed.rules(&shown, &text)?;
                (parsed, true, rules)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !required => {
                (FileSettings::default(), false, Default::default())
            }
            Err(source) => return Err(ConfigError::Read { path: shown, source }),
        };
        let merged = defaults.overlay(user);
        let consent_days = merged
            .consent
            .as_ref()
            .and_then(|c| c.days.as_ref())
            .map_or(crate::domain::DEFAULT_CONSENT_DAYS, |d| *d.get_ref());
        let notify = merged.notify.unwrap_or_default();
        let notify = NotifySettings {
            bell: notify.bell.unwrap_or(true),
            command: notify.command.map(toml::Spanned::into_inner).filter(|c| !c.trim().is_empty()),
        };
        let near = merged
            .location
            .as_ref()
            .and_then(|l| l.near.as_ref())
            .and_then(|n| crate::domain::atm::Place::parse(n.get_ref()).ok());
        let sf = merged.simplefin.unwrap_or_default();
        let simplefin_budget = sf.budget.map_or(20, |b| *b.get_ref()) as u32;
        let simplefin_interval_hours = sf.interval_hours.map_or(6, |h| *h.get_ref()) as u32;
        let base = config_file.parent().map(Path::to_path_buf).unwrap_or_default();
        let relative = |s: &str| {
            let p = PathBuf::from(s);
            if p.is_absolute() { p } else { base.join(p) }
        };
        let db = over
            .db
            .clone()
            .or_else(|| merged.db.as_deref().filter(|s| !s.is_empty()).map(relative))
            .unwrap_or_else(|| dirs.data.join("finbox.db"));
        let banks_dir = merged
            .banks_dir
            .as_deref()
            .filter(|s| !s.is_empty())
            .map(relative)
            .unwrap_or_else(|| dirs.config.join("banks"));
        let profiles = profile::load_all(Some(&banks_dir))?;
        let log_dir = db.parent().map(Path::to_path_buf).unwrap_or_else(|| dirs.data.clone());
        Ok(Settings {
            log_file: log_dir.join("finbox.log"),
            db,
            config_file,
            config_file_exists: exists,
            banks_dir,
            seed: over.seed.or(merged.seed).unwrap_or(2018),
            profiles,
            theme: merged.theme.unwrap_or_default(),
            keys: merged.keys.unwrap_or_default(),
            consent_days,
            notify,
            simplefin_budget,
            simplefin_interval_hours,
            near,
            rules,
        })
    }

    /// How long a grant or a renew lasts.
    pub fn consent_validity(&self) -> chrono::Duration {
        chrono::Duration::days(self.consent_days)
    }
}

/// Where the user's own CSV layouts live: `<config dir>/import`.
pub fn user_layout_dir() -> Option<PathBuf> {
    Dirs::discover().ok().map(|d| d.config.join("import"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dirs(tmp: &Path) -> Dirs {
        Dirs { data: tmp.join("data"), config: tmp.join("config") }
    }

    #[test]
    fn defaults_apply_without_a_config_file() {
        let tmp = tempfile::tempdir().unwrap();
        let s = Settings::resolve(&dirs(tmp.path()), &Overrides::default()).unwrap();
        assert_eq!(s.db, tmp.path().join("data/finbox.db"));
        assert_eq!(s.seed, 2018);
        assert!(!s.config_file_exists);
        let ids: Vec<&str> = s.profiles.iter().map(|p| p.id.as_str()).collect();
        assert_eq!(ids, ["chase", "wellsfargo", "citi", "usbank"]);
    }

    #[test]
    fn file_overlays_defaults_and_flags_overlay_the_file() {
        let tmp = tempfile::tempdir().unwrap();
        let d = dirs(tmp.path());
        std::fs::create_dir_all(&d.config).unwrap();
        std::fs::write(d.config.join("config.toml"), "seed = 7\ndb = \"my.db\"\n").unwrap();
        let s = Settings::resolve(&d, &Overrides::default()).unwrap();
        assert_eq!(s.seed, 7);
        assert_eq!(s.db, d.config.join("my.db"));
        let over = Overrides { db: Some(tmp.path().join("flag.db")), seed: Some(9), ..Default::default() };
        let s = Settings::resolve(&d, &over).unwrap();
        assert_eq!((s.seed, s.db), (9, tmp.path().join("flag.db")));
    }

    #[test]
    fn broken_config_names_file_line_and_column() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("c.toml");
        std::fs::write(&path, "seed = 1\nseed = = 2\n").unwrap();
        let over = Overrides { config: Some(path.clone()), ..Default::default() };
        let err = Settings::resolve(&dirs(tmp.path()), &over).unwrap_err().to_string();
        assert!(err.contains(&path.display().to_string()), "{err}");
        assert!(err.contains("line 2, column"), "{err}");
    }

    #[test]
    fn unknown_keys_and_missing_explicit_files_are_errors() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("c.toml");
        std::fs::write(&path, "sed = 1\n").unwrap();
        let over = Overrides { config: Some(path), ..Default::default() };
        let err = Settings::resolve(&dirs(tmp.path()), &over).unwrap_err().to_string();
        assert!(err.contains("unknown field `sed`"), "{err}");
        let over = Overrides { config: Some(tmp.path().join("missing.toml")), ..Default::default() };
        assert!(matches!(Settings::resolve(&dirs(tmp.path()), &over), Err(ConfigError::Read { .. })));
    }

    #[test]
    fn consent_days_default_to_90_and_are_checked_by_key_and_line() {
        let tmp = tempfile::tempdir().unwrap();
        let d = dirs(tmp.path());
        let s = Settings::resolve(&d, &Overrides::default()).unwrap();
        assert_eq!(s.consent_days, 90);
        assert_eq!(s.consent_validity(), chrono::Duration::days(90));
        let path = tmp.path().join("c.toml");
        let with = |text: &str| {
            std::fs::write(&path, text).unwrap();
            Settings::resolve(&d, &Overrides { config: Some(path.clone()), ..Default::default() })
        };
        assert_eq!(with("seed = 1\n[consent]\ndays = 30\n").unwrap().consent_days, 30);
        assert_eq!(with("[consent]\n").unwrap().consent_days, 90, "an empty table keeps the default");
        for bad in ["0", "3651", "-5"] {
            let err = with(&format!("seed = 1\n[consent]\ndays = {bad}\n")).unwrap_err().to_string();
            assert!(err.contains(&path.display().to_string()), "{err}");
            assert!(err.contains("[consent] days") && err.contains("line 3, column 8"), "{err}");
            assert!(err.contains("1 to 3650 days"), "{err}");
        }
        let err = with("[consent]\ndayz = 30\n").unwrap_err().to_string();
        assert!(err.contains("unknown field `dayz`") && err.contains("line 2"), "{err}");
        let err = with("[consent]\ndays = \"ninety\"\n").unwrap_err().to_string();
        assert!(err.contains("line 2"), "{err}");
    }

    #[test]
    fn notify_rings_the_bell_by_default_and_the_file_sets_a_command() {
        let tmp = tempfile::tempdir().unwrap();
        let d = dirs(tmp.path());
        let s = Settings::resolve(&d, &Overrides::default()).unwrap();
        assert_eq!(s.notify, NotifySettings { bell: true, command: None });
        let path = tmp.path().join("c.toml");
        let with = |text: &str| {
            std::fs::write(&path, text).unwrap();
            Settings::resolve(&d, &Overrides { config: Some(path.clone()), ..Default::default() })
        };
        let s = with("[notify]\nbell = false\ncommand = \"notify-send finbox {title}\"\n").unwrap();
        assert_eq!(s.notify, NotifySettings { bell: false, command: Some("notify-send finbox {title}".into()) });
        let s = with("[notify]\ncommand = \"\"\n").unwrap();
        assert_eq!(s.notify, NotifySettings { bell: true, command: None }, "empty: no command");
    }

    #[test]
    fn notify_mistakes_name_the_file_and_line() {
        let tmp = tempfile::tempdir().unwrap();
        let d = dirs(tmp.path());
        let path = tmp.path().join("c.toml");
        let with = |text: &str| {
            std::fs::write(&path, text).unwrap();
            Settings::resolve(&d, &Overrides { config: Some(path.clone()), ..Default::default() })
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default()
        };
        let err = with("seed = 1\n[notify]\nbel = false\n");
        assert!(err.contains(&path.display().to_string()), "{err}");
        assert!(err.contains("unknown field `bel`") && err.contains("line 3"), "{err}");
        let err = with("[notify]\nbell = \"yes\"\n");
        assert!(err.contains("line 2"), "{err}");
        let err = with("[notify]\ncommand = \"notify-send 'finbox {title}\"\n");
        assert!(err.contains(&path.display().to_string()), "{err}");
        assert!(err.contains("[notify] command") && err.contains("line 2, column 11"), "{err}");
    }

    #[test]
    fn user_bank_profiles_add_and_replace() {
        let tmp = tempfile::tempdir().unwrap();
        let d = dirs(tmp.path());
        std::fs::create_dir_all(d.config.join("banks")).unwrap();
        let chase = profile::EMBEDDED[0].1.replace("name = \"Chase\"", "name = \"My Chase\"");
        std::fs::write(d.config.join("banks/chase.toml"), chase).unwrap();
        let s = Settings::resolve(&d, &Overrides::default()).unwrap();
        assert_eq!(s.profiles[0].name, "My Chase");
        assert_eq!(s.profiles.len(), 4);
        // A second file of the user's with the same id shadowed the first
        // without a word; it is refused, naming both files.
        let again = profile::EMBEDDED[0].1.replace("name = \"Chase\"", "name = \"Chase, again\"");
        std::fs::write(d.config.join("banks/my-chase.toml"), again).unwrap();
        let err = Settings::resolve(&d, &Overrides::default()).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(
            err.contains("my-chase.toml") && err.contains("banks/chase.toml") && err.contains("\"chase\""),
            "{err}"
        );
    }
}
