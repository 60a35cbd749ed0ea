//! Which rooms a signed-in account may enter (accounts mode), checked at each join, never per
//! message: a private room or direct conversation only by its members, and to anyone else it
//! answers exactly as a room that does not exist. The same read brings the account's read
//! position in the room and its notification level there.

use chat_shared::{ErrorCode, FrameError};

use crate::store::access::{self, RoomView};
use crate::store::notifications::{self, Level};
use crate::store::read_positions;

use super::Session;

/// The one answer for a private room to a non-member and for a private name no room has.
pub fn no_such_room(room: &str) -> FrameError {
    FrameError::new(ErrorCode::NotFound, "there is no such room").in_room(room)
}

impl Session {
    /// What this connection sees of `room`, or `not_found`. Guests (open mode) enter any room
    /// and see no settings: the open mode's join reads nothing more than before.
    pub(super) async fn enter(&self, room: &str) -> Result<RoomView, FrameError> {
        self.token_allows(room)?;
        let (Some(account), Some(store)) = (self.account, self.ctx.store.as_ref()) else {
            return Ok(RoomView::default());
        };
        let name = room.to_string();
        let view = store
            .read("room access", move |conn| {
                let mut view = access::visible(conn, &name, account)?;
                if let Some(view) = &mut view {
                    view.read = read_positions::state(conn, account, &name)?;
                    if !view.notify_every {
                        let level = notifications::level(conn, account, &name)?;
                        view.notify_every = level == Level::Everything;
                        view.muted = level == Level::Nothing;
                    }
                }
                Ok(view)
            })
            .await
            .map_err(|err| err.in_room(room))?;
        view.ok_or_else(|| no_such_room(room))
    }
}
