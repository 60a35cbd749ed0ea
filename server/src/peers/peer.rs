//! One client address: its open connections, and the token buckets all of them draw on.

use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};

use super::{
    PeerLimits, Refusal, HANDSHAKE_BURST, HOUR_MS, HTTP_REQUEST_BURST, LOG_INTERVAL, SEND_BURST,
};

/// One client address: its open connections and its shared buckets.
#[derive(Debug)]
pub struct Peer {
    pub(super) connections: AtomicUsize,
    /// Milliseconds since the table started, when this address last took a slot.
    pub(super) last_seen: AtomicU64,
    /// When it last drew on an hourly bucket (0: never), which it must be remembered for.
    pub(super) hourly_used: AtomicU64,
    /// When a refusal of it was last logged (0: never), and how many were not since.
    pub(super) logged: AtomicU64,
    pub(super) unlogged: AtomicU32,
    pub(super) started: Instant,
    pub(super) handshakes: Option<DefaultDirectRateLimiter>,
    pub(super) http_requests: Option<DefaultDirectRateLimiter>,
    pub(super) sends: Option<DefaultDirectRateLimiter>,
    pub(super) name_claims: Option<DefaultDirectRateLimiter>,
    pub(super) room_creations: Option<DefaultDirectRateLimiter>,
    pub(super) sign_ins: Option<DefaultDirectRateLimiter>,
}

impl Peer {
    pub(super) fn new(limits: &PeerLimits, started: Instant) -> Self {
        Peer {
            connections: AtomicUsize::new(0),
            last_seen: AtomicU64::new(0),
            hourly_used: AtomicU64::new(0),
            logged: AtomicU64::new(0),
            unlogged: AtomicU32::new(0),
            started,
            handshakes: bucket(limits.handshakes_per_sec, HANDSHAKE_BURST),
            http_requests: bucket(limits.http_requests_per_sec, HTTP_REQUEST_BURST),
            sends: bucket(limits.sends_per_sec, SEND_BURST),
            name_claims: hourly_bucket(limits.name_claims_per_hour),
            room_creations: hourly_bucket(limits.room_creations_per_hour),
            sign_ins: NonZeroU32::new(limits.sign_ins_per_min)
                .map(|rate| RateLimiter::direct(Quota::per_minute(rate))),
        }
    }

    /// Whether to log a refusal of this address now: at most one line per [`LOG_INTERVAL`],
    /// so a client cannot fill the log. `Some(n)`: log it, with `n` refusals not logged since.
    pub fn log_refusal(&self) -> Option<u32> {
        let now = (self.started.elapsed().as_millis() as u64).max(1);
        let last = self.logged.load(Ordering::Relaxed);
        let due = last == 0 || now.saturating_sub(last) >= LOG_INTERVAL.as_millis() as u64;
        if due
            && self
                .logged
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            return Some(self.unlogged.swap(0, Ordering::Relaxed));
        }
        self.unlogged.fetch_add(1, Ordering::Relaxed);
        None
    }

    /// Counts the claim of a new name: `Err` with the wait when over the hourly limit.
    pub fn check_name_claim(&self) -> Result<(), Duration> {
        self.hourly(self.name_claims.as_ref())
    }

    /// Counts the creation of a room: `Err` with the wait when over the hourly limit.
    pub fn check_room_creation(&self) -> Result<(), Duration> {
        self.hourly(self.room_creations.as_ref())
    }

    fn hourly(&self, bucket: Option<&DefaultDirectRateLimiter>) -> Result<(), Duration> {
        if bucket.is_none() {
            return Ok(());
        }
        let now = (self.started.elapsed().as_millis() as u64).max(1);
        self.hourly_used.store(now, Ordering::Relaxed);
        check(bucket)
    }

    /// Counts a sign-in attempt (429 when over). Remembered like an hourly bucket, so that an
    /// address cannot refill it by going away for a moment.
    pub fn check_sign_in(&self) -> Result<(), Refusal> {
        self.hourly(self.sign_ins.as_ref())
            .map_err(Refusal::TooFast)
    }

    /// Counts a `send` or `typing` frame against the address's shared bucket: `Err` with the
    /// wait when it is empty.
    pub fn check_send(&self) -> Result<(), Duration> {
        check(self.sends.as_ref())
    }

    /// Counts a WebSocket handshake (429 when over).
    pub fn check_handshake(&self) -> Result<(), Refusal> {
        check(self.handshakes.as_ref()).map_err(Refusal::TooFast)
    }

    /// Counts an HTTP request (429 when over).
    pub fn check_http_request(&self) -> Result<(), Refusal> {
        check(self.http_requests.as_ref()).map_err(Refusal::TooFast)
    }

    pub(super) fn is_forgettable(&self, now: u64, idle_after: u64) -> bool {
        let hourly = self.hourly_used.load(Ordering::Relaxed);
        self.connections.load(Ordering::Acquire) == 0
            && now.saturating_sub(self.last_seen.load(Ordering::Relaxed)) > idle_after
            && (hourly == 0 || now.saturating_sub(hourly) > HOUR_MS)
    }
}

/// A token bucket of `per_second` with bursts of `burst` (a zero burst: the rate), or `None`
/// when `per_second` is 0 (the limit is off). Every per-second limit of the server is one.
pub fn bucket(per_second: u32, burst: u32) -> Option<DefaultDirectRateLimiter> {
    let rate = NonZeroU32::new(per_second)?;
    let burst = NonZeroU32::new(burst).unwrap_or(rate);
    Some(RateLimiter::direct(
        Quota::per_second(rate).allow_burst(burst),
    ))
}

/// `per_hour` spread over the hour, all of it available at once.
pub(super) fn hourly_bucket(per_hour: u32) -> Option<DefaultDirectRateLimiter> {
    let rate = NonZeroU32::new(per_hour)?;
    Some(RateLimiter::direct(Quota::per_hour(rate)))
}

/// Takes a token from `bucket` (none: no limit): `Err` with how long until one is there.
pub fn check(bucket: Option<&DefaultDirectRateLimiter>) -> Result<(), Duration> {
    match bucket.map(|bucket| bucket.check()) {
        None | Some(Ok(())) => Ok(()),
        Some(Err(not_until)) => Err(not_until.wait_time_from(DefaultClock::default().now())),
    }
}
