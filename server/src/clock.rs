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
