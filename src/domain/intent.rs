//! What a user means by a message to their bank. Plain keyword matching: the
//! answers are computed from the local store (see `store::reply`).

/// A recognised request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Intent {
    Balance,
    /// Recent transactions, how many.
    Recent(usize),
    /// Spending by category this month.
    Spending,
    /// Freeze cards: the one ending in these digits, or all.
    Freeze(Option<String>),
    Unfreeze(Option<String>),
    /// Open fraud alerts of this bank.
    Alerts,
    /// When a merchant was last paid.
    LastPaid,
    /// The nearest ATMs and branches.
    Atm,
    Help,
    Greeting,
    Thanks,
    Unknown,
}

const DEFAULT_RECENT: usize = 5;

impl Intent {
    pub fn parse(text: &str) -> Intent {
        let lower = text.to_lowercase();
        let words: Vec<&str> =
            lower.split(|c: char| !c.is_alphanumeric() && c != '\'').filter(|w| !w.is_empty()).collect();
        let has = |w: &[&str]| words.iter().any(|x| w.contains(x));
        let digits =
            words.iter().find(|w| w.len() == 4 && w.bytes().all(|b| b.is_ascii_digit())).map(|w| w.to_string());
        let number = words.iter().filter_map(|w| w.parse::<usize>().ok()).find(|n| (1..=50).contains(n));

        if has(&["unfreeze", "unlock", "unblock", "unfrozen", "reactivate"]) {
            return Intent::Unfreeze(digits);
        }
        if has(&["freeze", "lock", "block", "stolen", "lost", "frozen"]) {
            return Intent::Freeze(digits);
        }
        if has(&["spend", "spent", "spending", "categories", "category", "budget", "where"]) {
            return Intent::Spending;
        }
        if has(&["recent", "transactions", "transaction", "history", "last", "latest", "activity", "purchases"]) {
            return Intent::Recent(number.unwrap_or(DEFAULT_RECENT));
        }
        if has(&["balance", "balances", "much", "funds", "money", "owe"]) {
            return Intent::Balance;
        }
        if has(&["alert", "alerts", "fraud", "suspicious"]) {
            return Intent::Alerts;
        }
        if has(&["help", "commands", "options"]) || lower.trim() == "?" {
            return Intent::Help;
        }
        if has(&["thanks", "thank", "thx", "cheers"]) {
            return Intent::Thanks;
        }
        if has(&["hi", "hello", "hey", "morning", "evening"]) {
            return Intent::Greeting;
        }
        Intent::Unknown
    }
}

#[cfg(test)]
mod tests {
    use super::Intent::*;
    use super::*;

    #[test]
    fn recognises_the_usual_requests() {
        assert_eq!(Intent::parse("balance"), Balance);
        assert_eq!(Intent::parse("How much do I have?"), Balance);
        assert_eq!(Intent::parse("recent"), Recent(5));
        assert_eq!(Intent::parse("show my last 10 transactions"), Recent(10));
        assert_eq!(Intent::parse("what did I spend this month"), Spending);
        assert_eq!(Intent::parse("freeze card"), Freeze(None));
        assert_eq!(Intent::parse("Please FREEZE card 9913!"), Freeze(Some("9913".into())));
        assert_eq!(Intent::parse("unfreeze card"), Unfreeze(None));
        assert_eq!(Intent::parse("my card was stolen"), Freeze(None));
        assert_eq!(Intent::parse("help"), Help);
        assert_eq!(Intent::parse("?"), Help);
        assert_eq!(Intent::parse("hello"), Greeting);
        assert_eq!(Intent::parse("thanks!"), Thanks);
        assert_eq!(Intent::parse("any fraud alerts?"), Alerts);
        assert_eq!(Intent::parse("sing me a song"), Unknown);
        assert_eq!(Intent::parse(""), Unknown);
    }
}
