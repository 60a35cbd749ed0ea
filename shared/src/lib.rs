//! The chat wire protocol, shared by the server and the browser app.
//!
//! Every frame that crosses `/ws` is defined here and nowhere else, so the two sides cannot
//! drift apart. The crate has no runtime dependencies beyond serde, so it builds for
//! `wasm32-unknown-unknown` as well as for the server. PROTOCOL.md describes the same format for
//! people writing other clients.

mod error;
#[cfg(feature = "js")]
pub mod js;
pub mod markdown;
pub mod mention;
mod read;
mod rules;
pub mod search;
mod time;
pub mod write;

use serde::{Deserialize, Serialize};

pub use error::{ErrorCode, FrameError};
pub use rules::{
    close_code, is_private_room, name_key, normalize_name, normalize_text, quote, reaction,
    validate_cid, validate_room, CID_WINDOW_MS, DEFAULT_MAX_FRAME_BYTES, DEFAULT_ROOM,
    GUEST_PREFIX, MAX_CID_CHARS, MAX_EMOJI_PER_MESSAGE, MAX_HISTORY_LIMIT, MAX_MEMBERS_LIMIT,
    MAX_NAME_CHARS, MAX_REACTIONS_PER_MESSAGE, MAX_REACTIONS_PER_PERSON, MAX_RECOVERY_MESSAGES,
    MAX_ROOM_CHARS, MAX_TEXT_CHARS, MAX_UNREAD_COUNTED, PAGE_MESSAGES_PER_ROOM,
    PRIVATE_ROOM_PREFIX, QUOTE_CHARS, TYPING_INTERVAL_MS,
};
pub use time::utc_date;

/// Largest coalesced server frame the server aims for. A batch holds at least one message even
/// if that message alone is larger.
pub const MAX_BATCH_BYTES: usize = 64 * 1024;

/// Separates the JSON objects of one coalesced server frame. Compact JSON never contains a raw
/// newline (newlines inside strings are escaped), so splitting on it is always safe.
pub const BATCH_SEPARATOR: char = '\n';

/// A frame a client sends to the server. Its `type` values, `ClientFrame::VARIANTS`
/// (`strum::VariantNames`), tell an unknown frame from a broken one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, strum::VariantNames)]
#[serde(tag = "type", rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum ClientFrame {
    /// Take a display name; `token` reclaims a name this client was given before.
    Hello {
        /// The wanted name, checked with [`normalize_name`].
        name: String,
        /// The secret from an earlier `welcome` for this name.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        token: Option<String>,
    },
    /// Become a member of a room (created on first join), optionally resuming after `since`.
    Join {
        /// The room, checked with [`validate_room`].
        room: String,
        /// The last message id this client has of the room.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        since: Option<u64>,
        /// The room's epoch that `since` belongs to.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        epoch: Option<String>,
    },
    /// Stop being a member of a room.
    Leave {
        /// The room to leave.
        room: String,
    },
    /// Post a chat message to a joined room.
    Send {
        /// The room; [`DEFAULT_ROOM`] when absent, so the first protocol's clients still chat.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        room: Option<String>,
        /// The message; the server trims it and checks it with [`normalize_text`].
        text: String,
        /// Client-chosen id that makes a resend safe (see [`validate_cid`]).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        cid: Option<String>,
        /// The id of the message of the same room this one answers.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reply_to: Option<u64>,
    },
    /// Change the text of one's own message: the message keeps its id and place, and every
    /// member gets an `edit` event.
    Edit {
        /// The joined room.
        room: String,
        /// The message's id.
        id: u64,
        /// The new text, under the same rules as a `send`'s.
        text: String,
    },
    /// Add one's reaction to a message, or take it back if it is there already (a toggle);
    /// every member gets a `react` or `unreact` event.
    React {
        /// The joined room.
        room: String,
        /// The message's id.
        id: u64,
        /// One emoji (see [`reaction`]).
        emoji: String,
    },
    /// Tell the room's other members that this client is typing.
    Typing {
        /// The joined room.
        room: String,
    },
    /// Ask for older messages of a joined room, for scrolling back.
    History {
        /// The joined room.
        room: String,
        /// Only messages with a smaller id; the newest when absent.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        before: Option<u64>,
        /// Instead of `before`: the messages around this id (half of `limit` before it, the
        /// rest from it on), to show a message that is not loaded, such as a reply's original.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        around: Option<u64>,
        /// How many, at most [`MAX_HISTORY_LIMIT`] (larger values are capped).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        limit: Option<u32>,
    },
    /// Delete a message of a joined room: one's own, or any as an administrator. Everyone in the
    /// room, and everyone who resumes later, is told by a `delete` event in the room's stream.
    Delete {
        /// The joined room.
        room: String,
        /// The message's id.
        id: u64,
    },
    /// Ask who is in a joined room, a page at a time: for rooms too big to list in `joined`
    /// and `presence`, which then carry only the count.
    Members {
        /// The joined room.
        room: String,
        /// Only names after this one (in the order of [`name_key`]); the first page when absent.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        after: Option<String>,
        /// How many, at most [`MAX_MEMBERS_LIMIT`] (larger values are capped); that many when
        /// absent.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        limit: Option<u32>,
    },
    /// Signed-in accounts: everything of a joined room up to `id` has been seen (the room is
    /// visible and scrolled to its end). The account's read position in the room moves there,
    /// never back, and every connection of the account is told with a `read` frame.
    Read {
        /// The joined room.
        room: String,
        /// The last id seen (a larger one than the room has counts as its last).
        id: u64,
    },
    /// Look for messages in every room this connection may read (or one, with `in:`), newest
    /// first, a page at a time ([`search`]). Answered with `results`.
    Search {
        /// What to look for ([`search::Query`]), at most [`search::MAX_SEARCH_CHARS`].
        q: String,
        /// The next page: the `next` of the page before.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        before: Option<u64>,
    },
    /// `jwt` mode: a fresh token for the same account (`sub`), sent before the connection's
    /// token expires or within the grace period after (`token_expired`); the connection then
    /// lives until the new token's `exp`.
    Refresh {
        /// The application's signed token.
        token: String,
    },
}

