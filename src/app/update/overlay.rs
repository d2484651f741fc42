//! Keys and clicks while a dialog is open: lists (help, refused records),
//! the sharing dialog, confirmations and the first-run onboarding.

use super::*;

/// Keys while a dialog is open. `None` lets the action through (Quit from
/// Help, results from the store).
pub(super) fn update_overlay(s: &mut AppState, action: &Action) -> Option<Vec<Effect>> {
    let overlay = s.overlay.clone()?;
    if matches!(
        action,
        Action::Loaded(_)
            | Action::Replied { .. }
            | Action::Done(_)
            | Action::Progress(_)
            | Action::Failed(_)
            | Action::Feeds(_)
            | Action::Tick(_)
            | Action::Viewport(_)
    ) {
        return None;
    }
    match overlay {
        Overlay::Help | Overlay::Refused { .. } => list_dialog(s, overlay, action),
        Overlay::Consent { bank, cursor, scopes } => sharing_dialog(s, bank, cursor, scopes, action),
        Overlay::ConfirmNarrow { bank, scopes } => narrow(s, bank, scopes, action),
        Overlay::ConfirmPurge { .. } | Overlay::ConfirmNotMe { .. } | Overlay::ConfirmGrant { .. } => {
            confirmation(s, overlay, action)
        }
        Overlay::Onboarding { cursor, picked } => onboarding(s, cursor, picked, action),
        Overlay::AlertDetail { alert } => alert_detail(s, alert, action),
        Overlay::TxnDetail { .. } => match action {
            Action::Quit => None,
            Action::Cancel | Action::Submit => {
                s.overlay = None;
                s.receipt = None;
                Some(vec![])
            }
            _ => Some(vec![]),
        },
    }
}

/// Help and the refused records: they scroll (the list), close, and let
/// Quit through.
fn list_dialog(s: &mut AppState, overlay: Overlay, action: &Action) -> Option<Vec<Effect>> {
    match (overlay, action) {
        (_, Action::Quit) => return None,
        (Overlay::Help, Action::Help | Action::Cancel)
        | (Overlay::Refused { .. }, Action::Refused | Action::Cancel) => s.overlay = None,
        (Overlay::Refused { scroll }, Action::Down) => {
            s.overlay = Some(Overlay::Refused { scroll: (scroll + 1).min(s.refused.len().saturating_sub(1)) })
        }
        (Overlay::Refused { scroll }, Action::Up) => {
            s.overlay = Some(Overlay::Refused { scroll: scroll.saturating_sub(1) })
        }
        _ => {}
    }
    Some(vec![])
}

/// The sharing dialog of a shared bank: renew, revoke, or revoke and purge
/// (which asks again). Quit (Ctrl-C) goes through.
fn sharing_dialog(
    s: &mut AppState,
    bank: BankId,
    cursor: usize,
    scopes: Scopes,
    action: &Action,
) -> Option<Vec<Effect>> {
    let n = Scope::ALL.len();
    Some(match action {
        Action::Quit => return None,
        Action::Up | Action::Down => {
            let cursor = if *action == Action::Up { cursor.saturating_sub(1) } else { (cursor + 1).min(n - 1) };
            s.overlay = Some(Overlay::Consent { bank, cursor, scopes });
            vec![]
        }
        Action::Toggle => {
            let scope = Scope::ALL[cursor.min(n - 1)];
            let scopes = scopes.with(scope, !scopes.contains(scope));
            s.overlay = Some(Overlay::Consent { bank, cursor, scopes });
            vec![]
        }
        // Enter applies the scopes; taking any away asks about what they stored.
        Action::Submit => {
            let before = s.banks.iter().find(|b| b.bank.id == bank).map_or(Scopes::default(), |b| b.bank.scopes);
            if scopes == before {
                s.overlay = None;
                return Some(vec![]);
            }
            if before.removed_in(scopes).is_empty() {
                s.overlay = None;
                flash(s, format!("{bank} now shares {scopes}."), false);
                return Some(vec![Effect::SetScopes { bank, scopes, delete: false }]);
            }
            s.overlay = Some(Overlay::ConfirmNarrow { bank, scopes });
            vec![]
        }
        Action::Cancel => {
            s.overlay = None;
            vec![]
        }
        Action::Renew => {
            s.overlay = None;
            flash(s, format!("Renewing {bank}…"), false);
            vec![Effect::Renew(bank)]
        }
        Action::Revoke => {
            s.overlay = None;
            flash(s, format!("Revoking {bank}…"), false);
            vec![Effect::Revoke { bank, purge: false }]
        }
        Action::Purge => {
            s.overlay = Some(Overlay::ConfirmPurge { bank });
            vec![]
        }
        _ => vec![],
    })
}

