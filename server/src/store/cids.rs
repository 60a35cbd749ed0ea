//! The `cid`s of recent messages, so that a client's resend of a message is answered with the
//! stored one instead of storing it twice. Kept in memory by the store's writer, reloaded from
//! the database at start (the `messages_recent_cids` index), for [`CID_WINDOW_MS`].

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use chat_shared::name_key;
pub use chat_shared::CID_WINDOW_MS;

use crate::rooms::Room;

/// Most memory the remembered `cid`s may take; the oldest are forgotten first beyond it. A
/// key is up to a few hundred bytes (name, room, cid), kept twice, so a count alone would let a
/// million long keys take most of a gigabyte.
pub(crate) const MAX_CID_BYTES: usize = 64 << 20;

/// What one remembered key costs besides its text, twice (both maps' entries, the room's
/// `Arc`, the id and time), rounded up.
const ENTRY_OVERHEAD_BYTES: usize = 96;

/// Recently used `cid`s: (name key, room, cid) -> the stored message.
#[derive(Debug, Default)]
pub(crate) struct RecentCids {
    by_key: HashMap<String, (Arc<Room>, u64)>,
    by_age: VecDeque<(u64, String)>,
    /// What the keys take, as [`cost`] counts it.
    bytes: usize,
}

/// The memory a key costs.
fn cost(key: &str) -> usize {
    2 * key.len() + ENTRY_OVERHEAD_BYTES
}

impl RecentCids {
    /// The key a message is remembered by: the sender's name (compared as names are), its
    /// room and its `cid`. The same `cid` in another room is another message (as in cluster
    /// mode, where the key lives in the room's own Redis keys).
    pub(crate) fn key(name: &str, room: &str, cid: &str) -> String {
        // Neither a name nor a room name holds a NUL, so the parts cannot run together.
        format!("{}\u{0}{room}\u{0}{cid}", name_key(name))
    }

    /// The stored message a resend with this key repeats, if remembered.
    pub(crate) fn get(&self, key: &str) -> Option<&(Arc<Room>, u64)> {
        self.by_key.get(key)
    }

    /// Remembers a freshly stored message under `key`, sent at `ts` (ms).
    pub(crate) fn insert(&mut self, key: String, room: Arc<Room>, id: u64, ts: u64) {
        self.bytes += cost(&key);
        self.by_age.push_back((ts, key.clone()));
        self.by_key.insert(key, (room, id));
    }

    /// Forgets a key whose message could not be stored after all.
    pub(crate) fn remove(&mut self, key: &str) {
        self.by_key.remove(key);
    }

    /// Forgets keys older than the window, and the oldest beyond [`MAX_CID_BYTES`].
    pub(crate) fn expire(&mut self, now_ms: u64) {
        while let Some((ts, _)) = self.by_age.front() {
            let old = now_ms.saturating_sub(*ts) > CID_WINDOW_MS;
            if !old && self.bytes <= MAX_CID_BYTES {
                break;
            }
            if let Some((_, key)) = self.by_age.pop_front() {
                self.bytes -= cost(&key);
                self.by_key.remove(&key);
            }
        }
    }

    /// What the remembered keys take, as counted against [`MAX_CID_BYTES`].
    #[cfg(test)]
    pub(crate) fn bytes(&self) -> usize {
        self.bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::Metrics;
    use crate::rooms::RoomRegistry;

    #[test]
    fn long_keys_are_forgotten_oldest_first_beyond_the_memory_cap() {
        let registry = RoomRegistry::new(1 << 20, Arc::new(Metrics::new()));
        let room = registry.insert(Room::new("r".into(), 1, "e".into(), 0, 0, registry.links()));
        let mut cids = RecentCids::default();
        let cid = "c".repeat(64);
        let name = "n".repeat(32);
        let per_key = cost(&RecentCids::key(&name, "r", &format!("{cid}{}", 0)));
        let fits = MAX_CID_BYTES / per_key;
        let now = 1_000;
        for i in 0..fits + 1000 {
            cids.insert(
                RecentCids::key(&name, "r", &format!("{cid}{i}")),
                room.clone(),
                i as u64,
                now,
            );
            cids.expire(now);
        }
        assert!(cids.bytes() <= MAX_CID_BYTES);
        let first = RecentCids::key(&name, "r", &format!("{cid}0"));
        let last = RecentCids::key(&name, "r", &format!("{cid}{}", fits + 999));
        assert!(cids.get(&first).is_none(), "the oldest went first");
        assert!(cids.get(&last).is_some(), "the newest is kept");
    }
}
