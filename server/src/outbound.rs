//! One client's queue of frames waiting to be written, bounded in bytes.
//!
//! The hub pushes shared, already-encoded frames; the client's writer drains them, coalescing
//! whatever has piled up into one WebSocket frame. Pushing never waits: a client that cannot
//! keep up overflows its budget and is closed, so it never slows the hub or anyone else.

use std::collections::VecDeque;

use axum::extract::ws::Utf8Bytes;
use chat_shared::{BATCH_SEPARATOR, MAX_BATCH_BYTES};
use parking_lot::Mutex;
use tokio::sync::Notify;

use crate::close::CloseReason;

/// The shared queue between the hub (producer) and one client's writer (consumer).
#[derive(Debug)]
pub struct Outbound {
    state: Mutex<State>,
    wake_writer: Notify,
    budget_bytes: usize,
}

#[derive(Debug, Default)]
struct State {
    frames: VecDeque<Utf8Bytes>,
    queued_bytes: usize,
    closed: Option<CloseReason>,
}

/// A frame was not queued because the client is closed or has just overflowed its budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Closed;

/// What the writer should do next.
#[derive(Debug, PartialEq, Eq)]
pub enum Next {
    /// Write this frame: one queued frame as is, or several joined by the batch separator.
    Frame(Utf8Bytes),
    /// Stop writing and close the connection for this reason.
    Close(CloseReason),
}

impl Outbound {
    /// A queue that holds at most `budget_bytes` of unwritten frames.
    pub fn new(budget_bytes: usize) -> Self {
        Outbound {
            state: Mutex::new(State::default()),
            wake_writer: Notify::new(),
            budget_bytes,
        }
    }

    /// Queues a frame without waiting. If the budget would overflow, the client is closed as
    /// slow and its queue freed at once, so memory stays bounded by the budget.
    pub fn push(&self, frame: &Utf8Bytes) -> Result<(), Closed> {
        let mut state = self.state.lock();
        if state.closed.is_some() {
            return Err(Closed);
        }
        if state.queued_bytes + frame.len() > self.budget_bytes {
            state.frames = VecDeque::new();
            state.queued_bytes = 0;
            state.closed = Some(CloseReason::Slow);
            drop(state);
            self.wake_writer.notify_one();
            return Err(Closed);
        }
        let was_empty = state.frames.is_empty();
        state.frames.push_back(frame.clone());
        state.queued_bytes += frame.len();
        drop(state);
        // A non-empty queue means the writer is already awake or holds a pending wake-up.
        if was_empty {
            self.wake_writer.notify_one();
        }
        Ok(())
    }

    /// Asks the writer to stop. The first reason wins; frames still queued are dropped, since a
    /// closing connection should not keep the server busy.
    pub fn close(&self, reason: CloseReason) {
        let mut state = self.state.lock();
        if state.closed.is_none() {
            state.closed = Some(reason);
            state.frames = VecDeque::new();
            state.queued_bytes = 0;
        }
        drop(state);
        self.wake_writer.notify_one();
    }

    /// Why the queue was closed, if it was.
    pub fn closed_reason(&self) -> Option<CloseReason> {
        self.state.lock().closed
    }

    /// Bytes waiting to be written.
    pub fn queued_bytes(&self) -> usize {
        self.state.lock().queued_bytes
    }

    /// Waits until there is something to write or the queue is closed.
    pub async fn next(&self) -> Next {
        loop {
            if let Some(next) = self.try_next() {
                return next;
            }
            self.wake_writer.notified().await;
        }
    }

    /// Resolves when the queue is closed. May consume a wake-up meant for [`Outbound::next`];
    /// that is harmless, since `next` always looks at the queue before it waits.
    pub async fn closed(&self) -> CloseReason {
        loop {
            if let Some(reason) = self.closed_reason() {
                return reason;
            }
            self.wake_writer.notified().await;
        }
    }

