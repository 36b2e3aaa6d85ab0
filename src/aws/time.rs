//! Time at the AWS edge: RFC 3339 UTC, the format of `capturedAt` and of the alert state's
//! timestamps (strings of one format compare like the times they write), through `jiff`.

use std::time::SystemTime;

use jiff::Timestamp;

/// `SystemTime` as RFC 3339 UTC with second precision, e.g. `2026-11-29T00:00:00Z`. A time
/// outside jiff's range (years -9999 to 9999) is clamped to it.
pub fn rfc3339(time: SystemTime) -> String {
    let timestamp = Timestamp::try_from(time).unwrap_or(if time < SystemTime::UNIX_EPOCH {
        Timestamp::MIN
    } else {
        Timestamp::MAX
    });
    // Whole seconds: the fraction would break the "strings compare like times" property.
    Timestamp::from_second(timestamp.as_second())
        .unwrap_or(timestamp)
        .to_string()
}

/// The current time as [`rfc3339`] writes it.
pub fn now_rfc3339() -> String {
    rfc3339(SystemTime::now())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    #[test]
    fn rfc3339_formats_known_instants() {
        assert_eq!(rfc3339(UNIX_EPOCH), "1970-01-01T00:00:00Z");
        assert_eq!(
            rfc3339(UNIX_EPOCH + Duration::from_secs(1_234_567_890)),
            "2009-02-13T23:31:30Z"
        );
        // 2024-02-29T12:00:00Z (a leap day) and 2026-11-29T00:00:00Z.
        assert_eq!(
            rfc3339(UNIX_EPOCH + Duration::from_secs(1_709_208_000)),
            "2024-02-29T12:00:00Z"
        );
        assert_eq!(
            rfc3339(UNIX_EPOCH + Duration::from_secs(1_795_910_400)),
            "2026-11-29T00:00:00Z"
        );
    }

    #[test]
    fn fractions_of_a_second_are_dropped() {
        assert_eq!(
            rfc3339(UNIX_EPOCH + Duration::from_millis(1_795_910_400_999)),
            "2026-11-29T00:00:00Z"
        );
    }
}
