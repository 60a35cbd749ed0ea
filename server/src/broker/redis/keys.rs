//! Where cluster mode keeps things in Redis, the Lua scripts that change them atomically, and
//! the payloads nodes publish to each other.
//!
//! Every key of a room carries the room's name as a hash tag (`{room}`), so a room's script
//! touches one slot only. A room is: `chat:{room}:meta` (hash: `epoch`, `seq` = the last id
//! given), `chat:{room}:log` (stream; entry id `<id>-0`, fields `n` name, `t` text, `ts`,
//! `c` cid), `chat:{room}:cid:…` (recent cids, expiring), `chat:{room}:presence` (hash:
//! `<node> <name key>` -> shown name) with `chat:{room}:presence:exp` (sorted set of the same
//! fields by expiry), and the pub/sub channel `chat:ch:<room>`.

use chat_shared::{name_key, ChatMessage};

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

/// Sequences, stores and publishes one message in one atomic step, so every node sees the same
/// ids in the same order. Returns `{id, 0}` for a new message, `{id, 1}` for a cid seen within
/// its window (nothing stored), `{-1, 0}` if the room's epoch is not `ARGV[7]` (its history was
/// lost since this node opened it).
/// KEYS: meta, log, cid key. ARGV: channel, max kept (0: all), name, text, ts, cid ('' for
/// none), epoch, cid window ms.
pub const PUBLISH: &str = r"
if redis.call('HGET', KEYS[1], 'epoch') ~= ARGV[7] then
  return {-1, 0}
end
if ARGV[6] ~= '' then
  local seen = redis.call('GET', KEYS[3])
  if seen then
    return {tonumber(seen), 1}
  end
end
local id = redis.call('HINCRBY', KEYS[1], 'seq', 1)
local entry = string.format('%d-0', id)
if tonumber(ARGV[2]) > 0 then
  redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[2], entry,
    'n', ARGV[3], 't', ARGV[4], 'ts', ARGV[5], 'c', ARGV[6])
else
  redis.call('XADD', KEYS[2], entry, 'n', ARGV[3], 't', ARGV[4], 'ts', ARGV[5], 'c', ARGV[6])
end
if ARGV[6] ~= '' then
  redis.call('SET', KEYS[3], id, 'PX', ARGV[8])
end
redis.call('PUBLISH', ARGV[1], string.format('m%d %s %d %d\n', id, ARGV[5], #ARGV[6], #ARGV[3])
  .. ARGV[6] .. ARGV[3] .. ARGV[4])
return {id, 0}
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

/// `<id> <ts> <cid bytes> <name bytes>\n<cid><name><text>`, as the publish script writes it.
fn parse_message(room: &str, rest: &str) -> Option<ChatMessage> {
    let (head, body) = rest.split_once('\n')?;
    let mut numbers = head.split(' ').map(|n| n.parse::<u64>().ok());
    let (id, ts, cid_len, name_len) = (
        numbers.next()??,
        numbers.next()??,
        usize::try_from(numbers.next()??).ok()?,
        usize::try_from(numbers.next()??).ok()?,
    );
    let cid = body.get(..cid_len)?;
    let name = body.get(cid_len..cid_len.checked_add(name_len)?)?;
    let text = body.get(cid_len + name_len..)?;
    Some(ChatMessage {
        id,
        room: room.to_string(),
        name: name.to_string(),
        text: text.to_string(),
        ts,
        cid: (!cid.is_empty()).then(|| cid.to_string()),
        ..Default::default()
    })
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
