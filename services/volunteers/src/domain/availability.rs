//! Weekly availability: when a volunteer can usually be asked to help.
//!
//! Stored as 7 days × 48 half-hour slots, one `u64` per day. Half hours are as fine as
//! people plan their week, and the bitset makes the matching test ("free for the whole
//! window?") seven AND operations per candidate instead of interval arithmetic.
//!
//! Times are the district's wall-clock time. China has one zone, UTC+8, without daylight
//! saving, so a fixed offset is exact; the offset is still a parameter so nothing assumes
//! where the district is.
//!
//! The text form is what staff type and what the registry shows:
//! `Mon-Fri 18:00-21:00; Sat 09:00-12:00, 14:00-17:00`.

use std::fmt;

use chrono::{DateTime, Datelike, Duration, FixedOffset, NaiveDateTime, Timelike, Utc};
use serde::{Deserialize, Serialize};

use super::DomainError;

const FIELD: &str = "availability";
/// Half-hour slots in a day.
pub const SLOTS_PER_DAY: u32 = 48;
const DAY_MASK: u64 = (1u64 << SLOTS_PER_DAY) - 1;
const DAY_NAMES: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
/// A window longer than a week would need every slot twice; nobody asks for that.
const MAX_WINDOW: Duration = Duration::days(7);

// The district's wall clock is the platform's (orders reads quarters on it too).
pub use tongxin_platform::org::{CHINA_STANDARD_TIME, local_today};

/// Half-hour slots of a week in which someone is available (or, for a [`TimeWindow`],
/// which it touches). Monday is day 0; bit `k` of a day is `[k*30 min, (k+1)*30 min)`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Availability {
    days: [u64; 7],
}

impl Availability {
    /// Never available.
    pub const fn empty() -> Self {
        Self { days: [0; 7] }
    }

    /// Available at every hour of the week.
    pub const fn always() -> Self {
        Self {
            days: [DAY_MASK; 7],
        }
    }

    /// Parses the text form: entries separated by `;`, each a day list and one or more time
    /// ranges, e.g. `Mon 08:00-12:00; Sat 09:00-17:00`, `Mon-Fri 18:00-21:00`,
    /// `Sat,Sun 09:00-12:00, 14:00-17:00`, `周六 09:00-17:00`. An empty text means never
    /// available. Times are on the hour or half hour; `24:00` ends a day; a range that
    /// crosses midnight is written as two entries. Errors quote the part that is wrong.
    pub fn parse(text: &str) -> Result<Self, DomainError> {
        let mut out = Self::empty();
        let text = text.replace('；', ";").replace(['，', '、'], ",");
        for entry in text.split(';').map(str::trim).filter(|e| !e.is_empty()) {
            let bad = |what: &str| DomainError::invalid(FIELD, format!("\"{entry}\": {what}"));
            let Some((days_part, ranges_part)) = entry.split_once(char::is_whitespace) else {
                return Err(bad("expected days then times, e.g. \"Mon 08:00-12:00\""));
            };
            let days = parse_days(days_part.trim()).map_err(|e| bad(&e))?;
            let mut mask = 0u64;
            for range in ranges_part.split(',').map(str::trim) {
                mask |= parse_range(range).map_err(|e| bad(&e))?;
            }
            for (d, on) in days.iter().enumerate() {
                if *on {
                    out.days[d] |= mask;
                }
            }
        }
        Ok(out)
    }

    /// Whether the volunteer is available in every half-hour slot the window touches.
    pub fn covers(&self, window: &TimeWindow) -> bool {
        self.contains(&window.slots)
    }

    /// Whether every slot of `other` is also in `self`.
    #[inline]
    pub fn contains(&self, other: &Availability) -> bool {
        self.days
            .iter()
            .zip(other.days.iter())
            .all(|(a, b)| b & !a == 0)
    }

    /// No slot at all.
    pub fn is_empty(&self) -> bool {
        self.days.iter().all(|d| *d == 0)
    }

    /// Available hours per week (for profiles and reports).
    pub fn hours_per_week(&self) -> f64 {
        f64::from(self.days.iter().map(|d| d.count_ones()).sum::<u32>()) / 2.0
    }

    fn set(&mut self, day: usize, slot: u32) {
        self.days[day] |= 1u64 << slot;
    }
}

