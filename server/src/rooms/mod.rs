//! The room registry: every room this node holds, and the guest names in use.
//!
//! The registry's lock is taken when a room is looked up or created (on join) and when a guest
//! name is handed out, never on the per-message path: a message goes straight to its room.
//! Rooms stay loaded once opened (at most `--max-rooms`, each a few hundred bytes while quiet),
//! so a room never exists twice and its ids never race a reload.

pub mod feed;
pub mod room;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use chat_shared::GUEST_PREFIX;
use parking_lot::Mutex;

pub use room::{Attached, Room, Subscription};

/// Every open room, by name.
#[derive(Debug)]
pub struct RoomRegistry {
    rooms: Mutex<HashMap<String, Arc<Room>>>,
    guests: Mutex<HashSet<String>>,
    /// How far (bytes of frames) a member may fall behind in a room before it is dropped.
    pub member_budget_bytes: usize,
}

impl RoomRegistry {
    /// An empty registry whose rooms let members fall `member_budget_bytes` behind.
    pub fn new(member_budget_bytes: usize) -> Self {
        RoomRegistry {
            rooms: Mutex::new(HashMap::new()),
            guests: Mutex::new(HashSet::new()),
            member_budget_bytes,
        }
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

    /// Rooms open on this node.
    pub fn len(&self) -> usize {
        self.rooms.lock().len()
    }

    /// Whether no room is open.
    pub fn is_empty(&self) -> bool {
        self.rooms.lock().is_empty()
    }

    /// A `guest-XXXX` name no connected guest has. Released by [`RoomRegistry::release_guest`].
    pub fn new_guest_name(&self) -> String {
        let mut guests = self.guests.lock();
        // Four hex digits while they last; longer names once many guests are online.
        for digits in [4usize, 4, 4, 4, 6, 6, 6, 6, 12] {
            let name = format!("{GUEST_PREFIX}{}", random_hex(digits));
            if guests.insert(name.clone()) {
                return name;
            }
        }
        let name = format!("{GUEST_PREFIX}{}", random_hex(32));
        guests.insert(name.clone());
        name
    }

    /// Frees a guest name for reuse.
    pub fn release_guest(&self, name: &str) {
        self.guests.lock().remove(name);
    }
}

/// `digits` random lowercase hex digits (at most 32), from the OS's random source.
pub fn random_hex(digits: usize) -> String {
    let mut bytes = [0u8; 16];
    // The OS random source does not fail on Linux once booted; if it ever did, the names and
    // epochs would only be less random, never wrong.
    let _ = getrandom::fill(&mut bytes);
    let mut hex = String::with_capacity(32);
    for byte in bytes {
        hex.push_str(&format!("{byte:02x}"));
    }
    hex.truncate(digits.min(32));
    hex
}
