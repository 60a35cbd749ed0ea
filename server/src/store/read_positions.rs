//! Where each account has read to in each room: the last id it has seen there, on any device.
//! Kept on the same per-room ids as resume, so what is unread is exact after a reload, on a new
//! device and after a restart. A position only moves forward.
//!
//! One row per account and room it has read in: bounded by accounts times rooms, and deleted
//! with the room.

use chat_shared::MAX_UNREAD_COUNTED;
use rusqlite::{params, Connection, OptionalExtension};

use super::mentions;
use super::schema::clamp;

/// Moves `account`'s position in the room `room_id` to `id` if that is further on; whether it
/// moved.
pub fn advance(conn: &Connection, account: i64, room_id: i64, id: u64) -> rusqlite::Result<bool> {
    let changed = conn
        .prepare_cached(
            "INSERT INTO read_positions (account_id, room_id, last_read) VALUES (?1, ?2, ?3)
             ON CONFLICT (account_id, room_id) DO UPDATE SET last_read = excluded.last_read
             WHERE excluded.last_read > last_read",
        )?
        .execute(params![account, room_id, clamp(id)])?;
    Ok(changed > 0)
}

/// What an account has read of a room, as a join answers it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReadState {
    /// The last id it read there.
    pub read: u64,
    /// Messages of others after it, counted up to [`MAX_UNREAD_COUNTED`].
    pub unread: u64,
    /// Whether one of them mentions the account (see [`mentions::mentioned_after`]).
    pub mentioned: bool,
}

/// What `account` has read of the room called `room`; `None` if it never read there.
pub fn state(conn: &Connection, account: i64, room: &str) -> rusqlite::Result<Option<ReadState>> {
    let found: Option<(i64, i64)> = conn
        .prepare_cached(
            "SELECT p.room_id, p.last_read FROM read_positions p JOIN rooms r ON r.id = p.room_id
             WHERE p.account_id = ?1 AND r.name = ?2",
        )?
        .query_row(params![account, room], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    let Some((room_id, read)) = found else {
        return Ok(None);
    };
    let read = read.max(0) as u64;
    Ok(Some(ReadState {
        read,
        unread: unread(conn, account, room_id, read)?,
        mentioned: mentions::mentioned_after(conn, account, room_id, room, read)?,
    }))
}

/// How many messages of the room after `read` are not `account`'s own and not deleted (events
/// are not messages), counted up to [`MAX_UNREAD_COUNTED`]: a range of the room's ids, bounded.
fn unread(conn: &Connection, account: i64, room_id: i64, read: u64) -> rusqlite::Result<u64> {
    conn.prepare_cached(
        "SELECT count(*) FROM (
             SELECT 1 FROM messages
             WHERE room_id = ?2 AND id > ?3 AND action IS NULL AND text <> ''
               AND account_id IS NOT ?1
             LIMIT ?4)",
    )?
    .query_row(
        params![account, room_id, clamp(read), clamp(MAX_UNREAD_COUNTED)],
        |r| r.get::<_, i64>(0),
    )
    .map(|count| count.max(0) as u64)
}
