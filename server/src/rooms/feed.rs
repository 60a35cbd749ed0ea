//! A room's feed: every frame stored once, read by each member at its own pace.
//!
//! Rather than putting a reference to each frame into every member's queue, the room appends it
//! here once and each member keeps a cursor: the position of the next frame it has not taken.
//! Publishing then costs the same for ten members or ten thousand, a member's backlog is simply
//! the feed between its cursor and the end, and the feed's size bounds the memory of all the
//! backlogs together. Positions are the feed's own, not message ids: presence and typing
//! notices travel here too. A client that resumes from an id reads history from the store.

use std::collections::VecDeque;

use chat_shared::{BATCH_SEPARATOR, MAX_BATCH_BYTES};
use tungstenite::Utf8Bytes;

/// What a stored frame costs beyond its text: the shared-bytes handle, its heap header and the
/// allocator's rounding. Counted so the feed's byte budget is close to the memory it really uses.
pub const FRAME_OVERHEAD_BYTES: usize = 64;

/// One stored frame and the one connection (if any) that must not receive it: a typing notice
/// is not echoed to the typist.
#[derive(Debug, Clone)]
struct Entry {
    frame: Utf8Bytes,
    skip: u64,
}

/// No connection is skipped (connection ids start at 1).
pub const SKIP_NONE: u64 = 0;

/// Recent frames, oldest first, with positions that only grow.
#[derive(Debug, Default)]
pub struct Feed {
    frames: VecDeque<Entry>,
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

    /// Number of frames kept.
    pub fn len(&self) -> usize {
        self.frames.len()
    }

    /// Whether no frame is kept.
    pub fn is_empty(&self) -> bool {
        self.frames.is_empty()
    }

    /// Stores a frame at position [`Feed::end`], for every reader but connection `skip`.
    pub fn append(&mut self, frame: Utf8Bytes, skip: u64) {
        self.bytes += frame.len() + FRAME_OVERHEAD_BYTES;
        self.frames.push_back(Entry { frame, skip });
    }

    /// Forgets the oldest frames until at most `keep_bytes` remain; returns the new start.
    pub fn trim(&mut self, keep_bytes: usize) -> u64 {
        while self.bytes > keep_bytes {
            if !self.pop_front() {
                break;
            }
        }
        self.start
    }

    /// Forgets every frame before position `before` (frames all readers have taken).
    pub fn trim_before(&mut self, before: u64) {
        while self.start < before {
            if !self.pop_front() {
                break;
            }
        }
    }

    fn pop_front(&mut self) -> bool {
        let Some(entry) = self.frames.pop_front() else {
            return false;
        };
        self.bytes -= entry.frame.len() + FRAME_OVERHEAD_BYTES;
        self.start += 1;
        true
    }

    /// Everything from `cursor` on meant for `reader`, up to [`MAX_BATCH_BYTES`] (at least one
    /// frame), as one frame, and the cursor after it. A single frame is shared, not copied;
    /// several are joined by the batch separator. `None` when nothing is left for the reader
    /// (the returned cursor may still have moved past skipped frames: see [`Taken`]).
    pub fn take(&self, cursor: u64, reader: u64) -> Result<Taken, Lapped> {
        let Some(offset) = cursor.checked_sub(self.start) else {
            return Err(Lapped);
        };
        let mut pending = self.frames.range(offset as usize..);
        let mut next = cursor;
        let first = loop {
            let Some(entry) = pending.next() else {
                return Ok(Taken {
                    frame: None,
                    next,
                    count: 0,
                });
            };
            next += 1;
            if entry.skip != reader {
                break &entry.frame;
            }
        };
        // Size the batch first so it is built with exactly one allocation.
        let batch_start = next;
        let mut size = first.len();
        let mut count = 1;
        for entry in pending {
            if entry.skip == reader {
                next += 1;
                continue;
            }
            if size + 1 + entry.frame.len() > MAX_BATCH_BYTES {
                break;
            }
            size += 1 + entry.frame.len();
            count += 1;
            next += 1;
        }
        if count == 1 {
            // The common case when the member keeps up: the shared bytes go out untouched.
            return Ok(Taken {
                frame: Some(first.clone()),
                next,
                count,
            });
        }
        let mut batch = String::with_capacity(size);
        batch.push_str(first.as_str());
        let rest = self.frames.range((batch_start - self.start) as usize..);
        for entry in rest.take((next - batch_start) as usize) {
            if entry.skip != reader {
                batch.push(BATCH_SEPARATOR);
                batch.push_str(entry.frame.as_str());
            }
        }
        Ok(Taken {
            frame: Some(Utf8Bytes::from(batch)),
            next,
            count,
        })
    }
}

