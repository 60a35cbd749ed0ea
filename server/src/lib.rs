//! The chat server: names, rooms, presence and history over WebSocket, with an axum app for
//! the page.
//!
//! A message travels one way: socket ([`connection`], [`ws`]) -> [`session`] -> [`broker`]
//! (sequenced, stored by [`store`] before anyone sees it) -> its room's feed ([`rooms`]) ->
//! every member's writer -> socket. [`router`] builds the HTTP app (tests call it too), [`run`]
//! serves it until a shutdown signal and then closes every client politely.

pub mod broker;
pub mod close;
pub mod config;
pub mod connection;
pub mod connections;
pub mod health;
pub mod metrics;
pub mod origin;
pub mod outbound;
#[cfg(feature = "ssr")]
pub mod page;
pub mod rooms;
pub mod server;
pub mod session;
pub mod shutdown;
pub mod store;
pub mod upgrade;
pub mod ws;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use hyper::upgrade::OnUpgrade;
use tokio::net::TcpListener;
use tracing::{info, warn};

use crate::broker::redis::{ClusterSettings, DEFAULT_HISTORY_PER_ROOM};
use crate::broker::{Broker, LocalBroker, RedisBroker};
use crate::config::Config;
use crate::connection::{serve_client, ConnectionSettings};
use crate::connections::Connections;
use crate::health::Readiness;
use crate::metrics::Metrics;
use crate::origin::OriginPolicy;
use crate::rooms::RoomRegistry;
use crate::session::{ChatContext, Session, SessionSettings};
use crate::store::{HistoryStore, StoreSettings};

/// Smallest accepted `--client-buffer-bytes`: two full batches.
pub const MIN_CLIENT_BUFFER_BYTES: usize = 2 * chat_shared::MAX_BATCH_BYTES;

/// The bundle name in the workspace's `[package.metadata.leptos]`: /pkg/chat.js, chat.wasm, chat.css.
#[cfg(feature = "ssr")]
const SITE_NAME: &str = "chat";

/// State shared by every request handler.
#[derive(Debug)]
pub struct AppState {
    /// Every open connection (for shutdown).
    pub connections: Arc<Connections>,
    /// Rooms, broker, store and the chat rules, shared by every session.
    pub chat: Arc<ChatContext>,
    /// Whether load balancers should send this node clients.
    pub readiness: Readiness,
    origins: OriginPolicy,
    /// The `limits` frame every connection gets first, encoded once.
    limits_frame: tungstenite::Utf8Bytes,
    connection: Arc<ConnectionSettings>,
    http: server::HttpSettings,
    #[cfg(feature = "ssr")]
    leptos: leptos::prelude::LeptosOptions,
}

