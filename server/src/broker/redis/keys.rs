//! Where cluster mode keeps things in Redis, the Lua scripts that change them atomically, and
//! the payloads nodes publish to each other.
//!
//! Every key of a room carries the room's name as a hash tag (`{room}`), so a room's script
//! touches one slot only. A room is: `chat:{room}:meta` (hash: `epoch`, `seq` = the last id
//! given), its stream (`chat:{room}:log`, `:moved`, `:events`, `:reactions`, described with
//! the scripts that write them in [`super::scripts`]), `chat:{room}:cid:…` (recent cids,
//! expiring), `chat:{room}:presence` (hash:
//! `<node> <name key>` -> shown name) with `chat:{room}:presence:exp` (sorted set of the same
//! fields by expiry), and the pub/sub channel `chat:ch:<room>`.

use chat_shared::markdown::runs;
use chat_shared::{name_key, quote, Action, ChatMessage, Event as Change, Quote};

use crate::store::schema::StreamRow;
use crate::store::stream::event_of;

/// The set of every room's name (for `--max-rooms` across the cluster).
pub const ROOMS: &str = "chat:rooms";

/// The hash of a room's epoch and sequence.
pub fn meta(room: &str) -> String {
    format!("chat:{{{room}}}:meta")
}

/// The stream of a room's messages.
pub fn log(room: &str) -> String {
    format!("chat:{{{room}}}:log")
}

/// The messages of a room changed since they were sent, as they are now.
pub fn moved(room: &str) -> String {
    format!("chat:{{{room}}}:moved")
}

/// The stream of a room's events (edits, deletions, reactions).
pub fn events(room: &str) -> String {
    format!("chat:{{{room}}}:events")
}

/// The reactions of a room's messages.
pub fn reactions(room: &str) -> String {
    format!("chat:{{{room}}}:reactions")
}

/// The key remembering a (name, cid) pair in a room; the bare prefix when there is no cid.
pub fn cid(room: &str, name: &str, cid: Option<&str>) -> String {
    match cid {
        Some(cid) => {
            let key = name_key(name);
            format!("chat:{{{room}}}:cid:{}:{key}:{cid}", key.len())
        }
        None => format!("chat:{{{room}}}:cid:"),
    }
}

/// The hash of who is present in a room, per node.
pub fn presence(room: &str) -> String {
    format!("chat:{{{room}}}:presence")
}

/// The expiry times of [`presence`]'s fields.
pub fn presence_expiry(room: &str) -> String {
    format!("chat:{{{room}}}:presence:exp")
}

/// A name's reservation: the hash of its token.
pub fn name(key: &str) -> String {
    format!("chat:name:{key}")
}

/// A node's heartbeat, written by the readiness probe.
pub fn heartbeat(node: &str) -> String {
    format!("chat:node:{node}:heartbeat")
}

/// Prefix of every room channel.
pub const CHANNEL_PREFIX: &str = "chat:ch:";

/// The pub/sub channel of a room.
pub fn channel(room: &str) -> String {
    format!("{CHANNEL_PREFIX}{room}")
}

/// Opens a room: keeps its epoch, or, if `ARGV[4]` is '1', creates it (with `ARGV[1]` as
/// epoch) unless the cluster holds `ARGV[2]` rooms already, and notes when it was last opened
/// (`used`, for the sweep of empty rooms). Returns `{'ok', epoch, last id}`, `{'limit', '', 0}`
/// at the room limit, `{'absent', '', 0}` when it does not exist and was not to be created.
/// KEYS: meta, the rooms set. ARGV: new epoch, max rooms, room name, create, now (ms).
pub const OPEN_ROOM: &str = r"
local epoch = redis.call('HGET', KEYS[1], 'epoch')
if not epoch then
  if ARGV[4] ~= '1' then
    return {'absent', '', 0}
  end
  if redis.call('SCARD', KEYS[2]) >= tonumber(ARGV[2])
     and redis.call('SISMEMBER', KEYS[2], ARGV[3]) == 0 then
    return {'limit', '', 0}
  end
  epoch = ARGV[1]
  redis.call('HSET', KEYS[1], 'epoch', epoch)
  redis.call('SADD', KEYS[2], ARGV[3])
end
redis.call('HSET', KEYS[1], 'used', ARGV[5])
local seq = redis.call('HGET', KEYS[1], 'seq') or '0'
return {'ok', epoch, seq}
";

/// Reserves a name for `ARGV[3]` milliseconds (0: for good), renewed each time its token is
/// presented. Returns 1 if the presented token's hash (`ARGV[1]`, '' for none) holds it, 2 if
/// it was free and is now held by `ARGV[2]` (a new token's hash), 0 if taken.
/// KEYS: the name's key.
pub const CLAIM_NAME: &str = r"
local held = redis.call('GET', KEYS[1])
local ttl = tonumber(ARGV[3])
if held then
  if ARGV[1] ~= '' and held == ARGV[1] then
    if ttl > 0 then redis.call('PEXPIRE', KEYS[1], ttl) end
    return 1
  end
  return 0
end
if ttl > 0 then
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ttl)
else
  redis.call('SET', KEYS[1], ARGV[2])
end
return 2
";

/// What nodes publish to a room's channel besides messages (which the publish script sends).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A stored message.
    Message(ChatMessage),
    /// A stored edit, deletion or reaction.
    Change(Change),
    /// `name` is typing on `node`.
    Typing { node: String, name: String },
    /// Presence changed on `node`: names that arrived and left there.
    Presence {
        node: String,
        joined: Vec<String>,
        left: Vec<String>,
    },
}

