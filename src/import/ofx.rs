//! OFX and QFX statements, both generations:
//!
//! - OFX 1.x: a block of `KEY:VALUE` header lines, then SGML in which leaf
//!   elements are usually left unclosed (`<TRNAMT>-12.34` and straight on to
//!   the next tag). This is not XML, so no XML parser reads it.
//! - OFX 2.x: an XML declaration and an `<?OFX …?>` processing instruction,
//!   then the same elements, all closed.
//!
//! One reader handles both, streaming and in bounded memory: a tokenizer
//! (tags, text, processing instructions; comments skipped; values capped at
//! 64 KiB), an element reader that decides whether an element is a leaf (a
//! value follows) or an aggregate (another tag follows) and closes unclosed
//! leaves and aggregates when an enclosing end tag arrives, and a statement
//! builder that picks out the bank (`<STMTRS>`) and credit-card
//! (`<CCSTMTRS>`) statements: their account, transactions and balances; of
//! an investment statement (`<INVSTMTRS>`), only the cash movements
//! (`<INVBANKTRAN>`), as a Brokerage Cash account. A file that ends inside
//! an element is truncated, and says so.
//!
//! An empty element (`<FITID></FITID>`, `<CURDEF/>`) is read as a missing
//! one. Where a missing element has a fallback (the transactions' currency
//! for `<CURDEF>`, a derived id for `<FITID>`, `<MEMO>` for `<NAME>`,
//! checking for `<ACCTTYPE>`, no balance for an empty `<LEDGERBAL>`), the
//! fallback is taken and said in the notes [`read`] returns.
//!
//! The tokenizer is in [`lexer`], the element reader in [`tree`], the
//! statement builder here.

mod lexer;
mod tree;

use std::collections::HashMap;
use std::io::BufRead;

use super::amount::{self, NumberFormat};
use super::ident::{self, Occurrences};
use super::{Options, Problem, Record, StatementAccount, StatementBalance, StatementTxn, date, infer};
use crate::domain::event::TxnInfo;
use crate::domain::{AccountKind, Currency};
use tree::{Node, Tree};

/// Reads a statement, passing each account, transaction and balance to `on`.
/// Returns the version the file declares: "OFX 1.02 (SGML)", "OFX 2.20 (XML)".
/// Also returns the notes: what the file left out and what was taken
/// instead (see [`Notes`]).
pub fn read(
    input: impl BufRead,
    opts: &Options,
    on: &mut dyn FnMut(Record) -> Result<(), Problem>,
) -> Result<(String, Vec<String>), Problem> {
    let mut tree = Tree::new(input);
    let mut b = Builder::new(opts);
    while let Some((node, line)) = tree.next()? {
        b.node(node, line, on)?;
    }
    b.finish()
}

/// The `<FI><ORG>` in the first part of a file, if any (for choosing the bank
/// before the whole file is read).
pub fn org(head: &[u8]) -> Option<String> {
    let mut tree = Tree::new(head);
    while let Ok(Some((node, _))) = tree.next() {
        match node {
            Node::Leaf { name, value, context } if name == "ORG" && context == "FI" => {
                return Some(crate::domain::text::clean_line(&value, 64)).filter(|s| !s.is_empty());
            }
            Node::Open(name) if STATEMENTS.contains(&name.as_str()) => return None,
            _ => {}
        }
    }
    None
}

/// The statements finbox reads: bank and credit-card, and an investment
/// statement's cash movements.
const STATEMENTS: &[&str] = &["STMTRS", "CCSTMTRS", "INVSTMTRS"];

/// An investment statement's holdings, each counted as a position.
const POSITIONS: &[&str] = &["POSSTOCK", "POSMF", "POSDEBT", "POSOPT", "POSOTHER"];

// ---------------------------------------------------------------------------
// Statements

/// A value and the line it was on; an empty element is no value.
type Val = Option<(String, u64)>;

/// Which statement: bank (`<STMTRS>`), card (`<CCSTMTRS>`) or investment
/// (`<INVSTMTRS>`, of which only the cash movements are read).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Bank,
    Card,
    Invest,
}

impl Kind {
    fn of_statement(name: &str) -> Option<Kind> {
        match name {
            "STMTRS" => Some(Kind::Bank),
            "CCSTMTRS" => Some(Kind::Card),
            "INVSTMTRS" => Some(Kind::Invest),
            _ => None,
        }
    }

    fn of_account(name: &str) -> Option<Kind> {
        match name {
            "BANKACCTFROM" => Some(Kind::Bank),
            "CCACCTFROM" => Some(Kind::Card),
            "INVACCTFROM" => Some(Kind::Invest),
            _ => None,
        }
    }
}

/// The statement's `<CURDEF>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CurDef {
    Given(Currency),
    Empty,
    Absent,
}

struct Stmt {
    kind: Kind,
    curdef: CurDef,
    /// The account, read but not yet passed on: without a `<CURDEF>` its
    /// currency comes from the first transaction.
    pending: Option<StatementAccount>,
    account: Option<(String, Currency)>,
    /// "Checking •1234", for notes.
    label: String,
    /// A ledger balance was passed on, or its absence noted.
    ledger: bool,
    /// `<INVSTMTRS><DTASOF>`: when an investment statement's cash balance is struck.
    dtasof: Val,
    positions: u64,
    cash: u64,
}

