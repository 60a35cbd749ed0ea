//! `chat-server`: parse the configuration, listen, serve until SIGINT/SIGTERM.

use anyhow::Context;
use chat_server::config::Config;
use chat_server::{run, shutdown, AppState};
use clap::Parser;
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .init();
    let config = Config::parse();
    let state = AppState::new(&config)?;
    let listener = tokio::net::TcpListener::bind(config.addr)
        .await
        .with_context(|| format!("cannot listen on {}", config.addr))?;
    let addr = listener.local_addr().context("no local address")?;
    tracing::info!("chat server listening on http://{addr}/");
    run(listener, state, shutdown::signal()).await
}
