//! The `resume` scenario: clients in several rooms leave, messages are posted meanwhile, and all
//! come back at once naming their last id. Each must get exactly its gap (`recovered`, every id
//! once, in order), and the report says how long until the last one had it.

use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use chat_shared::{encode_client, split_batch, ClientFrame, Joined, ServerFrame};
use clap::Args;
use serde::Serialize;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

use crate::stats::{Latency, LatencySummary};
use crate::target::{source_address, Target};
use crate::wsclient::{connect, push_text_frame, Event, Reader};
use crate::Common;

/// What the scenario is asked to do.
#[derive(Debug, Clone, Args)]
pub struct ResumeArgs {
    /// Clients, spread over `--rooms` rooms.
    #[arg(long, default_value_t = 1000)]
    pub clients: usize,
    /// Messages posted while they are away, over all rooms.
    #[arg(long, default_value_t = 10_000)]
    pub messages: usize,
    /// A shell command run after the posting and before everyone comes back, which restarts
    /// the server and returns once it serves again: the storm then meets a server with no room
    /// open, no page cached and its store cold, as after a deploy.
    #[arg(long)]
    pub restart_command: Option<String>,
}

/// What it measured.
#[derive(Debug, Serialize)]
pub struct ResumeReport {
    clients: usize,
    rooms: usize,
    messages_posted: usize,
    /// Missed messages per client.
    gap_per_client: usize,
    /// Whether the server was restarted before they came back.
    restarted: bool,
    /// Clients whose `joined` was `recovered` with exactly the missed ids, in order.
    exact: usize,
    /// Clients that got anything else.
    wrong: usize,
    /// From the first reconnect to the last client holding its whole gap.
    all_caught_up_s: f64,
    /// Per client: from its reconnect to its `joined`.
    per_client: LatencySummary,
    /// Bytes of presence frames a client received in the seconds after its `joined` (while
    /// the others came back): the most any client got, and the mean.
    presence_bytes_max: usize,
    presence_bytes_mean: f64,
}

/// How long each returning client keeps counting presence after its `joined`.
const PRESENCE_WINDOW: Duration = Duration::from_secs(3);

impl ResumeReport {
    /// Whether every client got exactly its gap.
    pub fn all_exact(&self) -> bool {
        self.wrong == 0 && self.exact == self.clients
    }

    /// The summary printed without `--json`.
    pub fn human(&self) -> String {
        format!(
            "{} clients in {} rooms, {} messages posted while away ({} missed each){}\n\
             exact gap recovered: {}  wrong: {}\n\
             all caught up {:.3} s after the first reconnect; per client p50 {:.1} ms p99 {:.1} ms max {:.1} ms\n\
             presence in the {}s after a joined: at most {} bytes per client, {:.0} on average\n",
            self.clients,
            self.rooms,
            self.messages_posted,
            self.gap_per_client,
            if self.restarted {
                ", then the server restarted"
            } else {
                ""
            },
            self.exact,
            self.wrong,
            self.all_caught_up_s,
            self.per_client.p50_ms,
            self.per_client.p99_ms,
            self.per_client.max_ms,
            PRESENCE_WINDOW.as_secs(),
            self.presence_bytes_max,
            self.presence_bytes_mean,
        )
    }
}

/// Sends one client frame.
async fn send(stream: &mut TcpStream, frame: &ClientFrame) -> anyhow::Result<()> {
    let mut buf = Vec::new();
    push_text_frame(&mut buf, encode_client(frame)?.as_bytes());
    stream.write_all(&buf).await?;
    Ok(())
}

/// Reads frames until `want` returns a value.
async fn read_until<T>(
    stream: &mut TcpStream,
    reader: &mut Reader,
    mut want: impl FnMut(ServerFrame) -> Option<T>,
) -> anyhow::Result<T> {
    loop {
        match reader.next(stream).await? {
            Event::Text(payload) => {
                let text = std::str::from_utf8(payload).context("server sent invalid UTF-8")?;
                for frame in split_batch(text) {
                    if let Some(found) = want(frame?) {
                        return Ok(found);
                    }
                }
            }
            Event::Ping(_) => {}
            Event::Closed => bail!("the server closed the connection"),
        }
    }
}

fn joined(frame: ServerFrame) -> Option<Joined> {
    match frame {
        ServerFrame::Joined(joined) => Some(joined),
        _ => None,
    }
}

