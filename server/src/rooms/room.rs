//! One room: its feed, its members and who is present.
//!
//! Everything about a room sits behind the room's own lock, so rooms never wait for each other:
//! there is no lock shared by all rooms on the per-message path. The lock is held only for
//! in-memory work (append, take, attach, detach), never across an `.await` or a database call.

mod latest;
mod notices;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use tokio::sync::mpsc;
use tungstenite::Utf8Bytes;

use crate::close::CloseReason;
use crate::metrics::Metrics;
use crate::rooms::feed::{Feed, Lapped, SKIP_NONE};
use crate::rooms::member::Member;
use crate::rooms::presence::{PendingPresence, PresentNames};

/// Members of a room are shown presence changes at most this often: those of one interval go
/// out together in one frame.
pub const PRESENCE_INTERVAL: Duration = Duration::from_secs(1);

pub use latest::LatestPage;

/// A typing notice per name and room at most this often.
pub const TYPING_INTERVAL: Duration = Duration::from_millis(chat_shared::TYPING_INTERVAL_MS);

/// How many appends pass between two sweeps that forget frames every member has taken. A sweep
/// visits every member once, so this spreads its cost over many messages.
const SWEEP_EVERY: u32 = 64;

/// Rooms with at most this many members sweep on every append.
const SMALL_ROOM: usize = 16;

/// A chat room as this node holds it.
#[derive(Debug)]
pub struct Room {
    /// The room's name, as clients write it.
    pub name: String,
    /// The room's key in the store.
    pub store_id: i64,
    /// Identifies this room's history: a new epoch means old ids mean nothing.
    pub epoch: String,
    /// Ids up to this one were deleted by `--history-per-room` (0: none).
    pruned_through: AtomicU64,
    /// The id the next stored message gets, minus one. Only the store's writer moves it.
    sequenced: AtomicU64,
    state: Mutex<RoomState>,
    /// The feed's end, readable without the lock, so a writer can tell it has something new.
    feed_end: AtomicU64,
    links: RoomLinks,
    /// The latest page as `joined` carries it, encoded once for everyone who joins while it
    /// is current (see [`latest`]).
    latest: Mutex<Option<Arc<LatestPage>>>,
    /// Only administrators post (accounts mode). Read per message without a lock; set from the
    /// store at every join and when an administrator changes it.
    read_only: AtomicBool,
}

/// What every room of a node shares.
#[derive(Debug, Clone)]
pub struct RoomLinks {
    /// How far (bytes of frames) a member may fall behind before it is dropped.
    pub budget_bytes: usize,
    /// Where the room counts what it delivers.
    pub metrics: Arc<Metrics>,
    /// Cluster mode: where this node's presence changes and typing notices go to be told to
    /// the other nodes.
    pub cluster: Option<mpsc::Sender<RoomEvent>>,
    /// The names of rooms with presence changes waiting for their interval to pass (the
    /// registry's flusher shows them).
    pub presence_due: Arc<Mutex<Vec<String>>>,
    /// Bytes of latest pages kept by all rooms together (bounded by [`latest::MAX_PAGE_BYTES`]).
    pub page_bytes: Arc<std::sync::atomic::AtomicUsize>,
    /// Rooms with more members than this list none: `joined` and presence carry the count
    /// (0: always list).
    pub presence_list_max: usize,
}

/// Something other nodes must hear about a room.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RoomEvent {
    /// `name` got its first connection to `room` on this node.
    Arrived { room: String, name: String },
    /// `name`'s last connection to `room` on this node left.
    Left { room: String, name: String },
    /// `name` is typing in `room`.
    Typing { room: String, name: String },
}

#[derive(Debug, Default)]
struct RoomState {
    feed: Feed,
    /// The newest message id in the feed (and so in the store).
    last_id: u64,
    seats: Vec<Seat>,
    /// Who is here, on this node and on others.
    present: PresentNames,
    /// Name key -> when its last typing notice went out.
    typing: HashMap<String, Instant>,
    /// Presence changes members have not been shown yet.
    pending_presence: PendingPresence,
    /// When members were last shown presence changes.
    presence_shown_at: Option<Instant>,
    /// Whether the room waits in `presence_due`.
    presence_queued: bool,
    /// Members are shown the count, not the names (see [`Room::recount`]).
    crowded: bool,
    /// Dropped from its node's registry (cluster mode, no members left): a join that still
    /// holds it must open the room again.
    retired: bool,
    appends_since_sweep: u32,
}

