//! The hub: orders accepted messages and offers them to every connected client.
//!
//! A message is sequenced, encoded once and appended to the [`Feed`] under one short lock, so
//! every client receives messages in the same order as their ids. Clients take from the feed at
//! their own pace through a cursor; publishing never touches them one by one, except to wake
//! the writers that were waiting, and to drop the clients that fell more than their budget
//! behind whenever the feed is trimmed. The lock is never held across an `.await`.
//!
//! The seam for later work: [`Hub::publish`] is where a message is sequenced (and, later,
//! persisted and rate limited), and [`Hub::deliver`] appends an already encoded frame. A broker
//! that shares rooms across nodes through Redis sequences on publish and calls `deliver` on
//! every node for frames it receives.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use chat_shared::{encode, ChatMessage, ServerFrame};
use parking_lot::Mutex;
use tokio::sync::{watch, Notify};
use tungstenite::Utf8Bytes;

use crate::close::CloseReason;
use crate::feed::{Feed, Lapped};
use crate::outbound::{Next, Outbound};

/// Shared state of all connected clients.
#[derive(Debug)]
pub struct Hub {
    inner: Mutex<Inner>,
    /// The feed's end, readable without the lock, so a writer can tell it has something new.
    feed_end: AtomicU64,
    /// Wakes the writers that have taken everything and wait for more.
    appended: Notify,
    client_budget_bytes: usize,
    client_count: watch::Sender<usize>,
}

#[derive(Debug)]
struct Inner {
    next_message_id: u64,
    next_client_id: u64,
    clients: HashMap<u64, Arc<Outbound>>,
    feed: Feed,
    shutting_down: bool,
}

/// A client's place in the hub. Dropping it removes the client, so a connection that fails at
/// any point (even before the upgrade completes) never leaks its place.
#[derive(Debug)]
pub struct Membership {
    id: u64,
    outbound: Arc<Outbound>,
    hub: Arc<Hub>,
}

impl Membership {
    /// The client's id, for logs.
    pub fn id(&self) -> u64 {
        self.id
    }

    /// The client's own state: direct frames, close reason, feed position.
    pub fn outbound(&self) -> &Arc<Outbound> {
        &self.outbound
    }

    /// The hub this client belongs to.
    pub fn hub(&self) -> &Arc<Hub> {
        &self.hub
    }

    /// Waits until there is something to write or the client is closed, without taking it.
    pub async fn ready(&self) {
        loop {
            // Register for the next append before looking, so an append in between still
            // wakes us.
            let appended = self.hub.appended.notified();
            tokio::pin!(appended);
            appended.as_mut().enable();
            if self.has_work() {
                return;
            }
            tokio::select! {
                _ = appended => {}
                _ = self.outbound.woken() => {}
            }
        }
    }

    /// Waits for, and takes, what to write next.
    pub async fn next(&self) -> Next {
        loop {
            self.ready().await;
            if let Some(next) = self.try_next() {
                return next;
            }
        }
    }

    /// A close, a direct frame, or everything new in the feed (up to a batch) as one frame.
    pub fn try_next(&self) -> Option<Next> {
        self.outbound
            .take_own()
            .or_else(|| self.hub.take(&self.outbound))
    }

    /// Whether the feed holds frames this client has not taken yet.
    pub fn is_behind(&self) -> bool {
        self.outbound.cursor() < self.hub.feed_end.load(Ordering::Acquire)
    }

    fn has_work(&self) -> bool {
        self.is_behind() || self.outbound.has_own()
    }
}

impl Drop for Membership {
    fn drop(&mut self) {
        self.hub.leave(self.id);
    }
}

impl Hub {
    /// A hub whose clients may each fall up to `client_budget_bytes` behind the newest message
    /// (counting [`crate::feed::FRAME_OVERHEAD_BYTES`] per message) before they are dropped.
    /// The feed keeps about that much recent history for all clients together.
    pub fn new(client_budget_bytes: usize) -> Arc<Self> {
        Arc::new(Hub {
            inner: Mutex::new(Inner {
                next_message_id: 1,
                next_client_id: 1,
                clients: HashMap::new(),
                feed: Feed::default(),
                shutting_down: false,
            }),
            feed_end: AtomicU64::new(0),
            appended: Notify::new(),
            client_budget_bytes,
            client_count: watch::Sender::new(0),
        })
    }

    /// Registers a client. From this moment it receives every message published, so a client
    /// registered before its upgrade response is sent cannot miss anything sent after it.
    pub fn join(self: &Arc<Self>) -> Membership {
        let mut inner = self.inner.lock();
        let outbound = Arc::new(Outbound::new(inner.feed.end(), self.client_budget_bytes));
        let id = inner.next_client_id;
        inner.next_client_id += 1;
        if inner.shutting_down {
            outbound.close(CloseReason::Shutdown);
        } else {
            inner.clients.insert(id, outbound.clone());
            self.client_count.send_replace(inner.clients.len());
        }
        drop(inner);
        Membership {
            id,
            outbound,
            hub: self.clone(),
        }
    }

    fn leave(&self, id: u64) {
        let mut inner = self.inner.lock();
        if inner.clients.remove(&id).is_some() {
            self.client_count.send_replace(inner.clients.len());
        }
    }

    /// Accepts a (validated) message: assigns the next id and timestamp and offers it to every
    /// client, the sender included. Returns the id.
    pub fn publish(&self, text: String) -> Result<u64, serde_json::Error> {
        let mut inner = self.inner.lock();
        let id = inner.next_message_id;
        let frame = encode(&ServerFrame::Message(ChatMessage {
            id,
            text,
            ts: unix_millis(),
        }))?;
        inner.next_message_id += 1;
        self.append(&mut inner, Utf8Bytes::from(frame));
        drop(inner);
        self.appended.notify_waiters();
        Ok(id)
    }

