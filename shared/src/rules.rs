//! What makes a text, a name, a room name or a `cid` acceptable. Both the browser (before
//! sending) and the server (before accepting) call these, so they agree on what is valid.

use crate::{ErrorCode, FrameError};

/// Longest accepted message, in Unicode scalar values (`char`s) after trimming.
pub const MAX_TEXT_CHARS: usize = 2000;
/// Longest display name, in `char`s after trimming.
pub const MAX_NAME_CHARS: usize = 32;
/// Longest room name, in bytes (room names are ASCII).
pub const MAX_ROOM_CHARS: usize = 64;
/// Longest `cid`, in `char`s.
pub const MAX_CID_CHARS: usize = 64;
/// Most messages one `history` answer carries.
pub const MAX_HISTORY_LIMIT: u32 = 100;
/// Most names one `members` answer carries (larger requests are capped): the size of the list
/// a `joined` carries at the server's default `--presence-list-max`, so a page of members is
/// never a larger answer than a join.
pub const MAX_MEMBERS_LIMIT: u32 = 1000;
/// Most missed messages a join with `since` recovers; a longer gap gets the latest page.
pub const MAX_RECOVERY_MESSAGES: u64 = 1000;
/// Unread messages counted per room for `joined.unread`: past it a page shows "999+" (the
/// count is a range scan of the room's ids, bounded by this).
pub const MAX_UNREAD_COUNTED: u64 = 1000;
/// Largest WebSocket message a server accepts from a client unless its operator set another
/// (`--max-frame-bytes`); the server says which in its [`crate::Limits`] frame.
pub const DEFAULT_MAX_FRAME_BYTES: u32 = 4096;
/// A name's typing notices reach a room at most this often; a client sends one at most this
/// often while its user types.
pub const TYPING_INTERVAL_MS: u64 = 3_000;
/// How long a `cid` makes a resend safe: the same name, room and `cid` within it is one message.
pub const CID_WINDOW_MS: u64 = 10 * 60 * 1000;
/// Most messages the web page keeps per room as new ones arrive (older ones come back by
/// scrolling up), so a tab left open for days stays fast.
pub const PAGE_MESSAGES_PER_ROOM: usize = 500;
/// The room a connection joins when its URL names none, and where `send` without `room` goes.
pub const DEFAULT_ROOM: &str = "lobby";
/// Generated names start with this; nobody may take such a name with `hello`.
pub const GUEST_PREFIX: &str = "guest-";

/// Trims surrounding whitespace and enforces the length limit.
pub fn normalize_text(raw: &str) -> Result<&str, FrameError> {
    let text = raw.trim();
    if text.is_empty() {
        return Err(FrameError::new(ErrorCode::EmptyText, "message is empty"));
    }
    // Cheap bound first: a string of at most MAX_TEXT_CHARS bytes has at most that many chars.
    if text.len() > MAX_TEXT_CHARS {
        let chars = text.chars().count();
        if chars > MAX_TEXT_CHARS {
            return Err(FrameError::new(
                ErrorCode::TextTooLong,
                format!("message is {chars} characters long; the limit is {MAX_TEXT_CHARS}"),
            ));
        }
    }
    Ok(text)
}

/// Trims a wanted display name and checks it: 1 to [`MAX_NAME_CHARS`] characters, no control
/// or format characters, not starting with [`GUEST_PREFIX`] (those are the server's generated
/// names).
pub fn normalize_name(raw: &str) -> Result<&str, FrameError> {
    let name = raw.trim();
    let invalid = |why: String| Err(FrameError::new(ErrorCode::InvalidName, why));
    if name.is_empty() {
        return invalid("a name cannot be empty".into());
    }
    let chars = name.chars().count();
    if chars > MAX_NAME_CHARS {
        return invalid(format!(
            "a name has at most {MAX_NAME_CHARS} characters; this one has {chars}"
        ));
    }
    if name.chars().any(|c| c.is_control() || is_format_char(c)) {
        return invalid("a name cannot contain control or invisible characters".into());
    }
    if is_guest_name(name) {
        return invalid(format!(
            "names starting with \"{GUEST_PREFIX}\" are given to guests by the server"
        ));
    }
    Ok(name)
}

/// Unicode's format characters (general category Cf, Unicode 16): invisible, or reordering
/// what follows them, so a name holding one could pass for a name someone else holds
/// ("al\u{200B}ice" looks like "alice"). Listed here rather than taken from a Unicode table
/// crate: the page runs this too, and the list costs it a few dozen bytes.
fn is_format_char(c: char) -> bool {
    matches!(
        c,
        '\u{AD}'
            | '\u{600}'..='\u{605}'
            | '\u{61C}'
            | '\u{6DD}'
            | '\u{70F}'
            | '\u{890}'..='\u{891}'
            | '\u{8E2}'
            | '\u{180E}'
            | '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{206F}'
            | '\u{FEFF}'
            | '\u{FFF9}'..='\u{FFFB}'
            | '\u{110BD}'
            | '\u{110CD}'
            | '\u{13430}'..='\u{1343F}'
            | '\u{1BCA0}'..='\u{1BCA3}'
            | '\u{1D173}'..='\u{1D17A}'
            | '\u{E0001}'
            | '\u{E0020}'..='\u{E007F}'
    )
}

