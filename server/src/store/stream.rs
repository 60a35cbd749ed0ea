//! Reading a room's stream: messages as they are now (edited text, reactions, the start of the
//! message each answers) and the events between them, for joins, resumes and history.

use chat_shared::markdown::runs;
use chat_shared::{quote, Action, ChatMessage, Event, Quote, Reaction};
use rusqlite::{params, Connection, OptionalExtension};

use super::schema::{clamp, StreamRow};

/// The entries of a stretch of a room's stream, each kind oldest first.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Gap {
    /// Its messages, as they are now.
    pub messages: Vec<ChatMessage>,
    /// Its events.
    pub events: Vec<Event>,
}

impl Gap {
    /// How many entries (messages and events): the number of ids it covers when none is missing.
    pub fn len(&self) -> usize {
        self.messages.len() + self.events.len()
    }

    /// Whether it has no entry.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A row's columns as [`entry`] reads them: the row, then the original it answers.
const COLUMNS: &str = "m.id, m.name, m.text, m.ts, m.cid, m.account_id, m.action, m.target,
    m.reply_to, m.edited, o.name, o.text
    FROM messages m LEFT JOIN messages o ON o.room_id = m.room_id AND o.id = m.reply_to";

/// One row of the stream.
enum Entry {
    Message(ChatMessage),
    Event(Event),
}

fn unsigned(value: Option<i64>) -> Option<u64> {
    value.map(|v| v.max(0) as u64)
}

fn entry(room: &str, row: &rusqlite::Row<'_>) -> rusqlite::Result<Entry> {
    let id = row.get::<_, i64>(0)?.max(0) as u64;
    let name: String = row.get(1)?;
    let text: String = row.get(2)?;
    let ts = row.get::<_, i64>(3)?.max(0) as u64;
    let account: Option<i64> = row.get(5)?;
    let action: Option<String> = row.get(6)?;
    if let Some(action) = action {
        let action = Action::from_name(&action).ok_or_else(|| {
            rusqlite::Error::FromSqlConversionFailure(
                6,
                rusqlite::types::Type::Text,
                format!("no such action {action:?}").into(),
            )
        })?;
        let stored = StreamRow {
            id,
            name: &name,
            text: &text,
            ts,
            account,
            target: unsigned(row.get(7)?),
            ..StreamRow::default()
        };
        return Ok(Entry::Event(event_of(room, &stored, action)));
    }
    let original: (Option<String>, Option<String>) = (row.get(10)?, row.get(11)?);
    let reply = unsigned(row.get(8)?).map(|id| Quote {
        id,
        name: original.0.unwrap_or_default(),
        text: original.1.as_deref().map(quote).unwrap_or_default(),
    });
    Ok(Entry::Message(ChatMessage {
        id,
        room: room.to_string(),
        name,
        format: runs(&text).unwrap_or_default(),
        text,
        ts,
        cid: row.get(4)?,
        account: account.and_then(|a| u64::try_from(a).ok()),
        reply,
        edited: unsigned(row.get(9)?),
        reactions: Vec::new(),
        mentions: Vec::new(),
    }))
}

/// An event as its row of the stream stores it (an edit's text and a reaction's emoji are both
/// in `text`): what the writer releases to the room and what a resume reads back, alike.
pub fn event_of(room: &str, row: &StreamRow<'_>, action: Action) -> Event {
    let (text, emoji, format) = match action {
        Action::Edit => (
            row.text.to_string(),
            String::new(),
            runs(row.text).unwrap_or_default(),
        ),
        Action::Delete => (String::new(), String::new(), Vec::new()),
        Action::React | Action::Unreact => (String::new(), row.text.to_string(), Vec::new()),
    };
    Event {
        id: row.id,
        room: room.to_string(),
        action,
        target: row.target.unwrap_or(0),
        name: row.name.to_string(),
        ts: row.ts,
        account: row.account.and_then(|a| u64::try_from(a).ok()),
        text,
        emoji,
        format,
        mentions: Vec::new(),
    }
}

/// Gives each of `messages` (oldest first) its reactions and what it mentions, a query each.
fn add_state(
    conn: &Connection,
    room_id: i64,
    messages: &mut [ChatMessage],
) -> rusqlite::Result<()> {
    let (Some(first), Some(last)) = (messages.first(), messages.last()) else {
        return Ok(());
    };
    let (first, last) = (first.id, last.id);
    for (id, account) in super::mentions::of_messages(conn, room_id, first, last)? {
        if let Ok(at) = messages.binary_search_by_key(&id, |m| m.id) {
            messages[at].mentions.push(account);
        }
    }
    let mut query = conn.prepare_cached(
        "SELECT message_id, emoji, name FROM reactions
         WHERE room_id = ?1 AND message_id >= ?2 AND message_id <= ?3
         ORDER BY message_id, event_id",
    )?;
    let rows = query.query_map(params![room_id, clamp(first), clamp(last)], |r| {
        Ok((
            r.get::<_, i64>(0)?.max(0) as u64,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
        ))
    })?;
    for row in rows {
        let (id, emoji, name) = row?;
        let Ok(at) = messages.binary_search_by_key(&id, |m| m.id) else {
            continue;
        };
        given(&mut messages[at].reactions, emoji, name);
    }
    Ok(())
}

/// Adds one reaction, read in the order given, to a message's: its emoji's names, or the emoji
/// after the others when it is the first of its kind.
pub fn given(reactions: &mut Vec<Reaction>, emoji: String, name: String) {
    match reactions.iter_mut().find(|r| r.emoji == emoji) {
        Some(reaction) => reaction.names.push(name),
        None => reactions.push(Reaction {
            emoji,
            names: vec![name],
        }),
    }
}

/// Every entry with `after < id <= upto`, at most `limit`: what a client that resumes after
/// `after` missed.
pub fn entries_after(
    conn: &Connection,
    room_id: i64,
    room: &str,
    after: u64,
    upto: u64,
    limit: u64,
) -> rusqlite::Result<Gap> {
    let mut query = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} WHERE m.room_id = ?1 AND m.id > ?2 AND m.id <= ?3 ORDER BY m.id LIMIT ?4"
    ))?;
    let rows = query.query_map(
        params![room_id, clamp(after), clamp(upto), clamp(limit)],
        |row| entry(room, row),
    )?;
    let mut gap = Gap::default();
    for row in rows {
        match row? {
            Entry::Message(message) => gap.messages.push(message),
            Entry::Event(event) => gap.events.push(event),
        }
    }
    add_state(conn, room_id, &mut gap.messages)?;
    add_edits_mentions(conn, room_id, &mut gap.events)?;
    Ok(gap)
}