    /// Offers one encoded frame to every connected client. The bytes are stored once and shared.
    pub fn deliver(&self, frame: &Utf8Bytes) {
        let mut inner = self.inner.lock();
        self.append(&mut inner, frame.clone());
        drop(inner);
        self.appended.notify_waiters();
    }

    fn append(&self, inner: &mut Inner, frame: Utf8Bytes) {
        inner.feed.append(frame);
        self.feed_end.store(inner.feed.end(), Ordering::Release);
        // Trim in steps of a quarter budget, so the clients are visited once per many
        // messages, not on every one.
        let budget = self.client_budget_bytes;
        if inner.feed.bytes() <= budget.saturating_add(budget / 4) {
            return;
        }
        let start = inner.feed.trim(budget);
        let before = inner.clients.len();
        inner.clients.retain(|_, client| {
            let lapped = client.cursor() < start;
            if lapped {
                client.close(CloseReason::Slow);
            }
            !lapped
        });
        if inner.clients.len() != before {
            self.client_count.send_replace(inner.clients.len());
        }
    }

    /// Everything new in the feed for this client, as one frame, moving its cursor past it.
    fn take(&self, client: &Outbound) -> Option<Next> {
        let inner = self.inner.lock();
        match inner.feed.take(client.cursor()) {
            Ok(None) => None,
            Ok(Some((frame, next))) => {
                client.set_cursor(next);
                Some(Next::Frame(frame))
            }
            Err(Lapped) => {
                drop(inner);
                client.close(CloseReason::Slow);
                Some(Next::Close(CloseReason::Slow))
            }
        }
    }

    /// Closes every client with "going away" and refuses new ones.
    pub fn shutdown(&self) {
        let mut inner = self.inner.lock();
        inner.shutting_down = true;
        for outbound in inner.clients.values() {
            outbound.close(CloseReason::Shutdown);
        }
    }

    /// Clients currently connected.
    pub fn client_count(&self) -> usize {
        *self.client_count.borrow()
    }

    /// Resolves once no client is registered (after [`Hub::shutdown`], when all have closed).
    pub async fn wait_until_empty(&self) {
        let mut count = self.client_count.subscribe();
        // The sender lives in `self`, so the channel cannot close while we wait.
        let _ = count.wait_for(|n| *n == 0).await;
    }
}

fn unix_millis() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(member: &Membership) -> Vec<u64> {
        let mut ids = Vec::new();
        while let Some(Next::Frame(batch)) = member.try_next() {
            for frame in chat_shared::split_batch(batch.as_str()) {
                match frame.unwrap() {
                    ServerFrame::Message(m) => ids.push(m.id),
                    other => panic!("unexpected {other:?}"),
                }
            }
        }
        ids
    }

    #[test]
    fn every_member_gets_every_message_in_id_order() {
        let hub = Hub::new(1 << 20);
        let a = hub.join();
        let b = hub.join();
        assert_eq!(hub.client_count(), 2);
        for i in 0..5 {
            assert_eq!(hub.publish(format!("m{i}")).unwrap(), i + 1);
        }
        assert_eq!(texts(&a), vec![1, 2, 3, 4, 5]);
        assert_eq!(texts(&b), vec![1, 2, 3, 4, 5]);
        drop(a);
        assert_eq!(hub.client_count(), 1);
    }

    #[test]
    fn a_member_starts_with_the_messages_published_after_it_joined() {
        let hub = Hub::new(1 << 20);
        let early = hub.join();
        hub.publish("before".into()).unwrap();
        let late = hub.join();
        assert!(!late.is_behind());
        hub.publish("after".into()).unwrap();
        assert!(late.is_behind());
        assert_eq!(texts(&early), vec![1, 2]);
        assert_eq!(texts(&late), vec![2]);
        assert!(!late.is_behind());
    }

    #[test]
    fn an_overflowing_member_is_removed_and_others_continue() {
        let hub = Hub::new(300);
        let slow = hub.join();
        let fast = hub.join();
        for i in 0..10 {
            hub.publish(format!("message {i}")).unwrap();
            texts(&fast);
        }
        assert_eq!(slow.outbound().closed_reason(), Some(CloseReason::Slow));
        assert_eq!(fast.outbound().closed_reason(), None);
        assert_eq!(hub.client_count(), 1);
    }

    #[test]
    fn deliver_shares_one_frame_with_every_member() {
        let hub = Hub::new(1024);
        let members: Vec<_> = (0..3).map(|_| hub.join()).collect();
        let frame = Utf8Bytes::from(r#"{"type":"message","id":9,"text":"relayed","ts":1}"#);
        hub.deliver(&frame);
        for member in &members {
            let Some(Next::Frame(got)) = member.try_next() else {
                panic!("member got nothing");
            };
            // The same bytes, not a copy: the feed stores the one buffer for everyone.
            assert_eq!(got.as_str().as_ptr(), frame.as_str().as_ptr());
        }
    }

    #[test]
    fn shutdown_closes_members_and_refuses_new_ones() {
        let hub = Hub::new(1024);
        let a = hub.join();
        hub.shutdown();
        assert_eq!(a.outbound().closed_reason(), Some(CloseReason::Shutdown));
        let late = hub.join();
        assert_eq!(late.outbound().closed_reason(), Some(CloseReason::Shutdown));
        assert_eq!(hub.client_count(), 1);
    }
}
