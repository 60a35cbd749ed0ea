//! Command-line and environment configuration.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use chat_shared::Limits;
use clap::Parser;
use ipnet::IpNet;

/// Everything an operator can tune. Every flag can also come from the environment variable
/// named beside it, which is how containers and service managers usually configure a server.
#[derive(Debug, Clone, Parser)]
#[command(
    name = "chat-server",
    version,
    about = "Real-time chat server over WebSocket"
)]
pub struct Config {
    /// Address to listen on.
    #[arg(long, env = "CHAT_ADDR", default_value = "127.0.0.1:8080")]
    pub addr: SocketAddr,

    /// How far, in bytes of messages, a client may fall behind the newest one before it is
    /// dropped as too slow (at least 131072). The server keeps this much recent history once,
    /// for all clients together.
    #[arg(long, env = "CHAT_CLIENT_BUFFER_BYTES", default_value_t = 1024 * 1024)]
    pub client_buffer_bytes: usize,

    /// How long one write to a client may take before the client is dropped (e.g. "10s"),
    /// WebSocket or plain HTTP.
    #[arg(long, env = "CHAT_WRITE_TIMEOUT", default_value = "10s", value_parser = humantime::parse_duration)]
    pub write_timeout: Duration,

    /// How often the server pings each client.
    #[arg(long, env = "CHAT_PING_INTERVAL", default_value = "54s", value_parser = humantime::parse_duration)]
    pub ping_interval: Duration,

    /// Drop a client the server has heard nothing from (no pong, no frame) for this long.
    #[arg(long, env = "CHAT_PONG_TIMEOUT", default_value = "60s", value_parser = humantime::parse_duration)]
    pub pong_timeout: Duration,

    /// Largest inbound WebSocket message; a larger one closes the connection with code 1009.
    #[arg(long, env = "CHAT_MAX_FRAME_BYTES", default_value_t = chat_shared::DEFAULT_MAX_FRAME_BYTES)]
    pub max_frame_bytes: u32,

