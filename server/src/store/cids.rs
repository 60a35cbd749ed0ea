//! The `cid`s of recent messages, so that a client's resend of a message is answered with the
//! stored one instead of storing it twice. Kept in memory by the store's writer, reloaded from
//! the database at start (the `messages_recent_cids` index), for [`CID_WINDOW_MS`].

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use chat_shared::name_key;
pub use chat_shared::CID_WINDOW_MS;

use crate::rooms::Room;

/// Most remembered `cid`s; the oldest are forgotten first beyond it.
const MAX_CIDS: usize = 1 << 20;

/// Recently used `cid`s: (name key, room, cid) -> the stored message.
#[derive(Debug, Default)]
pub(crate) struct RecentCids {
    by_key: HashMap<String, (Arc<Room>, u64)>,
    by_age: VecDeque<(u64, String)>,
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
        self.by_age.push_back((ts, key.clone()));
        self.by_key.insert(key, (room, id));
    }

    /// Forgets a key whose message could not be stored after all.
    pub(crate) fn remove(&mut self, key: &str) {
        self.by_key.remove(key);
    }

    /// Forgets keys older than the window, and the oldest beyond [`MAX_CIDS`].
    pub(crate) fn expire(&mut self, now_ms: u64) {
        while let Some((ts, _)) = self.by_age.front() {
            let old = now_ms.saturating_sub(*ts) > CID_WINDOW_MS;
            if !old && self.by_age.len() <= MAX_CIDS {
                break;
            }
            if let Some((_, key)) = self.by_age.pop_front() {
                self.by_key.remove(&key);
            }
        }
    }
}
