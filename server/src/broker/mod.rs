//! The seam between chat logic and where messages, history and names live.
//!
//! The session hands every message to a [`Broker`] and never learns what happens next, and asks
//! it for history and names. [`LocalBroker`] keeps everything on this node: the store's writer
//! gives ids in commit order and releases each message to its room after the commit.
//! [`RedisBroker`] sequences, stores and publishes in one Lua call inside Redis, and delivers to
//! the rooms of every node that has members in them. Rooms, sessions and sockets stay the same.

mod local;
pub mod redis;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use chat_shared::{ChatMessage, FrameError, Joined};

use crate::receipt::Receipt;
use crate::rooms::Room;
pub use local::LocalBroker;
pub use redis::RedisBroker;

/// A message (or an event: edit, deletion, reaction) on its way to be sequenced, stored, then delivered to its room:
/// what the session hands the broker, whichever broker it is. Whoever sent it learns the
/// outcome through the [`Receipt`] `publish` gives. Defined by the store, which keeps it.
pub use crate::store::NewMessage as Post;

/// A stretch of a room's stream: what a client that resumes missed.
pub use crate::store::Gap;

/// A boxed future, so the trait can be used as `dyn Broker`.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Sequences messages, keeps history and names, and delivers to the rooms of every node.
pub trait Broker: Send + Sync + std::fmt::Debug {
    /// Sequences `post`, makes it durable, then offers it to its room's members. Never waits:
    /// a refusal now is the `Err`, anything later arrives on the receipt (stored, a repeat, or
    /// refused), so the sender is always told.
    fn publish(&self, post: Post) -> Result<Receipt, FrameError>;

    /// The room called `name`, with its epoch and last id; if it does not exist, created when
    /// `create`, else `None` (so the caller can count creations before making one). Once it
    /// returns a room, every message of the room after the room's `last_id` reaches its feed.
    fn open_room<'a>(
        &'a self,
        name: &'a str,
        create: bool,
    ) -> BoxFuture<'a, Result<Option<Arc<Room>>, FrameError>>;

    /// Reserves `name` for whoever holds `token` (a new token if the name was free); returns
    /// the token, or `name_taken`.
    fn claim_name<'a>(
        &'a self,
        name: &'a str,
        token: Option<String>,
    ) -> BoxFuture<'a, Result<String, FrameError>>;

    /// The kept entries (messages as they are now, and events) of `room` with ids in
    /// `since + 1 ..= through`, oldest first, at most `limit`. Fewer than `through - since`
    /// means some are no longer kept.
    fn messages_after<'a>(
        &'a self,
        room: &'a Room,
        since: u64,
        through: u64,
        limit: u64,
    ) -> BoxFuture<'a, Result<Gap, FrameError>>;

    /// The first `limit` kept messages of `room` with ids from `from` on, oldest first, as they
    /// are now (a page of history after an id).
    fn messages_from<'a>(
        &'a self,
        room: &'a Room,
        from: u64,
        limit: u64,
    ) -> BoxFuture<'a, Result<Vec<ChatMessage>, FrameError>>;

    /// The newest `limit` kept messages of `room` with ids below `before`, oldest first, as they
    /// are now (events left out: they are applied already).
    fn messages_before<'a>(
        &'a self,
        room: &'a Room,
        before: u64,
        limit: u64,
    ) -> BoxFuture<'a, Result<Vec<ChatMessage>, FrameError>>;

    /// The newest `limit` messages of the room called `name` as a page shows them before its
    /// socket is open, without creating the room: `None` if it does not exist.
    fn latest_page<'a>(
        &'a self,
        name: &'a str,
        limit: u64,
    ) -> BoxFuture<'a, Result<Option<Joined>, FrameError>>;

    /// A real round trip to whatever stores messages (a small write), for `/readyz`: `Err`
    /// says why messages cannot be stored now.
    fn probe(&self) -> BoxFuture<'_, Result<(), String>>;

    /// The Redis broker, for tests and diagnostics that need its hooks.
    fn as_redis(&self) -> Option<&RedisBroker> {
        None
    }
}
