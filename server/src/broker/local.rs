//! Everything on one node: ids come from the store's writer thread, history and names from
//! SQLite.

use std::sync::Arc;

use chat_shared::{ChatMessage, FrameError, Joined};

use super::{BoxFuture, Broker, Gap, Post};
use crate::receipt::{receipt, Receipt};
use crate::rooms::Room;
use crate::store::{stream, HistoryStore};

/// The single-node broker.
#[derive(Debug)]
pub struct LocalBroker {
    store: Arc<HistoryStore>,
}

impl LocalBroker {
    /// A broker that sequences and stores through `store`.
    pub fn new(store: Arc<HistoryStore>) -> Self {
        LocalBroker { store }
    }
}

impl Broker for LocalBroker {
    fn publish(&self, post: Post) -> Result<Receipt, FrameError> {
        let (reply, receipt) = receipt();
        self.store.append(post, reply)?;
        Ok(receipt)
    }

    fn open_room<'a>(
        &'a self,
        name: &'a str,
        create: bool,
    ) -> BoxFuture<'a, Result<Option<Arc<Room>>, FrameError>> {
        Box::pin(self.store.open_room(name, create))
    }

    fn claim_name<'a>(
        &'a self,
        name: &'a str,
        token: Option<String>,
    ) -> BoxFuture<'a, Result<String, FrameError>> {
        Box::pin(self.store.claim_name(name, token))
    }

    fn messages_after<'a>(
        &'a self,
        room: &'a Room,
        since: u64,
        through: u64,
        limit: u64,
    ) -> BoxFuture<'a, Result<Gap, FrameError>> {
        let (store_id, name) = (room.store_id, room.name.clone());
        Box::pin(
            self.store
                .read("read a room's missed messages", move |conn| {
                    stream::entries_after(conn, store_id, &name, since, through, limit)
                }),
        )
    }

    fn messages_from<'a>(
        &'a self,
        room: &'a Room,
        from: u64,
        limit: u64,
    ) -> BoxFuture<'a, Result<Vec<ChatMessage>, FrameError>> {
        let (store_id, name) = (room.store_id, room.name.clone());
        Box::pin(self.store.read("read a room's history", move |conn| {
            stream::messages_from(conn, store_id, &name, from, limit)
        }))
    }

    fn messages_before<'a>(
        &'a self,
        room: &'a Room,
        before: u64,
        limit: u64,
    ) -> BoxFuture<'a, Result<Vec<ChatMessage>, FrameError>> {
        let (store_id, name) = (room.store_id, room.name.clone());
        Box::pin(self.store.read("read a room's history", move |conn| {
            stream::messages_before(conn, store_id, &name, before, limit)
        }))
    }

    fn latest_page<'a>(
        &'a self,
        name: &'a str,
        limit: u64,
    ) -> BoxFuture<'a, Result<Option<Joined>, FrameError>> {
        Box::pin(self.store.latest_page(name, limit))
    }

    fn probe(&self) -> BoxFuture<'_, Result<(), String>> {
        Box::pin(self.store.probe())
    }
}
