//! The full-text index of messages (SQLite FTS5) and the searches on it.
//!
//! The index is kept in the transaction that stores the message, edit or deletion, so it never
//! says other than the history does. It is *contentless*: it keeps the words, not the text
//! (which `messages` has already), with each message's room and id beside them. Its rows are
//! numbered by a sequence the writer gives in the order messages are committed, and a message's
//! number is in its row (`messages.seq`, `NULL` once deleted): so the index's own order is
//! newest first across rooms, a page of results needs no sort, and an edit or a deletion finds
//! its row directly.

use chat_shared::markdown::runs;
use chat_shared::search::{snippet, Query, SEARCH_PAGE};
use chat_shared::{name_key, Found};
use rusqlite::{params, Connection, OptionalExtension};

use super::schema::clamp;

/// Index rows one search reads at most: rows of rooms the searcher may not read and of other
/// authors are skipped, and past this the page ends early (with `next`, to go on), so no search
/// costs more than a few tens of milliseconds.
pub const MAX_ROWS_EXAMINED: usize = 50_000;

/// The index, created with the schema; filled from the messages there when it is new (a
/// database from before search).
pub fn create(conn: &Connection) -> rusqlite::Result<()> {
    let exists = conn
        .query_row(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'search'",
            [],
            |_| Ok(()),
        )
        .optional()?
        .is_some();
    if exists {
        return Ok(());
    }
    // No row sizes (`columnsize = 0`: only ranking by relevance reads them, and results come
    // newest first), and segments merged eight at a time rather than four, so the writer does
    // less per message (BENCHMARKS.md, "Search").
    let tx = conn.unchecked_transaction()?;
    tx.execute_batch(
        "CREATE VIRTUAL TABLE search USING fts5(
             text, room_id UNINDEXED, message_id UNINDEXED,
             content = '', contentless_unindexed = 1, columnsize = 0,
             tokenize = 'unicode61 remove_diacritics 2');
         INSERT INTO search (search, rank) VALUES ('automerge', 8);
         UPDATE messages SET seq = n.seq FROM (
             SELECT room_id, id, row_number() OVER (ORDER BY ts, room_id, id) AS seq
             FROM messages WHERE action IS NULL AND text <> '') AS n
         WHERE messages.room_id = n.room_id AND messages.id = n.id;
         INSERT INTO search (rowid, text, room_id, message_id)
             SELECT seq, text, room_id, id FROM messages WHERE seq IS NOT NULL;",
    )?;
    tx.commit()
}

/// The writer's numbering of index rows.
#[derive(Debug)]
pub struct Sequence(i64);

impl Sequence {
    /// Goes on from the last number given.
    pub fn load(conn: &Connection) -> rusqlite::Result<Self> {
        let last: Option<i64> = conn
            .query_row(
                "SELECT rowid FROM search ORDER BY rowid DESC LIMIT 1",
                [],
                |r| r.get(0),
            )
            .optional()?;
        Ok(Sequence(last.unwrap_or(0)))
    }

    /// The next number. One lost to a failed transaction is never used: harmless.
    pub fn give(&mut self) -> i64 {
        self.0 += 1;
        self.0
    }
}

/// Indexes message `id` of the room as row `seq`.
pub fn add(conn: &Connection, seq: i64, room_id: i64, id: u64, text: &str) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT INTO search (rowid, text, room_id, message_id) VALUES (?1, ?2, ?3, ?4)",
    )?
    .execute(params![seq, text, room_id, clamp(id)])?;
    Ok(())
}

/// Takes row `seq` out of the index (a deleted message): FTS5's `delete` command, given the
/// text the row was indexed with, which is what the message says until this transaction changes
/// it. (A contentless table that deletes by rowid alone, `contentless_delete`, must also keep
/// each row's size, which cost the writer more than this.)
pub fn remove(
    conn: &Connection,
    seq: i64,
    room_id: i64,
    id: u64,
    text: &str,
) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT INTO search (search, rowid, text, room_id, message_id)
         VALUES ('delete', ?1, ?2, ?3, ?4)",
    )?
    .execute(params![seq, text, room_id, clamp(id)])?;
    Ok(())
}

/// Indexes an edited message's new text in its row, in place of the text it had.
pub fn replace(
    conn: &Connection,
    seq: i64,
    room_id: i64,
    id: u64,
    (old, new): (&str, &str),
) -> rusqlite::Result<()> {
    remove(conn, seq, room_id, id, old)?;
    add(conn, seq, room_id, id, new)
}

