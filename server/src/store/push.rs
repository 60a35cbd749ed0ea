//! Web Push's rows (issue 25): the server's VAPID key, made once, and each browser's push
//! subscription, by account. Also who a new message is pushed to, which the push worker asks
//! off the message path.

use rusqlite::{params, Connection, OptionalExtension};

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use chat_shared::ChatMessage;
use prometheus_client::metrics::counter::Counter;
use tokio::sync::mpsc;

use super::access::{self, RoomKind};
use super::notifications::{self, Level};
use super::schema::clamp;

/// The tables, created with the rest of the schema.
pub const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS push_key (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    secret BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS push_subscriptions (
    id INTEGER PRIMARY KEY,
    account_id INTEGER NOT NULL,
    session_id INTEGER NOT NULL,
    endpoint TEXT NOT NULL UNIQUE,
    p256dh BLOB NOT NULL,
    auth BLOB NOT NULL,
    previews INTEGER NOT NULL DEFAULT 0,
    failures INTEGER NOT NULL DEFAULT 0,
    created_ms INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS push_subscriptions_by_account ON push_subscriptions (account_id);
CREATE INDEX IF NOT EXISTS push_subscriptions_by_session ON push_subscriptions (session_id);
-- A browser signed out (or whose session ended any other way) gets no more pushes: however the
-- session goes, its subscriptions go with it.
CREATE TRIGGER IF NOT EXISTS push_subscriptions_end_with_session AFTER DELETE ON sessions
BEGIN
    DELETE FROM push_subscriptions WHERE session_id = old.id;
END;
CREATE INDEX IF NOT EXISTS notification_levels_by_room ON notification_levels (room, level);
CREATE INDEX IF NOT EXISTS read_positions_by_room ON read_positions (room_id);
";

/// The VAPID private key (a P-256 scalar), or `None` before the first start that made one.
pub fn key(conn: &Connection) -> rusqlite::Result<Option<Vec<u8>>> {
    conn.query_row("SELECT secret FROM push_key WHERE id = 1", [], |r| r.get(0))
        .optional()
}

/// Keeps `secret` as the VAPID key unless one is kept already; returns the one kept.
pub fn keep_key(conn: &Connection, secret: &[u8]) -> rusqlite::Result<Vec<u8>> {
    conn.execute(
        "INSERT OR IGNORE INTO push_key (id, secret) VALUES (1, ?1)",
        params![secret],
    )?;
    conn.query_row("SELECT secret FROM push_key WHERE id = 1", [], |r| r.get(0))
}

/// What a browser gave when it subscribed: where to push, and its keys (RFC 8291).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSubscription {
    /// The sign-in session of the browser: when it ends, so do the pushes.
    pub session: i64,
    /// The push service's URL for this browser (already checked).
    pub endpoint: String,
    /// The browser's P-256 public key, uncompressed (65 bytes).
    pub p256dh: Vec<u8>,
    /// The browser's authentication secret (16 bytes).
    pub auth: Vec<u8>,
    /// Whether pushes may carry the message's text.
    pub previews: bool,
}

/// Why a subscription was not kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotKept {
    /// The account has as many as it may.
    TooMany,
}

/// Keeps `new` for `account` (replacing the row of the same endpoint: a browser that subscribes
/// again, or that another account signed in to). At most `max` per account.
pub fn subscribe(
    conn: &Connection,
    account: i64,
    new: &NewSubscription,
    max: u32,
    now: u64,
) -> rusqlite::Result<Result<(), NotKept>> {
    let tx = conn.unchecked_transaction()?;
    tx.execute(
        "DELETE FROM push_subscriptions WHERE endpoint = ?1",
        params![new.endpoint],
    )?;
    let held: u32 = tx.query_row(
        "SELECT COUNT(*) FROM push_subscriptions WHERE account_id = ?1",
        params![account],
        |r| r.get(0),
    )?;
    if held >= max {
        return Ok(Err(NotKept::TooMany));
    }
    tx.execute(
        "INSERT INTO push_subscriptions
             (account_id, session_id, endpoint, p256dh, auth, previews, created_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            account,
            new.session,
            new.endpoint,
            new.p256dh,
            new.auth,
            i64::from(new.previews),
            clamp(now)
        ],
    )?;
    tx.commit()?;
    Ok(Ok(()))
}

