//! Dialogs drawn over the screen: help, consent, the two confirmations and
//! the first-run onboarding.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Padding, Paragraph};

use super::alerts::{severity_label, severity_style};
use super::text::{clean, fit, local, pad, width, wrap_text};
use super::{RenderOpts, Theme};
use crate::app::keymap::Context;
use crate::app::{AppState, Overlay};
use crate::domain::{AlertId, BankId, FraudAlert, Scope, Scopes};

mod alert;
mod help;
mod txn;

/// Largest dialog, in columns and rows.
const MAX_WIDTH: u16 = 72;
const MAX_HEIGHT: u16 = 22;
/// The help's widest.
const HELP_WIDTH: u16 = 104;
/// What a bank delivers once shared.
const SHARES: &str = "accounts, balances, card transactions, fraud alerts, messages";

pub(crate) fn render_overlay(
    frame: &mut Frame,
    area: Rect,
    state: &AppState,
    theme: &Theme,
    opts: &RenderOpts,
    overlay: &Overlay,
) {
    // Border and one column of padding on each side. The help may use
    // more of the screen than a dialog.
    let (max_w, max_h) = if *overlay == Overlay::Help { (HELP_WIDTH, area.height) } else { (MAX_WIDTH, MAX_HEIGHT) };
    let cols = usize::from(area.width.min(max_w).saturating_sub(4));
    let rows = usize::from(area.height.min(max_h).saturating_sub(2));
    let bold = Style::new().add_modifier(Modifier::BOLD);
    let (title, lines, border) = match overlay {
        Overlay::Help => {
            ("Keys — Esc or ? closes".to_string(), help::help_lines(state, theme, cols, rows), theme.border_focused)
        }
        Overlay::AlertDetail { alert } => alert::detail(state, theme, opts, *alert, cols),
        Overlay::TxnDetail { txn } => txn::detail(state, theme, opts, *txn, cols),
        Overlay::Consent { bank, cursor, scopes } => sharing_lines(state, theme, opts, (bank, *cursor, *scopes), cols),
        Overlay::ConfirmNarrow { bank, scopes } => narrow_lines(state, theme, bank, *scopes, cols),
        Overlay::ConfirmPurge { bank } => purge_lines(state, theme, bank, cols),
        Overlay::ConfirmGrant { bank, renew } => grant_lines(state, theme, bank, *renew, cols),
        Overlay::ConfirmNotMe { alert } => {
            ("Mark as fraud?".to_string(), not_me_lines(state, theme, opts, *alert, cols), theme.border_focused)
        }
        Overlay::Refused { scroll } => (
            format!("Refused records ({})", crate::domain::money::group_thousands(state.quarantined.unsigned_abs())),
            refused_lines(state, theme, opts, *scroll, cols, rows),
            theme.warning,
        ),
        Overlay::Onboarding { cursor, picked } => (
            "Welcome to finbox".to_string(),
            onboarding_lines(state, theme, *cursor, picked, cols, rows),
            theme.border_focused,
        ),
    };
    let height = (lines.len() + 2).min(usize::from(area.height.min(max_h))) as u16;
    let width = (cols + 4) as u16;
    let rect = Rect::new(
        area.x + (area.width - width.min(area.width)) / 2,
        area.y + (area.height - height.min(area.height)) / 2,
        width.min(area.width),
        height.min(area.height),
    );
    let block = Block::bordered()
        .border_style(border)
        .title(Line::styled(format!(" {} ", fit(&title, cols)), bold))
        .padding(Padding::horizontal(1));
    frame.render_widget(Clear, rect);
    frame.render_widget(Paragraph::new(lines).block(block), rect);
}