/// What [`Feed::take`] found: a frame to write (if any) and the reader's next cursor.
#[derive(Debug, PartialEq, Eq)]
pub struct Taken {
    /// One frame, or several joined by the batch separator.
    pub frame: Option<Utf8Bytes>,
    /// The cursor after what was taken or skipped.
    pub next: u64,
    /// How many frames `frame` holds.
    pub count: usize,
}

#[cfg(test)]
mod tests {
    use super::*;

    const READER: u64 = 7;

    fn frame(text: &str) -> Utf8Bytes {
        Utf8Bytes::from(text.to_string())
    }

    fn feed_of(texts: &[&str]) -> Feed {
        let mut feed = Feed::default();
        for text in texts {
            feed.append(frame(text), SKIP_NONE);
        }
        feed
    }

    fn take(feed: &Feed, cursor: u64) -> Option<(Utf8Bytes, u64)> {
        let taken = feed.take(cursor, READER).unwrap();
        taken.frame.map(|frame| (frame, taken.next))
    }

    #[test]
    fn a_single_frame_goes_out_as_is() {
        let mut feed = Feed::default();
        let shared = frame("a");
        feed.append(shared.clone(), SKIP_NONE);
        let (got, next) = take(&feed, 0).unwrap();
        assert_eq!(
            got.as_str().as_ptr(),
            shared.as_str().as_ptr(),
            "not a copy"
        );
        assert_eq!(next, 1);
        assert_eq!(take(&feed, 1), None);
    }

    #[test]
    fn frames_after_the_cursor_are_coalesced_in_order() {
        let texts: Vec<String> = (0..50).map(|i| format!("{{\"n\":{i}}}")).collect();
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        let feed = feed_of(&refs);
        let (batch, next) = take(&feed, 10).unwrap();
        let lines: Vec<&str> = batch.as_str().split('\n').collect();
        assert_eq!(lines.len(), 40);
        assert_eq!(lines[0], "{\"n\":10}");
        assert_eq!(lines[39], "{\"n\":49}");
        assert_eq!(next, 50);
    }

    #[test]
    fn frames_for_the_skipped_reader_are_passed_over() {
        let mut feed = Feed::default();
        feed.append(frame("own typing"), READER);
        assert_eq!(
            feed.take(0, READER).unwrap(),
            Taken {
                frame: None,
                next: 1,
                count: 0
            },
            "nothing to write, but the cursor moves on"
        );
        feed.append(frame("a"), SKIP_NONE);
        feed.append(frame("own again"), READER);
        feed.append(frame("b"), SKIP_NONE);
        feed.append(frame("own last"), READER);
        let (batch, next) = take(&feed, 0).unwrap();
        assert_eq!(batch.as_str(), "a\nb");
        assert_eq!(next, 5);
        let others = feed.take(0, READER + 1).unwrap();
        assert_eq!(others.frame.unwrap().as_str().split('\n').count(), 5);
    }

    #[test]
    fn batches_are_capped() {
        let big = "x".repeat(10_000);
        let feed = feed_of(&[big.as_str(); 20]);
        let (mut cursor, mut batches, mut total) = (0, 0, 0);
        while let Some((batch, next)) = take(&feed, cursor) {
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
        let (first, next) = take(&feed, 0).unwrap();
        assert_eq!(first.len(), huge.len());
        assert_eq!(take(&feed, next).unwrap().0.as_str(), "z");
    }

    #[test]
    fn trimming_keeps_positions_and_laps_cursors_behind_it() {
        let mut feed = feed_of(&["a", "b", "c", "d"]);
        assert_eq!(feed.bytes(), 4 * (1 + FRAME_OVERHEAD_BYTES));
        let start = feed.trim(2 * (1 + FRAME_OVERHEAD_BYTES));
        assert_eq!(start, 2);
        assert_eq!(feed.end(), 4);
        assert_eq!(feed.take(1, READER), Err(Lapped));
        assert_eq!(take(&feed, 2).unwrap().0.as_str(), "c\nd");
        assert_eq!(feed.bytes(), 2 * (1 + FRAME_OVERHEAD_BYTES));
        feed.trim_before(3);
        assert_eq!((feed.len(), feed.end()), (1, 4));
    }
}
