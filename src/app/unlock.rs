//! The passphrase prompt of an encrypted store: what has been typed (never
//! shown, only counted) and what the last attempt said.

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

/// Longest passphrase taken, in characters.
pub const MAX_PASSPHRASE: usize = 1024;

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Unlock {
    typed: String,
    /// Why the last attempt failed.
    pub error: Option<String>,
    pub attempts: u32,
}

/// What a key press asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UnlockStep {
    Continue,
    /// Try this passphrase.
    Submit(String),
    Quit,
}

impl Unlock {
    /// How many characters are typed (the screen shows that many dots).
    pub fn typed_chars(&self) -> usize {
        self.typed.chars().count()
    }

    pub fn key(&mut self, key: KeyEvent) -> UnlockStep {
        if key.kind == KeyEventKind::Release {
            return UnlockStep::Continue;
        }
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        match key.code {
            KeyCode::Esc => UnlockStep::Quit,
            KeyCode::Char('c' | 'd') if ctrl => UnlockStep::Quit,
            KeyCode::Char('u') if ctrl => {
                self.typed.clear();
                UnlockStep::Continue
            }
            KeyCode::Enter if self.typed.is_empty() => {
                self.error = Some("Type the passphrase first.".into());
                UnlockStep::Continue
            }
            KeyCode::Enter => {
                self.attempts += 1;
                UnlockStep::Submit(std::mem::take(&mut self.typed))
            }
            KeyCode::Backspace => {
                self.typed.pop();
                UnlockStep::Continue
            }
            KeyCode::Char(c) if !ctrl && !c.is_control() && self.typed_chars() < MAX_PASSPHRASE => {
                self.typed.push(c);
                UnlockStep::Continue
            }
            _ => UnlockStep::Continue,
        }
    }

    /// The attempt failed: say why and start over.
    pub fn failed(&mut self, why: impl Into<String>) {
        self.typed.clear();
        self.error = Some(why.into());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn press(u: &mut Unlock, code: KeyCode) -> UnlockStep {
        u.key(KeyEvent::new(code, KeyModifiers::NONE))
    }

    #[test]
    fn typing_editing_and_submitting() {
        let mut u = Unlock::default();
        assert_eq!(press(&mut u, KeyCode::Enter), UnlockStep::Continue);
        assert!(u.error.is_some());
        for c in "hunter22".chars() {
            press(&mut u, KeyCode::Char(c));
        }
        press(&mut u, KeyCode::Backspace);
        assert_eq!(u.typed_chars(), 7);
        assert_eq!(press(&mut u, KeyCode::Enter), UnlockStep::Submit("hunter2".into()));
        assert_eq!(u.typed_chars(), 0);
        u.failed("Wrong passphrase");
        assert_eq!(u.attempts, 1);
        press(&mut u, KeyCode::Char('x'));
        assert_eq!(u.key(KeyEvent::new(KeyCode::Char('u'), KeyModifiers::CONTROL)), UnlockStep::Continue);
        assert_eq!(u.typed_chars(), 0);
        assert_eq!(u.key(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL)), UnlockStep::Quit);
        assert_eq!(press(&mut u, KeyCode::Esc), UnlockStep::Quit);
    }
}
