//! `autobahn-echo`: the chat server's WebSocket code as an echo server, for the Autobahn
//! TestSuite (`scripts/autobahn.sh`). Built only with the `autobahn-echo` feature. It takes the
//! server's flags, then raises what the suite needs: messages and the answer queue of 16 MiB
//! (case 9 sends messages that large), and no limit on frames or connections per address.

use anyhow::Context;
use chat_server::config::Config;
use chat_server::{run, shutdown, AppState};
use clap::Parser;
use tracing_subscriber::EnvFilter;

/// The largest message of the suite (case 9.1.6 and 9.2.6).
const SUITE_MESSAGE_BYTES: u32 = 16 * 1024 * 1024;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("warn")),
        )
        .init();
    let mut config = Config::parse();
    config.autobahn_echo = true;
    config.max_frame_bytes = SUITE_MESSAGE_BYTES;
    config.client_buffer_bytes = SUITE_MESSAGE_BYTES as usize;
    // The suite sends thousands of frames at once from one address (case 9).
    config.max_frames_per_sec = 0;
    config.max_connections_per_ip = 0;
    config.handshakes_per_ip_per_sec = 0;
    config.http_requests_per_ip_per_sec = 0;
    let state = AppState::new(&config)?;
    let listener = tokio::net::TcpListener::bind(config.addr)
        .await
        .with_context(|| format!("cannot listen on {}", config.addr))?;
    let addr = listener.local_addr().context("no local address")?;
    println!("autobahn echo listening on ws://{addr}/");
    run(listener, state, shutdown::signal()).await
}
