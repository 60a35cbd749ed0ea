//! The node's one pub/sub connection: hears the channels of the rooms it holds and feeds their
//! entries (messages and events) to the rooms in id order.
//!
//! Redis pub/sub delivers at most once (a reconnect loses whatever was published meanwhile), so
//! ids are checked, not trusted: each room remembers the last id it released, an older one is
//! a duplicate, and a later one first has the missing ids read from the room's stream. After a
//! reconnect every room is caught up the same way before anything new is delivered.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use chat_shared::{encode, ErrorCode, FrameError, ServerFrame};
use futures_util::StreamExt;
use redis::aio::PubSubSink;
use redis::Msg;
use tokio::sync::{mpsc, oneshot};
use tracing::{info, warn};
use tungstenite::Utf8Bytes;

use super::keys::{self, Event};
use super::Shared;
use crate::rooms::Room;

/// Most ids read from a stream in one go when filling a gap.
const FILL_CHUNK: u64 = 1000;

/// How often rooms without members here are dropped (and their channels no longer heard).
const RETIRE_EVERY: Duration = Duration::from_secs(5);

/// What the rest of the broker asks of the subscriber.
#[derive(Debug)]
pub(crate) enum SubscriberCommand {
    /// Hear `room`'s channel; answered once subscribed and caught up.
    Subscribe {
        room: Arc<Room>,
        done: oneshot::Sender<Result<(), FrameError>>,
    },
}

pub(crate) struct Subscriber {
    shared: Arc<Shared>,
    commands: mpsc::Receiver<SubscriberCommand>,
    /// The rooms this node hears, by name. Each room knows the last id it released.
    rooms: HashMap<String, Arc<Room>>,
}

impl Subscriber {
    pub(crate) fn new(shared: Arc<Shared>, commands: mpsc::Receiver<SubscriberCommand>) -> Self {
        Subscriber {
            shared,
            commands,
            rooms: HashMap::new(),
        }
    }

