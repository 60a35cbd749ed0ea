//! What one client address may spend: open sockets, handshakes, HTTP requests and chat frames.
//!
//! Limits per connection alone are worth little when opening another connection is free. Each
//! accepted socket takes a [`Slot`] here first, counted against `--max-connections` and, per
//! address, `--max-connections-per-ip`; the address's [`Peer`] holds token buckets that all its
//! connections share. A connection looks its peer up once, when it is accepted, and keeps it:
//! the per-message check is an atomic operation on that peer's bucket, with no shared lock.
//!
//! An address is the peer's IP, or its /64 for IPv6 (one subscriber's network). Behind a load
//! balancer every client arrives from the balancer, so when the peer is a `--trusted-proxy`
//! the address comes from `X-Forwarded-For` instead (see [`Peers::client_of`]).
//!
//! The table forgets an address once it has no connection and its buckets have refilled (a
//! forgotten address would start with full buckets, which is what it has then anyway), so its
//! size follows the addresses active in the last few seconds.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr};
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::http::HeaderMap;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use ipnet::IpNet;
use parking_lot::Mutex;

/// Handshakes an address may make at once above `--handshakes-per-ip-per-sec`.
pub const HANDSHAKE_BURST: u32 = 30;
/// HTTP requests an address may make at once above `--http-requests-per-ip-per-sec` (a first
/// visit to the page is about five).
pub const HTTP_REQUEST_BURST: u32 = 50;
/// `send` and `typing` frames an address may send at once above `--rate-limit-per-ip-per-sec`.
pub const SEND_BURST: u32 = 60;

/// Addresses the table keeps at most. Beyond it, addresses without a connection are forgotten
/// oldest first even if an hourly bucket of theirs has not refilled: an attacker with more
/// addresses than this could start some of them afresh, which costs it far more than it gains.
pub const MAX_TRACKED: usize = 100_000;

/// Refusals of one address are logged at most once per this interval.
pub const LOG_INTERVAL: Duration = Duration::from_secs(10);

/// The longest a value a client sent is logged: the start says what it was.
pub const LOGGED_VALUE_BYTES: usize = 128;

/// A value a client sent, fit for a log line: at most [`LOGGED_VALUE_BYTES`] (cut on a
/// character boundary, marked with "…"), quoted and escaped.
pub fn loggable(value: &str) -> String {
    let mut end = value.len().min(LOGGED_VALUE_BYTES);
    while !value.is_char_boundary(end) {
        end -= 1;
    }
    if end < value.len() {
        format!("{:?}…", &value[..end])
    } else {
        format!("{value:?}")
    }
}

/// An hour, the period of the name and room buckets.
const HOUR_MS: u64 = 3_600_000;

/// The table is swept for forgettable addresses when it has grown by this factor since.
const SWEEP_GROWTH: usize = 2;
/// ... but never below this size.
const SWEEP_FLOOR: usize = 1024;

/// The per-address limits (0 turns one off).
#[derive(Debug, Clone)]
pub struct PeerLimits {
    /// Open sockets, all addresses together.
    pub max_connections: usize,
    /// Open sockets per address.
    pub max_connections_per_ip: u32,
    /// WebSocket handshakes per address per second (burst [`HANDSHAKE_BURST`]).
    pub handshakes_per_sec: u32,
    /// HTTP requests other than the WebSocket handshake and the health checks, per address per
    /// second (burst [`HTTP_REQUEST_BURST`]).
    pub http_requests_per_sec: u32,
    /// `send` and `typing` frames per address per second (burst [`SEND_BURST`]).
    pub sends_per_sec: u32,
    /// New names per address per hour (all at once if need be).
    pub name_claims_per_hour: u32,
    /// New rooms per address per hour (all at once if need be).
    pub room_creations_per_hour: u32,
    /// Peers whose `X-Forwarded-For` names the client.
    pub trusted_proxies: Vec<IpNet>,
}

/// Every address with an open connection or a bucket still refilling.
#[derive(Debug)]
pub struct Peers {
    limits: PeerLimits,
    table: Mutex<Table>,
    open: AtomicUsize,
    started: Instant,
}