/// A dialog: its title, its lines and the colour of its border.
type Dialog = (String, Vec<Line<'static>>, Style);

/// The sharing dialog of a shared bank.
fn sharing_lines(
    state: &AppState,
    theme: &Theme,
    opts: &RenderOpts,
    (bank, cursor, scopes): (&BankId, usize, Scopes),
    cols: usize,
) -> Dialog {
    let name = bank_name(state, bank);
    let mut lines = Vec::new();
    let current = state.banks.iter().find(|b| &b.bank.id == bank).map(|b| &b.bank);
    if let Some(until) = current.and_then(|b| b.consent_expires_at) {
        let date = local(until, opts.utc_offset_secs).format("%b %-d, %Y");
        lines.extend(paragraph(&format!("Shared until {date}. What it shares:"), cols, theme.muted));
    }
    // The scopes, each on or off: Space toggles, Enter applies.
    for (i, scope) in Scope::ALL.iter().enumerate() {
        let mark = if scopes.contains(*scope) { "[x] " } else { "[ ] " };
        let changed = current.is_some_and(|b| b.scopes.contains(*scope) != scopes.contains(*scope));
        let text = format!("{mark}{:<13}{}{}", scope.name(), scope.about(), if changed { " *" } else { "" });
        let style = if i == cursor { theme.selected } else { Style::new() };
        let lead = if i == cursor { "▸ " } else { "  " };
        lines.push(
            Line::from(vec![Span::styled(lead, theme.key), Span::raw(fit(&text, cols.saturating_sub(2)))]).style(style),
        );
    }
    lines.push(Line::default());
    lines.extend(key_lines(
        &state.keymap.label(Context::Sharing, "revoke"),
        5,
        &format!("revoke: {name} delivers nothing more; what it shared stays"),
        cols,
        theme,
    ));
    lines.extend(key_lines(
        &state.keymap.label(Context::Sharing, "purge"),
        5,
        &format!("revoke and delete everything {name} shared"),
        cols,
        theme,
    ));
    lines.extend(key_lines(
        &state.keymap.label(Context::Sharing, "renew"),
        5,
        "renew instead: keep sharing, the days counted again from today",
        cols,
        theme,
    ));
    lines.extend(key_lines("Esc", 5, "cancel", cols, theme));
    if let Some(b) = current {
        lines.push(Line::default());
        lines.extend(paragraph(&receipt_line(b, opts), cols, theme.muted));
    }
    (format!("Sharing {name}: what, and for how long"), lines, theme.border_focused)
}

/// The grant's receipt in a sentence (all of it: `finbox consent show`).
fn receipt_line(b: &crate::domain::Bank, opts: &RenderOpts) -> String {
    let date = |t| local(t, opts.utc_offset_secs).format("%b %-d, %Y").to_string();
    let path = if b.feed_kind == crate::domain::SIMPLEFIN_FEED {
        format!("{} → SimpleFIN Bridge → finbox on this machine", clean(&b.name))
    } else {
        format!("{} → finbox on this machine, nothing leaves it", clean(&b.name))
    };
    let term = match (b.consent_changed_at, b.consent_expires_at) {
        (Some(c), Some(e)) => format!("; granted {}, until {} ({} days)", date(c), date(e), (e - c).num_days()),
        _ => String::new(),
    };
    format!(
        "Receipt {}-{}: {path}, to show it to you here{term}. In full: finbox consent show {}.",
        b.id, b.epoch, b.id
    )
}

/// "Delete what X stored under messages?" y delete, k keep, Esc nothing.
fn narrow_lines(state: &AppState, theme: &Theme, bank: &BankId, scopes: Scopes, cols: usize) -> Dialog {
    let name = bank_name(state, bank);
    let before = state.banks.iter().find(|b| &b.bank.id == bank).map_or(Scopes::default(), |b| b.bank.scopes);
    let removed = Scopes::of(&before.removed_in(scopes));
    let mut lines = paragraph(
        &format!(
            "{name} will share {scopes}, and no longer {removed}. What it stored under {removed} can be deleted \
             now (it leaves no copy in the file), or kept."
        ),
        cols,
        Style::new(),
    );
    lines.push(Line::default());
    let key = |a: &str| state.keymap.label(Context::Narrow, a);
    lines.extend(keys(
        &[(key("confirm"), "delete it"), (key("keep"), "keep it"), ("Esc".into(), "change nothing")],
        cols,
        theme,
    ));
    (format!("Delete what {name} stored under {removed}?"), lines, theme.alert)
}

/// "Delete everything X shared?"
fn purge_lines(state: &AppState, theme: &Theme, bank: &BankId, cols: usize) -> Dialog {
    let name = bank_name(state, bank);
    let mut lines = paragraph(
        &format!(
            "Transactions, balances, messages and alerts from {name} are deleted from this computer. \
             The consent log keeps a record."
        ),
        cols,
        Style::new(),
    );
    lines.push(Line::default());
    lines.extend(keys(&confirm_keys(state, "delete"), cols, theme));
    (format!("Delete everything {name} shared?"), lines, theme.alert)
}

/// "Share X with finbox?", saying what it sends.
fn grant_lines(state: &AppState, theme: &Theme, bank: &BankId, renew: bool, cols: usize) -> Dialog {
    let key = state.keymap.label(Context::Global, "consent");
    let name = bank_name(state, bank);
    let mut lines = paragraph(
        &format!(
            "{name} will send finbox your {SHARES}. It all stays in one file on this computer; you can revoke \
             at any time with {key}, and purge what it sent."
        ),
        cols,
        Style::new(),
    );
    lines.push(Line::default());
    lines.extend(keys(&confirm_keys(state, "share"), cols, theme));
    let title = if renew { format!("Share {name} again?") } else { format!("Share {name} with finbox?") };
    (title, lines, theme.border_focused)
}

/// What the banks sent that the store refused, newest first, each with its
/// reason; `scroll` skips the newest few.
fn refused_lines(
    state: &AppState,
    theme: &Theme,
    opts: &RenderOpts,
    scroll: usize,
    cols: usize,
    rows: usize,
) -> Vec<Line<'static>> {
    if state.refused.is_empty() {
        let text = match state.quarantined {
            0 => "Nothing refused: every record the banks delivered was stored.",
            _ => "Loading…",
        };
        return paragraph(text, cols, theme.muted);
    }
    let mut lines =
        paragraph("Kept aside, never counted in a balance. `finbox quarantine` lists them all.", cols, theme.muted);
    lines.push(Line::default());
    for q in state.refused.iter().skip(scroll) {
        if lines.len() + 2 > rows {
            break;
        }
        let when = local(q.at, opts.utc_offset_secs).format("%b %-d %H:%M").to_string();
        let head = format!("{when}  {}  {}", bank_name(state, &q.bank), clean(&q.record));
        lines.push(Line::styled(fit(&head, cols), Style::new().add_modifier(Modifier::BOLD)));
        for l in wrap_text(&clean(&q.reason), cols.saturating_sub(2), cols.saturating_sub(2)) {
            lines.push(Line::from(vec![Span::raw("  "), Span::styled(l, theme.warning)]));
        }
    }
    lines
}