/// Encodes a typing notice for the channel.
pub fn typing_payload(node: &str, name: &str) -> String {
    format!("t{node}\n{name}")
}

/// Encodes a presence change for the channel: one name per line after the node, each
/// prefixed with `+` (arrived) or `-` (left).
pub fn presence_payload(node: &str, joined: &[String], left: &[String]) -> String {
    let mut payload = format!("p{node}");
    for name in joined {
        payload.push_str("\n+");
        payload.push_str(name);
    }
    for name in left {
        payload.push_str("\n-");
        payload.push_str(name);
    }
    payload
}

/// Decodes a channel payload of `room`; `None` if it is not one this server writes.
pub fn parse_event(room: &str, payload: &str) -> Option<Event> {
    let (kind, rest) = payload.split_at_checked(1)?;
    match kind {
        "m" => parse_message(room, rest).map(Event::Message),
        "e" => parse_change(room, rest).map(Event::Change),
        "t" => {
            let (node, name) = rest.split_once('\n')?;
            Some(Event::Typing {
                node: node.to_string(),
                name: name.to_string(),
            })
        }
        "p" => {
            let mut lines = rest.split('\n');
            let node = lines.next()?.to_string();
            let (mut joined, mut left) = (Vec::new(), Vec::new());
            for line in lines {
                match line.split_at_checked(1)? {
                    ("+", name) => joined.push(name.to_string()),
                    ("-", name) => left.push(name.to_string()),
                    _ => return None,
                }
            }
            Some(Event::Presence { node, joined, left })
        }
        _ => None,
    }
}

/// `<id> <ts> <cid bytes> <name bytes>[ <id answered> <its name bytes> <its text bytes>]\n<cid>
/// [<its name><its text>]<name><text>`, as the publish script writes it.
fn parse_message(room: &str, rest: &str) -> Option<ChatMessage> {
    let (head, body) = rest.split_once('\n')?;
    let mut numbers = head.split(' ').map(|n| n.parse::<u64>().ok());
    let (id, ts, cid_len, name_len) = (
        numbers.next()??,
        numbers.next()??,
        usize::try_from(numbers.next()??).ok()?,
        usize::try_from(numbers.next()??).ok()?,
    );
    let (cid, mut body) = body.split_at_checked(cid_len)?;
    let reply = match numbers.next() {
        None => None,
        Some(answered) => {
            let answered = answered?;
            let their_name = usize::try_from(numbers.next()??).ok()?;
            let their_text = usize::try_from(numbers.next()??).ok()?;
            let (name, rest) = body.split_at_checked(their_name)?;
            let (text, rest) = rest.split_at_checked(their_text)?;
            body = rest;
            Some(Quote {
                id: answered,
                name: name.to_string(),
                text: quote(text),
            })
        }
    };
    let (name, text) = body.split_at_checked(name_len)?;
    Some(ChatMessage {
        id,
        room: room.to_string(),
        name: name.to_string(),
        format: runs(text).unwrap_or_default(),
        text: text.to_string(),
        ts,
        cid: (!cid.is_empty()).then(|| cid.to_string()),
        reply,
        ..Default::default()
    })
}

/// `<id> <ts> <target> <action> <name bytes>\n<name><text or emoji>`, as the change script
/// writes it.
fn parse_change(room: &str, rest: &str) -> Option<Change> {
    let (head, body) = rest.split_once('\n')?;
    let mut parts = head.split(' ');
    let id = parts.next()?.parse().ok()?;
    let ts = parts.next()?.parse().ok()?;
    let target = parts.next()?.parse().ok()?;
    let action = Action::from_name(parts.next()?)?;
    let name_len = parts.next()?.parse().ok()?;
    let (name, value) = body.split_at_checked(name_len)?;
    let row = StreamRow {
        id,
        name,
        text: value,
        ts,
        target: Some(target),
        ..StreamRow::default()
    };
    Some(event_of(room, &row, action))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_payload_round_trips_whatever_its_text_and_cid_hold() {
        let payload = format!(
            "m42 1700000000000 {} {}\n{}{}{}",
            "c\n1 é".len(),
            "Zoë".len(),
            "c\n1 é",
            "Zoë",
            "line one\nline two 🎉"
        );
        let Some(Event::Message(message)) = parse_event("rust", &payload) else {
            panic!("not parsed");
        };
        assert_eq!(message.id, 42);
        assert_eq!(message.ts, 1_700_000_000_000);
        assert_eq!(message.cid.as_deref(), Some("c\n1 é"));
        assert_eq!(message.name, "Zoë");
        assert_eq!(message.text, "line one\nline two 🎉");
        assert_eq!(message.room, "rust");
    }

    #[test]
    fn notices_round_trip_and_garbage_is_ignored() {
        assert_eq!(
            parse_event("r", &typing_payload("n1", "alice")),
            Some(Event::Typing {
                node: "n1".into(),
                name: "alice".into()
            })
        );
        let payload = presence_payload("n2", &["bob".into()], &["carol".into()]);
        assert_eq!(
            parse_event("r", &payload),
            Some(Event::Presence {
                node: "n2".into(),
                joined: vec!["bob".into()],
                left: vec!["carol".into()]
            })
        );
        for garbage in ["", "x", "m", "m1 2 3\nab", "m1 2 99 1\nab", "pn\n?x"] {
            assert_eq!(parse_event("r", garbage), None, "{garbage:?}");
        }
    }
}
