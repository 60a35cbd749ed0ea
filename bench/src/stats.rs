//! Counting deliveries and summarising latency.

use hdrhistogram::Histogram;
use serde::Serialize;

/// Latencies are recorded in microseconds, from 1 µs up to 10 minutes, 3 significant digits.
const MAX_LATENCY_US: u64 = 600_000_000;

/// Latency recorder for delivered messages.
pub struct Latency {
    histogram: Histogram<u64>,
}

impl Default for Latency {
    fn default() -> Self {
        Latency {
            histogram: Histogram::new_with_bounds(1, MAX_LATENCY_US, 3)
                .unwrap_or_else(|_| unreachable!("static histogram bounds are valid")),
        }
    }
}

impl Latency {
    /// Records one delivery that took `ns` nanoseconds.
    pub fn record_ns(&mut self, ns: u64) {
        let us = (ns / 1000).clamp(1, MAX_LATENCY_US);
        // Clamped into the histogram's range, so recording cannot fail.
        let _ = self.histogram.record(us);
    }

    /// Deliveries recorded.
    #[cfg(test)]
    pub fn count(&self) -> u64 {
        self.histogram.len()
    }

    /// Percentiles in milliseconds.
    pub fn summary(&self) -> LatencySummary {
        let ms = |q: f64| {
            if self.histogram.is_empty() {
                0.0
            } else {
                self.histogram.value_at_quantile(q) as f64 / 1000.0
            }
        };
        LatencySummary {
            p50_ms: ms(0.50),
            p90_ms: ms(0.90),
            p99_ms: ms(0.99),
            p999_ms: ms(0.999),
            max_ms: if self.histogram.is_empty() {
                0.0
            } else {
                self.histogram.max() as f64 / 1000.0
            },
        }
    }
}

/// Delivery latency percentiles.
#[derive(Default, Debug, Clone, Copy, PartialEq, Serialize)]
pub struct LatencySummary {
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub p999_ms: f64,
    pub max_ms: f64,
}

/// What a fan-out run delivered, against what it should have.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Delivery {
    /// Messages sent inside the measured window.
    pub sent: u64,
    /// `sent` times the number of clients that should receive each one.
    pub expected: u64,
    /// Deliveries of those messages actually received.
    pub delivered: u64,
    /// Share of expected deliveries that never arrived, in percent.
    pub loss_percent: f64,
    /// Deliveries per second of the measured window.
    pub deliveries_per_sec: f64,
}

impl Delivery {
    /// Computes loss and rate from the raw counts of a window of `seconds`.
    pub fn new(sent: u64, receivers: u64, delivered: u64, seconds: f64) -> Self {
        let expected = sent * receivers;
        let missing = expected.saturating_sub(delivered);
        Delivery {
            sent,
            expected,
            delivered,
            loss_percent: if expected == 0 {
                0.0
            } else {
                missing as f64 * 100.0 / expected as f64
            },
            deliveries_per_sec: if seconds > 0.0 {
                delivered as f64 / seconds
            } else {
                0.0
            },
        }
    }
}

/// Server CPU time per million deliveries, the figure to compare servers by.
pub fn core_seconds_per_million(cpu_seconds: f64, deliveries: u64) -> Option<f64> {
    (deliveries > 0).then(|| cpu_seconds / (deliveries as f64 / 1e6))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_of_a_known_distribution() {
        let mut latency = Latency::default();
        for ms in 1..=1000u64 {
            latency.record_ns(ms * 1_000_000);
        }
        let s = latency.summary();
        assert_eq!(latency.count(), 1000);
        let close = |a: f64, b: f64| (a - b).abs() <= b * 0.002 + 0.001;
        assert!(close(s.p50_ms, 500.0), "{s:?}");
        assert!(close(s.p90_ms, 900.0), "{s:?}");
        assert!(close(s.p99_ms, 990.0), "{s:?}");
        assert!(close(s.p999_ms, 999.0), "{s:?}");
        assert!(close(s.max_ms, 1000.0), "{s:?}");
    }

    #[test]
    fn out_of_range_latencies_are_clamped_not_lost() {
        let mut latency = Latency::default();
        latency.record_ns(0);
        latency.record_ns(u64::MAX);
        assert_eq!(latency.count(), 2);
        assert_eq!(Latency::default().summary().p99_ms, 0.0);
    }

    #[test]
    fn loss_and_rate() {
        let d = Delivery::new(100, 10, 990, 2.0);
        assert_eq!(d.expected, 1000);
        assert!((d.loss_percent - 1.0).abs() < 1e-9);
        assert!((d.deliveries_per_sec - 495.0).abs() < 1e-9);
        let none = Delivery::new(0, 10, 0, 0.0);
        assert_eq!((none.loss_percent, none.deliveries_per_sec), (0.0, 0.0));
        // Duplicates can never make loss negative.
        assert_eq!(Delivery::new(1, 1, 2, 1.0).loss_percent, 0.0);
    }

    #[test]
    fn cpu_per_million() {
        let per = core_seconds_per_million(0.6, 3_000_000).unwrap();
        assert!((per - 0.2).abs() < 1e-12, "{per}");
        assert_eq!(core_seconds_per_million(1.0, 0), None);
    }
}
