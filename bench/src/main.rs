//! `chat-bench`: load generator for the chat server, speaking its protocol through `chat-shared`.
//!
//! Scenarios: `fanout` (throughput and delivery latency), `idle` (memory per connection) and
//! `slow` (a client that stops reading must not hurt the others). It targets loopback only, every
//! run is bounded in time, and it runs on one thread so it can be pinned to one core.

mod fanout;
mod idle;
mod limits;
mod procfs;
mod resume;
mod search;
mod soak;
mod stats;
mod target;
mod token;
mod words;
mod wsclient;

use std::time::Duration;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use serde::Serialize;
use tokio::net::TcpStream;
use tokio::task::LocalSet;

use crate::fanout::{fanout, FanoutReport, Stall};
use crate::idle::{idle, IdleReport};
use crate::target::{source_address, Target};
use crate::wsclient::connect;

/// Hard cap on any run, whatever the flags say.
const MAX_RUN: Duration = Duration::from_secs(300);

#[derive(Debug, Parser)]
#[command(
    name = "chat-bench",
    version,
    about = "Load generator for the chat server (loopback only)"
)]
struct Cli {
    #[command(subcommand)]
    scenario: Scenario,
    #[command(flatten)]
    common: Common,
}

#[derive(Debug, Args)]
struct Common {
    /// WebSocket URL of the server; must be a loopback address. Repeat it for several nodes of
    /// a cluster: clients are spread over them so that every room has members on each.
    #[arg(long, global = true, default_value = "ws://127.0.0.1:8080/ws")]
    url: Vec<String>,
    /// The server's process id, to report its CPU time, memory and open files. Repeat it for
    /// several nodes: their figures are added up.
    #[arg(long, global = true)]
    pid: Vec<u32>,
    /// Spread connections over this many source addresses (127.0.0.1 .. 127.0.0.N).
    #[arg(long, global = true, default_value_t = 8)]
    sources: usize,
    /// Connections opened at once while setting up.
    #[arg(long, global = true, default_value_t = 200)]
    connect_concurrency: usize,
    /// Print the result as one JSON object instead of a summary.
    #[arg(long, global = true)]
    json: bool,
    /// Spread the clients over this many rooms (`r0`, `r1`, ...; client i in room i mod N).
    /// With 1, every client stays in the server's default room.
    #[arg(long, global = true, default_value_t = 1)]
    rooms: usize,
    /// A `Cookie` header every handshake presents, e.g. `chat_session=...` for a server in
    /// accounts mode (every client then chats as that one account).
    #[arg(long, global = true)]
    cookie: Option<String>,
    /// The parsed `--url`s.
    #[arg(skip)]
    targets: Vec<Target>,
}

impl Common {
    /// The node client `i` connects to: the members of a room alternate between nodes, and
    /// so do the rooms' first members (the senders).
    fn target_of(&self, i: usize) -> &Target {
        let rooms = self.rooms.max(1);
        &self.targets[(i / rooms + i % rooms) % self.targets.len()]
    }

    /// The room client `i` is in, when there are several.
    fn room_of(&self, i: usize) -> Option<String> {
        (self.rooms > 1).then(|| format!("r{}", i % self.rooms))
    }

    /// The request path (with the room) for client `i`.
    fn path_of(&self, target: &Target, i: usize) -> String {
        match self.room_of(i) {
            Some(room) => format!("{}?room={room}", target.path),
            None => target.path.clone(),
        }
    }
}

#[derive(Debug, Subcommand)]
enum Scenario {
    /// N clients, S of them sending R messages/s each (open loop); measures delivery.
    Fanout(FanoutArgs),
    /// Opens C connections and holds them; measures the server's memory per connection.
    Idle(IdleArgs),
    /// Like fanout, but some clients stop reading part-way.
    Slow(SlowArgs),
    /// Clients leave, messages are posted, all come back with `since`: is each gap exact, and
    /// how long until everyone has caught up?
    Resume(resume::ResumeArgs),
    /// Named clients living in rooms for a long time beside an abusive address, checking every
    /// promise (scripts/soak.sh restarts and kills the server meanwhile).
    Soak(soak::SoakArgs),
    /// One client searches a database `fanout --words` filled: the time to each page of
    /// results, by kind of search (words common to rare, prefix, phrase, in a room, page two).
    Search(search::SearchArgs),
}

