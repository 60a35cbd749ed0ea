//! What a client does to messages already sent: edit, delete, react. Each is checked here for
//! what the session knows (the frame, the room, the sender), then handed to the broker as an
//! event of the room's stream; what only the store knows (whose message it is, whether it is
//! still there, how many reactions it has) is checked where the event is stored.

use chat_shared::{reaction, Action, ErrorCode, FrameError};

use super::{trimmed, Session};
use crate::close::CloseReason;

impl Session {
    /// A new text for one's own message, under the same rules as a `send`'s.
    pub(super) fn edit(&mut self, room: String, id: u64, text: String) -> Option<CloseReason> {
        if let Err(close) = self.within_limit(&room, None) {
            return close;
        }
        let text = match trimmed(text) {
            Ok(text) => text,
            Err(err) => {
                self.reply_error(err.in_room(&room));
                return None;
            }
        };
        let sub = self.joined(&room, None)?;
        if !self.may_change(&room) || !self.may_post(&sub, None) {
            return None;
        }
        let post = self.post(&sub, text, Some(Action::Edit), Some(id));
        self.publish(post);
        None
    }

    /// Deletes a message: one's own, or any as an administrator. Every member, and everyone who
    /// resumes later, is told by the event.
    pub(super) fn delete(&mut self, room: String, id: u64) -> Option<CloseReason> {
        if let Err(close) = self.within_limit(&room, None) {
            return close;
        }
        let sub = self.joined(&room, None)?;
        if !self.may_change(&room) {
            return None;
        }
        let post = self.post(&sub, String::new(), Some(Action::Delete), Some(id));
        self.publish(post);
        None
    }

    /// Gives a reaction, or takes it back if this person gave it already.
    pub(super) fn react(&mut self, room: String, id: u64, emoji: String) -> Option<CloseReason> {
        if let Err(close) = self.within_limit(&room, None) {
            return close;
        }
        let Some(emoji) = reaction(&emoji) else {
            self.reply_error(
                FrameError::new(
                    ErrorCode::InvalidReaction,
                    "a reaction is one emoji, and nothing else",
                )
                .in_room(&room),
            );
            return None;
        };
        let sub = self.joined(&room, None)?;
        let post = self.post(&sub, emoji.to_string(), Some(Action::React), Some(id));
        self.publish(post);
        None
    }

    /// Whether this connection can prove it wrote anything: an account, or (open mode) a name
    /// held by its token. A generated guest name is anyone's after its connection ends, so what
    /// was sent under one stays as it is; refused with `not_allowed` if not.
    fn may_change(&self, room: &str) -> bool {
        if self.account.is_some() || self.author.is_some() {
            return true;
        }
        self.reply_error(
            FrameError::new(
                ErrorCode::NotAllowed,
                "only messages sent under a name you hold can be edited or deleted: choose a name",
            )
            .in_room(room),
        );
        false
    }
}
