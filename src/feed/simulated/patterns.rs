//! The fraud patterns the simulated bank can play, and how it plays them (it never says which charges are fraud).

use super::*;

/// A fraud pattern the simulated bank can play.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Pattern {
    /// A burst of tiny online charges, as a stolen card number is tried out.
    #[serde(rename = "card-testing")]
    CardTesting,
    /// An online charge at a merchant abroad.
    #[serde(rename = "foreign-cnp")]
    ForeignCnp,
    /// A large charge in the small hours.
    #[serde(rename = "odd-hour")]
    OddHour,
    /// An ordinary charge posted twice a few minutes apart.
    #[serde(rename = "duplicate")]
    Duplicate,
}

impl Pattern {
    pub const ALL: &'static [Pattern] =
        &[Pattern::CardTesting, Pattern::ForeignCnp, Pattern::OddHour, Pattern::Duplicate];

    pub fn as_str(self) -> &'static str {
        match self {
            Pattern::CardTesting => "card-testing",
            Pattern::ForeignCnp => "foreign-cnp",
            Pattern::OddHour => "odd-hour",
            Pattern::Duplicate => "duplicate",
        }
    }

    pub(super) fn parse(s: &str) -> Option<Pattern> {
        Pattern::ALL.iter().copied().find(|p| p.as_str() == s)
    }
}

impl fmt::Display for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Sim {
    /// A fraud incident starting at about `target`, or `None` when the
    /// pattern does not fit before `limit`.
    pub(super) fn fraud(&mut self, base: i64, target: i64, limit: i64) -> Option<Vec<Pending>> {
        let plan = self.p.fraud.clone()?;
        let pattern = *plan.patterns.get(self.rng.random_range(0..plan.patterns.len().max(1)))?;
        let tag = Some(FraudTag { pattern, incident: self.st.incidents });
        let country = self.p.home_country.clone();
        let batch = match pattern {
            Pattern::CardTesting => {
                let account = self.spending_account();
                let merchant = plan.tiny[self.rng.random_range(0..plan.tiny.len())].clone();
                let count = self.rng.random_range(CARD_TEST_COUNT.0..=CARD_TEST_COUNT.1);
                let mut at = target;
                let mut batch = Vec::new();
                for _ in 0..count {
                    let minor = self.amount(CARD_TEST_AMOUNT);
                    batch.push(Pending {
                        at,
                        item: Item::Txn {
                            account: account.clone(),
                            merchant: merchant.clone(),
                            category: "Shopping".into(),
                            channel: Channel::Online,
                            country: country.clone(),
                            minor: -minor,
                            fraud: tag,
                            transfer: false,
                            id: None,
                        },
                    });
                    at += self.rng.random_range(CARD_TEST_GAP.0..=CARD_TEST_GAP.1);
                }
                batch
            }
            Pattern::ForeignCnp => {
                let at = target;
                let account = self.spending_account();
                let (merchant, country) = plan.foreign[self.rng.random_range(0..plan.foreign.len())].clone();
                let minor = self.amount(FOREIGN_AMOUNT);
                let item = Item::Txn {
                    account,
                    merchant,
                    category: "Shopping".into(),
                    channel: Channel::Online,
                    country,
                    minor: -minor,
                    fraud: tag,
                    transfer: false,
                    id: None,
                };
                vec![Pending { at, item }]
            }
            Pattern::OddHour => {
                let at = self.odd_hour(base, limit)?;
                let account = self.spending_account();
                let merchant = plan.large[self.rng.random_range(0..plan.large.len())].clone();
                let minor = self.amount(ODD_HOUR_AMOUNT);
                let item = Item::Txn {
                    account,
                    merchant,
                    category: "Shopping".into(),
                    channel: Channel::Online,
                    country,
                    minor: -minor,
                    fraud: tag,
                    transfer: false,
                    id: None,
                };
                vec![Pending { at, item }]
            }
            Pattern::Duplicate => {
                let first = self.ordinary(target, tag);
                let mut second = first.clone();
                second.at += self.rng.random_range(DUPLICATE_GAP.0..=DUPLICATE_GAP.1);
                vec![first, second]
            }
        };
        self.st.incidents += 1;
        Some(batch)
    }

    /// A random time in a small-hours window (01:00–04:59 local) after `base`
    /// and not after `limit`, if one fits.
    pub(super) fn odd_hour(&mut self, base: i64, limit: i64) -> Option<i64> {
        let day = self.local_day(base);
        for d in day..=day + 1 {
            let low = self.at_local(d, ODD_HOUR_WINDOW.0).max(base + 1);
            let high = self.at_local(d, ODD_HOUR_WINDOW.1).min(limit);
            if low <= high {
                return Some(self.rng.random_range(low..=high));
            }
        }
        None
    }
}
