//! Named styles for the screen: a coloured default, a colourless variant for
//! `NO_COLOR` and monochrome terminals, and overrides from the `[theme]` table
//! of the config file.

use std::str::FromStr;

use ratatui::style::{Color, Modifier, Style};

/// Every style the screen uses, by meaning rather than by widget.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Theme {
    /// The top bar.
    pub header: Style,
    /// A pane's border when it does not have focus.
    pub border: Style,
    /// The focused pane's border.
    pub border_focused: Style,
    /// The selected row of a list.
    pub selected: Style,
    /// A message from a bank (the text; the bank's name is in its colour).
    pub bank_message: Style,
    /// A message the user wrote.
    pub user_message: Style,
    /// A notice from finbox itself.
    pub system_notice: Style,
    /// Fraud: alert rows, fraud messages, the alert count, high severity.
    pub alert: Style,
    /// Medium severity.
    pub warning: Style,
    /// Money arriving.
    pub money_positive: Style,
    /// Money leaving, negative balances.
    pub money_negative: Style,
    /// Secondary text: hints, dates, separators, banks not shared.
    pub muted: Style,
    /// The footer's note after an action.
    pub flash: Style,
    /// The footer's note after a failed action.
    pub flash_error: Style,
    /// Key names in the footer and in dialogs.
    pub key: Style,
    /// The balance chart.
    pub chart: Style,
    /// Whether banks are drawn in their own colours.
    pub bank_colors: bool,
}

/// The keys a `[theme]` table may set, in the order of the fields.
const STYLE_KEYS: &[&str] = &[
    "header",
    "border",
    "border_focused",
    "selected",
    "bank_message",
    "user_message",
    "system_notice",
    "alert",
    "warning",
    "money_positive",
    "money_negative",
    "muted",
    "flash",
    "flash_error",
    "key",
    "chart",
];

impl Default for Theme {
    fn default() -> Self {
        let s = Style::new();
        Theme {
            header: s.fg(Color::White).bg(Color::Indexed(236)),
            border: s.fg(Color::DarkGray),
            border_focused: s.fg(Color::Cyan),
            selected: s.add_modifier(Modifier::REVERSED | Modifier::BOLD),
            bank_message: s,
            user_message: s.fg(Color::LightBlue),
            system_notice: s.fg(Color::DarkGray).add_modifier(Modifier::ITALIC),
            alert: s.fg(Color::Red),
            warning: s.fg(Color::Yellow),
            money_positive: s.fg(Color::Green),
            money_negative: s,
            muted: s.fg(Color::DarkGray),
            flash: s.fg(Color::Green),
            flash_error: s.fg(Color::Red).add_modifier(Modifier::BOLD),
            key: s.fg(Color::Cyan).add_modifier(Modifier::BOLD),
            chart: s.fg(Color::Cyan),
            bank_colors: true,
        }
    }
}

impl Theme {
    /// Only modifiers: no foreground or background colour anywhere.
    pub fn no_color() -> Self {
        let s = Style::new();
        Theme {
            header: s.add_modifier(Modifier::REVERSED),
            border: s,
            border_focused: s.add_modifier(Modifier::BOLD),
            selected: s.add_modifier(Modifier::REVERSED),
            bank_message: s,
            user_message: s,
            system_notice: s.add_modifier(Modifier::ITALIC | Modifier::DIM),
            alert: s.add_modifier(Modifier::BOLD),
            warning: s.add_modifier(Modifier::BOLD),
            money_positive: s,
            money_negative: s,
            muted: s.add_modifier(Modifier::DIM),
            flash: s,
            flash_error: s.add_modifier(Modifier::BOLD),
            key: s.add_modifier(Modifier::BOLD),
            chart: s,
            bank_colors: false,
        }
    }

    /// The default theme with the `[theme]` table's entries on top. A value is
    /// a colour (`alert = "red"`, `alert = "#ff0000"`, `alert = "196"`), which
    /// sets the foreground, or a table such as
    /// `header = { fg = "white", bg = "blue", bold = true }`.
    pub fn from_toml_table(table: &toml::Table) -> Result<Theme, String> {
        let mut theme = Theme::default();
        for (key, value) in table {
            if key == "bank_colors" {
                theme.bank_colors =
                    value.as_bool().ok_or_else(|| format!("bank_colors: expected true or false, found {value}"))?;
                continue;
            }
            let slot = theme.slot(key).ok_or_else(|| {
                format!("unknown theme key {key:?} (known keys: {}, bank_colors)", STYLE_KEYS.join(", "))
            })?;
            *slot = style_from_value(*slot, value).map_err(|e| format!("{key}: {e}"))?;
        }
        Ok(theme)
    }

