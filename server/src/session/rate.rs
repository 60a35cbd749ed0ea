//! Per-connection rate limiting of `send` and `typing` (and, apart, of requests), and the flood rule that closes a
//! connection which keeps far above its limit.

use std::time::{Duration, Instant};

use governor::DefaultDirectRateLimiter;

use crate::peers::{bucket, check};

/// Requests (`hello`, `join`, `leave`, `history`, invalid frames) a connection may make at
/// once above `--request-rate-per-sec`: a reconnect re-joins up to 50 rooms in one go.
pub const REQUEST_BURST: u32 = 60;

/// A connection sending at this many times its sustained rate...
pub const FLOOD_FACTOR: u32 = 10;
/// ...for this long is closed with 1008.
pub const FLOOD_DURATION: Duration = Duration::from_secs(10);

/// A second in which attempts exceed half of `FLOOD_FACTOR` times the rate counts as flooding:
/// the threshold sits well below 10x so that jitter in when frames arrive cannot save a real
/// flood, and well above what a burst-then-pause client ever reaches for long.
const FLOOD_SECOND_FACTOR: u32 = FLOOD_FACTOR / 2;

/// What the limiter says about one frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Within the limit.
    Allowed,
    /// Over the limit: refuse it; the next would pass after this long.
    Refused(Duration),
    /// Over the limit for [`FLOOD_DURATION`] at [`FLOOD_FACTOR`] times the rate: close.
    Flooding,
}

/// A token bucket (governor's GCRA) plus a watch for sustained flooding.
#[derive(Debug)]
pub struct RateLimit {
    bucket: DefaultDirectRateLimiter,
    per_second: u32,
    window_start: Instant,
    attempts_in_window: u32,
    flooding_since: Option<Instant>,
}

impl RateLimit {
    /// `per_second` sustained with bursts of `burst`; `None` when `per_second` is 0 (off).
    pub fn new(per_second: u32, burst: u32) -> Option<Self> {
        Some(RateLimit {
            bucket: bucket(per_second, burst)?,
            per_second,
            window_start: Instant::now(),
            attempts_in_window: 0,
            flooding_since: None,
        })
    }

    /// Counts one `send` or `typing` frame.
    pub fn check(&mut self) -> Verdict {
        let now = Instant::now();
        let elapsed = now.duration_since(self.window_start);
        if elapsed >= Duration::from_secs(1) {
            let flooded = elapsed < Duration::from_secs(2)
                && self.attempts_in_window > self.per_second.saturating_mul(FLOOD_SECOND_FACTOR);
            if flooded {
                self.flooding_since.get_or_insert(self.window_start);
            } else {
                self.flooding_since = None;
            }
            self.window_start = now;
            self.attempts_in_window = 0;
        }
        self.attempts_in_window = self.attempts_in_window.saturating_add(1);
        if let Some(since) = self.flooding_since {
            if now.duration_since(since) >= FLOOD_DURATION {
                return Verdict::Flooding;
            }
        }
        match check(Some(&self.bucket)) {
            Ok(()) => Verdict::Allowed,
            Err(wait) => Verdict::Refused(wait),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_passes_then_the_rest_is_refused_with_a_wait() {
        let mut limit = RateLimit::new(5, 20).unwrap();
        for _ in 0..20 {
            assert_eq!(limit.check(), Verdict::Allowed);
        }
        match limit.check() {
            Verdict::Refused(wait) => {
                assert!(
                    wait > Duration::ZERO && wait <= Duration::from_millis(200),
                    "{wait:?}"
                )
            }
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[test]
    fn zero_turns_the_limit_off() {
        assert!(RateLimit::new(0, 20).is_none());
    }
}
