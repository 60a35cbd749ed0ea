//! `history`: pages of a joined room's messages as they are now, older than an id (scrolling
//! back) or around one (showing a message that is not loaded, such as a reply's original).

use chat_shared::{ServerFrame, MAX_HISTORY_LIMIT};
use tungstenite::Utf8Bytes;

use super::Session;

/// Messages in a page when the request says no `limit`.
const DEFAULT_LIMIT: u32 = 50;

impl Session {
    pub(super) async fn history(
        &mut self,
        room: &str,
        before: Option<u64>,
        around: Option<u64>,
        limit: Option<u32>,
    ) {
        let Some(sub) = self.joined(room, None) else {
            return;
        };
        let limit = u64::from(limit.unwrap_or(DEFAULT_LIMIT).clamp(1, MAX_HISTORY_LIMIT));
        let broker = &self.ctx.broker;
        // With `around`: half the page before the id, the rest from it on.
        let (before, older) = match around {
            Some(id) => (id, limit / 2),
            None => (before.unwrap_or(u64::MAX), limit),
        };
        let read = async {
            let mut messages = broker.messages_before(&sub.room, before, older + 1).await?;
            let more = messages.len() as u64 > older;
            if more {
                messages.remove(0);
            }
            if around.is_some() {
                let newer = broker
                    .messages_from(&sub.room, before, limit - messages.len() as u64)
                    .await?;
                messages.extend(newer);
            }
            Ok::<_, chat_shared::FrameError>((messages, more))
        };
        match read.await {
            Ok((messages, more)) => {
                let mut frame = ServerFrame::History {
                    room: room.to_string(),
                    messages,
                    more,
                };
                if let Some(json) = self.encode_within(&mut frame) {
                    let _ = self.member.push(&Utf8Bytes::from(json));
                }
            }
            Err(err) => self.reply_error(err.in_room(room)),
        }
    }
}