impl ClientFrame {
    /// Parses one client frame, classifying failures so the client learns what it did wrong.
    pub fn parse(raw: &str) -> Result<Self, FrameError> {
        // serde would also accept the array form `["send","hi"]`; the protocol is objects only.
        if !raw.trim_start().starts_with('{') {
            return Err(match serde_json::from_str::<serde_json::Value>(raw) {
                Ok(_) => FrameError::new(ErrorCode::InvalidFrame, "frame must be a JSON object"),
                Err(err) => FrameError::new(
                    ErrorCode::MalformedJson,
                    format!("frame is not valid JSON: {err}"),
                ),
            });
        }
        serde_json::from_str(raw).map_err(|err| classify_parse_error(raw, err))
    }
}

/// Tells malformed JSON, an unknown `type` and a known frame with bad fields apart. Runs only on
/// the error path, so the second parse costs nothing for well-formed traffic.
fn classify_parse_error(raw: &str, err: serde_json::Error) -> FrameError {
    let value: serde_json::Value = match serde_json::from_str(raw) {
        Ok(value) => value,
        Err(syntax) => {
            return FrameError::new(
                ErrorCode::MalformedJson,
                format!("frame is not valid JSON: {syntax}"),
            )
        }
    };
    match value.get("type").and_then(|t| t.as_str()) {
        Some(kind) if !<ClientFrame as strum::VariantNames>::VARIANTS.contains(&kind) => {
            FrameError::new(
                ErrorCode::UnknownType,
                format!("unknown frame type {kind:?}"),
            )
        }
        Some(_) => FrameError::new(ErrorCode::InvalidFrame, format!("invalid frame: {err}")),
        None => FrameError::new(
            ErrorCode::InvalidFrame,
            "frame must be a JSON object with a string \"type\" field",
        ),
    }
}

