//! The room registry: every room this node holds, and the guest names in use.
//!
//! The registry's lock is taken when a room is looked up or created (on join) and when a guest
//! name is handed out, never on the per-message path: a message goes straight to its room.
//! Rooms stay loaded once opened (at most `--max-rooms`, each a few hundred bytes while quiet),
//! so a room never exists twice and its ids never race a reload.

pub mod feed;
pub mod member;
pub mod presence;
pub mod room;

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, OnceLock};

use chat_shared::GUEST_PREFIX;
use parking_lot::Mutex;
use tokio::sync::mpsc;

use crate::metrics::Metrics;

pub use member::{Closed, Member, Next};
pub use room::{
    Attached, LatestPage, Retired, Room, RoomEvent, RoomLinks, Subscription, PRESENCE_INTERVAL,
};

/// Every open room, by name.
#[derive(Debug)]
pub struct RoomRegistry {
    rooms: Mutex<HashMap<String, Arc<Room>>>,
    /// The hex suffixes of the guest names in use (a number is a quarter of a string's size).
    guests: Mutex<HashSet<(u8, u64)>>,
    /// How far (bytes of frames) a member may fall behind in a room before it is dropped.
    pub member_budget_bytes: usize,
    /// Where rooms count what they deliver.
    pub metrics: Arc<Metrics>,
    /// Cluster mode: where rooms send what other nodes must hear (set by the Redis broker).
    cluster: OnceLock<mpsc::Sender<RoomEvent>>,
    /// Rooms with presence changes waiting for their interval (see [`PRESENCE_INTERVAL`]).
    presence_due: Arc<Mutex<Vec<String>>>,
    /// Bytes of latest pages all rooms keep.
    page_bytes: Arc<std::sync::atomic::AtomicUsize>,
    /// Rooms with more members list none (`--presence-list-max`; 0: always list).
    presence_list_max: usize,
}

/// Members a room lists by default (`--presence-list-max`).
pub const DEFAULT_PRESENCE_LIST_MAX: usize = 1000;

/// How often the flusher looks for rooms whose presence changes are due: they are shown at
/// most this late after their interval ends.
const PRESENCE_CHECK: std::time::Duration = std::time::Duration::from_millis(100);

impl RoomRegistry {
    /// An empty registry whose rooms let members fall `member_budget_bytes` behind.
    pub fn new(member_budget_bytes: usize, metrics: Arc<Metrics>) -> Self {
        RoomRegistry {
            rooms: Mutex::new(HashMap::new()),
            guests: Mutex::new(HashSet::new()),
            member_budget_bytes,
            metrics,
            cluster: OnceLock::new(),
            presence_due: Arc::default(),
            page_bytes: Arc::default(),
            presence_list_max: DEFAULT_PRESENCE_LIST_MAX,
        }
    }

    /// Lists the members of rooms up to `max` (0: always), and only counts them beyond.
    pub fn with_presence_list_max(mut self, max: usize) -> Self {
        self.presence_list_max = max;
        self
    }