fn parse_days(part: &str) -> Result<[bool; 7], String> {
    let mut days = [false; 7];
    for item in part.split(',').map(str::trim) {
        match item.split_once('-') {
            Some((from, to)) => {
                let (from, to) = (parse_day(from.trim())?, parse_day(to.trim())?);
                if from > to {
                    return Err(format!("day range \"{item}\" must run Monday to Sunday"));
                }
                days[from..=to].iter_mut().for_each(|d| *d = true);
            }
            None => days[parse_day(item)?] = true,
        }
    }
    Ok(days)
}

fn parse_day(name: &str) -> Result<usize, String> {
    const FULL: [&str; 7] = [
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
    ];
    const ZH: [&str; 7] = ["一", "二", "三", "四", "五", "六", "日"];
    let lower = name.to_ascii_lowercase();
    if let Some(i) = DAY_NAMES.iter().position(|d| d.eq_ignore_ascii_case(name)) {
        return Ok(i);
    }
    if let Some(i) = FULL.iter().position(|d| *d == lower) {
        return Ok(i);
    }
    let zh = name
        .strip_prefix("周")
        .or_else(|| name.strip_prefix("星期"));
    if let Some(rest) = zh {
        if let Some(i) = ZH.iter().position(|d| *d == rest) {
            return Ok(i);
        }
        if rest == "天" {
            return Ok(6);
        }
    }
    Err(format!(
        "unknown day \"{name}\" (use Mon, Tue, Wed, Thu, Fri, Sat, Sun)"
    ))
}

/// A `HH:MM-HH:MM` range as a day mask.
fn parse_range(range: &str) -> Result<u64, String> {
    let Some((start, end)) = range.split_once('-') else {
        return Err(format!("time range \"{range}\" must look like 08:00-12:00"));
    };
    let (start, end) = (parse_time(start.trim())?, parse_time(end.trim())?);
    if start >= end {
        return Err(format!(
            "time range \"{range}\" must end after it starts (split ranges that cross midnight)"
        ));
    }
    if start == SLOTS_PER_DAY {
        return Err(format!("time range \"{range}\" cannot start at 24:00"));
    }
    // Bits start..end; end <= 48 so the shifts stay below 64.
    Ok(((1u64 << end) - 1) & !((1u64 << start) - 1))
}

/// `HH:MM` on the hour or half hour, `24:00` allowed; returns the slot boundary 0..=48.
fn parse_time(time: &str) -> Result<u32, String> {
    let bad = || format!("time \"{time}\" must be HH:MM on the hour or half hour");
    let (h, m) = time.split_once(':').ok_or_else(bad)?;
    if h.is_empty() || h.len() > 2 || m.len() != 2 {
        return Err(bad());
    }
    let h: u32 = h.parse().map_err(|_| bad())?;
    let m: u32 = m.parse().map_err(|_| bad())?;
    match (h, m) {
        (0..=23, 0) | (24, 0) => Ok(h * 2),
        (0..=23, 30) => Ok(h * 2 + 1),
        _ => Err(bad()),
    }
}

fn fmt_slot(slot: u32) -> String {
    format!("{:02}:{:02}", slot / 2, (slot % 2) * 30)
}

/// The ranges of one day mask as `08:00-12:00, 14:00-17:00`.
fn fmt_day(mut mask: u64) -> String {
    let mut parts = Vec::new();
    while mask != 0 {
        let start = mask.trailing_zeros();
        let len = (mask >> start).trailing_ones();
        parts.push(format!("{}-{}", fmt_slot(start), fmt_slot(start + len)));
        mask &= !(((1u64 << len) - 1) << start);
    }
    parts.join(", ")
}

impl fmt::Display for Availability {
    /// Canonical text: consecutive days with the same hours are grouped (`Mon-Fri`), ranges
    /// are merged and sorted, entries joined by `; `. Parsing it gives back the same value,
    /// and text already in this form is reproduced exactly.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        let mut d = 0;
        while d < 7 {
            let mask = self.days[d];
            let mut last = d;
            while last + 1 < 7 && self.days[last + 1] == mask {
                last += 1;
            }
            if mask != 0 {
                if !first {
                    f.write_str("; ")?;
                }
                first = false;
                if last == d {
                    write!(f, "{} {}", DAY_NAMES[d], fmt_day(mask))?;
                } else {
                    write!(f, "{}-{} {}", DAY_NAMES[d], DAY_NAMES[last], fmt_day(mask))?;
                }
            }
            d = last + 1;
        }
        Ok(())
    }
}

impl fmt::Debug for Availability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Availability(\"{self}\")")
    }
}