/// Scopes taken away: `y` deletes what they stored, `n` keeps it; either
/// way the new scopes apply. Esc changes nothing.
fn narrow(s: &mut AppState, bank: BankId, scopes: Scopes, action: &Action) -> Option<Vec<Effect>> {
    let delete = match action {
        Action::Confirm => true,
        Action::Keep => false,
        Action::Cancel => {
            s.overlay = None;
            flash(s, "Nothing changed.".into(), false);
            return Some(vec![]);
        }
        Action::Quit => return None,
        _ => return Some(vec![]),
    };
    s.overlay = None;
    let said = if delete { "and deleting what the others stored" } else { "keeping what the others stored" };
    flash(s, format!("{bank} now shares {scopes}, {said}…"), false);
    Some(vec![Effect::SetScopes { bank, scopes, delete }])
}

/// A yes/no question: purge, mark as fraud, share.
fn confirmation(s: &mut AppState, overlay: Overlay, action: &Action) -> Option<Vec<Effect>> {
    let confirmed = match (&overlay, action) {
        // `y` confirms; in the alert queue `y` arrives as ItWasMe.
        (Overlay::ConfirmNotMe { .. }, Action::Confirm | Action::ItWasMe) | (_, Action::Confirm) => true,
        (_, Action::Cancel | Action::NotMe) => false,
        (_, Action::Quit) => return None,
        _ => return Some(vec![]),
    };
    s.overlay = None;
    if !confirmed {
        flash(s, "Cancelled.".into(), false);
        return Some(vec![]);
    }
    Some(match overlay {
        Overlay::ConfirmPurge { bank } => {
            flash(s, format!("Revoking {bank} and deleting what it shared…"), false);
            vec![Effect::Revoke { bank, purge: true }]
        }
        Overlay::ConfirmNotMe { alert } => super::alerts::answer_alert(s, alert, Verdict::NotMe),
        Overlay::ConfirmGrant { bank, renew } => {
            let name = s.banks.iter().find(|b| b.bank.id == bank).map_or(bank.to_string(), |b| b.bank.name.clone());
            if renew {
                flash(s, format!("Sharing {name} again…"), false);
                vec![Effect::Renew(bank)]
            } else {
                flash(s, format!("Sharing {name}…"), false);
                vec![Effect::Grant(vec![bank])]
            }
        }
        _ => vec![],
    })
}

/// First run: tick banks, share the ticked ones (or all, or none).
fn onboarding(s: &mut AppState, cursor: usize, mut picked: Vec<bool>, action: &Action) -> Option<Vec<Effect>> {
    let n = picked.len();
    let nothing_shared = |s: &mut AppState| {
        let key = s.keymap.label(crate::app::keymap::Context::Global, "consent");
        flash(s, format!("Nothing shared. Press {key} on a bank to share it later."), false);
    };
    match action {
        Action::Up => s.overlay = Some(Overlay::Onboarding { cursor: cursor.saturating_sub(1), picked }),
        Action::Down => s.overlay = Some(Overlay::Onboarding { cursor: (cursor + 1).min(n.saturating_sub(1)), picked }),
        Action::Toggle => {
            if let Some(p) = picked.get_mut(cursor) {
                *p = !*p;
            }
            s.overlay = Some(Overlay::Onboarding { cursor, picked });
        }
        Action::GrantAll | Action::FocusAlerts => {
            s.overlay = None;
            return Some(vec![Effect::Grant(s.real_banks().iter().map(|b| b.bank.id.clone()).collect())]);
        }
        Action::Submit => {
            s.overlay = None;
            let chosen: Vec<BankId> =
                s.real_banks().iter().zip(&picked).filter(|(_, p)| **p).map(|(b, _)| b.bank.id.clone()).collect();
            if chosen.is_empty() {
                nothing_shared(s);
                return Some(vec![]);
            }
            return Some(vec![Effect::Grant(chosen)]);
        }
        Action::Cancel => {
            s.overlay = None;
            nothing_shared(s);
        }
        Action::Quit => return None,
        _ => {}
    }
    Some(vec![])
}

/// One alert in full: y / n answer it from here (n asks first), t goes to
/// its thread, Enter or Esc close.
fn alert_detail(s: &mut AppState, alert: AlertId, action: &Action) -> Option<Vec<Effect>> {
    Some(match action {
        Action::Quit => return None,
        Action::Cancel | Action::Submit => {
            s.overlay = None;
            vec![]
        }
        Action::ItWasMe => {
            s.overlay = None;
            super::alerts::answer_alert(s, alert, Verdict::ItWasMe)
        }
        Action::NotMe => {
            s.overlay = Some(Overlay::ConfirmNotMe { alert });
            vec![]
        }
        Action::Thread => {
            s.overlay = None;
            super::alerts::thread(s)
        }
        _ => vec![],
    })
}
