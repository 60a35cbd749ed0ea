//! Back-off for sign-in failures per account: the first few wrong passwords cost nothing,
//! after that each one doubles the wait before the next attempt (1 s, 2 s, 4 s, ... up to 15
//! minutes), and a right one clears it. Never a permanent lock-out, which would hand anyone who
//! knows a name the power to lock its owner out. Per address, the peer table's sign-in bucket
//! limits how fast one address tries at all.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

/// Wrong passwords in a row that cost no wait.
pub const FREE_FAILURES: u32 = 5;

/// The longest wait.
pub const MAX_BACKOFF: Duration = Duration::from_secs(15 * 60);

/// Accounts remembered at once; beyond it, those whose wait is over are forgotten, and if
/// none is, failures of further names go uncounted (the per-address limit still holds).
const MAX_TRACKED: usize = 100_000;

#[derive(Debug, Clone, Copy)]
struct Failures {
    count: u32,
    last: Instant,
}

impl Failures {
    /// When the next attempt is allowed.
    fn next_allowed(&self) -> Instant {
        match self.count.saturating_sub(FREE_FAILURES) {
            0 => self.last,
            over => {
                let wait = Duration::from_secs(1u64 << (over - 1).min(20)).min(MAX_BACKOFF);
                self.last + wait
            }
        }
    }
}

/// Failures by account name key.
#[derive(Debug, Default)]
pub struct SignInThrottle {
    failures: Mutex<HashMap<String, Failures>>,
}

impl SignInThrottle {
    /// `Err(wait)` while the account must wait before another attempt.
    pub fn check(&self, key: &str, now: Instant) -> Result<(), Duration> {
        match self.failures.lock().get(key) {
            Some(failures) if failures.next_allowed() > now => Err(failures.next_allowed() - now),
            _ => Ok(()),
        }
    }

    /// Counts a wrong password for `key`.
    pub fn failed(&self, key: &str, now: Instant) {
        let mut failures = self.failures.lock();
        if failures.len() >= MAX_TRACKED && !failures.contains_key(key) {
            failures.retain(|_, f| now.saturating_duration_since(f.last) < MAX_BACKOFF);
            if failures.len() >= MAX_TRACKED {
                return;
            }
        }
        let entry = failures.entry(key.to_string()).or_insert(Failures {
            count: 0,
            last: now,
        });
        entry.count = entry.count.saturating_add(1);
        entry.last = now;
    }

    /// A right password: the account's slate is clean.
    pub fn succeeded(&self, key: &str) {
        self.failures.lock().remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_double_after_the_free_failures_and_a_success_clears_them() {
        let throttle = SignInThrottle::default();
        let start = Instant::now();
        for _ in 0..FREE_FAILURES {
            assert!(throttle.check("ann", start).is_ok());
            throttle.failed("ann", start);
        }
        assert!(
            throttle.check("ann", start).is_ok(),
            "the free ones cost nothing"
        );
        throttle.failed("ann", start);
        assert_eq!(throttle.check("ann", start), Err(Duration::from_secs(1)));
        throttle.failed("ann", start);
        assert_eq!(throttle.check("ann", start), Err(Duration::from_secs(2)));
        assert!(throttle
            .check("ann", start + Duration::from_secs(2))
            .is_ok());
        assert!(throttle.check("bob", start).is_ok(), "per account");
        for _ in 0..40 {
            throttle.failed("ann", start);
        }
        assert_eq!(
            throttle.check("ann", start),
            Err(MAX_BACKOFF),
            "capped, never permanent"
        );
        throttle.succeeded("ann");
        assert!(throttle.check("ann", start).is_ok());
    }
}
