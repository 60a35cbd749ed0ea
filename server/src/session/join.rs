//! Joining a room, resuming after a gap, and reading history.
//!
//! A join attaches the connection to the room's feed first (under the room's lock, which also
//! fixes `last_id`), then reads from the store every message up to `last_id`, then queues
//! `joined` and only after it lets the writer read the feed. Messages up to `last_id` therefore
//! come from the store, later ones from the feed: none missed, none twice, in order.

use std::sync::Arc;

use chat_shared::{
    encode, name_key, validate_room, ChatMessage, ErrorCode, FrameError, Joined, ServerFrame,
    DEFAULT_ROOM, MAX_MEMBERS_LIMIT, MAX_RECOVERY_MESSAGES,
};

use tungstenite::Utf8Bytes;

use crate::broker::Gap;
use crate::rooms::{LatestPage, Retired, Room, Subscription};
use crate::session::Session;
use crate::store::read_positions::{self, ReadState};
use axum::body::Bytes;

/// An answer built for one client takes at most its budget divided by this (see
/// [`Session::answer_limit`]).
pub const ANSWER_SHARE_OF_BUDGET: usize = 4;

/// How an encoded `joined` with no messages writes them: the shared page goes between the
/// brackets.
const MESSAGES_FIELD: &str = "\"messages\":[]";

/// Counts the bytes serde_json writes, to size messages without building them again.
#[derive(Default)]
struct ByteCount(usize);

impl std::io::Write for ByteCount {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0 += buf.len();
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The length of `value` as compact JSON.
fn encoded_len(value: &impl serde::Serialize) -> usize {
    let mut count = ByteCount::default();
    // Writing to a counter cannot fail, and neither can serializing the protocol's types.
    let _ = serde_json::to_writer(&mut count, value);
    count.0
}

/// What `messages` add to a frame's JSON: each message and the comma before it.
fn messages_len(messages: &[ChatMessage]) -> usize {
    messages.iter().map(|m| encoded_len(m) + 1).sum()
}

/// Drops the oldest of `messages` (oldest first) until they take at most `limit` bytes of
/// JSON, always keeping the newest one so that paging back makes progress. True if any went.
fn keep_newest_within(messages: &mut Vec<ChatMessage>, limit: usize) -> bool {
    let mut used = 0;
    let mut keep = 0;
    for message in messages.iter().rev() {
        used += encoded_len(message) + 1;
        if used > limit && keep > 0 {
            break;
        }
        keep += 1;
    }
    let drop = messages.len() - keep;
    messages.drain(..drop);
    drop > 0
}

/// A connection attached to a room whose `joined` answer is not queued yet. Dropped unanswered
/// (the connection died meanwhile), it detaches again.
#[derive(Debug)]
pub struct PendingJoin {
    room: Arc<Room>,
    sub: Option<Arc<Subscription>>,
    name: Arc<str>,
    last_id: u64,
    members: Vec<String>,
    count: Option<u64>,
    view: crate::store::access::RoomView,
}

impl Drop for PendingJoin {
    fn drop(&mut self) {
        if let Some(sub) = self.sub.take() {
            self.room.detach(&sub, &self.name);
        }
    }
}

impl Session {
    /// The room called `name`, created if it does not exist and this client's address may still
    /// create rooms (`--room-creations-per-ip-per-hour`; the default room is free).
    async fn open_or_create(&self, name: &str) -> Result<Arc<Room>, FrameError> {
        if let Some(room) = self.ctx.broker.open_room(name, false).await? {
            return Ok(room);
        }
        if name != DEFAULT_ROOM {
            if let Err(wait) = self.slot.peer().check_room_creation() {
                return Err(FrameError::new(
                    ErrorCode::RateLimited,
                    "too many new rooms from your address; join an existing room or wait",
                )
                .in_room(name)
                .retry_after(super::millis_of(wait)));
            }
        }
        self.ctx.broker.open_room(name, true).await?.ok_or_else(|| {
            FrameError::new(
                ErrorCode::HistoryUnavailable,
                "the room could not be created",
            )
            .in_room(name)
        })
    }

