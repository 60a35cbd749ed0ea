//! A room's latest page of messages, as every `joined` answer that does not resume carries
//! it: encoded once and shared by every client that joins while it is current, instead of
//! read and encoded again for each (a reconnect storm of a big room is thousands of joins of
//! the same page). A client that cannot take its answer at once then holds only its own few
//! bytes around the shared page, not a copy of it.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use axum::body::Bytes;

use super::Room;

/// Bytes of latest pages all rooms together keep. Past it a page is still shared by the
/// joins that built it, but not kept for later ones.
pub const MAX_PAGE_BYTES: usize = 32 << 20;

/// The newest messages of a room up to `last_id`, encoded as the items of a JSON array.
#[derive(Debug)]
pub struct LatestPage {
    /// The room's newest id when it was read.
    pub last_id: u64,
    /// How many messages were asked for (`--join-history`).
    pub count: u64,
    /// The messages' JSON objects, oldest first, separated by commas, without brackets.
    pub items: Bytes,
}

impl Room {
    /// The kept page, if it is the latest page of `count` messages up to `last_id`.
    pub fn latest_page(&self, last_id: u64, count: u64) -> Option<Arc<LatestPage>> {
        self.latest
            .lock()
            .as_ref()
            .filter(|page| page.last_id == last_id && page.count == count)
            .cloned()
    }

    /// Keeps `page` for the joins that come before the room changes, unless a newer one is
    /// kept already or all rooms' pages take [`MAX_PAGE_BYTES`].
    pub fn keep_latest_page(&self, page: Arc<LatestPage>) {
        let mut latest = self.latest.lock();
        if latest
            .as_ref()
            .is_some_and(|kept| kept.last_id > page.last_id)
        {
            return;
        }
        let total = &self.links.page_bytes;
        let old = latest.as_ref().map_or(0, |kept| kept.items.len());
        let new = page.items.len();
        if total.load(Ordering::Relaxed) - old + new > MAX_PAGE_BYTES {
            return;
        }
        total.fetch_add(new, Ordering::Relaxed);
        total.fetch_sub(old, Ordering::Relaxed);
        *latest = Some(page);
    }
}

impl Drop for Room {
    fn drop(&mut self) {
        if let Some(page) = self.latest.get_mut().take() {
            self.links
                .page_bytes
                .fetch_sub(page.items.len(), Ordering::Relaxed);
        }
    }
}
