//! The `soak` scenario: named clients living in rooms for a long time (sending, editing,
//! deleting, reacting, typing, paging history, moving between rooms, dropping and resuming; a
//! few stop reading once and must be dropped) while one address abuses every limit, and
//! `scripts/soak.sh` restarts and kills the server under them. Every client checks what it is
//! told: per room, ids (of messages and events alike) only increase, none twice, and every gap
//! is one the server owned up to (`recovered: false`). Afterwards every id any client saw must
//! still be in the history, and every edit and deletion seen must show there.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::{IpAddr, Ipv4Addr};
use std::rc::Rc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use chat_shared::{encode_client, split_batch, ChatMessage, ClientFrame, ErrorCode, ServerFrame};
use clap::Args;
use serde::Serialize;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

use crate::stats::{Latency, LatencySummary};
use crate::target::Target;
use crate::wsclient::{connect, control_frame, push_text_frame, Event, Reader};

/// What the scenario is asked to do.
#[derive(Debug, Clone, Args)]
pub struct SoakArgs {
    /// Well-behaved clients.
    #[arg(long, default_value_t = 2000)]
    pub clients: usize,
    /// Rooms they live in (`s0`, `s1`, ...).
    #[arg(long, default_value_t = 200)]
    pub rooms: usize,
    /// How long they live.
    #[arg(long, default_value = "2m", value_parser = humantime::parse_duration)]
    pub duration: Duration,
    /// Source addresses for them (127.0.0.1 ..= N); the abuser uses 127.0.0.250.
    #[arg(long, default_value_t = 200)]
    pub addresses: usize,
    /// Mean seconds between a client's actions.
    #[arg(long, default_value_t = 4.0)]
    pub pace: f64,
}

/// What it found.
#[derive(Debug, Default, Serialize)]
pub struct SoakReport {
    clients: usize,
    rooms: usize,
    duration_s: f64,
    messages_sent: u64,
    deliveries: u64,
    latency: LatencySummary,
    connects: u64,
    resumes_recovered: u64,
    resumes_not_recovered: u64,
    /// Closes of well-behaved clients, by what they were told (restarts included).
    closes: HashMap<String, u64>,
    /// Errors well-behaved clients got, by code (`rate_limited` must stay 0).
    errors: HashMap<String, u64>,
    /// Broken promises: an id twice or going back, a gap nobody owned up to, a seen id gone
    /// from the history. Must be empty.
    violations: Vec<String>,
    /// Clients that stopped reading once and were dropped, as they must be.
    stallers_dropped: u64,
    /// What the abuser was refused, by limit.
    abuse_refused: HashMap<String, u64>,
    /// Ids seen, and how many of them the history still holds at the end.
    ids_seen: u64,
    ids_in_history: u64,
    /// Edits, deletions and reactions sent, and events (of any kind) delivered.
    actions_sent: u64,
    events_delivered: u64,
    /// Edits and deletions seen, checked against the history at the end (each must show: a
    /// deleted message deleted, an edited one with the text seen or a later edit).
    changes_checked: u64,
}

#[derive(Default)]
struct Shared {
    report: SoakReport,
    latency: Latency,
    /// Room -> every message id a client saw there (for the check against the history).
    seen: HashMap<String, BTreeSet<u64>>,
    /// Room -> message id -> the last change any client saw to it (by event id).
    changes: HashMap<String, HashMap<u64, Seen>>,
}

/// The last change a client saw to a message.
#[derive(Debug, Clone)]
struct Seen {
    event: u64,
    ts: u64,
    /// The edit's text; `None` for a deletion.
    text: Option<String>,
}

type World = Rc<RefCell<Shared>>;

/// A small deterministic random source per client (xorshift).
struct Dice(u64);

