//! The seam between chat logic and how messages are sequenced and fanned in.
//!
//! The session hands every message to a [`Broker`] and never learns what happens next: the
//! local broker sequences it in this process (the store's writer gives ids in commit order and
//! releases each message to its room after the commit); a Redis broker would sequence in Redis
//! and deliver to the rooms of every node. Rooms, sessions and sockets stay the same.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use chat_shared::FrameError;

use crate::rooms::Room;
use crate::store::{HistoryStore, Post};

/// A boxed future, so the trait can be used as `dyn Broker`.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Sequences messages and delivers them to the rooms of every node.
pub trait Broker: Send + Sync + std::fmt::Debug {
    /// Sequences `post`, makes it durable, then offers it to its room's members. Never waits;
    /// a refusal names what went wrong (the sender is told either way, never silently dropped).
    fn publish(&self, post: Post) -> Result<(), FrameError>;

    /// The room called `name`, with its epoch and last id, created if it does not exist.
    fn open_room<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<Arc<Room>, FrameError>>;

    /// A real round trip to whatever stores messages (a small write), for `/readyz`: `Err`
    /// says why messages cannot be stored now.
    fn probe(&self) -> BoxFuture<'_, Result<(), String>>;
}

/// Everything on one node: ids come from the store's writer thread.
#[derive(Debug)]
pub struct LocalBroker {
    store: Arc<HistoryStore>,
}

impl LocalBroker {
    /// A broker that sequences through `store`.
    pub fn new(store: Arc<HistoryStore>) -> Self {
        LocalBroker { store }
    }
}

impl Broker for LocalBroker {
    fn publish(&self, post: Post) -> Result<(), FrameError> {
        self.store.append(post)
    }

    fn open_room<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<Arc<Room>, FrameError>> {
        Box::pin(self.store.open_room(name))
    }

    fn probe(&self) -> BoxFuture<'_, Result<(), String>> {
        Box::pin(self.store.probe())
    }
}
