//! The `fanout` and `slow` scenarios: clients in rooms, senders on a fixed schedule, and the
//! latency and loss of every delivery; optionally some clients stop reading.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use chat_shared::{encode_client, ClientFrame};
use serde::Serialize;
use tokio::io::AsyncWriteExt;
use tokio::net::tcp::OwnedWriteHalf;
use tokio::sync::Mutex;

use crate::stats::{core_seconds_per_million, Delivery, Latency, LatencySummary};
use crate::target::Target;
use crate::token::{Scanner, Token};
use crate::wsclient::{push_text_frame, Event, Reader};
use crate::{connect_all, procfs, server_sample, token, wsclient, Common, FanoutArgs};

/// How late a sender may wake (timer granularity) before its lateness counts as latency.
const MAX_TIMER_SLACK_NS: u64 = 2_000_000;

/// Clients that stop reading in the `slow` scenario: the last `clients` of the list.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Stall {
    pub(crate) clients: usize,
    pub(crate) after: Duration,
    pub(crate) rcvbuf: u32,
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
    /// Edits and reactions sent (`--actions`).
    actions_sent: u64,
}

#[derive(Debug, Serialize)]
pub(crate) struct FanoutReport {
    pub(crate) clients: usize,
    pub(crate) rooms: usize,
    pub(crate) senders: usize,
    pub(crate) rate_per_sender: f64,
    pub(crate) warmup_s: f64,
    pub(crate) duration_s: f64,
    /// Average text length actually sent (token plus padding).
    pub(crate) message_bytes: usize,
    /// Messages sent over the whole run, warm-up and drain included.
    pub(crate) sent_total: u64,
    #[serde(flatten)]
    pub(crate) delivery: Delivery,
    pub(crate) latency: LatencySummary,
    pub(crate) server_cpu_seconds: Option<f64>,
    pub(crate) core_seconds_per_million: Option<f64>,
    pub(crate) server_rss_start_bytes: Option<u64>,
    pub(crate) server_rss_peak_bytes: Option<u64>,
    pub(crate) closed_by_server: u64,
    pub(crate) stalled: Option<StallReport>,
    /// `--actions`: of every 100 sends this many were edits or reactions.
    pub(crate) actions_percent: u32,
    /// Edits and reactions sent over the whole run.
    pub(crate) actions_sent: u64,
}

#[derive(Debug, Serialize)]
pub(crate) struct StallReport {
    pub(crate) stalled_clients: usize,
    pub(crate) stall_after_s: f64,
    /// Seconds from the stall until the server had closed the stalled connections (from its
    /// open-file count); `None` if it had not by the end of the run.
    pub(crate) dropped_after_s: Option<f64>,
    /// Largest server RSS growth over its RSS when the stall began.
    pub(crate) rss_growth_bytes: Option<u64>,
}

pub(crate) async fn fanout(
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
        // What a sender's edits and reactions aim at: its own last message, its room's last.
        let last = Rc::new(LastIds::default());
        let watch = (i < args.senders && args.actions > 0).then(|| (i as u32, last.clone()));
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
                    actions: args.actions,
                    last,
                    words: args.words,
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
                        if let Some((sender, last)) = &watch {
                            last.note(&scanner, payload, *sender);
                        }
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
        actions_percent: args.actions,
        actions_sent: shared.actions_sent,
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
    /// Of every 100 sends, how many are an edit or a reaction instead.
    actions: u32,
    /// The ids its actions aim at, kept by its reader.
    last: Rc<LastIds>,
    /// Pad texts with words ([`crate::words`]) rather than `x`s.
    words: bool,
}

/// The last message ids a sender's reader saw: its own, and any in its room.
#[derive(Default)]
struct LastIds {
    own: std::cell::Cell<u64>,
    room: std::cell::Cell<u64>,
}

/// How a message frame starts, as the server writes it.
const MESSAGE_START: &[u8] = b"{\"type\":\"message\",\"id\":";

impl LastIds {
    /// Notes the ids of the message frames in `payload` (only a sender with `--actions` pays
    /// for reading them).
    fn note(&self, scanner: &Scanner, payload: &[u8], sender: u32) {
        for line in payload.split(|b| *b == b'\n') {
            let Some(rest) = line.strip_prefix(MESSAGE_START) else {
                continue;
            };
            let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
            let Some(id) = std::str::from_utf8(&rest[..digits])
                .ok()
                .and_then(|d| d.parse().ok())
            else {
                continue;
            };
            self.room.set(id);
            scanner.scan(line, |token| {
                if token.sender == sender {
                    self.own.set(id);
                }
            });
        }
    }
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
    // Every `every`-th send is an action (edits and reactions in turn).
    let every = (plan.actions > 0).then(|| u64::from(100 / plan.actions));
    let mut actions: u64 = 0;
    let mut written = false;
    let mut picker = crate::words::Picker::new(u64::from(plan.sender) + 1);
    if every.is_some() {
        // A name held by its token, so that the sender may edit its messages.
        let hello = ClientFrame::Hello {
            name: format!("bench-{}", plan.sender),
            token: None,
        };
        if let Ok(frame) = encode_client(&hello) {
            push_text_frame(&mut buf, frame.as_bytes());
        }
    }
    loop {
        let now = epoch.elapsed().as_nanos() as u64;
        // (The first write carries the `hello` put in before the loop.)
        if written {
            buf.clear();
        }
        let mut in_window = 0;
        let mut acted = 0;
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
            let token = Token {
                sent_ns,
                sender: plan.sender,
                seq,
            };
            let text = if plan.words {
                let mut text = token::encode(token, 0);
                crate::words::pad(&mut text, plan.size, &mut picker);
                text
            } else {
                token::encode(token, plan.size)
            };
            text_bytes += text.len() as u64;
            let (own, last) = (plan.last.own.get(), plan.last.room.get());
            let act = every.is_some_and(|every| seq % every == every - 1);
            let room = || {
                plan.room
                    .clone()
                    .unwrap_or_else(|| chat_shared::DEFAULT_ROOM.into())
            };
            let send = match (act, actions % 2) {
                // An edit: the new text is timed like a message, and counted like one.
                (true, 0) if own > 0 => ClientFrame::Edit {
                    room: room(),
                    id: own,
                    text,
                },
                (true, _) if last > 0 => ClientFrame::React {
                    room: room(),
                    id: last,
                    emoji: "👍".into(),
                },
                _ => ClientFrame::Send {
                    reply_to: None,
                    room: plan.room.clone(),
                    text,
                    cid: None,
                },
            };
            let timed = !matches!(send, ClientFrame::React { .. });
            if !matches!(send, ClientFrame::Send { .. }) {
                actions += 1;
                acted += 1;
            }
            let Ok(frame) = encode_client(&send) else {
                return;
            };
            push_text_frame(&mut buf, frame.as_bytes());
            if timed && sent_ns >= window.0 && sent_ns < window.1 {
                in_window += 1;
            }
            batch += 1;
            seq += 1;
        }
        if !buf.is_empty() {
            if write.lock().await.write_all(&buf).await.is_err() {
                return;
            }
            written = true;
            let mut shared = shared.borrow_mut();
            shared.sent_in_window += in_window;
            shared.sent_total += batch;
            shared.text_bytes_sent += text_bytes;
            shared.actions_sent += acted;
        }
        let next_due = ((seq as f64 + plan.phase) * interval) as u64;
        if next_due >= stop_ns {
            return;
        }
        tokio::time::sleep_until((epoch + Duration::from_nanos(next_due)).into()).await;
    }
}
