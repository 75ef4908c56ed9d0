//! The district's wall clock. Every district served lies in China Standard Time (UTC+8, no
//! daylight saving): dates people see (today, a quarter, an availability slot, an age) are
//! read on it, instants are stored in UTC.

use chrono::{FixedOffset, NaiveDate, Utc};

/// China Standard Time, UTC+8.
pub const CHINA_STANDARD_TIME: FixedOffset = match FixedOffset::east_opt(8 * 3600) {
    Some(offset) => offset,
    None => panic!("UTC+8 is a valid offset"), // evaluated at compile time
};

/// Today's date on the wall clock at `offset` (the district's: [`CHINA_STANDARD_TIME`]).
pub fn local_today(offset: FixedOffset) -> NaiveDate {
    Utc::now().with_timezone(&offset).date_naive()
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Timelike};

    use super::*;

    #[test]
    fn the_district_is_eight_hours_ahead_of_utc() {
        let late_utc = Utc
            .with_ymd_and_hms(2026, 9, 30, 16, 0, 0)
            .single()
            .expect("time");
        let local = late_utc.with_timezone(&CHINA_STANDARD_TIME);
        assert_eq!(
            local.date_naive(),
            NaiveDate::from_ymd_opt(2026, 10, 1).expect("date")
        );
        assert_eq!(local.hour(), 0);
        let today = local_today(CHINA_STANDARD_TIME);
        let utc_today = Utc::now().date_naive();
        assert!(today == utc_today || today == utc_today.succ_opt().expect("tomorrow"));
    }
}
