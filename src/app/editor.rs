//! The line being typed (a message to the bank, a search): tui-input's
//! buffer and cursor, with finbox's limit and the keys people who live in
//! terminals expect (readline's: Ctrl-A/E, Ctrl-U/K/W, Ctrl-Y, Alt-B/F).

use tui_input::{Input as Buffer, InputRequest};

/// The most a message or a search holds.
pub const INPUT_MAX_CHARS: usize = 500;

/// One editing key's meaning.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Edit {
    Left,
    Right,
    WordLeft,
    WordRight,
    Home,
    End,
    Backspace,
    Delete,
    /// Ctrl-U: everything before the cursor.
    KillToStart,
    /// Ctrl-K: everything after the cursor.
    KillToEnd,
    /// Ctrl-W: the word before the cursor.
    KillWord,
    /// Ctrl-Y: put back what was killed last.
    Yank,
    /// ↑ / ↓: an older or newer message sent to this bank.
    Older,
    Newer,
}

/// A line being edited: its text and cursor, and, while the user walks
/// the history of sent messages, where in it they are and the draft they
/// left.
#[derive(Debug, Clone, Default)]
pub struct Editor {
    buf: Buffer,
    /// (how many messages back, the draft typed before walking back).
    recall: Option<(usize, String)>,
}

impl PartialEq for Editor {
    fn eq(&self, other: &Self) -> bool {
        self.value() == other.value() && self.cursor() == other.cursor()
    }
}

impl Eq for Editor {}

impl From<&str> for Editor {
    fn from(text: &str) -> Self {
        Editor::new(text)
    }
}

impl From<String> for Editor {
    fn from(text: String) -> Self {
        Editor::new(&text)
    }
}

impl Editor {
    /// `text` (cleaned, cut to the limit) with the cursor at its end.
    pub fn new(text: &str) -> Editor {
        let mut e = Editor::default();
        e.insert_str(text);
        e
    }

    pub fn value(&self) -> &str {
        self.buf.value()
    }

    /// Characters before the cursor.
    pub fn cursor(&self) -> usize {
        self.buf.cursor()
    }

    fn room(&self) -> usize {
        INPUT_MAX_CHARS.saturating_sub(self.value().chars().count())
    }

    /// Types `c` at the cursor; a control character or a full line takes
    /// nothing. Whether it was taken.
    pub fn insert(&mut self, c: char) -> bool {
        if c.is_control() || self.room() == 0 {
            return false;
        }
        self.recall = None;
        self.buf.handle(InputRequest::InsertChar(c));
        true
    }

    /// Pasted text at the cursor, as text: line breaks and tabs become
    /// spaces, other control characters go, and what does not fit is left
    /// out. Returns (characters taken, characters offered) after cleaning.
    pub fn insert_str(&mut self, text: &str) -> (usize, usize) {
        let clean = text.chars().map(|c| if matches!(c, '\n' | '\r' | '\t') { ' ' } else { c });
        let (mut taken, mut offered) = (0, 0);
        for c in clean.filter(|c| !c.is_control()) {
            offered += 1;
            if self.insert(c) {
                taken += 1;
            }
        }
        (taken, offered)
    }

    /// A cursor movement or a deletion. The history keys go through
    /// [`Editor::recall`].
    pub fn edit(&mut self, e: Edit) {
        let req = match e {
            Edit::Left => InputRequest::GoToPrevChar,
            Edit::Right => InputRequest::GoToNextChar,
            Edit::WordLeft => InputRequest::GoToPrevWord,
            Edit::WordRight => InputRequest::GoToNextWord,
            Edit::Home => InputRequest::GoToStart,
            Edit::End => InputRequest::GoToEnd,
            Edit::Backspace => InputRequest::DeletePrevChar,
            Edit::Delete => InputRequest::DeleteNextChar,
            Edit::KillToStart => InputRequest::DeleteFromStart,
            Edit::KillToEnd => InputRequest::DeleteTillEnd,
            Edit::KillWord => InputRequest::DeletePrevWord,
            Edit::Yank => {
                // A yank may not overflow the limit: try it on a copy.
                let mut copy = self.buf.clone();
                copy.handle(InputRequest::Yank);
                if copy.value().chars().count() <= INPUT_MAX_CHARS {
                    self.buf = copy;
                }
                return;
            }
            Edit::Older | Edit::Newer => return,
        };
        if !matches!(e, Edit::Left | Edit::Right | Edit::WordLeft | Edit::WordRight | Edit::Home | Edit::End) {
            self.recall = None;
        }
        self.buf.handle(req);
    }

    /// ↑ (`older`) or ↓ through `sent` (oldest first): the line becomes the
    /// message that many back; past the newest, the draft comes back.
    pub fn recall(&mut self, sent: &[String], older: bool) {
        let back = self.recall.as_ref().map_or(0, |(n, _)| *n);
        let to = if older { (back + 1).min(sent.len()) } else { back.saturating_sub(1) };
        if to == back {
            return;
        }
        let draft = match self.recall.take() {
            Some((_, draft)) => draft,
            None => self.value().to_string(),
        };
        let text = if to == 0 { draft.clone() } else { sent[sent.len() - to].clone() };
        self.buf = Buffer::default();
        self.insert_str(&text);
        self.recall = (to > 0).then_some((to, draft));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_move_and_cut_like_readline() {
        let mut e = Editor::new("pay the rent now");
        e.edit(Edit::KillWord);
        assert_eq!(e.value(), "pay the rent ");
        e.edit(Edit::Home);
        assert!(e.insert('>'));
        assert_eq!((e.value(), e.cursor()), (">pay the rent ", 1));
        e.edit(Edit::WordRight);
        e.edit(Edit::KillToEnd);
        assert_eq!(e.value(), ">pay ");
        e.edit(Edit::End);
        e.edit(Edit::Left);
        e.edit(Edit::KillToStart);
        assert_eq!((e.value(), e.cursor()), (" ", 0));
        e.edit(Edit::Yank);
        assert_eq!((e.value(), e.cursor()), (">pay ", 4));
        e.edit(Edit::Delete);
        assert_eq!(e.value(), ">pay");
    }

    #[test]
    fn the_limit_holds_for_typing_pasting_and_yanking() {
        let mut e = Editor::new(&"x".repeat(INPUT_MAX_CHARS - 2));
        assert_eq!(e.insert_str("a\nb\u{1b}[31mc"), (2, 8));
        assert_eq!(e.value().chars().count(), INPUT_MAX_CHARS);
        assert!(!e.insert('z'));
        e.edit(Edit::Home);
        e.edit(Edit::KillToEnd);
        assert_eq!(e.value(), "");
        e.edit(Edit::Yank);
        assert_eq!(e.value().chars().count(), INPUT_MAX_CHARS);
        e.edit(Edit::Backspace);
        e.edit(Edit::Yank);
        assert_eq!(e.value().chars().count(), INPUT_MAX_CHARS - 1, "a yank that would overflow is refused");
    }

    #[test]
    fn history_walks_back_and_returns_to_the_draft() {
        let sent = vec!["balance".to_string(), "spending".to_string()];
        let mut e = Editor::new("dra");
        e.recall(&sent, true);
        assert_eq!(e.value(), "spending");
        e.recall(&sent, true);
        e.recall(&sent, true);
        assert_eq!(e.value(), "balance");
        e.recall(&sent, false);
        assert_eq!(e.value(), "spending");
        e.recall(&sent, false);
        assert_eq!((e.value(), e.cursor()), ("dra", 3));
        e.recall(&[], true);
        assert_eq!(e.value(), "dra");
    }
}
