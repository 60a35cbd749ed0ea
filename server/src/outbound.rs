//! One client's side of the broadcast: where it is in the feed, frames meant for it alone, and
//! whether it is closing.
//!
//! Broadcast frames are not queued per client: they live once in the hub's feed and the client
//! keeps a cursor into it (see [`crate::feed`]). What is queued here is only what concerns this
//! client (error replies), bounded in bytes like the feed backlog. Nothing here ever waits: a
//! client that cannot keep up is closed, so it never slows the hub or anyone else.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::body::Bytes;
use parking_lot::Mutex;
use tokio::sync::Notify;
use tungstenite::Utf8Bytes;

use crate::close::CloseReason;

/// The state shared between the hub, the client's reader and the client's writer.
#[derive(Debug)]
pub struct Outbound {
    state: Mutex<State>,
    /// Feed position of the next broadcast frame this client has not taken. Only changed while
    /// the hub's lock is held, so the hub sees it consistently when it trims the feed.
    cursor: AtomicU64,
    wake_writer: Notify,
    budget_bytes: usize,
}

#[derive(Debug, Default)]
struct State {
    /// The payload of the latest unanswered ping (only the latest needs an answer).
    pong: Option<Bytes>,
    direct: VecDeque<Utf8Bytes>,
    direct_bytes: usize,
    closed: Option<CloseReason>,
}

/// A frame was not queued because the client is closed or has just overflowed its budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Closed;

/// What the writer should do next.
#[derive(Debug, PartialEq, Eq)]
pub enum Next {
    /// Write this frame: one frame as is, or several joined by the batch separator.
    Frame(Utf8Bytes),
    /// Answer the client's ping with this payload.
    Pong(Bytes),
    /// Stop writing and close the connection for this reason.
    Close(CloseReason),
}

impl Outbound {
    /// A client starting at feed position `cursor`, with `budget_bytes` for frames of its own.
    pub fn new(cursor: u64, budget_bytes: usize) -> Self {
        Outbound {
            state: Mutex::new(State::default()),
            cursor: AtomicU64::new(cursor),
            wake_writer: Notify::new(),
            budget_bytes,
        }
    }

    /// Queues a frame for this client alone, without waiting. If the budget would overflow,
    /// the client is closed as slow and the queue freed.
    pub fn push(&self, frame: &Utf8Bytes) -> Result<(), Closed> {
        let mut state = self.state.lock();
        if state.closed.is_some() {
            return Err(Closed);
        }
        if state.direct_bytes + frame.len() > self.budget_bytes {
            drop(state);
            self.close(CloseReason::Slow);
            return Err(Closed);
        }
        state.direct.push_back(frame.clone());
        state.direct_bytes += frame.len();
        drop(state);
        self.wake_writer.notify_one();
        Ok(())
    }

    /// Asks the writer to answer a ping. A newer ping replaces an unanswered older one.
    pub fn push_pong(&self, payload: Bytes) {
        let mut state = self.state.lock();
        if state.closed.is_some() {
            return;
        }
        state.pong = Some(payload);
        drop(state);
        self.wake_writer.notify_one();
    }

    /// Asks the writer to stop. The first reason wins; frames still queued are dropped, since a
    /// closing connection should not keep the server busy.
    pub fn close(&self, reason: CloseReason) {
        let mut state = self.state.lock();
        if state.closed.is_none() {
            state.closed = Some(reason);
            state.pong = None;
            state.direct = VecDeque::new();
            state.direct_bytes = 0;
        }
        drop(state);
        self.wake_writer.notify_one();
    }

    /// Why the client was closed, if it was.
    pub fn closed_reason(&self) -> Option<CloseReason> {
        self.state.lock().closed
    }

    /// Resolves when the client is closed. May consume a wake-up meant for the writer's wait
    /// for frames; that is harmless, since the writer always looks before it waits.
    pub async fn closed(&self) -> CloseReason {
        loop {
            if let Some(reason) = self.closed_reason() {
                return reason;
            }
            self.wake_writer.notified().await;
        }
    }

    /// Waits for a wake-up: a direct frame or a close (broadcast frames wake through the hub).
    pub(crate) async fn woken(&self) {
        self.wake_writer.notified().await;
    }

    /// A close, a pong, or the oldest direct frame, if there is one.
    pub(crate) fn take_own(&self) -> Option<Next> {
        let mut state = self.state.lock();
        if let Some(reason) = state.closed {
            return Some(Next::Close(reason));
        }
        if let Some(payload) = state.pong.take() {
            return Some(Next::Pong(payload));
        }
        let frame = state.direct.pop_front()?;
        state.direct_bytes -= frame.len();
        Some(Next::Frame(frame))
    }

    /// Whether a close, a pong or a direct frame is waiting.
    pub(crate) fn has_own(&self) -> bool {
        let state = self.state.lock();
        state.closed.is_some() || state.pong.is_some() || !state.direct.is_empty()
    }

    pub(crate) fn cursor(&self) -> u64 {
        self.cursor.load(Ordering::Relaxed)
    }

    pub(crate) fn set_cursor(&self, cursor: u64) {
        self.cursor.store(cursor, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(text: &str) -> Utf8Bytes {
        Utf8Bytes::from(text.to_string())
    }

    #[test]
    fn direct_frames_come_out_in_order() {
        let client = Outbound::new(0, 1024);
        client.push(&frame("a")).unwrap();
        client.push(&frame("b")).unwrap();
        assert!(client.has_own());
        assert_eq!(client.take_own(), Some(Next::Frame(frame("a"))));
        assert_eq!(client.take_own(), Some(Next::Frame(frame("b"))));
        assert_eq!(client.take_own(), None);
        assert!(!client.has_own());
    }

    #[test]
    fn overflow_closes_as_slow_and_frees_the_queue() {
        let client = Outbound::new(0, 10);
        client.push(&frame("12345")).unwrap();
        client.push(&frame("12345")).unwrap();
        assert_eq!(client.push(&frame("1")), Err(Closed));
        assert_eq!(client.take_own(), Some(Next::Close(CloseReason::Slow)));
        assert_eq!(
            client.push(&frame("1")),
            Err(Closed),
            "a closed client takes nothing"
        );
    }

    #[test]
    fn only_the_latest_ping_is_answered_and_before_direct_frames() {
        let client = Outbound::new(0, 1024);
        client.push(&frame("a")).unwrap();
        client.push_pong(Bytes::from_static(b"1"));
        client.push_pong(Bytes::from_static(b"2"));
        assert_eq!(
            client.take_own(),
            Some(Next::Pong(Bytes::from_static(b"2")))
        );
        assert_eq!(client.take_own(), Some(Next::Frame(frame("a"))));
        assert_eq!(client.take_own(), None);
    }

    #[test]
    fn first_close_reason_wins() {
        let client = Outbound::new(0, 10);
        client.close(CloseReason::Shutdown);
        client.close(CloseReason::Normal);
        assert_eq!(client.closed_reason(), Some(CloseReason::Shutdown));
    }

    #[tokio::test]
    async fn closed_resolves_when_another_task_closes() {
        let client = std::sync::Arc::new(Outbound::new(0, 1024));
        let waiter = {
            let client = client.clone();
            tokio::spawn(async move { client.closed().await })
        };
        tokio::task::yield_now().await;
        client.close(CloseReason::Slow);
        assert_eq!(waiter.await.unwrap(), CloseReason::Slow);
    }
}
