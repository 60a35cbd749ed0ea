//! What the sender of a message learns about it once the broker has dealt with it.
//!
//! Publishing never waits: the broker takes the message and hands back a [`Receipt`], and the
//! answer arrives on it later, as a value. The session keeps its receipts and settles each as it
//! comes (a stored message needs nothing: it arrives through the room like everyone else's), so
//! neither the broker nor the store knows anything of connections.

use chat_shared::{ChatMessage, ErrorCode, FrameError};
use tokio::sync::oneshot;

/// What became of a published message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Stored, and released to its room: the sender gets it from there.
    Stored,
    /// A resend of a message stored earlier (same name, room and `cid`): the sender alone gets
    /// the stored one again. Nothing was stored or broadcast.
    Repeat(ChatMessage),
    /// Not stored and not sent to anyone; the error names the room and the `cid`.
    Refused(FrameError),
}

/// Where a published message's sender waits for its [`Outcome`].
pub type Receipt = oneshot::Receiver<Outcome>;

/// The broker's end of a [`Receipt`]: answer it once. Dropping it unanswered reads as a refusal.
pub type Reply = oneshot::Sender<Outcome>;

/// A new receipt and the reply that answers it.
pub fn receipt() -> (Reply, Receipt) {
    oneshot::channel()
}

/// What a receipt whose reply was dropped unanswered means: whatever stores messages stopped.
pub fn unanswered() -> Outcome {
    Outcome::Refused(FrameError::new(
        ErrorCode::HistoryUnavailable,
        "the server stopped before the message was stored; try again",
    ))
}
