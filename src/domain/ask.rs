//! What a person asks their bank, beyond the keyword: the period ("last
//! month", "in March", "since Jan 5", "this week"), the category and the
//! merchant (from what the store holds), the account (by name or last four
//! digits) — a small grammar over the user's words, no network, no model.

use chrono::{Datelike, Duration, NaiveDate};

use super::intent::Intent;

/// What the store knows, to recognise in the user's words.
#[derive(Debug, Clone, Default)]
pub struct Vocab {
    pub categories: Vec<String>,
    pub merchants: Vec<String>,
    /// (name, last digits) of the bank's accounts.
    pub accounts: Vec<(String, String)>,
}

/// A stretch of days, in the user's calendar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Period {
    Today,
    Yesterday,
    ThisWeek,
    LastWeek,
    ThisMonth,
    LastMonth,
    ThisYear,
    LastYear,
    /// A month by number, in a given year or the latest one not ahead.
    Month(u32, Option<i32>),
    Since(NaiveDate),
    LastDays(u32),
}

impl Period {
    /// [first day, day after the last).
    pub fn range(self, today: NaiveDate) -> (NaiveDate, NaiveDate) {
        let month_start = |y: i32, m: u32| NaiveDate::from_ymd_opt(y, m, 1).unwrap_or(today);
        let next_month = |y: i32, m: u32| if m == 12 { month_start(y + 1, 1) } else { month_start(y, m + 1) };
        let tomorrow = today + Duration::days(1);
        let week = today - Duration::days(i64::from(today.weekday().num_days_from_monday()));
        match self {
            Period::Today => (today, tomorrow),
            Period::Yesterday => (today - Duration::days(1), today),
            Period::ThisWeek => (week, tomorrow),
            Period::LastWeek => (week - Duration::days(7), week),
            Period::ThisMonth => (month_start(today.year(), today.month()), tomorrow),
            Period::LastMonth => {
                let this = month_start(today.year(), today.month());
                let prev = this - Duration::days(1);
                (month_start(prev.year(), prev.month()), this)
            }
            Period::ThisYear => (month_start(today.year(), 1), tomorrow),
            Period::LastYear => (month_start(today.year() - 1, 1), month_start(today.year(), 1)),
            Period::Month(m, y) => {
                let y = y.unwrap_or(if m > today.month() { today.year() - 1 } else { today.year() });
                (month_start(y, m), next_month(y, m))
            }
            Period::Since(d) => (d.min(today), tomorrow),
            Period::LastDays(n) => (today - Duration::days(i64::from(n.max(1)) - 1), tomorrow),
        }
    }

    /// "in October", "this week", "since Jan 5".
    pub fn describe(self, today: NaiveDate) -> String {
        let (start, _) = self.range(today);
        match self {
            Period::Today => "today".into(),
            Period::Yesterday => "yesterday".into(),
            Period::ThisWeek => "this week".into(),
            Period::LastWeek => "last week".into(),
            Period::ThisMonth => format!("in {} so far", start.format("%B")),
            Period::LastMonth | Period::Month(..) => format!("in {}", start.format("%B %Y")),
            Period::ThisYear => format!("in {} so far", start.year()),
            Period::LastYear => format!("in {}", start.year()),
            Period::Since(d) => format!("since {}", d.format("%b %-d, %Y")),
            Period::LastDays(n) => format!("in the last {n} days"),
        }
    }
}

/// A request, understood.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ask {
    pub intent: Intent,
    pub period: Option<Period>,
    pub category: Option<String>,
    pub merchant: Option<String>,
    /// Index into the vocabulary's accounts.
    pub account: Option<usize>,
}

fn month_of(word: &str) -> Option<u32> {
    const FULL: [&str; 12] = [
        "january",
        "february",
        "march",
        "april",
        "may",
        "june",
        "july",
        "august",
        "september",
        "october",
        "november",
        "december",
    ];
    if word.len() < 3 {
        return None;
    }
    FULL.iter().position(|m| m.starts_with(word)).map(|i| i as u32 + 1)
}

/// Lowercase words of letters, digits, `'`, `-` and `/`.
fn words(text: &str) -> Vec<String> {
    text.to_lowercase()
        .split(|c: char| !(c.is_alphanumeric() || c == '\'' || c == '-' || c == '/'))
        .filter(|w| !w.is_empty())
        .map(|w| w.trim_matches(['\'', '-']).to_string())
        .filter(|w| !w.is_empty())
        .collect()
}

