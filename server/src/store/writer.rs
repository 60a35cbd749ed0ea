//! The store's one writer thread: sequences messages, commits them in groups, then releases
//! them to their rooms.
//!
//! Every write goes through here, so SQLite never sees two writers, and a message gets its id
//! in the same order as it is committed and released: a room's feed receives ids strictly in
//! order without any lock spanning rooms. A message is released only after its transaction has
//! committed, so whatever any client has seen is in the database. Under load, everything that
//! queued up while the last transaction committed goes into the next one (group commit).

use std::collections::HashMap;
use std::sync::Arc;

use chat_shared::{encode, name_key, ErrorCode, FrameError, ServerFrame};
use rusqlite::Connection;
use tokio::sync::{mpsc, oneshot};
use tracing::{error, warn};
use tungstenite::Utf8Bytes;

use crate::clock::{millis, unix_millis};
use crate::receipt::{Outcome, Reply};
use crate::rooms::{Room, RoomRegistry};
use crate::store::cids::{RecentCids, CID_WINDOW_MS};
use crate::store::events::{self, Written};
use crate::store::search::Sequence;
use crate::store::StoreSettings;
use crate::store::{schema, stream};
use crate::{random, token};

/// Most messages committed in one transaction.
const MAX_BATCH: usize = 4096;

/// Open mode: what proves who wrote a message, the start of the SHA-256 of the token that held
/// its author's name (a guest's generated name has none, and neither does an account's).
pub type Author = [u8; 16];

/// What a session hands the store to be sequenced, stored and released: a message, or an
/// event (edit, deletion, reaction) on an earlier one.
#[derive(Debug)]
pub struct NewMessage {
    /// Where it goes.
    pub room: Arc<Room>,
    /// Who sent it, as shown.
    pub name: Arc<str>,
    /// A message's validated, trimmed text; an edit's new text (checked the same way); a
    /// reaction's emoji (in its one form); empty for a deletion.
    pub text: String,
    /// The sender's resend key (messages only).
    pub cid: Option<String>,
    /// The sender's account (accounts mode).
    pub account: Option<i64>,
    /// The sender's name's token, to prove authorship in open mode.
    pub author: Option<Author>,
    /// `None` for a message; else what the event does (`React` toggles: the writer decides
    /// whether it gives or takes back).
    pub action: Option<chat_shared::Action>,
    /// The message an event changes, or the one a message answers.
    pub target: Option<u64>,
    /// The sender is an administrator (may delete anyone's message).
    pub admin: bool,
}

/// A message for the writer to store, and where to say what became of it.
#[derive(Debug)]
pub(crate) struct Append {
    pub(crate) message: NewMessage,
    pub(crate) reply: Reply,
}

/// A write the writer runs for someone else, who hears the outcome through the job itself.
pub(crate) struct Job(pub(crate) Box<dyn FnOnce(&Connection) + Send>);

impl std::fmt::Debug for Job {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Job")
    }
}

/// What the writer can be asked.
#[derive(Debug)]
pub(crate) enum Command {
    Append(Append),
    OpenRoom {
        name: String,
        /// Whether to create the room if it does not exist (else the answer is `None`).
        create: bool,
        reply: oneshot::Sender<Result<Option<Arc<Room>>, FrameError>>,
    },
    ClaimName {
        name: String,
        token: Option<String>,
        reply: oneshot::Sender<Result<String, FrameError>>,
    },
    Probe {
        reply: oneshot::Sender<Result<(), String>>,
    },
    Sweep {
        reply: oneshot::Sender<Swept>,
    },
    /// Any other write (accounts, sessions): the job answers its caller itself.
    Run(Job),
}

/// What a sweep forgot.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Swept {
    /// Names not used within `--name-ttl`.
    pub names: usize,
    /// Rooms without a message or a member, older than `--empty-room-ttl`.
    pub rooms: usize,
}

/// Empty rooms deleted per sweep at most, so one sweep never holds the writer long.
const SWEEP_ROOMS: usize = 1000;

pub(crate) struct Writer {
    conn: Connection,
    registry: Arc<RoomRegistry>,
    settings: StoreSettings,
    rooms_in_store: usize,
    cids: RecentCids,
    /// A write was refused for lack of space (`--max-database-bytes`). Until a message is
    /// stored again, nothing new is created either (a name, a room), though a single row of
    /// one might still fit: a full database takes nothing new, not whatever happens to fit.
    full: bool,
    /// Numbers the search index's rows.
    sequence: Sequence,
}

