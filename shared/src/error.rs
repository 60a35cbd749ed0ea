//! Why a client frame was refused: stable codes for programs, sentences for people.

use serde::{Deserialize, Serialize};

use crate::{ErrorFrame, ServerFrame};

/// Stable error codes. Clients match on these, so existing names never change meaning. The
/// names as strings ([`ErrorCode::as_str`]) and the list of codes (`ErrorCode::VARIANTS`) are
/// derived from this enum, written as serde writes them (test `error_code_names_match_serde`).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    strum::IntoStaticStr,
    strum::VariantArray,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum ErrorCode {
    /// The frame is not valid JSON.
    MalformedJson,
    /// Valid JSON with a `type` this server does not know.
    UnknownType,
    /// A known `type` with missing or mistyped fields, or not a JSON object at all.
    InvalidFrame,
    /// A binary WebSocket frame; the protocol is text only.
    BinaryUnsupported,
    /// The text was empty after trimming whitespace.
    EmptyText,
    /// The text was longer than [`crate::MAX_TEXT_CHARS`] after trimming.
    TextTooLong,
    /// A name that breaks the naming rules.
    InvalidName,
    /// The name is held by another client's token.
    NameTaken,
    /// A room name that breaks the room naming rules.
    InvalidRoom,
    /// The frame concerns a room this connection has not joined.
    NotJoined,
    /// This connection is in as many rooms as the server allows.
    TooManyRooms,
    /// The server holds as many rooms as it allows; a new one cannot be created.
    RoomLimit,
    /// Too many frames too fast; see `retry_after_ms`.
    RateLimited,
    /// History could not be read or written; a refused message was neither stored nor sent.
    HistoryUnavailable,
    /// The account may not do this (in accounts mode a name is the account's, changed in its
    /// settings, not with `hello`; only its author edits a message, and only its author or an
    /// administrator deletes one).
    NotAllowed,
    /// There is no such message (or it was deleted already), or no such room (a private room
    /// the account is not in answers the same).
    NotFound,
    /// A reaction that is not one emoji (text, two emoji, an emoji with text).
    InvalidReaction,
    /// The message carries as many reactions as it may ([`crate::MAX_REACTIONS_PER_MESSAGE`],
    /// [`crate::MAX_EMOJI_PER_MESSAGE`] different emoji), or its reader gave it as many as one
    /// person may ([`crate::MAX_REACTIONS_PER_PERSON`]).
    ReactionLimit,
    /// `@room` or `@here` again within a minute in the same room (one account may mention
    /// everyone once a minute per room); see `retry_after_ms`.
    MentionLimit,
    /// `jwt` mode: the connection's token has expired. Send a fresh one (`refresh`) within the
    /// grace period the message names, or the connection is closed with 4003.
    TokenExpired,
    /// `jwt` mode: a `refresh` token that is not valid (bad signature, expired, another `sub`).
    InvalidToken,
    /// A code this version does not know, from a newer server. Read as this so that the frame,
    /// with its message and `cid`, still reaches the page (a tab left open across an upgrade);
    /// never sent.
    #[serde(other)]
    Unknown,
}

impl ErrorCode {
    /// The code as it appears on the wire, for logs and metrics.
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// A refused client frame: what goes back to the client as [`ServerFrame::Error`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FrameError {
    /// Stable reason.
    pub code: ErrorCode,
    /// Explanation for people.
    pub message: String,
    /// The room concerned, if any.
    pub room: Option<String>,
    /// For `rate_limited`: milliseconds until the next frame would be accepted.
    pub retry_after_ms: Option<u64>,
    /// The `cid` of the refused message, if it had one.
    pub cid: Option<String>,
}

impl FrameError {
    /// Builds an error with its human-readable text.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        FrameError {
            code,
            message: message.into(),
            room: None,
            retry_after_ms: None,
            cid: None,
        }
    }

    /// Names the room the error concerns.
    pub fn in_room(mut self, room: impl Into<String>) -> Self {
        self.room = Some(room.into());
        self
    }

    /// Names the refused message's `cid`.
    pub fn for_cid(mut self, cid: Option<String>) -> Self {
        self.cid = cid;
        self
    }

    /// Says when to try again.
    pub fn retry_after(mut self, millis: u64) -> Self {
        self.retry_after_ms = Some(millis);
        self
    }

    /// The frame that tells the client about this error.
    pub fn into_frame(self) -> ServerFrame {
        ServerFrame::Error(ErrorFrame {
            code: self.code,
            message: self.message,
            room: self.room,
            retry_after_ms: self.retry_after_ms,
            cid: self.cid,
        })
    }
}

impl std::fmt::Display for FrameError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code.as_str(), self.message)
    }
}

impl std::error::Error for FrameError {}
