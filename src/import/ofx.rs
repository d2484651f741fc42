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
//! (`<CCSTMTRS>`) statements: their account, transactions and balances.
//! A file that ends inside an element is truncated, and says so.
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
pub fn read(
    input: impl BufRead,
    opts: &Options,
    on: &mut dyn FnMut(Record) -> Result<(), Problem>,
) -> Result<String, Problem> {
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

/// The statements finbox reads: bank and credit-card.
const STATEMENTS: &[&str] = &["STMTRS", "CCSTMTRS"];

// ---------------------------------------------------------------------------
// Statements

/// A value and the line it was on.
type Val = Option<(String, u64)>;

struct Stmt {
    currency: Option<Currency>,
    account: Option<(String, Currency)>,
}

struct AcctFields {
    card: bool,
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
}

struct BalFields {
    available: bool,
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
    fn set(&mut self, field: &str, v: Val) {
        match field {
            "BALAMT" => self.amount = v,
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
    statements: u32,
    stmt: Option<Stmt>,
    acct: Option<AcctFields>,
    txn: Option<TxnFields>,
    bal: Option<BalFields>,
    /// Account id → a hash of the full number it stands for, to tell apart
    /// two accounts of one file with the same kind and last digits.
    numbers: HashMap<String, [u8; 32]>,
    occurrences: Occurrences,
}

impl<'a> Builder<'a> {
    fn new(opts: &'a Options) -> Self {
        Builder {
            opts,
            version: String::new(),
            syntax: "SGML",
            seen_ofx: false,
            statements: 0,
            stmt: None,
            acct: None,
            txn: None,
            bal: None,
            numbers: HashMap::new(),
            occurrences: Occurrences::default(),
        }
    }

    fn node(
        &mut self,
        node: Node,
        line: u64,
        on: &mut dyn FnMut(Record) -> Result<(), Problem>,
    ) -> Result<(), Problem> {
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
        match name {
            "OFX" => self.seen_ofx = true,
            "STMTRS" | "CCSTMTRS" => {
                self.statements += 1;
                self.stmt = Some(Stmt { currency: None, account: None });
            }
            "BANKACCTFROM" | "CCACCTFROM" if self.stmt.is_some() && self.txn.is_none() => {
                self.acct = Some(AcctFields { card: name == "CCACCTFROM", line, acctid: None, accttype: None });
            }
            "STMTTRN" if self.stmt.is_some() => self.txn = Some(TxnFields { line, ..Default::default() }),
            "LEDGERBAL" | "AVAILBAL" if self.stmt.is_some() => {
                self.bal = Some(BalFields { available: name == "AVAILBAL", line, amount: None, at: None });
            }
            _ => {}
        }
    }

    /// An aggregate closes: an account, transaction or balance being
    /// gathered is checked and passed to `on`.
    fn close(&mut self, name: &str, on: &mut dyn FnMut(Record) -> Result<(), Problem>) -> Result<(), Problem> {
        match name {
            "STMTRS" | "CCSTMTRS" => self.stmt = None,
            "BANKACCTFROM" | "CCACCTFROM" => {
                if let Some(fields) = self.acct.take() {
                    let account = self.account(fields)?;
                    on(Record::Account(account))?;
                }
            }
            "STMTTRN" => {
                if let Some(fields) = self.txn.take() {
                    let txn = self.transaction(fields)?;
                    on(Record::Txn(txn))?;
                }
            }
            "LEDGERBAL" | "AVAILBAL" => {
                if let Some(fields) = self.bal.take() {
                    let balance = self.balance(fields)?;
                    on(Record::Balance(balance))?;
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// A leaf: kept by the statement, account, transaction or balance it is
    /// in (`context`, the nearest known aggregate).
    fn leaf(&mut self, context: &str, name: &str, value: String, line: u64) -> Result<(), Problem> {
        let v = Some((value, line));
        match (context, name) {
            ("STMTRS" | "CCSTMTRS", "CURDEF") => {
                if let Some(stmt) = self.stmt.as_mut() {
                    let code = v.map(|(c, _)| c).unwrap_or_default();
                    let currency = Currency::new(&code).map_err(|e| Problem::at(line, e.to_string()))?;
                    stmt.currency = Some(currency);
                }
            }
            ("BANKACCTFROM" | "CCACCTFROM", field) => {
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
            ("LEDGERBAL" | "AVAILBAL", field) => {
                if let Some(b) = self.bal.as_mut() {
                    b.set(field, v);
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn account(&mut self, f: AcctFields) -> Result<StatementAccount, Problem> {
        let element = if f.card { "<CCACCTFROM>" } else { "<BANKACCTFROM>" };
        let Some((number, number_line)) = f.acctid else {
            return Err(Problem::at(f.line, format!("the statement's account ({element}) has no <ACCTID>")));
        };
        let (kind, name) = if f.card {
            (AccountKind::Credit, "Credit Card")
        } else {
            match f.accttype.as_ref().map(|(t, _)| t.trim().to_ascii_uppercase()).as_deref() {
                Some("SAVINGS") => (AccountKind::Savings, "Savings"),
                Some("MONEYMRKT") => (AccountKind::Savings, "Money Market"),
                Some("CD") => (AccountKind::Savings, "Certificate of Deposit"),
                Some("CREDITLINE") => (AccountKind::Credit, "Credit Line"),
                _ => (AccountKind::Checking, "Checking"),
            }
        };
        let Some((base, mask)) = ident::account(kind, &number) else {
            return Err(Problem::at(number_line, "the account number (<ACCTID>) has no digits"));
        };
        let fingerprint: [u8; 32] = <sha2::Sha256 as sha2::Digest>::digest(number.trim().as_bytes()).into();
        let first = *self.numbers.entry(base.clone()).or_insert(fingerprint);
        let external_id = if first == fingerprint { base } else { ident::disambiguate(&base, &number) };
        let stmt = self.stmt.as_mut().ok_or_else(|| Problem::at(f.line, "an account outside a statement"))?;
        let currency = stmt.currency.unwrap_or(self.opts.currency);
        stmt.account = Some((external_id.clone(), currency));
        Ok(StatementAccount { external_id, name: name.to_string(), kind, mask, currency })
    }

    fn transaction(&mut self, f: TxnFields) -> Result<StatementTxn, Problem> {
        let Some((account, currency)) = self.stmt.as_ref().and_then(|s| s.account.clone()) else {
            return Err(Problem::at(
                f.line,
                "a transaction (<STMTTRN>) comes before its statement's account (<BANKACCTFROM> or <CCACCTFROM>)",
            ));
        };
        let Some((amount_text, amount_line)) = f.trnamt else {
            return Err(Problem::at(f.line, "a transaction (<STMTTRN>) has no amount (<TRNAMT>)"));
        };
        let amount = amount::parse(&amount_text, NumberFormat::ofx(&amount_text), currency)
            .map_err(|why| Problem::at(amount_line, why))?;
        let Some((date_text, date_line)) = f.dtposted else {
            return Err(Problem::at(f.line, "a transaction (<STMTTRN>) has no date (<DTPOSTED>)"));
        };
        let posted =
            date::parse_ofx(&date_text, self.opts.utc_offset_secs).map_err(|why| Problem::at(date_line, why))?;
        date::check_range(posted.at, self.opts.now).map_err(|why| Problem::at(date_line, why))?;
        let text = |v: &Val| v.as_ref().map(|(s, _)| s.trim().to_string()).filter(|s| !s.is_empty());
        let memo = text(&f.memo);
        let (hint, category) = infer::ofx_type(&text(&f.trntype).unwrap_or_default());
        let merchant = text(&f.name)
            .or_else(|| text(&f.payee))
            .or_else(|| memo.clone())
            .or_else(|| text(&f.checknum).map(|n| format!("Check {n}")))
            .unwrap_or_else(|| category.to_string());
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
            None => (self.occurrences.derived_id(&account, posted.date, amount, &merchant), true),
        };
        Ok(StatementTxn {
            info: TxnInfo {
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
            },
            derived,
            line: f.line,
        })
    }

    fn balance(&mut self, f: BalFields) -> Result<StatementBalance, Problem> {
        let element = if f.available { "<AVAILBAL>" } else { "<LEDGERBAL>" };
        let Some((account, currency)) = self.stmt.as_ref().and_then(|s| s.account.clone()) else {
            return Err(Problem::at(f.line, format!("a balance ({element}) comes before the statement's account")));
        };
        let Some((amount_text, amount_line)) = f.amount else {
            return Err(Problem::at(f.line, format!("{element} has no amount (<BALAMT>)")));
        };
        let amount = amount::parse(&amount_text, NumberFormat::ofx(&amount_text), currency)
            .map_err(|why| Problem::at(amount_line, why))?;
        let at = match f.at {
            Some((t, l)) => {
                let at = date::parse_ofx(&t, self.opts.utc_offset_secs).map_err(|why| Problem::at(l, why))?.at;
                // Checked like a transaction's date: a balance dated in 9999
                // would otherwise always count as the latest.
                date::check_range(at, self.opts.now).map_err(|why| Problem::at(l, format!("{element}: {why}")))?;
                at
            }
            None => self.opts.now,
        };
        Ok(StatementBalance { account, available: f.available, amount, at })
    }

    fn finish(self) -> Result<String, Problem> {
        if !self.seen_ofx {
            return Err(Problem::Whole("there is no <OFX> element: this is not an OFX statement".into()));
        }
        if self.statements == 0 {
            return Err(Problem::Whole(
                "there is no bank or credit-card statement (<STMTRS> or <CCSTMTRS>) in the file".into(),
            ));
        }
        let version = if self.version.is_empty() { "OFX" } else { &self.version };
        Ok(format!("{version} ({})", self.syntax))
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

    #[test]
    fn versions_read_well() {
        assert_eq!(dotted("102"), "OFX 1.02");
        assert_eq!(dotted("220"), "OFX 2.20");
    }
}