/// A member's place in the room: its cursor, and the member to wake and to close.
#[derive(Debug)]
struct Seat {
    sub: Arc<Subscription>,
    member: Arc<Member>,
}

/// One connection's membership of one room: the room and the connection's cursor in its feed.
#[derive(Debug)]
pub struct Subscription {
    /// The room.
    pub room: Arc<Room>,
    /// Feed position of the next frame this connection has not taken. Changed only under the
    /// room's lock, so trimming sees it consistently.
    cursor: AtomicU64,
}

impl Subscription {
    /// Whether the feed holds frames this connection has not looked at.
    pub fn is_behind(&self) -> bool {
        self.cursor.load(Ordering::Relaxed) < self.room.feed_end.load(Ordering::SeqCst)
    }
}

/// The room was retired after its last member left; open it again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retired;

/// What a connection learns when it attaches to a room.
#[derive(Debug)]
pub struct Attached {
    /// Its membership; give it to the connection's writer once the `joined` answer is queued.
    pub sub: Arc<Subscription>,
    /// The newest message id at the moment of attaching: older ones come from the store,
    /// newer ones through the feed.
    pub last_id: u64,
    /// Everyone present, the newcomer included (none when the room is crowded).
    pub members: Vec<String>,
    /// How many are present, when the room is too crowded to list them.
    pub count: Option<u64>,
}

impl Room {
    /// A room whose messages so far end at `last_id`; members may fall `budget_bytes` behind.
    pub fn new(
        name: String,
        store_id: i64,
        epoch: String,
        last_id: u64,
        pruned_through: u64,
        links: RoomLinks,
    ) -> Self {
        Room {
            name,
            store_id,
            epoch,
            pruned_through: AtomicU64::new(pruned_through),
            sequenced: AtomicU64::new(last_id),
            state: Mutex::new(RoomState {
                last_id,
                ..RoomState::default()
            }),
            feed_end: AtomicU64::new(0),
            read_only: AtomicBool::new(false),
            links,
            latest: Mutex::new(None),
        }
    }

    /// The newest id released to the feed.
    pub fn last_id(&self) -> u64 {
        self.state.lock().last_id
    }

    /// Whether only administrators may post.
    pub fn read_only(&self) -> bool {
        self.read_only.load(Ordering::Relaxed)
    }

    /// Makes the room read-only for everyone but administrators, or not.
    pub fn set_read_only(&self, read_only: bool) {
        self.read_only.store(read_only, Ordering::Relaxed);
    }

    /// Ids up to this one are no longer kept.
    pub fn pruned_through(&self) -> u64 {
        self.pruned_through.load(Ordering::Acquire)
    }

    /// Records that ids up to `id` were deleted (store writer only).
    pub fn set_pruned_through(&self, id: u64) {
        self.pruned_through.fetch_max(id, Ordering::AcqRel);
    }

    /// The last id handed out by the sequencer (store writer only).
    pub fn sequenced(&self) -> u64 {
        self.sequenced.load(Ordering::Acquire)
    }

    /// Moves the sequencer (store writer only; also to roll back a failed batch).
    pub fn set_sequenced(&self, id: u64) {
        self.sequenced.store(id, Ordering::Release);
    }

    /// Adds a connection under `name`. From here on, every frame appended to the feed is kept
    /// for it; `last_id` says which messages it must read from the store instead. Fails only
    /// for a retired room.
    pub fn attach(self: &Arc<Self>, member: &Arc<Member>, name: &str) -> Result<Attached, Retired> {
        let mut state = self.state.lock();
        if state.retired {
            return Err(Retired);
        }
        self.arrive(&mut state, name);
        // After our own arrival notice: the newcomer learns of itself from `members`.
        let sub = Arc::new(Subscription {
            room: self.clone(),
            cursor: AtomicU64::new(state.feed.end()),
        });
        state.seats.push(Seat {
            sub: sub.clone(),
            member: member.clone(),
        });
        // Listing a crowd costs every newcomer (and the server) its size: it gets the count.
        let (members, count) = if state.crowded {
            (Vec::new(), Some(state.present.len() as u64))
        } else {
            (state.present.names(), None)
        };
        Ok(Attached {
            sub,
            last_id: state.last_id,
            members,
            count,
        })
    }

