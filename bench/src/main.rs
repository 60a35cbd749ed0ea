//! `chat-bench`: load generator for the chat server, speaking its protocol through `chat-shared`.
//!
//! Scenarios: `fanout` (throughput and delivery latency), `idle` (memory per connection) and
//! `slow` (a client that stops reading must not hurt the others). It targets loopback only, every
//! run is bounded in time, and it runs on one thread so it can be pinned to one core.

mod limits;
mod procfs;
mod resume;
mod stats;
mod target;
mod token;
mod wsclient;

use std::cell::RefCell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use anyhow::Context;
use chat_shared::{encode_client, ClientFrame};
use clap::{Args, Parser, Subcommand};
use serde::Serialize;
use tokio::io::AsyncWriteExt;
use tokio::net::tcp::OwnedWriteHalf;
use tokio::net::TcpStream;
use tokio::sync::Mutex;
use tokio::task::LocalSet;

use crate::stats::{core_seconds_per_million, Delivery, Latency, LatencySummary};
use crate::target::{source_address, Target};
use crate::token::{Scanner, Token};
use crate::wsclient::{connect, push_text_frame, Event, Reader};

/// How late a sender may wake (timer granularity) before its lateness counts as latency.
const MAX_TIMER_SLACK_NS: u64 = 2_000_000;

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
    let report = local.block_on(&runtime, async move {
        tokio::time::timeout(MAX_RUN, run(cli))
            .await
            .unwrap_or_else(|_| Err(anyhow::anyhow!("run exceeded {MAX_RUN:?}; stopped")))
    })?;
    if json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        println!("{}", report.human());
    }
    Ok(())
}

async fn run(mut cli: Cli) -> anyhow::Result<Report> {
    cli.common.targets = cli
        .common
        .url
        .iter()
        .map(|url| Target::parse(url))
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
    }
}