impl Dice {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    /// A wait around `mean` seconds (half to one and a half of it).
    fn wait(&mut self, mean: f64) -> Duration {
        let factor = 0.5 + (self.below(1000) as f64) / 1000.0;
        Duration::from_secs_f64(mean * factor)
    }
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// Where a client is in a room: the epoch and the last id it holds.
#[derive(Debug, Clone)]
struct Mark {
    epoch: String,
    last_id: u64,
}

struct Client {
    n: usize,
    name: String,
    token: Option<String>,
    home: String,
    marks: HashMap<String, Mark>,
    dice: Dice,
    world: World,
    /// When this client stops reading once (a few clients do): it must then be dropped.
    stall_at: Option<Instant>,
    /// The last message of its own it saw in its home room (to edit or delete), and the last
    /// message of anyone's there (to react to).
    own: Option<u64>,
    latest: Option<u64>,
}

/// One client in this many stops reading once, for longer than the server's pong timeout.
const STALLER_EVERY: usize = 400;
/// How long a staller stays silent: past `--pong-timeout` (60 s), so the server must drop it.
const STALL: Duration = Duration::from_secs(70);

async fn send(stream: &mut TcpStream, frame: &ClientFrame) -> anyhow::Result<()> {
    let mut buf = Vec::new();
    push_text_frame(&mut buf, encode_client(frame)?.as_bytes());
    stream.write_all(&buf).await?;
    Ok(())
}

impl Client {
    fn count(&self, map: fn(&mut SoakReport) -> &mut HashMap<String, u64>, key: &str) {
        *map(&mut self.world.borrow_mut().report)
            .entry(key.to_string())
            .or_default() += 1;
    }

    fn violation(&self, what: String) {
        let mut world = self.world.borrow_mut();
        if world.report.violations.len() < 100 {
            world.report.violations.push(what);
        }
    }

    fn saw(&self, room: &str, id: u64) {
        self.world
            .borrow_mut()
            .seen
            .entry(room.to_string())
            .or_default()
            .insert(id);
    }

    /// Notes an edit or a deletion seen (reactions are toggles: not checked at the end).
    fn saw_change(&self, event: &chat_shared::Event) {
        let text = match event.action {
            chat_shared::Action::Edit => Some(event.text.clone()),
            chat_shared::Action::Delete => None,
            _ => return,
        };
        let mut world = self.world.borrow_mut();
        let changes = world.changes.entry(event.room.clone()).or_default();
        let seen = Seen {
            event: event.id,
            ts: event.ts,
            text,
        };
        changes
            .entry(event.target)
            .and_modify(|was| {
                // A deletion is final; otherwise the later change wins.
                if was.text.is_some() && event.id > was.event {
                    *was = seen.clone();
                }
            })
            .or_insert(seen);
    }

    /// Checks that `id` is the next of `room` for this client, and moves its mark on.
    fn advance(&mut self, room: &str, id: u64) {
        match self.marks.get_mut(room) {
            Some(mark) if id == mark.last_id + 1 => mark.last_id = id,
            Some(mark) => {
                let what = if id <= mark.last_id {
                    "again or backwards"
                } else {
                    "after an unexplained gap"
                };
                let line = format!(
                    "{}: id {id} in {room} {what} (last {})",
                    self.name, mark.last_id
                );
                mark.last_id = mark.last_id.max(id);
                self.violation(line);
            }
            // A repeat of its own message in a room it left: fine.
            None => {}
        }
    }

