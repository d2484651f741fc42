//! The bank talks back: a user's message is stored, understood by keyword
//! (`domain::intent`) and answered from the local store, in one transaction.

use chrono::{DateTime, Datelike, TimeZone, Utc};

mod ask;
pub use ask::Bot;

use super::action::{bank_name, set_frozen_in};
use super::message::NewMessage;
use super::{Result, Store, StoreError};
use crate::domain::intent::Intent;
use crate::domain::text::{MAX_MESSAGE_CHARS, clean_text};
use crate::domain::*;

const HELP: &str = "I can help with:\n\
  • balance: your account balances\n\
  • recent (or \"last 10\"): your latest transactions\n\
  • spending: what you spent this month, by category\n\
  • freeze card / unfreeze card (add the last 4 digits for one card)\n\
  • alerts: open fraud alerts";

impl Store {
    /// Sends `text` to `bank` and returns the bank's reply; both are kept in
    /// the bank's conversation. "This month" and dates are in the user's
    /// time zone ([`Store::set_utc_offset`]).
    pub fn say(&mut self, bank: &BankId, text: &str, now: DateTime<Utc>) -> Result<String> {
        if Store::grant_of(&self.conn, bank, now)?.is_none() {
            return Err(StoreError::NoConsent(bank.clone()));
        }
        let text = clean_text(text, MAX_MESSAGE_CHARS);
        if text.is_empty() {
            return Err(StoreError::Ambiguous("say what? the message is empty".into()));
        }
        let vocab = self.vocab(bank)?;
        let today = now.with_timezone(&self.zone).date_naive();
        let ask = crate::domain::ask::Ask::understand(&text, &vocab, today);
        let intent = ask.intent.clone();
        // Read-only answers are computed before the write transaction.
        let answer = match &intent {
            Intent::Freeze(_) | Intent::Unfreeze(_) => None,
            _ => Some(self.answer(bank, &ask, &vocab, now)?),
        };
        let decision = matches!(intent, Intent::Freeze(_) | Intent::Unfreeze(_));
        let body = |tx: &rusqlite::Transaction<'_>| {
            NewMessage::new(bank, Sender::User, MessageKind::Text, now, &text).insert(tx)?;
            let reply = match (&intent, answer) {
                (Intent::Freeze(mask), _) => {
                    freeze_reply(set_frozen_in(tx, bank, mask.as_deref(), true, now)?, true, mask)
                }
                (Intent::Unfreeze(mask), _) => {
                    freeze_reply(set_frozen_in(tx, bank, mask.as_deref(), false, now)?, false, mask)
                }
                (_, Some(answer)) => answer,
                (_, None) => unreachable!("answers exist for every other intent"),
            };
            NewMessage::new(bank, Sender::Bank, MessageKind::Service, now, &reply).insert(tx)?;
            Ok(reply)
        };
        // Freezing a card is a decision: on disk when this returns.
        if decision { self.decide(body) } else { self.write(body) }
    }

    fn answer(
        &self,
        bank: &BankId,
        ask: &crate::domain::ask::Ask,
        vocab: &crate::domain::ask::Vocab,
        now: DateTime<Utc>,
    ) -> Result<String> {
        let name = bank_name(&self.conn, bank)?;
        let today = now.with_timezone(&self.zone).date_naive();
        let account = ask.account.and_then(|i| vocab.accounts.get(i)).map(|(_, mask)| mask.as_str());
        let targeted = ask.period.is_some() || ask.category.is_some() || ask.merchant.is_some() || account.is_some();
        match &ask.intent {
            Intent::Balance => self.answer_balance(bank, account),
            Intent::Recent(n) => self.answer_recent(bank, *n, account),
            Intent::Spending if targeted => self.answer_spending_for(bank, ask, vocab, today),
            Intent::Spending => self.answer_spending(bank, &name, now),
            Intent::LastPaid => match &ask.merchant {
                Some(m) => self.answer_last_paid(bank, m),
                None => Ok(self.suggestions(vocab)),
            },
            Intent::Atm => Ok(self.answer_atm(bank, &name)),
            Intent::Alerts => self.answer_alerts(bank),
            Intent::Help => Ok(HELP.to_string()),
            Intent::Greeting => Ok(format!("Hello! This is {name}. {HELP}")),
            Intent::Thanks => Ok("You're welcome! Anything else?".into()),
            Intent::Unknown => Ok(self.suggestions(vocab)),
            Intent::Freeze(_) | Intent::Unfreeze(_) => unreachable!("handled in the write transaction"),
        }
    }

    /// "Here are your balances:", one line per account, the net per currency.
    fn answer_balance(&self, bank: &BankId, only: Option<&str>) -> Result<String> {
        let mut accounts = self.accounts(Some(bank))?;
        if let Some(mask) = only {
            accounts.retain(|a| a.mask.ends_with(mask));
        }
        if accounts.is_empty() {
            return Ok("You have no accounts with us yet: the first sync is still on its way.".into());
        }
        let mut lines = vec!["Here are your balances:".to_string()];
        for a in &accounts {
            let owed = if a.kind == AccountKind::Credit && a.balance.minor < 0 {
                format!("{} owed", a.balance.abs())
            } else {
                a.balance.to_string()
            };
            // With authorisations pending, what can be spent now too.
            let pending = match a.pending.minor {
                0 => String::new(),
                _ => format!(" ({} pending; available {})", a.pending.abs(), a.available()),
            };
            let frozen = if a.card.as_ref().is_some_and(|c| c.frozen) { ", card locked" } else { "" };
            lines.push(format!("• {} {}: {owed}{pending}{frozen}", a.name, a.mask));
        }
        for total in Total::by_currency(accounts.iter().map(|a| a.balance)) {
            lines.push(format!("Net across your accounts: {total}"));
        }
        Ok(lines.join("\n"))
    }

    /// The last `n` transactions.
    fn answer_recent(&self, bank: &BankId, n: usize, only: Option<&str>) -> Result<String> {
        let account = only.and_then(|m| self.accounts(Some(bank)).ok()?.into_iter().find(|a| a.mask.ends_with(m)));
        let filter = super::TxnFilter {
            bank: Some(bank.clone()),
            account: account.map(|a| a.id),
            limit: n,
            ..Default::default()
        };
        let txns = self.transactions(&filter)?;
        if txns.is_empty() {
            return Ok("No transactions yet.".into());
        }
        // Accounts named as the screen names them ("Active Cash •9051"),
        // never by the feed's id for them.
        let names: std::collections::HashMap<AccountId, String> =
            self.accounts(Some(bank))?.into_iter().map(|a| (a.id, format!("{} {}", a.name, a.mask))).collect();
        let mut lines = vec![format!("Your last {} transactions:", txns.len())];
        let offset = self.zone;
        for t in &txns {
            lines.push(format!(
                "• {} {} {} ({})",
                t.posted_at.with_timezone(&offset).format("%b %-d"),
                t.merchant,
                t.amount,
                names.get(&t.account).map_or("an account", String::as_str)
            ));
        }
        Ok(lines.join("\n"))
    }

    /// This month's spending by category.
    fn answer_spending(&self, bank: &BankId, name: &str, now: DateTime<Utc>) -> Result<String> {
        let offset = self.zone;
        let local = now.with_timezone(&offset);
        let start = offset
            .with_ymd_and_hms(local.year(), local.month(), 1, 0, 0, 0)
            .single()
            .map(|d| d.with_timezone(&Utc))
            .unwrap_or(now);
        let spend = self.spending_by_category(bank, start)?;
        let month = local.format("%B");
        if spend.is_empty() {
            return Ok(format!("You haven't spent anything with {name} in {month} yet."));
        }
        let mut lines = vec![format!("Your spending in {month} so far:")];
        for s in &spend {
            lines.push(format!("• {}: {} ({} {})", s.category, s.spent, s.count, noun_for(s.count, "charge")));
        }
        for total in Total::by_currency(spend.iter().map(|s| s.spent)) {
            lines.push(format!("Total: {total}"));
        }
        Ok(lines.join("\n"))
    }

    /// The open fraud alerts, five at most.
    fn answer_alerts(&self, bank: &BankId) -> Result<String> {
        let open: Vec<FraudAlert> = self.alerts(false, 100)?.into_iter().filter(|a| &a.bank == bank).collect();
        if open.is_empty() {
            return Ok("There are no open fraud alerts on your accounts.".into());
        }
        let mut lines = vec![format!("You have {} open {}:", open.len(), noun_for(open.len() as i64, "alert"))];
        for a in open.iter().take(5) {
            lines.push(format!("• #{} {} at {} ({}): {}", a.id, a.amount.abs(), a.merchant, a.severity, a.reason));
        }
        lines.push("Answer them in the alert queue.".into());
        Ok(lines.join("\n"))
    }
}

fn freeze_reply(out: super::FreezeOutcome, freeze: bool, mask: &Option<String>) -> String {
    let verb = if freeze { "frozen" } else { "unfrozen" };
    if out.changed.is_empty() && out.unchanged.is_empty() {
        return match mask {
            Some(m) => format!("I couldn't find a card ending in {m}. Say \"freeze card\" to freeze all your cards."),
            None => "You have no cards with us.".into(),
        };
    }
    if out.changed.is_empty() {
        return format!(
            "Your {} {} already {verb}.",
            out.unchanged.join(" and "),
            if out.unchanged.len() == 1 { "is" } else { "are" }
        );
    }
    let changed = out.changed.join(" and ");
    if freeze {
        format!(
            "Done: your {changed} {} now frozen. New charges will be declined. Say \"unfreeze card\" to undo.",
            if out.changed.len() == 1 { "is" } else { "are" }
        )
    } else {
        format!("Done: your {changed} {} active again.", if out.changed.len() == 1 { "is" } else { "are" })
    }
}

fn noun_for(n: i64, word: &str) -> String {
    if n == 1 { word.to_string() } else { format!("{word}s") }
}
