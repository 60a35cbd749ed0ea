//! Who may see which room (accounts mode): private rooms and direct messages, their members,
//! and every room's title, topic and read-only flag. Open rooms need no row here until someone
//! gives them a topic or makes them read-only.

use chat_shared::is_private_room;
use rusqlite::{params, Connection, OptionalExtension};

use super::accounts::{self as rows, Account};
use super::read_positions::ReadState;

/// The tables, created with the rest of the schema.
pub const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS room_settings (
    room TEXT PRIMARY KEY,
    kind TEXT NOT NULL DEFAULT 'open',
    title TEXT NOT NULL DEFAULT '',
    topic TEXT NOT NULL DEFAULT '',
    read_only INTEGER NOT NULL DEFAULT 0,
    creator_id INTEGER
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS room_members (
    room TEXT NOT NULL,
    account_id INTEGER NOT NULL,
    PRIMARY KEY (room, account_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS room_members_by_account ON room_members (account_id);
";

/// What kind of room: who may see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RoomKind {
    /// Every account may see, join and create it.
    Open,
    /// Only its members see it; members and administrators add members.
    Private,
    /// A private room of exactly two accounts that never gains members.
    Direct,
}

impl RoomKind {
    fn as_str(self) -> &'static str {
        match self {
            RoomKind::Open => "open",
            RoomKind::Private => "private",
            RoomKind::Direct => "direct",
        }
    }

    fn parse(kind: &str) -> Self {
        match kind {
            "private" => RoomKind::Private,
            "direct" => RoomKind::Direct,
            _ => RoomKind::Open,
        }
    }
}

/// A room's settings as stored (an open room without a row has the defaults).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoomSettings {
    /// Who may see it.
    pub kind: RoomKind,
    /// The name people gave a private room (its address is random); empty for others.
    pub title: String,
    /// Shown in the room's header.
    pub topic: String,
    /// Only administrators post.
    pub read_only: bool,
    /// Who created it (may change its topic and remove members).
    pub creator: Option<i64>,
}

impl Default for RoomSettings {
    fn default() -> Self {
        RoomSettings {
            kind: RoomKind::Open,
            title: String::new(),
            topic: String::new(),
            read_only: false,
            creator: None,
        }
    }
}

/// What a member sees of a room besides its messages.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct RoomView {
    /// Shown instead of the room's name (empty: the name).
    pub title: String,
    /// The room's topic (empty: none).
    pub topic: String,
    /// Only administrators post.
    pub read_only: bool,
    /// What the account has read of the room, if it ever read there.
    pub read: Option<ReadState>,
    /// Every message notifies the account (level "everything", or a direct conversation).
    pub notify_every: bool,
    /// Nothing notifies the account (level "nothing").
    pub muted: bool,
}

/// What `account` sees of `room`, or `None` if for them it does not exist: a private room or
/// direct conversation they are not in, or a private name that no room has. Every path to a
/// room's content (socket, page, history) asks this first.
pub fn visible(conn: &Connection, room: &str, account: i64) -> rusqlite::Result<Option<RoomView>> {
    let Some(settings) = settings(conn, room)? else {
        // An open room without settings; a private name without a room is nothing.
        return Ok((!is_private_room(room)).then(RoomView::default));
    };
    if settings.kind != RoomKind::Open && !is_member(conn, room, account)? {
        return Ok(None);
    }
    let direct = settings.kind == RoomKind::Direct;
    let title = if direct {
        other_person(conn, room, account)?
    } else {
        settings.title
    };
    Ok(Some(RoomView {
        title,
        topic: settings.topic,
        read_only: settings.read_only,
        read: None,
        notify_every: direct,
        muted: false,
    }))
}

/// The settings of `room` (the defaults of an open room if it has no row).
pub fn settings(conn: &Connection, room: &str) -> rusqlite::Result<Option<RoomSettings>> {
    conn.query_row(
        "SELECT kind, title, topic, read_only, creator_id FROM room_settings WHERE room = ?1",
        params![room],
        |r| {
            Ok(RoomSettings {
                kind: RoomKind::parse(&r.get::<_, String>(0)?),
                title: r.get(1)?,
                topic: r.get(2)?,
                read_only: r.get::<_, i64>(3)? != 0,
                creator: r.get(4)?,
            })
        },
    )
    .optional()
}

/// Whether `account` is a member of the private room or direct conversation `room`.
pub fn is_member(conn: &Connection, room: &str, account: i64) -> rusqlite::Result<bool> {
    conn.query_row(
        "SELECT 1 FROM room_members WHERE room = ?1 AND account_id = ?2",
        params![room, account],
        |_| Ok(()),
    )
    .optional()
    .map(|found| found.is_some())
}

