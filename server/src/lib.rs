//! The chat server: names, rooms, presence and history over WebSocket, with an axum app for
//! the page.
//!
//! A message travels one way: socket ([`connection`], [`ws`]) -> [`session`] -> [`broker`]
//! (sequenced, stored by [`store`] before anyone sees it) -> its room's feed ([`rooms`]) ->
//! every member's writer -> socket. Imports run the same way, from [`http`] down to
//! `chat_shared`. [`state`] builds the application from the configuration, [`http::router`]
//! the HTTP app around it (tests call both), and [`run`] serves it until a shutdown signal, then
//! closes every client politely.

// The echo mode answers anyone with whatever they send and lifts the limits: a test tool only.
#[cfg(all(feature = "autobahn-echo", not(debug_assertions)))]
compile_error!("the `autobahn-echo` feature is for the conformance tests, never a release build");

pub mod accounts;
pub mod broker;
pub mod clock;
pub mod close;
pub mod config;
pub mod connection;
pub mod connections;
pub mod health;
pub mod http;
pub mod metrics;
pub mod peers;
pub mod push;
pub mod random;
pub mod receipt;
pub mod rooms;
pub mod session;
pub mod shutdown;
pub mod state;
pub mod store;
pub mod token;
pub mod ws;

use std::future::Future;
use std::sync::Arc;

use tokio::net::TcpListener;
use tracing::{info, warn};

pub use state::{AppState, MIN_CLIENT_BUFFER_BYTES};

/// Serves until `shutdown` resolves, then sends every client close code 1001 and waits (up to
/// the configured grace) for them to go.
pub async fn run(
    listener: TcpListener,
    state: Arc<AppState>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let app = http::router(state.clone())?;
    // Bans of guests made before a restart are in force from the first connection.
    state.apply_guest_bans().await;
    let settings = http::settings(&state);
    let grace = settings.shutdown_grace;
    let draining = state.clone();
    http::serve(listener, app, settings, async move {
        shutdown.await;
        draining.readiness.start_draining();
        info!("shutting down: closing every client");
        draining.connections.shutdown();
    })
    .await;
    if tokio::time::timeout(grace, state.connections.wait_until_empty())
        .await
        .is_err()
    {
        warn!(
            clients = state.connections.count(),
            "clients still open after the shutdown grace period"
        );
    }
    Ok(())
}
