//! The bottom bar: the last action's note, or the keys that work right now.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::Theme;
use super::text::{clean, fit, width};
use crate::app::keymap::{Context, KeyBinding, bindings_for};
use crate::app::{AppState, Input, Overlay};

pub(crate) fn render_footer(frame: &mut Frame, area: Rect, state: &AppState, theme: &Theme) {
    let room = usize::from(area.width).saturating_sub(1);
    let line = match &state.flash {
        Some(flash) => {
            let style = if flash.error { theme.flash_error } else { theme.flash };
            let text = super::mask::names(state, &flash.text);
            Line::from(vec![Span::raw(" "), Span::styled(fit(&clean(&text), room), style)])
        }
        None => keys_line(&footer_keys(state), room, theme),
    };
    frame.render_widget(Paragraph::new(line), area);
}

/// The (key, what it does) pairs for the footer, with the user's keys.
fn footer_keys(state: &AppState) -> Vec<(String, &'static str)> {
    let km = &state.keymap;
    let key = |c: Context, a: &str| km.label(c, a);
    let esc = |what: &'static str| ("Esc".to_string(), what);
    if let Some(overlay) = &state.overlay {
        let cancel = |what: &'static str| (format!("{}/Esc", key(Context::Confirm, "cancel")), what);
        return match overlay {
            Overlay::Help | Overlay::TxnDetail { .. } => vec![esc("close")],
            Overlay::Refused { .. } => {
                vec![
                    (format!("{}/{}", key(Context::Refused, "down"), key(Context::Refused, "up")), "scroll"),
                    esc("close"),
                ]
            }
            Overlay::ConfirmNarrow { .. } => vec![
                (key(Context::Narrow, "confirm"), "delete it"),
                (key(Context::Narrow, "keep"), "keep it"),
                esc("change nothing"),
            ],
            Overlay::Consent { .. } => vec![
                ("Space".into(), "toggle"),
                ("Enter".into(), "apply"),
                (key(Context::Sharing, "revoke"), "revoke"),
                (key(Context::Sharing, "purge"), "revoke and delete"),
                (key(Context::Sharing, "renew"), "renew"),
                esc("cancel"),
            ],
            Overlay::ConfirmPurge { .. } => vec![(key(Context::Confirm, "confirm"), "delete"), cancel("cancel")],
            Overlay::ConfirmNotMe { .. } => vec![(key(Context::Confirm, "confirm"), "confirm"), cancel("cancel")],
            Overlay::ConfirmGrant { .. } => vec![(key(Context::Confirm, "confirm"), "share"), cancel("cancel")],
            Overlay::AlertDetail { .. } => vec![
                (key(Context::AlertDetail, "it-was-me"), "it was me"),
                (key(Context::AlertDetail, "not-me"), "not me"),
                (key(Context::AlertDetail, "thread"), "thread"),
                esc("close"),
            ],
            Overlay::Onboarding { .. } => vec![
                (key(Context::Onboarding, "toggle"), "toggle"),
                (key(Context::Onboarding, "submit"), "share selected"),
                (key(Context::Onboarding, "grant-all"), "share all"),
                esc("not now"),
            ],
        };
    }
    match state.input {
        Input::Compose(_) => vec![("Enter".into(), "send"), esc("cancel"), ("↑/↓".into(), "sent before")],
        Input::Search(_) => vec![
            ("Enter".into(), "done"),
            esc("clear"),
            ("Tab".into(), if state.sidebar.search_all { "this bank only" } else { "all banks" }),
            ("↑/↓".into(), "matches"),
        ],
        Input::Jump(_) => vec![("Enter".into(), "go"), esc("cancel")],
        // Help first (it lists everything), then the pane's own keys, then
        // the keys that work everywhere: a narrow footer still shows what is
        // special about this pane.
        Input::Normal => {
            // finbox's own thread is not a bank's: nothing to write to it,
            // nothing to share (the keys say so if pressed; the footer
            // does not offer them).
            let own_thread = state.bank().is_some_and(|b| b.bank.is_finbox());
            let offered =
                |k: &&KeyBinding| k.footer && !(own_thread && (k.actions == ["compose"] || k.actions == ["consent"]));
            let (own, global): (Vec<&KeyBinding>, Vec<&KeyBinding>) =
                bindings_for(state.focus).filter(offered).partition(|k| !k.panes.is_empty());
            let (help, global): (Vec<&KeyBinding>, Vec<&KeyBinding>) =
                global.into_iter().partition(|k| k.actions == ["help"]);
            // The sharing key asks to renew when the selected bank's consent
            // expired or ends soon; otherwise the short word (the help says
            // it all).
            let sharing = if state.wants_renew() { "renew sharing" } else { "sharing" };
            let desc = |k: &KeyBinding| if k.actions == ["consent"] { sharing } else { k.desc };
            let mut keys: Vec<(String, &'static str)> =
                help.into_iter().chain(own).chain(global).map(|k| (k.label(km), desc(k))).collect();
            if state.alerts.undo.is_some() {
                keys.insert(0, (key(Context::Global, "undo"), "undo the answer"));
            }
            keys
        }
    }
}

/// "q quit  ? help  …": whole entries only, as many as fit in `room` columns.
pub(crate) fn keys_line<K: AsRef<str>>(keys: &[(K, &str)], room: usize, theme: &Theme) -> Line<'static> {
    let mut spans = vec![Span::raw(" ")];
    let mut used = 0;
    for (i, (key, desc)) in keys.iter().enumerate() {
        let key = key.as_ref();
        let gap = if i == 0 { 0 } else { 2 };
        let w = gap + width(key) + 1 + width(desc);
        if used + w > room {
            break;
        }
        used += w;
        if gap > 0 {
            spans.push(Span::raw("  "));
        }
        spans.push(Span::styled(key.to_string(), theme.key));
        spans.push(Span::raw(format!(" {desc}")));
    }
    Line::from(spans)
}
