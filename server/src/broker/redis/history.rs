//! Reading a room's stream as it is now: what a client missed (messages and events), and pages
//! of history. Each is one round trip, [`scripts::READ`], which also brings the reactions of
//! the messages read and the messages their replies answer and their edits change.

use std::collections::HashMap;

use chat_shared::markdown::runs;
use chat_shared::{quote, Action, ChatMessage, Quote};
use serde::Deserialize;

use super::{keys, Shared};
use crate::broker::Gap;
use crate::store::schema::StreamRow;
use crate::store::stream::{self, event_of};

/// Which stretch of the stream a read wants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stretch {
    /// Every entry with an id in `from ..= through`.
    After,
    /// Messages from `from` on.
    From,
    /// The newest messages below `from`.
    Before,
}

impl Stretch {
    fn name(self) -> &'static str {
        match self {
            Stretch::After => "after",
            Stretch::From => "from",
            Stretch::Before => "before",
        }
    }
}

/// One stream entry as Redis returns it: id and field/value pairs.
type Entry = (String, Vec<(String, String)>);

/// What the read script answers: log entries, event entries, moved messages, reactions, and
/// the messages that replies answer and edits change.
type Answer = (
    Vec<Entry>,
    Vec<Entry>,
    Vec<String>,
    Vec<String>,
    Vec<String>,
);

/// A message as the change script keeps it once edited or deleted (every number a string).
#[derive(Debug, Deserialize)]
struct Moved {
    id: String,
    n: String,
    t: String,
    ts: String,
    #[serde(default)]
    c: Option<String>,
    #[serde(default)]
    r: Option<String>,
    #[serde(default)]
    ed: Option<String>,
}

/// A message's reactions as the change script keeps them: `[emoji, person, name]`, in order.
#[derive(Debug, Deserialize)]
struct Given {
    id: String,
    r: Vec<(String, String, String)>,
}

/// A message a reply answers or an edit changes, as it is now.
#[derive(Debug, Deserialize)]
struct Lookup {
    id: String,
    n: String,
    t: String,
}

impl Shared {
    /// Every entry (messages as they are now, and events) with an id in `from ..= through`,
    /// at most `limit`, oldest first.
    pub(crate) async fn range(
        &self,
        room: &str,
        from: u64,
        through: u64,
        limit: u64,
    ) -> redis::RedisResult<Gap> {
        self.read(room, Stretch::After, from, through, limit).await
    }

    /// The first `limit` messages of `room` from `from` on, oldest first, as they are now.
    pub(crate) async fn messages_from(
        &self,
        room: &str,
        from: u64,
        limit: u64,
    ) -> redis::RedisResult<Vec<ChatMessage>> {
        let gap = self
            .read(room, Stretch::From, from, u64::MAX, limit)
            .await?;
        Ok(gap.messages)
    }

    /// The newest `limit` messages of `room` below `before`, oldest first, as they are now.
    pub(crate) async fn newest_before(
        &self,
        room: &str,
        before: u64,
        limit: u64,
    ) -> redis::RedisResult<Vec<ChatMessage>> {
        if before <= 1 || limit == 0 {
            return Ok(Vec::new());
        }
        let gap = self.read(room, Stretch::Before, before, 0, limit).await?;
        Ok(gap.messages)
    }

    async fn read(
        &self,
        room: &str,
        stretch: Stretch,
        from: u64,
        through: u64,
        limit: u64,
    ) -> redis::RedisResult<Gap> {
        let mut conn = self.conn.clone();
        self.metrics.redis_round_trips.inc();
        let answer: Answer = self
            .read
            .key(keys::meta(room))
            .key(keys::log(room))
            .key(keys::moved(room))
            .key(keys::events(room))
            .key(keys::reactions(room))
            .arg(stretch.name())
            .arg(from.min(i64::MAX as u64))
            .arg(through.min(i64::MAX as u64))
            .arg(limit)
            .arg(self.settings.history_per_room)
            .invoke_async(&mut conn)
            .await?;
        Ok(assemble(room, stretch, limit, answer))
    }
}

