//! Dates as statements write them. A date without a time of day is placed
//! at noon in the user's time zone, so that it shows on the day the bank
//! wrote and never looks like a charge in the small hours.

use chrono::format::{Item, Parsed, StrftimeItems};
use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, TimeDelta, Utc};

/// A posting time, with the calendar date the file wrote (transaction ids
/// derive from that date, so they do not depend on the user's time zone).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Posted {
    pub at: DateTime<Utc>,
    pub date: NaiveDate,
}

/// Noon on `date` in a zone `offset_secs` east of UTC.
pub fn local_noon(date: NaiveDate, offset_secs: i32) -> DateTime<Utc> {
    local(date.and_time(NaiveTime::MIN) + TimeDelta::hours(12), offset_secs)
}

/// `t` on a clock `offset_secs` east of UTC, in UTC. At the ends of the
/// calendar chrono holds (years ±262,143, which a CSV date format reads)
/// there may be no such time: the nearest end is taken instead, and
/// [`check_range`] refuses it. This used to panic (found by fuzzing:
/// tests/fixtures/fuzz/date/year-minus-262143).
fn local(t: NaiveDateTime, offset_secs: i32) -> DateTime<Utc> {
    let end = if offset_secs > 0 { NaiveDateTime::MIN } else { NaiveDateTime::MAX };
    t.checked_sub_signed(TimeDelta::seconds(i64::from(offset_secs))).unwrap_or(end).and_utc()
}

/// An OFX date-time: `YYYYMMDD[HHMM[SS[.XXX]]][[±H[.MM|:MM]][:TZ]]`, in
/// UTC unless an offset is given (as the specification says). A date alone,
/// or a time of exactly 00:00:00 (what banks write when they have no time),
/// is a date without a time of day.
pub fn parse_ofx(text: &str, offset_secs: i32) -> Result<Posted, String> {
    let bad = || format!("{:?} is not an OFX date (YYYYMMDDHHMMSS[.XXX][[offset:TZ]])", clip(text));
    let text = text.trim();
    let (main, zone) = match text.split_once('[') {
        Some((m, z)) => (m.trim(), Some(z.trim_end_matches(']').trim())),
        None => (text, None),
    };
    let digits =
        main.split_once('.').map_or(main, |(d, frac)| if frac.bytes().all(|b| b.is_ascii_digit()) { d } else { main });
    if !digits.bytes().all(|b| b.is_ascii_digit()) || ![8, 12, 14].contains(&digits.len()) {
        return Err(bad());
    }
    let num = |r: std::ops::Range<usize>| digits.get(r).and_then(|s| s.parse::<u32>().ok()).unwrap_or(0);
    let date = i32::try_from(num(0..4))
        .ok()
        .and_then(|y| NaiveDate::from_ymd_opt(y, num(4..6), num(6..8)))
        .ok_or_else(|| format!("{:?} is not a date that exists", clip(text)))?;
    let (h, m, s) = (num(8..10), num(10..12), num(12..14));
    if h == 0 && m == 0 && s == 0 {
        return Ok(Posted { at: local_noon(date, offset_secs), date });
    }
    let time = NaiveTime::from_hms_opt(h, m, s).ok_or_else(|| format!("{:?} has no such time of day", clip(text)))?;
    let zone_secs = match zone {
        None => 0,
        Some(z) => parse_zone(z).ok_or_else(bad)?,
    };
    Ok(Posted { at: local(date.and_time(time), zone_secs), date })
}

/// `-5`, `-5:EST`, `+5.30:IST`, `5.5`, `0:GMT` → seconds east of UTC.
fn parse_zone(zone: &str) -> Option<i32> {
    let offset = zone.split(':').next().unwrap_or_default().trim();
    let (negative, offset) = match offset.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, offset.strip_prefix('+').unwrap_or(offset)),
    };
    let (hours, frac) = offset.split_once('.').unwrap_or((offset, ""));
    let hours: i32 = hours.parse().ok().filter(|h| (0..=14).contains(h))?;
    let minutes = match frac {
        "" => 0,
        "5" | "50" => 30,
        "25" => 15,
        "75" => 45,
        f => f.parse::<i32>().ok().filter(|m| (0..60).contains(m))?,
    };
    let secs = hours * 3600 + minutes * 60;
    Some(if negative { -secs } else { secs })
}

/// A `chrono` date format such as `%m/%d/%Y` (with a time, `%Y-%m-%d
/// %H:%M`), read once; times are the user's local time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DateFormat {
    text: String,
    items: Vec<Item<'static>>,
}

