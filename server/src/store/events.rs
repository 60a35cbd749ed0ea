//! What the writer does with each entry of a room's stream: a message (and the original it
//! answers), or an event (edit, deletion, reaction) checked against what is stored and applied
//! to its message, in the transaction that stores the entry itself.
//!
//! Who may: an author edits and deletes its own messages (its account in accounts mode; in open
//! mode the token that holds its name, so that whoever takes the name after it expired cannot);
//! an administrator deletes anyone's (logged). One reaction per person and emoji, toggled,
//! bounded per message and per person ([`MAX_REACTIONS_PER_MESSAGE`] and the others).

use chat_shared::markdown::runs;
use chat_shared::{
    name_key, quote, Action, ChatMessage, ErrorCode, Event, FrameError, Quote,
    MAX_EMOJI_PER_MESSAGE, MAX_REACTIONS_PER_MESSAGE, MAX_REACTIONS_PER_PERSON,
};
use rusqlite::{params, Connection};

use super::mentions::{self, Mentioned};
use super::schema::{clamp, insert_row, StreamRow};
use super::search::{self, Sequence};
use super::stream::{event_of, original, Original};
use super::{moderation, NewMessage};

/// What an entry became once stored: what its room's members are sent.
#[derive(Debug)]
pub(crate) enum Written {
    Message(ChatMessage),
    Event(Event),
}

/// Why the store (or, in cluster mode, Redis's script) refused an entry: one list, so both
/// brokers tell a sender the same words for the same reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The message to change is not there (no such id, an event's id, deleted, not kept).
    NoMessage,
    /// The message a reply answers is not there.
    NoOriginal,
    /// An edit of someone else's message.
    NotAuthorEdit,
    /// A deletion of someone else's message by someone who is not an administrator.
    NotAuthorDelete,
    /// The message has [`MAX_REACTIONS_PER_MESSAGE`] reactions.
    TooManyReactions,
    /// The message has [`MAX_EMOJI_PER_MESSAGE`] different emoji and this is a new one.
    TooManyEmoji,
    /// The sender gave the message [`MAX_REACTIONS_PER_PERSON`] reactions.
    TooManyOfYours,
    /// The sender mentioned everyone in the room less than a minute ago: it may again after
    /// this many milliseconds.
    EveryoneAgain(u64),
}

impl Refusal {
    /// What the sender is told.
    pub fn error(self) -> FrameError {
        let (code, why) = match self {
            Refusal::NoMessage => (
                ErrorCode::NotFound,
                "there is no such message in this room (or it was deleted)".to_string(),
            ),
            Refusal::NoOriginal => (
                ErrorCode::NotFound,
                "there is no such message in this room to reply to (or it was deleted)".to_string(),
            ),
            Refusal::NotAuthorEdit => (
                ErrorCode::NotAllowed,
                "only its author may edit a message".to_string(),
            ),
            Refusal::NotAuthorDelete => (
                ErrorCode::NotAllowed,
                "only its author or an administrator may delete a message".to_string(),
            ),
            Refusal::TooManyReactions => (
                ErrorCode::ReactionLimit,
                format!(
                    "this message has {MAX_REACTIONS_PER_MESSAGE} reactions, as many as it may"
                ),
            ),
            Refusal::TooManyEmoji => (
                ErrorCode::ReactionLimit,
                format!(
                    "this message has {MAX_EMOJI_PER_MESSAGE} different emoji; add to one of them"
                ),
            ),
            Refusal::TooManyOfYours => (
                ErrorCode::ReactionLimit,
                format!(
                    "you gave this message {MAX_REACTIONS_PER_PERSON} reactions, as many as one \
                     person may"
                ),
            ),
            Refusal::EveryoneAgain(wait) => {
                return FrameError::new(
                    ErrorCode::MentionLimit,
                    "@room and @here may be used once a minute in a room",
                )
                .retry_after(wait)
            }
        };
        FrameError::new(code, why)
    }
}

/// Whether `post`'s sender wrote `original`.
fn own(post: &NewMessage, original: &Original) -> bool {
    match (post.account, &post.author) {
        (Some(account), _) => original.account == Some(account),
        (None, Some(author)) => original.author.as_deref() == Some(author.as_slice()),
        (None, None) => false,
    }
}

