//! The broadcast feed: every frame stored once, read by each client at its own pace.
//!
//! Rather than putting a reference to each frame into every client's queue, the hub appends it
//! here once and each client keeps a cursor: the position of the next frame it has not taken.
//! Publishing then costs the same for ten clients or ten thousand, a client's backlog is simply
//! the feed between its cursor and the end, and the feed's size bounds the memory of all the
//! backlogs together. It is also the natural place to resume a client from a position it names.

use std::collections::VecDeque;

use chat_shared::{BATCH_SEPARATOR, MAX_BATCH_BYTES};
use tungstenite::Utf8Bytes;

/// What a stored frame costs beyond its text: the shared-bytes handle, its heap header and the
/// allocator's rounding. Counted so the feed's byte budget is close to the memory it really uses.
pub const FRAME_OVERHEAD_BYTES: usize = 64;

/// Recent frames, oldest first, with positions that only grow.
#[derive(Debug, Default)]
pub struct Feed {
    frames: VecDeque<Utf8Bytes>,
    /// Position of `frames[0]`.
    start: u64,
    /// Memory held by `frames`, counted as text plus [`FRAME_OVERHEAD_BYTES`] per frame.
    bytes: usize,
}

/// The cursor points before the oldest frame still kept: the client has missed frames.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lapped;

impl Feed {
    /// The position the next appended frame will get.
    pub fn end(&self) -> u64 {
        self.start + self.frames.len() as u64
    }

    /// Memory held by the kept frames (see [`FRAME_OVERHEAD_BYTES`]).
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Stores a frame at position [`Feed::end`].
    pub fn append(&mut self, frame: Utf8Bytes) {
        self.bytes += frame.len() + FRAME_OVERHEAD_BYTES;
        self.frames.push_back(frame);
    }

    /// Forgets the oldest frames until at most `keep_bytes` remain; returns the new start.
    pub fn trim(&mut self, keep_bytes: usize) -> u64 {
        while self.bytes > keep_bytes {
            let Some(frame) = self.frames.pop_front() else {
                break;
            };
            self.bytes -= frame.len() + FRAME_OVERHEAD_BYTES;
            self.start += 1;
        }
        self.start
    }

    /// Everything from `cursor` on, up to [`MAX_BATCH_BYTES`] (at least one frame), as one
    /// frame, and the cursor after it. A single frame is shared, not copied; several are
    /// joined by the batch separator. `None` when the cursor is at the end.
    pub fn take(&self, cursor: u64) -> Result<Option<(Utf8Bytes, u64)>, Lapped> {
        let Some(offset) = cursor.checked_sub(self.start) else {
            return Err(Lapped);
        };
        let mut pending = self.frames.range(offset as usize..);
        let Some(first) = pending.next() else {
            return Ok(None);
        };
        // Size the batch first so it is built with exactly one allocation.
        let mut size = first.len();
        let mut count = 1;
        for frame in pending {
            if size + 1 + frame.len() > MAX_BATCH_BYTES {
                break;
            }
            size += 1 + frame.len();
            count += 1;
        }
        if count == 1 {
            // The common case when the client keeps up: the shared bytes go out untouched.
            return Ok(Some((first.clone(), cursor + 1)));
        }
        let mut batch = String::with_capacity(size);
        for (i, frame) in self.frames.range(offset as usize..).take(count).enumerate() {
            if i > 0 {
                batch.push(BATCH_SEPARATOR);
            }
            batch.push_str(frame.as_str());
        }
        Ok(Some((Utf8Bytes::from(batch), cursor + count as u64)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(text: &str) -> Utf8Bytes {
        Utf8Bytes::from(text.to_string())
    }

    fn feed_of(texts: &[&str]) -> Feed {
        let mut feed = Feed::default();
        for text in texts {
            feed.append(frame(text));
        }
        feed
    }

    #[test]
    fn a_single_frame_goes_out_as_is() {
        let mut feed = Feed::default();
        let shared = frame("a");
        feed.append(shared.clone());
        let (got, next) = feed.take(0).unwrap().unwrap();
        assert_eq!(
            got.as_str().as_ptr(),
            shared.as_str().as_ptr(),
            "not a copy"
        );
        assert_eq!(next, 1);
        assert_eq!(feed.take(1), Ok(None));
    }

    #[test]
    fn frames_after_the_cursor_are_coalesced_in_order() {
        let texts: Vec<String> = (0..50).map(|i| format!("{{\"n\":{i}}}")).collect();
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        let feed = feed_of(&refs);
        let (batch, next) = feed.take(10).unwrap().unwrap();
        let lines: Vec<&str> = batch.as_str().split('\n').collect();
        assert_eq!(lines.len(), 40);
        assert_eq!(lines[0], "{\"n\":10}");
        assert_eq!(lines[39], "{\"n\":49}");
        assert_eq!(next, 50);
    }

    #[test]
    fn batches_are_capped() {
        let big = "x".repeat(10_000);
        let feed = feed_of(&[big.as_str(); 20]);
        let (mut cursor, mut batches, mut total) = (0, 0, 0);
        while let Some((batch, next)) = feed.take(cursor).unwrap() {
            assert!(batch.len() <= MAX_BATCH_BYTES);
            total += batch.as_str().split('\n').count();
            batches += 1;
            cursor = next;
        }
        assert_eq!(total, 20);
        assert_eq!(batches, 4, "6 x 10 kB fit in 64 KiB");
    }

    #[test]
    fn a_frame_larger_than_a_batch_still_goes_out() {
        let huge = "y".repeat(MAX_BATCH_BYTES + 10);
        let feed = feed_of(&[huge.as_str(), "z"]);
        let (first, next) = feed.take(0).unwrap().unwrap();
        assert_eq!(first.len(), huge.len());
        assert_eq!(feed.take(next).unwrap().unwrap().0.as_str(), "z");
    }

    #[test]
    fn trimming_keeps_positions_and_laps_cursors_behind_it() {
        let mut feed = feed_of(&["a", "b", "c", "d"]);
        assert_eq!(feed.bytes(), 4 * (1 + FRAME_OVERHEAD_BYTES));
        let start = feed.trim(2 * (1 + FRAME_OVERHEAD_BYTES));
        assert_eq!(start, 2);
        assert_eq!(feed.end(), 4);
        assert_eq!(feed.take(1), Err(Lapped));
        assert_eq!(feed.take(2).unwrap().unwrap().0.as_str(), "c\nd");
        assert_eq!(feed.bytes(), 2 * (1 + FRAME_OVERHEAD_BYTES));
    }
}
