//! The SQLite schema and the queries on it. Plain functions on a connection, so the writer
//! thread and the readers share one definition of every table.

use std::path::Path;
use std::time::Duration;

use rusqlite::{params, Connection, OptionalExtension};

/// How long a statement waits for another connection's lock before failing with "busy".
const BUSY_TIMEOUT: Duration = Duration::from_secs(2);

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS rooms (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    epoch TEXT NOT NULL,
    pruned_through INTEGER NOT NULL DEFAULT 0,
    created_ms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS messages (
    room_id INTEGER NOT NULL,
    id INTEGER NOT NULL,
    name TEXT NOT NULL,
    text TEXT NOT NULL,
    ts INTEGER NOT NULL,
    cid TEXT,
    account_id INTEGER,
    action TEXT,
    target INTEGER,
    reply_to INTEGER,
    edited INTEGER,
    author BLOB,
    seq INTEGER,
    PRIMARY KEY (room_id, id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS reactions (
    room_id INTEGER NOT NULL,
    message_id INTEGER NOT NULL,
    person TEXT NOT NULL,
    emoji TEXT NOT NULL,
    name TEXT NOT NULL,
    event_id INTEGER NOT NULL,
    PRIMARY KEY (room_id, message_id, person, emoji)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS messages_recent_cids ON messages (ts) WHERE cid IS NOT NULL;
CREATE INDEX IF NOT EXISTS messages_events ON messages (room_id, target) WHERE target IS NOT NULL;
CREATE TABLE IF NOT EXISTS mentions (
    room_id INTEGER NOT NULL,
    account_id INTEGER NOT NULL,
    message_id INTEGER NOT NULL,
    PRIMARY KEY (room_id, account_id, message_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS mentions_by_message ON mentions (room_id, message_id);
CREATE TABLE IF NOT EXISTS notification_levels (
    account_id INTEGER NOT NULL,
    room TEXT NOT NULL,
    level TEXT NOT NULL,
    PRIMARY KEY (account_id, room)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS read_positions (
    account_id INTEGER NOT NULL,
    room_id INTEGER NOT NULL,
    last_read INTEGER NOT NULL,
    PRIMARY KEY (account_id, room_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS heartbeat (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    at_ms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS names (
    key TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    token_hash BLOB NOT NULL,
    created_ms INTEGER NOT NULL,
    used_ms INTEGER NOT NULL DEFAULT 0
);
";

/// Opens (creating if needed) the database at `path` for the writer: WAL, so readers never
/// block it nor it them; `synchronous = NORMAL`, under which a committed transaction survives
/// a crash of the process (it is in the WAL file), which is the promise we make.
/// `max_bytes` (0: none) caps the database file; beyond it writes fail with "full".
pub fn open_writer(path: &Path, max_bytes: u64) -> rusqlite::Result<Connection> {
    let conn = Connection::open(path)?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    migrate_messages(&conn)?;
    conn.execute_batch(SCHEMA)?;
    conn.execute_batch(super::accounts::SCHEMA)?;
    conn.execute_batch(super::moderation::SCHEMA)?;
    conn.execute_batch(super::access::SCHEMA)?;
    conn.execute_batch(super::push::SCHEMA)?;
    super::search::create(&conn)?;
    // Databases from before names expired: when a name was last used (0: only its creation).
    let has_used: i64 = conn.query_row(
        "SELECT COUNT(*) FROM pragma_table_info('names') WHERE name = 'used_ms'",
        [],
        |r| r.get(0),
    )?;
    if has_used == 0 {
        conn.execute_batch("ALTER TABLE names ADD COLUMN used_ms INTEGER NOT NULL DEFAULT 0")?;
    }
    if max_bytes > 0 {
        let page: i64 = conn.query_row("PRAGMA page_size", [], |r| r.get(0))?;
        let pages = (max_bytes / page.max(512) as u64).max(1);
        conn.pragma_update(
            None,
            "max_page_count",
            i64::try_from(pages).unwrap_or(i64::MAX),
        )?;
    }
    Ok(conn)
}

/// Brings a `messages` table from an earlier version to this one's columns (before `SCHEMA`,
/// whose `CREATE TABLE IF NOT EXISTS` leaves an existing table as it is): accounts' column, and
/// events (issue 24), where a deletion was a row with `deletes` set.
fn migrate_messages(conn: &Connection) -> rusqlite::Result<()> {
    let columns: Vec<String> = conn
        .prepare("SELECT name FROM pragma_table_info('messages')")?
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    if columns.is_empty() {
        return Ok(());
    }
    let has = |name: &str| columns.iter().any(|c| c == name);
    if !has("account_id") {
        conn.execute_batch("ALTER TABLE messages ADD COLUMN account_id INTEGER")?;
    }
    if !has("action") {
        conn.execute_batch(
            "ALTER TABLE messages ADD COLUMN action TEXT;
             ALTER TABLE messages ADD COLUMN target INTEGER;
             ALTER TABLE messages ADD COLUMN reply_to INTEGER;
             ALTER TABLE messages ADD COLUMN edited INTEGER;
             ALTER TABLE messages ADD COLUMN author BLOB;",
        )?;
        if has("deletes") {
            conn.execute_batch(
                "UPDATE messages SET action = 'delete', target = deletes WHERE deletes IS NOT NULL;
                 ALTER TABLE messages DROP COLUMN deletes;",
            )?;
        }
    }
    if !has("seq") {
        // Search (issue 25): the message's row in the index, filled when the index is made.
        conn.execute_batch("ALTER TABLE messages ADD COLUMN seq INTEGER")?;
    }
    Ok(())
}

/// Opens a read connection (the writer must have created the schema already).
pub fn open_reader(path: &Path) -> rusqlite::Result<Connection> {
    let conn = Connection::open_with_flags(
        path,
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    Ok(conn)
}

/// Writes the readiness probe's row: proves the database takes writes right now.
pub fn heartbeat(conn: &Connection, now_ms: u64) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT INTO heartbeat (id, at_ms) VALUES (1, ?1)
         ON CONFLICT (id) DO UPDATE SET at_ms = excluded.at_ms",
        params![now_ms as i64],
    )?;
    Ok(())
}

/// A room as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoomRow {
    /// Key of the room.
    pub id: i64,
    /// Random, fixed for the life of the room's history.
    pub epoch: String,
    /// The largest id ever given in the room (kept or pruned).
    pub last_id: u64,
    /// Ids up to this were pruned.
    pub pruned_through: u64,
}

/// Finds a room by name.
pub fn find_room(conn: &Connection, name: &str) -> rusqlite::Result<Option<RoomRow>> {
    let row = conn
        .query_row(
            "SELECT id, epoch, pruned_through FROM rooms WHERE name = ?1",
            params![name],
            |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, i64>(2)?,
                ))
            },
        )
        .optional()?;
    let Some((id, epoch, pruned)) = row else {
        return Ok(None);
    };
    let max: Option<i64> = conn.query_row(
        "SELECT max(id) FROM messages WHERE room_id = ?1",
        params![id],
        |r| r.get(0),
    )?;
    let pruned_through = pruned.max(0) as u64;
    Ok(Some(RoomRow {
        id,
        epoch,
        last_id: (max.unwrap_or(0).max(0) as u64).max(pruned_through),
        pruned_through,
    }))
}

/// Creates a room.
pub fn create_room(
    conn: &Connection,
    name: &str,
    epoch: &str,
    now_ms: u64,
) -> rusqlite::Result<i64> {
    conn.execute(
        "INSERT INTO rooms (name, epoch, created_ms) VALUES (?1, ?2, ?3)",
        params![name, epoch, now_ms as i64],
    )?;
    Ok(conn.last_insert_rowid())
}

/// How many rooms exist.
pub fn count_rooms(conn: &Connection) -> rusqlite::Result<usize> {
    conn.query_row("SELECT count(*) FROM rooms", [], |r| r.get::<_, i64>(0))
        .map(|n| n.max(0) as usize)
}

/// One row of a room's stream as stored: a message, or an event on an earlier one.
#[derive(Debug, Default)]
pub struct StreamRow<'a> {
    /// Its id in the room.
    pub id: u64,
    /// Who wrote it, as shown.
    pub name: &'a str,
    /// A message's text; an edit's new text; a reaction's emoji.
    pub text: &'a str,
    /// When it was stored.
    pub ts: u64,
    /// A message's resend key.
    pub cid: Option<&'a str>,
    /// Who wrote it (accounts mode).
    pub account: Option<i64>,
    /// An event's action (`edit`, `delete`, `react`, `unreact`); `None` for a message.
    pub action: Option<&'static str>,
    /// An event's message.
    pub target: Option<u64>,
    /// A message's original, when it answers one.
    pub reply_to: Option<u64>,
    /// A message's author in open mode: the start of the hash of its name's token.
    pub author: Option<&'a [u8]>,
    /// A message's row in the search index.
    pub seq: Option<i64>,
}

/// Stores one row of a room's stream.
pub fn insert_row(conn: &Connection, room_id: i64, row: &StreamRow<'_>) -> rusqlite::Result<()> {
    let mut insert = conn.prepare_cached(
        "INSERT INTO messages
           (room_id, id, name, text, ts, cid, account_id, action, target, reply_to, author, seq)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
    )?;
    insert.execute(params![
        room_id,
        clamp(row.id),
        row.name,
        row.text,
        clamp(row.ts),
        row.cid,
        row.account,
        row.action,
        row.target.map(clamp),
        row.reply_to.map(clamp),
        row.author,
        row.seq,
    ])?;
    Ok(())
}

/// Deletes a room's messages with ids up to `through` and records it.
pub fn prune(conn: &Connection, room_id: i64, through: u64) -> rusqlite::Result<()> {
    super::search::prune(conn, room_id, through)?;
    conn.prepare_cached("DELETE FROM messages WHERE room_id = ?1 AND id <= ?2")?
        .execute(params![room_id, through as i64])?;
    conn.prepare_cached("DELETE FROM reactions WHERE room_id = ?1 AND message_id <= ?2")?
        .execute(params![room_id, through as i64])?;
    conn.prepare_cached("DELETE FROM mentions WHERE room_id = ?1 AND message_id <= ?2")?
        .execute(params![room_id, through as i64])?;
    conn.prepare_cached("UPDATE rooms SET pruned_through = max(pruned_through, ?2) WHERE id = ?1")?
        .execute(params![room_id, through as i64])?;
    Ok(())
}

/// A message sent with a `cid`, as remembered to answer a resend.
#[derive(Debug)]
pub struct CidRow {
    /// Who sent it.
    pub name: String,
    /// Its `cid`.
    pub cid: String,
    /// Its room's key.
    pub room_id: i64,
    /// Its id.
    pub id: u64,
    /// When it was stored.
    pub ts: u64,
}

/// Messages sent with a `cid` since `since_ms`, oldest first.
pub fn recent_cids(conn: &Connection, since_ms: u64) -> rusqlite::Result<Vec<CidRow>> {
    let mut query = conn.prepare(
        "SELECT name, cid, room_id, id, ts FROM messages
         WHERE cid IS NOT NULL AND ts >= ?1 ORDER BY ts",
    )?;
    let rows = query.query_map(params![clamp(since_ms)], |r| {
        Ok(CidRow {
            name: r.get(0)?,
            cid: r.get(1)?,
            room_id: r.get(2)?,
            id: r.get::<_, i64>(3)?.max(0) as u64,
            ts: r.get::<_, i64>(4)?.max(0) as u64,
        })
    })?;
    rows.collect()
}

/// The token hash that holds a name key, and when the name was last used (claimed or presented
/// with its token).
pub fn name_holder(conn: &Connection, key: &str) -> rusqlite::Result<Option<(Vec<u8>, u64)>> {
    conn.query_row(
        "SELECT token_hash, max(created_ms, used_ms) FROM names WHERE key = ?1",
        params![key],
        |r| Ok((r.get(0)?, r.get::<_, i64>(1)?.max(0) as u64)),
    )
    .optional()
}

/// Reserves a name for a token hash (or renews the holder's reservation, with the name's
/// shown form as presented now).
pub fn hold_name(
    conn: &Connection,
    key: &str,
    name: &str,
    token_hash: &[u8],
    now_ms: u64,
) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT INTO names (key, name, token_hash, created_ms, used_ms) VALUES (?1, ?2, ?3, ?4, ?4)
         ON CONFLICT (key) DO UPDATE SET name = excluded.name, token_hash = excluded.token_hash,
           used_ms = excluded.used_ms",
        params![key, name, token_hash, clamp(now_ms)],
    )?;
    Ok(())
}

/// Deletes the names not used since `before_ms`; returns how many.
pub fn forget_names(conn: &Connection, before_ms: u64) -> rusqlite::Result<usize> {
    conn.execute(
        "DELETE FROM names WHERE max(created_ms, used_ms) < ?1",
        params![clamp(before_ms)],
    )
}

/// Names held now.
pub fn count_names(conn: &Connection) -> rusqlite::Result<u64> {
    conn.query_row("SELECT COUNT(*) FROM names", [], |r| r.get::<_, i64>(0))
        .map(|n| n.max(0) as u64)
}

/// Rooms created before `before_ms` that have never had a message (at most `limit`).
pub fn empty_rooms(
    conn: &Connection,
    before_ms: u64,
    limit: usize,
) -> rusqlite::Result<Vec<(i64, String)>> {
    let mut query = conn.prepare(
        "SELECT id, name FROM rooms r WHERE created_ms < ?1
           AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.room_id = r.id) LIMIT ?2",
    )?;
    let rows = query.query_map(
        params![clamp(before_ms), i64::try_from(limit).unwrap_or(i64::MAX)],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    rows.collect()
}

/// Deletes a room that has no messages.
pub fn delete_room(conn: &Connection, id: i64) -> rusqlite::Result<()> {
    conn.execute("DELETE FROM rooms WHERE id = ?1", params![id])?;
    conn.execute("DELETE FROM read_positions WHERE room_id = ?1", params![id])?;
    Ok(())
}

/// SQLite integers are signed: anything a client names beyond i64 is treated as i64::MAX.
pub(crate) fn clamp(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_database_from_before_events_keeps_its_deletions_as_events() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.sqlite3");
        let old = Connection::open(&path).unwrap();
        old.execute_batch(
            "CREATE TABLE messages (room_id INTEGER NOT NULL, id INTEGER NOT NULL,
                 name TEXT NOT NULL, text TEXT NOT NULL, ts INTEGER NOT NULL, cid TEXT,
                 account_id INTEGER, deletes INTEGER, PRIMARY KEY (room_id, id)) WITHOUT ROWID;
             INSERT INTO messages VALUES (1, 1, 'bob', '', 5, NULL, 2, NULL);
             INSERT INTO messages VALUES (1, 2, 'bob', '', 6, NULL, 2, 1);
             INSERT INTO messages VALUES (1, 3, 'ann', 'kept', 7, 'c', 3, NULL);",
        )
        .unwrap();
        drop(old);
        let conn = open_writer(&path, 0).unwrap();
        let gap = super::super::stream::entries_after(&conn, 1, "r", 0, 3, 10).unwrap();
        let ids: Vec<u64> = gap.messages.iter().map(|m| m.id).collect();
        assert_eq!(ids, [1, 3]);
        assert_eq!(gap.messages[1].text, "kept");
        assert_eq!(gap.events.len(), 1);
        let deletion = &gap.events[0];
        assert_eq!(
            (deletion.id, deletion.action, deletion.target),
            (2, chat_shared::Action::Delete, 1)
        );
        // Its messages are in the new search index, found as any other.
        let query = chat_shared::search::Query::parse("kept").unwrap();
        let everyone = super::super::search::Searcher {
            account: None,
            rooms: None,
        };
        conn.execute(
            "INSERT INTO rooms (id, name, epoch, created_ms) VALUES (1, 'r', 'e', 0)",
            [],
        )
        .unwrap();
        let page = super::super::search::find(&conn, &query, &everyone, None).unwrap();
        assert_eq!(page.results.len(), 1);
        assert_eq!((page.results[0].id, page.results[0].ts), (3, 7));
        // Opened again, nothing changes.
        drop(conn);
        let conn = open_writer(&path, 0).unwrap();
        let again = super::super::stream::entries_after(&conn, 1, "r", 0, 3, 10).unwrap();
        assert_eq!(again, gap);
        // A row naming an action this version does not know is an error, not a guess.
        conn.execute(
            "INSERT INTO messages (room_id, id, name, text, ts, action, target)
             VALUES (1, 4, 'x', '', 8, 'explode', 3)",
            [],
        )
        .unwrap();
        assert!(super::super::stream::entries_after(&conn, 1, "r", 0, 4, 10).is_err());
    }
}