pub(super) fn bank_name(state: &AppState, id: &BankId) -> String {
    clean(state.banks.iter().find(|b| &b.bank.id == id).map_or(id.as_str(), |b| &b.bank.name))
}

pub(super) fn paragraph(text: &str, cols: usize, style: Style) -> Vec<Line<'static>> {
    wrap_text(text, cols, cols).into_iter().map(|l| Line::styled(l, style)).collect()
}

/// A key in a column of `key_cols`, then what it does, wrapped under itself.
fn key_lines(key: &str, key_cols: usize, desc: &str, cols: usize, theme: &Theme) -> Vec<Line<'static>> {
    let rest = cols.saturating_sub(key_cols).max(8);
    wrap_text(desc, rest, rest)
        .into_iter()
        .enumerate()
        .map(|(i, chunk)| {
            let key = if i == 0 { key } else { "" };
            Line::from(vec![Span::styled(pad(key, key_cols), theme.key), Span::raw(chunk)])
        })
        .collect()
}

/// "y delete   n/Esc cancel", on as many lines as `cols` needs.
pub(super) fn keys<K: AsRef<str>>(pairs: &[(K, &str)], cols: usize, theme: &Theme) -> Vec<Line<'static>> {
    let mut lines = Vec::new();
    let mut spans: Vec<Span<'static>> = Vec::new();
    let mut used = 0;
    for (key, desc) in pairs {
        let key = key.as_ref();
        let w = width(key) + 1 + width(desc);
        if used > 0 && used + 3 + w > cols {
            lines.push(Line::from(std::mem::take(&mut spans)));
            used = 0;
        }
        if used > 0 {
            spans.push(Span::raw("   "));
            used += 3;
        }
        spans.push(Span::styled(key.to_string(), theme.key));
        spans.push(Span::raw(format!(" {desc}")));
        used += w;
    }
    lines.push(Line::from(spans));
    lines
}

fn not_me_lines(state: &AppState, theme: &Theme, opts: &RenderOpts, id: AlertId, cols: usize) -> Vec<Line<'static>> {
    let Some(a) = state.alerts.items.iter().find(|a| a.id == id) else {
        let mut lines = paragraph("This alert is no longer open.", cols, theme.muted);
        lines.push(Line::default());
        lines.extend(keys(&[("Esc", "close")], cols, theme));
        return lines;
    };
    let bank = bank_name(state, &a.bank);
    let card = a.card_mask.as_deref().map(clean);
    let when = local(a.posted_at, opts.utc_offset_secs).format("%b %d %H:%M");
    let mut lines = vec![
        Line::from(vec![
            Span::styled(
                fit(&clean(&super::mask::name(state, &a.merchant)), cols.saturating_sub(16)),
                Style::new().add_modifier(Modifier::BOLD),
            ),
            Span::raw("  "),
            Span::styled(a.amount.to_string(), theme.money(a.amount.minor)),
        ]),
        Line::from(vec![
            Span::styled(severity_label(a.severity), severity_style(a.severity, theme)),
            Span::styled(format!("  {bank}  {}  {when}", card.as_deref().unwrap_or("no card on file")), theme.muted),
        ]),
    ];
    lines.extend(paragraph(&a.reason, cols, theme.muted));
    lines.push(Line::default());
    lines.extend(paragraph(&not_me_does(state, a), cols, Style::new()));
    lines.push(Line::default());
    lines.extend(keys(&confirm_keys(state, "confirm"), cols, theme));
    lines
}