impl AppState {
    /// Builds the state from validated configuration.
    pub fn new(config: &Config) -> anyhow::Result<Arc<Self>> {
        let origins = OriginPolicy::new(&config.allowed_origins)
            .map_err(anyhow::Error::msg)
            .context("invalid --allowed-origin")?;
        anyhow::ensure!(
            config.max_frame_bytes > 0,
            "--max-frame-bytes must be positive"
        );
        // The feed is trimmed to this budget, so it must hold at least a full batch of the
        // largest messages, or trimming alone would drop clients that keep up.
        anyhow::ensure!(
            config.client_buffer_bytes >= MIN_CLIENT_BUFFER_BYTES,
            "--client-buffer-bytes must be at least {MIN_CLIENT_BUFFER_BYTES}"
        );
        anyhow::ensure!(
            !config.ping_interval.is_zero() && !config.pong_timeout.is_zero(),
            "--ping-interval and --pong-timeout must be positive"
        );
        anyhow::ensure!(
            config.join_history as u64 <= chat_shared::MAX_RECOVERY_MESSAGES,
            "--join-history must be at most {}",
            chat_shared::MAX_RECOVERY_MESSAGES
        );
        #[cfg(feature = "ssr")]
        let leptos = site_options()?;
        let metrics = Arc::new(Metrics::new());
        let rooms = Arc::new(RoomRegistry::new(
            config.client_buffer_bytes,
            metrics.clone(),
        ));
        let (broker, store): (Arc<dyn Broker>, _) = match &config.redis_url {
            Some(url) => {
                let settings = ClusterSettings {
                    url: url.clone(),
                    history_per_room: config.history_per_room.unwrap_or(DEFAULT_HISTORY_PER_ROOM),
                    max_rooms: config.max_rooms,
                    presence_ttl: config.presence_ttl,
                };
                let broker = RedisBroker::start(settings, rooms.clone(), metrics.clone())?;
                info!(
                    node = broker.node(),
                    "cluster mode: rooms, history and names in Redis"
                );
                (Arc::new(broker), None)
            }
            None => {
                let store = Arc::new(HistoryStore::open(
                    &config.data_dir,
                    rooms.clone(),
                    StoreSettings {
                        history_per_room: config.history_per_room.unwrap_or(0),
                        max_rooms: config.max_rooms,
                        max_database_bytes: config.max_database_bytes,
                    },
                )?);
                (Arc::new(LocalBroker::new(store.clone())), Some(store))
            }
        };
        let chat = Arc::new(ChatContext {
            rooms,
            broker,
            store,
            settings: SessionSettings {
                join_history: config.join_history,
                max_rooms_per_connection: config.max_rooms_per_connection as usize,
                rate_limit_per_sec: config.rate_limit_per_sec,
                rate_limit_burst: config.rate_limit_burst,
            },
            metrics: metrics.clone(),
        });
        Ok(Arc::new(AppState {
            connections: Connections::new(config.client_buffer_bytes),
            chat,
            readiness: Readiness::default(),
            origins,
            limits_frame: chat_shared::encode(&chat_shared::ServerFrame::Limits(config.limits()))?
                .into(),
            connection: Arc::new(ConnectionSettings {
                write_timeout: config.write_timeout,
                ping_interval: config.ping_interval,
                pong_timeout: config.pong_timeout,
                min_write_interval: config.min_write_interval,
                max_message_bytes: config.max_frame_bytes as usize,
                metrics,
            }),
            http: server::HttpSettings {
                socket_send_buffer: config.socket_send_buffer,
                header_timeout: config.header_timeout,
                shutdown_grace: config.shutdown_grace,
            },
            #[cfg(feature = "ssr")]
            leptos,
        }))
    }
}

/// Where the site's files are and what the bundle is called. cargo-leptos says so through
/// `LEPTOS_*` variables (at build time and when it runs the server); a binary built by plain
/// cargo and run without it (tests, `cargo run`) uses the workspace's bundle name and the site
/// cargo-leptos last built under `target/site`.
#[cfg(feature = "ssr")]
fn site_options() -> anyhow::Result<leptos::prelude::LeptosOptions> {
    let named = std::env::var_os("LEPTOS_OUTPUT_NAME").is_some()
        || option_env!("LEPTOS_OUTPUT_NAME").is_some();
    if named {
        return Ok(leptos::prelude::get_configuration(None)
            .context("reading the Leptos site configuration (LEPTOS_* variables)")?
            .leptos_options);
    }
    let site_root = std::env::var("LEPTOS_SITE_ROOT").unwrap_or_else(|_| "target/site".into());
    Ok(leptos::prelude::LeptosOptions::builder()
        .output_name(SITE_NAME)
        .site_root(site_root)
        .build())
}

/// The HTTP app: `/ws` for the chat socket, `/metrics`, `/healthz` and `/readyz` for
/// operators, everything else for the page and its files.
pub fn router(state: Arc<AppState>) -> Router {
    let site = site(&state);
    Router::new()
        .route("/ws", get(websocket))
        .route("/metrics", get(metrics))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .with_state(state)
        .merge(site)
}

/// Prometheus scrape target.
async fn metrics(State(state): State<Arc<AppState>>) -> Response {
    let metrics = &state.chat.metrics;
    metrics
        .connections
        .set(metrics::gauge_value(state.connections.count()));
    metrics
        .rooms
        .set(metrics::gauge_value(state.chat.rooms.len()));
    (
        [(axum::http::header::CONTENT_TYPE, metrics::CONTENT_TYPE)],
        metrics.render(),
    )
        .into_response()
}

/// Liveness: the process answers HTTP.
async fn healthz() -> &'static str {
    "ok\n"
}

/// Readiness: 200 when this node should get clients, 503 with the reason when not.
async fn readyz(State(state): State<Arc<AppState>>) -> Response {
    match state.readiness.check(&state.chat.broker).await {
        Ok(()) => "ready\n".into_response(),
        Err(reason) => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("not ready: {reason}\n"),
        )
            .into_response(),
    }
}