/// Gives each edit among `events` what its message mentions now (as its text is the
/// message's now), in one query over the span of their targets.
fn add_edits_mentions(
    conn: &Connection,
    room_id: i64,
    events: &mut [Event],
) -> rusqlite::Result<()> {
    let edits = || {
        events
            .iter()
            .filter(|e| e.action == Action::Edit)
            .map(|e| e.target)
    };
    let (Some(first), Some(last)) = (edits().min(), edits().max()) else {
        return Ok(());
    };
    let found = super::mentions::of_messages(conn, room_id, first, last)?;
    for event in events.iter_mut().filter(|e| e.action == Action::Edit) {
        // Sorted by message: this target's are the run starting where it would be.
        let at = found.partition_point(|&(id, _)| id < event.target);
        event.mentions = found[at..]
            .iter()
            .take_while(|&&(id, _)| id == event.target)
            .map(|&(_, account)| account)
            .collect();
    }
    Ok(())
}

/// Messages only (no events), as they are now, oldest first, from a query that yields rows
/// in any order.
fn messages_of(
    conn: &Connection,
    room_id: i64,
    room: &str,
    sql: &str,
    args: impl rusqlite::Params,
) -> rusqlite::Result<Vec<ChatMessage>> {
    let mut query = conn.prepare_cached(sql)?;
    let rows = query.query_map(args, |row| entry(room, row))?;
    let mut messages = Vec::new();
    for row in rows {
        if let Entry::Message(message) = row? {
            messages.push(message);
        }
    }
    messages.sort_unstable_by_key(|m| m.id);
    add_state(conn, room_id, &mut messages)?;
    Ok(messages)
}

/// The newest `limit` messages with `id < before`, oldest first, as they are now: a page of
/// history (events are already applied to them).
pub fn messages_before(
    conn: &Connection,
    room_id: i64,
    room: &str,
    before: u64,
    limit: u64,
) -> rusqlite::Result<Vec<ChatMessage>> {
    page(
        conn,
        room_id,
        room,
        "m.id < ?2 AND m.action IS NULL ORDER BY m.id DESC",
        before,
        limit,
    )
}

/// The `limit` messages from `from` on, oldest first, as they are now.
pub fn messages_from(
    conn: &Connection,
    room_id: i64,
    room: &str,
    from: u64,
    limit: u64,
) -> rusqlite::Result<Vec<ChatMessage>> {
    page(
        conn,
        room_id,
        room,
        "m.id >= ?2 AND m.action IS NULL ORDER BY m.id",
        from,
        limit,
    )
}

/// A page of the room's messages: those `condition` (on `?2`, `id`) picks, `limit` at most.
fn page(
    conn: &Connection,
    room_id: i64,
    room: &str,
    condition: &str,
    id: u64,
    limit: u64,
) -> rusqlite::Result<Vec<ChatMessage>> {
    messages_of(
        conn,
        room_id,
        room,
        &format!("SELECT {COLUMNS} WHERE m.room_id = ?1 AND {condition} LIMIT ?3"),
        params![room_id, clamp(id), clamp(limit)],
    )
}

/// One message as it is now (`None` for an event, or an id the room does not keep).
pub fn message(
    conn: &Connection,
    room_id: i64,
    room: &str,
    id: u64,
) -> rusqlite::Result<Option<ChatMessage>> {
    let mut messages = messages_of(
        conn,
        room_id,
        room,
        &format!("SELECT {COLUMNS} WHERE m.room_id = ?1 AND m.id = ?2 AND m.action IS NULL"),
        params![room_id, clamp(id)],
    )?;
    Ok(messages.pop())
}

/// A message that is there to be changed (kept, not an event, not deleted): its author's
/// account, its author's token tag (open mode), its name and its text.
#[derive(Debug)]
pub struct Original {
    /// The author's account (accounts mode).
    pub account: Option<i64>,
    /// Open mode: the start of the hash of the token that held the author's name.
    pub author: Option<Vec<u8>>,
    /// Who wrote it, as shown.
    pub name: String,
    /// Its text now.
    pub text: String,
    /// Its row in the search index.
    pub seq: Option<i64>,
}

/// The message `id` of the room, if it is there to be changed.
pub fn original(conn: &Connection, room_id: i64, id: u64) -> rusqlite::Result<Option<Original>> {
    conn.prepare_cached(
        "SELECT account_id, author, name, text, seq FROM messages
         WHERE room_id = ?1 AND id = ?2 AND action IS NULL AND text <> ''",
    )?
    .query_row(params![room_id, clamp(id)], |r| {
        Ok(Original {
            account: r.get(0)?,
            author: r.get(1)?,
            name: r.get(2)?,
            text: r.get(3)?,
            seq: r.get(4)?,
        })
    })
    .optional()
}