/// Creates a private room or a direct conversation with its members. False if `room` is taken.
pub fn create(
    conn: &Connection,
    room: &str,
    kind: RoomKind,
    title: &str,
    creator: i64,
    members: &[i64],
) -> rusqlite::Result<bool> {
    let tx = conn.unchecked_transaction()?;
    let inserted = tx.execute(
        "INSERT OR IGNORE INTO room_settings (room, kind, title, creator_id)
         VALUES (?1, ?2, ?3, ?4)",
        params![room, kind.as_str(), title, creator],
    )?;
    if inserted == 0 {
        return Ok(false);
    }
    for member in members {
        add_member(&tx, room, *member)?;
    }
    tx.commit()?;
    Ok(true)
}

/// Adds `account` to `room`'s members (nothing if it already is one).
pub fn add_member(conn: &Connection, room: &str, account: i64) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT OR IGNORE INTO room_members (room, account_id) VALUES (?1, ?2)",
        params![room, account],
    )?;
    Ok(())
}

/// Removes `account` from `room`'s members. True if it was one.
pub fn remove_member(conn: &Connection, room: &str, account: i64) -> rusqlite::Result<bool> {
    conn.execute(
        "DELETE FROM room_members WHERE room = ?1 AND account_id = ?2",
        params![room, account],
    )
    .map(|n| n > 0)
}

/// The members of `room`, by name.
pub fn members(conn: &Connection, room: &str) -> rusqlite::Result<Vec<Account>> {
    let mut statement = conn.prepare(
        "SELECT a.id, a.name, a.admin, a.banned FROM room_members m
         JOIN accounts a ON a.id = m.account_id
         WHERE m.room = ?1 ORDER BY a.name_key",
    )?;
    let rows = statement.query_map(params![room], rows::account_of)?;
    rows.collect()
}

/// The name now of the other person of the direct conversation `room` (for `me`).
pub fn other_person(conn: &Connection, room: &str, me: i64) -> rusqlite::Result<String> {
    conn.query_row(
        "SELECT a.name FROM room_members m JOIN accounts a ON a.id = m.account_id
         WHERE m.room = ?1 AND m.account_id <> ?2",
        params![room, me],
        |r| r.get(0),
    )
    .optional()
    .map(Option::unwrap_or_default)
}

/// Sets an open room's (or any room's) topic and read-only flag, creating its row if needed.
pub fn update(conn: &Connection, room: &str, topic: &str, read_only: bool) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT INTO room_settings (room, topic, read_only) VALUES (?1, ?2, ?3)
         ON CONFLICT (room) DO UPDATE SET topic = excluded.topic, read_only = excluded.read_only",
        params![room, topic, i64::from(read_only)],
    )?;
    Ok(())
}

/// The private rooms and direct conversations `account` is in: (room, kind, title).
pub fn rooms_of(
    conn: &Connection,
    account: i64,
) -> rusqlite::Result<Vec<(String, RoomKind, String)>> {
    let mut statement = conn.prepare(
        "SELECT s.room, s.kind, s.title FROM room_members m
         JOIN room_settings s ON s.room = m.room
         WHERE m.account_id = ?1 ORDER BY s.kind, s.title, s.room",
    )?;
    let rows = statement.query_map(params![account], |r| {
        Ok((
            r.get::<_, String>(0)?,
            RoomKind::parse(&r.get::<_, String>(1)?),
            r.get::<_, String>(2)?,
        ))
    })?;
    rows.collect()
}

/// The rooms `account` would find in its sidebar on any device, up to `limit`: its private rooms
/// and direct conversations, then the open rooms it has read in, each by name.
pub fn rooms_of_account(
    conn: &Connection,
    account: i64,
    limit: usize,
) -> rusqlite::Result<Vec<String>> {
    let mut rooms: Vec<String> = rooms_of(conn, account)?
        .into_iter()
        .map(|(room, _, _)| room)
        .collect();
    let mut statement = conn.prepare_cached(
        "SELECT r.name FROM read_positions p JOIN rooms r ON r.id = p.room_id
         WHERE p.account_id = ?1 ORDER BY r.name",
    )?;
    let read = statement.query_map(params![account], |r| r.get::<_, String>(0))?;
    for room in read {
        let room = room?;
        // A private room counts only while the account is a member (above).
        if !is_private_room(&room) {
            rooms.push(room);
        }
    }
    rooms.truncate(limit);
    Ok(rooms)
}

/// Up to `limit` open rooms that have a history, newest first.
pub fn open_rooms(conn: &Connection, limit: u32) -> rusqlite::Result<Vec<String>> {
    let mut statement = conn.prepare(
        "SELECT name FROM rooms
         WHERE name NOT LIKE '\\_%' ESCAPE '\\'
         ORDER BY created_ms DESC LIMIT ?1",
    )?;
    let rows = statement.query_map(params![limit], |r| r.get::<_, String>(0))?;
    rows.collect()
}