#[derive(Debug, Clone, Args)]
struct FanoutArgs {
    /// Connected clients (senders included; every client receives every message).
    #[arg(long, default_value_t = 1000)]
    clients: usize,
    /// How many of the clients send.
    #[arg(long, default_value_t = 1)]
    senders: usize,
    /// Messages per second per sender, scheduled by the clock (open loop).
    #[arg(long, default_value_t = 100.0)]
    rate: f64,
    /// Sending before the measured window starts.
    #[arg(long, default_value = "2s", value_parser = humantime::parse_duration)]
    warmup: Duration,
    /// The measured window.
    #[arg(long, default_value = "10s", value_parser = humantime::parse_duration)]
    duration: Duration,
    /// Pad message texts to at least this many bytes.
    #[arg(long, default_value_t = 0)]
    size: usize,
    /// After sending stops, how long to wait for deliveries still in flight.
    #[arg(long, default_value = "5s", value_parser = humantime::parse_duration)]
    drain: Duration,
    /// Of every 100 sends of a sender, this many are actions on earlier messages instead,
    /// edits of its own last message and reactions to its room's last one in turn (issue 24).
    /// Senders then take a name first (an edit needs one). An edit carries a new timed text and
    /// counts as a delivery like a message; a reaction is not timed.
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u32).range(0..=50))]
    actions: u32,
    /// Pad texts to `--size` with words of a made-up vocabulary, a few common and most rare as
    /// in real chat, rather than with `x`s: a database worth searching (`search` asks for them).
    #[arg(long)]
    words: bool,
}

#[derive(Debug, Args)]
struct SlowArgs {
    #[command(flatten)]
    fanout: FanoutArgs,
    /// Clients that stop reading.
    #[arg(long, default_value_t = 1)]
    stalled: usize,
    /// When they stop, from the start of sending.
    #[arg(long, default_value = "3s", value_parser = humantime::parse_duration)]
    stall_after: Duration,
    /// Receive buffer of the stalled clients' sockets, so the kernel absorbs little.
    #[arg(long, default_value_t = 4096)]
    stalled_rcvbuf: u32,
}

#[derive(Debug, Args)]
struct IdleArgs {
    /// Connections to open and hold.
    #[arg(long, default_value_t = 1000)]
    connections: usize,
    /// How long to hold them after all are open (the memory is read at the end).
    #[arg(long, default_value = "3s", value_parser = humantime::parse_duration)]
    hold: Duration,
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the runtime")?;
    let local = LocalSet::new();
    let json = cli.common.json;
    // A soak runs as long as it is asked to, and a little more for the final check.
    let max_run = match &cli.scenario {
        Scenario::Soak(args) => args.duration + MAX_RUN,
        _ => MAX_RUN,
    };
    let report = local.block_on(&runtime, async move {
        tokio::time::timeout(max_run, run(cli))
            .await
            .unwrap_or_else(|_| Err(anyhow::anyhow!("run exceeded {max_run:?}; stopped")))
    })?;
    if json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        println!("{}", report.human());
    }
    if let Report::Soak(soak) = &report {
        anyhow::ensure!(soak.passed(), "the soak broke a promise (see the report)");
    }
    if let Report::Resume(resume) = &report {
        anyhow::ensure!(
            resume.all_exact(),
            "a client did not get exactly its gap back (see the report)"
        );
    }
    Ok(())
}

async fn run(mut cli: Cli) -> anyhow::Result<Report> {
    cli.common.targets = cli
        .common
        .url
        .iter()
        .map(|url| {
            Target::parse(url).map(|target| Target {
                cookie: cli.common.cookie.clone(),
                ..target
            })
        })
        .collect::<anyhow::Result<_>>()?;
    let target = cli.common.targets[0].clone();
    let limit = limits::raise_open_files()?;
    match cli.scenario {
        Scenario::Fanout(args) => {
            limits::check_fits(args.clients, limit)?;
            fanout(&cli.common, &target, &args, None)
                .await
                .map(Report::Fanout)
        }
        Scenario::Slow(args) => {
            limits::check_fits(args.fanout.clients, limit)?;
            let stall = Stall {
                clients: args.stalled,
                after: args.stall_after,
                rcvbuf: args.stalled_rcvbuf,
            };
            fanout(&cli.common, &target, &args.fanout, Some(stall))
                .await
                .map(Report::Slow)
        }
        Scenario::Idle(args) => {
            limits::check_fits(args.connections, limit)?;
            idle(&cli.common, &target, &args).await.map(Report::Idle)
        }
        Scenario::Resume(args) => {
            limits::check_fits(args.clients, limit)?;
            resume::run(&cli.common, &target, &args)
                .await
                .map(Report::Resume)
        }
        Scenario::Search(args) => search::run(&cli.common, &target, &args)
            .await
            .map(Report::Search),
        Scenario::Soak(args) => {
            limits::check_fits(args.clients + 300, limit)?;
            soak::run(&cli.common.targets, &args)
                .await
                .map(Report::Soak)
        }
    }
}

