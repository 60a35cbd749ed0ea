//! The chat wire protocol, shared by the server and the browser app.
//!
//! Every frame that crosses `/ws` is defined here and nowhere else, so the two sides cannot
//! drift apart. The crate has no runtime dependencies beyond serde, so it builds for
//! `wasm32-unknown-unknown` as well as for the server. PROTOCOL.md describes the same format for
//! people writing other clients.

use serde::{Deserialize, Serialize};

/// Longest accepted message, in Unicode scalar values (`char`s) after trimming.
pub const MAX_TEXT_CHARS: usize = 2000;

/// Largest coalesced server frame the server aims for. A batch holds at least one message even
/// if that message alone is larger.
pub const MAX_BATCH_BYTES: usize = 64 * 1024;

/// Separates the JSON objects of one coalesced server frame. Compact JSON never contains a raw
/// newline (newlines inside strings are escaped), so splitting on it is always safe.
pub const BATCH_SEPARATOR: char = '\n';

/// A frame a client sends to the server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientFrame {
    /// Post a chat message to everyone.
    Send {
        /// The message; the server trims it and checks it with [`normalize_text`].
        text: String,
    },
}

/// The `type` values of [`ClientFrame`], used to tell an unknown frame from a broken one.
const CLIENT_FRAME_TYPES: &[&str] = &["send"];

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
        Some(kind) if !CLIENT_FRAME_TYPES.contains(&kind) => FrameError::new(
            ErrorCode::UnknownType,
            format!("unknown frame type {kind:?}"),
        ),
        Some(_) => FrameError::new(ErrorCode::InvalidFrame, format!("invalid frame: {err}")),
        None => FrameError::new(
            ErrorCode::InvalidFrame,
            "frame must be a JSON object with a string \"type\" field",
        ),
    }
}

/// A frame the server sends. Several may share one WebSocket frame, joined by
/// [`BATCH_SEPARATOR`]; use [`split_batch`] to read them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerFrame {
    /// A chat message accepted by the server, delivered to every client including its sender.
    Message(ChatMessage),
    /// A client frame was refused; the connection stays open.
    Error(ErrorFrame),
}

/// One chat message as every client sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatMessage {
    /// Assigned by the server, strictly increasing: all clients see the same order.
    pub id: u64,
    /// Plain text, already trimmed. Never markup.
    pub text: String,
    /// When the server accepted it, in milliseconds since the Unix epoch.
    pub ts: u64,
}

/// Why a client frame was refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorFrame {
    /// Stable, machine-readable reason.
    pub code: ErrorCode,
    /// Human-readable explanation; wording may change, unlike `code`.
    pub message: String,
}

/// Stable error codes. Clients match on these, so existing names never change meaning.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
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
    /// The text was longer than [`MAX_TEXT_CHARS`] after trimming.
    TextTooLong,
}

impl ErrorCode {
    /// The code as it appears on the wire, for logs.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::MalformedJson => "malformed_json",
            ErrorCode::UnknownType => "unknown_type",
            ErrorCode::InvalidFrame => "invalid_frame",
            ErrorCode::BinaryUnsupported => "binary_unsupported",
            ErrorCode::EmptyText => "empty_text",
            ErrorCode::TextTooLong => "text_too_long",
        }
    }
}

/// A refused client frame: what goes back to the client as [`ServerFrame::Error`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FrameError {
    /// Stable reason.
    pub code: ErrorCode,
    /// Explanation for people.
    pub message: String,
}

impl FrameError {
    /// Builds an error with its human-readable text.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        FrameError {
            code,
            message: message.into(),
        }
    }

    /// The frame that tells the client about this error.
    pub fn into_frame(self) -> ServerFrame {
        ServerFrame::Error(ErrorFrame {
            code: self.code,
            message: self.message,
        })
    }
}

impl std::fmt::Display for FrameError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code.as_str(), self.message)
    }
}

impl std::error::Error for FrameError {}

/// Trims surrounding whitespace and enforces the length limit. Both the browser (before
/// sending) and the server (before accepting) call this, so they agree on what is valid.
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

/// Serializes one server frame as compact JSON (no raw newlines).
pub fn encode(frame: &ServerFrame) -> Result<String, serde_json::Error> {
    serde_json::to_string(frame)
}

/// Serializes one client frame as compact JSON.
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

