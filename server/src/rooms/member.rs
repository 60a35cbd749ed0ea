//! A member: one connection's side of the rooms, the reading end of their feeds (a [`Room`]
//! is the writing end). It holds the rooms the connection reads, frames meant for it alone,
//! and whether it is closing.
//!
//! [`Room`]: crate::rooms::Room
//!
//! Room frames are not queued per connection: they live once in each room's feed and the
//! connection keeps a cursor there (see [`crate::rooms::feed`]). What is queued here is only
//! what concerns this connection (answers, errors), bounded in bytes like a feed backlog.
//! Nothing here ever waits: a connection that cannot keep up is closed, so it never slows a
//! room or anyone else. However many rooms it is in, its writer waits on one wake-up.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use axum::body::Bytes;
use parking_lot::Mutex;
use tokio::sync::Notify;
use tungstenite::Utf8Bytes;

use chat_shared::{encode, ServerFrame};
use smallvec::SmallVec;
use tracing::warn;

use crate::close::CloseReason;
use crate::rooms::Subscription;

/// The state shared between the rooms, the connection's reader and the connection's writer.
#[derive(Debug)]
pub struct Member {
    id: u64,
    state: Mutex<State>,
    /// The rooms whose feeds the writer reads. Changed by the session on join and leave.
    /// Inline for the usual one room: no allocation of its own per connection.
    rooms: Mutex<SmallVec<[Arc<Subscription>; 1]>>,
    /// Which room the writer looks at first next time, so a busy room cannot starve the others.
    next_room: AtomicUsize,
    /// Set by the writer just before it sleeps; rooms wake it only then (see `wake_if_waiting`).
    waiting: AtomicBool,
    /// Whether the last frame taken from a room merged several: messages arrive faster than
    /// this connection is written to (see `took_a_batch`).
    merged: AtomicBool,
    wake_writer: Notify,
    budget_bytes: usize,
}

/// Pings read but not yet answered, at most: each gets its pong, in order (RFC 6455 lets an
/// endpoint answer only the latest, but clients and Autobahn's case 2.10 expect one each).
/// Beyond it the oldest are dropped, so pings sent faster than they are answered cost nothing.
pub const MAX_PENDING_PONGS: usize = 16;

#[derive(Debug, Default)]
struct State {
    /// The payloads of pings not answered yet, oldest first.
    pongs: VecDeque<Bytes>,
    direct: VecDeque<Direct>,
    direct_bytes: usize,
    closed: Option<CloseReason>,
    /// Whether the frames queued before the close still go out ahead of it.
    flush_before_close: bool,
    /// The name the connection chats under (its session's), for an administrator's ban of a
    /// name to find it.
    name: Arc<str>,
}

/// A frame for this connection alone.
#[derive(Debug, Clone)]
enum Direct {
    Text(Utf8Bytes),
    /// A text frame in three parts, the middle one shared with other connections.
    Parts([Bytes; 3]),
    /// Only the Autobahn echo sends binary frames.
    #[cfg(feature = "autobahn-echo")]
    Binary(Bytes),
}

impl Direct {
    fn len(&self) -> usize {
        match self {
            Direct::Text(text) => text.len(),
            Direct::Parts(parts) => parts.iter().map(Bytes::len).sum(),
            #[cfg(feature = "autobahn-echo")]
            Direct::Binary(bytes) => bytes.len(),
        }
    }
}

/// A frame was not queued because the client is closed or has just overflowed its budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Closed;

/// What the writer should do next.
#[derive(Debug, PartialEq, Eq)]
pub enum Next {
    /// Write this frame: one frame as is, or several joined by the batch separator.
    Frame(Utf8Bytes),
    /// Write this text frame, given in parts: a `joined` answer's own start and end around
    /// the page of messages it shares with every client that joined since the room changed.
    Parts([Bytes; 3]),
    /// Write this binary frame (the Autobahn echo only).
    #[cfg(feature = "autobahn-echo")]
    Binary(Bytes),
    /// Answer the client's ping with this payload.
    Pong(Bytes),
    /// Stop writing and close the connection for this reason.
    Close(CloseReason),
}