impl Writer {
    /// Prepares the writer on an open connection: counts rooms, reloads recent `cid`s.
    pub(crate) fn new(
        conn: Connection,
        registry: Arc<RoomRegistry>,
        settings: StoreSettings,
    ) -> rusqlite::Result<Self> {
        let rooms_in_store = schema::count_rooms(&conn)?;
        let sequence = Sequence::load(&conn)?;
        let mut writer = Writer {
            conn,
            registry,
            settings,
            rooms_in_store,
            cids: RecentCids::default(),
            full: false,
            sequence,
        };
        let since = unix_millis().saturating_sub(CID_WINDOW_MS);
        for row in schema::recent_cids(&writer.conn, since)? {
            if let Some(room) = writer.room_by_id(row.room_id)? {
                let key = RecentCids::key(&row.name, &room.name, &row.cid);
                writer.cids.insert(key, room, row.id, row.ts);
            }
        }
        Ok(writer)
    }

    fn room_by_id(&mut self, room_id: i64) -> rusqlite::Result<Option<Arc<Room>>> {
        let name: Option<String> = rusqlite::OptionalExtension::optional(self.conn.query_row(
            "SELECT name FROM rooms WHERE id = ?1",
            [room_id],
            |r| r.get(0),
        ))?;
        match name {
            Some(name) => self.open_room(&name, false).or(Ok(None)),
            None => Ok(None),
        }
    }

    /// Serves commands until every sender is gone.
    pub(crate) fn run(mut self, mut commands: mpsc::Receiver<Command>) {
        let mut posts = Vec::new();
        while let Some(first) = commands.blocking_recv() {
            let mut next = Some(first);
            while let Some(command) = next.take() {
                match command {
                    Command::Append(append) => posts.push(append),
                    other => {
                        self.commit(&mut posts);
                        self.answer(other);
                    }
                }
                if posts.len() < MAX_BATCH {
                    next = commands.try_recv().ok();
                }
            }
            self.commit(&mut posts);
        }
    }

    fn answer(&mut self, command: Command) {
        match command {
            Command::Append(_) => {}
            Command::OpenRoom {
                name,
                create,
                reply,
            } => {
                let _ = reply.send(self.open_room(&name, create).map_err(|err| {
                    match err {
                        OpenError::Limit => FrameError::new(
                            ErrorCode::RoomLimit,
                            "the server holds as many rooms as it may; join an existing one",
                        )
                        .in_room(&name),
                        OpenError::Full => database_full("create a room").in_room(&name),
                        OpenError::Store(err) => store_failed("open a room", &err).in_room(&name),
                    }
                }));
            }
            Command::ClaimName { name, token, reply } => {
                let claimed = self.claim_name(&name, token);
                let _ = reply.send(claimed);
            }
            Command::Sweep { reply } => {
                let _ = reply.send(self.sweep());
            }
            Command::Run(Job(job)) => job(&self.conn),
            Command::Probe { reply } => {
                let probed = schema::heartbeat(&self.conn, unix_millis()).map_err(|err| {
                    error!(error = %err, "database failure: the readiness probe could not write");
                    format!("the database does not take writes: {err}")
                });
                let _ = reply.send(probed);
            }
        }
    }

    fn open_room(&mut self, name: &str, create: bool) -> Result<Option<Arc<Room>>, OpenError> {
        if let Some(room) = self.registry.get(name) {
            return Ok(Some(room));
        }
        let row = match schema::find_room(&self.conn, name)? {
            Some(row) => row,
            None if !create => return Ok(None),
            None => {
                if self.rooms_in_store >= self.settings.max_rooms {
                    return Err(OpenError::Limit);
                }
                if self.full {
                    return Err(OpenError::Full);
                }
                let epoch = random::hex(16);
                let id = schema::create_room(&self.conn, name, &epoch, unix_millis())
                    .inspect_err(|err| self.full |= out_of_space(err))?;
                self.rooms_in_store += 1;
                schema::RoomRow {
                    id,
                    epoch,
                    last_id: 0,
                    pruned_through: 0,
                }
            }
        };
        Ok(Some(self.registry.insert(Room::new(
            name.to_string(),
            row.id,
            row.epoch,
            row.last_id,
            row.pruned_through,
            self.registry.links(),
        ))))
    }