impl TryFrom<String> for Availability {
    type Error = DomainError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<Availability> for String {
    fn from(a: Availability) -> Self {
        a.to_string()
    }
}

/// A concrete period someone is needed for (e.g. an order's service time), together with
/// the weekly slots it touches in the district's local time, computed once so that testing
/// 152,000 volunteers against it is cheap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeWindow {
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    slots: Availability,
}

impl TimeWindow {
    /// A window from `start` (inclusive) to `end` (exclusive), read on the wall clock at
    /// `district_offset` (use [`CHINA_STANDARD_TIME`]). Must be non-empty and at most a week.
    pub fn new(
        start: DateTime<Utc>,
        end: DateTime<Utc>,
        district_offset: FixedOffset,
    ) -> Result<Self, DomainError> {
        if end <= start {
            return Err(DomainError::invalid("window", "must end after it starts"));
        }
        if end - start > MAX_WINDOW {
            return Err(DomainError::invalid("window", "may be at most 7 days long"));
        }
        let local_start = start.with_timezone(&district_offset).naive_local();
        let local_end = end.with_timezone(&district_offset).naive_local();
        let mut slots = Availability::empty();
        let mut t = floor_to_slot(local_start);
        while t < local_end {
            let day = t.weekday().num_days_from_monday() as usize;
            slots.set(day, t.hour() * 2 + t.minute() / 30);
            t += Duration::minutes(30);
        }
        Ok(Self { start, end, slots })
    }

    /// Start, inclusive.
    pub fn start(&self) -> DateTime<Utc> {
        self.start
    }

    /// End, exclusive.
    pub fn end(&self) -> DateTime<Utc> {
        self.end
    }

    /// The weekly half-hour slots the window touches.
    pub fn slots(&self) -> &Availability {
        &self.slots
    }
}

