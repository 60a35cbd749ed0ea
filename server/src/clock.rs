//! The wall clock, as the protocol writes times.

use std::time::{SystemTime, UNIX_EPOCH};

/// Milliseconds since the Unix epoch (what a message's `ts` holds); 0 if the clock is set
/// before 1970.
pub fn unix_millis() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// `duration` in whole milliseconds (saturating): how every time to live is compared with
/// [`Clock::now_ms`].
pub fn millis(duration: std::time::Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

/// The wall clock as the store judges what has expired (names, empty rooms), which tests can
/// move forward: a month of disuse cannot be waited for.
#[derive(Debug, Clone, Default)]
pub struct Clock {
    skew_ms: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

impl Clock {
    /// Milliseconds since the Unix epoch, plus however far the clock was moved on.
    pub fn now_ms(&self) -> u64 {
        unix_millis().saturating_add(self.skew_ms.load(std::sync::atomic::Ordering::Relaxed))
    }

    /// Moves this clock (and every copy of it) forward.
    pub fn advance(&self, by: std::time::Duration) {
        let by = millis(by);
        self.skew_ms
            .fetch_add(by, std::sync::atomic::Ordering::Relaxed);
    }
}