/// Clients that stop reading in the `slow` scenario: the last `clients` of the list.
#[derive(Debug, Clone, Copy)]
struct Stall {
    clients: usize,
    after: Duration,
    rcvbuf: u32,
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

/// Counters shared by every task of a fan-out run (one thread, so a `RefCell`).
#[derive(Default)]
struct Shared {
    latency: Latency,
    delivered: u64,
    sent_in_window: u64,
    sent_total: u64,
    closed_by_server: u64,
    /// Bytes of message text sent, for the average size reported.
    text_bytes_sent: u64,
}

#[derive(Debug, Serialize)]
struct FanoutReport {
    clients: usize,
    rooms: usize,
    senders: usize,
    rate_per_sender: f64,
    warmup_s: f64,
    duration_s: f64,
    /// Average text length actually sent (token plus padding).
    message_bytes: usize,
    /// Messages sent over the whole run, warm-up and drain included.
    sent_total: u64,
    #[serde(flatten)]
    delivery: Delivery,
    latency: LatencySummary,
    server_cpu_seconds: Option<f64>,
    core_seconds_per_million: Option<f64>,
    server_rss_start_bytes: Option<u64>,
    server_rss_peak_bytes: Option<u64>,
    closed_by_server: u64,
    stalled: Option<StallReport>,
}

#[derive(Debug, Serialize)]
struct StallReport {
    stalled_clients: usize,
    stall_after_s: f64,
    /// Seconds from the stall until the server had closed the stalled connections (from its
    /// open-file count); `None` if it had not by the end of the run.
    dropped_after_s: Option<f64>,
    /// Largest server RSS growth over its RSS when the stall began.
    rss_growth_bytes: Option<u64>,
}

async fn fanout(
    common: &Common,
    target: &Target,
    args: &FanoutArgs,
    stall: Option<Stall>,
) -> anyhow::Result<FanoutReport> {
    anyhow::ensure!(args.clients > 0, "--clients must be positive");
    anyhow::ensure!(
        args.senders <= args.clients,
        "--senders cannot exceed --clients"
    );
    anyhow::ensure!(args.rate > 0.0, "--rate must be positive");
    let stalled = stall.map_or(0, |s| s.clients);
    anyhow::ensure!(
        args.senders + stalled <= args.clients,
        "senders and stalled clients must be different clients"
    );
    anyhow::ensure!(
        common.rooms > 0 && args.clients % common.rooms == 0 && args.senders <= args.clients,
        "--clients must be a multiple of --rooms"
    );
    let first_stalled = args.clients - stalled;
    eprintln!("connecting {} clients to {} ...", args.clients, target.addr);
    let conns = connect_all(common, args.clients, |i| {
        (i >= first_stalled)
            .then(|| stall.map(|s| s.rcvbuf))
            .flatten()
    })
    .await?;

    let epoch = Instant::now();
    let ns = |d: Duration| d.as_nanos() as u64;
    let window = (ns(args.warmup), ns(args.warmup + args.duration));
    let stop_sending = window.1;
    let shared = Rc::new(RefCell::new(Shared::default()));
    for (i, stream) in conns.into_iter().enumerate() {
        let (mut read, write) = stream.into_split();
        let write = Rc::new(Mutex::new(write));
        let is_stalled = i >= first_stalled;
        let stall_at = stall.map(|s| epoch + s.after);
        if i < args.senders {
            let rate = args.rate;
            let size = args.size;
            let phase = i as f64 / args.senders as f64;
            tokio::task::spawn_local(send_loop(
                write.clone(),
                shared.clone(),
                epoch,
                window,
                stop_sending,
                SendPlan {
                    sender: i as u32,
                    rate,
                    size,
                    phase,
                    room: common.room_of(i),
                },
            ));
        }
        let shared = shared.clone();
        tokio::task::spawn_local(async move {
            let mut reader = Reader::default();
            let scanner = Scanner::default();
            loop {
                // A stalled client reads until its stall time, then never again (but keeps
                // the socket open).
                let event = match (is_stalled, stall_at) {
                    (true, Some(at)) => {
                        match tokio::time::timeout_at(at.into(), reader.next(&mut read)).await {
                            Ok(event) => event,
                            Err(_) => std::future::pending().await,
                        }
                    }
                    _ => reader.next(&mut read).await,
                };
                match event {
                    Ok(Event::Text(payload)) => {
                        if is_stalled {
                            continue;
                        }
                        let now = epoch.elapsed().as_nanos() as u64;
                        let mut shared = shared.borrow_mut();
                        scanner.scan(payload, |token| {
                            if token.sent_ns >= window.0 && token.sent_ns < window.1 {
                                shared.delivered += 1;
                                shared.latency.record_ns(now.saturating_sub(token.sent_ns));
                            }
                        });
                    }
                    Ok(Event::Ping(payload)) => {
                        let pong = wsclient::control_frame(0xA, &payload);
                        let _ = write.lock().await.write_all(&pong).await;
                    }
                    Ok(Event::Closed) | Err(_) => {
                        shared.borrow_mut().closed_by_server += 1;
                        return;
                    }
                }
            }
        });
    }

    // Watch the server: CPU over the window, memory and open files throughout. Every message
    // goes to the members of its room (the stalled ones excluded, which the slow scenario only
    // runs with one room).
    let receivers = ((args.clients - stalled) / common.rooms) as u64;
    let mut cpu_start = None;
    let mut cpu_end = None;
    let start_sample = server_sample(&common.pid)?;
    let mut rss_peak = start_sample.map(|s| s.rss_bytes);
    let mut stall_base: Option<procfs::Sample> = None;
    let mut dropped_after = None;
    let mut last_progress = Instant::now();
    let mut last_delivered = 0;
    let deadline = epoch + args.warmup + args.duration + args.drain;
    loop {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let now = Instant::now();
        let elapsed = now - epoch;
        let sample = server_sample(&common.pid)?;
        if let Some(sample) = sample {
            rss_peak = rss_peak.max(Some(sample.rss_bytes));
            if cpu_start.is_none() && elapsed >= args.warmup {
                cpu_start = Some(sample.cpu_seconds);
            }
            if cpu_end.is_none() && elapsed >= args.warmup + args.duration {
                cpu_end = Some(sample.cpu_seconds);
            }
            if let Some(stall) = stall {
                if stall_base.is_none() && elapsed >= stall.after {
                    stall_base = Some(sample);
                }
                if let (Some(base), None) = (stall_base, dropped_after) {
                    if sample.open_files + stall.clients as u64 <= base.open_files {
                        dropped_after = Some((elapsed - stall.after).as_secs_f64());
                    }
                }
            }
        }
        let (delivered, sent_in_window, sent_total) = {
            let s = shared.borrow();
            (s.delivered, s.sent_in_window, s.sent_total)
        };
        if now - last_progress >= Duration::from_secs(1) {
            let rate = (delivered - last_delivered) as f64 / (now - last_progress).as_secs_f64();
            eprintln!(
                "t={:>5.1}s sent={sent_total} delivered={delivered} ({:.0}/s) p99={:.1}ms",
                elapsed.as_secs_f64(),
                rate,
                shared.borrow().latency.summary().p99_ms
            );
            last_progress = now;
            last_delivered = delivered;
        }
        let sending_done = elapsed.as_nanos() as u64 >= stop_sending;
        let all_in = delivered >= sent_in_window * receivers;
        let stall_settled = stall.is_none() || dropped_after.is_some() || common.pid.is_empty();
        if sending_done && cpu_end.is_some() != common.pid.is_empty() && all_in && stall_settled {
            break;
        }
        if now >= deadline {
            break;
        }
    }

    let shared = shared.borrow();
    let cpu = cpu_start.zip(cpu_end).map(|(a, b)| b - a);
    let delivery = Delivery::new(
        shared.sent_in_window,
        receivers,
        shared.delivered,
        args.duration.as_secs_f64(),
    );
    Ok(FanoutReport {
        clients: args.clients,
        rooms: common.rooms,
        senders: args.senders,
        rate_per_sender: args.rate,
        warmup_s: args.warmup.as_secs_f64(),
        duration_s: args.duration.as_secs_f64(),
        sent_total: shared.sent_total,
        message_bytes: shared
            .text_bytes_sent
            .checked_div(shared.sent_total)
            .unwrap_or(0) as usize,
        delivery,
        latency: shared.latency.summary(),
        server_cpu_seconds: cpu,
        core_seconds_per_million: cpu.and_then(|c| core_seconds_per_million(c, delivery.delivered)),
        server_rss_start_bytes: start_sample.map(|s| s.rss_bytes),
        server_rss_peak_bytes: rss_peak,
        closed_by_server: shared.closed_by_server,
        stalled: stall.map(|s| StallReport {
            stalled_clients: s.clients,
            stall_after_s: s.after.as_secs_f64(),
            dropped_after_s: dropped_after,
            rss_growth_bytes: stall_base
                .zip(rss_peak)
                .map(|(base, peak)| peak.saturating_sub(base.rss_bytes)),
        }),
    })
}

/// One sender's schedule.
struct SendPlan {
    sender: u32,
    rate: f64,
    size: usize,
    /// Offset within one interval, in [0, 1), so senders do not fire in lockstep.
    phase: f64,
    /// The room it sends to (`None`: the server's default room).
    room: Option<String>,
}

/// Sends on a fixed schedule, whatever the replies do (open loop). Each message carries its
/// scheduled send time, so a stalled sender shows up as latency instead of hiding it.
async fn send_loop(
    write: Rc<Mutex<OwnedWriteHalf>>,
    shared: Rc<RefCell<Shared>>,
    epoch: Instant,
    window: (u64, u64),
    stop_ns: u64,
    plan: SendPlan,
) {
    let interval = 1e9 / plan.rate;
    let mut seq: u64 = 0;
    let mut buf = Vec::with_capacity(4096);
    loop {
        let now = epoch.elapsed().as_nanos() as u64;
        buf.clear();
        let mut in_window = 0;
        let mut batch = 0;
        let mut text_bytes = 0;
        loop {
            let due = ((seq as f64 + plan.phase) * interval) as u64;
            if due > now || due >= stop_ns {
                break;
            }
            // The actual send time, unless the tool fell behind its schedule by more than a
            // timer tick: then the scheduled time, so the tool's own delay is not hidden.
            let sent_ns = if now - due <= MAX_TIMER_SLACK_NS {
                now
            } else {
                due
            };
            let text = token::encode(
                Token {
                    sent_ns,
                    sender: plan.sender,
                    seq,
                },
                plan.size,
            );
            text_bytes += text.len() as u64;
            let send = ClientFrame::Send {
                room: plan.room.clone(),
                text,
                cid: None,
            };
            let Ok(frame) = encode_client(&send) else {
                return;
            };
            push_text_frame(&mut buf, frame.as_bytes());
            if sent_ns >= window.0 && sent_ns < window.1 {
                in_window += 1;
            }
            batch += 1;
            seq += 1;
        }
        if !buf.is_empty() {
            if write.lock().await.write_all(&buf).await.is_err() {
                return;
            }
            let mut shared = shared.borrow_mut();
            shared.sent_in_window += in_window;
            shared.sent_total += batch;
            shared.text_bytes_sent += text_bytes;
        }
        let next_due = ((seq as f64 + plan.phase) * interval) as u64;
        if next_due >= stop_ns {
            return;
        }
        tokio::time::sleep_until((epoch + Duration::from_nanos(next_due)).into()).await;
    }
}

#[derive(Debug, Serialize)]
struct IdleReport {
    connections: usize,
    connect_seconds: f64,
    connects_per_sec: f64,
    server_rss_before_bytes: Option<u64>,
    server_rss_after_bytes: Option<u64>,
    bytes_per_connection: Option<f64>,
    /// Server RSS for 100,000 connections, extrapolated from the measured per-connection cost.
    projected_rss_100k_bytes: Option<f64>,
    server_open_files_after: Option<u64>,
}

async fn idle(common: &Common, target: &Target, args: &IdleArgs) -> anyhow::Result<IdleReport> {
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

#[derive(Debug, Serialize)]
#[serde(tag = "scenario", rename_all = "snake_case")]
enum Report {
    Fanout(FanoutReport),
    Slow(FanoutReport),
    Idle(IdleReport),
    Resume(resume::ResumeReport),
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