/// Checks `post` against what is stored and, if it may be, stores it as entry `id` of its room
/// with whatever it changes. `Ok(Err(refusal))` when it may not (nothing was written).
pub(crate) fn write(
    tx: &Connection,
    post: &mut NewMessage,
    id: u64,
    now: u64,
    sequence: &mut Sequence,
) -> rusqlite::Result<Result<Written, FrameError>> {
    let room_id = post.room.store_id;
    let Some(action) = post.action else {
        return message(tx, post, id, now, sequence);
    };
    let target = post.target.unwrap_or(0);
    let Some(original) = original(tx, room_id, target)? else {
        return Ok(Err(Refusal::NoMessage.error()));
    };
    // What an edit's new text mentions, for its event.
    let mut mentioned = Vec::new();
    let done = match action {
        Action::Edit => edit(tx, post, &original, target, now)?.map(|ids| {
            mentioned = ids;
            Action::Edit
        }),
        Action::Delete => delete(tx, post, &original, target, now)?,
        Action::React | Action::Unreact => react(tx, post, target, id)?,
    };
    let action = match done {
        Ok(action) => action,
        Err(refusal) => return Ok(Err(refusal)),
    };
    let row = StreamRow {
        id,
        name: &post.name,
        // A deletion's row says nothing of what it deleted.
        text: if action == Action::Delete {
            ""
        } else {
            &post.text
        },
        ts: now,
        account: post.account,
        action: Some(action.into()),
        target: Some(target),
        ..StreamRow::default()
    };
    insert_row(tx, room_id, &row)?;
    let mut event = event_of(&post.room.name, &row, action);
    event.mentions = mentioned;
    Ok(Ok(Written::Event(event)))
}

/// What `text` mentions, sent by `post`'s sender as message (or edit of message) `id`:
/// everyone only from an account, once a minute per room; otherwise refused.
fn mentions_in(
    tx: &Connection,
    post: &NewMessage,
    text: &str,
    id: u64,
    now: u64,
) -> rusqlite::Result<Result<Mentioned, FrameError>> {
    let mut found = mentions::resolve(tx, text)?;
    if found.everyone {
        match post.account {
            None => found.everyone = false,
            Some(account) => {
                let room_id = post.room.store_id;
                if let Some(wait) = mentions::everyone_wait(tx, room_id, account, now, id)? {
                    return Ok(Err(Refusal::EveryoneAgain(wait).error()));
                }
            }
        }
    }
    Ok(Ok(found))
}

/// A message, with the start of the original it answers (which must be a message of its
/// room that is there). Its text is moved into what is released, not copied: this is every
/// message's path.
fn message(
    tx: &Connection,
    post: &mut NewMessage,
    id: u64,
    now: u64,
    sequence: &mut Sequence,
) -> rusqlite::Result<Result<Written, FrameError>> {
    let room_id = post.room.store_id;
    let mut reply = None;
    if let Some(target) = post.target {
        let Some(original) = original(tx, room_id, target)? else {
            return Ok(Err(Refusal::NoOriginal.error()));
        };
        reply = Some(Quote {
            id: target,
            name: original.name,
            text: quote(&original.text),
        });
    }
    let mentioned = match mentions_in(tx, post, &post.text, id, now)? {
        Ok(mentioned) => mentioned,
        Err(refusal) => return Ok(Err(refusal)),
    };
    let row = StreamRow {
        id,
        name: &post.name,
        text: &post.text,
        ts: now,
        cid: post.cid.as_deref(),
        account: post.account,
        reply_to: post.target,
        author: post.author.as_ref().map(|a| a.as_slice()),
        seq: Some(sequence.give()),
        ..StreamRow::default()
    };
    insert_row(tx, room_id, &row)?;
    if let Some(seq) = row.seq {
        search::add(tx, seq, room_id, id, &post.text)?;
    }
    if mentioned != Mentioned::default() {
        mentions::store(tx, room_id, id, &mentioned)?;
    }
    let format = runs(&post.text).unwrap_or_default();
    Ok(Ok(Written::Message(ChatMessage {
        id,
        room: post.room.name.clone(),
        name: post.name.to_string(),
        text: std::mem::take(&mut post.text),
        ts: now,
        cid: post.cid.clone(),
        account: post.account.and_then(|a| u64::try_from(a).ok()),
        reply,
        edited: None,
        reactions: Vec::new(),
        format,
        mentions: mentioned.ids(),
    })))
}