    /// Starts the task that shows rooms' batched presence changes when their interval ends.
    /// It ends with the registry.
    pub fn start_presence_flusher(self: &Arc<Self>) {
        let registry = Arc::downgrade(self);
        tokio::spawn(async move {
            let mut every = tokio::time::interval(PRESENCE_CHECK);
            every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                every.tick().await;
                let Some(registry) = registry.upgrade() else {
                    return;
                };
                registry.show_due_presence();
            }
        });
    }

    /// Shows the presence changes of every queued room whose interval has ended; the others
    /// stay queued.
    pub fn show_due_presence(&self) {
        let queued = std::mem::take(&mut *self.presence_due.lock());
        let mut waiting = Vec::new();
        for name in queued {
            if let Some(room) = self.get(&name) {
                if !room.show_presence_if_due() {
                    waiting.push(name);
                }
            }
        }
        if !waiting.is_empty() {
            self.presence_due.lock().extend(waiting);
        }
    }

    /// Sends every room opened from now on's presence changes and typing notices to `events`.
    pub fn link_cluster(&self, events: mpsc::Sender<RoomEvent>) {
        let _ = self.cluster.set(events);
    }

    /// What a room opened now shares with the others.
    pub fn links(&self) -> RoomLinks {
        RoomLinks {
            budget_bytes: self.member_budget_bytes,
            metrics: self.metrics.clone(),
            cluster: self.cluster.get().cloned(),
            presence_due: self.presence_due.clone(),
            page_bytes: self.page_bytes.clone(),
            presence_list_max: self.presence_list_max,
        }
    }

    /// Forgets `room` if it is still the one held under its name (its history was reset): the
    /// next join opens it afresh.
    pub fn remove(&self, room: &Arc<Room>) {
        let mut rooms = self.rooms.lock();
        if rooms
            .get(&room.name)
            .is_some_and(|held| Arc::ptr_eq(held, room))
        {
            rooms.remove(&room.name);
        }
    }

    /// Drops the room called `name` if nobody on this node is in it (cluster mode: the node
    /// then stops hearing its channel); true if it was dropped.
    pub fn retire_if_empty(&self, name: &str) -> bool {
        let mut rooms = self.rooms.lock();
        let retired = rooms.get(name).is_some_and(|room| room.retire_if_empty());
        if retired {
            rooms.remove(name);
        }
        retired
    }

    /// Every room this node holds.
    pub fn all(&self) -> Vec<Arc<Room>> {
        self.rooms.lock().values().cloned().collect()
    }

    /// How many rooms this node holds.
    pub fn len(&self) -> usize {
        self.rooms.lock().len()
    }

    /// Whether this node holds no room.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The room called `name`, if this node has opened it.
    pub fn get(&self, name: &str) -> Option<Arc<Room>> {
        self.rooms.lock().get(name).cloned()
    }

    /// Keeps `room` unless a room of that name is already here; returns the one kept.
    pub fn insert(&self, room: Room) -> Arc<Room> {
        self.rooms
            .lock()
            .entry(room.name.clone())
            .or_insert_with(|| Arc::new(room))
            .clone()
    }

    /// A `guest-XXXX` name no connected guest has. Released by [`RoomRegistry::release_guest`].
    pub fn new_guest_name(&self) -> String {
        let mut guests = self.guests.lock();
        // Four hex digits while they last; longer names once many guests are online.
        for digits in [4u8, 4, 4, 4, 6, 6, 6, 6, 8, 8, 8, 8, 12, 12, 12, 12, 16] {
            let value = crate::random::u64() >> (64 - 4 * u32::from(digits));
            if guests.insert((digits, value)) {
                return format!(
                    "{GUEST_PREFIX}{value:0width$x}",
                    width = usize::from(digits)
                );
            }
        }
        // 17 collisions in a row, the last among 2^64 values: the random source is broken.
        // A name shared by two guests only merges their presence; it breaks nothing else.
        format!("{GUEST_PREFIX}{:016x}", crate::random::u64())
    }

    /// Frees a guest name for reuse.
    pub fn release_guest(&self, name: &str) {
        let Some(hex) = name.strip_prefix(GUEST_PREFIX) else {
            return;
        };
        if let (Ok(digits), Ok(value)) = (u8::try_from(hex.len()), u64::from_str_radix(hex, 16)) {
            self.guests.lock().remove(&(digits, value));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guest_names_are_unique_among_those_online_and_freed_when_released() {
        let registry = RoomRegistry::new(1 << 20, Arc::default());
        let names: Vec<String> = (0..5000).map(|_| registry.new_guest_name()).collect();
        let distinct: HashSet<&String> = names.iter().collect();
        assert_eq!(distinct.len(), names.len());
        assert!(names[0].starts_with(GUEST_PREFIX) && names[0].len() == GUEST_PREFIX.len() + 4);
        for name in &names {
            registry.release_guest(name);
        }
        assert!(registry.guests.lock().is_empty());
    }
}