impl Member {
    /// Connection `id` (at least 1, unique on this node), with `budget_bytes` for frames of its
    /// own.
    pub fn new(id: u64, budget_bytes: usize) -> Self {
        Member {
            id,
            state: Mutex::new(State::default()),
            rooms: Mutex::new(SmallVec::new()),
            next_room: AtomicUsize::new(0),
            waiting: AtomicBool::new(false),
            merged: AtomicBool::new(false),
            wake_writer: Notify::new(),
            budget_bytes,
        }
    }

    /// The connection's id, for logs and for the feeds' "not for this one" marks.
    pub fn id(&self) -> u64 {
        self.id
    }

    /// The name the connection chats under now.
    pub fn name(&self) -> Arc<str> {
        self.state.lock().name.clone()
    }

    /// Records the name the connection chats under (its session's, whenever it changes).
    pub fn set_name(&self, name: Arc<str>) {
        self.state.lock().name = name;
    }

    /// The bytes of frames of its own this connection may have queued at once; one more and
    /// it is closed as too slow.
    pub fn budget_bytes(&self) -> usize {
        self.budget_bytes
    }

    /// Starts reading a room's feed (after the `joined` answer was queued, so it goes first).
    pub fn add_room(&self, sub: Arc<Subscription>) {
        self.rooms.lock().push(sub);
        self.wake_writer.notify_one();
    }

    /// Stops reading a room's feed; returns the subscription if there was one.
    pub fn remove_room(&self, room: &str) -> Option<Arc<Subscription>> {
        let mut rooms = self.rooms.lock();
        let at = rooms.iter().position(|sub| sub.room.name == room)?;
        Some(rooms.swap_remove(at))
    }

    /// The subscription to `room`, if this connection reads it.
    pub fn room(&self, room: &str) -> Option<Arc<Subscription>> {
        self.rooms
            .lock()
            .iter()
            .find(|sub| sub.room.name == room)
            .cloned()
    }

    /// Every room this connection reads.
    pub fn rooms(&self) -> Vec<Arc<Subscription>> {
        self.rooms.lock().to_vec()
    }

    /// How many rooms this connection reads.
    pub fn room_count(&self) -> usize {
        self.rooms.lock().len()
    }

    /// Stops reading every room; returns their subscriptions.
    pub fn take_rooms(&self) -> Vec<Arc<Subscription>> {
        std::mem::take(&mut *self.rooms.lock()).into_vec()
    }

    /// Wakes the writer if it is asleep waiting for work. Called by a room for each member on
    /// every append, so it must cost next to nothing when the writer is busy anyway.
    pub fn wake_if_waiting(&self) {
        if self.waiting.load(Ordering::SeqCst) && self.waiting.swap(false, Ordering::SeqCst) {
            self.wake_writer.notify_one();
        }
    }

    /// Waits until there is something to write or the connection is closed.
    pub async fn wait_for_work(&self) {
        loop {
            // Announce the wait before looking: a room that appends after our look sees the
            // flag (both sides use SeqCst) and wakes us; Notify keeps that wake as a permit.
            self.waiting.store(true, Ordering::SeqCst);
            if self.has_work() {
                self.waiting.store(false, Ordering::Relaxed);
                return;
            }
            self.wake_writer.notified().await;
        }
    }

    /// A close, a pong, a direct frame, or everything new in one room's feed (up to a batch).
    pub fn try_next(&self) -> Option<Next> {
        if let Some(own) = self.take_own() {
            return Some(own);
        }
        let rooms = self.rooms.lock();
        let count = rooms.len();
        let first = self.next_room.load(Ordering::Relaxed);
        for i in 0..count {
            let sub = &rooms[(first + i) % count];
            if !sub.is_behind() {
                continue;
            }
            match sub.room.take(sub, self.id) {
                Ok(Some((frame, count))) => {
                    self.next_room.store(first + i + 1, Ordering::Relaxed);
                    self.merged.store(count > 1, Ordering::Relaxed);
                    return Some(Next::Frame(frame));
                }
                Ok(None) => {}
                Err(_lapped) => {
                    drop(rooms);
                    self.close(CloseReason::Slow);
                    return Some(Next::Close(CloseReason::Slow));
                }
            }
        }
        None
    }

