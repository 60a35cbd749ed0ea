//! The hub: orders accepted messages and fans them out to every connected client.
//!
//! Ordering and fan-out happen under one short lock, so every client receives messages in the
//! same order as their ids. The lock is a plain mutex held only for id assignment, one
//! serialization and a non-blocking push per client; it is never held across an `.await`.
//!
//! The seam for later work: [`Hub::publish`] is where a message is sequenced (and, later,
//! persisted and rate limited), and [`Hub::deliver`] is the local fan-out of an encoded frame. A
//! broker that shares rooms across nodes through Redis sequences on publish and calls
//! `deliver` on every node for frames it receives.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::extract::ws::Utf8Bytes;
use chat_shared::{encode, ChatMessage, ServerFrame};
use parking_lot::Mutex;
use tokio::sync::watch;

use crate::close::CloseReason;
use crate::outbound::Outbound;

/// Shared state of all connected clients.
#[derive(Debug)]
pub struct Hub {
    inner: Mutex<Inner>,
    client_budget_bytes: usize,
    client_count: watch::Sender<usize>,
}

#[derive(Debug)]
struct Inner {
    next_message_id: u64,
    next_client_id: u64,
    clients: HashMap<u64, Arc<Outbound>>,
    shutting_down: bool,
}

/// A client's place in the hub. Dropping it removes the client, so a connection that fails at
/// any point (even before the upgrade completes) never leaks its queue.
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

    /// The client's outbound queue.
    pub fn outbound(&self) -> &Arc<Outbound> {
        &self.outbound
    }

    /// The hub this client belongs to.
    pub fn hub(&self) -> &Arc<Hub> {
        &self.hub
    }
}

impl Drop for Membership {
    fn drop(&mut self) {
        self.hub.leave(self.id);
    }
}

impl Hub {
    /// A hub whose clients may each queue up to `client_budget_bytes` of unwritten frames.
    pub fn new(client_budget_bytes: usize) -> Arc<Self> {
        Arc::new(Hub {
            inner: Mutex::new(Inner {
                next_message_id: 1,
                next_client_id: 1,
                clients: HashMap::new(),
                shutting_down: false,
            }),
            client_budget_bytes,
            client_count: watch::Sender::new(0),
        })
    }

    /// Registers a client. From this moment it receives every message published, so a client
    /// registered before its upgrade response is sent cannot miss anything sent after it.
    pub fn join(self: &Arc<Self>) -> Membership {
        let outbound = Arc::new(Outbound::new(self.client_budget_bytes));
        let mut inner = self.inner.lock();
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

    /// Accepts a (validated) message: assigns the next id and timestamp and delivers it to
    /// every client, the sender included. Returns the id.
    pub fn publish(&self, text: String) -> Result<u64, serde_json::Error> {
        let mut inner = self.inner.lock();
        let id = inner.next_message_id;
        let frame = encode(&ServerFrame::Message(ChatMessage {
            id,
            text,
            ts: unix_millis(),
        }))?;
        inner.next_message_id += 1;
        self.fan_out(&mut inner, &Utf8Bytes::from(frame));
        Ok(id)
    }

    /// Delivers one encoded frame to every connected client. The bytes are shared, not copied.
    pub fn deliver(&self, frame: &Utf8Bytes) {
        let mut inner = self.inner.lock();
        self.fan_out(&mut inner, frame);
    }

    fn fan_out(&self, inner: &mut Inner, frame: &Utf8Bytes) {
        let before = inner.clients.len();
        // A client that overflows is closed by its queue and removed here, in the same pass.
        inner
            .clients
            .retain(|_, outbound| outbound.push(frame).is_ok());
        if inner.clients.len() != before {
            self.client_count.send_replace(inner.clients.len());
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
    use crate::outbound::Next;

    fn texts(outbound: &Outbound) -> Vec<u64> {
        let mut ids = Vec::new();
        while let Some(Next::Frame(batch)) = outbound.try_next() {
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
        assert_eq!(texts(a.outbound()), vec![1, 2, 3, 4, 5]);
        assert_eq!(texts(b.outbound()), vec![1, 2, 3, 4, 5]);
        drop(a);
        assert_eq!(hub.client_count(), 1);
    }

    #[test]
    fn an_overflowing_member_is_removed_and_others_continue() {
        let hub = Hub::new(300);
        let slow = hub.join();
        let fast = hub.join();
        for i in 0..10 {
            hub.publish(format!("message {i}")).unwrap();
            texts(fast.outbound());
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
            let Some(Next::Frame(got)) = member.outbound().try_next() else {
                panic!("member got nothing");
            };
            // The same bytes, not a copy: every queue points at the one buffer.
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