    /// Checks a frame against what the client knows, and learns from it.
    fn on_frame(&mut self, frame: ServerFrame) {
        match frame {
            ServerFrame::Welcome { token, .. } => self.token = Some(token),
            ServerFrame::Joined(joined) => {
                let before = self.marks.get(&joined.room).cloned();
                let mut ids: Vec<u64> = joined.messages.iter().map(|m| m.id).collect();
                if ids.windows(2).any(|w| w[1] <= w[0]) {
                    self.violation(format!(
                        "{}: joined ids out of order in {}",
                        self.name, joined.room
                    ));
                }
                for event in &joined.events {
                    self.saw_change(event);
                }
                if joined.room == self.home {
                    self.latest = ids.last().copied();
                }
                let messages = ids.clone();
                ids.extend(joined.events.iter().map(|e| e.id));
                ids.sort_unstable();
                if let Some(mark) = before.filter(|m| m.epoch == joined.epoch) {
                    let mut world = self.world.borrow_mut();
                    if joined.recovered {
                        world.report.resumes_recovered += 1;
                        drop(world);
                        let want: Vec<u64> = (mark.last_id + 1..=joined.last_id).collect();
                        if ids != want {
                            self.violation(format!(
                                "{}: recovered gap in {} is not {}..={}",
                                self.name,
                                joined.room,
                                mark.last_id + 1,
                                joined.last_id
                            ));
                        }
                    } else {
                        world.report.resumes_not_recovered += 1;
                    }
                    if joined.last_id < mark.last_id {
                        self.violation(format!("{}: {} went back in time", self.name, joined.room));
                    }
                }
                for id in &messages {
                    self.saw(&joined.room, *id);
                }
                self.marks.insert(
                    joined.room.clone(),
                    Mark {
                        epoch: joined.epoch,
                        last_id: joined.last_id,
                    },
                );
            }
            ServerFrame::Message(message) => {
                {
                    let mut world = self.world.borrow_mut();
                    world.report.deliveries += 1;
                    world
                        .latency
                        .record_ns(now_ms().saturating_sub(message.ts) * 1_000_000);
                }
                self.saw(&message.room, message.id);
                if message.room == self.home {
                    self.latest = Some(message.id);
                    if message.name == self.name {
                        self.own = Some(message.id);
                    }
                }
                self.advance(&message.room, message.id);
            }
            ServerFrame::Event(event) => {
                self.world.borrow_mut().report.events_delivered += 1;
                self.saw_change(&event);
                if event.action == chat_shared::Action::Delete && self.own == Some(event.target) {
                    self.own = None;
                }
                self.advance(&event.room, event.id);
            }
            ServerFrame::Error(error) => self.count(|r| &mut r.errors, error.code.as_str()),
            _ => {}
        }
    }

    /// An edit or a deletion of its last message, or a reaction to the room's last one (7 % of
    /// the actions: 3 edits, 1 deletion, 3 reactions in 7).
    fn change(&mut self, sent: &mut u64) -> Option<ClientFrame> {
        let room = self.home.clone();
        match self.dice.below(7) {
            0..=2 => {
                *sent += 1;
                Some(ClientFrame::Edit {
                    room,
                    id: self.own?,
                    text: format!("{} edits to {sent}", self.name),
                })
            }
            3 => Some(ClientFrame::Delete {
                room,
                id: self.own.take()?,
            }),
            _ => {
                const EMOJI: [&str; 4] = ["👍", "🎉", "👀", "❤️"];
                let emoji = EMOJI[self.dice.below(4) as usize].to_string();
                Some(ClientFrame::React {
                    room,
                    id: self.latest?,
                    emoji,
                })
            }
        }
    }

    /// Reads nothing (and answers no ping) for [`STALL`], then expects to find the connection
    /// closed by the server (for its silence, or by a restart meanwhile).
    async fn stall(&mut self, stream: &mut TcpStream, reader: &mut Reader) -> anyhow::Result<()> {
        tokio::time::sleep(STALL).await;
        let until = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            match tokio::time::timeout_at(until, reader.next(stream)).await {
                Ok(Ok(Event::Closed)) | Ok(Err(_)) => {
                    self.world.borrow_mut().report.stallers_dropped += 1;
                    return Ok(());
                }
                Ok(Ok(_)) => {}
                Err(_) => {
                    self.violation(format!(
                        "{}: silent for {STALL:?} and still connected",
                        self.name
                    ));
                    return Ok(());
                }
            }
        }
    }

