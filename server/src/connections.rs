//! Every open connection, so that shutdown can close them all and wait for them to go,
//! (accounts mode) signing out or a ban can close an account's, and what one connection of an
//! account does that all must show at once (reading a room) reaches its others: another tab,
//! another device.
//!
//! Touched once when a connection opens and once when it closes, never per message.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use ipnet::IpNet;
use parking_lot::Mutex;
use tokio::sync::watch;
use tungstenite::Utf8Bytes;

use crate::close::CloseReason;
use crate::rooms::Member;

/// The open connections.
#[derive(Debug)]
pub struct Connections {
    open: Mutex<Open>,
    next_id: AtomicU64,
    /// How many times signed-in connections were closed (sign-outs, bans, account changes):
    /// a handshake that checked its session before one of these and registered after it
    /// checks again (see [`Connections::closes`]).
    closes: AtomicU64,
    count: watch::Sender<usize>,
    budget_bytes: usize,
}

#[derive(Debug, Default)]
struct Open {
    by_id: HashMap<u64, Entry>,
    /// The connections of each account, by id (accounts and `jwt` modes).
    by_account: HashMap<i64, Vec<u64>>,
    shutting_down: bool,
}

/// A registered connection: its queue, its sign-in session (accounts mode), the account it
/// chats as (accounts and `jwt` modes), its client's address.
#[derive(Debug)]
struct Entry {
    member: Arc<Member>,
    signed: Option<SignedIn>,
    account: Option<i64>,
    peer: Option<IpAddr>,
}

