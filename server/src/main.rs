//! `chat-server`: parse the configuration, listen, serve until SIGINT/SIGTERM.

use anyhow::Context;
use chat_server::config::{Access, Command, Config, UserCommand};
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
    if let Some(Command::User(UserCommand::Add { name })) = &config.command {
        return add_user(&config, name).await;
    }
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

/// `chat-server user add NAME`: prints a one-time link that makes the account. Works beside a
/// running server on the same `--data-dir` (SQLite takes the two writers in turn).
async fn add_user(config: &Config, name: &str) -> anyhow::Result<()> {
    let config = Config {
        access: Access::Accounts,
        command: None,
        ..config.clone()
    };
    let state = AppState::new(&config)?;
    let accounts = state
        .accounts
        .as_ref()
        .context("accounts need the single node's database (no --redis-url)")?;
    let token = accounts
        .personal_invitation(name)
        .await
        .map_err(|refused| anyhow::anyhow!(refused.message()))?;
    let base = match &config.public_url {
        Some(url) => url.trim_end_matches('/').to_string(),
        None => format!("http://{}", config.addr),
    };
    println!("{base}/join/{token}");
    println!("Send this link to {name}: it makes the account once, with the password they choose.");
    Ok(())
}