    /// One connection's life: hello, joins (resuming), then actions until it drops or the end.
    async fn live(
        &mut self,
        target: &Target,
        deadline: Instant,
        pace: f64,
        rooms: usize,
    ) -> anyhow::Result<()> {
        let source = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 1 + (self.n % 200) as u8));
        let path = format!("{}?room=", target.path);
        let Ok(mut stream) = connect(target, &path, source, None).await else {
            self.count(|r| &mut r.closes, "connect_failed");
            return Ok(());
        };
        self.world.borrow_mut().report.connects += 1;
        send(
            &mut stream,
            &ClientFrame::Hello {
                name: self.name.clone(),
                token: self.token.clone(),
            },
        )
        .await?;
        if self.marks.is_empty() {
            self.marks.insert(
                self.home.clone(),
                Mark {
                    epoch: String::new(),
                    last_id: 0,
                },
            );
        }
        let rejoin: Vec<(String, Mark)> = self
            .marks
            .iter()
            .map(|(r, m)| (r.clone(), m.clone()))
            .collect();
        for (room, mark) in rejoin {
            let since = (!mark.epoch.is_empty()).then_some(mark.last_id);
            let epoch = (!mark.epoch.is_empty()).then_some(mark.epoch);
            send(&mut stream, &ClientFrame::Join { room, since, epoch }).await?;
        }
        let mut reader = Reader::default();
        let mut next_action = tokio::time::Instant::now() + self.dice.wait(pace);
        let mut sent = 0u64;
        loop {
            if Instant::now() >= deadline {
                return Ok(());
            }
            if self.stall_at.is_some_and(|at| Instant::now() >= at)
                && Instant::now() + STALL < deadline
            {
                self.stall_at = None;
                return self.stall(&mut stream, &mut reader).await;
            }
            tokio::select! {
                           event = reader.next(&mut stream) => match event? {
                               Event::Text(payload) => {
                                   let text = String::from_utf8_lossy(payload).into_owned();
                                   for frame in split_batch(&text) {
                                       match frame {
                                           Ok(frame) => self.on_frame(frame),
                                           Err(err) => self.violation(format!("{}: unreadable frame: {err}", self.name)),
                                       }
                                   }
                               }
                               Event::Ping(payload) => stream.write_all(&control_frame(0xA, &payload)).await?,
                               Event::Closed => {
                                   self.count(|r| &mut r.closes, "closed_by_server");
                                   return Ok(());
                               }
                           },
                           () = tokio::time::sleep_until(next_action) => {
                               next_action = tokio::time::Instant::now() + self.dice.wait(pace);
                               match self.dice.below(100) {
                                   0..=59 => {
                                       sent += 1;
                                       let frame = ClientFrame::Send {
            reply_to: None,
                                           room: Some(self.home.clone()),
                                           text: format!("{} says {sent}", self.name),
                                           cid: Some(format!("{}-{}", self.n, self.dice.next() % 1_000_000_000)),
                                       };
                                       send(&mut stream, &frame).await?;
                                       self.world.borrow_mut().report.messages_sent += 1;
                                   }
                                   60..=69 => send(&mut stream, &ClientFrame::Typing { room: self.home.clone() }).await?,
                                   70..=79 => {
                                       let frame = ClientFrame::History {
            around: None, room: self.home.clone(), before: None, limit: Some(20) };
                                       send(&mut stream, &frame).await?;
                                   }
                                   80..=89 => {
                                       // Visit another room, or leave the one visited.
                                       let other = self.marks.keys().find(|r| **r != self.home).cloned();
                                       match other {
                                           Some(room) => {
                                               self.marks.remove(&room);
                                               send(&mut stream, &ClientFrame::Leave { room }).await?;
                                           }
                                           None => {
                                               let room = format!("s{}", self.dice.below(rooms as u64));
                                               if room != self.home {
                                                   self.marks.insert(room.clone(), Mark { epoch: String::new(), last_id: 0 });
                                                   send(&mut stream, &ClientFrame::Join { room, since: None, epoch: None }).await?;
                                               }
                                           }
                                       }
                                   }
                                   90..=92 => {
                                       // Drop the connection without a word; come back and resume.
                                       self.count(|r| &mut r.closes, "dropped_by_client");
                                       return Ok(());
                                   }
                                   93..=99 => {
                                       if let Some(frame) = self.change(&mut sent) {
                                           send(&mut stream, &frame).await?;
                                           self.world.borrow_mut().report.actions_sent += 1;
                                       }
                                   }
                                   _ => {}
                               }
                           }
                       }
        }
    }
}