    /// Connects, resubscribes and catches up, serves until the connection drops, and again,
    /// with backoff (and jitter) between failed attempts; ends when the broker is dropped.
    pub(crate) async fn run(mut self) {
        let mut backoff = Backoff::default();
        loop {
            let pubsub = match self.shared.client.get_async_pubsub().await {
                Ok(pubsub) => pubsub,
                Err(err) => {
                    self.shared.metrics.redis_errors.inc();
                    let wait = backoff.next();
                    warn!(error = %err, retry_in = ?wait, "cannot reach Redis for pub/sub");
                    if !self.refuse_commands_for(wait).await {
                        return;
                    }
                    continue;
                }
            };
            let (mut sink, mut stream) = pubsub.split();
            if let Err(err) = self.resubscribe(&mut sink).await {
                self.shared.metrics.redis_errors.inc();
                warn!(error = %err, "cannot resubscribe to the rooms' channels");
                tokio::time::sleep(backoff.next()).await;
                continue;
            }
            if backoff.failures > 0 {
                info!(
                    rooms = self.rooms.len(),
                    "pub/sub reconnected; rooms caught up"
                );
            }
            backoff = Backoff::default();
            self.shared.hearing.store(true, Ordering::SeqCst);
            let mut retire = tokio::time::interval(RETIRE_EVERY);
            retire.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = retire.tick() => {
                        if let Err(err) = self.retire_empty(&mut sink).await {
                            self.shared.metrics.redis_errors.inc();
                            warn!(error = %err, "cannot unsubscribe; reconnecting");
                            self.shared.hearing.store(false, Ordering::SeqCst);
                            break;
                        }
                    }
                    message = stream.next() => match message {
                        Some(message) => self.on_message(message).await,
                        None => {
                            self.shared.metrics.redis_errors.inc();
                            warn!("lost the pub/sub connection to Redis; reconnecting");
                            self.shared.hearing.store(false, Ordering::SeqCst);
                            self.tell_members_redis_is_gone();
                            break;
                        }
                    },
                    command = self.commands.recv() => match command {
                        Some(command) => {
                            if !self.on_command(command, &mut sink).await {
                                self.shared.hearing.store(false, Ordering::SeqCst);
                                break;
                            }
                        }
                        None => return,
                    },
                }
            }
        }
    }

    /// Every member of every room here learns that sending is paused (it stays connected; what
    /// was sent meanwhile arrives once Redis is back).
    fn tell_members_redis_is_gone(&self) {
        for (name, heard) in &self.rooms {
            let notice = FrameError::new(
                ErrorCode::HistoryUnavailable,
                "the server lost its connection to Redis: messages cannot be sent until it is \
                 back; nothing already sent is lost",
            )
            .in_room(name);
            heard.notify(&notice.into_frame());
        }
    }

    /// Subscribes to every room heard before a reconnect, then catches each up.
    async fn resubscribe(&mut self, sink: &mut PubSubSink) -> redis::RedisResult<()> {
        if self.rooms.is_empty() {
            return Ok(());
        }
        let channels: Vec<String> = self.rooms.keys().map(|r| keys::channel(r)).collect();
        self.shared.metrics.redis_round_trips.inc();
        sink.subscribe(channels).await?;
        for room in self.rooms.values() {
            self.resync(room).await?;
            self.load_presence(&room.name).await?;
        }
        Ok(())
    }

    /// Reads who other nodes have in `room` (after subscribing, so no change is missed).
    async fn load_presence(&self, room: &str) -> redis::RedisResult<()> {
        let Some(heard) = self.rooms.get(room) else {
            return Ok(());
        };
        let mut conn = self.shared.conn.clone();
        self.shared.metrics.redis_round_trips.inc();
        let fields: Vec<(String, String)> = redis::cmd("HGETALL")
            .arg(keys::presence(room))
            .query_async(&mut conn)
            .await?;
        let entries: Vec<(String, String)> = fields
            .into_iter()
            .filter_map(|(field, name)| {
                let (node, _) = field.split_once(' ')?;
                (node != self.shared.node).then(|| (node.to_string(), name))
            })
            .collect();
        heard.replace_remote_presence(&entries);
        Ok(())
    }

    /// Stops hearing the rooms nobody on this node is in (and those replaced after a reset).
    async fn retire_empty(&mut self, sink: &mut PubSubSink) -> redis::RedisResult<()> {
        let registry = &self.shared.registry;
        let gone: Vec<String> = self
            .rooms
            .iter()
            .filter(|(name, heard)| {
                let current = registry
                    .get(name)
                    .is_some_and(|held| Arc::ptr_eq(&held, heard));
                !current || registry.retire_if_empty(name)
            })
            .map(|(name, _)| name.clone())
            .collect();
        if gone.is_empty() {
            return Ok(());
        }
        for name in &gone {
            self.rooms.remove(name);
        }
        let channels: Vec<String> = gone.iter().map(|r| keys::channel(r)).collect();
        self.shared.metrics.redis_round_trips.inc();
        sink.unsubscribe(channels).await
    }

    /// While Redis is unreachable, answers subscriptions at once with an error (a join should
    /// not hang) for `wait`. False if the broker is gone.
    async fn refuse_commands_for(&mut self, wait: Duration) -> bool {
        let until = tokio::time::Instant::now() + wait;
        loop {
            tokio::select! {
                () = tokio::time::sleep_until(until) => return true,
                command = self.commands.recv() => match command {
                    Some(SubscriberCommand::Subscribe { done, .. }) => {
                        let _ = done.send(Err(unavailable()));
                    }
                    None => return false,
                },
            }
        }
    }

    /// False if the connection failed (the caller reconnects).
    async fn on_command(&mut self, command: SubscriberCommand, sink: &mut PubSubSink) -> bool {
        match command {
            SubscriberCommand::Subscribe { room, done } => {
                let heard = self.rooms.get(&room.name);
                if heard.is_some_and(|h| Arc::ptr_eq(h, &room)) {
                    let _ = done.send(Ok(()));
                    return true;
                }
                // A room opened again (after it was retired or reset) is heard already.
                if heard.is_none() {
                    self.shared.metrics.redis_round_trips.inc();
                    if let Err(err) = sink.subscribe(keys::channel(&room.name)).await {
                        self.shared.metrics.redis_errors.inc();
                        warn!(error = %err, room = %room.name, "cannot subscribe");
                        let _ = done.send(Err(unavailable()));
                        return false;
                    }
                }
                let name = room.name.clone();
                self.rooms.insert(name.clone(), room.clone());
                // Whatever was published between opening the room and subscribing.
                let mut caught_up = self.resync(&room).await;
                if caught_up.is_ok() {
                    caught_up = self.load_presence(&name).await;
                }
                let ok = caught_up.is_ok();
                let _ = done.send(caught_up.map_err(|_| unavailable()));
                ok
            }
        }
    }

    async fn on_message(&mut self, message: Msg) {
        let Some(room) = message
            .get_channel_name()
            .strip_prefix(keys::CHANNEL_PREFIX)
            .and_then(|name| self.rooms.get(name))
        else {
            return; // a room unsubscribed a moment ago
        };
        let Ok(payload) = std::str::from_utf8(message.get_payload_bytes()) else {
            return;
        };
        let Some(event) = keys::parse_event(&room.name, payload) else {
            warn!(room = %room.name, "ignored a malformed event on a room channel");
            return;
        };
        let entry = match event {
            Event::Message(message) => (message.id, ServerFrame::Message(message)),
            Event::Change(change) => (change.id, ServerFrame::Event(change)),
            Event::Typing { node, name } if node != self.shared.node => {
                return room.remote_typing(&name)
            }
            Event::Presence { node, joined, left } if node != self.shared.node => {
                return room.remote_presence(&node, &joined, &left)
            }
            // This node's own notices, told to its members already.
            Event::Typing { .. } | Event::Presence { .. } => return,
        };
        let drop = &self.shared.drop_next;
        if drop
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok()
        {
            return; // the test hook: lost on the way, as pub/sub may lose it
        }
        if let Err(err) = self.deliver(room, entry).await {
            // The next entry of the room, or the next reconnect, fills it again.
            warn!(error = %err, room = %room.name, "cannot fill a gap from the stream");
        }
    }

    /// Delivers an entry (a message or an event) heard on the room's channel: at once when it
    /// follows the last released id, after the missing ids are read from the stream when it
    /// does not.
    async fn deliver(
        &self,
        room: &Room,
        (id, frame): (u64, ServerFrame),
    ) -> redis::RedisResult<()> {
        let Some(frame) = encoded(&frame) else {
            return Ok(());
        };
        if let Err(last) = room.release_next(id, frame.clone()) {
            self.fill(room, last + 1, id - 1).await?;
            room.release(id, frame);
        }
        Ok(())
    }

    /// Catches `room` up with its sequence in Redis (after a (re)subscription), or resets it
    /// if Redis lost its history.
    async fn resync(&self, room: &Arc<Room>) -> redis::RedisResult<()> {
        let mut conn = self.shared.conn.clone();
        self.shared.metrics.redis_round_trips.inc();
        let (epoch, seq): (Option<String>, Option<u64>) = redis::cmd("HMGET")
            .arg(keys::meta(&room.name))
            .arg("epoch")
            .arg("seq")
            .query_async(&mut conn)
            .await?;
        if epoch.as_deref() != Some(room.epoch.as_str()) {
            warn!(room = %room.name, "the room's history is gone from Redis (new epoch)");
            self.shared.reset_room(room);
            return Ok(());
        }
        self.fill(room, room.last_id() + 1, seq.unwrap_or(0)).await
    }

    /// Releases ids `from ..= through` of `room`, read from its stream.
    async fn fill(&self, room: &Room, from: u64, through: u64) -> redis::RedisResult<()> {
        let mut from = from;
        while from <= through {
            let until = through.min(from + FILL_CHUNK - 1);
            let missed = self
                .shared
                .range(&room.name, from, until, FILL_CHUNK)
                .await?;
            if missed.len() as u64 != until - from + 1 {
                warn!(
                    room = %room.name,
                    from,
                    until,
                    got = missed.len(),
                    "ids missing from the stream (trimmed)"
                );
            }
            let mut entries: Vec<(u64, ServerFrame)> = missed
                .messages
                .into_iter()
                .map(|m| (m.id, ServerFrame::Message(m)))
                .chain(
                    missed
                        .events
                        .into_iter()
                        .map(|e| (e.id, ServerFrame::Event(e))),
                )
                .collect();
            entries.sort_unstable_by_key(|(id, _)| *id);
            for (id, frame) in entries {
                if let Some(frame) = encoded(&frame) {
                    room.release(id, frame);
                }
            }
            from = until + 1;
        }
        Ok(())
    }
}

/// A message's or an event's frame, encoded once for every member of the room on this node.
fn encoded(frame: &ServerFrame) -> Option<Utf8Bytes> {
    match encode(frame) {
        Ok(json) => Some(Utf8Bytes::from(json)),
        Err(err) => {
            warn!(error = %err, "could not encode a message");
            None
        }
    }
}

fn unavailable() -> FrameError {
    FrameError::new(
        ErrorCode::HistoryUnavailable,
        "the server cannot reach Redis right now; try again",
    )
}

/// Exponential backoff from 100 ms to 5 s, with jitter so that nodes do not retry in step.
#[derive(Debug, Default)]
struct Backoff {
    failures: u32,
}

impl Backoff {
    fn next(&mut self) -> Duration {
        let base = 100u64.saturating_mul(1 << self.failures.min(6)).min(5000);
        self.failures = self.failures.saturating_add(1);
        let mut bytes = [0u8; 2];
        let _ = getrandom::fill(&mut bytes);
        let jitter = u64::from(u16::from_le_bytes(bytes)) % (base / 2 + 1);
        Duration::from_millis(base / 2 + jitter)
    }
}