/// A frame the server sends. Several may share one WebSocket frame, joined by
/// [`BATCH_SEPARATOR`]; use [`split_batch`] to read them. Read in one pass (see `read.rs`),
/// through its `type`, [`ServerFrameKind`], derived from this enum so the two cannot differ.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, strum::EnumDiscriminants)]
#[serde(tag = "type", rename_all = "snake_case")]
#[strum_discriminants(
    name(ServerFrameKind),
    derive(Deserialize, strum::VariantArray, strum::IntoStaticStr),
    serde(rename_all = "snake_case"),
    strum(serialize_all = "snake_case"),
    doc = "The `type` of a [`ServerFrame`]."
)]
pub enum ServerFrame {
    /// A chat message accepted by the server, delivered to every member of its room, the
    /// sender included (its copy is the confirmation).
    Message(ChatMessage),
    /// A change to an earlier message (edit, deletion, reaction): an entry of the room's stream
    /// like a message, with its own id, delivered to every member, the author included.
    Event(Event),
    /// A client frame was refused; the connection stays open.
    Error(ErrorFrame),
    /// The answer to `hello`: the name is this client's now, and `token` reclaims it later.
    Welcome {
        /// The name as it will be shown.
        name: String,
        /// Secret that reclaims the name; keep it private.
        token: String,
    },
    /// The answer to a join: what the client missed or the latest page, and who is here.
    Joined(Joined),
    /// The account's read position in a room moved (from this connection or another of the
    /// same account: another tab, another device): everything up to `id` is read.
    Read {
        /// The room.
        room: String,
        /// The last id read there now.
        id: u64,
    },
    /// The answer to `leave`.
    Left {
        /// The room left.
        room: String,
    },
    /// Who arrived in or left a room since the last `joined` or `presence`.
    Presence {
        /// The room.
        room: String,
        /// Names that arrived.
        joined: Vec<String>,
        /// Names whose last connection left.
        left: Vec<String>,
        /// How many are in the room now, when there are too many to list: then `joined` and
        /// `left` are empty, and only the count changed.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        count: Option<u64>,
    },
    /// Another member of the room is typing.
    Typing {
        /// The room.
        room: String,
        /// Who is typing.
        name: String,
    },
    /// The limits this server runs with, the first frame of every connection, so that a
    /// client checks what it sends against them rather than against the defaults.
    Limits(Limits),
    /// The answer to a `history` request.
    History {
        /// The room.
        room: String,
        /// Oldest first.
        messages: Vec<ChatMessage>,
        /// Whether still older messages exist.
        more: bool,
    },
    /// The answer to a `search`: a page of matches, newest first.
    Results {
        /// The search, as asked (the answer to the latest one is the one to show).
        q: String,
        /// At most [`search::SEARCH_PAGE`] matches.
        results: Vec<Found>,
        /// Where the next page starts: ask again with `before` set to it. Absent on the last.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        next: Option<u64>,
    },
    /// The answer to a `members` request.
    Members {
        /// The room.
        room: String,
        /// Names present, in the order of [`name_key`], after the request's `after`.
        members: Vec<String>,
        /// How many are in the room now.
        count: u64,
        /// Whether more names follow the last one: ask again with `after` set to it.
        more: bool,
    },
}

/// A chat message as every client sees it, in its current state: edited text, reactions. A
/// message deleted since keeps its id (so a room's ids stay contiguous) with an empty `text`
/// and nothing else of what it said.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatMessage {
    /// Assigned by the server, strictly increasing per room and never reused; messages and
    /// events share one sequence.
    pub id: u64,
    /// The room the message belongs to.
    #[serde(default)]
    pub room: String,
    /// Who sent it.
    #[serde(default)]
    pub name: String,
    /// The trimmed text, in the Markdown subset of [`markdown`] (never HTML).
    pub text: String,
    /// When the server accepted it, in milliseconds since the Unix epoch.
    pub ts: u64,
    /// The sender's `cid`, when it gave one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cid: Option<String>,
    /// The sender's account (accounts mode): stable across renames, unlike `name`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<u64>,
    /// The message this one answers, as it is now.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply: Option<Quote>,
    /// When its text was last edited, in milliseconds since the Unix epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub edited: Option<u64>,
    /// Its reactions, each emoji once, in the order they were first given.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reactions: Vec<Reaction>,
    /// When its text has formatting: the text as shown, in runs ([`markdown::runs`]). Empty:
    /// the text is shown as it is.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub format: Vec<markdown::Run>,
    /// The accounts its text mentions ([`mention`]), resolved when it was accepted (a renamed
    /// account stays mentioned); `0` for `@room` or `@here`, everyone in the room.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mentions: Vec<u64>,
}

impl ChatMessage {
    /// Whether this is a message that was deleted since (what it said is gone).
    pub fn is_deleted(&self) -> bool {
        self.text.is_empty()
    }