/// One address trying every limit, all the time: what it is refused is counted by limit.
async fn abuse(target: Target, deadline: Instant, world: World) {
    let source = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 250));
    let refused = |what: &str| {
        *world
            .borrow_mut()
            .report
            .abuse_refused
            .entry(what.to_string())
            .or_default() += 1;
    };
    let mut round = 0u64;
    while Instant::now() < deadline {
        round += 1;
        // Sockets beyond the per-address cap, and handshakes beyond the rate.
        let mut held = Vec::new();
        for _ in 0..300 {
            match connect(&target, &format!("{}?room=", target.path), source, None).await {
                Ok(stream) => held.push(stream),
                Err(_) => refused("connection_or_handshake"),
            }
        }
        // From one of them: floods of requests, garbage, names, rooms and pings.
        if let Some(stream) = held.first_mut() {
            let mut buf = Vec::new();
            for i in 0..200 {
                let frames = [
                    encode_client(&ClientFrame::History {
                        around: None,
                        room: "s0".into(),
                        before: None,
                        limit: Some(100),
                    })
                    .unwrap_or_default(),
                    format!("garbage {i}"),
                    encode_client(&ClientFrame::Hello {
                        name: format!("abuser{round}x{i}"),
                        token: None,
                    })
                    .unwrap_or_default(),
                    encode_client(&ClientFrame::Join {
                        room: format!("junk{round}x{i}"),
                        since: None,
                        epoch: None,
                    })
                    .unwrap_or_default(),
                ];
                for frame in frames {
                    push_text_frame(&mut buf, frame.as_bytes());
                }
                buf.extend_from_slice(&control_frame(0x9, b"p"));
            }
            let _ = stream.write_all(&buf).await;
            let mut reader = Reader::default();
            let until = tokio::time::Instant::now() + Duration::from_secs(2);
            loop {
                let event = tokio::time::timeout_at(until, reader.next(stream)).await;
                match event {
                    Ok(Ok(Event::Text(payload))) => {
                        let text = String::from_utf8_lossy(payload).into_owned();
                        for frame in split_batch(&text).flatten() {
                            if let ServerFrame::Error(e) = frame {
                                if e.code == ErrorCode::RateLimited {
                                    refused("rate_limited");
                                }
                            }
                        }
                    }
                    Ok(Ok(Event::Ping(_))) => {}
                    Ok(Ok(Event::Closed)) | Ok(Err(_)) => {
                        refused("closed_1008");
                        break;
                    }
                    Err(_) => break,
                }
            }
        }
        drop(held);
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// After the run: every id any client saw must still be in its room's history. Rooms are
/// split among several checkers, each a connection of its own (requests are limited per
/// connection), and a refusal to go faster is waited out.
async fn check_history(target: &Target, world: &World) -> anyhow::Result<()> {
    const CHECKERS: usize = 16;
    let rooms: Vec<(String, BTreeSet<u64>)> = world.borrow().seen.clone().into_iter().collect();
    let changes = std::mem::take(&mut world.borrow_mut().changes);
    let changes = Rc::new(changes);
    let mut tasks = tokio::task::JoinSet::new();
    for k in 0..CHECKERS {
        let mine: Vec<(String, BTreeSet<u64>)> =
            rooms.iter().skip(k).step_by(CHECKERS).cloned().collect();
        let (target, world, changes) = (target.clone(), world.clone(), changes.clone());
        tasks.spawn_local(async move {
            let source = IpAddr::V4(Ipv4Addr::new(127, 0, 1, 1 + k as u8));
            let mut stream =
                connect(&target, &format!("{}?room=", target.path), source, None).await?;
            let mut reader = Reader::default();
            for (room, seen) in mine {
                let kept = room_history(&mut stream, &mut reader, &room).await?;
                let missing: Vec<&u64> = seen.iter().filter(|id| !kept.contains_key(id)).collect();
                let changed = changes.get(&room).map(|c| check_changes(&room, c, &kept));
                if let Some((checked, broken)) = changed {
                    let mut world = world.borrow_mut();
                    world.report.changes_checked += checked;
                    if let Some(first) = broken {
                        world.report.violations.push(first);
                    }
                }
                let mut world = world.borrow_mut();
                world.report.ids_seen += seen.len() as u64;
                world.report.ids_in_history += (seen.len() - missing.len()) as u64;
                if let Some(first) = missing.first() {
                    world.report.violations.push(format!(
                        "{room}: {} seen ids missing from the history (first {first})",
                        missing.len()
                    ));
                }
            }
            anyhow::Ok(())
        });
    }
    while let Some(done) = tasks.join_next().await {
        done??;
    }
    Ok(())
}

/// Each edit and deletion seen must show in the history: a deleted message deleted, an edited
/// one with the text seen, or a later edit's. How many were checked, and the first that
/// does not.
fn check_changes(
    room: &str,
    changes: &HashMap<u64, Seen>,
    kept: &BTreeMap<u64, ChatMessage>,
) -> (u64, Option<String>) {
    let (mut checked, mut broken) = (0, None);
    for (id, seen) in changes {
        let Some(message) = kept.get(id) else {
            continue; // its id is checked with the others
        };
        checked += 1;
        let holds = match &seen.text {
            None => message.is_deleted(),
            Some(text) => {
                // Deleted since, as seen, or edited again since.
                message.is_deleted()
                    || message.text == *text
                    || message.edited.is_some_and(|at| at > seen.ts)
            }
        };
        if !holds && broken.is_none() {
            broken = Some(format!(
                "{room}: message {id} does not show the change seen in event {}: {:?}",
                seen.event, message.text
            ));
        }
    }
    (checked, broken)
}

/// Every message `room`'s history holds, as it is now: joined, paged back to the start, left.
async fn room_history(
    stream: &mut TcpStream,
    reader: &mut Reader,
    room: &str,
) -> anyhow::Result<BTreeMap<u64, ChatMessage>> {
    let mut kept = BTreeMap::new();
    let join = ClientFrame::Join {
        room: room.to_string(),
        since: None,
        epoch: None,
    };
    let mut request = join;
    loop {
        send(stream, &request).await?;
        let (messages, more) = loop {
            match reader.next(stream).await? {
                Event::Text(payload) => {
                    let text = String::from_utf8_lossy(payload).into_owned();
                    let mut answer = None;
                    for frame in split_batch(&text).flatten() {
                        match frame {
                            ServerFrame::Joined(j) if j.room == room => {
                                answer = Some(Ok((j.messages, true)));
                            }
                            ServerFrame::History {
                                room: r,
                                messages,
                                more,
                            } if r == room => {
                                answer = Some(Ok((messages, more)));
                            }
                            ServerFrame::Error(e) if e.code == ErrorCode::RateLimited => {
                                answer = Some(Err(e.retry_after_ms.unwrap_or(100)));
                            }
                            _ => {}
                        }
                    }
                    match answer {
                        Some(Ok(found)) => break found,
                        Some(Err(wait)) => {
                            tokio::time::sleep(Duration::from_millis(wait)).await;
                            send(stream, &request).await?;
                        }
                        None => {}
                    }
                }
                Event::Ping(payload) => stream.write_all(&control_frame(0xA, &payload)).await?,
                Event::Closed => anyhow::bail!("the history checker was disconnected"),
            }
        };
        let oldest = messages.first().map(|m| m.id);
        kept.extend(messages.into_iter().map(|m| (m.id, m)));
        match oldest {
            Some(id) if more && id > 1 => {
                request = ClientFrame::History {
                    around: None,
                    room: room.to_string(),
                    before: Some(id),
                    limit: Some(100),
                };
            }
            _ => break,
        }
    }
    send(
        stream,
        &ClientFrame::Leave {
            room: room.to_string(),
        },
    )
    .await?;
    Ok(kept)
}

/// Runs the scenario against one server, or the nodes of a cluster (client n on node n mod
/// their number, so every room has members on each; the abuser and the checkers on the first).
pub async fn run(targets: &[Target], args: &SoakArgs) -> anyhow::Result<SoakReport> {
    let target = targets
        .first()
        .ok_or_else(|| anyhow::anyhow!("no target"))?;
    let world: World = Rc::default();
    let started = Instant::now();
    let deadline = started + args.duration;
    eprintln!(
        "soak: {} clients in {} rooms for {:?}, one abusive address",
        args.clients, args.rooms, args.duration
    );
    let mut tasks = tokio::task::JoinSet::new();
    for n in 0..args.clients {
        let mut client = Client {
            n,
            name: format!("soak{n}"),
            token: None,
            home: format!("s{}", n % args.rooms.max(1)),
            marks: HashMap::new(),
            dice: Dice(0x9E37_79B9_7F4A_7C15 ^ (n as u64 + 1).wrapping_mul(0x2545_F491_4F6C_DD1D)),
            world: world.clone(),
            stall_at: (n % STALLER_EVERY == STALLER_EVERY / 2)
                .then(|| started + Duration::from_secs(20 + (n as u64 % 40))),
            own: None,
            latest: None,
        };
        let target = targets[n % targets.len()].clone();
        let (pace, rooms) = (args.pace, args.rooms);
        tasks.spawn_local(async move {
            // Spread the arrivals over the first seconds, as people arrive.
            tokio::time::sleep(Duration::from_millis((n as u64 * 5) % 5000)).await;
            while Instant::now() < deadline {
                if let Err(err) = client.live(&target, deadline, pace, rooms).await {
                    client.count(|r| &mut r.closes, &format!("error: {err}"));
                }
                // Back after a moment, as the page does.
                tokio::time::sleep(client.dice.wait(1.0)).await;
            }
        });
    }
    tasks.spawn_local(abuse(target.clone(), deadline, world.clone()));
    while let Some(done) = tasks.join_next().await {
        done?;
    }
    // Let the last messages land, then check the history.
    tokio::time::sleep(Duration::from_secs(1)).await;
    check_history(target, &world).await?;
    let mut shared = std::mem::take(&mut *world.borrow_mut());
    shared.report.clients = args.clients;
    shared.report.rooms = args.rooms;
    shared.report.duration_s = started.elapsed().as_secs_f64();
    shared.report.latency = shared.latency.summary();
    Ok(shared.report)
}

impl SoakReport {
    /// Whether every promise held and no well-behaved client was refused.
    pub fn passed(&self) -> bool {
        self.violations.is_empty()
            && !self.errors.contains_key(ErrorCode::RateLimited.as_str())
            && self.deliveries > 0
            && self.events_delivered > 0
    }

    /// The summary printed without `--json`.
    pub fn human(&self) -> String {
        format!(
            "{} clients in {} rooms for {:.0} s: {} sent, {} delivered, p99 {:.1} ms\n\
             connects {}, resumes recovered {} / not {}, closes {:?}, errors {:?}, stallers dropped {}\n\
             abuser refused {:?}\n\
             ids seen {}, in the history {}; actions sent {}, events delivered {}, \
             changes checked {}; violations: {}\n{}",
            self.clients,
            self.rooms,
            self.duration_s,
            self.messages_sent,
            self.deliveries,
            self.latency.p99_ms,
            self.connects,
            self.resumes_recovered,
            self.resumes_not_recovered,
            self.closes,
            self.errors,
            self.stallers_dropped,
            self.abuse_refused,
            self.ids_seen,
            self.ids_in_history,
            self.actions_sent,
            self.events_delivered,
            self.changes_checked,
            self.violations.len(),
            self.violations.join("\n"),
        )
    }
}
