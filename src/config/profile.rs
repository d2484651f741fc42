//! Bank profiles: one TOML file per bank. The common keys (id, name, colour,
//! feed kind, home country, currency) are read here; the table named after the
//! feed kind (e.g. `[simulated]`) belongs to that kind and is parsed by it.

use std::path::Path;

use serde::Deserialize;

use crate::domain::{BankId, Currency};

/// The profiles shipped inside the binary.
pub const EMBEDDED: &[(&str, &str)] = &[
    ("assets/banks/chase.toml", include_str!("../../assets/banks/chase.toml")),
    ("assets/banks/wellsfargo.toml", include_str!("../../assets/banks/wellsfargo.toml")),
    ("assets/banks/citi.toml", include_str!("../../assets/banks/citi.toml")),
    ("assets/banks/usbank.toml", include_str!("../../assets/banks/usbank.toml")),
];

#[derive(Debug, Clone)]
pub struct BankProfile {
    pub id: BankId,
    pub name: String,
    /// Display colour as `#rrggbb`.
    pub color: String,
    /// Feed kind, looked up in the [`super::FeedRegistry`].
    pub feed: String,
    /// ISO 3166 alpha-2 country the customer lives in.
    pub home_country: String,
    pub currency: Currency,
    /// How much a card posting may exceed its authorisation (a tip, a fuel
    /// hold) and still settle it, in percent.
    pub pending_tolerance_percent: i64,
    /// The whole file, for the feed kind to read its own table from.
    pub raw: toml::Table,
    /// Where the profile came from (a path, or `embedded:…`).
    pub source: String,
    /// `[[atms]]`: the bank's ATMs and branches, for "nearest atm".
    pub atms: Vec<crate::domain::atm::Atm>,
}

#[derive(Debug, Deserialize)]
struct Common {
    id: BankId,
    name: String,
    #[serde(default = "default_color")]
    color: String,
    #[serde(default = "default_feed")]
    feed: String,
    #[serde(default = "default_country")]
    home_country: String,
    #[serde(default = "default_currency")]
    currency: Currency,
    #[serde(default = "default_tolerance")]
    pending_tolerance_percent: i64,
}

const COMMON_KEYS: &[&str] =
    &["id", "name", "color", "feed", "home_country", "currency", "pending_tolerance_percent", "atms"];

fn default_tolerance() -> i64 {
    crate::domain::DEFAULT_PENDING_TOLERANCE_PERCENT
}

fn default_color() -> String {
    "#888888".into()
}
fn default_feed() -> String {
    crate::domain::SIMULATED_FEED.into()
}
fn default_country() -> String {
    "US".into()
}
fn default_currency() -> Currency {
    Currency::USD
}

/// A profile that could not be read: names the file and, for parse errors,
/// the line and column.
#[derive(Debug, thiserror::Error)]
#[error("bank profile {source_name}: {message}")]
pub struct ProfileError {
    pub source_name: String,
    pub message: String,
}

impl BankProfile {
    /// The profile of a bank the store made when the user linked it (a
    /// SimpleFIN connection): no file, the defaults.
    pub fn linked(id: &BankId, name: &str, color: &str, feed: &str) -> BankProfile {
        BankProfile {
            id: id.clone(),
            name: name.to_string(),
            color: color.to_string(),
            feed: feed.to_string(),
            home_country: "US".into(),
            currency: Currency::USD,
            pending_tolerance_percent: crate::domain::DEFAULT_PENDING_TOLERANCE_PERCENT,
            raw: toml::Table::new(),
            source: "linked".into(),
            atms: Vec::new(),
        }
    }