impl DateFormat {
    /// Checks that `text` reads dates: it must round-trip a known day.
    pub fn new(text: &str) -> Result<DateFormat, String> {
        use std::fmt::Write;
        let not_a_format = || format!("{text:?} is not a date format (see chrono's strftime: %Y-%m-%d, %m/%d/%Y …)");
        let items = StrftimeItems::new(text).parse_to_owned().map_err(|_| not_a_format())?;
        let format = DateFormat { text: text.to_string(), items };
        let sample = NaiveDate::from_ymd_opt(2026, 11, 23).unwrap_or_default();
        let mut written = String::new();
        write!(written, "{}", sample.and_time(NaiveTime::MIN).format_with_items(format.items.iter()))
            .map_err(|_| not_a_format())?;
        match format.parse(&written, 0) {
            Ok(p) if p.date == sample => Ok(format),
            _ => Err(format!("{text:?} does not name a whole date: it needs a day, a month and a year")),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    pub fn parse(&self, text: &str, offset_secs: i32) -> Result<Posted, String> {
        let text = text.trim();
        let mismatch = || format!("date {:?} does not match the date format {:?}", clip(text), self.text);
        let mut parsed = Parsed::new();
        chrono::format::parse(&mut parsed, text, self.items.iter()).map_err(|_| mismatch())?;
        let date = parsed.to_naive_date().map_err(|_| mismatch())?;
        Ok(match parsed.to_naive_time() {
            Ok(time) if time != NaiveTime::MIN => Posted { at: local(date.and_time(time), offset_secs), date },
            _ => Posted { at: local_noon(date, offset_secs), date },
        })
    }
}

/// The store keeps transactions from 1990 up to two days from now.
pub fn check_range(at: DateTime<Utc>, now: DateTime<Utc>) -> Result<(), String> {
    if !crate::domain::when::posted_in_range(at, now) {
        return Err(format!(
            "the date {} is outside 1990-01-01 … {}",
            at.format("%Y-%m-%d"),
            crate::domain::when::latest_posted(now).format("%Y-%m-%d")
        ));
    }
    Ok(())
}

fn clip(text: &str) -> String {
    crate::domain::text::clean_line(text, 40)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, mo, d, h, mi, s).unwrap()
    }

    #[test]
    fn ofx_dates_honour_their_zone_and_default_to_utc() {
        assert_eq!(parse_ofx("20261015143000.000[-5:EST]", 0).unwrap().at, utc(2026, 10, 15, 19, 30, 0));
        assert_eq!(parse_ofx("20261015143000", 0).unwrap().at, utc(2026, 10, 15, 14, 30, 0));
        assert_eq!(parse_ofx("202610151430", 0).unwrap().at, utc(2026, 10, 15, 14, 30, 0));
        assert_eq!(parse_ofx("20261015120000[+5.30:IST]", 0).unwrap().at, utc(2026, 10, 15, 6, 30, 0));
        assert_eq!(parse_ofx("20261015120000[0:GMT]", 0).unwrap().at, utc(2026, 10, 15, 12, 0, 0));
    }

    #[test]
    fn dates_without_a_time_sit_at_local_noon() {
        let d = NaiveDate::from_ymd_opt(2026, 10, 15).unwrap();
        assert_eq!(parse_ofx("20261015", -5 * 3600).unwrap(), Posted { at: utc(2026, 10, 15, 17, 0, 0), date: d });
        assert_eq!(parse_ofx("20261015000000.000[-5:EST]", 0).unwrap().at, utc(2026, 10, 15, 12, 0, 0));
        let us = DateFormat::new("%m/%d/%Y").unwrap();
        assert_eq!(us.parse("10/15/2026", 3600).unwrap().at, utc(2026, 10, 15, 11, 0, 0));
        let timed = DateFormat::new("%Y-%m-%d %H:%M").unwrap();
        assert_eq!(timed.parse("2026-10-15 08:15", 0).unwrap().at, utc(2026, 10, 15, 8, 15, 0));
    }

    #[test]
    fn bad_dates_say_what_is_wrong() {
        assert!(parse_ofx("20261301", 0).unwrap_err().contains("exists"));
        assert!(parse_ofx("2026101", 0).is_err());
        assert!(parse_ofx("20261015250000", 0).unwrap_err().contains("time of day"));
        assert!(parse_ofx("20261015120000[nope]", 0).is_err());
        assert!(parse_ofx("", 0).is_err());
        let e = DateFormat::new("%m/%d/%Y").unwrap().parse("2026-10-15", 0).unwrap_err();
        assert!(e.contains("2026-10-15") && e.contains("%m/%d/%Y"), "{e}");
    }

    #[test]
    fn formats_must_name_a_whole_date() {
        assert!(DateFormat::new("%m/%d/%Y").is_ok());
        assert!(DateFormat::new("%d.%m.%y").is_ok());
        assert!(DateFormat::new("%Y-%m-%d %H:%M").is_ok());
        assert!(DateFormat::new("%d %b %Y").unwrap().parse("3 Nov 2026", 0).is_ok());
        assert!(DateFormat::new("%m/%Y").is_err());
        assert!(DateFormat::new("%Q").is_err());
    }

    #[test]
    fn the_store_window_is_checked() {
        let now = utc(2026, 11, 20, 15, 0, 0);
        assert!(check_range(utc(2026, 11, 22, 0, 0, 0), now).is_ok());
        assert!(check_range(utc(2026, 11, 23, 0, 0, 0), now).is_err());
        assert!(check_range(utc(1989, 12, 31, 0, 0, 0), now).is_err());
    }
}