fn floor_to_slot(t: NaiveDateTime) -> NaiveDateTime {
    let minutes = i64::from(t.minute() % 30);
    let seconds = i64::from(t.second());
    let nanos = i64::from(t.nanosecond());
    t - Duration::minutes(minutes) - Duration::seconds(seconds) - Duration::nanoseconds(nanos)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    /// A UTC instant given as China local time.
    fn cst(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
        CHINA_STANDARD_TIME
            .with_ymd_and_hms(y, mo, d, h, mi, 0)
            .unwrap()
            .with_timezone(&Utc)
    }

    fn window(start: DateTime<Utc>, end: DateTime<Utc>) -> TimeWindow {
        TimeWindow::new(start, end, CHINA_STANDARD_TIME).unwrap()
    }

    #[test]
    fn round_trips_the_canonical_text() {
        for text in [
            "Mon 08:00-12:00; Sat 09:00-17:00",
            "Mon-Fri 18:00-21:00",
            "Sat-Sun 09:00-12:00, 14:00-17:00",
            "Mon 00:00-24:00",
            "Tue 08:30-09:00; Thu 23:30-24:00",
            "",
        ] {
            let a = Availability::parse(text).unwrap();
            assert_eq!(a.to_string(), text);
            assert_eq!(Availability::parse(&a.to_string()).unwrap(), a);
        }
    }

    #[test]
    fn accepts_looser_spellings_and_canonicalises_them() {
        let a =
            Availability::parse(" sat,SUN 9:00-12:00 ; monday 08:00-10:00,09:00-12:00; ").unwrap();
        assert_eq!(a.to_string(), "Mon 08:00-12:00; Sat-Sun 09:00-12:00");
        let zh = Availability::parse("周一 08:00-12:00；星期六 09:00-17:00").unwrap();
        assert_eq!(zh.to_string(), "Mon 08:00-12:00; Sat 09:00-17:00");
        let list = Availability::parse("Mon,Wed-Fri 08:00-09:00").unwrap();
        assert_eq!(list.to_string(), "Mon 08:00-09:00; Wed-Fri 08:00-09:00");
        assert_eq!(list.hours_per_week(), 4.0);
    }

    #[test]
    fn errors_quote_the_bad_part() {
        let cases = [
            (
                "Mon 08:00-12:00; Sat 9-17",
                "availability: \"Sat 9-17\": time \"9\" must be HH:MM on the hour or half hour",
            ),
            (
                "Mon 08:00-12:00; Xyz 09:00-10:00",
                "availability: \"Xyz 09:00-10:00\": unknown day \"Xyz\" (use Mon, Tue, Wed, Thu, Fri, Sat, Sun)",
            ),
            (
                "Mon 08:15-12:00",
                "availability: \"Mon 08:15-12:00\": time \"08:15\" must be HH:MM on the hour or half hour",
            ),
            (
                "Mon 22:00-02:00",
                "availability: \"Mon 22:00-02:00\": time range \"22:00-02:00\" must end after it starts (split ranges that cross midnight)",
            ),
            (
                "Mon",
                "availability: \"Mon\": expected days then times, e.g. \"Mon 08:00-12:00\"",
            ),
            (
                "Fri-Mon 08:00-09:00",
                "availability: \"Fri-Mon 08:00-09:00\": day range \"Fri-Mon\" must run Monday to Sunday",
            ),
            (
                "Mon 0800",
                "availability: \"Mon 0800\": time range \"0800\" must look like 08:00-12:00",
            ),
        ];
        for (text, message) in cases {
            assert_eq!(
                Availability::parse(text).unwrap_err().to_string(),
                message,
                "{text}"
            );
        }
        assert!(Availability::parse("Mon 24:00-24:00").is_err());
        assert!(Availability::parse("Mon 25:00-26:00").is_err());
        assert!(Availability::parse("Mon 08:00-12:00,").is_err());
    }

    #[test]
    fn covers_concrete_windows_in_local_time() {
        let a = Availability::parse("Mon 08:00-12:00; Sat 09:00-17:00").unwrap();
        // 2025-06-02 is a Monday.
        assert!(a.covers(&window(cst(2025, 6, 2, 8, 0), cst(2025, 6, 2, 12, 0))));
        assert!(a.covers(&window(cst(2025, 6, 2, 9, 10), cst(2025, 6, 2, 11, 40))));
        // Touches the 12:00 slot.
        assert!(!a.covers(&window(cst(2025, 6, 2, 11, 0), cst(2025, 6, 2, 12, 1))));
        // Starts in the 07:30 slot.
        assert!(!a.covers(&window(cst(2025, 6, 2, 7, 59), cst(2025, 6, 2, 9, 0))));
        // Tuesday.
        assert!(!a.covers(&window(cst(2025, 6, 3, 9, 0), cst(2025, 6, 3, 10, 0))));
        assert!(a.covers(&window(cst(2025, 6, 7, 16, 30), cst(2025, 6, 7, 17, 0))));
        // 01:00 UTC on a Monday is 09:00 in China: the offset is applied.
        let utc = Utc.with_ymd_and_hms(2025, 6, 2, 1, 0, 0).unwrap();
        assert!(a.covers(&window(utc, utc + Duration::hours(1))));
        // The same instant read as UTC would be 01:00, not available.
        let as_utc = TimeWindow::new(
            utc,
            utc + Duration::hours(1),
            FixedOffset::east_opt(0).unwrap(),
        )
        .unwrap();
        assert!(!a.covers(&as_utc));
    }

    #[test]
    fn windows_across_midnight_and_week_end() {
        let a = Availability::parse("Sun 22:00-24:00; Mon 00:00-01:00").unwrap();
        // 2025-06-08 is a Sunday.
        assert!(a.covers(&window(cst(2025, 6, 8, 23, 0), cst(2025, 6, 9, 0, 30))));
        assert!(!a.covers(&window(cst(2025, 6, 8, 23, 0), cst(2025, 6, 9, 1, 30))));
        assert!(
            Availability::always().covers(&window(cst(2025, 6, 2, 0, 0), cst(2025, 6, 9, 0, 0)))
        );
        assert!(
            !Availability::empty().covers(&window(cst(2025, 6, 2, 0, 0), cst(2025, 6, 2, 0, 1)))
        );
    }

    #[test]
    fn rejects_empty_and_overlong_windows() {
        let t = cst(2025, 6, 2, 8, 0);
        let err = TimeWindow::new(t, t, CHINA_STANDARD_TIME).unwrap_err();
        assert_eq!(err.to_string(), "window: must end after it starts");
        assert!(TimeWindow::new(t, t - Duration::hours(1), CHINA_STANDARD_TIME).is_err());
        assert!(TimeWindow::new(t, t + Duration::days(8), CHINA_STANDARD_TIME).is_err());
    }

    #[test]
    fn china_offset_is_utc_plus_8() {
        assert_eq!(CHINA_STANDARD_TIME.local_minus_utc(), 8 * 3600);
        let _ = local_today(CHINA_STANDARD_TIME);
    }
}
