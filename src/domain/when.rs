//! Dates as the user reads them: a UTC instant shown in the user's time zone
//! (a fixed offset from UTC, taken when finbox starts).

use chrono::{DateTime, Datelike, FixedOffset, Utc};

/// The store keeps transactions posted from 1990-01-01T00:00:00Z …
pub const EARLIEST_POSTED: i64 = 631_152_000;

/// … up to two days after now (a bank's clock, or a time zone, ahead).
pub fn posted_in_range(at: DateTime<Utc>, now: DateTime<Utc>) -> bool {
    at.timestamp() >= EARLIEST_POSTED && at <= latest_posted(now)
}

/// The latest posting time the store keeps.
pub fn latest_posted(now: DateTime<Utc>) -> DateTime<Utc> {
    now + chrono::TimeDelta::days(2)
}

/// `newest` (the latest time a store holds) when it is more than a day
/// after `now`: this computer's clock is behind, or was ahead when those
/// were stored. The header and the commands say so.
pub fn clock_behind(now: DateTime<Utc>, newest: Option<DateTime<Utc>>) -> Option<DateTime<Utc>> {
    newest.filter(|&t| t > now + chrono::TimeDelta::days(1))
}

/// The zone `utc_offset_secs` east of UTC (UTC if out of range).
pub fn zone(utc_offset_secs: i32) -> FixedOffset {
    FixedOffset::east_opt(utc_offset_secs).unwrap_or(FixedOffset::east_opt(0).expect("UTC is a valid offset"))
}

/// "Feb 27, 2027".
pub fn long_date(t: DateTime<Utc>, zone: FixedOffset) -> String {
    t.with_timezone(&zone).format("%b %-d, %Y").to_string()
}

/// "Nov 3".
pub fn short_date(t: DateTime<Utc>, zone: FixedOffset) -> String {
    t.with_timezone(&zone).format("%b %-d").to_string()
}

/// "Oct 1 – Oct 31, 2026", "Dec 1, 2025 – Jan 1, 2026", or one day
/// "Nov 3, 2026".
pub fn span(first: DateTime<Utc>, last: DateTime<Utc>, zone: FixedOffset) -> String {
    let (a, b) = (first.with_timezone(&zone).date_naive(), last.with_timezone(&zone).date_naive());
    if a == b {
        b.format("%b %-d, %Y").to_string()
    } else if a.year() == b.year() {
        format!("{} – {}", a.format("%b %-d"), b.format("%b %-d, %Y"))
    } else {
        format!("{} – {}", a.format("%b %-d, %Y"), b.format("%b %-d, %Y"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn spans_name_the_year_once_unless_it_changes() {
        let at = |y, m, d, h| Utc.with_ymd_and_hms(y, m, d, h, 0, 0).unwrap();
        let utc = zone(0);
        assert_eq!(span(at(2026, 10, 1, 12), at(2026, 10, 31, 12), utc), "Oct 1 – Oct 31, 2026");
        assert_eq!(span(at(2025, 12, 1, 12), at(2026, 1, 1, 12), utc), "Dec 1, 2025 – Jan 1, 2026");
        assert_eq!(span(at(2026, 11, 3, 1), at(2026, 11, 3, 23), utc), "Nov 3, 2026");
        // 02:00 UTC on Nov 1 is Oct 31 eight hours west.
        assert_eq!(long_date(at(2026, 11, 1, 2), zone(-8 * 3600)), "Oct 31, 2026");
        assert_eq!(zone(100 * 3600), utc);
    }
}
