//! Rules the user writes (`[[rules]]` in the settings): a merchant that
//! contains some words, or matches a pattern, gets a category, a new name,
//! or is left out of insights. The first rule that matches wins. Applied at
//! ingest and again on demand (`finbox rules apply`); the store keeps what
//! the bank said, so a changed rule can be re-applied.

use std::fmt;

/// How a rule recognises a merchant.
#[derive(Debug, Clone)]
pub enum Matcher {
    /// Case-insensitive: the merchant contains these characters.
    Contains(String),
    Regex(regex::Regex),
}

impl PartialEq for Matcher {
    fn eq(&self, other: &Matcher) -> bool {
        match (self, other) {
            (Matcher::Contains(a), Matcher::Contains(b)) => a == b,
            (Matcher::Regex(a), Matcher::Regex(b)) => a.as_str() == b.as_str(),
            _ => false,
        }
    }
}

impl Eq for Matcher {}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// As `transactions --json` names it: the rule's `name`, else "rule N".
    pub name: String,
    pub matcher: Matcher,
    pub category: Option<String>,
    pub rename: Option<String>,
    /// Left out of insights (still listed and counted in balances).
    pub hide: bool,
}

/// Why a rule cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleError(pub String);

impl fmt::Display for RuleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for RuleError {}

/// What a rule made of a transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied<'r> {
    pub rule: &'r str,
    pub merchant: Option<&'r str>,
    pub category: Option<&'r str>,
    pub hide: bool,
}

impl Rule {
    /// A rule from the settings' words: exactly one of `contains` and
    /// `regex`, and at least one of `category`, `rename` and `hide`.
    pub fn new(
        name: String,
        contains: Option<&str>,
        regex: Option<&str>,
        category: Option<String>,
        rename: Option<String>,
        hide: bool,
    ) -> Result<Rule, RuleError> {
        let matcher = match (contains.map(str::trim), regex) {
            (Some(c), None) if !c.is_empty() => Matcher::Contains(c.to_lowercase()),
            (None, Some(r)) => Matcher::Regex(
                regex::RegexBuilder::new(r)
                    .case_insensitive(true)
                    .size_limit(1 << 20)
                    .build()
                    .map_err(|e| RuleError(format!("merchant_regex is not a pattern: {e}")))?,
            ),
            (Some(_), Some(_)) => {
                return Err(RuleError("give merchant_contains or merchant_regex, not both".into()));
            }
            _ => return Err(RuleError("needs merchant_contains (some words) or merchant_regex (a pattern)".into())),
        };
        let blank = |s: Option<String>| s.map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
        let (category, rename) = (blank(category), blank(rename));
        if category.is_none() && rename.is_none() && !hide {
            return Err(RuleError("does nothing: give category, rename or hide = true".into()));
        }
        Ok(Rule { name, matcher, category, rename, hide })
    }

    pub fn matches(&self, merchant: &str) -> bool {
        match &self.matcher {
            Matcher::Contains(c) => merchant.to_lowercase().contains(c.as_str()),
            Matcher::Regex(r) => r.is_match(merchant),
        }
    }
}

/// The user's rules, in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rules(pub Vec<Rule>);

impl Rules {
    /// The first rule that matches `merchant`, and what it does.
    pub fn apply(&self, merchant: &str) -> Option<Applied<'_>> {
        self.0.iter().find(|r| r.matches(merchant)).map(|r| Applied {
            rule: &r.name,
            merchant: r.rename.as_deref(),
            category: r.category.as_deref(),
            hide: r.hide,
        })
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(contains: Option<&str>, regex: Option<&str>) -> Result<Rule, RuleError> {
        Rule::new("r".into(), contains, regex, Some("Coffee".into()), None, false)
    }

    #[test]
    fn the_first_matching_rule_wins_in_any_case() {
        let rules = Rules(vec![
            Rule::new("sq".into(), None, Some(r"^SQ \*"), Some("Cafes".into()), None, false).unwrap(),
            Rule::new("sbux".into(), Some("starbucks"), None, Some("Coffee".into()), Some("Starbucks".into()), true)
                .unwrap(),
        ]);
        let a = rules.apply("STARBUCKS STORE 0042").unwrap();
        assert_eq!((a.rule, a.merchant, a.category, a.hide), ("sbux", Some("Starbucks"), Some("Coffee"), true));
        assert_eq!(rules.apply("sq *blue bottle").unwrap().rule, "sq");
        assert_eq!(rules.apply("Whole Foods"), None);
    }

    #[test]
    fn a_rule_that_cannot_work_says_why() {
        assert!(rule(Some("a"), Some("b")).unwrap_err().0.contains("not both"));
        assert!(rule(None, None).unwrap_err().0.contains("needs merchant_contains"));
        assert!(rule(Some("  "), None).is_err());
        assert!(rule(None, Some("(")).unwrap_err().0.contains("not a pattern"));
        let idle = Rule::new("x".into(), Some("a"), None, None, Some(" ".into()), false);
        assert!(idle.unwrap_err().0.contains("does nothing"));
    }
}
