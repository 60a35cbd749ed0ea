//! Times as the protocol writes them (milliseconds since the Unix epoch, UTC), turned into
//! calendar dates: the page's day separators and the server's own pages agree on them.

/// (year, month 1-12, day 1-31) of a UTC timestamp in milliseconds (Howard Hinnant's
/// days-to-civil, proleptic Gregorian).
pub fn utc_date(ts_ms: u64) -> (i64, u32, u32) {
    let z = (ts_ms / 86_400_000) as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_of_known_days() {
        assert_eq!(utc_date(0), (1970, 1, 1));
        assert_eq!(utc_date(951_782_400_000), (2000, 2, 29));
        assert_eq!(utc_date(1_795_683_600_000), (2026, 11, 26));
    }
}