impl Stmt {
    fn new(kind: Kind) -> Stmt {
        Stmt {
            kind,
            curdef: CurDef::Absent,
            pending: None,
            account: None,
            label: String::new(),
            ledger: false,
            dtasof: None,
            positions: 0,
            cash: 0,
        }
    }
}

struct AcctFields {
    kind: Kind,
    line: u64,
    acctid: Val,
    accttype: Val,
}

#[derive(Default)]
struct TxnFields {
    line: u64,
    trntype: Val,
    dtposted: Val,
    trnamt: Val,
    fitid: Val,
    name: Val,
    payee: Val,
    memo: Val,
    checknum: Val,
    /// `<CURRENCY><CURSYM>`, else `<ORIGCURRENCY><CURSYM>`, and which.
    cursym: Option<(String, u64, &'static str)>,
}

struct BalFields {
    /// `<LEDGERBAL>`, `<AVAILBAL>` or `<INVBAL>`.
    element: &'static str,
    line: u64,
    amount: Val,
    at: Val,
}

impl AcctFields {
    fn set(&mut self, field: &str, v: Val) {
        match field {
            "ACCTID" => self.acctid = v,
            "ACCTTYPE" => self.accttype = v,
            _ => {}
        }
    }
}

impl TxnFields {
    fn set(&mut self, field: &str, v: Val) {
        match field {
            "TRNTYPE" => self.trntype = v,
            "DTPOSTED" => self.dtposted = v,
            "TRNAMT" => self.trnamt = v,
            "FITID" => self.fitid = v,
            "NAME" => self.name = v,
            "MEMO" => self.memo = v,
            "CHECKNUM" => self.checknum = v,
            _ => {}
        }
    }
}

impl BalFields {
    fn new(element: &'static str, line: u64) -> BalFields {
        BalFields { element, line, amount: None, at: None }
    }

    fn set(&mut self, field: &str, v: Val) {
        match field {
            "BALAMT" | "AVAILCASH" => self.amount = v,
            "DTASOF" => self.at = v,
            _ => {}
        }
    }
}

struct Builder<'a> {
    opts: &'a Options,
    version: String,
    syntax: &'static str,
    seen_ofx: bool,
    /// Statements read: bank and card statements, and investment
    /// statements with cash.
    statements: u32,
    /// Investment statements: (positions, cash movements) of each.
    investments: Vec<(u64, u64)>,
    stmt: Option<Stmt>,
    acct: Option<AcctFields>,
    txn: Option<TxnFields>,
    bal: Option<BalFields>,
    /// Account id → a hash of the full number it stands for, to tell apart
    /// two accounts of one file with the same kind and last digits.
    numbers: HashMap<String, [u8; 32]>,
    occurrences: Occurrences,
    notes: Notes,
}

type On<'o> = &'o mut dyn FnMut(Record) -> Result<(), Problem>;

impl<'a> Builder<'a> {
    fn new(opts: &'a Options) -> Self {
        Builder {
            opts,
            version: String::new(),
            syntax: "SGML",
            seen_ofx: false,
            statements: 0,
            investments: Vec::new(),
            stmt: None,
            acct: None,
            txn: None,
            bal: None,
            numbers: HashMap::new(),
            occurrences: Occurrences::default(),
            notes: Notes::default(),
        }
    }

    fn node(&mut self, node: Node, line: u64, on: On) -> Result<(), Problem> {
        match node {
            Node::Header(text) => self.header(&text),
            Node::Pi(body) => self.processing_instruction(&body),
            Node::Open(name) => self.open(&name, line),
            Node::Close(name) => self.close(&name, on)?,
            Node::Leaf { name, value, context } => self.leaf(&context, &name, value, line)?,
        }
        Ok(())
    }

    /// OFX 1.x header lines: the version.
    fn header(&mut self, text: &str) {
        for l in text.lines() {
            if let Some(v) = l.trim().strip_prefix("VERSION:") {
                self.version = dotted(v.trim());
            }
        }
    }

    /// `<?xml …?>` or `<?OFX … VERSION="220"?>`: OFX 2.x, and its version.
    fn processing_instruction(&mut self, body: &str) {
        if body.starts_with("xml") {
            self.syntax = "XML";
        } else if let Some(v) = body.split_whitespace().find_map(|kv| kv.strip_prefix("VERSION=")) {
            self.syntax = "XML";
            self.version = dotted(v.trim_matches(['"', '\'']));
        }
    }

    /// An aggregate opens: a statement, or an account, transaction or
    /// balance of one, whose leaves are gathered until it closes.
    fn open(&mut self, name: &str, line: u64) {
        if name == "OFX" {
            self.seen_ofx = true;
        } else if let Some(kind) = Kind::of_statement(name) {
            // An investment statement counts once it has cash to import.
            if kind != Kind::Invest {
                self.statements += 1;
            }
            self.stmt = Some(Stmt::new(kind));
        }
        let Some(stmt) = self.stmt.as_mut() else { return };
        match name {
            "BANKACCTFROM" | "CCACCTFROM" | "INVACCTFROM" if self.txn.is_none() => {
                let kind = Kind::of_account(name).unwrap_or(stmt.kind);
                self.acct = Some(AcctFields { kind, line, acctid: None, accttype: None });
            }
            "STMTTRN" => self.txn = Some(TxnFields { line, ..Default::default() }),
            "LEDGERBAL" => self.bal = Some(BalFields::new("<LEDGERBAL>", line)),
            "AVAILBAL" => self.bal = Some(BalFields::new("<AVAILBAL>", line)),
            "INVBAL" => self.bal = Some(BalFields::new("<INVBAL>", line)),
            p if POSITIONS.contains(&p) => stmt.positions += 1,
            _ => {}
        }
    }

