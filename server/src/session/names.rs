//! `hello`: the name a guest chats under, claimed with the broker (and its token), refused when
//! the account owns the name or an administrator banned it.

use std::sync::Arc;

use chat_shared::{normalize_name, ErrorCode, FrameError, ServerFrame};

use super::{millis_of, Session};
use crate::store::Author;

impl Session {
    pub(super) async fn hello(&mut self, name: &str, token: Option<String>) {
        if self.account.is_some() {
            return self.reply_error(FrameError::new(
                ErrorCode::NotAllowed,
                "your name is your account's: change it in your account settings",
            ));
        }
        let name = match normalize_name(name) {
            Ok(name) => name.to_string(),
            Err(err) => return self.reply_error(err),
        };
        if self.ctx.name_bans.banned(&chat_shared::name_key(&name)) {
            return self.reply_error(FrameError::new(
                ErrorCode::NotAllowed,
                "this name is banned here for a while; choose another",
            ));
        }
        // A claim without a token may reserve a new name: those are counted per address.
        if token.is_none() {
            if let Err(wait) = self.slot.peer().check_name_claim() {
                return self.reply_error(
                    FrameError::new(
                        ErrorCode::RateLimited,
                        "too many new names from your address; use one you hold or wait",
                    )
                    .retry_after(millis_of(wait)),
                );
            }
        }
        let token = match self.ctx.broker.claim_name(&name, token).await {
            Ok(token) => token,
            Err(err) => return self.reply_error(err),
        };
        let mut author = Author::default();
        let length = author.len();
        author.copy_from_slice(&crate::token::hash(&token)[..length]);
        self.author = Some(author);
        let old = std::mem::replace(&mut self.name, Arc::from(name.as_str()));
        self.member.set_name(self.name.clone());
        if *old != *name {
            for sub in self.member.rooms() {
                sub.room.rename(&old, &name);
            }
        }
        if self.guest {
            self.ctx.rooms.release_guest(&old);
            self.guest = false;
        }
        self.reply(&ServerFrame::Welcome { name, token });
    }
}
