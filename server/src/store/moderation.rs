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
";

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
         WHERE m.account_id = ?1 AND m.deletes IS NULL AND m.text != ''
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
