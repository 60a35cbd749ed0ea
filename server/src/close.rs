//! Why a connection ended, and what the client is told.

use std::fmt;

use chat_shared::close_code;

/// The reason a connection closed. Logged once per connection and mapped to a close code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseReason {
    /// The client closed the connection with a close frame.
    Normal,
    /// The connection dropped without a close handshake (reset, EOF, I/O error).
    Gone,
    /// The client fell more than its byte budget behind.
    Slow,
    /// A write to the client did not complete within the write timeout.
    WriteTimeout,
    /// Nothing was heard from the client (no pong, no frame) within the pong timeout.
    PongTimeout,
    /// An inbound message exceeded the size limit.
    TooLarge,
    /// A text frame was not valid UTF-8.
    InvalidUtf8,
    /// The client broke the WebSocket protocol (unmasked frame, bad opcode, ...).
    ProtocolError,
    /// The client kept sending far above its rate limit.
    RateLimited,
    /// The client sent WebSocket frames faster than `--max-frames-per-sec` allows.
    FrameRate,
    /// The server is shutting down.
    Shutdown,
    /// A room's history was lost (cluster mode: Redis lost its data): rejoin to learn the new
    /// epoch.
    RoomReset,
    /// The connection's sign-in session ended (accounts mode).
    SignedOut,
    /// The connection's account changed (its name): it comes back as the account is now.
    AccountChanged,
    /// `jwt` mode: the token expired and no fresh one came within the grace period.
    TokenExpired,
    /// Open mode: an administrator banned the connection's name or address for a while.
    Banned,
}

impl CloseReason {
    /// The close frame to send, if one can be sent: `None` when the connection is gone or the
    /// socket cannot take a write. A client's own close is answered with 1000.
    pub fn close_frame(self) -> Option<(u16, &'static str)> {
        match self {
            CloseReason::Gone | CloseReason::WriteTimeout => None,
            CloseReason::Normal => Some((close_code::NORMAL, "")),
            CloseReason::Slow => Some((close_code::POLICY, "client too slow to keep up")),
            CloseReason::PongTimeout => Some((close_code::POLICY, "no pong within the timeout")),
            CloseReason::TooLarge => Some((close_code::TOO_LARGE, "message too large")),
            CloseReason::InvalidUtf8 => {
                Some((close_code::INVALID_DATA, "text frame is not valid UTF-8"))
            }
            CloseReason::ProtocolError => {
                Some((close_code::PROTOCOL_ERROR, "WebSocket protocol error"))
            }
            CloseReason::RateLimited => Some((close_code::POLICY, "rate_limited")),
            CloseReason::FrameRate => Some((close_code::POLICY, "frame_rate")),
            CloseReason::Shutdown => {
                Some((close_code::GOING_AWAY, "server shutting down; reconnect"))
            }
            CloseReason::RoomReset => {
                Some((close_code::RESTART, "a room's history was reset; reconnect"))
            }
            CloseReason::SignedOut => Some((close_code::SIGNED_OUT, "signed out; sign in again")),
            CloseReason::AccountChanged => Some((
                close_code::ACCOUNT_CHANGED,
                "your account changed; reconnect",
            )),
            CloseReason::TokenExpired => Some((
                close_code::TOKEN_EXPIRED,
                "token expired; reconnect with a fresh one",
            )),
            CloseReason::Banned => Some((close_code::POLICY, "banned")),
        }
    }

    /// Short name for logs.
    pub fn as_str(self) -> &'static str {
        match self {
            CloseReason::Normal => "normal",
            CloseReason::Gone => "gone",
            CloseReason::Slow => "slow",
            CloseReason::WriteTimeout => "write_timeout",
            CloseReason::PongTimeout => "timeout",
            CloseReason::TooLarge => "too_large",
            CloseReason::InvalidUtf8 => "invalid_utf8",
            CloseReason::ProtocolError => "protocol_error",
            CloseReason::RateLimited => "rate_limited",
            CloseReason::FrameRate => "frame_rate",
            CloseReason::Shutdown => "shutdown",
            CloseReason::RoomReset => "room_reset",
            CloseReason::SignedOut => "signed_out",
            CloseReason::AccountChanged => "account_changed",
            CloseReason::TokenExpired => "token_expired",
            CloseReason::Banned => "banned",
        }
    }
}

impl fmt::Display for CloseReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
