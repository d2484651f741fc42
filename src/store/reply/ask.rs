//! Answers to requests the grammar understood (`domain::ask`): spending for
//! a period, category, merchant or account; when a merchant was last paid;
//! and, for what it could not understand, suggestions drawn from what the
//! user has.

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use rusqlite::params;

use super::super::{Result, Store};
use crate::domain::ask::{Ask, Period, Vocab};
use crate::domain::*;

/// What the bank bot knows besides the store: each bank's ATMs and
/// branches (from its profile) and where the user says they are.
#[derive(Debug, Clone, Default)]
pub struct Bot {
    pub atms: std::collections::HashMap<BankId, Vec<crate::domain::atm::Atm>>,
    pub near: Option<crate::domain::atm::Place>,
}

/// How many rows an answer lists (the rest are counted).
const CITED: usize = 3;

impl Store {
    /// Tells the bank bot the ATMs and where the user is.
    pub fn set_bot(&mut self, bot: Bot) {
        self.bot = bot;
    }

    /// The three nearest ATMs or branches, with distance and fees.
    pub(in crate::store) fn answer_atm(&self, bank: &BankId, name: &str) -> String {
        let atms = self.bot.atms.get(bank).map(Vec::as_slice).unwrap_or_default();
        if atms.is_empty() {
            return format!("finbox has no list of {name}'s ATMs and branches, and looks nothing up online.");
        }
        let Some(here) = self.bot.near else {
            return "Where are you? Set it in the settings, e.g. [location] near = \"40.7411,-73.9897\" (or a ZIP \
                    code): nothing is looked up online."
                .into();
        };
        let mut lines = vec![format!("The nearest {name} ATMs and branches:")];
        for (a, miles) in crate::domain::atm::nearest(atms, here, 3) {
            let fee = if a.fee_free { "no fee" } else { "a fee may apply" };
            lines.push(format!("• {}, {} — {miles:.1} mi, {fee}", a.name, a.address));
        }
        lines.join("\n")
    }