/// Forgets `account`'s subscription at `endpoint`. True if it had one.
pub fn unsubscribe(conn: &Connection, account: i64, endpoint: &str) -> rusqlite::Result<bool> {
    conn.execute(
        "DELETE FROM push_subscriptions WHERE account_id = ?1 AND endpoint = ?2",
        params![account, endpoint],
    )
    .map(|n| n > 0)
}

/// Forgets every subscription of `account` (its "stop everywhere"). How many there were.
pub fn unsubscribe_all(conn: &Connection, account: i64) -> rusqlite::Result<usize> {
    conn.execute(
        "DELETE FROM push_subscriptions WHERE account_id = ?1",
        params![account],
    )
}

/// How many subscriptions `account` has.
pub fn count_of(conn: &Connection, account: i64) -> rusqlite::Result<u32> {
    conn.query_row(
        "SELECT COUNT(*) FROM push_subscriptions WHERE account_id = ?1",
        params![account],
        |r| r.get(0),
    )
}

/// How many subscriptions there are (none: the writer need not tell of messages).
pub fn count(conn: &Connection) -> rusqlite::Result<u64> {
    conn.query_row("SELECT COUNT(*) FROM push_subscriptions", [], |r| {
        r.get::<_, i64>(0)
    })
    .map(|n| n.max(0) as u64)
}

/// Forgets subscription `id` (its push service said it is gone).
pub fn remove(conn: &Connection, id: i64) -> rusqlite::Result<()> {
    conn.execute("DELETE FROM push_subscriptions WHERE id = ?1", params![id])?;
    Ok(())
}

/// Notes how a push to subscription `id` ended. A failure after every retry counts one; after
/// `max_failures` in a row the subscription is forgotten (true). A success starts the count
/// again.
pub fn note_outcome(
    conn: &Connection,
    id: i64,
    delivered: bool,
    max_failures: u32,
) -> rusqlite::Result<bool> {
    if delivered {
        conn.execute(
            "UPDATE push_subscriptions SET failures = 0 WHERE id = ?1 AND failures <> 0",
            params![id],
        )?;
        return Ok(false);
    }
    conn.execute(
        "UPDATE push_subscriptions SET failures = failures + 1 WHERE id = ?1",
        params![id],
    )?;
    let removed = conn.execute(
        "DELETE FROM push_subscriptions WHERE id = ?1 AND failures >= ?2",
        params![id, max_failures],
    )?;
    Ok(removed > 0)
}

/// One browser to push a message to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The subscription's row.
    pub id: i64,
    /// Whose it is.
    pub account: i64,
    /// Where to push.
    pub endpoint: String,
    /// The browser's keys.
    pub p256dh: Vec<u8>,
    /// The browser's secret.
    pub auth: Vec<u8>,
    /// Whether it may be shown the text.
    pub previews: bool,
    /// Pushes to it that failed in a row.
    pub failures: u32,
}

/// A new message, as far as who hears of it goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Heard<'a> {
    /// Its room.
    pub room: &'a str,
    /// What kind of room (who may read it).
    pub kind: RoomKind,
    /// Its author's account (never pushed its own message).
    pub author: Option<i64>,
    /// The accounts it mentions; `0` for everyone.
    pub mentions: &'a [u64],
}

