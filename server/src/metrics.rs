//! What an operator scrapes at `GET /metrics`: counters and gauges in the Prometheus text
//! format (OpenMetrics).
//!
//! prometheus-client (the Prometheus project's own Rust client) rather than the `metrics` facade
//! with its exporter: its registry is a value, not a process-wide recorder, so every server in
//! a process (the tests run many) reports only its own figures, and each counter is a plain
//! atomic the hot path bumps without a lookup. Counters are bumped per message or per
//! connection event, never per recipient: deliveries are added once per frame as the number of
//! members it was offered to. Gauges (connections, rooms) are read when scraped.

use std::time::Duration;

use prometheus_client::encoding::text::encode;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

/// The label of closes by reason: a fixed string, so counting allocates nothing.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct Reason {
    reason: &'static str,
}

/// The label of errors by code.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct Code {
    code: &'static str,
}

/// The label of pushes by outcome.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct PushOutcome {
    outcome: &'static str,
}

/// The content type of [`Metrics::render`]'s output.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Every figure this server reports.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    /// Open WebSocket connections (set when scraped).
    pub connections: Gauge,
    /// WebSocket connections accepted since start.
    pub connections_opened: Counter,
    /// Connections closed, by reason (`slow` and `write_timeout` are the drops).
    closes: Family<Reason, Counter>,
    /// Rooms this node holds (set when scraped).
    pub rooms: Gauge,
    /// Size of the database in bytes (single node; set when scraped).
    pub database_bytes: Gauge,
    /// Names reserved in the database (single node; set when scraped).
    pub names: Gauge,
    /// Rooms in the database (single node; set when scraped).
    pub rooms_stored: Gauge,
    /// `send` frames accepted for storing.
    pub messages_in: Counter,
    /// Messages stored and released to their rooms.
    pub messages_out: Counter,
    /// Frames offered to room members (a message to a room of 10 counts 10).
    pub deliveries: Counter,
    /// Bytes of encoded frames appended to room feeds (each stored once for all members).
    pub feed_bytes: Counter,
    /// Errors sent to clients, by code.
    errors: Family<Code, Counter>,
    /// Time to store one batch of messages: a SQLite commit, or in cluster mode the Redis
    /// pipeline that sequences, stores and publishes it.
    pub history_write_seconds: Histogram,
    /// Pipelines of messages sent to Redis to be sequenced, stored and published (one round
    /// trip each, however many messages it carries).
    pub redis_publish_round_trips: Counter,
    /// Every other round trip to Redis: history reads, gap fills, presence, names, probes.
    pub redis_round_trips: Counter,
    /// Failed Redis commands and lost Redis connections (cluster mode).
    pub redis_errors: Counter,
    /// Web Push, by outcome.
    pushes: Family<PushOutcome, Counter>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// All figures at zero.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("chat");
        let metrics = Metrics {
            connections: Gauge::default(),
            connections_opened: Counter::default(),
            closes: Family::default(),
            rooms: Gauge::default(),
            database_bytes: Gauge::default(),
            names: Gauge::default(),
            rooms_stored: Gauge::default(),
            messages_in: Counter::default(),
            messages_out: Counter::default(),
            deliveries: Counter::default(),
            feed_bytes: Counter::default(),
            errors: Family::default(),
            // 100 µs to ~1.6 s.
            history_write_seconds: Histogram::new(exponential_buckets(0.0001, 2.0, 15)),
            redis_publish_round_trips: Counter::default(),
            redis_round_trips: Counter::default(),
            redis_errors: Counter::default(),
            pushes: Family::default(),
            registry: Registry::default(),
        };
        let m = &metrics;
        let r = &mut registry;
        r.register(
            "connections",
            "Open WebSocket connections",
            m.connections.clone(),
        );
        r.register(
            "connections_opened",
            "WebSocket connections accepted",
            m.connections_opened.clone(),
        );
        r.register(
            "connections_closed",
            "WebSocket connections closed, by reason (slow and write_timeout are drops)",
            m.closes.clone(),
        );
        r.register("rooms", "Rooms held by this node", m.rooms.clone());
        r.register(
            "database_bytes",
            "Size of the SQLite database in bytes (single node)",
            m.database_bytes.clone(),
        );
        r.register(
            "names",
            "Names reserved in the database (single node)",
            m.names.clone(),
        );
        r.register(
            "rooms_stored",
            "Rooms in the database, open or not (single node)",
            m.rooms_stored.clone(),
        );
        r.register(
            "messages_in",
            "Messages accepted from clients for storing",
            m.messages_in.clone(),
        );
        r.register(
            "messages_out",
            "Messages stored and released to their rooms",
            m.messages_out.clone(),
        );
        r.register(
            "deliveries",
            "Frames offered to room members (one per member per frame)",
            m.deliveries.clone(),
        );
        r.register(
            "feed_bytes",
            "Bytes of encoded frames appended to room feeds",
            m.feed_bytes.clone(),
        );
        r.register(
            "errors",
            "Errors sent to clients, by code",
            m.errors.clone(),
        );
        r.register(
            "history_write_seconds",
            "Time to store one batch of messages (SQLite commit, or the Redis publish pipeline)",
            m.history_write_seconds.clone(),
        );
        r.register(
            "redis_publish_round_trips",
            "Pipelines of messages sent to Redis, one round trip each (cluster mode)",
            m.redis_publish_round_trips.clone(),
        );
        r.register(
            "redis_round_trips",
            "Other round trips to Redis: history, gap fills, presence, names, probes (cluster mode)",
            m.redis_round_trips.clone(),
        );
        r.register(
            "redis_errors",
            "Failed Redis commands and lost Redis connections (cluster mode)",
            m.redis_errors.clone(),
        );
        r.register(
            "pushes",
            "Web Push: pushes delivered, retried, failed (after every retry), gone (subscription \
             forgotten) and dropped (queue full)",
            m.pushes.clone(),
        );
        Metrics {
            registry,
            ..metrics
        }
    }

    /// Counts a closed connection.
    pub fn closed(&self, reason: &'static str) {
        self.closes.get_or_create(&Reason { reason }).inc();
    }

    /// The counter of pushes that ended as `outcome` (kept by whoever counts them, so counting
    /// needs no lookup).
    pub fn pushes(&self, outcome: &'static str) -> Counter {
        self.pushes.get_or_create(&PushOutcome { outcome }).clone()
    }

    /// Counts an error sent to a client.
    pub fn error_sent(&self, code: &'static str) {
        self.errors.get_or_create(&Code { code }).inc();
    }

    /// Records how long a history write took.
    pub fn history_write(&self, took: Duration) {
        self.history_write_seconds.observe(took.as_secs_f64());
    }

    /// Everything, in the text exposition format.
    pub fn render(&self) -> String {
        let mut text = String::with_capacity(4096);
        // Writing into a String cannot fail.
        let _ = encode(&mut text, &self.registry);
        text
    }
}

/// A gauge's value type, for setting gauges from counts.
pub fn gauge_value(count: usize) -> i64 {
    i64::try_from(count).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_every_family_with_the_chat_prefix() {
        let metrics = Metrics::new();
        metrics.messages_in.inc_by(3);
        metrics.closed("slow");
        metrics.error_sent("rate_limited");
        metrics.history_write(Duration::from_millis(2));
        let text = metrics.render();
        assert!(text.contains("chat_messages_in_total 3"), "{text}");
        assert!(
            text.contains("chat_connections_closed_total{reason=\"slow\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("chat_errors_total{code=\"rate_limited\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("chat_history_write_seconds_count 1"),
            "{text}"
        );
        assert!(text.ends_with("# EOF\n"), "{text}");
    }
}
