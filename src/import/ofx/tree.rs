//! The OFX element reader: turns the lexer's tokens into elements, deciding
//! whether an element is a leaf (a value follows) or an aggregate (another
//! tag follows), and closing unclosed leaves and aggregates when an
//! enclosing end tag arrives. Each leaf carries the nearest enclosing
//! aggregate finbox knows, so that a transaction's `<NAME>` is not mistaken
//! for a payee's.

use std::collections::VecDeque;
use std::io::BufRead;

use super::lexer::{Lexer, Tok};
use crate::import::Problem;

/// Deepest nesting of elements.
const MAX_DEPTH: usize = 256;

/// Aggregates finbox reads, or that hold leaves it must not mistake for the
/// statement's own (the account a transfer went to, a foreign currency).
/// Other elements are leaves when text follows them, aggregates otherwise.
const KNOWN_AGGREGATES: &[&str] = &[
    "OFX",
    "SIGNONMSGSRSV1",
    "SONRS",
    "STATUS",
    "FI",
    "BANKMSGSRSV1",
    "STMTTRNRS",
    "STMTRS",
    "CREDITCARDMSGSRSV1",
    "CCSTMTTRNRS",
    "CCSTMTRS",
    "BANKACCTFROM",
    "CCACCTFROM",
    "BANKACCTTO",
    "CCACCTTO",
    "BANKTRANLIST",
    "STMTTRN",
    "PAYEE",
    "CURRENCY",
    "ORIGCURRENCY",
    "LEDGERBAL",
    "AVAILBAL",
    "BALLIST",
    "BAL",
    "INVSTMTMSGSRSV1",
    "INVSTMTTRNRS",
    "INVSTMTRS",
    "INVACCTFROM",
    "INVTRANLIST",
    "INVBANKTRAN",
    "INVPOSLIST",
    "POSSTOCK",
    "POSMF",
    "POSDEBT",
    "POSOPT",
    "POSOTHER",
    "INVBAL",
];

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Node {
    /// Text before the first element: OFX 1.x header lines.
    Header(String),
    Pi(String),
    Open(String),
    Close(String),
    /// A leaf element and its value, with the nearest enclosing aggregate
    /// that finbox knows.
    Leaf {
        name: String,
        value: String,
        context: String,
    },
}

pub(super) struct Tree<R> {
    lex: Lexer<R>,
    /// Open elements and the lines they opened on.
    stack: Vec<(String, u64)>,
    back: Option<(Tok, u64)>,
    pending: VecDeque<(Node, u64)>,
    started: bool,
}

impl<R: BufRead> Tree<R> {
    pub(super) fn new(r: R) -> Self {
        Tree { lex: Lexer::new(r), stack: Vec::new(), back: None, pending: VecDeque::new(), started: false }
    }

    fn token(&mut self) -> Result<Option<(Tok, u64)>, Problem> {
        match self.back.take() {
            Some(t) => Ok(Some(t)),
            None => self.lex.next(),
        }
    }

    fn context(&self) -> String {
        let known = self.stack.iter().rev().find(|(n, _)| KNOWN_AGGREGATES.contains(&n.as_str()));
        known.map(|(n, _)| n.clone()).unwrap_or_default()
    }

    fn push(&mut self, name: String, line: u64) -> Result<(), Problem> {
        if self.stack.len() >= MAX_DEPTH {
            return Err(Problem::at(line, format!("elements nest more than {MAX_DEPTH} deep")));
        }
        self.stack.push((name, line));
        Ok(())
    }

    pub(super) fn next(&mut self) -> Result<Option<(Node, u64)>, Problem> {
        loop {
            if let Some(n) = self.pending.pop_front() {
                return Ok(Some(n));
            }
            let Some((tok, line)) = self.token()? else {
                return match self.stack.last() {
                    Some((name, opened)) => Err(Problem::at(
                        self.lex.line,
                        format!("the file ends inside <{name}> (opened on line {opened}): it is truncated"),
                    )),
                    None => Ok(None),
                };
            };
            match tok {
                Tok::Text(text) if !self.started => return Ok(Some((Node::Header(text), line))),
                Tok::Text(_) => {} // stray text between aggregates
                Tok::Pi(body) => return Ok(Some((Node::Pi(body), line))),
                Tok::Empty(name) => {
                    self.started = true;
                    let context = self.context();
                    return Ok(Some((Node::Leaf { name, value: String::new(), context }, line)));
                }
                Tok::Close(name) => {
                    if let Some(i) = self.stack.iter().rposition(|(n, _)| *n == name) {
                        // Closes the element and whatever was left open inside it.
                        for (n, _) in self.stack.drain(i..).rev() {
                            self.pending.push_back((Node::Close(n), line));
                        }
                    }
                }
                Tok::Open(name) => {
                    self.started = true;
                    if !KNOWN_AGGREGATES.contains(&name.as_str()) {
                        match self.token()? {
                            Some((Tok::Text(value), _)) => {
                                // A leaf; its end tag (XML) is optional.
                                match self.token()? {
                                    Some((Tok::Close(end), _)) if end == name => {}
                                    other => self.back = other,
                                }
                                let context = self.context();
                                return Ok(Some((Node::Leaf { name, value, context }, line)));
                            }
                            // `<NAME></NAME>`: an empty leaf, the same as
                            // one left out.
                            Some((Tok::Close(end), _)) if end == name => {
                                let context = self.context();
                                return Ok(Some((Node::Leaf { name, value: String::new(), context }, line)));
                            }
                            other => self.back = other,
                        }
                    }
                    self.push(name.clone(), line)?;
                    return Ok(Some((Node::Open(name), line)));
                }
            }
        }
    }
}
