//! The top bar: name, totals, open alerts, feed status and the clock.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::text::{clean, local, width};
use super::{RenderOpts, Theme};
use crate::app::AppState;
use crate::app::notify::NewAlert;
use crate::domain::event::FeedStatus;
use crate::domain::money::group_thousands;

pub(crate) fn render_header(frame: &mut Frame, area: Rect, state: &AppState, theme: &Theme, opts: &RenderOpts) {
    let clock = local(state.now, opts.utc_offset_secs).format("%H:%M").to_string();
    let bold = Style::new().add_modifier(Modifier::BOLD);

    // In order of importance, each in its long and short forms: what does
    // not fit is shortened, or left out.
    let mut parts: Vec<Part> = vec![(0, vec![vec![Span::styled("finbox", bold)]])];
    let open = state.open_alerts();
    parts.push((
        2,
        vec![vec![if open > 0 {
            let s = if open == 1 { "" } else { "s" };
            let n = group_thousands(open as u64);
            Span::styled(format!("⚠ {n} open alert{s}"), theme.alert.add_modifier(Modifier::BOLD))
        } else {
            Span::raw("no open alerts")
        }]],
    ));
    parts.extend(notices(state, theme));
    if !state.totals.is_empty() {
        let totals: Vec<String> = state.totals.iter().map(ToString::to_string).collect();
        parts.push((1, vec![vec![Span::raw(format!("Total {}", totals.join(" · ")))]]));
    }
    parts.push((3, vec![feed_summary(state, theme, false), feed_summary(state, theme, true)]));
    if let Some(newest) = state.clock_behind() {
        let date = local(newest, opts.utc_offset_secs).format("%b %-d, %Y");
        parts.push((
            3,
            vec![
                vec![Span::styled(format!("⚠ clock behind the store ({date})"), theme.warning)],
                vec![Span::styled("⚠ clock behind".to_string(), theme.warning)],
            ],
        ));
    }
    if state.quarantined > 0 {
        let n = group_thousands(state.quarantined.unsigned_abs());
        parts.push((
            4,
            vec![
                vec![Span::styled(format!("{n} refused (R lists them)"), theme.warning)],
                vec![Span::styled(format!("{n} refused"), theme.warning)],
            ],
        ));
    }

    let room = usize::from(area.width).saturating_sub(width(&clock) + 2);
    let mut used = 0;
    let mut kept: Vec<(usize, &Vec<Span<'static>>)> = Vec::new();
    for (order, forms) in &parts {
        let gap = if kept.is_empty() { 1 } else { 2 };
        let fits = forms.iter().find(|f| used + gap + f.iter().map(|s| width(&s.content)).sum::<usize>() <= room);
        if let Some(form) = fits {
            used += gap + form.iter().map(|s| width(&s.content)).sum::<usize>();
            kept.push((*order, form));
        }
    }
    kept.sort_by_key(|p| p.0);

    let mut spans = vec![Span::raw(" ")];
    for (i, (_, form)) in kept.iter().enumerate() {
        if i > 0 {
            spans.push(Span::raw("  "));
        }
        spans.extend(form.iter().cloned());
    }
    frame.render_widget(Paragraph::new(Line::from(spans)).style(theme.header), area);
    let clock = format!("{clock} ");
    let w = (width(&clock) as u16).min(area.width);
    frame.render_widget(Span::raw(clock), Rect { x: area.right() - w, width: w, ..area });
}

/// A new HIGH alert, whichever pane has focus, in three lengths:
/// "⚠ new HIGH alert: $1,240.00 at Electro-Mart on Chase •4821 (+1 more)",
/// without the bank and card, and "⚠ new HIGH alert".
fn new_alert_forms(n: &NewAlert, theme: &Theme) -> Vec<Vec<Span<'static>>> {
    let style = theme.alert.add_modifier(Modifier::BOLD);
    let more = n.more_text();
    [
        format!("⚠ new HIGH alert: {}{more}", n.summary()),
        format!("⚠ new HIGH alert: {} at {}{more}", n.amount, n.merchant),
        format!("⚠ new HIGH alert{more}"),
    ]
    .into_iter()
    .map(|text| vec![Span::styled(clean(&text), style)])
    .collect()
}