    /// Waits for, and takes, what to write next.
    pub async fn next(&self) -> Next {
        loop {
            self.wait_for_work().await;
            if let Some(next) = self.try_next() {
                return next;
            }
        }
    }

    /// Whether the last frame taken from a room held several messages: they came faster than
    /// the writer got to run, i.e. the server is busy, and spacing writes out now saves work.
    pub fn took_a_batch(&self) -> bool {
        self.merged.load(Ordering::Relaxed)
    }

    /// Whether some room's feed holds frames this connection has not taken.
    pub fn is_behind(&self) -> bool {
        self.rooms.lock().iter().any(|sub| sub.is_behind())
    }

    fn has_work(&self) -> bool {
        self.has_own() || self.is_behind()
    }

    /// Queues a frame for this client alone, without waiting. If the budget would overflow,
    /// the client is closed as slow and the queue freed.
    pub fn push(&self, frame: &Utf8Bytes) -> Result<(), Closed> {
        self.push_direct(Direct::Text(frame.clone()))
    }

    /// Queues a text frame in parts for this client alone (the parts, joined, must be UTF-8:
    /// they are pieces of one encoded frame). Budgeted at its whole size, though the middle
    /// part is shared.
    pub fn push_parts(&self, parts: [Bytes; 3]) -> Result<(), Closed> {
        self.push_direct(Direct::Parts(parts))
    }

    /// Queues a binary frame for this client alone: the Autobahn echo's answer to one.
    #[cfg(feature = "autobahn-echo")]
    pub fn push_binary(&self, payload: Bytes) -> Result<(), Closed> {
        self.push_direct(Direct::Binary(payload))
    }

    fn push_direct(&self, frame: Direct) -> Result<(), Closed> {
        let mut state = self.state.lock();
        if state.closed.is_some() {
            return Err(Closed);
        }
        if state.direct_bytes + frame.len() > self.budget_bytes {
            drop(state);
            self.close(CloseReason::Slow);
            return Err(Closed);
        }
        state.direct_bytes += frame.len();
        state.direct.push_back(frame);
        drop(state);
        self.wake_writer.notify_one();
        Ok(())
    }

    /// Encodes `frame` and queues it for this client alone (a closed one is leaving anyway).
    pub fn push_frame(&self, frame: &ServerFrame) {
        match encode(frame) {
            Ok(json) => {
                let _ = self.push(&Utf8Bytes::from(json));
            }
            Err(err) => warn!(error = %err, "could not encode a reply"),
        }
    }

    /// Asks the writer to answer a ping, after the pings before it (see [`MAX_PENDING_PONGS`]).
    pub fn push_pong(&self, payload: Bytes) {
        let mut state = self.state.lock();
        if state.closed.is_some() {
            return;
        }
        if state.pongs.len() == MAX_PENDING_PONGS {
            state.pongs.pop_front();
        }
        state.pongs.push_back(payload);
        drop(state);
        self.wake_writer.notify_one();
    }

    /// Asks the writer to stop. The first reason wins; frames still queued are dropped, since a
    /// closing connection should not keep the server busy.
    pub fn close(&self, reason: CloseReason) {
        let mut state = self.state.lock();
        if state.closed.is_none() {
            state.closed = Some(reason);
            state.pongs = VecDeque::new();
            state.direct = VecDeque::new();
            state.direct_bytes = 0;
        }
        drop(state);
        self.wake_writer.notify_one();
    }