    fn claim_name(&mut self, name: &str, token: Option<String>) -> Result<String, FrameError> {
        let key = name_key(name);
        let now = self.settings.clock.now_ms();
        let held =
            schema::name_holder(&self.conn, &key).map_err(|e| store_failed("claim a name", &e))?;
        // A reservation unused for `--name-ttl` is free again.
        let held = held.filter(|(_, used)| !self.expired(*used, now));
        let token = match (held, token) {
            (Some((hash, _)), Some(presented)) if token::holds(&hash, &presented) => presented,
            (Some(_), _) => {
                return Err(FrameError::new(
                    ErrorCode::NameTaken,
                    format!("the name {name:?} is taken"),
                ))
            }
            (None, _) if self.full => return Err(database_full("hold a new name")),
            (None, _) => token::new_token().map_err(|err| {
                error!(error = %err, "no random source for a name token");
                FrameError::new(
                    ErrorCode::HistoryUnavailable,
                    "cannot issue a token right now",
                )
            })?,
        };
        schema::hold_name(&self.conn, &key, name, &token::hash(&token), now).map_err(|e| {
            self.full |= out_of_space(&e);
            store_failed("claim a name", &e)
        })?;
        Ok(token)
    }

    /// Whether a name last used at `used_ms` has expired.
    fn expired(&self, used_ms: u64, now_ms: u64) -> bool {
        let ttl = millis(self.settings.name_ttl);
        ttl > 0 && now_ms.saturating_sub(used_ms) >= ttl
    }

    /// Forgets expired names and empty rooms. A room is deleted only if it has never had a
    /// message, is older than `--empty-room-ttl` and nobody is in it on this node; the default
    /// room is kept.
    fn sweep(&mut self) -> Swept {
        let now = self.settings.clock.now_ms();
        let mut swept = Swept::default();
        let name_ttl = millis(self.settings.name_ttl);
        if name_ttl > 0 {
            match schema::forget_names(&self.conn, now.saturating_sub(name_ttl)) {
                Ok(n) => swept.names = n,
                Err(err) => warn!(error = %err, "could not forget expired names"),
            }
        }
        let room_ttl = millis(self.settings.empty_room_ttl);
        if room_ttl == 0 {
            return swept;
        }
        let candidates =
            match schema::empty_rooms(&self.conn, now.saturating_sub(room_ttl), SWEEP_ROOMS) {
                Ok(candidates) => candidates,
                Err(err) => {
                    warn!(error = %err, "could not look for empty rooms");
                    return swept;
                }
            };
        for (id, name) in candidates {
            if name == chat_shared::DEFAULT_ROOM {
                continue;
            }
            // Nobody may be in it: a member would hold it open (retiring fails).
            if self.registry.get(&name).is_some() && !self.registry.retire_if_empty(&name) {
                continue;
            }
            match schema::delete_room(&self.conn, id) {
                Ok(()) => {
                    self.rooms_in_store = self.rooms_in_store.saturating_sub(1);
                    swept.rooms += 1;
                }
                Err(err) => warn!(error = %err, room = %name, "could not delete an empty room"),
            }
        }
        swept
    }

