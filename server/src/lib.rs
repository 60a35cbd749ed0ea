//! The chat server: an axum app whose hub broadcasts every message to every WebSocket client.
//!
//! [`router`] builds the HTTP app (tests call it too), [`run`] serves it until a shutdown
//! signal and then closes every client politely.

pub mod close;
pub mod config;
pub mod connection;
pub mod feed;
pub mod hub;
pub mod origin;
pub mod outbound;
pub mod server;
pub mod shutdown;
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
use tracing::{debug, info, warn};

use crate::config::Config;
use crate::connection::{serve_client, ConnectionSettings};
use crate::hub::Hub;
use crate::origin::OriginPolicy;

/// Smallest accepted `--client-buffer-bytes`: two full batches.
pub const MIN_CLIENT_BUFFER_BYTES: usize = 2 * chat_shared::MAX_BATCH_BYTES;

/// The bundle name in the workspace's `[package.metadata.leptos]`: /pkg/chat.js, chat.wasm, chat.css.
#[cfg(feature = "ssr")]
const SITE_NAME: &str = "chat";

/// State shared by every request handler.
#[derive(Debug)]
pub struct AppState {
    /// The broadcast hub.
    pub hub: Arc<Hub>,
    origins: OriginPolicy,
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
        #[cfg(feature = "ssr")]
        let leptos = site_options()?;
        Ok(Arc::new(AppState {
            hub: Hub::new(config.client_buffer_bytes),
            origins,
            connection: Arc::new(ConnectionSettings {
                write_timeout: config.write_timeout,
                ping_interval: config.ping_interval,
                pong_timeout: config.pong_timeout,
                min_write_interval: config.min_write_interval,
                max_message_bytes: config.max_frame_bytes,
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

/// The HTTP app: `/ws` for the chat socket, everything else for the page and its files.
pub fn router(state: Arc<AppState>) -> Router {
    let site = site(&state);
    Router::new()
        .route("/ws", get(websocket))
        .with_state(state)
        .merge(site)
}

/// The Leptos app: the server-rendered shell at `/`, and the compiled WASM, JS and CSS under
/// `/pkg` (compressed, since the WASM is the bulk of a first visit).
#[cfg(feature = "ssr")]
fn site(state: &AppState) -> Router {
    use chat_frontend::{shell, App};
    use leptos_axum::{file_and_error_handler, generate_route_list, LeptosRoutes};
    use tower_http::compression::CompressionLayer;

    let options = state.leptos.clone();
    let routes = generate_route_list(App);
    Router::new()
        .leptos_routes(&options, routes, {
            let options = options.clone();
            move || shell(options.clone())
        })
        .fallback(file_and_error_handler(shell))
        .with_state(options)
        .layer(CompressionLayer::new())
}

/// Without the `ssr` feature the server is the WebSocket backend alone (for `trunk serve`),
/// with a small page that says so.
#[cfg(not(feature = "ssr"))]
fn site(_state: &AppState) -> Router {
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
    // Join before answering, so a client that sees the socket open cannot miss a message.
    let member = state.hub.join();
    let settings = state.connection.clone();
    let task = async move {
        match upgrade::take_stream(on_upgrade).await {
            Ok((stream, early)) => serve_client(stream, early, member, settings, peer).await,
            Err(err) => debug!(%peer, error = %err, "WebSocket upgrade failed"),
        }
    };
    tokio::spawn(task);
    upgrade::switching_protocols(accept)
}

/// Serves until `shutdown` resolves, then sends every client close code 1001 and waits (up to
/// the configured grace) for them to go.
pub async fn run(
    listener: TcpListener,
    state: Arc<AppState>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let hub = state.hub.clone();
    let http = state.http.clone();
    let grace = http.shutdown_grace;
    let stop_hub = hub.clone();
    server::serve(listener, router(state), http, async move {
        shutdown.await;
        info!("shutting down: closing every client");
        stop_hub.shutdown();
    })
    .await;
    if tokio::time::timeout(grace, hub.wait_until_empty())
        .await
        .is_err()
    {
        warn!(
            clients = hub.client_count(),
            "clients still open after the shutdown grace period"
        );
    }
    Ok(())
}
