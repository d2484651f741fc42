//! The bottom bar: the last action's note, or the keys that work right now.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::Theme;
use super::text::{clean, fit, width};
use crate::app::keymap::{KeyBinding, bindings_for};
use crate::app::{AppState, Input, Overlay};

pub(crate) fn render_footer(frame: &mut Frame, area: Rect, state: &AppState, theme: &Theme) {
    let room = usize::from(area.width).saturating_sub(1);
    let line = match &state.flash {
        Some(flash) => {
            let style = if flash.error { theme.flash_error } else { theme.flash };
            Line::from(vec![Span::raw(" "), Span::styled(fit(&clean(&flash.text), room), style)])
        }
        None => keys_line(&footer_keys(state), room, theme),
    };
    frame.render_widget(Paragraph::new(line), area);
}

/// The (key, what it does) pairs for the footer.
fn footer_keys(state: &AppState) -> Vec<(&'static str, &'static str)> {
    if let Some(overlay) = &state.overlay {
        return match overlay {
            Overlay::Help => vec![("Esc", "close")],
            Overlay::Refused { .. } => vec![("j/k", "scroll"), ("Esc", "close")],
            Overlay::Consent { .. } => {
                vec![("r", "revoke"), ("p", "revoke and delete"), ("n", "renew"), ("Esc", "cancel")]
            }
            Overlay::ConfirmPurge { .. } => vec![("y", "delete"), ("n/Esc", "cancel")],
            Overlay::ConfirmNotMe { .. } => vec![("y", "confirm"), ("n/Esc", "cancel")],
            Overlay::ConfirmGrant { .. } => vec![("y", "share"), ("n/Esc", "cancel")],
            Overlay::Onboarding { .. } => {
                vec![("Space", "toggle"), ("Enter", "share selected"), ("a", "share all"), ("Esc", "not now")]
            }
        };
    }
    match state.input {
        Input::Compose(_) => vec![("Enter", "send"), ("Esc", "cancel")],
        Input::Search(_) => vec![("Enter", "search"), ("Esc", "clear")],
        // Help first (it lists everything), then the pane's own keys, then
        // the keys that work everywhere: a narrow footer still shows what is
        // special about this pane.
        Input::Normal => {
            let (own, global): (Vec<&KeyBinding>, Vec<&KeyBinding>) =
                bindings_for(state.focus).filter(|k| k.footer).partition(|k| !k.panes.is_empty());
            let (help, global): (Vec<&KeyBinding>, Vec<&KeyBinding>) = global.into_iter().partition(|k| k.on == "?");
            // `c` asks to renew when the selected bank's consent expired or
            // ends soon; otherwise the short word (the help says it all).
            let sharing = if state.wants_renew() { "renew sharing" } else { "sharing" };
            let desc = |k: &KeyBinding| if k.on == "c" { sharing } else { k.desc };
            help.into_iter().chain(own).chain(global).map(|k| (k.on, desc(k))).collect()
        }
    }
}

/// "q quit  ? help  …": whole entries only, as many as fit in `room` columns.
pub(crate) fn keys_line(keys: &[(&str, &str)], room: usize, theme: &Theme) -> Line<'static> {
    let mut spans = vec![Span::raw(" ")];
    let mut used = 0;
    for (i, (key, desc)) in keys.iter().enumerate() {
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
