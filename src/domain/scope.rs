//! What a bank may share, scope by scope: balances, transactions, messages
//! (its chat), alerts (fraud questions) and offers (its marketing, off
//! unless asked for). Each is granted on its own; the store keeps no event
//! of a scope that is not granted.

use std::fmt;

use super::MessageKind;
use super::event::FeedEvent;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Scope {
    Balances,
    Transactions,
    Messages,
    Alerts,
    Offers,
}

impl Scope {
    pub const ALL: [Scope; 5] = [Scope::Balances, Scope::Transactions, Scope::Messages, Scope::Alerts, Scope::Offers];

    pub fn name(self) -> &'static str {
        match self {
            Scope::Balances => "balances",
            Scope::Transactions => "transactions",
            Scope::Messages => "messages",
            Scope::Alerts => "alerts",
            Scope::Offers => "offers",
        }
    }

    /// What it lets the bank send, for the sharing dialog.
    pub fn about(self) -> &'static str {
        match self {
            Scope::Balances => "account balances and statements",
            Scope::Transactions => "card and account transactions",
            Scope::Messages => "the bank's messages in its conversation",
            Scope::Alerts => "fraud questions about charges",
            Scope::Offers => "marketing offers from the bank",
        }
    }

    fn bit(self) -> u8 {
        1 << self as u8
    }

    /// The scope an event needs, if any (accounts, finbox's own notices and
    /// cursors need none).
    pub fn of(event: &FeedEvent) -> Option<Scope> {
        match event {
            FeedEvent::Transaction(_) => Some(Scope::Transactions),
            FeedEvent::Balance { .. } | FeedEvent::Statement { .. } => Some(Scope::Balances),
            FeedEvent::Message { kind: MessageKind::Offer, .. } => Some(Scope::Offers),
            FeedEvent::Message { .. } | FeedEvent::Purchase { .. } => Some(Scope::Messages),
            FeedEvent::FraudSignal { .. } => Some(Scope::Alerts),
            FeedEvent::Account(_) | FeedEvent::SystemNotice { .. } | FeedEvent::Cursor(_) | FeedEvent::Whole(_) => None,
        }
    }
}

/// A set of scopes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Scopes(u8);

impl Default for Scopes {
    /// Everything but offers.
    fn default() -> Self {
        Scopes::of(&[Scope::Balances, Scope::Transactions, Scope::Messages, Scope::Alerts])
    }
}

impl Scopes {
    pub const NONE: Scopes = Scopes(0);

    pub fn of(scopes: &[Scope]) -> Scopes {
        Scopes(scopes.iter().fold(0, |acc, s| acc | s.bit()))
    }

    pub fn all() -> Scopes {
        Scopes::of(&Scope::ALL)
    }

    pub fn contains(self, s: Scope) -> bool {
        self.0 & s.bit() != 0
    }

    pub fn with(self, s: Scope, on: bool) -> Scopes {
        if on { Scopes(self.0 | s.bit()) } else { Scopes(self.0 & !s.bit()) }
    }

    pub fn iter(self) -> impl Iterator<Item = Scope> {
        Scope::ALL.into_iter().filter(move |s| self.contains(*s))
    }

    /// The scopes in `self` that `narrower` lacks.
    pub fn removed_in(self, narrower: Scopes) -> Vec<Scope> {
        self.iter().filter(|s| !narrower.contains(*s)).collect()
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// "balances,transactions" (as stored and typed); `all` is every scope.
    pub fn parse(text: &str) -> Result<Scopes, String> {
        let mut out = Scopes::NONE;
        for word in text.split([',', ' ']).map(str::trim).filter(|w| !w.is_empty()) {
            if word.eq_ignore_ascii_case("all") {
                out = Scopes::all();
                continue;
            }
            let s = Scope::ALL.into_iter().find(|s| s.name().eq_ignore_ascii_case(word)).ok_or_else(|| {
                let known: Vec<&str> = Scope::ALL.iter().map(|s| s.name()).collect();
                format!("no scope {word:?} (known: {}, or all)", known.join(", "))
            })?;
            out = out.with(s, true);
        }
        Ok(out)
    }

    /// As stored: "balances,transactions".
    pub fn to_list(self) -> String {
        self.iter().map(Scope::name).collect::<Vec<_>>().join(",")
    }
}

impl serde::Serialize for Scopes {
    /// As a list of names: `["balances", "transactions"]`.
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.iter().map(Scope::name))
    }
}

impl fmt::Display for Scopes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_empty() {
            return f.write_str("nothing");
        }
        f.write_str(&self.iter().map(Scope::name).collect::<Vec<_>>().join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_parse_print_and_leave_offers_out_by_default() {
        let d = Scopes::default();
        assert!(!d.contains(Scope::Offers) && d.contains(Scope::Alerts));
        assert_eq!(d.to_list(), "balances,transactions,messages,alerts");
        assert_eq!(Scopes::parse(&d.to_list()), Ok(d));
        assert_eq!(Scopes::parse("Balances, transactions").unwrap().to_string(), "balances, transactions");
        assert_eq!(Scopes::parse("all"), Ok(Scopes::all()));
        assert!(Scopes::parse("balance").unwrap_err().contains("known: balances"));
        assert_eq!(
            d.removed_in(Scopes::parse("balances").unwrap()),
            [Scope::Transactions, Scope::Messages, Scope::Alerts]
        );
    }
}
