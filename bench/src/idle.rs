//! The `idle` scenario: many connections that say nothing, and the server memory each costs.

use std::time::Instant;

use serde::Serialize;

use crate::target::Target;
use crate::{connect_all, server_sample, Common, IdleArgs};

#[derive(Debug, Serialize)]
pub(crate) struct IdleReport {
    pub(crate) connections: usize,
    pub(crate) connect_seconds: f64,
    pub(crate) connects_per_sec: f64,
    pub(crate) server_rss_before_bytes: Option<u64>,
    pub(crate) server_rss_after_bytes: Option<u64>,
    pub(crate) bytes_per_connection: Option<f64>,
    /// Server RSS for 100,000 connections, extrapolated from the measured per-connection cost.
    pub(crate) projected_rss_100k_bytes: Option<f64>,
    pub(crate) server_open_files_after: Option<u64>,
}

pub(crate) async fn idle(
    common: &Common,
    target: &Target,
    args: &IdleArgs,
) -> anyhow::Result<IdleReport> {
    let before = server_sample(&common.pid)?;
    eprintln!(
        "opening {} connections to {} ...",
        args.connections, target.addr
    );
    let started = Instant::now();
    let conns = connect_all(common, args.connections, |_| None).await?;
    let connect_seconds = started.elapsed().as_secs_f64();
    eprintln!(
        "opened {} in {connect_seconds:.2}s; holding for {:?}",
        conns.len(),
        args.hold
    );
    tokio::time::sleep(args.hold).await;
    let after = server_sample(&common.pid)?;
    drop(conns);
    let per_connection = before
        .zip(after)
        .map(|(b, a)| a.rss_bytes.saturating_sub(b.rss_bytes) as f64 / args.connections as f64);
    Ok(IdleReport {
        connections: args.connections,
        connect_seconds,
        connects_per_sec: args.connections as f64 / connect_seconds,
        server_rss_before_bytes: before.map(|s| s.rss_bytes),
        server_rss_after_bytes: after.map(|s| s.rss_bytes),
        bytes_per_connection: per_connection,
        projected_rss_100k_bytes: before
            .zip(per_connection)
            .map(|(b, per)| b.rss_bytes as f64 + per * 100_000.0),
        server_open_files_after: after.map(|s| s.open_files),
    })
}