    fn slot(&mut self, key: &str) -> Option<&mut Style> {
        Some(match key {
            "header" => &mut self.header,
            "border" => &mut self.border,
            "border_focused" => &mut self.border_focused,
            "selected" => &mut self.selected,
            "bank_message" => &mut self.bank_message,
            "user_message" => &mut self.user_message,
            "system_notice" => &mut self.system_notice,
            "alert" => &mut self.alert,
            "warning" => &mut self.warning,
            "money_positive" => &mut self.money_positive,
            "money_negative" => &mut self.money_negative,
            "muted" => &mut self.muted,
            "flash" => &mut self.flash,
            "flash_error" => &mut self.flash_error,
            "key" => &mut self.key,
            "chart" => &mut self.chart,
            _ => return None,
        })
    }

    /// The style of a bank's name and dot: its colour, or plain without colours.
    pub fn bank(&self, hex: &str) -> Style {
        if self.bank_colors { Style::new().fg(bank_color(hex)) } else { Style::new() }
    }

    /// Green for money arriving, the negative style for money leaving.
    pub fn money(&self, minor: i64) -> Style {
        if minor < 0 { self.money_negative } else { self.money_positive }
    }
}

/// Parses a bank's `#rrggbb` colour; anything else gives the terminal's default.
pub fn bank_color(hex: &str) -> Color {
    let h = hex.trim();
    let digits = h.strip_prefix('#').unwrap_or(h);
    if digits.len() != 6 || !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Color::Reset;
    }
    let byte = |i: usize| u8::from_str_radix(&digits[i..i + 2], 16).unwrap_or(0);
    Color::Rgb(byte(0), byte(2), byte(4))
}

fn parse_color(value: &toml::Value) -> Result<Color, String> {
    let text = value.as_str().ok_or_else(|| format!("expected a colour name or \"#rrggbb\", found {value}"))?;
    Color::from_str(text.trim())
        .map_err(|_| format!("{text:?} is not a colour (use a name such as \"red\", \"#rrggbb\" or 0-255)"))
}

fn style_from_value(base: Style, value: &toml::Value) -> Result<Style, String> {
    let Some(table) = value.as_table() else {
        return Ok(base.fg(parse_color(value)?));
    };
    let mut style = base;
    for (k, v) in table {
        let modifier = match k.as_str() {
            "fg" => {
                style = style.fg(parse_color(v)?);
                continue;
            }
            "bg" => {
                style = style.bg(parse_color(v)?);
                continue;
            }
            "bold" => Modifier::BOLD,
            "italic" => Modifier::ITALIC,
            "dim" => Modifier::DIM,
            "reversed" => Modifier::REVERSED,
            "underlined" => Modifier::UNDERLINED,
            other => {
                return Err(format!(
                    "unknown style field {other:?} (use fg, bg, bold, italic, dim, reversed, underlined)"
                ));
            }
        };
        let on = v.as_bool().ok_or_else(|| format!("{k}: expected true or false, found {v}"))?;
        style = if on { style.add_modifier(modifier) } else { style.remove_modifier(modifier) };
    }
    Ok(style)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(text: &str) -> toml::Table {
        text.parse().unwrap()
    }

    #[test]
    fn overrides_apply_on_top_of_the_default() {
        let t = Theme::from_toml_table(&table("alert = \"#ff0000\"\nmuted = \"gray\"")).unwrap();
        assert_eq!(t.alert.fg, Some(Color::Rgb(255, 0, 0)));
        assert_eq!(t.muted.fg, Some(Color::Gray));
        assert_eq!(t.header, Theme::default().header);
        let t = Theme::from_toml_table(&table("header = { fg = \"white\", bg = \"blue\", bold = true }")).unwrap();
        assert_eq!(t.header.bg, Some(Color::Blue));
        assert!(t.header.add_modifier.contains(Modifier::BOLD));
    }

    #[test]
    fn unknown_keys_and_colours_are_named() {
        let e = Theme::from_toml_table(&table("alarm = \"red\"")).unwrap_err();
        assert!(e.contains("\"alarm\""), "{e}");
        let e = Theme::from_toml_table(&table("alert = \"reddish\"")).unwrap_err();
        assert!(e.starts_with("alert:") && e.contains("reddish"), "{e}");
        let e = Theme::from_toml_table(&table("alert = { blink = true }")).unwrap_err();
        assert!(e.contains("blink"), "{e}");
    }

    #[test]
    fn bank_colours_parse_hex_only() {
        assert_eq!(bank_color("#117aca"), Color::Rgb(0x11, 0x7a, 0xca));
        assert_eq!(bank_color("117ACA"), Color::Rgb(0x11, 0x7a, 0xca));
        assert_eq!(bank_color("#12"), Color::Reset);
        assert_eq!(bank_color("#gggggg"), Color::Reset);
        assert_eq!(bank_color("#ééé"), Color::Reset);
    }

    #[test]
    fn no_color_has_no_colours() {
        let t = Theme::no_color();
        for key in STYLE_KEYS {
            let mut t = t.clone();
            let s = *t.slot(key).unwrap();
            assert_eq!((s.fg, s.bg), (None, None), "{key}");
        }
        assert_eq!(t.bank("#ff0000"), Style::new());
    }
}