fn period(words: &[String], today: NaiveDate) -> Option<Period> {
    let at = |i: usize| words.get(i).map(String::as_str);
    for (i, w) in words.iter().enumerate() {
        let next = at(i + 1);
        let p = match (w.as_str(), next) {
            ("today", _) => Some(Period::Today),
            ("yesterday", _) => Some(Period::Yesterday),
            ("this" | "current", Some("week")) => Some(Period::ThisWeek),
            ("last" | "previous" | "past", Some("week")) => Some(Period::LastWeek),
            ("this" | "current", Some("month")) => Some(Period::ThisMonth),
            ("last" | "previous" | "past", Some("month")) => Some(Period::LastMonth),
            ("this", Some("year")) => Some(Period::ThisYear),
            ("last" | "previous" | "past", Some("year")) => Some(Period::LastYear),
            ("last" | "past", Some(n)) if n.parse::<u32>().is_ok() && matches!(at(i + 2), Some("days" | "day")) => {
                n.parse().ok().map(Period::LastDays)
            }
            ("since" | "from", Some(d)) => since(&words[i + 1..], today).or_else(|| {
                month_of(d).map(|m| Period::Since(NaiveDate::from_ymd_opt(year_for(m, today), m, 1).unwrap_or(today)))
            }),
            ("in" | "during" | "for", Some(m)) if month_of(m).is_some() => {
                let year = at(i + 2).and_then(|y| y.parse::<i32>().ok()).filter(|y| (1990..=2100).contains(y));
                month_of(m).map(|m| Period::Month(m, year))
            }
            _ => None,
        };
        if p.is_some() {
            return p;
        }
    }
    None
}

fn year_for(month: u32, today: NaiveDate) -> i32 {
    if month > today.month() { today.year() - 1 } else { today.year() }
}

/// "jan 5", "january 5th", "2025-01-05", "1/5".
fn since(rest: &[String], today: NaiveDate) -> Option<Period> {
    let first = rest.first()?;
    if let Ok(d) = NaiveDate::parse_from_str(first, "%Y-%m-%d") {
        return Some(Period::Since(d));
    }
    if let Some((m, d)) = first.split_once('/') {
        let (m, d) = (m.parse().ok()?, d.parse().ok()?);
        return NaiveDate::from_ymd_opt(year_for(m, today), m, d).map(Period::Since);
    }
    let m = month_of(first)?;
    let day: u32 =
        rest.get(1).map(|d| d.trim_end_matches(char::is_alphabetic)).and_then(|d| d.parse().ok()).unwrap_or(1);
    NaiveDate::from_ymd_opt(year_for(m, today), m, day).map(Period::Since)
}

/// The first significant word of a name ("whole" of "Whole Foods Market").
fn key_words(name: &str) -> Vec<String> {
    words(name).into_iter().filter(|w| w.len() >= 3 && !w.chars().all(|c| c.is_ascii_digit())).collect()
}

fn singular(w: &str) -> &str {
    w.strip_suffix("ies").map_or_else(|| w.strip_suffix('s').unwrap_or(w), |_| w)
}

fn category(words: &[String], vocab: &Vocab) -> Option<String> {
    vocab
        .categories
        .iter()
        .find(|c| {
            let cw = key_words(c);
            !cw.is_empty() && cw.iter().all(|k| words.iter().any(|w| singular(w) == singular(k) || w == k))
        })
        .cloned()
}

/// A merchant whose first significant word the user typed (the longest
/// match of its words first).
fn merchant(words: &[String], vocab: &Vocab) -> Option<String> {
    let stop =
        ["the", "and", "last", "pay", "paid", "spend", "spent", "how", "much", "did", "when", "what", "with", "card"];
    let mut best: Option<(usize, &String)> = None;
    for m in &vocab.merchants {
        let k = key_words(m);
        let Some(first) = k.first() else { continue };
        if stop.contains(&first.as_str()) || !words.iter().any(|w| w == first) {
            continue;
        }
        let matched = k.iter().take_while(|x| words.iter().any(|w| w == *x)).count();
        if best.is_none_or(|(n, _)| matched > n) {
            best = Some((matched, m));
        }
    }
    best.map(|(_, m)| m.clone())
}

fn account(words: &[String], vocab: &Vocab) -> Option<usize> {
    if let Some(i) = vocab.accounts.iter().position(|(_, mask)| mask.len() >= 4 && words.iter().any(|w| w == mask)) {
        return Some(i);
    }
    let generic = ["card", "account", "bank", "credit", "the", "my"];
    vocab.accounts.iter().position(|(name, _)| {
        key_words(name)
            .iter()
            .any(|k| !generic.contains(&k.as_str()) && words.iter().any(|w| singular(w) == singular(k)))
    })
}

