//! What storing a transaction needs beyond its fields, worked out from the
//! event alone: its merchant, category and country as they are stored
//! (cleaned), whether it is a leg of a transfer, and its merchant's words
//! for matching an authorisation. The writer works them out on a thread of
//! their own while the batch before is written (the second core was mostly idle
//! during ingest; these were ~3% of the writer's time in `perf`), and
//! [`BulkWrite::apply`](super::BulkWrite::apply) works them out on the spot
//! for a batch that comes without (imports, SimpleFIN's syncs): one
//! function either way, [`Facts::of`].

use std::borrow::Cow;

use super::pending::Words;
use super::transfer;
use crate::domain::Channel;
use crate::domain::event::{FeedEvent, TxnInfo};
use crate::domain::text::{MAX_NAME_CHARS, cleaned_line};

/// Longest category kept.
pub(super) const MAX_CATEGORY_CHARS: usize = 40;

/// A transaction's facts (see the module); for other events, none.
#[derive(Debug, Clone)]
pub(crate) struct Facts {
    /// The merchant, category and country as stored, when cleaning changed
    /// any of what the bank wrote (rarely); `None`: stored as written.
    cleaned: Option<Box<Cleaned>>,
    /// Whether it is a leg of a transfer, and how that is known (see
    /// [`transfer::kind`]).
    pub(super) transfer: Option<&'static str>,
    /// Its merchant's significant words: made for the transactions that
    /// are matched by them (authorisations and card charges), empty for
    /// others.
    pub(super) words: Words,
}

/// A transaction's text as stored, where it is not as the bank wrote it.
#[derive(Debug, Clone)]
struct Cleaned {
    merchant: Option<String>,
    category: Option<String>,
    country: Option<String>,
}

impl Facts {
    /// An event's facts: a transaction's, or none for any other event.
    pub(crate) fn of(event: &FeedEvent) -> Facts {
        match event {
            FeedEvent::Transaction(t) => Facts::of_txn(t),
            _ => Facts { cleaned: None, transfer: None, words: Words::NONE },
        }
    }

    pub(super) fn of_txn(t: &TxnInfo) -> Facts {
        let owned = |c: Cow<'_, str>| match c {
            Cow::Borrowed(_) => None,
            Cow::Owned(s) => Some(s),
        };
        let merchant = cleaned_line(&t.merchant, MAX_NAME_CHARS);
        let name: &str = &merchant;
        let card = matches!(t.channel, Channel::CardPresent | Channel::Online);
        let transfer = transfer::kind(t, name);
        let words = if t.pending || card { Words::of(name) } else { Words::NONE };
        let mut country = cleaned_line(&t.country, 2);
        if country.bytes().any(|c| c.is_ascii_lowercase()) {
            country = country.to_ascii_uppercase().into();
        }
        let cleaned = Cleaned {
            merchant: owned(merchant),
            category: owned(cleaned_line(&t.category, MAX_CATEGORY_CHARS)),
            country: owned(country),
        };
        let changed = cleaned.merchant.is_some() || cleaned.category.is_some() || cleaned.country.is_some();
        Facts { cleaned: changed.then(|| Box::new(cleaned)), transfer, words }
    }

    /// The merchant as stored (`t` is the transaction these are of).
    pub(super) fn merchant<'a>(&'a self, t: &'a TxnInfo) -> &'a str {
        self.cleaned.as_ref().and_then(|c| c.merchant.as_deref()).unwrap_or(&t.merchant)
    }

    /// The category as stored.
    pub(super) fn category<'a>(&'a self, t: &'a TxnInfo) -> &'a str {
        self.cleaned.as_ref().and_then(|c| c.category.as_deref()).unwrap_or(&t.category)
    }

    /// The country as stored: two letters, upper case.
    pub(super) fn country<'a>(&'a self, t: &'a TxnInfo) -> &'a str {
        self.cleaned.as_ref().and_then(|c| c.country.as_deref()).unwrap_or(&t.country)
    }
}