    /// Asks the writer to stop once the frames already queued for this client alone are out:
    /// the answers to what the client sent before whatever ended the connection (a protocol
    /// error, its own close) are still owed. Room frames and pending pongs are dropped. The
    /// connection bounds how long this may take (`CLOSE_GRACE`).
    pub fn close_after_queued(&self, reason: CloseReason) {
        let mut state = self.state.lock();
        if state.closed.is_none() {
            state.closed = Some(reason);
            state.flush_before_close = true;
            state.pongs = VecDeque::new();
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

    /// A close, a pong, or the oldest direct frame, if there is one.
    pub(crate) fn take_own(&self) -> Option<Next> {
        let mut state = self.state.lock();
        if let Some(reason) = state.closed {
            if !state.flush_before_close || state.direct.is_empty() {
                return Some(Next::Close(reason));
            }
        }
        if let Some(payload) = state.pongs.pop_front() {
            if state.pongs.is_empty() {
                state.pongs = VecDeque::new();
            }
            return Some(Next::Pong(payload));
        }
        let frame = state.direct.pop_front()?;
        state.direct_bytes -= frame.len();
        if state.direct.is_empty() {
            // Answers are rare: an idle connection should not keep their queue's memory.
            state.direct = VecDeque::new();
        }
        Some(match frame {
            Direct::Text(text) => Next::Frame(text),
            Direct::Parts(parts) => Next::Parts(parts),
            #[cfg(feature = "autobahn-echo")]
            Direct::Binary(bytes) => Next::Binary(bytes),
        })
    }

    /// Whether a close, a pong or a direct frame is waiting.
    pub(crate) fn has_own(&self) -> bool {
        let state = self.state.lock();
        state.closed.is_some() || !state.pongs.is_empty() || !state.direct.is_empty()
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
        let client = Member::new(1, 1024);
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
        let client = Member::new(1, 10);
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
    fn every_ping_is_answered_in_order_and_before_direct_frames() {
        let client = Member::new(1, 1024);
        client.push(&frame("a")).unwrap();
        client.push_pong(Bytes::from_static(b"1"));
        client.push_pong(Bytes::from_static(b"2"));
        assert_eq!(
            client.take_own(),
            Some(Next::Pong(Bytes::from_static(b"1")))
        );
        assert_eq!(
            client.take_own(),
            Some(Next::Pong(Bytes::from_static(b"2")))
        );
        assert_eq!(client.take_own(), Some(Next::Frame(frame("a"))));
        assert_eq!(client.take_own(), None);
    }

    #[test]
    fn a_flood_of_pings_keeps_only_the_newest_pending() {
        let client = Member::new(1, 1024);
        for i in 0..1000u32 {
            client.push_pong(Bytes::from(i.to_string()));
        }
        let mut answered = Vec::new();
        while let Some(Next::Pong(payload)) = client.take_own() {
            answered.push(String::from_utf8(payload.to_vec()).unwrap());
        }
        let want: Vec<String> = (1000 - MAX_PENDING_PONGS as u32..1000)
            .map(|i| i.to_string())
            .collect();
        assert_eq!(answered, want);
    }

    #[test]
    fn a_close_after_queued_frames_lets_them_out_first() {
        let client = Member::new(1, 1024);
        client.push(&frame("answer")).unwrap();
        client.push_pong(Bytes::from_static(b"p"));
        client.close_after_queued(CloseReason::ProtocolError);
        assert_eq!(client.push(&frame("late")), Err(Closed));
        assert_eq!(client.take_own(), Some(Next::Frame(frame("answer"))));
        assert_eq!(
            client.take_own(),
            Some(Next::Close(CloseReason::ProtocolError))
        );
    }

    #[test]
    fn first_close_reason_wins() {
        let client = Member::new(1, 10);
        client.close(CloseReason::Shutdown);
        client.close(CloseReason::Normal);
        assert_eq!(client.closed_reason(), Some(CloseReason::Shutdown));
    }

    #[tokio::test]
    async fn closed_resolves_when_another_task_closes() {
        let client = std::sync::Arc::new(Member::new(1, 1024));
        let waiter = {
            let client = client.clone();
            tokio::spawn(async move { client.closed().await })
        };
        tokio::task::yield_now().await;
        client.close(CloseReason::Slow);
        assert_eq!(waiter.await.unwrap(), CloseReason::Slow);
    }
}
