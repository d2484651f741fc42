//! When things happen: the daytime the ordinary events fall in, the scheduled items (recurring items,
//! weekly balance reports, statements) and the local calendar arithmetic behind them.

use super::*;

impl Sim {
    /// The time of the next ordinary event after `base`: an exponentially
    /// distributed gap of local daytime (nights are skipped), so that
    /// `events_per_day` events fall between 07:00 and 22:00 on average.
    pub(super) fn next_time(&mut self, base: i64) -> i64 {
        let mean = (DAY_END - DAY_START) as f64 / self.p.events_per_day;
        let u: f64 = self.rng.random();
        // `as` saturates; the clamp keeps gaps sensible.
        let mut gap = ((-(1.0 - u).ln() * mean) as i64).clamp(MIN_GAP, MAX_GAP);
        let mut t = base;
        loop {
            let (day, time) = (self.local_day(t), self.local_time(t));
            if time < DAY_START {
                t = self.at_local(day, DAY_START);
            } else if time >= DAY_END {
                t = self.at_local(day + 1, DAY_START);
            }
            let left_today = DAY_END - self.local_time(t);
            if gap < left_today {
                return t + gap;
            }
            gap -= left_today;
            t = self.at_local(self.local_day(t) + 1, DAY_START);
        }
    }

    /// What is scheduled in `(from, to]`: recurring items, weekly balance
    /// reports and statements, in time order.
    pub(super) fn scheduled(&self, from: i64, to: i64) -> Vec<Pending> {
        let mut out = Vec::new();
        if to <= from {
            return out;
        }
        for day in self.local_day(from)..=self.local_day(to) {
            let Some(date) = date_of(day) else { continue };
            let mut push = |at: i64, item: Item| {
                if from < at && at <= to {
                    out.push(Pending { at, item });
                }
            };
            self.recurring_on(day, date, &mut push);
            if date.weekday() == BALANCE_DAY {
                let at = self.at_local(day, BALANCE_AT);
                for a in &self.p.accounts {
                    push(at, Item::Balance { account: a.id.clone() });
                }
            }
            if date.day() == BUDGET_DAY {
                let at = self.at_local(day, BUDGET_AT);
                let paid_into = |a: &&SimAccount| a.kind == AccountKind::Checking && self.p.monthly_income(&a.id) > 0;
                for a in self.p.accounts.iter().filter(paid_into) {
                    push(at, Item::Budget { account: a.id.clone() });
                }
            }
            for a in &self.p.accounts {
                if a.statement_day == date.day() {
                    let at = self.at_local(day, STATEMENT_AT);
                    let period_start = previous_month(date, a.statement_day)
                        .map_or(at - 30 * DAY, |d| self.at_local(day_number(d), STATEMENT_AT));
                    push(at, Item::Statement { account: a.id.clone(), period_start });
                }
            }
        }
        out
    }

    /// The recurring items of one day (with a deposit's notice).
    fn recurring_on(&self, day: i64, date: NaiveDate, push: &mut impl FnMut(i64, Item)) {
        let month_days = days_in_month(date);
        for (i, r) in self.p.recurring.iter().enumerate() {
            if !r.days.iter().any(|&d| d.min(month_days) == date.day()) {
                continue;
            }
            let at = self.at_local(day, RECURRING_AT + i as i64 * MINUTE);
            let minor = match &r.amount {
                Amount::Fixed(minor) => *minor,
                Amount::CardBalance { card, card_name } => {
                    let item = Item::Payment {
                        from: r.account.clone(),
                        card: card.clone(),
                        merchant: r.name.clone(),
                        card_merchant: card_name.clone(),
                        category: r.category.clone(),
                        channel: r.channel,
                    };
                    push(at, item);
                    continue;
                }
            };
            push(
                at,
                Item::Txn {
                    account: r.account.clone(),
                    merchant: r.name.clone(),
                    category: r.category.clone(),
                    channel: r.channel,
                    country: self.p.home_country.clone(),
                    minor,
                    fraud: None,
                    // The profiles' "Transfer" items move money between
                    // this person's own accounts.
                    transfer: r.category == "Transfer",
                    id: None,
                },
            );
            if r.is_deposit() {
                let account = self.p.account(&r.account).map_or(r.account.as_str(), |a| a.name.as_str());
                let text = format!(
                    "Your direct deposit of {} ({}) arrived in {account}.",
                    Money::new(minor, self.p.currency),
                    r.name
                );
                push(at, Item::Notice { text });
            }
        }
    }

    pub(super) fn local_day(&self, t: i64) -> i64 {
        (t + self.offset).div_euclid(DAY)
    }

    pub(super) fn local_time(&self, t: i64) -> i64 {
        (t + self.offset).rem_euclid(DAY)
    }

    pub(super) fn at_local(&self, day: i64, time: i64) -> i64 {
        day * DAY + time - self.offset
    }

    pub(super) fn is_small_hours(&self, t: i64) -> bool {
        SMALL_HOURS.contains(&self.local_time(t))
    }
}

pub(super) fn to_utc(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(secs, 0).unwrap_or(DateTime::UNIX_EPOCH)
}

/// Days from 0001-01-01 (day 1 in chrono's count) to 1970-01-01.
pub(super) const UNIX_EPOCH_CE_DAYS: i64 = 719_163;

pub(super) fn date_of(day: i64) -> Option<NaiveDate> {
    NaiveDate::from_num_days_from_ce_opt(i32::try_from(day + UNIX_EPOCH_CE_DAYS).ok()?)
}

pub(super) fn day_number(date: NaiveDate) -> i64 {
    i64::from(date.num_days_from_ce()) - UNIX_EPOCH_CE_DAYS
}

pub(super) fn days_in_month(date: NaiveDate) -> u32 {
    let (y, m) = (date.year(), date.month());
    let next = if m == 12 { NaiveDate::from_ymd_opt(y + 1, 1, 1) } else { NaiveDate::from_ymd_opt(y, m + 1, 1) };
    next.and_then(|d| d.pred_opt()).map_or(28, |d| d.day())
}

pub(super) fn previous_month(date: NaiveDate, day: u32) -> Option<NaiveDate> {
    let (y, m) = if date.month() == 1 { (date.year() - 1, 12) } else { (date.year(), date.month() - 1) };
    NaiveDate::from_ymd_opt(y, m, day)
}