    /// An extra origin (e.g. "https://chat.example.com") whose pages may connect, besides the
    /// server's own. Repeat the flag, or separate origins with commas in the variable.
    #[arg(
        long = "allowed-origin",
        env = "CHAT_ALLOWED_ORIGINS",
        value_delimiter = ','
    )]
    pub allowed_origins: Vec<String>,

    /// Kernel send buffer per client socket (SO_SNDBUF; Linux doubles it), 0 for the OS default.
    /// Bounding it means a client that stops reading blocks our writes soon, so the write
    /// timeout and backlog budget apply promptly instead of after megabytes of kernel buffering.
    #[arg(long, env = "CHAT_SOCKET_SEND_BUFFER", default_value_t = 128 * 1024)]
    pub socket_send_buffer: usize,

    /// How far apart a busy client's writes are spaced ("0ms": never wait). Under light load
    /// every message leaves at once; once messages pile up between two writes to a client (the
    /// server is busy), its next write waits this long so that more share it, which is what
    /// keeps a saturated core from collapsing (see BENCHMARKS.md).
    #[arg(long, env = "CHAT_MIN_WRITE_INTERVAL", default_value = "15ms", value_parser = humantime::parse_duration)]
    pub min_write_interval: Duration,

    /// Longest a client may take to send a request's headers (including a WebSocket handshake)
    /// before the connection is closed, so idle half-open requests cannot pile up.
    #[arg(long, env = "CHAT_HEADER_TIMEOUT", default_value = "10s", value_parser = humantime::parse_duration)]
    pub header_timeout: Duration,

    /// Largest request head (request line and headers) a client may send; a larger one is
    /// answered 431 and the connection closed (at least 8192).
    #[arg(long, env = "CHAT_MAX_HEADER_BYTES", default_value_t = 16 * 1024)]
    pub max_header_bytes: usize,

    /// On SIGINT/SIGTERM, how long to wait for clients to take their close frames before exiting.
    #[arg(long, env = "CHAT_SHUTDOWN_GRACE", default_value = "3s", value_parser = humantime::parse_duration)]
    pub shutdown_grace: Duration,

    /// Folder for the SQLite database (history, rooms, name reservations); created if missing.
    #[arg(long, env = "CHAT_DATA_DIR", default_value = "data")]
    pub data_dir: PathBuf,

    /// Entries (messages and events) kept per room; older ones are deleted as new ones arrive. Default: all (0) on a
    /// single node, 10,000 in cluster mode (each room's Redis stream, trimmed approximately).
    #[arg(long, env = "CHAT_HISTORY_PER_ROOM")]
    pub history_per_room: Option<u64>,

    /// Redis to share rooms, history, names and presence with other nodes (e.g.
    /// "redis://127.0.0.1:6379/0"). Without it the server runs alone with SQLite.
    #[arg(long, env = "CHAT_REDIS_URL")]
    pub redis_url: Option<String>,

    /// Cluster mode: how long the members of a node that stopped without saying goodbye stay
    /// listed. Each node refreshes its members' entries several times within it.
    #[arg(long, env = "CHAT_PRESENCE_TTL", default_value = "30s", value_parser = humantime::parse_duration)]
    pub presence_ttl: Duration,

    /// Largest size the database may grow to, in bytes (0: no limit). When it is full, new
    /// messages are refused with `history_unavailable` until space is freed.
    #[arg(long, env = "CHAT_MAX_DATABASE_BYTES", default_value_t = 0)]
    pub max_database_bytes: u64,

    /// Messages sent with `joined` when a client joins without resuming (at most 1000).
    #[arg(long, env = "CHAT_JOIN_HISTORY", default_value_t = 50)]
    pub join_history: u32,

    /// Rooms one connection may be in at once.
    #[arg(long, env = "CHAT_MAX_ROOMS_PER_CONNECTION", default_value_t = 50)]
    pub max_rooms_per_connection: usize,

    /// Rooms the server holds; joining a new room beyond it is refused with `room_limit`.
    #[arg(long, env = "CHAT_MAX_ROOMS", default_value_t = 10_000)]
    pub max_rooms: usize,

    /// Sustained `send` and `typing` frames per second per connection (0 turns the limit off).
    #[arg(long, env = "CHAT_RATE_LIMIT_PER_SEC", default_value_t = 5)]
    pub rate_limit_per_sec: u32,

    /// How many `send`/`typing` frames a connection may send at once above the sustained rate.
    #[arg(long, env = "CHAT_RATE_LIMIT_BURST", default_value_t = 20)]
    pub rate_limit_burst: u32,

    /// Sockets the server keeps open, all clients together; a new one beyond it is answered
    /// 503 and closed (0: no limit). Counted from accept, before any request is read.
    #[arg(long, env = "CHAT_MAX_CONNECTIONS", default_value_t = 50_000)]
    pub max_connections: usize,

    /// Sockets one client address (IPv6: its /64) may keep open; one more is answered 429 and
    /// closed (0: no limit).
    #[arg(long, env = "CHAT_MAX_CONNECTIONS_PER_IP", default_value_t = 256)]
    pub max_connections_per_ip: u32,

    /// WebSocket handshakes per second one address may make, with bursts of 30; beyond it 429
    /// (0: no limit). Each handshake joins a room and reads its history.
    #[arg(long, env = "CHAT_HANDSHAKES_PER_IP_PER_SEC", default_value_t = 10)]
    pub handshakes_per_ip_per_sec: u32,

    /// HTTP requests per second one address may make (pages, files, /metrics; not /healthz,
    /// /readyz or the WebSocket handshake), with bursts of 50; beyond it 429 (0: no limit).
    #[arg(long, env = "CHAT_HTTP_REQUESTS_PER_IP_PER_SEC", default_value_t = 20)]
    pub http_requests_per_ip_per_sec: u32,

    /// Sustained `send` and `typing` frames per second per address, all its connections
    /// together, with bursts of 60 (0: no limit). Per connection, `--rate-limit-per-sec`.
    #[arg(long, env = "CHAT_RATE_LIMIT_PER_IP_PER_SEC", default_value_t = 20)]
    pub rate_limit_per_ip_per_sec: u32,

    /// Sustained `hello`, `join`, `leave` and `history` frames (and frames refused as invalid)
    /// per second per connection, with bursts of 60 (a reconnect re-joins up to 50 rooms); ten
    /// times the rate for ten seconds closes the connection with 1008 (0: no limit).
    #[arg(long, env = "CHAT_REQUEST_RATE_PER_SEC", default_value_t = 10)]
    pub request_rate_per_sec: u32,

    /// WebSocket frames of any kind (pings and empty fragments included) per second per
    /// connection, with bursts of 1000; beyond it the connection is closed with 1008
    /// `frame_rate` (0: no limit).
    #[arg(long, env = "CHAT_MAX_FRAMES_PER_SEC", default_value_t = 200)]
    pub max_frames_per_sec: u32,

    /// Rooms with more members than this do not list them: `joined` and presence frames carry
    /// how many there are instead of who (0: always list). Listing costs every newcomer, and
    /// the server, the room's size.
    #[arg(long, env = "CHAT_PRESENCE_LIST_MAX", default_value_t = 1000)]
    pub presence_list_max: usize,

    /// A reserved name not presented with its token for this long is freed (e.g. "30d").
    #[arg(long, env = "CHAT_NAME_TTL", default_value = "30d", value_parser = humantime::parse_duration)]
    pub name_ttl: Duration,

    /// New names (a `hello` without a token) one client address may claim per hour; beyond it
    /// `rate_limited` (0: no limit).
    #[arg(long, env = "CHAT_NAME_CLAIMS_PER_IP_PER_HOUR", default_value_t = 20)]
    pub name_claims_per_ip_per_hour: u32,

    /// Rooms one client address may create per hour (by joining a room that does not exist);
    /// beyond it `rate_limited` (0: no limit).
    #[arg(
        long,
        env = "CHAT_ROOM_CREATIONS_PER_IP_PER_HOUR",
        default_value_t = 30
    )]
    pub room_creations_per_ip_per_hour: u32,

    /// A room that has never had a message and has had no member for this long is deleted,
    /// freeing its place under `--max-rooms` (e.g. "24h"; "0s": never).
    #[arg(long, env = "CHAT_EMPTY_ROOM_TTL", default_value = "24h", value_parser = humantime::parse_duration)]
    pub empty_room_ttl: Duration,

    /// A load balancer or proxy (an address or a network, e.g. "10.0.0.0/8") whose
    /// `X-Forwarded-For` names the client, for the per-address limits. Repeat the flag, or
    /// separate them with commas in the variable. Without it the socket's peer is the client.
    #[arg(long = "trusted-proxy", env = "CHAT_TRUSTED_PROXIES", value_delimiter = ',', value_parser = parse_network)]
    pub trusted_proxies: Vec<IpNet>,

    /// Who may use the server: `accounts` (the default: only signed-in accounts, made by
    /// invitation; nothing is readable or writable without one), `open` (anyone, under any
    /// free name: public demo rooms, cluster mode and the benchmarks), or `jwt` (an application
    /// that has its own users signs a token for each: `--jwt-secret-file` or
    /// `--jwt-public-key-file`).
    #[arg(long, env = "CHAT_ACCESS", value_enum, default_value_t = Access::Accounts)]
    pub access: Access,

    /// A sign-in session unused this long ends (accounts mode; e.g. "30d").
    #[arg(long, env = "CHAT_SESSION_TTL", default_value = "30d", value_parser = humantime::parse_duration)]
    pub session_ttl: Duration,

    /// Where people reach this server (e.g. "https://chat.example.com"): the links it prints
    /// (set-up, invitations) start with it, and an https address makes the session cookie
    /// `Secure`. Without it, links use the listening address.
    #[arg(long, env = "CHAT_PUBLIC_URL")]
    pub public_url: Option<String>,

    /// `jwt` mode: a file holding the HS256 secret the application signs tokens with (its
    /// bytes as they are, a trailing newline dropped).
    #[arg(long, env = "CHAT_JWT_SECRET_FILE")]
    pub jwt_secret_file: Option<PathBuf>,

    /// `jwt` mode: a PEM file with the application's public key: RSA (tokens signed RS256) or
    /// Ed25519 (EdDSA).
    #[arg(long, env = "CHAT_JWT_PUBLIC_KEY_FILE")]
    pub jwt_public_key_file: Option<PathBuf>,

    /// `jwt` mode: how long a connection whose token expired may still send a fresh one
    /// (`refresh`) before it is closed with 4003.
    #[arg(long, env = "CHAT_JWT_GRACE", default_value = "30s", value_parser = humantime::parse_duration)]
    pub jwt_grace: Duration,

    /// Sign-in attempts per client address per minute, right or wrong (0: no limit); beyond
    /// it 429. Wrong passwords for one account also make it wait, doubling each time.
    #[arg(long, env = "CHAT_SIGN_INS_PER_IP_PER_MIN", default_value_t = 10)]
    pub sign_ins_per_ip_per_min: u32,

    /// Web Push (accounts mode): messages waiting to be looked at, and pushes waiting to be
    /// sent, at most each; beyond it a push is dropped and counted
    /// (`chat_pushes_total{outcome="dropped"}`), never a message.
    #[arg(long, env = "CHAT_PUSH_QUEUE", default_value_t = 1000)]
    pub push_queue: usize,

    /// Browsers one account may get push notifications in; beyond it a new one is refused
    /// until one is turned off.
    #[arg(
        long,
        env = "CHAT_PUSH_SUBSCRIPTIONS_PER_ACCOUNT",
        default_value_t = 10
    )]
    pub push_subscriptions_per_account: u32,

    /// A push its service did not take (no answer, 429, 5xx) is tried again after this, then
    /// after four times this; a subscription failing five pushes in a row is forgotten.
    #[arg(long, env = "CHAT_PUSH_RETRY_DELAY", default_value = "5s", value_parser = humantime::parse_duration)]
    pub push_retry_delay: Duration,

    /// Who push services may contact about this server (VAPID's subject): a `mailto:` or
    /// `https:` URL. Default: `--public-url` when it is https, else `mailto:admin@localhost`.
    #[arg(long, env = "CHAT_PUSH_CONTACT")]
    pub push_contact: Option<String>,

    /// Tests only: accept push endpoints anywhere, plain http and private addresses included
    /// (otherwise only https URLs on the public internet, so that no one can make the server
    /// send requests into its own network).
    #[arg(long, env = "CHAT_PUSH_ENDPOINTS_ANYWHERE", hide = true)]
    pub push_endpoints_anywhere: bool,

    /// What to do instead of serving: `user add NAME` prints a one-time link that makes the
    /// account NAME (accounts mode), for an owner who prefers the command line.
    #[command(subcommand)]
    pub command: Option<Command>,

    /// Serve the Autobahn echo instead of the chat (set by the `autobahn-echo` binary only).
    #[cfg(feature = "autobahn-echo")]
    #[arg(skip)]
    pub autobahn_echo: bool,
}