/// A new text for the author's own message; what it mentions now. No earlier version is kept:
/// the message and the edits before this one all say the new text from now on.
fn edit(
    tx: &Connection,
    post: &NewMessage,
    original: &Original,
    target: u64,
    now: u64,
) -> rusqlite::Result<Result<Vec<u64>, FrameError>> {
    if !own(post, original) {
        return Ok(Err(Refusal::NotAuthorEdit.error()));
    }
    let mentioned = match mentions_in(tx, post, &post.text, target, now)? {
        Ok(mentioned) => mentioned,
        Err(refusal) => return Ok(Err(refusal)),
    };
    let room_id = post.room.store_id;
    mentions::forget(tx, room_id, target)?;
    mentions::store(tx, room_id, target, &mentioned)?;
    tx.prepare_cached("UPDATE messages SET text = ?3, edited = ?4 WHERE room_id = ?1 AND id = ?2")?
        .execute(params![room_id, clamp(target), post.text, clamp(now)])?;
    if let Some(seq) = original.seq {
        search::replace(tx, seq, room_id, target, (&original.text, &post.text))?;
    }
    tx.prepare_cached(
        "UPDATE messages SET text = ?3 WHERE room_id = ?1 AND target = ?2 AND action = 'edit'",
    )?
    .execute(params![room_id, clamp(target), post.text])?;
    Ok(Ok(mentioned.ids()))
}

/// Empties a message for good (text, `cid`, reactions, and the text its edits carried), if its
/// sender may: the author, or an administrator, whose deletion of another's message is logged.
/// Its id, name and time stay, so the room's ids remain contiguous.
fn delete(
    tx: &Connection,
    post: &NewMessage,
    original: &Original,
    target: u64,
    now: u64,
) -> rusqlite::Result<Result<Action, FrameError>> {
    let own = own(post, original);
    if !own && !post.admin {
        return Ok(Err(Refusal::NotAuthorDelete.error()));
    }
    let room_id = post.room.store_id;
    let target_id = clamp(target);
    tx.prepare_cached(
        "UPDATE messages SET text = '', cid = NULL, edited = NULL, seq = NULL
         WHERE room_id = ?1 AND id = ?2",
    )?
    .execute(params![room_id, target_id])?;
    if let Some(seq) = original.seq {
        search::remove(tx, seq, room_id, target, &original.text)?;
    }
    tx.prepare_cached(
        "UPDATE messages SET text = '' WHERE room_id = ?1 AND target = ?2 AND action = 'edit'",
    )?
    .execute(params![room_id, target_id])?;
    tx.prepare_cached("DELETE FROM reactions WHERE room_id = ?1 AND message_id = ?2")?
        .execute(params![room_id, target_id])?;
    mentions::forget(tx, room_id, target)?;
    if !own {
        let what = format!(
            "message {target} in #{} by {}",
            post.room.name, original.name
        );
        let actor = post.account.unwrap_or(0);
        moderation::log_action(tx, now, actor, &post.name, "delete_message", &what)?;
    }
    Ok(Ok(Action::Delete))
}

/// Who reacts: an account, or a name (open mode), so that one person has one reaction per emoji.
pub fn person(post: &NewMessage) -> String {
    match post.account {
        Some(account) => format!("a{account}"),
        None => format!("n{}", name_key(&post.name)),
    }
}

/// The sender's reaction `post.text` to `target`, given if it was not there (`react`) and
/// taken back if it was (`unreact`), within the limits per message and per person.
fn react(
    tx: &Connection,
    post: &NewMessage,
    target: u64,
    id: u64,
) -> rusqlite::Result<Result<Action, FrameError>> {
    let room_id = post.room.store_id;
    let person = person(post);
    let emoji = post.text.as_str();
    let removed = tx
        .prepare_cached(
            "DELETE FROM reactions
             WHERE room_id = ?1 AND message_id = ?2 AND person = ?3 AND emoji = ?4",
        )?
        .execute(params![room_id, clamp(target), person, emoji])?;
    if removed > 0 {
        return Ok(Ok(Action::Unreact));
    }
    let (all, kinds, mine, known): (i64, i64, i64, i64) = tx
        .prepare_cached(
            "SELECT count(*), count(DISTINCT emoji), coalesce(sum(person = ?3), 0),
                    coalesce(max(emoji = ?4), 0)
             FROM reactions WHERE room_id = ?1 AND message_id = ?2",
        )?
        .query_row(params![room_id, clamp(target), person, emoji], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        })?;
    let refusal = if all as usize >= MAX_REACTIONS_PER_MESSAGE {
        Some(Refusal::TooManyReactions)
    } else if known == 0 && kinds as usize >= MAX_EMOJI_PER_MESSAGE {
        Some(Refusal::TooManyEmoji)
    } else if mine as usize >= MAX_REACTIONS_PER_PERSON {
        Some(Refusal::TooManyOfYours)
    } else {
        None
    };
    if let Some(refusal) = refusal {
        return Ok(Err(refusal.error()));
    }
    tx.prepare_cached(
        "INSERT INTO reactions (room_id, message_id, person, emoji, name, event_id)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![
        room_id,
        clamp(target),
        person,
        emoji,
        &*post.name,
        clamp(id)
    ])?;
    Ok(Ok(Action::React))
}