/// Takes the room's messages up to `through` out of the index (before they are pruned).
pub fn prune(conn: &Connection, room_id: i64, through: u64) -> rusqlite::Result<()> {
    let mut indexed = conn.prepare_cached(
        "SELECT seq, id, text FROM messages WHERE room_id = ?1 AND id <= ?2 AND seq IS NOT NULL",
    )?;
    let rows = indexed.query_map(params![room_id, clamp(through)], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            r.get::<_, i64>(1)?,
            r.get::<_, String>(2)?,
        ))
    })?;
    for row in rows {
        let (seq, id, text) = row?;
        remove(conn, seq, room_id, id.max(0) as u64, &text)?;
    }
    Ok(())
}

/// Who searches: which rooms they may read.
#[derive(Debug, Clone)]
pub struct Searcher {
    /// Accounts mode: the account (private rooms and direct conversations of which it is a
    /// member are read too). `None`: a guest, who reads the open rooms.
    pub account: Option<i64>,
    /// `jwt` mode: the only rooms the token lets its holder into.
    pub rooms: Option<Vec<String>>,
}

/// A page of results.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Page {
    /// Newest first.
    pub results: Vec<Found>,
    /// Where the next page starts, if there may be one.
    pub next: Option<u64>,
}

/// The rooms `searcher` may read, by key: the open ones, and the private ones it is a member
/// of (the same rule as `access::visible`); only `only` when given.
fn readable(
    conn: &Connection,
    searcher: &Searcher,
    only: Option<&str>,
) -> rusqlite::Result<std::collections::HashMap<i64, String>> {
    let mut statement = conn.prepare(
        "SELECT r.id, r.name FROM rooms r LEFT JOIN room_settings s ON s.room = r.name
         WHERE (?2 IS NULL OR r.name = ?2) AND (
             (s.room IS NULL AND r.name NOT LIKE '\\_%' ESCAPE '\\') OR s.kind = 'open'
             OR EXISTS (SELECT 1 FROM room_members m WHERE m.room = r.name AND m.account_id = ?1))",
    )?;
    let rows = statement.query_map(params![searcher.account, only], |r| {
        Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?))
    })?;
    let mut rooms = std::collections::HashMap::new();
    for row in rows {
        let (id, name) = row?;
        if searcher
            .rooms
            .as_ref()
            .is_none_or(|allowed| allowed.contains(&name))
        {
            rooms.insert(id, name);
        }
    }
    Ok(rooms)
}

/// A page of the messages that match `query` in the rooms `searcher` may read, newest first,
/// before index row `before` (the previous page's `next`).
pub fn find(
    conn: &Connection,
    query: &Query,
    searcher: &Searcher,
    before: Option<u64>,
) -> rusqlite::Result<Page> {
    let rooms = readable(conn, searcher, query.room.as_deref())?;
    if rooms.is_empty() {
        return Ok(Page::default());
    }
    // `from:` a name: whoever wrote under it, and the account called so now (renamed since).
    let from = match &query.from {
        Some(name) => {
            let key = name_key(name);
            let account = super::accounts::by_key(conn, &key)?.map(|(account, _)| account.id);
            Some((key, account))
        }
        None => None,
    };
    let mut matches = conn.prepare_cached(
        "SELECT rowid, room_id, message_id FROM search
         WHERE search MATCH ?1 AND rowid < ?2 ORDER BY rowid DESC",
    )?;
    let mut message = conn.prepare_cached(
        "SELECT name, ts, text, account_id FROM messages
         WHERE room_id = ?1 AND id = ?2 AND text <> ''",
    )?;
    let before = before.map_or(i64::MAX, clamp);
    let mut rows = matches.query(params![query.fts5(), before])?;
    let mut page = Page::default();
    let mut examined = 0;
    while let Some(row) = rows.next()? {
        let seq: i64 = row.get(0)?;
        examined += 1;
        if page.results.len() == SEARCH_PAGE || examined > MAX_ROWS_EXAMINED {
            // There may be more: the next page starts after the last row read.
            page.next = Some(u64::try_from(seq + 1).unwrap_or(0));
            break;
        }
        let (room_id, id): (i64, i64) = (row.get(1)?, row.get(2)?);
        let Some(room) = rooms.get(&room_id) else {
            continue;
        };
        let found = message
            .query_row(params![room_id, id], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, Option<i64>>(3)?,
                ))
            })
            .optional()?;
        let Some((name, ts, text, account)) = found else {
            continue;
        };
        if let Some((key, from_account)) = &from {
            let by_account = account.is_some() && account == *from_account;
            if !by_account && name_key(&name) != *key {
                continue;
            }
        }
        let shown = match runs(&text) {
            Some(runs) => runs.into_iter().map(|(text, _)| text).collect(),
            None => text,
        };
        page.results.push(Found {
            room: room.clone(),
            id: id.max(0) as u64,
            name,
            ts: ts.max(0) as u64,
            snippet: snippet(&shown, query),
        });
    }
    Ok(page)
}