/// Opens `count` connections, `concurrency` at a time, spread over source addresses.
async fn connect_all(
    common: &Common,
    count: usize,
    rcvbuf: impl Fn(usize) -> Option<u32>,
) -> anyhow::Result<Vec<TcpStream>> {
    let mut conns = Vec::with_capacity(count);
    let mut started = 0;
    while started < count {
        let batch = (count - started).min(common.connect_concurrency.max(1));
        let mut pending = tokio::task::JoinSet::new();
        for i in started..started + batch {
            let target = common.target_of(i).clone();
            let source = source_address(&target, i, common.sources);
            let rcvbuf = rcvbuf(i);
            let path = common.path_of(&target, i);
            pending.spawn_local(async move { (i, connect(&target, &path, source, rcvbuf).await) });
        }
        let mut batch_conns = Vec::with_capacity(batch);
        while let Some(done) = pending.join_next().await {
            let (i, conn) = done.context("connect task")?;
            batch_conns.push((i, conn.with_context(|| format!("connection {i}"))?));
        }
        batch_conns.sort_by_key(|(i, _)| *i);
        conns.extend(batch_conns.into_iter().map(|(_, c)| c));
        started += batch;
    }
    Ok(conns)
}

/// The servers' figures added up (`None` without `--pid`).
fn server_sample(pids: &[u32]) -> anyhow::Result<Option<procfs::Sample>> {
    let mut total: Option<procfs::Sample> = None;
    for pid in pids {
        let sample = procfs::sample(*pid)?;
        total = Some(match total {
            None => sample,
            Some(sum) => procfs::Sample {
                rss_bytes: sum.rss_bytes + sample.rss_bytes,
                cpu_seconds: sum.cpu_seconds + sample.cpu_seconds,
                open_files: sum.open_files + sample.open_files,
            },
        });
    }
    Ok(total)
}

#[derive(Debug, Serialize)]
#[serde(tag = "scenario", rename_all = "snake_case")]
enum Report {
    Fanout(FanoutReport),
    Slow(FanoutReport),
    Idle(IdleReport),
    Resume(resume::ResumeReport),
    Soak(soak::SoakReport),
    Search(search::SearchReport),
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

impl Report {
    fn human(&self) -> String {
        match self {
            Report::Fanout(r) | Report::Slow(r) => {
                let mut out = format!(
                    "{} clients in {} room(s), {} senders x {} msg/s, {} s measured ({} B texts)\n\
                     sent {}  expected {}  delivered {}  loss {:.3}%  {:.0} deliveries/s\n\
                     latency p50 {:.2} ms  p90 {:.2} ms  p99 {:.2} ms  p99.9 {:.2} ms  max {:.2} ms\n",
                    r.clients,
                    r.rooms,
                    r.senders,
                    r.rate_per_sender,
                    r.duration_s,
                    r.message_bytes,
                    r.delivery.sent,
                    r.delivery.expected,
                    r.delivery.delivered,
                    r.delivery.loss_percent,
                    r.delivery.deliveries_per_sec,
                    r.latency.p50_ms,
                    r.latency.p90_ms,
                    r.latency.p99_ms,
                    r.latency.p999_ms,
                    r.latency.max_ms,
                );
                if let (Some(cpu), Some(per)) = (r.server_cpu_seconds, r.core_seconds_per_million) {
                    out += &format!(
                        "server CPU {cpu:.2} core-s over the window = {per:.3} core-s per million deliveries\n"
                    );
                }
                if let (Some(start), Some(peak)) =
                    (r.server_rss_start_bytes, r.server_rss_peak_bytes)
                {
                    out += &format!(
                        "server RSS {:.1} MiB at start, {:.1} MiB peak\n",
                        mib(start),
                        mib(peak)
                    );
                }
                out += &format!("connections closed by the server: {}\n", r.closed_by_server);
                if let Some(s) = &r.stalled {
                    out += &format!(
                        "{} client(s) stopped reading at {:.1} s; server dropped them {}; RSS growth since the stall {}\n",
                        s.stalled_clients,
                        s.stall_after_s,
                        s.dropped_after_s
                            .map_or("not by the end".to_string(), |d| format!("{d:.1} s later")),
                        s.rss_growth_bytes
                            .map_or("unknown (no --pid)".to_string(), |g| format!("{:.2} MiB", mib(g))),
                    );
                }
                out
            }
            Report::Resume(r) => r.human(),
            Report::Soak(r) => r.human(),
            Report::Search(r) => r.human(),
            Report::Idle(r) => {
                let mut out = format!(
                    "{} connections opened in {:.2} s ({:.0}/s)\n",
                    r.connections, r.connect_seconds, r.connects_per_sec
                );
                if let (Some(b), Some(a), Some(per), Some(proj)) = (
                    r.server_rss_before_bytes,
                    r.server_rss_after_bytes,
                    r.bytes_per_connection,
                    r.projected_rss_100k_bytes,
                ) {
                    out += &format!(
                        "server RSS {:.1} MiB -> {:.1} MiB: {:.0} bytes ({:.2} KiB) per connection; 100,000 would take {:.0} MiB\n",
                        mib(b),
                        mib(a),
                        per,
                        per / 1024.0,
                        proj / (1024.0 * 1024.0)
                    );
                }
                out
            }
        }
    }
}
