//! The moderation log: every administrator's action (who, what, to whom, when), listed on the
//! administrators' page. Rows are only ever added.

use rusqlite::{params, Connection};

/// The table, created with the rest of the schema.
pub const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS moderation_log (
    id INTEGER PRIMARY KEY,
    at_ms INTEGER NOT NULL,
    actor_id INTEGER NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS guest_bans (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    value TEXT NOT NULL,
    until_ms INTEGER NOT NULL,
    created_ms INTEGER NOT NULL,
    actor TEXT NOT NULL
);
";

/// A ban of guests (open mode): a name (by its key) or an address range, until a time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GuestBan {
    /// Names it for lifting.
    pub id: i64,
    /// `name` or `address`.
    pub kind: String,
    /// The name as given, or the range (`203.0.113.0/24`).
    pub value: String,
    /// When it ends, in ms since the epoch.
    pub until_ms: u64,
    /// Who made it.
    pub actor: String,
}

/// Records a ban of guests; returns its id.
pub fn add_guest_ban(
    conn: &Connection,
    kind: &str,
    value: &str,
    until_ms: u64,
    now_ms: u64,
    actor: &str,
) -> rusqlite::Result<i64> {
    conn.execute(
        "INSERT INTO guest_bans (kind, value, until_ms, created_ms, actor)
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![kind, value, until_ms as i64, now_ms as i64, actor],
    )?;
    Ok(conn.last_insert_rowid())
}

/// The bans of guests still in force at `now_ms`, newest first (ended ones are deleted).
pub fn guest_bans(conn: &Connection, now_ms: u64) -> rusqlite::Result<Vec<GuestBan>> {
    let mut statement = conn.prepare(
        "SELECT id, kind, value, until_ms, actor FROM guest_bans
         WHERE until_ms > ?1 ORDER BY id DESC",
    )?;
    let rows = statement.query_map(params![now_ms as i64], |r| {
        Ok(GuestBan {
            id: r.get(0)?,
            kind: r.get(1)?,
            value: r.get(2)?,
            until_ms: r.get::<_, i64>(3)?.max(0) as u64,
            actor: r.get(4)?,
        })
    })?;
    rows.collect()
}

/// Lifts ban `id` (and forgets ended ones); the lifted ban, if it was in force.
pub fn lift_guest_ban(
    conn: &Connection,
    id: i64,
    now_ms: u64,
) -> rusqlite::Result<Option<GuestBan>> {
    let found = guest_bans(conn, now_ms)?
        .into_iter()
        .find(|ban| ban.id == id);
    conn.execute(
        "DELETE FROM guest_bans WHERE id = ?1 OR until_ms <= ?2",
        params![id, now_ms as i64],
    )?;
    Ok(found)
}

/// One line of the moderation log: who did what to whom, when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogEntry {
    /// When, in ms since the epoch.
    pub at_ms: u64,
    /// The administrator's name then.
    pub actor: String,
    /// What was done (`ban`, `unban`, `make_admin`, `reset_invitation`, ...).
    pub action: String,
    /// To whom or what, as shown then.
    pub target: String,
}

/// Records a moderation action.
pub fn log_action(
    conn: &Connection,
    at_ms: u64,
    actor_id: i64,
    actor: &str,
    action: &str,
    target: &str,
) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT INTO moderation_log (at_ms, actor_id, actor, action, target)
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![at_ms as i64, actor_id, actor, action, target],
    )?;
    Ok(())
}

/// The newest `limit` lines of the moderation log, newest first.
pub fn moderation_log(conn: &Connection, limit: u32) -> rusqlite::Result<Vec<LogEntry>> {
    let mut statement = conn.prepare(
        "SELECT at_ms, actor, action, target FROM moderation_log ORDER BY id DESC LIMIT ?1",
    )?;
    let rows = statement.query_map(params![limit], |r| {
        Ok(LogEntry {
            at_ms: r.get::<_, i64>(0)?.max(0) as u64,
            actor: r.get(1)?,
            action: r.get(2)?,
            target: r.get(3)?,
        })
    })?;
    rows.collect()
}

/// The messages of `account` still shown (not deleted, not deletions), oldest first per room,
/// at most `limit`: (room name, id).
pub fn messages_of(
    conn: &Connection,
    account: i64,
    limit: u32,
) -> rusqlite::Result<Vec<(String, u64)>> {
    let mut statement = conn.prepare(
        "SELECT r.name, m.id FROM messages m JOIN rooms r ON r.id = m.room_id
         WHERE m.account_id = ?1 AND m.action IS NULL AND m.text != ''
         ORDER BY r.name, m.id LIMIT ?2",
    )?;
    let rows = statement.query_map(params![account, limit], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?.max(0) as u64))
    })?;
    rows.collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_log_lists_the_newest_first() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(SCHEMA).unwrap();
        log_action(&conn, 1, 1, "ann", "ban", "bob").unwrap();
        log_action(&conn, 2, 1, "ann", "unban", "bob").unwrap();
        let log = moderation_log(&conn, 10).unwrap();
        assert_eq!(log.len(), 2);
        assert_eq!((log[0].action.as_str(), log[0].at_ms), ("unban", 2));
        assert_eq!(moderation_log(&conn, 1).unwrap().len(), 1);
    }
}
