//! A bank as the user types it: in any case (`Chase`, `CHASE` are `chase`),
//! and a near miss answered with the bank meant.

use anyhow::{Result, bail};

use crate::domain::BankId;
use crate::store::{Store, StoreError};

/// The bank `typed` names on the command line, checked against the store.
pub(super) fn bank_id(store: &Store, typed: &str) -> Result<BankId> {
    match store.bank_named(typed) {
        Ok(bank) => Ok(bank.id),
        Err(StoreError::UnknownBank(_)) => {
            let banks = store.banks()?;
            let ids: Vec<&str> = banks.iter().map(|b| b.bank.id.as_str()).collect();
            match near_misses(typed, &ids).as_slice() {
                [] => Err(StoreError::UnknownBank(typed.to_string()).into()),
                meant => bail!("no bank {typed:?}; did you mean {}?", either(meant)),
            }
        }
        Err(e) => Err(e.into()),
    }
}

/// The ids `typed` is close to: at most two edits away, or the start of
/// one (`wells`), ignoring case, spaces and punctuation (`Wells Fargo`).
/// Nearest first, three at most.
fn near_misses<'a>(typed: &str, ids: &[&'a str]) -> Vec<&'a str> {
    let lower = typed.to_lowercase();
    let squeezed: String = lower.chars().filter(|c| c.is_alphanumeric()).collect();
    let mut near: Vec<(usize, &str)> = ids
        .iter()
        .filter_map(|&id| {
            let edits = strsim::levenshtein(&lower, id).min(strsim::levenshtein(&squeezed, id));
            let prefix = !squeezed.is_empty() && id.starts_with(&squeezed);
            (edits <= 2 || prefix).then_some((edits.min(3), id))
        })
        .collect();
    // Stable: among equals (a start of several), the banks' own order.
    near.sort_by_key(|&(edits, _)| edits);
    near.into_iter().take(3).map(|(_, id)| id).collect()
}

/// "`chase`", "`chase` or `citi`", "`a`, `b` or `c`".
fn either(ids: &[&str]) -> String {
    let quoted: Vec<String> = ids.iter().map(|id| format!("`{id}`")).collect();
    match quoted.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} or {last}", rest.join(", ")),
        _ => quoted.concat(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const IDS: [&str; 4] = ["chase", "wellsfargo", "citi", "usbank"];

    #[test]
    fn a_near_miss_finds_the_bank_meant() {
        assert_eq!(near_misses("chse", &IDS), ["chase"]);
        assert_eq!(near_misses("Chasse", &IDS), ["chase"]);
        assert_eq!(near_misses("wells", &IDS), ["wellsfargo"]);
        assert_eq!(near_misses("Wells Fargo", &IDS), ["wellsfargo"]);
        assert_eq!(near_misses("U.S. Bank", &IDS), ["usbank"]);
        assert_eq!(near_misses("cit", &IDS), ["citi"]);
        assert_eq!(near_misses("c", &IDS), ["chase", "citi"]);
    }

    #[test]
    fn a_far_miss_finds_nothing() {
        assert!(near_misses("monzo", &IDS).is_empty());
        assert!(near_misses("", &IDS).is_empty());
        assert!(near_misses("--", &IDS).is_empty());
    }

    #[test]
    fn the_banks_meant_are_listed_as_a_sentence() {
        assert_eq!(either(&["chase"]), "`chase`");
        assert_eq!(either(&["chase", "citi"]), "`chase` or `citi`");
        assert_eq!(either(&["a", "b", "c"]), "`a`, `b` or `c`");
    }
}