/// What "not me" does for this alert's bank. A simulated bank is the bank
/// here: it locks the card and credits the charge back; for any other,
/// finbox can only say whom to call.
pub(super) fn not_me_does(state: &AppState, a: &FraudAlert) -> String {
    let bank = bank_name(state, &a.bank);
    let card = a.card_mask.as_deref().map(clean);
    let simulated = state.banks.iter().any(|b| b.bank.id == a.bank && b.bank.is_simulated());
    match (&card, simulated) {
        (Some(card), true) => format!(
            "Card {card} is locked (say \"unfreeze card\" to unlock it), and {bank} opens a dispute and credits \
             the charge back while it investigates."
        ),
        (None, true) => format!("{bank} opens a dispute and credits the charge back while it investigates."),
        (_, false) => format!(
            "finbox marks the charge as fraud. Call {bank} to block the card and dispute the charge: finbox \
             cannot do either for you."
        ),
    }
}

/// "y delete   n/Esc cancel", with the user's keys for a confirmation.
fn confirm_keys(state: &AppState, what: &'static str) -> [(String, &'static str); 2] {
    let km = &state.keymap;
    [(km.label(Context::Confirm, "confirm"), what), (format!("{}/Esc", km.label(Context::Confirm, "cancel")), "cancel")]
}

fn onboarding_lines(
    state: &AppState,
    theme: &Theme,
    cursor: usize,
    picked: &[bool],
    cols: usize,
    rows: usize,
) -> Vec<Line<'static>> {
    let key = |c: Context, a: &str| state.keymap.label(c, a);
    let (toggle, submit, all) =
        (key(Context::Onboarding, "toggle"), key(Context::Onboarding, "submit"), key(Context::Onboarding, "grant-all"));
    let mut intro = paragraph(
        &format!(
            "Everything finbox receives stays in one file on this computer. Nothing is shared until you tick a \
             bank and press {submit} (or {all}, for all of them), and you can revoke any bank at any time with {}.",
            key(Context::Global, "consent")
        ),
        cols,
        Style::new(),
    );
    intro.push(Line::default());
    let mut footer = vec![Line::default()];
    footer.extend(keys(
        &[(toggle, "toggle"), (submit, "share selected"), (all, "share all"), ("Esc".to_string(), "not now")],
        cols,
        theme,
    ));
    // The description under each bank when it fits, else cut beside the name.
    // Rows start with the cursor column (2) and the checkbox (4).
    const LEAD: usize = 6;
    let shares = wrap_text(SHARES, cols.saturating_sub(LEAD), cols.saturating_sub(LEAD));
    let roomy = intro.len() + (1 + shares.len()) * state.real_banks().len() + footer.len() <= rows;
    let mut lines = intro;
    for (i, b) in state.real_banks().iter().enumerate() {
        let here = i == cursor;
        let mark = if picked.get(i).copied().unwrap_or(false) { "[x] " } else { "[ ] " };
        let name = fit(&clean(&b.bank.name), cols.saturating_sub(LEAD));
        let rest = cols.saturating_sub(LEAD + width(&name));
        let tail = if roomy { pad("", rest) } else { pad(&format!("  {SHARES}"), rest) };
        let spans = vec![
            Span::styled(if here { "▸ " } else { "  " }, theme.key),
            Span::raw(mark),
            Span::styled(name, theme.bank(&b.bank.color)),
            Span::styled(tail, theme.muted),
        ];
        lines.push(Line::from(spans).style(if here { theme.selected } else { Style::new() }));
        if roomy {
            for chunk in &shares {
                lines.push(Line::from(vec![Span::raw(" ".repeat(LEAD)), Span::styled(chunk.clone(), theme.muted)]));
            }
        }
    }
    lines.extend(footer);
    lines
}