/// The server's commands besides serving.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum Command {
    /// Accounts (accounts mode).
    #[command(subcommand)]
    User(UserCommand),
}

/// `chat-server user ...`.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum UserCommand {
    /// Prints a link that makes the account NAME once (the person picks the password).
    Add {
        /// The account's name, as others will see it.
        name: String,
    },
}

/// Who may use the server (`--access`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Access {
    /// Anyone, under any free name.
    Open,
    /// Signed-in accounts only.
    Accounts,
    /// Tokens signed by another application (JWT).
    Jwt,
}

impl Default for Config {
    fn default() -> Self {
        // The defaults live in one place: the clap attributes above.
        Config::parse_from(["chat-server"])
    }
}

impl Config {
    /// The per-address limits, as the peer table takes them.
    pub fn peer_limits(&self) -> crate::peers::PeerLimits {
        crate::peers::PeerLimits {
            max_connections: self.max_connections,
            max_connections_per_ip: self.max_connections_per_ip,
            handshakes_per_sec: self.handshakes_per_ip_per_sec,
            http_requests_per_sec: self.http_requests_per_ip_per_sec,
            sends_per_sec: self.rate_limit_per_ip_per_sec,
            name_claims_per_hour: self.name_claims_per_ip_per_hour,
            room_creations_per_hour: self.room_creations_per_ip_per_hour,
            sign_ins_per_min: self.sign_ins_per_ip_per_min,
            trusted_proxies: self.trusted_proxies.clone(),
        }
    }

    /// VAPID's subject: `--push-contact`, else an https `--public-url`, else a placeholder.
    pub fn push_contact(&self) -> String {
        if let Some(contact) = &self.push_contact {
            return contact.clone();
        }
        match &self.public_url {
            Some(url) if url.starts_with("https://") => url.clone(),
            _ => "mailto:admin@localhost".into(),
        }
    }

    /// What clients are told this server accepts (the `limits` frame).
    pub fn limits(&self) -> Limits {
        Limits {
            max_frame_bytes: u64::from(self.max_frame_bytes),
        }
    }
}

/// A network ("10.0.0.0/8") or a single address ("10.0.0.1", as its /32 or /128).
fn parse_network(text: &str) -> Result<IpNet, String> {
    text.parse::<IpNet>()
        .or_else(|_| text.parse::<std::net::IpAddr>().map(IpNet::from))
        .map_err(|_| format!("{text:?} is not an address or a network like 10.0.0.0/8"))
}