    /// Attaches this connection to `room` (opening it if needed), leaving the answer for
    /// [`Session::answer_join`]. Replaces an earlier membership of the same room.
    pub async fn attach(&mut self, room: &str) -> Result<PendingJoin, FrameError> {
        validate_room(room).map_err(|err| err.in_room(room))?;
        let mut view = self.enter(room).await?;
        if let Some(old) = self.member.remove_room(room) {
            old.room.detach(&old, &self.name);
        } else if self.member.room_count() >= self.ctx.settings.max_rooms_per_connection {
            return Err(FrameError::new(
                ErrorCode::TooManyRooms,
                format!(
                    "a connection may be in {} rooms at once; leave one first",
                    self.ctx.settings.max_rooms_per_connection
                ),
            )
            .in_room(room));
        }
        let name = room;
        let mut room = match self.ctx.rooms.get(name) {
            Some(open) => open,
            None => self.open_or_create(name).await?,
        };
        // A room retired (emptied) on this node between the lookup and now is opened again.
        let attached = loop {
            match room.attach(&self.member, &self.name) {
                Ok(attached) => break attached,
                Err(Retired) => room = self.open_or_create(name).await?,
            }
        };
        room.set_read_only(view.read_only);
        // An account's first visit to the room: what is there already counts as read, what
        // comes after as new (else every message of an old room would be unread at once).
        if let (Some(account), None, Some(store)) = (self.account, view.read, &self.ctx.store) {
            let (room_id, last) = (room.store_id, attached.last_id);
            let kept = store
                .write("keep a read position", move |conn| {
                    read_positions::advance(conn, account, room_id, last)
                })
                .await;
            if kept.is_ok() {
                view.read = Some(ReadState {
                    read: last,
                    ..ReadState::default()
                });
            }
        }
        Ok(PendingJoin {
            room,
            sub: Some(attached.sub),
            name: self.name.clone(),
            last_id: attached.last_id,
            members: attached.members,
            count: attached.count,
            view,
        })
    }