#[derive(Debug, Default)]
struct Table {
    by_addr: HashMap<IpAddr, Arc<Peer>>,
    /// Size after the last sweep.
    swept_at: usize,
}

/// One client address: its open connections and its shared buckets.
#[derive(Debug)]
pub struct Peer {
    addr: IpAddr,
    connections: AtomicU32,
    /// Milliseconds since the table started, when this address last took a slot.
    last_seen: AtomicU64,
    /// When it last drew on an hourly bucket (0: never), which it must be remembered for.
    hourly_used: AtomicU64,
    /// When a refusal of it was last logged (0: never), and how many were not since.
    logged: AtomicU64,
    unlogged: AtomicU32,
    started: Instant,
    handshakes: Option<DefaultDirectRateLimiter>,
    http_requests: Option<DefaultDirectRateLimiter>,
    sends: Option<DefaultDirectRateLimiter>,
    name_claims: Option<DefaultDirectRateLimiter>,
    room_creations: Option<DefaultDirectRateLimiter>,
}

/// A connection's place in the count: given back when dropped. Shared (in an `Arc`) by the
/// HTTP connection and, after an upgrade, the WebSocket connection, so the socket counts until
/// both are done with it.
#[derive(Debug)]
pub struct Slot {
    peers: Arc<Peers>,
    peer: Arc<Peer>,
    /// Whether this slot counts against its address's cap (not for a proxy's own socket: its
    /// clients are counted by their forwarded address when they upgrade).
    per_ip: bool,
    /// Whether it counts a socket in the total (not for a forwarded client, whose socket is
    /// the proxy's, counted already).
    socket: bool,
    /// A forwarded client's connection holds the proxy socket's slot too: that socket stays
    /// open (and counted) as long as the client.
    _proxy_socket: Option<Arc<Slot>>,
}

/// Why a connection or request was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// `--max-connections` sockets are open (503).
    ServerFull,
    /// The address has `--max-connections-per-ip` sockets open (429).
    TooManyConnections,
    /// The address is over its handshake or HTTP request rate (429): retry after this long.
    TooFast(Duration),
}

impl Refusal {
    /// The HTTP status: 503 when the server is full, 429 when this address is over its share.
    pub fn status(self) -> u16 {
        match self {
            Refusal::ServerFull => 503,
            Refusal::TooManyConnections | Refusal::TooFast(_) => 429,
        }
    }

    /// Whole seconds for `Retry-After` (at least 1).
    pub fn retry_after_secs(self) -> u64 {
        match self {
            Refusal::ServerFull | Refusal::TooManyConnections => 1,
            Refusal::TooFast(wait) => wait.as_secs() + u64::from(wait.subsec_nanos() > 0),
        }
        .max(1)
    }

    /// What the client is told.
    pub fn reason(self) -> &'static str {
        match self {
            Refusal::ServerFull => "the server has as many connections as it takes; retry later",
            Refusal::TooManyConnections => "too many connections from your address",
            Refusal::TooFast(_) => "too many requests from your address; slow down",
        }
    }
}

impl Peers {
    /// An empty table enforcing `limits`.
    pub fn new(limits: PeerLimits) -> Arc<Self> {
        Arc::new(Peers {
            limits,
            table: Mutex::new(Table::default()),
            open: AtomicUsize::new(0),
            started: Instant::now(),
        })
    }

    /// The limits in force.
    pub fn limits(&self) -> &PeerLimits {
        &self.limits
    }

    /// Sockets open now.
    pub fn open(&self) -> usize {
        self.open.load(Ordering::Relaxed)
    }

    /// Addresses in the table now.
    pub fn tracked(&self) -> usize {
        self.table.lock().by_addr.len()
    }

    /// Takes a slot for a socket just accepted from `peer`.
    pub fn admit(self: &Arc<Self>, peer: IpAddr) -> Result<Arc<Slot>, Refusal> {
        let per_ip = !self.is_trusted_proxy(peer);
        self.take_slot(peer, per_ip)
    }