/// The subscriptions a message should be pushed to, before asking who has a page open on its
/// room: of accounts that may read the room (its members if private or direct; in an open
/// room those who have been in it, or whom it mentions by name), are not banned, did not write
/// it, and whose level wants it: direct conversations always, `everything` every message,
/// `mentions` (the default) those that mention them or everyone, `nothing` none.
///
/// Starts from the few who could want it (those mentioned by name, those who chose
/// `everything` in the room, a direct conversation's two), not from every subscription; only a
/// mention of everyone, once a minute per person and room at most, reads all the room's people.
pub fn targets(conn: &Connection, heard: &Heard) -> rusqlite::Result<Vec<Target>> {
    let open = heard.kind == RoomKind::Open;
    let direct = heard.kind == RoomKind::Direct;
    let everyone = heard.mentions.contains(&0);
    let named: Vec<i64> = heard
        .mentions
        .iter()
        .filter(|&&id| id != 0)
        .filter_map(|&id| i64::try_from(id).ok())
        .collect();
    // Who may be in the room's audience at all: a private room's members; those who have
    // been in an open room (their read position there).
    let people = if open {
        "SELECT p.account_id FROM read_positions p JOIN rooms r ON r.id = p.room_id
         WHERE r.name = ?1"
    } else {
        "SELECT account_id FROM room_members WHERE room = ?1"
    };
    let sql = if everyone || direct {
        people.to_string()
    } else {
        format!(
            "SELECT account_id FROM notification_levels WHERE room = ?1 AND level = 'everything'
             AND account_id IN ({people})"
        )
    };
    let mut candidates: BTreeSet<i64> = named.iter().copied().collect();
    let mut query = conn.prepare_cached(&sql)?;
    for account in query.query_map(params![heard.room], |r| r.get(0))? {
        candidates.insert(account?);
    }
    if let Some(author) = heard.author {
        candidates.remove(&author);
    }
    let mut found = Vec::new();
    for account in candidates {
        let mentioned = everyone || named.contains(&account);
        let wanted = match heard.kind {
            RoomKind::Direct => access::is_member(conn, heard.room, account)?,
            RoomKind::Open => wants(notifications::level(conn, account, heard.room)?, mentioned),
            RoomKind::Private => {
                access::is_member(conn, heard.room, account)?
                    && wants(notifications::level(conn, account, heard.room)?, mentioned)
            }
        };
        if wanted {
            subscriptions_of(conn, account, &mut found)?;
        }
    }
    Ok(found)
}

/// Whether anyone with a subscription chose "everything" in `room`.
pub fn anyone_wants_everything(conn: &Connection, room: &str) -> rusqlite::Result<bool> {
    conn.prepare_cached(
        "SELECT EXISTS (SELECT 1 FROM notification_levels l
             JOIN push_subscriptions s ON s.account_id = l.account_id
             WHERE l.room = ?1 AND l.level = 'everything')",
    )?
    .query_row(params![room], |r| r.get(0))
}

/// Adds the subscriptions of `account`, unless it is banned, to `found`.
fn subscriptions_of(
    conn: &Connection,
    account: i64,
    found: &mut Vec<Target>,
) -> rusqlite::Result<()> {
    let mut query = conn.prepare_cached(
        "SELECT s.id, s.endpoint, s.p256dh, s.auth, s.previews, s.failures
         FROM push_subscriptions s
         JOIN accounts a ON a.id = s.account_id AND a.banned = 0
         WHERE s.account_id = ?1 ORDER BY s.id",
    )?;
    let rows = query.query_map(params![account], |r| {
        Ok(Target {
            id: r.get(0)?,
            account,
            endpoint: r.get(1)?,
            p256dh: r.get(2)?,
            auth: r.get(3)?,
            previews: r.get::<_, i64>(4)? != 0,
            failures: r.get(5)?,
        })
    })?;
    for row in rows {
        found.push(row?);
    }
    Ok(())
}

/// Whether `level` wants a message that mentions the reader (or everyone) or not.
fn wants(level: Level, mentioned: bool) -> bool {
    match level {
        Level::Everything => true,
        Level::Mentions => mentioned,
        Level::Nothing => false,
    }
}

/// Where the writer tells of each message it commits, while `wanted` (someone has a push
/// subscription): one `try_send` per message then (of the message itself, once its room has
/// it), nothing at all otherwise. A full queue drops the news (and counts it), never the
/// message: pushing must not slow storing.
#[derive(Debug, Clone)]
pub struct PostTap {
    /// The push worker's queue.
    pub sender: mpsc::Sender<ChatMessage>,
    /// Whether any subscription exists.
    pub wanted: Arc<AtomicBool>,
    /// News dropped because the queue was full (`chat_pushes_total{outcome="dropped"}`).
    pub dropped: Counter,
}

impl PostTap {
    /// Tells of `message`, just stored and released, if anyone may want it.
    pub fn tell(&self, message: ChatMessage) {
        if !self.wanted.load(Ordering::Relaxed) {
            return;
        }
        if self.sender.try_send(message).is_err() {
            self.dropped.inc();
        }
    }
}