    /// Takes everything queued, up to [`MAX_BATCH_BYTES`] (at least one frame), as one frame.
    pub fn try_next(&self) -> Option<Next> {
        let mut state = self.state.lock();
        if let Some(reason) = state.closed {
            return Some(Next::Close(reason));
        }
        let first = state.frames.pop_front()?;
        state.queued_bytes -= first.len();
        let Some(second) = state.frames.front() else {
            // The common case when the client keeps up: the shared bytes go out untouched.
            return Some(Next::Frame(first));
        };
        if first.len() + 1 + second.len() > MAX_BATCH_BYTES {
            return Some(Next::Frame(first));
        }
        // Size the batch first so it is built with exactly one allocation.
        let mut size = first.len();
        let mut take = 0;
        for frame in state.frames.iter() {
            if size + 1 + frame.len() > MAX_BATCH_BYTES {
                break;
            }
            size += 1 + frame.len();
            take += 1;
        }
        let mut batch = String::with_capacity(size);
        batch.push_str(first.as_str());
        for frame in state.frames.drain(..take) {
            batch.push(BATCH_SEPARATOR);
            batch.push_str(frame.as_str());
        }
        // Every taken frame but the first added one separator byte to `size`.
        state.queued_bytes -= size - first.len() - take;
        Some(Next::Frame(Utf8Bytes::from(batch)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(text: &str) -> Utf8Bytes {
        Utf8Bytes::from(text.to_string())
    }

    #[test]
    fn a_single_frame_goes_out_as_is() {
        let queue = Outbound::new(1024);
        queue.push(&frame("a")).unwrap();
        assert_eq!(queue.try_next(), Some(Next::Frame(frame("a"))));
        assert_eq!(queue.try_next(), None);
        assert_eq!(queue.queued_bytes(), 0);
    }

    #[test]
    fn queued_frames_are_coalesced_in_order() {
        let queue = Outbound::new(1 << 20);
        for i in 0..50 {
            queue.push(&frame(&format!("{{\"n\":{i}}}"))).unwrap();
        }
        let Some(Next::Frame(batch)) = queue.try_next() else {
            panic!("expected a batch");
        };
        let lines: Vec<&str> = batch.as_str().split('\n').collect();
        assert_eq!(lines.len(), 50);
        assert_eq!(lines[0], "{\"n\":0}");
        assert_eq!(lines[49], "{\"n\":49}");
        assert_eq!(queue.queued_bytes(), 0);
    }

    #[test]
    fn batches_are_capped() {
        let queue = Outbound::new(1 << 20);
        let big = "x".repeat(10_000);
        for _ in 0..20 {
            queue.push(&frame(&big)).unwrap();
        }
        let mut frames = 0;
        let mut total = 0;
        while let Some(Next::Frame(batch)) = queue.try_next() {
            assert!(batch.len() <= MAX_BATCH_BYTES);
            total += batch.as_str().split('\n').count();
            frames += 1;
        }
        assert_eq!(total, 20);
        assert_eq!(frames, 4, "6 x 10 kB fit in 64 KiB");
        assert_eq!(queue.queued_bytes(), 0);
    }

    #[test]
    fn a_frame_larger_than_a_batch_still_goes_out() {
        let queue = Outbound::new(1 << 20);
        let huge = "y".repeat(MAX_BATCH_BYTES + 10);
        queue.push(&frame(&huge)).unwrap();
        queue.push(&frame("z")).unwrap();
        assert_eq!(queue.try_next(), Some(Next::Frame(frame(&huge))));
        assert_eq!(queue.try_next(), Some(Next::Frame(frame("z"))));
    }

    #[test]
    fn overflow_closes_as_slow_and_frees_the_queue() {
        let queue = Outbound::new(10);
        queue.push(&frame("12345")).unwrap();
        queue.push(&frame("12345")).unwrap();
        assert_eq!(queue.push(&frame("1")), Err(Closed));
        assert_eq!(queue.queued_bytes(), 0);
        assert_eq!(queue.try_next(), Some(Next::Close(CloseReason::Slow)));
        assert_eq!(
            queue.push(&frame("1")),
            Err(Closed),
            "a closed queue takes nothing"
        );
    }

    #[test]
    fn first_close_reason_wins() {
        let queue = Outbound::new(10);
        queue.close(CloseReason::Shutdown);
        queue.close(CloseReason::Normal);
        assert_eq!(queue.closed_reason(), Some(CloseReason::Shutdown));
    }

    #[tokio::test]
    async fn writer_wakes_on_push() {
        let queue = std::sync::Arc::new(Outbound::new(1024));
        let writer = {
            let queue = queue.clone();
            tokio::spawn(async move { queue.next().await })
        };
        tokio::task::yield_now().await;
        queue.push(&frame("hello")).unwrap();
        assert_eq!(writer.await.unwrap(), Next::Frame(frame("hello")));
    }
}
