//! Deleting everything an account said (an administrator's ban with its messages deleted): one
//! deletion entry per message, each through its room's ordered stream like any deletion, so
//! members see them go live and a client that resumes later gets them too.

use std::sync::Arc;

use chat_shared::{ErrorCode, FrameError};

use crate::broker::Post;
use crate::receipt::Outcome;
use crate::store::moderation;

use super::ChatContext;

/// Most messages one purge deletes; what is left is deleted by doing it again.
pub const MAX_PURGE: u32 = 10_000;

/// Deletes up to [`MAX_PURGE`] messages of `account`, as the administrator `actor` (named
/// `actor_name`). Returns how many were deleted.
pub async fn delete_messages_of(
    ctx: &ChatContext,
    account: i64,
    actor: i64,
    actor_name: &str,
) -> Result<usize, FrameError> {
    let store = ctx.store.as_ref().ok_or_else(|| {
        FrameError::new(ErrorCode::HistoryUnavailable, "no store in cluster mode")
    })?;
    let found = store
        .read("an account's messages", move |conn| {
            moderation::messages_of(conn, account, MAX_PURGE)
        })
        .await?;
    let name: Arc<str> = Arc::from(actor_name);
    let mut deleted = 0;
    let mut open: Option<Arc<crate::rooms::Room>> = None;
    for (room, id) in found {
        let room = match open.take().filter(|open| open.name == room) {
            Some(same) => same,
            None => match ctx.broker.open_room(&room, false).await? {
                Some(opened) => opened,
                // Swept since: nothing of it to delete.
                None => continue,
            },
        };
        let receipt = ctx.broker.publish(Post {
            room: room.clone(),
            name: name.clone(),
            text: String::new(),
            cid: None,
            account: Some(actor),
            author: None,
            action: Some(chat_shared::Action::Delete),
            target: Some(id),
            admin: true,
        })?;
        // One at a time: a purge never fills the writer's queue ahead of people's messages.
        if let Ok(Outcome::Stored) = receipt.await {
            deleted += 1;
        }
        open = Some(room);
    }
    Ok(deleted)
}