    /// Stores `posts` in one transaction and releases them to their rooms once committed.
    fn commit(&mut self, posts: &mut Vec<Append>) {
        if posts.is_empty() {
            return;
        }
        let now = unix_millis();
        let started = std::time::Instant::now();
        self.cids.expire(now);
        let mut fresh: Vec<(Append, Written)> = Vec::with_capacity(posts.len());
        let mut repeats: Vec<(Append, Arc<Room>, u64)> = Vec::new();
        // Each touched room and its sequencer before this batch, to roll back on failure.
        let mut touched: HashMap<i64, (Arc<Room>, u64)> = HashMap::new();
        let mut new_cids: Vec<String> = Vec::new();
        // Entries refused (no such message, not the sender's): answered after the commit.
        let mut denied: Vec<(Append, FrameError)> = Vec::new();
        let result = (|| -> rusqlite::Result<()> {
            let tx = self.conn.transaction()?;
            for mut post in posts.drain(..) {
                let cid_key =
                    post.message.cid.as_deref().map(|cid| {
                        RecentCids::key(&post.message.name, &post.message.room.name, cid)
                    });
                if let Some(key) = &cid_key {
                    if let Some((room, id)) = self.cids.get(key) {
                        repeats.push((post, room.clone(), *id));
                        continue;
                    }
                }
                let id = post.message.room.sequenced() + 1;
                let written =
                    match events::write(&tx, &mut post.message, id, now, &mut self.sequence) {
                        Ok(Ok(written)) => written,
                        Ok(Err(refusal)) => {
                            denied.push((post, refusal));
                            continue;
                        }
                        Err(err) => {
                            // Answered with the failure, as everything else in the batch is.
                            denied.push((post, no_refusal()));
                            return Err(err);
                        }
                    };
                let room = &post.message.room;
                touched
                    .entry(room.store_id)
                    .or_insert_with(|| (room.clone(), room.sequenced()));
                room.set_sequenced(id);
                if let Some(key) = cid_key {
                    self.cids.insert(key.clone(), room.clone(), id, now);
                    new_cids.push(key);
                }
                fresh.push((post, written));
            }
            let keep = self.settings.history_per_room;
            if keep > 0 {
                for (room, _) in touched.values() {
                    let through = room.sequenced().saturating_sub(keep);
                    if through > room.pruned_through() {
                        schema::prune(&tx, room.store_id, through)?;
                    }
                }
            }
            tx.commit()
        })();
        self.registry.metrics.history_write(started.elapsed());
        match result {
            Ok(()) => {
                if !fresh.is_empty() {
                    // A message was stored: there is room again.
                    self.full = false;
                }
                if self.settings.history_per_room > 0 {
                    for (room, _) in touched.values() {
                        let keep = self.settings.history_per_room;
                        room.set_pruned_through(room.sequenced().saturating_sub(keep));
                    }
                }
                for (post, written) in fresh {
                    let (id, frame) = match written {
                        Written::Message(message) => (message.id, ServerFrame::Message(message)),
                        Written::Event(event) => (event.id, ServerFrame::Event(event)),
                    };
                    match encode(&frame) {
                        Ok(json) => post.message.room.release(id, Utf8Bytes::from(json)),
                        Err(err) => warn!(error = %err, "could not encode a message"),
                    }
                    let _ = post.reply.send(Outcome::Stored);
                    // Released: the push worker may have the message itself, not a copy.
                    if let (Some(tap), ServerFrame::Message(message)) = (&self.settings.tap, frame)
                    {
                        tap.tell(message);
                    }
                }
                for (post, room, id) in repeats {
                    self.answer_repeat(post, &room, id);
                }
                for (post, refusal) in denied {
                    let refusal = refusal
                        .in_room(&post.message.room.name)
                        .for_cid(post.message.cid);
                    let _ = post.reply.send(Outcome::Refused(refusal));
                }
            }
            Err(err) => {
                self.full |= out_of_space(&err);
                let refusal = store_failed("store a message", &err);
                for (room, before) in touched.into_values() {
                    room.set_sequenced(before);
                }
                for key in new_cids {
                    self.cids.remove(&key);
                }
                // Whatever was left unprocessed after the failing statement is refused too.
                let refused = fresh.into_iter().map(|(post, _)| post);
                let repeated = repeats.into_iter().map(|(post, _, _)| post);
                let denied = denied.into_iter().map(|(post, _)| post);
                for post in refused.chain(repeated).chain(denied).chain(posts.drain(..)) {
                    let error = refusal
                        .clone()
                        .in_room(&post.message.room.name)
                        .for_cid(post.message.cid);
                    let _ = post.reply.send(Outcome::Refused(error));
                }
            }
        }
    }

    /// A resend of a stored message: the sender alone gets the stored copy again.
    fn answer_repeat(&self, post: Append, room: &Arc<Room>, id: u64) {
        let outcome = match stream::message(&self.conn, room.store_id, &room.name, id) {
            Ok(Some(message)) => Outcome::Repeat(message),
            // Pruned meanwhile: nothing to show, and storing it again would duplicate it.
            Ok(None) => Outcome::Stored,
            Err(err) => Outcome::Refused(
                store_failed("read a message", &err)
                    .in_room(&room.name)
                    .for_cid(post.message.cid),
            ),
        };
        let _ = post.reply.send(outcome);
    }
}

/// Why a room could not be opened.
enum OpenError {
    Limit,
    Full,
    Store(rusqlite::Error),
}

/// A placeholder refusal for an entry whose statement failed: the batch's failure replaces it.
fn no_refusal() -> FrameError {
    FrameError::new(ErrorCode::HistoryUnavailable, "")
}

/// Whether a write failed for lack of space (the database reached `--max-database-bytes`).
fn out_of_space(err: &rusqlite::Error) -> bool {
    matches!(err, rusqlite::Error::SqliteFailure(e, _) if e.code == rusqlite::ErrorCode::DiskFull)
}

/// What a client is told when the full database cannot take something new.
fn database_full(what: &str) -> FrameError {
    FrameError::new(
        ErrorCode::HistoryUnavailable,
        format!("the server's database is full: it cannot {what} now"),
    )
}

impl From<rusqlite::Error> for OpenError {
    fn from(err: rusqlite::Error) -> Self {
        OpenError::Store(err)
    }
}

/// Logs a database failure loudly and turns it into what the client is told.
pub(crate) fn store_failed(what: &str, err: &rusqlite::Error) -> FrameError {
    error!(error = %err, "database failure: could not {what}");
    FrameError::new(
        ErrorCode::HistoryUnavailable,
        format!("the server could not {what} (database error); nothing was stored, try again"),
    )
}