/// The account and sign-in session a connection belongs to (accounts mode), so that signing
/// out, everywhere or one session, and a ban close its sockets at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SignedIn {
    /// The account.
    pub account: i64,
    /// Its session the connection was opened with.
    pub session: i64,
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
            closes: AtomicU64::new(0),
            count: watch::Sender::new(0),
            budget_bytes,
        })
    }

    /// Registers a new connection (closed at once if the server is shutting down).
    pub fn open(self: &Arc<Self>) -> Registration {
        self.open_signed(None, None, None)
    }

    /// Registers a new connection: of a signed-in session (accounts mode), chatting as
    /// `account` (accounts mode: the session's; `jwt` mode: the token's).
    pub fn open_signed(
        self: &Arc<Self>,
        signed: Option<SignedIn>,
        account: Option<i64>,
        peer: Option<IpAddr>,
    ) -> Registration {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let member = Arc::new(Member::new(id, self.budget_bytes));
        let mut open = self.open.lock();
        if open.shutting_down {
            member.close(CloseReason::Shutdown);
        } else {
            let entry = Entry {
                member: member.clone(),
                signed,
                account,
                peer,
            };
            open.by_id.insert(id, entry);
            if let Some(account) = account {
                open.by_account.entry(account).or_default().push(id);
            }
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
        let Some(entry) = open.by_id.remove(&id) else {
            return;
        };
        self.count.send_replace(open.by_id.len());
        if let Some(account) = entry.account {
            if let Some(ids) = open.by_account.get_mut(&account) {
                ids.retain(|&other| other != id);
                if ids.is_empty() {
                    open.by_account.remove(&account);
                }
            }
        }
    }

    /// Queues `frame` (encoded once) on every open connection of `account`; returns how many.
    pub fn tell_account(&self, account: i64, frame: &Utf8Bytes) -> usize {
        let open = self.open.lock();
        let Some(ids) = open.by_account.get(&account) else {
            return 0;
        };
        ids.iter()
            .filter_map(|id| open.by_id.get(id))
            .filter(|entry| entry.member.push(frame).is_ok())
            .count()
    }

    /// Whether a connection of `account` reads `room`: a page open on it, which shows its
    /// messages itself (Web Push is for when none is). Off the message path (the push worker).
    pub fn reads_room(&self, account: i64, room: &str) -> bool {
        let open = self.open.lock();
        open.by_account.get(&account).is_some_and(|ids| {
            ids.iter()
                .filter_map(|id| open.by_id.get(id))
                .any(|entry| entry.member.room(room).is_some())
        })
    }

    /// Closes every connection with "going away" and refuses new ones.
    pub fn shutdown(&self) {
        let mut open = self.open.lock();
        open.shutting_down = true;
        for entry in open.by_id.values() {
            entry.member.close(CloseReason::Shutdown);
        }
    }

    /// Closes the connections of signed-in sessions that `which` picks, with `reason`;
    /// returns how many. Walks every connection: for rare acts (sign-out, a ban), never per
    /// message.
    pub fn close_signed(&self, which: impl Fn(SignedIn) -> bool, reason: CloseReason) -> usize {
        let open = self.open.lock();
        // Under the lock: a connection registered after this sees the new count.
        self.closes.fetch_add(1, Ordering::AcqRel);
        let mut closed = 0;
        for entry in open.by_id.values() {
            if entry.signed.is_some_and(&which) {
                entry.member.close(reason);
                closed += 1;
            }
        }
        closed
    }

    /// Closes every connection from an address in one of `ranges` or chatting under a name
    /// `banned_name` says is banned (an administrator's bans of guests, open mode), in one walk.
    /// Returns how many.
    pub fn close_guests(
        &self,
        ranges: &[IpNet],
        banned_name: impl Fn(&str) -> bool,
        reason: CloseReason,
    ) -> usize {
        let open = self.open.lock();
        let mut closed = 0;
        for entry in open.by_id.values() {
            let in_range = entry
                .peer
                .is_some_and(|ip| ranges.iter().any(|range| range.contains(&ip)));
            if in_range || banned_name(&entry.member.name()) {
                entry.member.close(reason);
                closed += 1;
            }
        }
        closed
    }

    /// A count that changes whenever signed-in connections are closed. A handshake reads it
    /// before it checks its session and again once registered: if it changed, a sign-out or ban
    /// may have swept the connections in between, missing this one, so it checks again.
    pub fn closes(&self) -> u64 {
        self.closes.load(Ordering::Acquire)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_sweep_of_signed_in_connections_changes_the_count_handshakes_read() {
        let connections = Connections::new(1024);
        let signed = SignedIn {
            account: 7,
            session: 1,
        };
        // A handshake reads the count, checks its session, and registers...
        let read = connections.closes();
        // ...while a ban sweeps the account's connections (none registered yet, this one
        // about to be).
        assert_eq!(
            connections.close_signed(|s| s.account == 7, CloseReason::SignedOut),
            0
        );
        let _registration = connections.open_signed(Some(signed), Some(7), None);
        // The handshake sees the count moved, so it checks its session again.
        assert_ne!(connections.closes(), read);
        // Without a sweep in between, it does not.
        let read = connections.closes();
        let _other = connections.open_signed(None, None, None);
        assert_eq!(connections.closes(), read);
    }

    #[test]
    fn every_open_connection_of_the_account_is_told_and_closed_ones_are_forgotten() {
        let connections = Connections::new(1 << 16);
        let phone = connections.open_signed(None, Some(7), None);
        let laptop = connections.open_signed(None, Some(7), None);
        let other = connections.open_signed(None, Some(8), None);
        let frame = Utf8Bytes::from_static(r#"{"type":"read","room":"r","id":3}"#);
        assert_eq!(connections.tell_account(7, &frame), 2);
        assert!(phone.member().try_next().is_some() && laptop.member().try_next().is_some());
        assert!(
            other.member().try_next().is_none(),
            "another account hears nothing"
        );
        drop(laptop);
        assert_eq!(connections.tell_account(7, &frame), 1);
        drop(phone);
        assert_eq!(connections.tell_account(7, &frame), 0);
        assert!(
            !connections.open.lock().by_account.contains_key(&7),
            "forgotten"
        );
    }
}