impl Ask {
    pub fn understand(text: &str, vocab: &Vocab, today: NaiveDate) -> Ask {
        let w = words(text);
        let has = |list: &[&str]| w.iter().any(|x| list.contains(&x.as_str()));
        let merchant = merchant(&w, vocab);
        let intent = if has(&["atm", "atms", "branch", "branches", "cash machine"])
            && has(&["nearest", "near", "closest", "where", "find"])
        {
            Intent::Atm
        } else if has(&["when", "last"])
            && has(&["pay", "paid", "buy", "bought", "charged", "charge"])
            && merchant.is_some()
        {
            Intent::LastPaid
        } else if has(&["suspicious", "fraud", "fraudulent", "weird", "strange", "unusual"]) {
            Intent::Alerts
        } else {
            let basic = Intent::parse(text);
            match basic {
                Intent::Unknown if merchant.is_some() || category(&w, vocab).is_some() => Intent::Spending,
                Intent::Balance if has(&["spend", "spent"]) => Intent::Spending,
                other => other,
            }
        };
        let category = category(&w, vocab);
        // "How much did I spend at Netflix", "how much on gas": spending,
        // though it says "much".
        let spendy =
            has(&["spend", "spent", "spending", "cost", "pay", "paid"]) || category.is_some() || merchant.is_some();
        let counted = w.iter().any(|x| x.parse::<usize>().is_ok_and(|n| (1..=50).contains(&n)));
        let intent = match intent {
            Intent::Balance if spendy => Intent::Spending,
            // "uber last week": what was spent there, not a list.
            Intent::Recent(_) if !counted && (category.is_some() || merchant.is_some()) => Intent::Spending,
            other => other,
        };
        Ask { intent, period: period(&w, today), category, merchant, account: account(&w, vocab) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vocab() -> Vocab {
        Vocab {
            categories: ["Groceries", "Dining", "Transport", "Subscriptions", "Gas", "Shopping"]
                .map(String::from)
                .to_vec(),
            merchants: [
                "Netflix.com",
                "Whole Foods Market #10234",
                "Shell Oil 5732",
                "Trader Joe's",
                "Uber Trip",
                "Amazon.com",
            ]
            .map(String::from)
            .to_vec(),
            accounts: vec![
                ("Chase Total Checking".into(), "4417".into()),
                ("Chase Savings".into(), "8820".into()),
                ("Sapphire Preferred".into(), "7742".into()),
            ],
        }
    }

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 20).unwrap()
    }

    type Want = (Intent, Option<Period>, Option<&'static str>, Option<&'static str>, Option<usize>);