    pub fn parse(text: &str, source: &str) -> Result<Self, ProfileError> {
        let err = |message: String| ProfileError { source_name: source.to_string(), message };
        let raw: toml::Table =
            toml::from_str(text).map_err(|e| err(crate::domain::text::describe_toml_error(&e, text)))?;
        let common: Common =
            toml::from_str(text).map_err(|e| err(crate::domain::text::describe_toml_error(&e, text)))?;
        // Unknown keys are reported, not ignored: a typo must not silently fall
        // back to a default. The feed kind's own table is checked by the kind.
        if let Some(key) = raw.keys().find(|k| !COMMON_KEYS.contains(&k.as_str()) && **k != common.feed) {
            return Err(err(format!(
                "unknown key {key:?} (expected {} or a [{}] table)",
                COMMON_KEYS.join(", "),
                common.feed
            )));
        }
        if !is_hex_color(&common.color) {
            return Err(err(format!("color {:?} is not of the form #rrggbb", common.color)));
        }
        if common.home_country.len() != 2 || !common.home_country.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(err(format!(
                "home_country {:?} is not a two-letter country code such as \"US\"",
                common.home_country
            )));
        }
        if !(0..=1000).contains(&common.pending_tolerance_percent) {
            return Err(err(format!(
                "pending_tolerance_percent {} is not between 0 and 1000",
                common.pending_tolerance_percent
            )));
        }
        Ok(BankProfile {
            id: common.id,
            name: crate::domain::text::clean_line(&common.name, 40),
            color: common.color,
            feed: common.feed,
            home_country: common.home_country,
            currency: common.currency,
            pending_tolerance_percent: common.pending_tolerance_percent,
            atms: match raw.get("atms") {
                Some(v) => {
                    v.clone().try_into().map_err(|e: toml::de::Error| err(format!("[[atms]]: {}", e.message())))?
                }
                None => Vec::new(),
            },
            raw,
            source: source.to_string(),
        })
    }

    /// The feed kind's own table (e.g. `[simulated]`), if present.
    pub fn kind_table(&self) -> Option<&toml::Table> {
        self.raw.get(&self.feed).and_then(|v| v.as_table())
    }
}

impl crate::domain::Listed for BankProfile {
    fn listing(&self) -> crate::domain::BankListing<'_> {
        crate::domain::BankListing {
            id: &self.id,
            name: &self.name,
            color: &self.color,
            feed_kind: &self.feed,
            pending_tolerance_percent: self.pending_tolerance_percent,
        }
    }
}

fn is_hex_color(s: &str) -> bool {
    s.len() == 7 && s.starts_with('#') && s[1..].bytes().all(|b| b.is_ascii_hexdigit())
}

/// The embedded profiles, then every `*.toml` in `user_dir` (sorted by name);
/// a user profile with an embedded profile's id replaces it. Two of the
/// user's files with one id are refused, naming both: one would silently
/// shadow the other.
pub fn load_all(user_dir: Option<&Path>) -> Result<Vec<BankProfile>, ProfileError> {
    let mut profiles = Vec::new();
    for (name, text) in EMBEDDED {
        profiles.push(BankProfile::parse(text, &format!("embedded:{name}"))?);
    }
    let Some(dir) = user_dir else { return Ok(profiles) };
    let paths = crate::config::toml_files(dir)
        .map_err(|e| ProfileError { source_name: dir.display().to_string(), message: e.to_string() })?;
    for path in paths {
        let name = path.display().to_string();
        let text = std::fs::read_to_string(&path)
            .map_err(|e| ProfileError { source_name: name.clone(), message: e.to_string() })?;
        let profile = BankProfile::parse(&text, &name)?;
        match profiles.iter_mut().find(|p| p.id == profile.id) {
            Some(slot) if !slot.source.starts_with("embedded:") => {
                return Err(ProfileError {
                    source_name: name,
                    message: format!(
                        "id = {:?} is the id of {} too; each bank needs an id of its own (rename one, or remove it)",
                        profile.id.as_str(),
                        slot.source
                    ),
                });
            }
            Some(slot) => *slot = profile,
            None => profiles.push(profile),
        }
    }
    Ok(profiles)
}