/// The form in which names are compared: two names are the same name when their keys match.
pub fn name_key(name: &str) -> String {
    name.to_lowercase()
}

/// True if `name`'s key starts with [`GUEST_PREFIX`]. Compared byte by byte, ignoring ASCII
/// case, which is the same: the prefix is ASCII and no other character lowercases into one of
/// its characters (test `only_ascii_lowercases_into_the_guest_prefix`). So the page, which
/// checks names with this before sending, does not need Unicode's case tables for it.
fn is_guest_name(name: &str) -> bool {
    name.get(..GUEST_PREFIX.len())
        .is_some_and(|start| start.eq_ignore_ascii_case(GUEST_PREFIX))
}

/// Names of private rooms and direct conversations start with this (accounts mode): the server
/// picks them, and nobody creates a room by joining such a name, so a private room's name answers
/// exactly as a name no room has to anyone who is not a member.
pub const PRIVATE_ROOM_PREFIX: &str = "_";

/// Whether `room` is a private room's or a direct conversation's name.
pub fn is_private_room(room: &str) -> bool {
    room.starts_with(PRIVATE_ROOM_PREFIX)
}

/// Checks a room name: 1 to [`MAX_ROOM_CHARS`] of `a-z`, `0-9`, `-` and `_`.
pub fn validate_room(room: &str) -> Result<(), FrameError> {
    let ok = !room.is_empty()
        && room.len() <= MAX_ROOM_CHARS
        && room
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
    if ok {
        Ok(())
    } else {
        let shown: String = room.chars().take(MAX_ROOM_CHARS + 1).collect();
        Err(FrameError::new(
            ErrorCode::InvalidRoom,
            format!(
                "room names are 1 to {MAX_ROOM_CHARS} of a-z, 0-9, '-' and '_'; {shown:?} is not"
            ),
        ))
    }
}

/// Longest reaction accepted, in bytes, before it is looked up (the longest emoji sequences,
/// families with skin tones, are about 35).
pub const MAX_REACTION_BYTES: usize = 64;

/// The emoji a reaction stands for (issue 24): one emoji, as Unicode lists them (with its skin
/// tone, if any), in its fully qualified form, so that "👍" typed with or without a variation
/// selector is one reaction. `None` for anything else: text, two emoji, an emoji with text.
pub fn reaction(emoji: &str) -> Option<&'static str> {
    if emoji.is_empty() || emoji.len() > MAX_REACTION_BYTES {
        return None;
    }
    emojis::get(emoji).map(|found| found.as_str())
}

/// Most different emoji one message may carry: a reaction with another one is refused
/// (`reaction_limit`).
pub const MAX_EMOJI_PER_MESSAGE: usize = 20;

/// Most reactions one message may carry, all emoji and people together: reactions are kept
/// with their message, and this bounds what they add to it (every name is in each copy of the
/// message a client gets).
pub const MAX_REACTIONS_PER_MESSAGE: usize = 200;

/// Most reactions one person may give one message.
pub const MAX_REACTIONS_PER_PERSON: usize = 10;

/// Characters of the original a reply quotes.
pub const QUOTE_CHARS: usize = 120;

/// The start of `text` a reply quotes: its first [`QUOTE_CHARS`] characters, with "…" when cut.
pub fn quote(text: &str) -> String {
    match text.char_indices().nth(QUOTE_CHARS) {
        None => text.to_string(),
        Some((cut, _)) => format!("{}…", text[..cut].trim_end()),
    }
}

/// Checks a client-chosen message id: 1 to [`MAX_CID_CHARS`] characters.
pub fn validate_cid(cid: &str) -> Result<(), FrameError> {
    if cid.is_empty() || cid.chars().count() > MAX_CID_CHARS {
        return Err(FrameError::new(
            ErrorCode::InvalidFrame,
            format!("cid must be 1 to {MAX_CID_CHARS} characters"),
        ));
    }
    Ok(())
}

/// The WebSocket close codes the server sends (RFC 6455's numbers). PROTOCOL.md says when each
/// is sent and what a client should do on it; the web page acts on each.
pub mod close_code {
    /// The answer to the client's own close.
    pub const NORMAL: u16 = 1000;
    /// The server is shutting down: reconnect at once (to another node) and resume.
    pub const GOING_AWAY: u16 = 1001;
    /// The client broke the WebSocket protocol.
    pub const PROTOCOL_ERROR: u16 = 1002;
    /// A text frame was not valid UTF-8.
    pub const INVALID_DATA: u16 = 1007;
    /// Policy: too slow, silent, or flooding. Reconnect after a pause.
    pub const POLICY: u16 = 1008;
    /// A message was larger than the server's `max_frame_bytes`: never send it again.
    pub const TOO_LARGE: u16 = 1009;
    /// Cluster mode: a room's history was lost. Rejoin without resuming.
    pub const RESTART: u16 = 1012;
    /// Accounts mode: the connection's session ended (signed out, here or everywhere, or the
    /// account was banned). Reconnecting needs a new sign-in.
    pub const SIGNED_OUT: u16 = 4001;
    /// Accounts mode: the account changed (its name): reconnect at once, and resume.
    pub const ACCOUNT_CHANGED: u16 = 4002;
    /// `jwt` mode: the connection's token expired and no fresh one came within the grace
    /// period. Reconnecting needs a fresh token.
    pub const TOKEN_EXPIRED: u16 = 4003;
}
