//! `read`: a signed-in account has seen a joined room up to an id. Its read position moves
//! there (never back), stored through the writer in turn with messages, and every connection
//! of the account is told, so a count cleared on the phone clears on the desktop at once.

use chat_shared::{encode, ErrorCode, FrameError, ServerFrame};
use tungstenite::Utf8Bytes;

use super::Session;
use crate::store::read_positions;

impl Session {
    /// Moves the account's read position in `room` to `id` (at most the room's last id).
    pub(super) async fn read(&mut self, room: String, id: u64) {
        let (Some(account), Some(store)) = (self.account, self.ctx.store.clone()) else {
            self.reply_error(
                FrameError::new(
                    ErrorCode::NotAllowed,
                    "read positions are kept for signed-in accounts; a guest's page counts \
                     what is new itself",
                )
                .in_room(&room),
            );
            return;
        };
        let Some(sub) = self.joined(&room, None) else {
            return;
        };
        let id = id.min(sub.room.last_id());
        let room_id = sub.room.store_id;
        let moved = store
            .write("keep a read position", move |conn| {
                read_positions::advance(conn, account, room_id, id)
            })
            .await;
        match moved {
            Ok(true) => match encode(&ServerFrame::Read { room, id }) {
                Ok(json) => {
                    self.ctx
                        .connections
                        .tell_account(account, &Utf8Bytes::from(json));
                }
                Err(err) => tracing::warn!(error = %err, "could not encode a read position"),
            },
            Ok(false) => {}
            Err(err) => self.reply_error(err.in_room(&room)),
        }
    }
}