    /// Its text as shown: without the Markdown markers its `format` took out.
    pub fn shown(&self) -> std::borrow::Cow<'_, str> {
        if self.format.is_empty() {
            self.text.as_str().into()
        } else {
            self.format.iter().map(|(run, _)| run.as_str()).collect()
        }
    }
}

/// A message that matches a search.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Found {
    /// Its room.
    pub room: String,
    /// Its id there: `history` with `around` shows it in its place.
    pub id: u64,
    /// Who wrote it.
    pub name: String,
    /// When, in milliseconds since the Unix epoch.
    pub ts: u64,
    /// The text around the first match, as shown, on one line: runs of text, the matching
    /// words marked [`search::HIT`] ([`search::snippet`]).
    pub snippet: Vec<(String, u8)>,
}

/// The start of the message a reply answers, for the reply to show above its own text.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Quote {
    /// The original's id.
    pub id: u64,
    /// Who wrote it.
    #[serde(default)]
    pub name: String,
    /// Its first [`QUOTE_CHARS`] characters (with "…" when cut); empty when it was deleted or
    /// is no longer kept.
    #[serde(default)]
    pub text: String,
}

/// One emoji given to a message, and by whom.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reaction {
    /// The emoji (fully qualified, see [`reaction`]).
    pub emoji: String,
    /// Who gave it, as they were called then, oldest first.
    pub names: Vec<String>,
}

/// What an [`Event`] does to its message.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    strum::IntoStaticStr,
    strum::VariantArray,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum Action {
    /// Its text is now `text`, and it is marked edited at the event's `ts`.
    Edit,
    /// It is gone: text, reactions and all.
    Delete,
    /// `name` gave it `emoji`.
    React,
    /// `name` took back its `emoji`.
    Unreact,
}

impl Action {
    /// The action called `name` on the wire (and in the server's store).
    pub fn from_name(name: &str) -> Option<Action> {
        named(<Action as strum::VariantArray>::VARIANTS, name)
    }
}

/// One of `variants` by its name in the protocol.
pub(crate) fn named<T: Copy + Into<&'static str>>(variants: &[T], name: &str) -> Option<T> {
    variants
        .iter()
        .copied()
        .find(|variant| (*variant).into() == name)
}

/// A change to an earlier message of the room, an entry of the room's ordered stream: stored
/// before anyone sees it, delivered live, recovered by `join` with `since`, each exactly once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    /// Its place in the room's stream (the same sequence as messages' ids).
    pub id: u64,
    /// The room.
    #[serde(default)]
    pub room: String,
    /// What it does.
    pub action: Action,
    /// The id of the message it changes.
    pub target: u64,
    /// Who did it, as shown.
    #[serde(default)]
    pub name: String,
    /// When, in milliseconds since the Unix epoch.
    pub ts: u64,
    /// Who did it (accounts mode).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<u64>,
    /// `edit`: the message's text now. (Empty if the message was deleted since.)
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub text: String,
    /// `react`, `unreact`: the emoji.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub emoji: String,
    /// `edit`, when the new text has formatting: its runs, as in a message.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub format: Vec<markdown::Run>,
    /// `edit`: what the new text mentions, as in a message.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mentions: Vec<u64>,
}

/// What a client must know of how its server was started to check what it sends: only what an
/// operator can change and a client can check before sending. What no flag changes is a
/// constant of this crate instead ([`MAX_TEXT_CHARS`], [`TYPING_INTERVAL_MS`],
/// [`CID_WINDOW_MS`]); limits a client cannot check itself (rates, rooms per connection) are
/// answered by errors that say what to do (`rate_limited` with `retry_after_ms`,
/// `too_many_rooms`). A field an older server does not send reads as its default. (Each field
/// costs the page's WebAssembly its reader: add one only for a check the page makes.) Read
/// only as part of a [`ServerFrame`], by its one-pass reader, which fills in those defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Limits {
    /// Largest WebSocket message the server accepts (`--max-frame-bytes`); a larger one closes
    /// the connection with 1009.
    pub max_frame_bytes: u64,
}

impl Limits {
    /// The limits of a server started without flags: the server's flags default to these.
    pub const DEFAULT: Limits = Limits {
        max_frame_bytes: DEFAULT_MAX_FRAME_BYTES as u64,
    };
}