    #[test]
    fn fifty_phrasings() {
        use Intent::*;
        let d = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap();
        let cases: Vec<(&str, Want)> = vec![
            (
                "how much did I spend on groceries last month",
                (Spending, Some(Period::LastMonth), Some("Groceries"), None, None),
            ),
            ("what did i spend on dining this week", (Spending, Some(Period::ThisWeek), Some("Dining"), None, None)),
            ("spending this month", (Spending, Some(Period::ThisMonth), None, None, None)),
            ("spending in March", (Spending, Some(Period::Month(3, None)), None, None, None)),
            ("spent in march 2025", (Spending, Some(Period::Month(3, Some(2025))), None, None, None)),
            ("how much on gas since jan 5", (Spending, Some(Period::Since(d(2026, 1, 5))), Some("Gas"), None, None)),
            ("spent since 2026-10-01", (Spending, Some(Period::Since(d(2026, 10, 1))), None, None, None)),
            ("spending since 10/1", (Spending, Some(Period::Since(d(2026, 10, 1))), None, None, None)),
            ("transport spending last 30 days", (Spending, Some(Period::LastDays(30)), Some("Transport"), None, None)),
            ("how much did i spend at netflix", (Spending, None, None, Some("Netflix.com"), None)),
            (
                "whole foods this month",
                (Spending, Some(Period::ThisMonth), None, Some("Whole Foods Market #10234"), None),
            ),
            ("uber last week", (Spending, Some(Period::LastWeek), None, Some("Uber Trip"), None)),
            ("amazon spending this year", (Spending, Some(Period::ThisYear), None, Some("Amazon.com"), None)),
            ("subscriptions last year", (Spending, Some(Period::LastYear), Some("Subscriptions"), None, None)),
            ("spent today", (Spending, Some(Period::Today), None, None, None)),
            ("what did I spend yesterday", (Spending, Some(Period::Yesterday), None, None, None)),
            (
                "spending on shopping in october",
                (Spending, Some(Period::Month(10, None)), Some("Shopping"), None, None),
            ),
            (
                "how much did I spend on my sapphire card last month",
                (Spending, Some(Period::LastMonth), None, None, Some(2)),
            ),
            ("spending on 7742 this month", (Spending, Some(Period::ThisMonth), None, None, Some(2))),
            ("what's my chase checking balance", (Balance, None, None, None, Some(0))),
            ("balance", (Balance, None, None, None, None)),
            ("how much is in savings", (Balance, None, None, None, Some(1))),
            ("what do I owe on sapphire", (Balance, None, None, None, Some(2))),
            ("balance of 8820", (Balance, None, None, None, Some(1))),
            ("how much money do I have", (Balance, None, None, None, None)),
            ("show the last 3", (Recent(3), None, None, None, None)),
            ("show the last 3 from checking", (Recent(3), None, None, None, Some(0))),
            ("recent transactions", (Recent(5), None, None, None, None)),
            ("latest activity on savings", (Recent(5), None, None, None, Some(1))),
            ("last 10 transactions", (Recent(10), None, None, None, None)),
            ("when did I last pay netflix", (LastPaid, None, None, Some("Netflix.com"), None)),
            ("when did i last buy at trader joe's", (LastPaid, None, None, Some("Trader Joe's"), None)),
            ("last time I paid shell", (LastPaid, None, None, Some("Shell Oil 5732"), None)),
            ("when was amazon last charged", (LastPaid, None, None, Some("Amazon.com"), None)),
            ("anything suspicious?", (Alerts, None, None, None, None)),
            ("any fraud?", (Alerts, None, None, None, None)),
            ("open alerts", (Alerts, None, None, None, None)),
            ("anything weird on sapphire", (Alerts, None, None, None, Some(2))),
            ("where's the nearest atm", (Atm, None, None, None, None)),
            ("find an atm near me", (Atm, None, None, None, None)),
            ("closest branch", (Atm, None, None, None, None)),
            ("freeze card 7742", (Freeze(Some("7742".into())), None, None, None, Some(2))),
            ("unfreeze my card", (Unfreeze(None), None, None, None, None)),
            ("lost my card", (Freeze(None), None, None, None, None)),
            ("hello", (Greeting, None, None, None, None)),
            ("thanks!", (Thanks, None, None, None, None)),
            ("help", (Help, None, None, None, None)),
            ("sing me a song", (Unknown, None, None, None, None)),
            ("", (Unknown, None, None, None, None)),
            ("groceries", (Spending, None, Some("Groceries"), None, None)),
            ("dining during september", (Spending, Some(Period::Month(9, None)), Some("Dining"), None, None)),
            ("spending past week", (Spending, Some(Period::LastWeek), None, None, None)),
        ];
        assert!(cases.len() >= 50);
        let v = vocab();
        let mut wrong = Vec::new();
        for (text, (intent, period, category, merchant, account)) in cases {
            let got = Ask::understand(text, &v, today());
            let want = Ask {
                intent,
                period,
                category: category.map(String::from),
                merchant: merchant.map(String::from),
                account,
            };
            if got != want {
                wrong.push(format!("{text:?}\n  got  {got:?}\n  want {want:?}"));
            }
        }
        assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    }

    #[test]
    fn periods_are_ranges_of_days() {
        let t = today(); // a Friday
        let d = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap();
        assert_eq!(Period::LastMonth.range(t), (d(2026, 10, 1), d(2026, 11, 1)));
        assert_eq!(Period::ThisWeek.range(t), (d(2026, 11, 16), d(2026, 11, 21)));
        assert_eq!(Period::Month(12, None).range(t), (d(2025, 12, 1), d(2026, 1, 1)));
        assert_eq!(Period::LastDays(30).range(t), (d(2026, 10, 22), d(2026, 11, 21)));
        assert_eq!(Period::LastMonth.describe(t), "in October 2026");
    }

    proptest::proptest! {
        #[test]
        fn no_input_panics_or_takes_long(text in "\\PC{0,200}") {
            let v = vocab();
            // The best of three, so that a busy machine's pause is not the
            // parser's (well under a millisecond in a release build).
            let best = (0..3)
                .map(|_| {
                    let start = std::time::Instant::now();
                    let _ = Ask::understand(&text, &v, today());
                    start.elapsed()
                })
                .min()
                .unwrap_or_default();
            proptest::prop_assert!(best < std::time::Duration::from_millis(5), "{best:?}");
        }
    }
}
