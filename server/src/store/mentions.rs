//! Who a message mentions, resolved when the message is accepted (and again when it is
//! edited) and stored with it by account, so a renamed account stays mentioned. `@room` and
//! `@here` are stored as account 0: everyone in the room. Rows go with their message (deleted,
//! edited, pruned).

use chat_shared::mention::{candidates, is_everyone, starts};
use chat_shared::name_key;
use rusqlite::{params, params_from_iter, Connection};

use super::schema::clamp;

/// How often one account may mention everyone in one room.
pub const EVERYONE_INTERVAL_MS: u64 = 60_000;

/// What a text mentions: accounts, and whether everyone.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Mentioned {
    /// The accounts, each once, in the order first mentioned.
    pub accounts: Vec<i64>,
    /// `@room` or `@here`.
    pub everyone: bool,
}

impl Mentioned {
    /// As a message carries them: account ids in order, `0` (everyone) first; as history reads
    /// them back.
    pub fn ids(&self) -> Vec<u64> {
        let mut ids: Vec<u64> = self
            .accounts
            .iter()
            .filter_map(|&a| u64::try_from(a).ok())
            .chain(self.everyone.then_some(0))
            .collect();
        ids.sort_unstable();
        ids
    }
}

/// Resolves the mentions of `text`: each `@` that starts one names the account with the
/// longest name it could be (one lookup per `@`, at most [`chat_shared::mention::MAX_MENTIONS`]).
pub fn resolve(conn: &Connection, text: &str) -> rusqlite::Result<Mentioned> {
    let mut found = Mentioned::default();
    if !text.contains('@') {
        return Ok(found);
    }
    for after in starts(text) {
        if is_everyone(after) {
            found.everyone = true;
            continue;
        }
        let keys: Vec<String> = candidates(after).into_iter().map(name_key).collect();
        if keys.is_empty() {
            continue;
        }
        let marks = vec!["?"; keys.len()].join(",");
        let sql = format!(
            "SELECT id FROM accounts WHERE name_key IN ({marks})
             ORDER BY length(name_key) DESC LIMIT 1"
        );
        let mut query = conn.prepare_cached(&sql)?;
        let mut rows = query.query(params_from_iter(keys.iter()))?;
        if let Some(row) = rows.next()? {
            let account: i64 = row.get(0)?;
            if !found.accounts.contains(&account) {
                found.accounts.push(account);
            }
        }
    }
    Ok(found)
}

/// How long `account` must wait before it may mention everyone in the room again: `None` if it
/// did not within [`EVERYONE_INTERVAL_MS`] of `now` (in a message other than `except`, the one
/// being edited).
pub fn everyone_wait(
    conn: &Connection,
    room_id: i64,
    account: i64,
    now: u64,
    except: u64,
) -> rusqlite::Result<Option<u64>> {
    let last: Option<i64> = conn
        .prepare_cached(
            "SELECT max(m.ts) FROM mentions n JOIN messages m
                 ON m.room_id = n.room_id AND m.id = n.message_id
             WHERE n.room_id = ?1 AND n.account_id = 0 AND m.account_id = ?2 AND m.ts > ?3
               AND n.message_id <> ?4",
        )?
        .query_row(
            params![
                room_id,
                account,
                clamp(now.saturating_sub(EVERYONE_INTERVAL_MS)),
                clamp(except)
            ],
            |r| r.get(0),
        )?;
    Ok(last.map(|ts| {
        (ts.max(0) as u64 + EVERYONE_INTERVAL_MS)
            .saturating_sub(now)
            .max(1)
    }))
}

/// Stores what message `id` of the room mentions (after [`forget`] for an edited one).
pub fn store(
    conn: &Connection,
    room_id: i64,
    id: u64,
    mentioned: &Mentioned,
) -> rusqlite::Result<()> {
    let mut insert = conn.prepare_cached(
        "INSERT OR IGNORE INTO mentions (room_id, account_id, message_id) VALUES (?1, ?2, ?3)",
    )?;
    for account in mentioned
        .accounts
        .iter()
        .chain(mentioned.everyone.then_some(&0))
    {
        insert.execute(params![room_id, account, clamp(id)])?;
    }
    Ok(())
}

/// Forgets what message `id` of the room mentions (it was deleted, or is edited).
pub fn forget(conn: &Connection, room_id: i64, id: u64) -> rusqlite::Result<()> {
    conn.prepare_cached("DELETE FROM mentions WHERE room_id = ?1 AND message_id = ?2")?
        .execute(params![room_id, clamp(id)])?;
    Ok(())
}

/// The mentions of the room's messages with ids in `first ..= last`: (message, account).
pub fn of_messages(
    conn: &Connection,
    room_id: i64,
    first: u64,
    last: u64,
) -> rusqlite::Result<Vec<(u64, u64)>> {
    let mut query = conn.prepare_cached(
        "SELECT message_id, account_id FROM mentions
         WHERE room_id = ?1 AND message_id >= ?2 AND message_id <= ?3
         ORDER BY message_id, account_id",
    )?;
    let rows = query.query_map(params![room_id, clamp(first), clamp(last)], |r| {
        Ok((
            r.get::<_, i64>(0)?.max(0) as u64,
            r.get::<_, i64>(1)?.max(0) as u64,
        ))
    })?;
    rows.collect()
}

/// Whether a message of someone else after `read` in the room (`room_id`, called `room`) mentions
/// `account`, or everyone while the account has notifications on there (`@room` mentions
/// everyone in the room who has them on; a level of nothing opts out).
pub fn mentioned_after(
    conn: &Connection,
    account: i64,
    room_id: i64,
    room: &str,
    read: u64,
) -> rusqlite::Result<bool> {
    conn.prepare_cached(
        "SELECT EXISTS (SELECT 1 FROM mentions n
             JOIN messages m ON m.room_id = n.room_id AND m.id = n.message_id
         WHERE n.room_id = ?2 AND n.message_id > ?4 AND m.account_id IS NOT ?1
           AND (n.account_id = ?1 OR n.account_id = 0 AND NOT EXISTS (
               SELECT 1 FROM notification_levels l
               WHERE l.account_id = ?1 AND l.room = ?3 AND l.level = 'nothing')))",
    )?
    .query_row(params![account, room_id, room, clamp(read)], |r| r.get(0))
}