/// The Leptos app: the server-rendered room pages ([`page`]), and the compiled WASM, JS and CSS
/// under `/pkg` (compressed, since the WASM is the bulk of a first visit).
#[cfg(feature = "ssr")]
fn site(state: &Arc<AppState>) -> Router {
    use chat_frontend::shell;
    use leptos_axum::file_and_error_handler;
    use tower_http::compression::CompressionLayer;

    // Rendering spawns tasks through Leptos' executor; it runs them on tokio. (A second
    // router in the same process finds it set already, which is fine.)
    let _ = any_spawner::Executor::init_tokio();
    let pages = Router::new()
        .route("/", get(page::lobby))
        .route("/r/{room}", get(page::room))
        .with_state(state.clone());
    let files = Router::new()
        .fallback(file_and_error_handler(shell))
        .with_state(state.leptos.clone());
    pages.merge(files).layer(CompressionLayer::new())
}

/// Without the `ssr` feature the server is the WebSocket backend alone (for `trunk serve`),
/// with a small page that says so.
#[cfg(not(feature = "ssr"))]
fn site(_state: &Arc<AppState>) -> Router {
    Router::new().route("/", get(index))
}

#[cfg(not(feature = "ssr"))]
async fn index() -> axum::response::Html<&'static str> {
    axum::response::Html(include_str!("index.html"))
}

async fn websocket(
    State(state): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    mut request: Request,
) -> Response {
    let headers = request.headers();
    if let Err(rejected) = state.origins.check(headers) {
        warn!(%peer, reason = %rejected.0, "refused a cross-origin WebSocket");
        return (StatusCode::FORBIDDEN, rejected.0).into_response();
    }
    let accept = match upgrade::check(headers) {
        Ok(accept) => accept,
        Err(refusal) => return refusal.into_response(),
    };
    let Some(on_upgrade) = request.extensions_mut().remove::<OnUpgrade>() else {
        return (
            StatusCode::INTERNAL_SERVER_ERROR,
            "connection cannot be upgraded",
        )
            .into_response();
    };
    let registration = state.connections.open();
    state.chat.metrics.connections_opened.inc();
    // First, so that a client knows the limits before anything it could send is answered.
    let _ = registration.outbound().push(&state.limits_frame);
    let mut session = Session::new(state.chat.clone(), registration.outbound().clone());
    // Attach to the URL's room before answering, so a client that sees the socket open cannot
    // miss a message sent after that.
    let join = match start_room(request.uri().query()) {
        Some(room) => match session.attach(&room).await {
            // Boxed: it is held in the connection's task until the first thing it does.
            Ok(pending) => Some(Box::new(pending)),
            Err(err) => {
                session.reply_error(err);
                None
            }
        },
        None => None,
    };
    let settings = state.connection.clone();
    let task = serve_client(on_upgrade, registration, session, join, settings, peer);
    tokio::spawn(task);
    upgrade::switching_protocols(accept)
}

/// The room a new connection starts in: `?room=NAME`, [`chat_shared::DEFAULT_ROOM`] without
/// the parameter, none with `?room=` (empty). Room names need no percent-decoding: a name with
/// `%` in it is invalid and refused as it is.
fn start_room(query: Option<&str>) -> Option<String> {
    let value = query
        .unwrap_or("")
        .split('&')
        .find_map(|pair| pair.strip_prefix("room="));
    match value {
        None => Some(chat_shared::DEFAULT_ROOM.to_string()),
        Some("") => None,
        Some(room) => Some(room.to_string()),
    }
}

/// Serves until `shutdown` resolves, then sends every client close code 1001 and waits (up to
/// the configured grace) for them to go.
pub async fn run(
    listener: TcpListener,
    state: Arc<AppState>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let connections = state.connections.clone();
    let http = state.http.clone();
    let draining = state.clone();
    let grace = http.shutdown_grace;
    let closing = connections.clone();
    server::serve(listener, router(state), http, async move {
        shutdown.await;
        draining.readiness.start_draining();
        info!("shutting down: closing every client");
        closing.shutdown();
    })
    .await;
    if tokio::time::timeout(grace, connections.wait_until_empty())
        .await
        .is_err()
    {
        warn!(
            clients = connections.count(),
            "clients still open after the shutdown grace period"
        );
    }
    Ok(())
}