/// Merges what the script read into the stretch asked for, each message as it is now.
fn assemble(room: &str, stretch: Stretch, limit: u64, answer: Answer) -> Gap {
    let (log, events, moved, reactions, lookups) = answer;
    let lookups: HashMap<u64, Lookup> = lookups
        .iter()
        .filter_map(|json| serde_json::from_str::<Lookup>(json).ok())
        .filter_map(|found| Some((found.id.parse().ok()?, found)))
        .collect();
    let mut messages: Vec<ChatMessage> = log
        .into_iter()
        .filter_map(|entry| logged(room, entry))
        .chain(moved.iter().filter_map(|json| changed(room, json)))
        .collect();
    messages.sort_unstable_by_key(|m| m.id);
    messages.dedup_by_key(|m| m.id);
    let mut events: Vec<_> = events
        .into_iter()
        .filter_map(|entry| event(room, entry, &lookups))
        .collect();
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    match stretch {
        Stretch::Before => {
            let extra = messages.len().saturating_sub(limit);
            messages.drain(..extra);
        }
        Stretch::From => messages.truncate(limit),
        Stretch::After => {
            let mut ids: Vec<u64> = messages.iter().map(|m| m.id).collect();
            ids.extend(events.iter().map(|e| e.id));
            ids.sort_unstable();
            if let Some(&last) = ids
                .get(limit.saturating_sub(1))
                .filter(|_| ids.len() > limit)
            {
                messages.retain(|m| m.id <= last);
                events.retain(|e| e.id <= last);
            }
        }
    }
    for message in &mut messages {
        if let Some(reply) = &mut message.reply {
            if let Some(found) = lookups.get(&reply.id) {
                reply.name.clone_from(&found.n);
                reply.text = quote(&found.t);
            }
        }
    }
    add_reactions(&mut messages, &reactions);
    Gap { messages, events }
}

/// A message as sent, from the log.
fn logged(room: &str, (id, fields): Entry) -> Option<ChatMessage> {
    let id = id.strip_suffix("-0")?.parse().ok()?;
    let mut message = ChatMessage {
        id,
        room: room.to_string(),
        ..Default::default()
    };
    for (field, value) in fields {
        match field.as_str() {
            "n" => message.name = value,
            "t" => message.text = value,
            "ts" => message.ts = value.parse().unwrap_or(0),
            "c" if !value.is_empty() => message.cid = Some(value),
            "r" => message.reply = value.parse().ok().map(unquoted),
            _ => {}
        }
    }
    message.format = runs(&message.text).unwrap_or_default();
    Some(message)
}

/// A message edited or deleted since it was sent.
fn changed(room: &str, json: &str) -> Option<ChatMessage> {
    let moved: Moved = serde_json::from_str(json).ok()?;
    Some(ChatMessage {
        id: moved.id.parse().ok()?,
        room: room.to_string(),
        name: moved.n,
        format: runs(&moved.t).unwrap_or_default(),
        text: moved.t,
        ts: moved.ts.parse().unwrap_or(0),
        cid: moved.c.filter(|c| !c.is_empty()),
        account: None,
        reply: moved.r.and_then(|r| r.parse().ok()).map(unquoted),
        edited: moved.ed.and_then(|ed| ed.parse().ok()),
        reactions: Vec::new(),
        // Cluster mode has no accounts to mention.
        mentions: Vec::new(),
    })
}

/// A reply's quote before the original is looked up (empty if it is no longer kept).
fn unquoted(id: u64) -> Quote {
    Quote {
        id,
        name: String::new(),
        text: String::new(),
    }
}

/// An event, with an edit's text as its message says it now (as a single node's store keeps
/// it: no earlier version, nothing once deleted).
fn event(
    room: &str,
    (id, fields): Entry,
    lookups: &HashMap<u64, Lookup>,
) -> Option<chat_shared::Event> {
    let id = id.strip_suffix("-0")?.parse().ok()?;
    let (mut name, mut ts, mut action, mut target, mut emoji) = ("", 0, None, 0, "");
    for (field, value) in &fields {
        match field.as_str() {
            "n" => name = value,
            "ts" => ts = value.parse().unwrap_or(0),
            "a" => action = Action::from_name(value),
            "g" => target = value.parse().unwrap_or(0),
            "e" => emoji = value,
            _ => {}
        }
    }
    let action = action?;
    let text = match action {
        Action::Edit => lookups.get(&target).map_or("", |found| found.t.as_str()),
        _ => emoji,
    };
    let row = StreamRow {
        id,
        name,
        text,
        ts,
        target: Some(target),
        ..StreamRow::default()
    };
    Some(event_of(room, &row, action))
}

/// Gives each of `messages` (sorted by id) its reactions: each emoji once, in the order first
/// given, with who gave it.
fn add_reactions(messages: &mut [ChatMessage], reactions: &[String]) {
    for json in reactions {
        let Ok(given) = serde_json::from_str::<Given>(json) else {
            continue;
        };
        let Some(at) = given
            .id
            .parse::<u64>()
            .ok()
            .and_then(|id| messages.binary_search_by_key(&id, |m| m.id).ok())
        else {
            continue;
        };
        for (emoji, _person, name) in given.r {
            stream::given(&mut messages[at].reactions, emoji, name);
        }
    }
}
