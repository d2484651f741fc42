//! What the simulated person does with money beyond card charges: some
//! charges are authorised first and post later, and once a month money
//! above a buffer goes to savings and into a larger purchase.

use super::*;

impl Sim {
    /// Some card charges are authorised first and post a day to three
    /// later: a meal with a tip added, a fuel pump's $1 hold, the same
    /// amount otherwise; a few never post. The authorisation is returned;
    /// its posting (same id or a new one) waits in `later`.
    pub(super) fn authorised(&mut self, charge: Pending) -> Pending {
        let Pending { at, item: Item::Txn { account, merchant, category, channel, country, minor, fraud: None, .. } } =
            &charge
        else {
            return charge;
        };
        let card = matches!(channel, Channel::CardPresent | Channel::Online);
        // Events mode piles its last events up at now, and their postings
        // wait in `later` past it: a bound keeps the state (and the cursor,
        // saved every few events) small.
        if !card || *minor >= 0 || self.st.later.len() >= LATER_MAX || self.rng.random::<f64>() >= PENDING_CHANCE {
            return charge;
        }
        let kind = category.to_lowercase();
        let auth = if kind.contains("gas") || kind.contains("fuel") {
            -self.p.scaled(100)
        } else if crate::domain::takes_tips(category) {
            // The posted amount has the tip: authorised before it.
            let tip_pct = self.rng.random_range(15..=25);
            (*minor * 100 / (100 + tip_pct)).min(-1)
        } else {
            *minor
        };
        self.st.auth_seq += 1;
        let id = format!("{}-auth-{:06}", self.bank, self.st.auth_seq);
        let posting = (self.rng.random::<f64>() >= NEVER_POSTS).then(|| {
            // A day to three later, at the same time of day.
            let posted_at = at + self.rng.random_range(1..=3) * DAY;
            let same_id = self.rng.random::<bool>();
            Box::new(Pending {
                at: posted_at,
                item: Item::Txn {
                    account: account.clone(),
                    merchant: merchant.clone(),
                    category: category.clone(),
                    channel: *channel,
                    country: country.clone(),
                    minor: *minor,
                    fraud: None,
                    transfer: false,
                    // Always an id of its own choosing: a posting is never
                    // declined (the card was fine when it was authorised).
                    id: Some(if same_id { id.clone() } else { format!("{}-post-{:06}", self.bank, self.st.auth_seq) }),
                },
            })
        });
        Pending {
            at: *at,
            item: Item::Auth {
                id,
                account: account.clone(),
                merchant: merchant.clone(),
                category: category.clone(),
                channel: *channel,
                country: country.clone(),
                minor: auth,
                posting,
            },
        }
    }

    /// Delivers an authorisation (pending), or the decline of a frozen
    /// card; a delivered one's posting starts waiting for its time.
    pub(super) fn deliver_auth(
        &mut self,
        item: Item,
        when: DateTime<Utc>,
        frozen: &HashSet<String>,
    ) -> Option<FeedEvent> {
        let Item::Auth { id, account, merchant, category, channel, country, minor, posting } = item else {
            return None;
        };
        let currency = self.p.currency;
        let acct = self.p.account(&account)?;
        Some(match (&acct.card_mask, frozen.contains(&account)) {
            (Some(card), true) => {
                let text = declined(Money::new(minor, currency), &merchant, card);
                self.message(when, MessageKind::Transaction, text)
            }
            _ => {
                if let Some(posting) = posting {
                    self.st.later.push(*posting);
                }
                let txn = TxnInfo {
                    account,
                    external_id: id,
                    posted_at: when,
                    amount: Money::new(minor, currency),
                    merchant,
                    category,
                    channel,
                    country,
                    notify: minor.saturating_abs() >= self.p.notify_over,
                    pending: true,
                    transfer: false,
                };
                FeedEvent::Transaction(txn)
            }
        })
    }

    /// Decides the month's budget as it comes (see [`Item::Budget`]):
    /// returns the first transaction and queues the others right after it.
    /// `None` when nothing is above the buffer; other items pass through.
    pub(super) fn decide_budget(&mut self, pending: Pending) -> Option<Pending> {
        let Pending { at, item: Item::Budget { account } } = pending else {
            return Some(pending);
        };
        let income = self.p.monthly_income(&account);
        let excess = self.st.balances.get(&account)?.checked_sub(income.checked_mul(BUFFER_MONTHS)?)?;
        if income <= 0 || excess <= self.p.scaled(10_000) {
            return None;
        }
        let savings = self.p.accounts.iter().find(|a| a.kind == AccountKind::Savings).map(|a| a.id.clone());
        let saved = savings.as_ref().and_then(|s| self.st.balances.get(s)).copied().unwrap_or(i64::MAX);
        let to_savings = if saved < income.saturating_mul(SAVINGS_MONTHS) { excess * 3 / 10 } else { 0 };
        let spend = excess - to_savings;
        let (category, names) = BIG_PURCHASES[self.rng.random_range(0..BIG_PURCHASES.len())];
        let merchant = names[self.rng.random_range(0..names.len())].to_string();
        let country = self.p.home_country.clone();
        let txn = |account: String, merchant: String, category: &str, channel, minor, transfer| Pending {
            at,
            item: Item::Txn {
                account,
                merchant,
                category: category.to_string(),
                channel,
                country: country.clone(),
                minor,
                fraud: None,
                transfer,
                id: None,
            },
        };
        let purchase = txn(account.clone(), merchant, category, Channel::Online, -spend, false);
        if let (Some(savings), true) = (savings, to_savings > 0) {
            let name = |id: &str| self.p.account(id).map_or(id.to_string(), |a| a.name.clone());
            let (to, from) = (format!("Transfer to {}", name(&savings)), format!("Transfer from {}", name(&account)));
            self.st.queue.push_front(purchase);
            self.st.queue.push_front(txn(savings, from, "Transfer", Channel::Transfer, to_savings, true));
            return Some(txn(account, to, "Transfer", Channel::Transfer, -to_savings, true));
        }
        Some(purchase)
    }
}