    /// Reads what the client missed (or the latest page), queues `joined`, then starts
    /// delivering the room's live frames. The answer stays within [`Session::answer_limit`]:
    /// a gap too large for it is not recovered (the latest page that fits is sent instead), so
    /// a client back from a night away is not closed as too slow, again at every reconnect.
    pub async fn answer_join(
        &mut self,
        mut pending: PendingJoin,
        since: Option<u64>,
        epoch: Option<String>,
    ) {
        let room = pending.room.clone();
        let last_id = pending.last_id;
        let resume = since.filter(|since| {
            epoch.as_deref() == Some(room.epoch.as_str())
                && *since <= last_id
                && *since >= room.pruned_through()
        });
        let gap: Option<Result<Gap, FrameError>> = match resume {
            Some(since) => {
                let read = self
                    .ctx
                    .broker
                    .messages_after(&room, since, last_id, MAX_RECOVERY_MESSAGES + 1)
                    .await;
                // Ids are never skipped, so a complete gap has exactly this many entries.
                let missed = last_id - since;
                match read {
                    Ok(gap) if gap.len() as u64 == missed && missed <= MAX_RECOVERY_MESSAGES => {
                        Some(Ok(gap))
                    }
                    Ok(_) => None,
                    Err(err) => Some(Err(err)),
                }
            }
            None => None,
        };
        let (recovered, gap, mut failed) = match gap {
            Some(Ok(gap)) => (true, gap, None),
            Some(Err(err)) => (false, Gap::default(), Some(err)),
            None => (false, Gap::default(), None),
        };
        let mut frame = ServerFrame::Joined(Joined {
            room: room.name.clone(),
            epoch: room.epoch.clone(),
            last_id,
            recovered,
            messages: gap.messages,
            events: gap.events,
            members: std::mem::take(&mut pending.members),
            count: pending.count,
            you: self.name.to_string(),
            title: std::mem::take(&mut pending.view.title),
            topic: std::mem::take(&mut pending.view.topic),
            read: pending.view.read.map(|state| state.read),
            unread: pending.view.read.map(|state| state.unread),
            mentioned: pending.view.read.is_some_and(|state| state.mentioned),
            notify_every: pending.view.notify_every,
            muted: pending.view.muted,
        });
        // Almost always the whole gap fits and is encoded once. If not, it is not recovered:
        // the latest page that fits goes instead.
        let mut answer = None;
        if recovered {
            answer = encode(&frame)
                .ok()
                .filter(|json| json.len() <= self.answer_limit());
        }
        if answer.is_none() && failed.is_none() {
            // The latest page, shared with everyone who joins before the room changes.
            if let ServerFrame::Joined(joined) = &mut frame {
                joined.recovered = false;
                joined.messages = Vec::new();
                joined.events = Vec::new();
            }
            match self.shared_latest(&room, last_id).await {
                Ok(page) => {
                    if let Some(parts) = self.joined_around(&frame, page.as_deref()) {
                        let _ = self.member.push_parts(parts);
                        if let Some(sub) = pending.sub.take() {
                            self.member.add_room(sub);
                        }
                        return;
                    }
                }
                Err(err) => failed = Some(err),
            }
        }
        if answer.is_none() {
            let page = match failed {
                Some(err) => Err(err),
                None => self.latest(&room, last_id).await,
            };
            let page = page.unwrap_or_else(|err| {
                self.reply_error(err.in_room(&room.name));
                Vec::new()
            });
            if let ServerFrame::Joined(joined) = &mut frame {
                joined.recovered = false;
                joined.messages = page;
                joined.events = Vec::new();
            }
            answer = self.encode_within(&mut frame);
        }
        if let Some(json) = answer {
            let _ = self.member.push(&Utf8Bytes::from(json));
        }
        if let Some(sub) = pending.sub.take() {
            self.member.add_room(sub);
        }
    }

    /// Encodes an answer for this client alone (`joined`, `history`), dropping its oldest
    /// messages while it is over [`Session::answer_limit`] (the newest always stays, so paging
    /// back makes progress); a `history` cut short says `more: true`. Encoded once when it
    /// fits, which is almost always.
    pub(super) fn encode_within(&self, frame: &mut ServerFrame) -> Option<String> {
        let json = encode(frame).ok()?;
        let limit = self.answer_limit();
        if json.len() <= limit {
            return Some(json);
        }
        let (messages, more) = match frame {
            ServerFrame::Members { members, more, .. } => {
                // The first names that fit; the client asks on from the last of them.
                let names_len: usize = members.iter().map(|n| encoded_len(n) + 1).sum();
                let mut room_left = limit.saturating_sub(json.len() - names_len);
                let fit = members
                    .iter()
                    .take_while(|n| match room_left.checked_sub(encoded_len(n) + 1) {
                        Some(left) => {
                            room_left = left;
                            true
                        }
                        None => false,
                    })
                    .count()
                    .max(1);
                members.truncate(fit);
                *more = true;
                return encode(frame).ok();
            }
            ServerFrame::Joined(joined) => (&mut joined.messages, None),
            ServerFrame::History { messages, more, .. } => (messages, Some(more)),
            _ => return Some(json),
        };
        let mut kept = std::mem::take(messages);
        let overhead = json.len() - messages_len(&kept);
        if keep_newest_within(&mut kept, limit.saturating_sub(overhead)) {
            if let Some(more) = more {
                *more = true;
            }
        }
        *messages = kept;
        encode(frame).ok()
    }

