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
    if let Some(accounts) = &state.accounts {
        if let Some(token) = accounts.new_setup_token().await? {
            let base = match &config.public_url {
                Some(url) => url.trim_end_matches('/').to_string(),
                None => format!("http://{addr}"),
            };
            // The one secret the server ever logs: it is for the owner reading this log, and
            // works once, until the first account exists.
            tracing::info!(
                "not set up yet: open {base}/setup/{token} to create the first account (an \
                 administrator); the link works once"
            );
        }
    }
    run(listener, state, shutdown::signal()).await
}