/// Runs the scenario.
pub async fn run(
    common: &Common,
    target: &Target,
    args: &ResumeArgs,
) -> anyhow::Result<ResumeReport> {
    let rooms = common.rooms.max(1);
    anyhow::ensure!(
        args.clients % rooms == 0 && args.messages % rooms == 0,
        "--clients and --messages must be multiples of --rooms"
    );
    let room_name = |k: usize| format!("r{k}");
    eprintln!("connecting {} clients in {rooms} rooms ...", args.clients);
    // 1. Everyone joins and notes where its room is.
    let mut marks = Vec::with_capacity(args.clients);
    for chunk_start in (0..args.clients).step_by(common.connect_concurrency.max(1)) {
        let chunk_end = (chunk_start + common.connect_concurrency.max(1)).min(args.clients);
        let mut pending = tokio::task::JoinSet::new();
        for i in chunk_start..chunk_end {
            let target = target.clone();
            let path = format!("{}?room={}", target.path, room_name(i % rooms));
            let source = source_address(&target, i, common.sources);
            pending.spawn_local(async move {
                let mut stream = connect(&target, &path, source, None).await?;
                let mut reader = Reader::default();
                let joined = read_until(&mut stream, &mut reader, joined).await?;
                anyhow::Ok((i, joined.epoch, joined.last_id))
            });
        }
        while let Some(done) = pending.join_next().await {
            marks.push(done.context("connect task")??);
        }
    }
    marks.sort_by_key(|(i, _, _)| *i);
    // 2. All leave (their connections close here).
    tokio::time::sleep(Duration::from_millis(200)).await;

    // 3. One poster per room posts the room's share and waits for its own last echo.
    let per_room = args.messages / rooms;
    eprintln!("posting {} messages ...", args.messages);
    let mut posters = tokio::task::JoinSet::new();
    for k in 0..rooms {
        let target = target.clone();
        let room = room_name(k);
        let source = source_address(&target, k, common.sources);
        posters.spawn_local(async move {
            let path = format!("{}?room={room}", target.path);
            let mut stream = connect(&target, &path, source, None).await?;
            let mut reader = Reader::default();
            read_until(&mut stream, &mut reader, joined).await?;
            let mut buf = Vec::new();
            for n in 0..per_room {
                let frame = ClientFrame::Send {
                    reply_to: None,
                    room: Some(room.clone()),
                    text: format!("away {n}"),
                    cid: None,
                };
                push_text_frame(&mut buf, encode_client(&frame)?.as_bytes());
                if buf.len() > 32 * 1024 {
                    stream.write_all(&buf).await?;
                    buf.clear();
                }
            }
            stream.write_all(&buf).await?;
            let mut echoed = 0;
            let done = read_until(&mut stream, &mut reader, |frame| match frame {
                ServerFrame::Message(_) => {
                    echoed += 1;
                    (echoed == per_room).then_some(Ok(()))
                }
                ServerFrame::Error(error) => Some(Err(error.message)),
                _ => None,
            })
            .await?;
            done.map_err(|refused| anyhow::anyhow!("the server refused a message: {refused}"))
        });
    }
    while let Some(done) = posters.join_next().await {
        done.context("poster task")??;
    }

    if let Some(command) = &args.restart_command {
        eprintln!("restarting the server: {command}");
        let status = tokio::process::Command::new("sh")
            .arg("-c")
            .arg(command)
            .status()
            .await
            .context("cannot run --restart-command")?;
        anyhow::ensure!(status.success(), "--restart-command failed: {status}");
    }

    // 4. Everyone comes back at once with `since`.
    eprintln!("reconnecting {} clients with since ...", args.clients);
    let started = Instant::now();
    let mut returning = tokio::task::JoinSet::new();
    for (i, epoch, last_id) in marks {
        let target = target.clone();
        let room = room_name(i % rooms);
        let source = source_address(&target, i, common.sources);
        returning.spawn_local(async move {
            let begun = Instant::now();
            let path = format!("{}?room=", target.path);
            let mut stream = connect(&target, &path, source, None).await?;
            let mut reader = Reader::default();
            let join = ClientFrame::Join {
                room,
                since: Some(last_id),
                epoch: Some(epoch),
            };
            send(&mut stream, &join).await?;
            let got = read_until(&mut stream, &mut reader, joined).await?;
            let took = begun.elapsed();
            let at = started.elapsed();
            let mut presence = 0;
            let until = tokio::time::Instant::now() + PRESENCE_WINDOW;
            while let Ok(Ok(event)) = tokio::time::timeout_at(until, reader.next(&mut stream)).await
            {
                match event {
                    Event::Text(payload) => {
                        presence += payload
                            .split(|b| *b == b'\n')
                            .filter(|line| line.starts_with(br#"{"type":"presence""#))
                            .map(<[u8]>::len)
                            .sum::<usize>();
                    }
                    Event::Ping(_) => {}
                    Event::Closed => break,
                }
            }
            // The gap's ids are its messages' and its events' (edits, deletions, reactions)
            // together, each once.
            let mut ids: Vec<u64> = got.messages.iter().map(|m| m.id).collect();
            ids.extend(got.events.iter().map(|e| e.id));
            ids.sort_unstable();
            let want: Vec<u64> = (last_id + 1..=last_id + per_room as u64).collect();
            anyhow::Ok((got.recovered && ids == want, took, at, presence))
        });
    }
    let (mut exact, mut wrong) = (0, 0);
    let mut per_client = Latency::default();
    let mut last_done = Duration::ZERO;
    let (mut presence_max, mut presence_sum) = (0, 0);
    while let Some(done) = returning.join_next().await {
        let (ok, took, at, presence) = done.context("client task")??;
        presence_max = presence_max.max(presence);
        presence_sum += presence;
        if ok {
            exact += 1;
        } else {
            wrong += 1;
        }
        per_client.record_ns(took.as_nanos() as u64);
        last_done = last_done.max(at);
    }
    Ok(ResumeReport {
        clients: args.clients,
        rooms,
        messages_posted: args.messages,
        restarted: args.restart_command.is_some(),
        gap_per_client: per_room,
        exact,
        wrong,
        all_caught_up_s: last_done.as_secs_f64(),
        per_client: per_client.summary(),
        presence_bytes_max: presence_max,
        presence_bytes_mean: presence_sum as f64 / args.clients.max(1) as f64,
    })
}