    /// The most bytes one answer built for this client alone (`joined`, `history`) may take: a
    /// quarter of what its queue holds, so an answer never closes it as too slow, even with a
    /// few others queued beside it.
    fn answer_limit(&self) -> usize {
        self.member.budget_bytes() / ANSWER_SHARE_OF_BUDGET
    }

    /// How many of the newest messages a join that does not resume gets.
    fn join_history(&self) -> u64 {
        u64::from(self.ctx.settings.join_history).min(MAX_RECOVERY_MESSAGES)
    }

    /// The room's latest page up to `last_id` as every joiner shares it: the one kept if it is
    /// current, else read, encoded and kept. `None` when there is nothing to show.
    async fn shared_latest(
        &self,
        room: &Room,
        last_id: u64,
    ) -> Result<Option<Arc<LatestPage>>, FrameError> {
        let count = self.join_history();
        if count == 0 || last_id == 0 {
            return Ok(None);
        }
        if let Some(page) = room.latest_page(last_id, count) {
            return Ok(Some(page));
        }
        let messages = self
            .ctx
            .broker
            .messages_before(room, last_id.saturating_add(1), count)
            .await?;
        let Ok(array) = serde_json::to_vec(&messages) else {
            return Ok(None);
        };
        // `[a,b,c]` -> `a,b,c`: the items, to go between the brackets of each answer (a view
        // of the encoded array, not a copy).
        let items = Bytes::from(array);
        let page = Arc::new(LatestPage {
            last_id,
            count,
            items: items.slice(1..items.len().saturating_sub(1).max(1)),
        });
        room.keep_latest_page(page.clone());
        Ok(Some(page))
    }

    /// A `joined` answer (`frame`, with no messages) around a shared page, in three parts: its
    /// own start up to the messages' bracket, the page, its own end. `None` if the whole would
    /// be over [`Session::answer_limit`] (then a page cut to fit is built for this client).
    fn joined_around(&self, frame: &ServerFrame, page: Option<&LatestPage>) -> Option<[Bytes; 3]> {
        let json = encode(frame).ok()?;
        let items = page.map_or_else(Bytes::new, |page| page.items.clone());
        if json.len() + items.len() > self.answer_limit() {
            return None;
        }
        // Field names are written as they are and values are escaped, so this is the field.
        let at = json.find(MESSAGES_FIELD)? + MESSAGES_FIELD.len() - 1;
        let json = Bytes::from(json);
        Some([json.slice(..at), items, json.slice(at..)])
    }

    async fn latest(
        &self,
        room: &Room,
        last_id: u64,
    ) -> Result<Vec<chat_shared::ChatMessage>, FrameError> {
        let count = self.join_history();
        if count == 0 || last_id == 0 {
            return Ok(Vec::new());
        }
        self.ctx
            .broker
            .messages_before(room, last_id.saturating_add(1), count)
            .await
    }

    pub(super) async fn join(&mut self, room: String, since: Option<u64>, epoch: Option<String>) {
        match self.attach(&room).await {
            Ok(pending) => self.answer_join(pending, since, epoch).await,
            Err(err) => self.reply_error(err),
        }
    }

    /// Answers a `members` request: a page of who is in a joined room. The name in `after` is
    /// compared by its key, so a client may pass back the last name it was given as shown.
    pub(super) fn members(&mut self, room: &str, after: Option<&str>, limit: Option<u32>) {
        let Some(sub) = self.joined(room, None) else {
            return;
        };
        let limit = limit
            .unwrap_or(MAX_MEMBERS_LIMIT)
            .clamp(1, MAX_MEMBERS_LIMIT) as usize;
        let after = after.map(name_key);
        let (members, count, more) = sub.room.members_page(after.as_deref(), limit);
        let mut frame = ServerFrame::Members {
            room: room.to_string(),
            members,
            count,
            more,
        };
        if let Some(json) = self.encode_within(&mut frame) {
            let _ = self.member.push(&Utf8Bytes::from(json));
        }
    }
}