/// A part of the header: its rank (lower is kept first), and its forms,
/// longest first.
type Part = (usize, Vec<Vec<Span<'static>>>);

/// What the header must say when it holds: a new HIGH alert, the privacy
/// mask, a consent log changed behind finbox's back.
fn notices(state: &AppState, theme: &Theme) -> Vec<Part> {
    let mut parts: Vec<Part> = Vec::new();
    if let Some(n) = state.new_alert_notice() {
        parts.push((2, new_alert_forms(n, theme)));
    }
    if state.masked {
        // Said first after the name: a screenshot shows it is masked.
        parts.push((0, vec![vec![Span::styled("▒ masked", theme.warning.add_modifier(Modifier::BOLD))]]));
    }
    // A log changed behind finbox's back matters more than the totals.
    if state.chain_broken.is_some() {
        let long = "⚠ consent log changed (finbox consent verify)";
        parts.push((
            2,
            vec![vec![Span::styled(long, theme.warning)], vec![Span::styled("⚠ log changed", theme.warning)]],
        ));
    }
    parts
}

/// "feeds: 2 live", "feeds off", and which banks are restarting (or, short,
/// how many).
fn feed_summary(state: &AppState, theme: &Theme, short: bool) -> Vec<Span<'static>> {
    if !state.feeds_enabled {
        return vec![Span::raw("feeds off")];
    }
    let count = |f: fn(&FeedStatus) -> bool| state.feeds.values().filter(|s| f(s)).count();
    let live = count(|s| matches!(s, FeedStatus::Running));
    let done = count(|s| matches!(s, FeedStatus::Finished));
    let elsewhere = count(|s| matches!(s, FeedStatus::Elsewhere { .. }));
    let restarting = count(|s| matches!(s, FeedStatus::Restarting { .. }));
    let mut text = format!("feeds: {live} live");
    if done > 0 {
        text.push_str(&format!(", {done} done"));
    }
    if elsewhere > 0 {
        text.push_str(&format!(", {elsewhere} in another finbox"));
    }
    let mut spans = vec![Span::raw(text)];
    if short && restarting > 0 {
        spans.push(Span::raw(", "));
        spans.push(Span::styled(format!("{restarting} restarting"), theme.warning));
        return spans;
    }
    for (id, status) in &state.feeds {
        if let FeedStatus::Restarting { .. } = status {
            let name = state.banks.iter().find(|b| &b.bank.id == id).map_or(id.as_str(), |b| b.bank.name.as_str());
            spans.push(Span::raw(", "));
            spans.push(Span::styled(format!("{} restarting", clean(name)), theme.warning));
        }
    }
    spans
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, TimeZone, Utc};
    use ratatui::Terminal;
    use ratatui::backend::TestBackend;

    use super::*;
    use crate::app::Pane;
    use crate::domain::*;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 20, 15, 0, 0).unwrap()
    }

    /// Two open alerts, feeds on, the banks pane focused, and a new HIGH
    /// alert that arrived a moment ago.
    fn state() -> AppState {
        let mut s = AppState::new(now(), true);
        s.loading = false;
        s.focus = Pane::Banks;
        s.totals = Total::by_currency([Money::new(3_681_357, Currency::USD)]);
        s.feeds.insert(BankId::new("chase").unwrap(), FeedStatus::Running);
        s.alerts.items = vec![alert(1), alert(2)];
        s.notify.new_alert = Some(NewAlert {
            id: AlertId(2),
            amount: Money::new(124_000, Currency::USD),
            merchant: "Electro-Mart".into(),
            place: "Chase •4821".into(),
            reason: "Large charge ($1,240.00) at 3:12 am".into(),
            more: 0,
            at: now() - chrono::Duration::seconds(5),
        });
        s
    }

    fn alert(n: i64) -> FraudAlert {
        FraudAlert {
            id: AlertId(n),
            bank: BankId::new("chase").unwrap(),
            account: AccountId(1),
            account_external_id: "chk".into(),
            txn: TxnId(n),
            reason: "Large charge".into(),
            severity: Severity::High,
            status: AlertStatus::Open,
            created_at: now(),
            decided_at: None,
            merchant: "Electro-Mart".into(),
            amount: Money::new(-124_000, Currency::USD),
            posted_at: now(),
            card_mask: Some("•4821".into()),
            account_label: "Total Checking •1234".into(),
        }
    }

    fn draw(state: &AppState, width: u16) -> Terminal<TestBackend> {
        let mut t = Terminal::new(TestBackend::new(width, 1)).unwrap();
        let opts = RenderOpts { utc_offset_secs: 0 };
        t.draw(|f| render_header(f, f.area(), state, &Theme::default(), &opts)).unwrap();
        t
    }

    fn text(t: &Terminal<TestBackend>) -> String {
        t.backend().buffer().content().iter().map(|c| c.symbol()).collect()
    }

    #[test]
    fn a_new_alert_shows_in_the_header_in_the_alert_style() {
        for width in [80, 120] {
            let t = draw(&state(), width);
            insta::assert_snapshot!(format!("header_new_alert_{width}"), t.backend());
            let row = text(&t);
            let x = row.chars().collect::<Vec<_>>().windows(5).position(|w| w.iter().collect::<String>() == "⚠ new");
            let cell = &t.backend().buffer().content()[x.expect("the notice is shown")];
            assert_eq!(cell.fg, Theme::default().alert.fg.unwrap(), "in the alert colour");
        }
        assert!(text(&draw(&state(), 120)).contains("on Chase •4821"), "the long form at 120 columns");
    }

    #[test]
    fn the_notice_goes_when_the_queue_has_focus_or_after_a_minute() {
        assert!(text(&draw(&state(), 120)).contains("new HIGH"));
        let mut s = state();
        s.focus = Pane::Alerts;
        assert!(!text(&draw(&s, 120)).contains("new HIGH"));
        let mut s = state();
        s.now += chrono::Duration::seconds(60);
        assert!(!text(&draw(&s, 120)).contains("new HIGH"));
    }
}