    /// Takes a slot for a client behind a trusted proxy, named by `X-Forwarded-For`, when it
    /// upgrades to WebSocket on `proxy_socket` (which it then holds for as long as it stays).
    /// Only the per-address cap applies: the proxy's socket is already counted in the total.
    pub fn admit_forwarded(
        self: &Arc<Self>,
        client: IpAddr,
        proxy_socket: Arc<Slot>,
    ) -> Result<Arc<Slot>, Refusal> {
        let peer = self.peer(client, true)?;
        Ok(Arc::new(Slot {
            peers: self.clone(),
            peer,
            per_ip: true,
            socket: false,
            _proxy_socket: Some(proxy_socket),
        }))
    }

    fn take_slot(self: &Arc<Self>, addr: IpAddr, per_ip: bool) -> Result<Arc<Slot>, Refusal> {
        let max = self.limits.max_connections;
        let taken = self
            .open
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |open| {
                (max == 0 || open < max).then_some(open + 1)
            });
        if taken.is_err() {
            return Err(Refusal::ServerFull);
        }
        match self.peer(addr, per_ip) {
            Ok(peer) => Ok(Arc::new(Slot {
                peers: self.clone(),
                peer,
                per_ip,
                socket: true,
                _proxy_socket: None,
            })),
            Err(refusal) => {
                self.open.fetch_sub(1, Ordering::AcqRel);
                Err(refusal)
            }
        }
    }

    /// The address's entry, with one more connection counted on it if `count`.
    fn peer(&self, addr: IpAddr, count: bool) -> Result<Arc<Peer>, Refusal> {
        let key = key_of(addr);
        let now = self.millis();
        let mut table = self.table.lock();
        if table.by_addr.len() >= (table.swept_at * SWEEP_GROWTH).clamp(SWEEP_FLOOR, MAX_TRACKED) {
            self.sweep(&mut table, now);
        }
        let peer = table
            .by_addr
            .entry(key)
            .or_insert_with(|| Arc::new(Peer::new(key, &self.limits, self.started)))
            .clone();
        drop(table);
        peer.last_seen.store(now, Ordering::Relaxed);
        if count {
            let cap = self.limits.max_connections_per_ip;
            let counted = peer
                .connections
                .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                    (cap == 0 || n < cap).then_some(n + 1)
                });
            if counted.is_err() {
                return Err(Refusal::TooManyConnections);
            }
        }
        Ok(peer)
    }

    /// Forgets addresses with nothing left to remember, then, over [`MAX_TRACKED`], the idle
    /// ones seen longest ago.
    fn sweep(&self, table: &mut Table, now: u64) {
        let idle_after = self.refill_millis();
        table
            .by_addr
            .retain(|_, peer| !peer.is_forgettable(now, idle_after));
        if table.by_addr.len() >= MAX_TRACKED {
            let mut idle: Vec<(u64, IpAddr)> = table
                .by_addr
                .iter()
                .filter(|(_, peer)| peer.connections.load(Ordering::Acquire) == 0)
                .map(|(addr, peer)| (peer.last_seen.load(Ordering::Relaxed), *addr))
                .collect();
            idle.sort_unstable();
            let excess = table.by_addr.len() - MAX_TRACKED / 2;
            for (_, addr) in idle.into_iter().take(excess) {
                table.by_addr.remove(&addr);
            }
        }
        table.swept_at = table.by_addr.len();
    }

    /// The longest a per-second bucket takes to refill from empty, in milliseconds: an address
    /// idle for that long that used no hourly bucket has nothing left to remember.
    fn refill_millis(&self) -> u64 {
        let limits = &self.limits;
        [
            (HANDSHAKE_BURST, limits.handshakes_per_sec),
            (HTTP_REQUEST_BURST, limits.http_requests_per_sec),
            (SEND_BURST, limits.sends_per_sec),
        ]
        .into_iter()
        .filter(|(_, rate)| *rate > 0)
        .map(|(burst, rate)| u64::from(burst) * 1000 / u64::from(rate) + 1)
        .max()
        .unwrap_or(0)
    }

    fn millis(&self) -> u64 {
        self.started.elapsed().as_millis() as u64
    }

    fn is_trusted_proxy(&self, addr: IpAddr) -> bool {
        let addr = canonical(addr);
        self.limits
            .trusted_proxies
            .iter()
            .any(|net| net.contains(&addr))
    }

    /// The client a request comes from: the socket's peer, or, when that is a trusted proxy,
    /// the nearest address in `X-Forwarded-For` that is not itself a trusted proxy (the ones
    /// further left were written by the client and prove nothing). `None` when a trusted proxy
    /// sent no usable header.
    pub fn client_of(&self, peer: IpAddr, headers: &HeaderMap) -> Option<IpAddr> {
        if !self.is_trusted_proxy(peer) {
            return Some(peer);
        }
        let forwarded: Vec<IpAddr> = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(','))
            .filter_map(|part| part.trim().parse().ok())
            .collect();
        forwarded
            .into_iter()
            .rev()
            .find(|addr| !self.is_trusted_proxy(*addr))
    }

    /// Counts a WebSocket handshake from `addr`.
    pub fn handshake(&self, addr: IpAddr) -> Result<(), Refusal> {
        let peer = self.peer(addr, false)?;
        check(peer.handshakes.as_ref())
    }

    /// Counts an HTTP request from `addr`.
    pub fn http_request(&self, addr: IpAddr) -> Result<(), Refusal> {
        let peer = self.peer(addr, false)?;
        check(peer.http_requests.as_ref())
    }
}