    /// An aggregate closes: an account, transaction or balance being
    /// gathered is checked and passed to `on`.
    fn close(&mut self, name: &str, on: On) -> Result<(), Problem> {
        match name {
            "STMTRS" | "CCSTMTRS" | "INVSTMTRS" => self.end_statement(on)?,
            "BANKACCTFROM" | "CCACCTFROM" | "INVACCTFROM" => {
                if let Some(fields) = self.acct.take() {
                    let account = self.account(fields)?;
                    let stmt =
                        self.stmt.as_mut().ok_or_else(|| Problem::Whole("an account outside a statement".into()))?;
                    stmt.label = format!("{} •{}", account.name, account.mask);
                    stmt.pending = Some(account);
                    if matches!(stmt.curdef, CurDef::Given(_)) && stmt.kind != Kind::Invest {
                        self.settle(None, on)?;
                    }
                }
            }
            "STMTTRN" => {
                if let Some(fields) = self.txn.take() {
                    self.settle(Some(&fields), on)?;
                    let txn = self.transaction(fields)?;
                    if let Some(stmt) = self.stmt.as_mut() {
                        stmt.cash += 1;
                    }
                    on(Record::Txn(txn))?;
                }
            }
            "LEDGERBAL" | "AVAILBAL" | "INVBAL" => {
                if let Some(fields) = self.bal.take() {
                    self.end_balance(fields, on)?;
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// A balance closes: passed on when it has an amount, else noted.
    fn end_balance(&mut self, fields: BalFields, on: On) -> Result<(), Problem> {
        let invest = self.stmt.as_ref().is_some_and(|s| s.kind == Kind::Invest);
        if invest && self.stmt.as_ref().is_some_and(|s| s.account.is_none()) {
            // No cash movements, so no cash account to give a balance to.
            return Ok(());
        }
        if !invest {
            self.settle(None, on)?;
        }
        let ledger = fields.element != "<AVAILBAL>";
        let Some(stmt) = self.stmt.as_mut() else { return Ok(()) };
        if fields.amount.is_none() {
            let means = if ledger { no_balance(stmt) } else { "no available balance shown".into() };
            self.notes.push(&stmt.label, format!("{} has no amount: {means}", fields.element));
            stmt.ledger |= ledger;
            return Ok(());
        }
        stmt.ledger |= ledger;
        let balance = self.balance(fields)?;
        on(Record::Balance(balance))
    }

    /// A statement closes: its account is passed on if no transaction or
    /// balance did so, and a missing ledger balance is noted.
    fn end_statement(&mut self, on: On) -> Result<(), Problem> {
        let Some(kind) = self.stmt.as_ref().map(|s| s.kind) else { return Ok(()) };
        if kind != Kind::Invest {
            self.settle(None, on)?;
        }
        let Some(stmt) = self.stmt.take() else { return Ok(()) };
        if kind == Kind::Invest {
            self.investments.push((stmt.positions, stmt.cash));
        }
        if stmt.account.is_some() {
            if kind == Kind::Invest {
                self.statements += 1;
            }
            if !stmt.ledger {
                let element = if kind == Kind::Invest { "<INVBAL><AVAILCASH>" } else { "<LEDGERBAL>" };
                self.notes.push(&stmt.label, format!("there is no {element}: {}", no_balance(&stmt)));
            }
        }
        Ok(())
    }

    /// Passes on the statement's account, once: in the statement's
    /// currency, else the one `txn` names, else the bank's (noted).
    fn settle(&mut self, txn: Option<&TxnFields>, on: On) -> Result<(), Problem> {
        let Some(stmt) = self.stmt.as_mut() else { return Ok(()) };
        let Some(mut account) = stmt.pending.take() else { return Ok(()) };
        let missing = match stmt.curdef {
            CurDef::Given(c) => {
                account.currency = c;
                None
            }
            CurDef::Empty => Some("<CURDEF> is empty"),
            CurDef::Absent => Some("there is no <CURDEF>"),
        };
        if let Some(missing) = missing {
            let named = txn.and_then(|t| t.cursym.as_ref());
            let why = match named {
                Some((code, line, element)) => {
                    account.currency = Currency::new(code).map_err(|e| Problem::at(*line, e.to_string()))?;
                    format!("currency {} taken from the transactions' {element}", account.currency)
                }
                None => {
                    account.currency = self.opts.currency;
                    format!("the bank's currency, {}, assumed", account.currency)
                }
            };
            self.notes.push(&stmt.label, format!("{missing}: {why}"));
        }
        stmt.account = Some((account.external_id.clone(), account.currency));
        on(Record::Account(account))
    }

    /// A leaf: kept by the statement, account, transaction or balance it is
    /// in (`context`, the nearest known aggregate).
    fn leaf(&mut self, context: &str, name: &str, value: String, line: u64) -> Result<(), Problem> {
        let v = (!value.trim().is_empty()).then_some((value, line));
        match (context, name) {
            ("STMTRS" | "CCSTMTRS" | "INVSTMTRS", "CURDEF") => {
                if let Some(stmt) = self.stmt.as_mut() {
                    stmt.curdef = match v {
                        Some((code, _)) => {
                            CurDef::Given(Currency::new(&code).map_err(|e| Problem::at(line, e.to_string()))?)
                        }
                        None => CurDef::Empty,
                    };
                }
            }
            ("INVSTMTRS", "DTASOF") => {
                if let Some(stmt) = self.stmt.as_mut() {
                    stmt.dtasof = v;
                }
            }
            ("BANKACCTFROM" | "CCACCTFROM" | "INVACCTFROM", field) => {
                if let Some(acct) = self.acct.as_mut() {
                    acct.set(field, v);
                }
            }
            ("STMTTRN", field) => {
                if let Some(t) = self.txn.as_mut() {
                    t.set(field, v);
                }
            }
            ("PAYEE", "NAME") => {
                if let Some(t) = self.txn.as_mut() {
                    t.payee = v;
                }
            }
            (element @ ("CURRENCY" | "ORIGCURRENCY"), "CURSYM") => {
                if let (Some(t), Some((code, line))) = (self.txn.as_mut(), v)
                    && (t.cursym.is_none() || element == "CURRENCY")
                {
                    let element = if element == "CURRENCY" { "<CURRENCY><CURSYM>" } else { "<ORIGCURRENCY><CURSYM>" };
                    t.cursym = Some((code.trim().to_string(), line, element));
                }
            }
            ("LEDGERBAL" | "AVAILBAL" | "INVBAL", field) => {
                if let Some(b) = self.bal.as_mut() {
                    b.set(field, v);
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn account(&mut self, f: AcctFields) -> Result<StatementAccount, Problem> {
        let element = match f.kind {
            Kind::Bank => "<BANKACCTFROM>",
            Kind::Card => "<CCACCTFROM>",
            Kind::Invest => "<INVACCTFROM>",
        };
        let Some((number, number_line)) = f.acctid else {
            return Err(Problem::at(f.line, format!("the statement's account ({element}) has no <ACCTID>")));
        };
        let (kind, name, assumed) = match f.kind {
            Kind::Card => (AccountKind::Credit, "Credit Card", None),
            Kind::Invest => (AccountKind::Checking, "Brokerage Cash", None),
            Kind::Bank => bank_account_kind(f.accttype.as_ref().map(|(t, _)| t.as_str())),
        };
        let Some((mut base, mask)) = ident::account(kind, &number) else {
            return Err(Problem::at(number_line, "the account number (<ACCTID>) has no digits"));
        };
        if f.kind == Kind::Invest {
            // Not `checking-…`: a brokerage's cash is no bank account of the
            // same last digits.
            base = format!("brokerage-{mask}");
        }
        if let Some(why) = assumed {
            self.notes.push(&format!("{name} •{mask}"), why);
        }
        let fingerprint: [u8; 32] = <sha2::Sha256 as sha2::Digest>::digest(number.trim().as_bytes()).into();
        let first = *self.numbers.entry(base.clone()).or_insert(fingerprint);
        let external_id = if first == fingerprint { base } else { ident::disambiguate(&base, &number) };
        // The currency is settled when the account is passed on.
        let currency = self.opts.currency;
        Ok(StatementAccount { external_id, name: name.to_string(), kind, mask, currency })
    }

    fn transaction(&mut self, f: TxnFields) -> Result<StatementTxn, Problem> {
        let Some(stmt) = self.stmt.as_ref() else {
            return Err(Problem::at(f.line, "a transaction (<STMTTRN>) outside a statement"));
        };
        let Some((account, currency)) = stmt.account.clone() else {
            return Err(Problem::at(
                f.line,
                "a transaction (<STMTTRN>) comes before its statement's account (<BANKACCTFROM>, <CCACCTFROM> \
                 or <INVACCTFROM>)",
            ));
        };
        if let Some((code, line, element)) = &f.cursym
            && !code.eq_ignore_ascii_case(currency.code())
        {
            if !matches!(stmt.curdef, CurDef::Given(_)) {
                return Err(Problem::at(
                    *line,
                    format!(
                        "the statement names no currency (<CURDEF>) and is read in {currency}, but this transaction \
                         is in {} ({element}): finbox keeps an account in one currency",
                        crate::domain::text::clean_line(code, 8)
                    ),
                ));
            }
            if *element == "<CURRENCY><CURSYM>" {
                self.notes.unconverted += 1;
            }
        }
        let Some((amount_text, amount_line)) = f.trnamt.clone() else {
            return Err(Problem::at(f.line, "a transaction (<STMTTRN>) has no amount (<TRNAMT>)"));
        };
        let amount = amount::parse(&amount_text, NumberFormat::ofx(&amount_text), currency)
            .map_err(|why| Problem::at(amount_line, why))?;
        let Some((date_text, date_line)) = f.dtposted.clone() else {
            return Err(Problem::at(f.line, "a transaction (<STMTTRN>) has no date (<DTPOSTED>)"));
        };
        let posted =
            date::parse_ofx(&date_text, self.opts.utc_offset_secs).map_err(|why| Problem::at(date_line, why))?;
        date::check_range(posted.at, self.opts.now).map_err(|why| Problem::at(date_line, why))?;
        let memo = text(&f.memo);
        let (hint, category) = infer::ofx_type(&text(&f.trntype).unwrap_or_default());
        let merchant = self.describe(&f);
        let channel = infer::channel(hint, &format!("{merchant} {}", memo.as_deref().unwrap_or_default()), amount);
        let home = &self.opts.home_country;
        let mut country = infer::country(&merchant, home);
        if &country == home
            && let Some(m) = &memo
        {
            country = infer::country(m, home);
        }
        let category = if category == infer::UNCATEGORIZED { infer::category(channel) } else { category };
        let (external_id, derived) = match text(&f.fitid) {
            Some(fitid) => (ident::bank_txn(&account, &fitid), false),
            None => {
                self.notes.no_fitid += 1;
                (self.occurrences.derived_id(&account, posted.date, amount, &merchant), true)
            }
        };
        let info = TxnInfo {
            account,
            external_id,
            posted_at: posted.at,
            amount,
            merchant,
            category: category.to_string(),
            channel,
            country,
            notify: false,
            pending: false,
            transfer: false,
        };
        Ok(StatementTxn { info, derived, line: f.line })
    }

    /// The description: `<NAME>`, else `<PAYEE><NAME>`, `<MEMO>`, the check
    /// number, else "(no description)"; each fallback counted for the notes.
    fn describe(&mut self, f: &TxnFields) -> String {
        if let Some(name) = text(&f.name) {
            return name;
        }
        let found = [(&f.payee, 0), (&f.memo, 1)].into_iter().find_map(|(v, i)| text(v).map(|t| (t, i)));
        let (description, i) = match found {
            Some(found) => found,
            None => match text(&f.checknum) {
                Some(n) => (format!("Check {n}"), 2),
                None => (NO_DESCRIPTION.to_string(), 3),
            },
        };
        self.notes.no_name[i] += 1;
        description
    }

    fn balance(&mut self, f: BalFields) -> Result<StatementBalance, Problem> {
        let element = f.element;
        let Some((account, currency)) = self.stmt.as_ref().and_then(|s| s.account.clone()) else {
            return Err(Problem::at(f.line, format!("a balance ({element}) comes before the statement's account")));
        };
        let Some((amount_text, amount_line)) = f.amount else {
            return Err(Problem::at(f.line, format!("{element} has no amount")));
        };
        let amount = amount::parse(&amount_text, NumberFormat::ofx(&amount_text), currency)
            .map_err(|why| Problem::at(amount_line, why))?;
        let dated = if element == "<INVBAL>" { self.stmt.as_ref().and_then(|s| s.dtasof.clone()) } else { f.at };
        let at = match dated {
            Some((t, l)) => {
                let at = date::parse_ofx(&t, self.opts.utc_offset_secs).map_err(|why| Problem::at(l, why))?.at;
                // Checked like a transaction's date: a balance dated in 9999
                // would otherwise always count as the latest.
                date::check_range(at, self.opts.now).map_err(|why| Problem::at(l, format!("{element}: {why}")))?;
                at
            }
            None => {
                let label = self.stmt.as_ref().map(|s| s.label.clone()).unwrap_or_default();
                self.notes.push(&label, format!("{element} has no date (<DTASOF>): taken as of now"));
                self.opts.now
            }
        };
        Ok(StatementBalance { account, available: element == "<AVAILBAL>", amount, at })
    }

    fn finish(mut self) -> Result<(String, Vec<String>), Problem> {
        if !self.seen_ofx {
            return Err(Problem::Whole("there is no <OFX> element: this is not an OFX statement".into()));
        }
        let positions: u64 = self.investments.iter().map(|(p, _)| p).sum();
        let refused = self.investments.iter().filter(|(_, cash)| *cash == 0).count();
        let with_cash = self.investments.len() - refused;
        if self.statements == 0 {
            return Err(Problem::Whole(match refused {
                0 => "there is no bank or credit-card statement (<STMTRS> or <CCSTMTRS>) in the file".into(),
                n => investment_refusal(n, positions),
            }));
        }
        if !self.investments.is_empty() {
            let read = match (with_cash, refused) {
                (_, 0) => {
                    "only its cash movements (<INVBANKTRAN>) were read, as a Brokerage Cash account whose balance is \
                     the available cash (<INVBAL><AVAILCASH>), which trades move too"
                }
                (0, _) => "it was not imported",
                _ => {
                    "only the cash movements (<INVBANKTRAN>) of those with any were read, as Brokerage Cash \
                     accounts; the others were not imported"
                }
            };
            let what = investment(self.investments.len(), positions);
            self.notes.push("", format!("{what}: finbox imports bank and card statements, so {read}"));
        }
        let version = if self.version.is_empty() { "OFX" } else { &self.version };
        Ok((format!("{version} ({})", self.syntax), self.notes.into_lines()))
    }
}

/// Why a file of investment statements without cash movements is refused.
fn investment_refusal(n: usize, positions: u64) -> String {
    format!(
        "{}: finbox imports bank and credit-card statements, not investments, and the file has no cash \
         movements (<INVBANKTRAN>) to import as a brokerage cash account; nothing was imported",
        investment(n, positions)
    )
}

/// A whole file's refusal when it holds only investment statements without
/// cash movements: said before the bank is asked for. `None` when it holds
/// something finbox imports, or does not read as OFX (the scan says why).
pub fn investments_only(whole: &[u8]) -> Option<String> {
    let mut tree = Tree::new(whole);
    let (mut investments, mut positions) = (0, 0);
    loop {
        let node = match tree.next() {
            Ok(Some((node, _))) => node,
            Ok(None) => break,
            Err(_) => return None,
        };
        match node {
            Node::Open(name) if matches!(name.as_str(), "STMTRS" | "CCSTMTRS" | "INVBANKTRAN") => return None,
            Node::Open(name) if name == "INVSTMTRS" => investments += 1,
            Node::Open(name) if POSITIONS.contains(&name.as_str()) => positions += 1,
            _ => {}
        }
    }
    (investments > 0).then(|| investment_refusal(investments, positions))
}

/// "an investment statement (`<INVSTMTRS>`) with 12 positions".
fn investment(n: usize, positions: u64) -> String {
    let statements = if n == 1 { "an investment statement".to_string() } else { format!("{n} investment statements") };
    format!("this is {statements} (<INVSTMTRS>) with {}", super::count(positions, "position", "positions"))
}

/// What a statement without a ledger balance means for its account.
fn no_balance(stmt: &Stmt) -> String {
    let currency = stmt.account.as_ref().map_or(Currency::USD, |(_, c)| *c);
    format!("no balance in the file, a new account opens at {}", crate::domain::Money::new(0, currency))
}

/// A bank account's kind and name from its `<ACCTTYPE>`, and the note when
/// it is empty, missing or unknown (checking is assumed).
fn bank_account_kind(accttype: Option<&str>) -> (AccountKind, &'static str, Option<String>) {
    match accttype.map(|t| t.trim().to_ascii_uppercase()).as_deref() {
        Some("CHECKING") => (AccountKind::Checking, "Checking", None),
        Some("SAVINGS") => (AccountKind::Savings, "Savings", None),
        Some("MONEYMRKT") => (AccountKind::Savings, "Money Market", None),
        Some("CD") => (AccountKind::Savings, "Certificate of Deposit", None),
        Some("CREDITLINE") => (AccountKind::Credit, "Credit Line", None),
        None => (AccountKind::Checking, "Checking", Some("<ACCTTYPE> is empty or missing: checking assumed".into())),
        Some(other) => {
            let shown = crate::domain::text::clean_line(other, 16);
            (
                AccountKind::Checking,
                "Checking",
                Some(format!("<ACCTTYPE> {shown:?} is not one finbox knows: checking assumed")),
            )
        }
    }
}

/// A value's text, trimmed; `None` when empty.
fn text(v: &Val) -> Option<String> {
    v.as_ref().map(|(s, _)| s.trim().to_string()).filter(|s| !s.is_empty())
}

/// What a transaction without a description is called.
const NO_DESCRIPTION: &str = "(no description)";

/// What the file left out and what finbox took instead, said in the
/// import's report.
#[derive(Default)]
struct Notes {
    lines: Vec<String>,
    /// Transactions without a `<FITID>`.
    no_fitid: u64,
    /// Transactions whose `<CURRENCY>` differs from the statement's
    /// `<CURDEF>`: read as they are (finbox does not convert).
    unconverted: u64,
    /// Transactions without a `<NAME>`, described from the payee, the memo,
    /// the check number, or not at all.
    no_name: [u64; 4],
}

impl Notes {
    /// A note about the account `label` ("Checking •1234"), or the file.
    fn push(&mut self, label: &str, what: impl Into<String>) {
        let what = what.into();
        let line = if label.is_empty() { what } else { format!("{label}: {what}") };
        if !self.lines.contains(&line) {
            self.lines.push(line);
        }
    }

    fn into_lines(mut self) -> Vec<String> {
        let txns = |n| super::count(n, "transaction", "transactions");
        if self.no_fitid > 0 {
            let n = txns(self.no_fitid);
            self.lines.push(format!("{n} had no <FITID>: ids derived from date, amount and description"));
        }
        if self.unconverted > 0 {
            let n = txns(self.unconverted);
            self.lines.push(format!(
                "{n} named a <CURRENCY> other than the statement's <CURDEF>: amounts read in the statement's \
                 currency, not converted"
            ));
        }
        let from = ["<PAYEE>", "<MEMO>", "<CHECKNUM> (\"Check N\")"];
        for (i, source) in from.iter().enumerate() {
            if self.no_name[i] > 0 {
                self.lines.push(format!("{} had no <NAME>: description taken from {source}", txns(self.no_name[i])));
            }
        }
        if self.no_name[3] > 0 {
            let n = txns(self.no_name[3]);
            self.lines.push(format!("{n} had no <NAME>, <PAYEE> or <MEMO>: described as \"{NO_DESCRIPTION}\""));
        }
        self.lines
    }
}

/// "102" → "OFX 1.02", "220" → "OFX 2.20".
fn dotted(v: &str) -> String {
    let v = crate::domain::text::clean_line(v, 8);
    match v.len() {
        3 if v.bytes().all(|b| b.is_ascii_digit()) => format!("OFX {}.{}", &v[..1], &v[1..]),
        _ => format!("OFX {v}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nodes(text: &str) -> Result<Vec<Node>, Problem> {
        let mut tree = Tree::new(text.as_bytes());
        let mut out = Vec::new();
        while let Some((n, _)) = tree.next()? {
            out.push(n);
        }
        Ok(out)
    }

    fn leaf(name: &str, value: &str, context: &str) -> Node {
        Node::Leaf { name: name.into(), value: value.into(), context: context.into() }
    }

    #[test]
    fn sgml_leaves_close_themselves_and_xml_leaves_are_closed() {
        let sgml = "<OFX><STMTTRN><TRNAMT>-1.00<NAME>AT&amp;T &#x41;<MEMO><FITID>7</STMTTRN></OFX>";
        let xml = "<OFX><STMTTRN><TRNAMT>-1.00</TRNAMT><NAME>AT&amp;T &#x41;</NAME><MEMO></MEMO><FITID>7</FITID>\
                   </STMTTRN></OFX>";
        let sgml_nodes = nodes(sgml).unwrap();
        assert_eq!(
            sgml_nodes,
            [
                Node::Open("OFX".into()),
                Node::Open("STMTTRN".into()),
                leaf("TRNAMT", "-1.00", "STMTTRN"),
                leaf("NAME", "AT&T A", "STMTTRN"),
                Node::Open("MEMO".into()),
                // An empty SGML leaf looks like an aggregate; the known
                // aggregate around it still gives the context.
                leaf("FITID", "7", "STMTTRN"),
                Node::Close("MEMO".into()),
                Node::Close("STMTTRN".into()),
                Node::Close("OFX".into()),
            ]
        );
        // `<X></X>` in SGML is an empty leaf, not an aggregate.
        let empty = nodes("<OFX><STMTRS><CURDEF></CURDEF><FITID></FITID></STMTRS></OFX>").unwrap();
        assert_eq!(empty[2..4], [leaf("CURDEF", "", "STMTRS"), leaf("FITID", "", "STMTRS")]);
        let xml_nodes = nodes(xml).unwrap();
        assert!(xml_nodes.contains(&leaf("FITID", "7", "STMTTRN")));
        assert!(xml_nodes.contains(&leaf("NAME", "AT&T A", "STMTTRN")));
    }

    #[test]
    fn headers_comments_and_declarations() {
        let text = "OFXHEADER:100\nVERSION:102\n\n<!-- a <comment> -- here --><OFX></OFX>";
        let n = nodes(text).unwrap();
        assert_eq!(n[0], Node::Header("OFXHEADER:100\nVERSION:102".into()));
        assert_eq!(n[1], Node::Open("OFX".into()));
        let n = nodes("<?xml version=\"1.0\"?>\n<?OFX OFXHEADER=\"200\" VERSION=\"220\"?><OFX/>").unwrap();
        assert_eq!(n[1], Node::Pi("OFX OFXHEADER=\"200\" VERSION=\"220\"".into()));
    }

    #[test]
    fn truncation_is_reported_with_lines() {
        let err = nodes("<OFX>\n<STMTTRN>\n<TRNAMT>-1").unwrap_err();
        assert!(
            matches!(&err, Problem::At { line: 3, what } if what.contains("<STMTTRN> (opened on line 2)")),
            "{err:?}"
        );
        let err = nodes("<OFX>\n<STMTT").unwrap_err();
        assert!(matches!(&err, Problem::At { line: 2, what } if what.contains("inside a tag")), "{err:?}");
    }

    #[test]
    fn bounded_values_and_depth() {
        let long = format!("<OFX><NAME>{}", "x".repeat(70_000));
        assert!(matches!(nodes(&long), Err(Problem::At { what, .. }) if what.contains("64 KiB")));
        let deep = "<A>".repeat(300);
        assert!(matches!(nodes(&format!("<OFX>{deep}")), Err(Problem::At { what, .. }) if what.contains("nest")));
    }

    #[test]
    fn org_is_found_in_the_head() {
        let head = b"OFXHEADER:100\n\n<OFX><SIGNONMSGSRSV1><SONRS><FI><ORG>Wells Fargo<FID>3000</FI></SONRS>";
        assert_eq!(org(head).as_deref(), Some("Wells Fargo"));
        assert_eq!(org(b"<OFX><BANKMSGSRSV1><STMTTRNRS><STMTRS><FI><ORG>x"), None);
        assert_eq!(org(b"\xff\xfe garbage"), None);
    }

    fn read_all(text: &str) -> Result<(Vec<Record>, String, Vec<String>), Problem> {
        let opts = Options {
            currency: Currency::USD,
            home_country: "US".into(),
            utc_offset_secs: 0,
            now: chrono::Utc::now(),
            account: None,
        };
        let mut records = Vec::new();
        let (version, notes) = read(text.as_bytes(), &opts, &mut |r| {
            records.push(r);
            Ok(())
        })?;
        Ok((records, version, notes))
    }

    #[test]
    fn an_investment_statement_without_cash_is_refused_as_such_and_one_with_cash_gives_it() {
        let positions = "<INVPOSLIST><POSSTOCK><INVPOS><UNITS>1</INVPOS></POSSTOCK><POSOPT><INVPOS><UNITS>2</INVPOS>\
                         </POSOPT></INVPOSLIST>";
        let acct = "<CURDEF>EUR<INVACCTFROM><BROKERID>b<ACCTID>99887766</INVACCTFROM>";
        let none = format!("<OFX><INVSTMTRS>{acct}<INVTRANLIST></INVTRANLIST>{positions}</INVSTMTRS></OFX>");
        let err = read_all(&none).unwrap_err();
        assert!(
            matches!(&err, Problem::Whole(w) if w.contains("(<INVSTMTRS>) with 2 positions: finbox imports bank")),
            "{err:?}"
        );
        assert_eq!(
            investments_only(none.as_bytes()).as_deref(),
            match err {
                Problem::Whole(w) => Some(w),
                _ => None,
            }
            .as_deref()
        );
        let cash = "<INVBANKTRAN><STMTTRN><TRNTYPE>INT<DTPOSTED>20260101<TRNAMT>1.50<FITID>9</STMTTRN>\
                    <SUBACCTFUND>CASH</INVBANKTRAN>";
        let with = format!(
            "<OFX><INVSTMTRS><DTASOF>20260102{acct}<INVTRANLIST>{cash}</INVTRANLIST>{positions}\
             <INVBAL><AVAILCASH>10.00</INVBAL></INVSTMTRS></OFX>"
        );
        assert_eq!(investments_only(with.as_bytes()), None);
        let (records, _, notes) = read_all(&with).unwrap();
        assert!(
            matches!(&records[0], Record::Account(a) if a.external_id == "brokerage-7766"
            && a.currency.code() == "EUR" && a.name == "Brokerage Cash"),
            "{records:?}"
        );
        assert!(matches!(&records[1], Record::Txn(t) if t.info.amount.minor == 150), "{records:?}");
        assert!(matches!(&records[2], Record::Balance(b) if b.amount.minor == 1000 && !b.available), "{records:?}");
        assert_eq!(records.len(), 3);
        assert!(notes.iter().any(|n| n.contains("only its cash movements")), "{notes:?}");
    }

    #[test]
    fn each_fallback_is_noted() {
        let txn =
            |cur: &str| format!("<STMTTRN><TRNTYPE>POS<DTPOSTED>20260101<TRNAMT>-1.00<FITID>1<NAME>A{cur}</STMTTRN>");
        // No CURDEF and no currency in the transactions: the bank's.
        let file = format!(
            "<OFX><STMTRS><BANKACCTFROM><ACCTID>1234<ACCTTYPE>BROKERAGE</BANKACCTFROM>{}\
             <LEDGERBAL><BALAMT>5.00<DTASOF></DTASOF></LEDGERBAL></STMTRS></OFX>",
            txn("")
        );
        let (records, _, notes) = read_all(&file).unwrap();
        assert!(matches!(&records[0], Record::Account(a) if a.currency == Currency::USD && a.name == "Checking"));
        assert_eq!(
            notes,
            [
                "Checking •1234: <ACCTTYPE> \"BROKERAGE\" is not one finbox knows: checking assumed",
                "Checking •1234: there is no <CURDEF>: the bank's currency, USD, assumed",
                "Checking •1234: <LEDGERBAL> has no date (<DTASOF>): taken as of now",
            ]
        );
        // <CURRENCY> wins over <ORIGCURRENCY>, whichever comes first.
        let both = "<ORIGCURRENCY><CURRATE>1.2<CURSYM>GBP</ORIGCURRENCY><CURRENCY><CURRATE>1<CURSYM>EUR</CURRENCY>";
        let file = format!(
            "<OFX><STMTRS><CURDEF></CURDEF><BANKACCTFROM><ACCTID>1234<ACCTTYPE>SAVINGS</BANKACCTFROM>{}\
             </STMTRS></OFX>",
            txn(both)
        );
        let (records, _, notes) = read_all(&file).unwrap();
        assert!(matches!(&records[0], Record::Account(a) if a.currency.code() == "EUR" && a.name == "Savings"));
        assert_eq!(
            notes,
            [
                "Savings •1234: <CURDEF> is empty: currency EUR taken from the transactions' <CURRENCY><CURSYM>",
                "Savings •1234: there is no <LEDGERBAL>: no balance in the file, a new account opens at €0.00",
            ]
        );
        // A <CURRENCY> other than a given <CURDEF> is said, not converted.
        let file = format!(
            "<OFX><STMTRS><CURDEF>USD<BANKACCTFROM><ACCTID>1234<ACCTTYPE>CHECKING</BANKACCTFROM>{}\
             <LEDGERBAL><BALAMT>5.00<DTASOF>20260102</LEDGERBAL></STMTRS></OFX>",
            txn(both)
        );
        assert_eq!(
            read_all(&file).unwrap().2,
            ["1 transaction named a <CURRENCY> other than the statement's <CURDEF>: amounts read in the \
                 statement's currency, not converted"]
        );
        // A statement that says everything takes no fallback.
        let file = format!(
            "<OFX><STMTRS><CURDEF>USD<BANKACCTFROM><ACCTID>1234<ACCTTYPE>CHECKING</BANKACCTFROM>{}\
             <LEDGERBAL><BALAMT>5.00<DTASOF>20260102</LEDGERBAL></STMTRS></OFX>",
            txn("")
        );
        assert_eq!(read_all(&file).unwrap().2, Vec::<String>::new());
    }

    #[test]
    fn versions_read_well() {
        assert_eq!(dotted("102"), "OFX 1.02");
        assert_eq!(dotted("220"), "OFX 2.20");
    }
}