    /// The categories, merchants and accounts the bank's recent history
    /// holds, for the grammar to recognise.
    pub(in crate::store) fn vocab(&self, bank: &BankId) -> Result<Vocab> {
        let recent = |col: &str| -> Result<Vec<String>> {
            let sql = format!(
                "SELECT DISTINCT {col} FROM (SELECT {col} FROM transactions WHERE bank_id = ?1
                 ORDER BY posted_at DESC LIMIT 5000)"
            );
            let mut stmt = self.conn.prepare_cached(&sql)?;
            let rows = stmt.query_map([bank.as_str()], |r| r.get::<_, String>(0))?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        };
        let accounts = self
            .accounts(Some(bank))?
            .into_iter()
            .map(|a| (a.name, a.mask.trim_start_matches('•').to_string()))
            .collect();
        Ok(Vocab { categories: recent("category")?, merchants: recent("merchant")?, accounts })
    }

    /// Spending matching `ask` (this month unless it says), the rows cited.
    pub(in crate::store) fn answer_spending_for(
        &self,
        bank: &BankId,
        ask: &Ask,
        vocab: &Vocab,
        today: NaiveDate,
    ) -> Result<String> {
        let accounts = self.accounts(Some(bank))?;
        let mask = ask.account.and_then(|i| vocab.accounts.get(i)).map(|(_, m)| m.clone());
        let account = mask.and_then(|m| accounts.iter().find(|a| a.mask.ends_with(&m)));
        let period = ask.period.unwrap_or(Period::ThisMonth);
        let (start, end) = period.range(today);
        let at = |d: NaiveDate| self.zone.from_local_datetime(&d.and_hms_opt(0, 0, 0).unwrap_or_default()).single();
        let (Some(start), Some(end)) = (at(start), at(end)) else { return Ok("I couldn't read those dates.".into()) };
        let mut stmt = self.conn.prepare_cached(
            "SELECT posted_at, amount_minor, currency, merchant FROM transactions
             WHERE bank_id = ?1 AND posted_at >= ?2 AND posted_at < ?3 AND amount_minor < 0 AND status = 'posted'
               AND transfer_id IS NULL AND reversed_by IS NULL AND reverses IS NULL
               AND (?4 IS NULL OR category = ?4) AND (?5 IS NULL OR merchant = ?5) AND (?6 IS NULL OR account_id = ?6)
             ORDER BY posted_at DESC, id DESC",
        )?;
        let args = params![
            bank.as_str(),
            start.timestamp(),
            end.timestamp(),
            ask.category,
            ask.merchant,
            account.map(|a| a.id.0)
        ];
        let rows = stmt.query_map(args, |r| {
            Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?, r.get::<_, String>(2)?, r.get::<_, String>(3)?))
        })?;
        let mut found = Vec::new();
        for row in rows {
            let (t, minor, cur, merchant) = row?;
            found.push((t, Money::new(minor, Currency::new(&cur)?), merchant));
        }
        let what = [ask.category.clone(), ask.merchant.clone(), account.map(|a| format!("{} {}", a.name, a.mask))];
        let what: Vec<String> = what.into_iter().flatten().collect();
        let on = if what.is_empty() { String::new() } else { format!(" on {}", what.join(", ")) };
        let when = period.describe(today);
        if found.is_empty() {
            return Ok(format!("You spent nothing{on} {when}."));
        }
        let totals: Vec<String> =
            Total::by_currency(found.iter().map(|f| f.1.abs())).iter().map(|t| t.to_string()).collect();
        let n = found.len();
        let mut lines = vec![format!("{n} {}{on} {when}, {}:", noun(n, "charge"), totals.join(" + "))];
        for (t, amount, merchant) in found.iter().take(CITED) {
            let date = DateTime::<Utc>::from_timestamp(*t, 0).unwrap_or_default().with_timezone(&self.zone);
            lines.push(format!("• {} {merchant} {}", date.format("%b %-d"), amount.abs()));
        }
        if n > CITED {
            lines.push(format!("…and {} more; search the accounts pane to list them all.", n - CITED));
        }
        Ok(lines.join("\n"))
    }

    /// "You last paid Netflix.com $15.49 on Nov 3, 2026 (Sapphire Preferred •7742)."
    pub(in crate::store) fn answer_last_paid(&self, bank: &BankId, merchant: &str) -> Result<String> {
        let row: Option<(i64, i64, String, i64)> = self
            .conn
            .prepare_cached(
                "SELECT posted_at, amount_minor, currency, account_id FROM transactions
                 WHERE bank_id = ?1 AND merchant = ?2 AND amount_minor < 0 ORDER BY posted_at DESC, id DESC LIMIT 1",
            )?
            .query_row(params![bank.as_str(), merchant], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
            .ok();
        let Some((t, minor, cur, acct)) = row else { return Ok(format!("I see no payment to {merchant}.")) };
        let account = self.account(AccountId(acct)).map(|a| format!(" ({} {})", a.name, a.mask)).unwrap_or_default();
        let date = DateTime::<Utc>::from_timestamp(t, 0).unwrap_or_default().with_timezone(&self.zone);
        let amount = Money::new(minor, Currency::new(&cur)?).abs();
        Ok(format!("You last paid {merchant} {amount} on {}{account}.", date.format("%b %-d, %Y")))
    }

    /// Three things to ask, from what the user has.
    pub(in crate::store) fn suggestions(&self, vocab: &Vocab) -> String {
        let mut out = Vec::new();
        let skip = ["Transfer", "Income", "Deposit", "Uncategorized"];
        if let Some(c) = vocab.categories.iter().find(|c| !skip.contains(&c.as_str())) {
            out.push(format!("\"how much did I spend on {} last month\"", c.to_lowercase()));
        }
        if let Some(m) = vocab.merchants.first() {
            out.push(format!("\"when did I last pay {m}\""));
        }
        if let Some((name, _)) = vocab.accounts.first() {
            out.push(format!("\"what's my {name} balance\""));
        }
        for fallback in ["\"recent\"", "\"balance\"", "\"anything suspicious?\""] {
            if out.len() < 3 {
                out.push(fallback.to_string());
            }
        }
        format!("Sorry, I didn't catch that. You could ask {}, {} or {}.", out[0], out[1], out[2])
    }
}

fn noun(n: usize, w: &str) -> String {
    if n == 1 { w.to_string() } else { format!("{w}s") }
}
