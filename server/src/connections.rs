//! Every open connection, so that shutdown can close them all and wait for them to go.
//!
//! Touched once when a connection opens and once when it closes, never per message.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use parking_lot::Mutex;
use tokio::sync::watch;

use crate::close::CloseReason;
use crate::rooms::Member;

/// The open connections.
#[derive(Debug)]
pub struct Connections {
    open: Mutex<Open>,
    next_id: AtomicU64,
    count: watch::Sender<usize>,
    budget_bytes: usize,
}

#[derive(Debug, Default)]
struct Open {
    by_id: HashMap<u64, Arc<Member>>,
    shutting_down: bool,
}

/// A connection's place in [`Connections`]; dropping it removes the connection, so a
/// connection that fails at any point never leaks its place.
#[derive(Debug)]
pub struct Registration {
    member: Arc<Member>,
    connections: Arc<Connections>,
}

impl Registration {
    /// The connection's queue and room feeds.
    pub fn member(&self) -> &Arc<Member> {
        &self.member
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        self.connections.remove(self.member.id());
    }
}

impl Connections {
    /// No connections yet; each will get `budget_bytes` for frames of its own.
    pub fn new(budget_bytes: usize) -> Arc<Self> {
        Arc::new(Connections {
            open: Mutex::new(Open::default()),
            next_id: AtomicU64::new(1),
            count: watch::Sender::new(0),
            budget_bytes,
        })
    }

    /// Registers a new connection (closed at once if the server is shutting down).
    pub fn open(self: &Arc<Self>) -> Registration {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let member = Arc::new(Member::new(id, self.budget_bytes));
        let mut open = self.open.lock();
        if open.shutting_down {
            member.close(CloseReason::Shutdown);
        } else {
            open.by_id.insert(id, member.clone());
            self.count.send_replace(open.by_id.len());
        }
        drop(open);
        Registration {
            member,
            connections: self.clone(),
        }
    }

    fn remove(&self, id: u64) {
        let mut open = self.open.lock();
        if open.by_id.remove(&id).is_some() {
            self.count.send_replace(open.by_id.len());
        }
    }

    /// Closes every connection with "going away" and refuses new ones.
    pub fn shutdown(&self) {
        let mut open = self.open.lock();
        open.shutting_down = true;
        for member in open.by_id.values() {
            member.close(CloseReason::Shutdown);
        }
    }

    /// Connections open now.
    pub fn count(&self) -> usize {
        *self.count.borrow()
    }

    /// Resolves once no connection is open (after [`Connections::shutdown`], when all closed).
    pub async fn wait_until_empty(&self) {
        let mut count = self.count.subscribe();
        // The sender lives in `self`, so the channel cannot close while we wait.
        let _ = count.wait_for(|n| *n == 0).await;
    }
}