    /// Marks the room retired if nobody is in it; true if it was.
    pub(crate) fn retire_if_empty(&self) -> bool {
        let mut state = self.state.lock();
        if state.seats.is_empty() {
            state.retired = true;
        }
        state.retired
    }

    /// Closes every member's connection with `reason` (the room's history was reset: they
    /// must reconnect and rejoin to learn the new epoch).
    pub fn evict_all(&self, reason: CloseReason) {
        let mut state = self.state.lock();
        state.retired = true;
        for seat in &state.seats {
            seat.member.close(reason);
        }
    }

    /// Removes a connection; its name leaves the room when this was its last connection here.
    pub fn detach(&self, sub: &Arc<Subscription>, name: &str) {
        let mut state = self.state.lock();
        let Some(at) = state.seats.iter().position(|m| Arc::ptr_eq(&m.sub, sub)) else {
            return;
        };
        state.seats.swap_remove(at);
        self.depart(&mut state, name);
        if state.seats.is_empty() {
            // Nobody reads the feed any more: free it now rather than at the next sweep.
            let end = state.feed.end();
            state.feed.trim_before(end);
        }
    }

    /// Offers a stored message (already encoded once) to every member, unless an id as new
    /// was released already. Ids arrive in order: on one node the store's writer calls this
    /// after each commit; in cluster mode the subscriber, filling gaps from the stream.
    pub fn release(&self, id: u64, frame: Utf8Bytes) {
        let mut state = self.state.lock();
        if id > state.last_id {
            self.release_locked(&mut state, id, frame);
        }
    }

    /// Cluster mode: releases `id` if it directly follows the last released id, drops it if it
    /// was released already, and otherwise releases nothing and returns the last released id,
    /// so that the caller fills the gap first. One lock either way.
    pub fn release_next(&self, id: u64, frame: Utf8Bytes) -> Result<(), u64> {
        let mut state = self.state.lock();
        if id > state.last_id + 1 {
            return Err(state.last_id);
        }
        if id == state.last_id + 1 {
            self.release_locked(&mut state, id, frame);
        }
        Ok(())
    }

    fn release_locked(&self, state: &mut RoomState, id: u64, frame: Utf8Bytes) {
        state.last_id = id;
        self.append(state, frame, SKIP_NONE);
        self.links.metrics.messages_out.inc();
    }

    /// Everything new in the feed for this subscription, as one frame, moving its cursor;
    /// with how many frames it holds.
    pub(crate) fn take(
        &self,
        sub: &Subscription,
        conn: u64,
    ) -> Result<Option<(Utf8Bytes, usize)>, Lapped> {
        let state = self.state.lock();
        let taken = state.feed.take(sub.cursor.load(Ordering::Relaxed), conn)?;
        sub.cursor.store(taken.next, Ordering::Relaxed);
        Ok(taken.frame.map(|frame| (frame, taken.count)))
    }

    fn append(&self, state: &mut RoomState, frame: Utf8Bytes, skip: u64) {
        let offered = state.seats.len() - usize::from(skip != SKIP_NONE && !state.seats.is_empty());
        self.links.metrics.deliveries.inc_by(offered as u64);
        self.links.metrics.feed_bytes.inc_by(frame.len() as u64);
        state.feed.append(frame, skip);
        // SeqCst pairs with the writer's `waiting` flag (see Member::wait_for_work).
        self.feed_end.store(state.feed.end(), Ordering::SeqCst);
        for seat in &state.seats {
            seat.member.wake_if_waiting();
        }
        let budget = self.links.budget_bytes;
        if state.feed.bytes() > budget.saturating_add(budget / 4) {
            // Someone is far behind: drop whoever the trimmed feed leaves behind.
            let start = state.feed.trim(budget);
            for seat in &state.seats {
                if seat.sub.cursor.load(Ordering::Relaxed) < start {
                    seat.member.close(CloseReason::Slow);
                }
            }
            state.appends_since_sweep = 0;
            return;
        }
        state.appends_since_sweep += 1;
        // Small rooms sweep on every append (a handful of loads); large ones every so often.
        if state.appends_since_sweep >= SWEEP_EVERY || state.seats.len() <= SMALL_ROOM {
            state.appends_since_sweep = 0;
            let slowest = state
                .seats
                .iter()
                .map(|m| m.sub.cursor.load(Ordering::Relaxed))
                .min()
                .unwrap_or(state.feed.end());
            state.feed.trim_before(slowest);
        }
    }
}
