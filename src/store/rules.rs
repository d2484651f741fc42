//! The user's rules over what is stored: set for what arrives, and applied
//! again to every transaction on demand (`finbox rules apply`), from what
//! the bank said (kept when a rule renamed or recategorised a row).

use std::sync::Arc;

use rusqlite::params;

use super::{Result, Store};
use crate::domain::rules::Rules;

/// What applying the rules again did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RulesReport {
    /// Transactions looked at.
    pub checked: u64,
    /// Transactions a rule now matches.
    pub matched: u64,
    /// Transactions changed (renamed, recategorised, hidden, or given back
    /// what the bank said when no rule matches any more).
    pub changed: u64,
}

/// A stored row as the rules see it.
struct Row {
    id: i64,
    merchant: String,
    category: String,
    original_merchant: Option<String>,
    original_category: Option<String>,
    rule: Option<String>,
    hidden: bool,
}

impl Store {
    /// The rules applied to what arrives from now on.
    pub fn set_rules(&mut self, rules: Rules) {
        self.rules = Arc::new(rules);
    }

    pub fn rules(&self) -> &Rules {
        &self.rules
    }

    /// Applies the rules to every stored transaction, in one write
    /// transaction: each row as its bank sent it, through the first rule
    /// that matches. Rows no rule matches any more get their bank's words
    /// back.
    pub fn apply_rules(&mut self) -> Result<RulesReport> {
        let rules = self.rules.clone();
        self.write(|tx| {
            let mut report = RulesReport::default();
            let mut names = tx.prepare(
                "UPDATE transactions SET merchant = ?2, category = ?3, original_merchant = ?4, original_category = ?5
                 WHERE id = ?1",
            )?;
            let mut marks = tx.prepare("UPDATE transactions SET rule = ?2, hidden = ?3 WHERE id = ?1")?;
            let mut page = tx.prepare(
                "SELECT id, merchant, category, original_merchant, original_category, rule, hidden
                 FROM transactions WHERE id > ?1 ORDER BY id LIMIT 10000",
            )?;
            let mut after = 0i64;
            loop {
                let rows: Vec<Row> = page
                    .query_map([after], |r| {
                        Ok(Row {
                            id: r.get(0)?,
                            merchant: r.get(1)?,
                            category: r.get(2)?,
                            original_merchant: r.get(3)?,
                            original_category: r.get(4)?,
                            rule: r.get(5)?,
                            hidden: r.get(6)?,
                        })
                    })?
                    .collect::<rusqlite::Result<_>>()?;
                let Some(last) = rows.last() else { break };
                after = last.id;
                for row in rows {
                    report.add(&rules, row, &mut names, &mut marks)?;
                }
            }
            Ok(report)
        })
    }

    /// How many stored transactions each rule matched, by rule name.
    pub fn rule_counts(&self) -> Result<Vec<(String, i64)>> {
        let mut stmt = self
            .conn
            .prepare("SELECT rule, count(*) FROM transactions WHERE rule IS NOT NULL GROUP BY rule ORDER BY rule")?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}

impl RulesReport {
    /// One row through the rules: renamed, recategorised, marked, or given
    /// back what its bank said.
    fn add(
        &mut self,
        rules: &Rules,
        row: Row,
        names: &mut rusqlite::Statement<'_>,
        marks: &mut rusqlite::Statement<'_>,
    ) -> Result<()> {
        let report = self;
        {
            report.checked += 1;
            let bank_merchant = row.original_merchant.clone().unwrap_or_else(|| row.merchant.clone());
            let bank_category = row.original_category.clone().unwrap_or_else(|| row.category.clone());
            let applied = rules.apply(&bank_merchant);
            report.matched += u64::from(applied.is_some());
            let merchant = applied.as_ref().and_then(|a| a.merchant).unwrap_or(&bank_merchant).to_string();
            let category = applied.as_ref().and_then(|a| a.category).unwrap_or(&bank_category).to_string();
            let rule = applied.as_ref().map(|a| a.rule.to_string());
            let hidden = applied.as_ref().is_some_and(|a| a.hide);
            let renamed = (merchant != row.merchant) || (category != row.category);
            if renamed {
                let orig_m = (merchant != bank_merchant).then_some(&bank_merchant);
                let orig_c = (category != bank_category).then_some(&bank_category);
                names.execute(params![row.id, merchant, category, orig_m, orig_c])?;
            }
            if rule != row.rule || hidden != row.hidden {
                marks.execute(params![row.id, rule, hidden])?;
            }
            report.changed += u64::from(renamed || rule != row.rule || hidden != row.hidden);
        }
        Ok(())
    }
}