/// Splits a (possibly coalesced) server WebSocket frame into its frames, in order. Blank lines
/// are skipped; each other line is parsed on its own, so one bad line does not hide the rest.
pub fn split_batch(
    batch: &str,
) -> impl Iterator<Item = Result<ServerFrame, serde_json::Error>> + '_ {
    batch
        .split(BATCH_SEPARATOR)
        .filter(|line| !line.trim().is_empty())
        .map(serde_json::from_str)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn send_frame_has_documented_shape() {
        let frame = ClientFrame::parse(r#"{"type":"send","text":"hi"}"#);
        assert_eq!(frame, Ok(ClientFrame::Send { text: "hi".into() }));
        let json = encode_client(&ClientFrame::Send {
            text: "a\"b".into(),
        })
        .unwrap();
        assert_eq!(json, r#"{"type":"send","text":"a\"b"}"#);
    }

    #[test]
    fn message_frame_has_documented_shape() {
        let frame = ServerFrame::Message(ChatMessage {
            id: 7,
            text: "hi\nthere".into(),
            ts: 1_700_000_000_000,
        });
        assert_eq!(
            encode(&frame).unwrap(),
            r#"{"type":"message","id":7,"text":"hi\nthere","ts":1700000000000}"#
        );
        let error = FrameError::new(ErrorCode::TextTooLong, "too long").into_frame();
        assert_eq!(
            encode(&error).unwrap(),
            r#"{"type":"error","code":"text_too_long","message":"too long"}"#
        );
    }

    #[test]
    fn parse_errors_are_classified() {
        let code = |raw: &str| ClientFrame::parse(raw).unwrap_err().code;
        assert_eq!(code("{not json"), ErrorCode::MalformedJson);
        assert_eq!(code(""), ErrorCode::MalformedJson);
        assert_eq!(code(r#"{"type":"dance"}"#), ErrorCode::UnknownType);
        assert_eq!(code(r#"{"type":"send"}"#), ErrorCode::InvalidFrame);
        assert_eq!(code(r#"{"type":"send","text":5}"#), ErrorCode::InvalidFrame);
        assert_eq!(code(r#"{"text":"no type"}"#), ErrorCode::InvalidFrame);
        assert_eq!(code(r#"[1,2]"#), ErrorCode::InvalidFrame);
        assert_eq!(code(r#""send""#), ErrorCode::InvalidFrame);
        assert_eq!(code(r#"["send","hi"]"#), ErrorCode::InvalidFrame);
        assert_eq!(code("[1,"), ErrorCode::MalformedJson);
    }

    #[test]
    fn unknown_fields_are_ignored_for_forward_compatibility() {
        let frame = ClientFrame::parse(r#"{"type":"send","text":"x","room":"later"}"#);
        assert_eq!(frame, Ok(ClientFrame::Send { text: "x".into() }));
    }

    #[test]
    fn error_code_names_match_serde() {
        for code in [
            ErrorCode::MalformedJson,
            ErrorCode::UnknownType,
            ErrorCode::InvalidFrame,
            ErrorCode::BinaryUnsupported,
            ErrorCode::EmptyText,
            ErrorCode::TextTooLong,
        ] {
            let json = serde_json::to_string(&code).unwrap();
            assert_eq!(json, format!("\"{}\"", code.as_str()));
        }
    }

    #[test]
    fn text_is_trimmed_and_bounded() {
        assert_eq!(normalize_text("  hi \n"), Ok("hi"));
        assert_eq!(
            normalize_text(" \t\n ").unwrap_err().code,
            ErrorCode::EmptyText
        );
        assert_eq!(normalize_text("").unwrap_err().code, ErrorCode::EmptyText);
        let max = "é".repeat(MAX_TEXT_CHARS);
        assert_eq!(normalize_text(&max), Ok(max.as_str()));
        let over = "a".repeat(MAX_TEXT_CHARS + 1);
        assert_eq!(
            normalize_text(&over).unwrap_err().code,
            ErrorCode::TextTooLong
        );
        let padded = format!("   {}   ", "a".repeat(MAX_TEXT_CHARS));
        assert!(
            normalize_text(&padded).is_ok(),
            "the limit applies after trimming"
        );
    }

    #[test]
    fn batch_skips_blank_lines_and_reports_bad_lines_alone() {
        let good = encode(&ServerFrame::Message(ChatMessage {
            id: 1,
            text: "a".into(),
            ts: 2,
        }))
        .unwrap();
        let batch = format!("{good}\n\nnot json\n{good}\n");
        let parsed: Vec<_> = split_batch(&batch).collect();
        assert_eq!(parsed.len(), 3);
        assert!(parsed[0].is_ok() && parsed[1].is_err() && parsed[2].is_ok());
    }
}
