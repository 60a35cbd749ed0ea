//! How much each account wants to hear from each room: everything, mentions (the default) or
//! nothing. Direct conversations always notify. Kept by room name, as a room's settings are,
//! one row per account and room it chose a level for.

use rusqlite::{params, Connection, OptionalExtension};

/// An account's notification level in a room.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Level {
    /// Every message.
    Everything,
    /// Messages that mention the account (or everyone).
    #[default]
    Mentions,
    /// None.
    Nothing,
}

impl Level {
    /// Every level, in the order a page offers them.
    pub const ALL: [Level; 3] = [Level::Everything, Level::Mentions, Level::Nothing];

    /// Its name, stored and posted.
    pub fn name(self) -> &'static str {
        match self {
            Level::Everything => "everything",
            Level::Mentions => "mentions",
            Level::Nothing => "nothing",
        }
    }

    /// The level called `name`.
    pub fn from_name(name: &str) -> Option<Level> {
        Level::ALL.into_iter().find(|level| level.name() == name)
    }
}

/// `account`'s level in `room` (the default when it chose none).
pub fn level(conn: &Connection, account: i64, room: &str) -> rusqlite::Result<Level> {
    let stored: Option<String> = conn
        .prepare_cached(
            "SELECT level FROM notification_levels WHERE account_id = ?1 AND room = ?2",
        )?
        .query_row(params![account, room], |r| r.get(0))
        .optional()?;
    Ok(stored
        .as_deref()
        .and_then(Level::from_name)
        .unwrap_or_default())
}

/// Sets `account`'s level in `room`.
pub fn set(conn: &Connection, account: i64, room: &str, level: Level) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT INTO notification_levels (account_id, room, level) VALUES (?1, ?2, ?3)
         ON CONFLICT (account_id, room) DO UPDATE SET level = excluded.level",
    )?
    .execute(params![account, room, level.name()])?;
    Ok(())
}