impl Default for Limits {
    fn default() -> Self {
        Limits::DEFAULT
    }
}

/// The answer to a join.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Joined {
    /// The room joined.
    pub room: String,
    /// Identifies the room's history; it changes if the history was lost, so ids of another
    /// epoch mean nothing here.
    pub epoch: String,
    /// The newest message id when the join was answered (0: none yet). Every later message
    /// arrives live.
    pub last_id: u64,
    /// `true`: `messages` are exactly those after the client's `since`. `false`: they are the
    /// latest page, and there may be a gap before them.
    pub recovered: bool,
    /// Oldest first.
    pub messages: Vec<ChatMessage>,
    /// With `recovered`: the events of the gap (changes to messages, older ones included),
    /// oldest first, to apply after `messages`; ids of messages and events together are
    /// exactly those after `since`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub events: Vec<Event>,
    /// Everyone in the room now, each name once; empty when the room has more members than
    /// the server lists (then `count` says how many).
    pub members: Vec<String>,
    /// How many are in the room, when there are too many to list.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u64>,
    /// The name this connection appears under in the room (its generated guest name until it
    /// says `hello`), so a page can tell its own messages apart. Empty when not known.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub you: String,
    /// What the page calls the room instead of its name: a private room's given name (its name
    /// is random), or the other person of a direct conversation. Empty: the room's name.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub title: String,
    /// The room's topic, shown in its header. Empty: none.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub topic: String,
    /// Signed-in accounts: the last id the account has read in the room (on any device), so a
    /// page can mark what is new. Absent for guests and for a room the account never read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read: Option<u64>,
    /// With `read`: how many messages of others after it are there now (deleted ones not
    /// counted), at most [`MAX_UNREAD_COUNTED`] (a page shows more as "999+").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unread: Option<u64>,
    /// With `read`: whether a message of someone else after it mentions the account (or
    /// everyone): the room's mark beside its count.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub mentioned: bool,
    /// Signed-in accounts: every message of the room notifies the account (its level there is
    /// "everything", or the room is a direct conversation), not only those that mention it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub notify_every: bool,
    /// Signed-in accounts: nothing in the room notifies the account (its level there is
    /// "nothing"), mentions included.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub muted: bool,
}

/// Why a client frame was refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorFrame {
    /// Stable, machine-readable reason.
    pub code: ErrorCode,
    /// Human-readable explanation; wording may change, unlike `code`.
    pub message: String,
    /// The room the refused frame concerned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub room: Option<String>,
    /// With `rate_limited`: how long until a send would be accepted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after_ms: Option<u64>,
    /// The refused message's `cid`, so a client can tell which pending message failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cid: Option<String>,
}

/// Serializes one server frame as compact JSON (no raw newlines).
pub fn encode(frame: &ServerFrame) -> Result<String, serde_json::Error> {
    serde_json::to_string(frame)
}

/// Serializes one client frame as compact JSON (serde's; the page writes the same JSON by
/// hand with [`write::client_frame`]).
pub fn encode_client(frame: &ClientFrame) -> Result<String, serde_json::Error> {
    serde_json::to_string(frame)
}

/// Appends one encoded frame to a coalesced batch, adding the separator when needed.
pub fn push_to_batch(batch: &mut String, encoded: &str) {
    if !batch.is_empty() {
        batch.push(BATCH_SEPARATOR);
    }
    batch.push_str(encoded);
}

/// The frames of a (possibly coalesced) server WebSocket message, one JSON text each, in order;
/// blank lines are skipped. Each is read on its own, so one bad line does not hide the rest.
pub fn batch_lines(batch: &str) -> impl Iterator<Item = &str> {
    batch
        .split(BATCH_SEPARATOR)
        .filter(|line| !line.trim().is_empty())
}

/// Splits a (possibly coalesced) server WebSocket message into its frames, read by serde_json
/// (the page reads each of [`batch_lines`] with `js::from_str` instead).
pub fn split_batch(
    batch: &str,
) -> impl Iterator<Item = Result<ServerFrame, serde_json::Error>> + '_ {
    batch_lines(batch).map(serde_json::from_str)
}

#[cfg(test)]
mod tests;
