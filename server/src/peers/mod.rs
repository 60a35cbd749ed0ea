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
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::http::{HeaderMap, StatusCode};
use ipnet::IpNet;

mod peer;
use parking_lot::{Mutex, RwLock};
pub use peer::Peer;
pub use peer::{bucket, check};

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
    /// Sign-in attempts per address per minute (all at once if need be).
    pub sign_ins_per_min: u32,
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
    /// Address ranges an administrator banned (open mode), each until a time (ms since the
    /// epoch). Read at each WebSocket handshake, written when a ban changes.
    banned: RwLock<Vec<(IpNet, u64)>>,
}

#[derive(Debug, Default)]
struct Table {
    by_addr: HashMap<IpAddr, Arc<Peer>>,
    /// Size after the last sweep.
    swept_at: usize,
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
    /// An administrator banned the address's range for a while (403).
    Banned,
}

impl Refusal {
    /// The HTTP status: 503 when the server is full, 429 when this address is over its share.
    pub fn status(self) -> StatusCode {
        match self {
            Refusal::ServerFull => StatusCode::SERVICE_UNAVAILABLE,
            Refusal::TooManyConnections | Refusal::TooFast(_) => StatusCode::TOO_MANY_REQUESTS,
            Refusal::Banned => StatusCode::FORBIDDEN,
        }
    }

    /// Whole seconds for `Retry-After` (at least 1).
    pub fn retry_after_secs(self) -> u64 {
        match self {
            Refusal::ServerFull | Refusal::TooManyConnections | Refusal::Banned => 1,
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
            Refusal::Banned => "your address is banned from this chat for a while",
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
            banned: RwLock::new(Vec::new()),
        })
    }

    /// Replaces the banned address ranges (each with when its ban ends, ms since the epoch).
    pub fn set_banned(&self, banned: Vec<(IpNet, u64)>) {
        *self.banned.write() = banned;
    }

    /// `Banned` if `addr` is in a range banned at `now_ms`.
    pub fn check_banned(&self, addr: IpAddr, now_ms: u64) -> Result<(), Refusal> {
        let addr = canonical(addr);
        let banned = self.banned.read();
        if banned
            .iter()
            .any(|(range, until)| *until > now_ms && range.contains(&addr))
        {
            return Err(Refusal::Banned);
        }
        Ok(())
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
        if !take_one(&self.open, self.limits.max_connections) {
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
            .or_insert_with(|| Arc::new(Peer::new(&self.limits, self.started)))
            .clone();
        drop(table);
        peer.last_seen.store(now, Ordering::Relaxed);
        if count
            && !take_one(
                &peer.connections,
                self.limits.max_connections_per_ip as usize,
            )
        {
            return Err(Refusal::TooManyConnections);
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

    /// Whether `addr` is one of the `--trusted-proxy` networks (whose forwarded headers count).
    pub fn is_trusted_proxy(&self, addr: IpAddr) -> bool {
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

    /// Counts an HTTP request from `addr`, a client behind a trusted proxy (a direct client's
    /// requests are counted on the peer its socket holds, without a lookup).
    pub fn http_request(&self, addr: IpAddr) -> Result<(), Refusal> {
        self.peer(addr, false)?.check_http_request()
    }

    /// Counts a sign-in attempt from `client`: on the socket's own peer for a direct client,
    /// looked up for one behind a trusted proxy.
    pub fn sign_in(&self, socket: &Slot, peer: IpAddr, headers: &HeaderMap) -> Result<(), Refusal> {
        match self.client_of(peer, headers) {
            Some(client) if client != peer => self.peer(client, false)?.check_sign_in(),
            _ => socket.peer().check_sign_in(),
        }
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

/// Adds one to `counter` unless it holds `cap` already (0: no cap); whether it did.
fn take_one(counter: &AtomicUsize, cap: usize) -> bool {
    counter
        .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
            (cap == 0 || n < cap).then_some(n + 1)
        })
        .is_ok()
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
mod tests;