impl Peer {
    fn new(addr: IpAddr, limits: &PeerLimits, started: Instant) -> Self {
        Peer {
            addr,
            connections: AtomicU32::new(0),
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
        match check(bucket) {
            Err(Refusal::TooFast(wait)) => Err(wait),
            _ => Ok(()),
        }
    }

    /// The address as counted (IPv6: its /64).
    pub fn addr(&self) -> IpAddr {
        self.addr
    }

    /// Counts a `send` or `typing` frame against the address's shared bucket: `Err` with the
    /// wait when it is empty.
    pub fn check_send(&self) -> Result<(), Duration> {
        match check(self.sends.as_ref()) {
            Ok(()) => Ok(()),
            Err(Refusal::TooFast(wait)) => Err(wait),
            Err(_) => Ok(()),
        }
    }

    fn is_forgettable(&self, now: u64, idle_after: u64) -> bool {
        let hourly = self.hourly_used.load(Ordering::Relaxed);
        self.connections.load(Ordering::Acquire) == 0
            && now.saturating_sub(self.last_seen.load(Ordering::Relaxed)) > idle_after
            && (hourly == 0 || now.saturating_sub(hourly) > HOUR_MS)
    }
}

impl Slot {
    /// The address this connection counts against.
    pub fn peer(&self) -> &Arc<Peer> {
        &self.peer
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        if self.per_ip {
            self.peer.connections.fetch_sub(1, Ordering::AcqRel);
        }
        if self.socket {
            self.peers.open.fetch_sub(1, Ordering::AcqRel);
        }
    }
}

fn bucket(per_second: u32, burst: u32) -> Option<DefaultDirectRateLimiter> {
    let rate = NonZeroU32::new(per_second)?;
    let burst = NonZeroU32::new(burst).unwrap_or(rate);
    Some(RateLimiter::direct(
        Quota::per_second(rate).allow_burst(burst),
    ))
}

/// `per_hour` spread over the hour, all of it available at once.
fn hourly_bucket(per_hour: u32) -> Option<DefaultDirectRateLimiter> {
    let rate = NonZeroU32::new(per_hour)?;
    Some(RateLimiter::direct(Quota::per_hour(rate)))
}

fn check(bucket: Option<&DefaultDirectRateLimiter>) -> Result<(), Refusal> {
    match bucket.map(|bucket| bucket.check()) {
        None | Some(Ok(())) => Ok(()),
        Some(Err(not_until)) => Err(Refusal::TooFast(
            not_until.wait_time_from(DefaultClock::default().now()),
        )),
    }
}

/// IPv4-mapped IPv6 addresses are IPv4 clients.
fn canonical(addr: IpAddr) -> IpAddr {
    match addr {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(addr, IpAddr::V4),
        v4 => v4,
    }
}

/// The address as counted: IPv4 as it is, IPv6 as its /64, since one subscriber is usually
/// given a whole /64 and could otherwise change address at will.
fn key_of(addr: IpAddr) -> IpAddr {
    match canonical(addr) {
        IpAddr::V6(v6) => {
            let bits = u128::from(v6) & !((1u128 << 64) - 1);
            IpAddr::V6(Ipv6Addr::from(bits))
        }
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> PeerLimits {
        PeerLimits {
            max_connections: 0,
            max_connections_per_ip: 2,
            handshakes_per_sec: 0,
            http_requests_per_sec: 0,
            sends_per_sec: 0,
            name_claims_per_hour: 0,
            room_creations_per_hour: 0,
            trusted_proxies: vec!["10.0.0.0/8".parse().unwrap()],
        }
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn an_ipv6_network_of_64_bits_is_one_address_and_mapped_ipv4_is_ipv4() {
        let peers = Peers::new(limits());
        let _a = peers.admit(ip("2001:db8:1:2::1")).unwrap();
        let _b = peers.admit(ip("2001:db8:1:2:ffff::9")).unwrap();
        assert_eq!(
            peers.admit(ip("2001:db8:1:2::77")).err(),
            Some(Refusal::TooManyConnections),
            "the same /64"
        );
        let _other = peers.admit(ip("2001:db8:1:3::1")).unwrap();
        let _v4 = peers.admit(ip("192.0.2.1")).unwrap();
        let _mapped = peers.admit(ip("::ffff:192.0.2.1")).unwrap();
        assert_eq!(
            peers.admit(ip("192.0.2.1")).err(),
            Some(Refusal::TooManyConnections)
        );
    }

    #[test]
    fn forwarded_addresses_count_only_from_a_trusted_proxy() {
        let peers = Peers::new(limits());
        let mut headers = HeaderMap::new();
        headers.insert(
            "x-forwarded-for",
            "198.51.100.7, 203.0.113.9, 10.1.1.1".parse().unwrap(),
        );
        assert_eq!(
            peers.client_of(ip("192.0.2.1"), &headers),
            Some(ip("192.0.2.1"))
        );
        assert_eq!(
            peers.client_of(ip("10.0.0.2"), &headers),
            Some(ip("203.0.113.9")),
            "the nearest untrusted hop, not what the client wrote first"
        );
        headers.insert("x-forwarded-for", "10.2.2.2".parse().unwrap());
        assert_eq!(peers.client_of(ip("10.0.0.2"), &headers), None);
        // A proxy's own sockets are not capped per address; its clients are.
        let proxy: Vec<_> = (0..5)
            .map(|_| peers.admit(ip("10.0.0.2")).unwrap())
            .collect();
        let first = peers
            .admit_forwarded(ip("203.0.113.9"), proxy[0].clone())
            .unwrap();
        let _second = peers
            .admit_forwarded(ip("203.0.113.9"), proxy[1].clone())
            .unwrap();
        assert!(peers
            .admit_forwarded(ip("203.0.113.9"), proxy[2].clone())
            .is_err());
        drop(first);
        assert!(peers
            .admit_forwarded(ip("203.0.113.9"), proxy[2].clone())
            .is_ok());
    }

    #[test]
    fn refusals_are_logged_once_per_interval_with_a_count_and_values_are_cut() {
        let peers = Peers::new(limits());
        let slot = peers.admit(ip("192.0.2.9")).unwrap();
        assert_eq!(slot.peer().log_refusal(), Some(0));
        for _ in 0..5 {
            assert_eq!(slot.peer().log_refusal(), None);
        }
        let long = "é".repeat(300);
        let shown = loggable(&long);
        assert!(shown.len() <= LOGGED_VALUE_BYTES + 8, "{}", shown.len());
        assert!(shown.ends_with('…'));
        assert_eq!(loggable("a\nb"), "\"a\\nb\"");
    }

    #[test]
    fn slots_are_given_back_and_forgotten_addresses_keep_the_table_small() {
        let peers = Peers::new(limits());
        for i in 0..5000u32 {
            let addr = IpAddr::from(std::net::Ipv4Addr::from(0xC000_0000 + i));
            drop(peers.admit(addr).unwrap());
            if i % 500 == 0 {
                // Let a millisecond pass, after which an idle address may be forgotten.
                std::thread::sleep(Duration::from_millis(2));
            }
        }
        assert_eq!(peers.open(), 0);
        assert!(
            peers.tracked() <= SWEEP_FLOOR,
            "{} tracked",
            peers.tracked()
        );
    }
}
