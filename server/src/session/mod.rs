//! One client's chat state, and what each of its frames does.
//!
//! The socket code hands every text frame to [`Session::handle`] and learns only whether to go
//! on; the session knows names, rooms, limits and the protocol's rules, and nothing of bytes
//! or sockets. Answers and errors go to the connection's own queue; messages go to the broker.

mod access;
pub mod bans;
mod changes;
mod history;
mod join;
mod names;
pub mod purge;
pub mod rate;
mod reads;
mod search;
pub mod token;

use std::collections::VecDeque;
use std::sync::Arc;

use chat_shared::{
    normalize_text, validate_cid, validate_room, Action, ClientFrame, ErrorCode, FrameError,
    ServerFrame, DEFAULT_ROOM,
};
use tracing::debug;

use crate::broker::{Broker, Post};
use crate::close::CloseReason;
use crate::metrics::Metrics;
use crate::peers::Slot;
use crate::receipt::{unanswered, Outcome, Receipt};
use crate::rooms::{Member, RoomRegistry, Subscription};
use crate::store::{Author, HistoryStore};
pub use join::PendingJoin;
use rate::{RateLimit, Verdict};

/// The chat rules every session follows.
#[derive(Debug, Clone)]
pub struct SessionSettings {
    /// Messages in `joined` for a client that does not resume.
    pub join_history: u32,
    /// Rooms one connection may be in.
    pub max_rooms_per_connection: usize,
    /// Sustained `send`/`typing` frames per second (0: no limit).
    pub rate_limit_per_sec: u32,
    /// Burst above the sustained rate.
    pub rate_limit_burst: u32,
    /// Sustained `hello`/`join`/`leave`/`history` (and invalid) frames per second (0: no
    /// limit), with bursts of [`rate::REQUEST_BURST`].
    pub request_rate_per_sec: u32,
}

/// What every session shares: rooms, the broker, the store, the rules.
#[derive(Debug)]
pub struct ChatContext {
    /// Every open room.
    pub rooms: Arc<RoomRegistry>,
    /// Where messages go to be sequenced and delivered.
    pub broker: Arc<dyn Broker>,
    /// The SQLite store on a single node (`None` in cluster mode, where Redis keeps it all).
    pub store: Option<Arc<HistoryStore>>,
    /// The rules.
    pub settings: SessionSettings,
    /// What is counted for `/metrics`.
    pub metrics: Arc<Metrics>,
    /// Names an administrator banned (open mode).
    pub name_bans: bans::NameBans,
    /// Every open connection (for what all of an account's must show at once).
    pub connections: Arc<crate::connections::Connections>,
}

/// One connection's chat state.
#[derive(Debug)]
pub struct Session {
    ctx: Arc<ChatContext>,
    member: Arc<Member>,
    name: Arc<str>,
    /// Whether `name` is a generated guest name (to be released when it changes or ends).
    guest: bool,
    /// The signed-in account (accounts mode): the name is its own and `hello` cannot change it.
    account: Option<i64>,
    /// The account is an administrator (as of the upgrade: a change of rights closes the
    /// account's sockets, so it comes back as it is now).
    admin: bool,
    /// Open mode: proof of the name's token, stored with each message, so that only whoever
    /// holds the name's token edits or deletes what was sent under it (`None` for a guest).
    author: Option<Author>,
    /// Boxed: most of a connection's life is idle, and its state should be small then.
    limit: Option<Box<RateLimit>>,
    /// The limit on requests: every frame but `send` and `typing`.
    requests: Option<Box<RateLimit>>,
    /// The connection's place among its address's, whose shared bucket `send` also draws on.
    slot: Arc<Slot>,
    /// The messages this connection sent whose outcome has not come back, oldest first.
    receipts: VecDeque<Receipt>,
    /// `jwt` mode: the token's rooms and expiry (boxed: other modes carry one pointer).
    token: Option<Box<token::TokenState>>,
}

impl Session {
    /// A new connection's session, under a fresh guest name. `slot` is where the connection
    /// counts among its client address's.
    pub fn new(ctx: Arc<ChatContext>, member: Arc<Member>, slot: Arc<Slot>) -> Self {
        let name: Arc<str> = ctx.rooms.new_guest_name().into();
        member.set_name(name.clone());
        let settings = &ctx.settings;
        let limit =
            RateLimit::new(settings.rate_limit_per_sec, settings.rate_limit_burst).map(Box::new);
        let requests =
            RateLimit::new(settings.request_rate_per_sec, rate::REQUEST_BURST).map(Box::new);
        Session {
            ctx,
            member,
            name,
            guest: true,
            account: None,
            admin: false,
            author: None,
            limit,
            requests,
            slot,
            receipts: VecDeque::new(),
            token: None,
        }
    }

    /// A signed-in account's session: it chats under the account's name (checked at the
    /// upgrade, never per message).
    pub fn for_account(
        ctx: Arc<ChatContext>,
        member: Arc<Member>,
        slot: Arc<Slot>,
        account: &crate::store::accounts::Account,
    ) -> Self {
        let mut session = Session::new(ctx, member, slot);
        session.ctx.rooms.release_guest(&session.name);
        session.name = Arc::from(account.name.as_str());
        session.member.set_name(session.name.clone());
        session.guest = false;
        session.account = Some(account.id);
        session.admin = account.admin;
        session
    }

    /// The connection's side of its rooms: its own queue and its cursors in their feeds.
    pub fn member(&self) -> &Arc<Member> {
        &self.member
    }

    /// The name this connection chats under.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Handles one text frame. `Some` closes the connection with that reason.
    pub async fn handle(&mut self, raw: &str) -> Option<CloseReason> {
        let parsed = ClientFrame::parse(raw);
        if !matches!(
            parsed,
            Ok(ClientFrame::Send { .. }
                | ClientFrame::Typing { .. }
                | ClientFrame::Edit { .. }
                | ClientFrame::Delete { .. }
                | ClientFrame::React { .. })
        ) {
            let room = match &parsed {
                Ok(
                    ClientFrame::Join { room, .. }
                    | ClientFrame::Leave { room }
                    | ClientFrame::History { room, .. }
                    | ClientFrame::Members { room, .. }
                    | ClientFrame::Read { room, .. },
                ) => Some(room.as_str()),
                _ => None,
            };
            if let Err(close) = self.within_request_limit(room) {
                return close;
            }
        }
        let frame = match parsed {
            Ok(frame) => frame,
            Err(err) => {
                self.reply_error(err);
                return None;
            }
        };
        match frame {
            ClientFrame::Send {
                room,
                text,
                cid,
                reply_to,
            } => {
                let room = room.unwrap_or_else(|| DEFAULT_ROOM.to_string());
                return self.send(room, text, cid, reply_to);
            }
            ClientFrame::Typing { room } => return self.typing(room),
            ClientFrame::Edit { room, id, text } => return self.edit(room, id, text),
            ClientFrame::Delete { room, id } => return self.delete(room, id),
            ClientFrame::React { room, id, emoji } => return self.react(room, id, emoji),
            // The answers that wait for the store are boxed: their state would otherwise be part
            // of every connection's task, idle or not.
            ClientFrame::Hello { name, token } => Box::pin(self.hello(&name, token)).await,
            ClientFrame::Join { room, since, epoch } => {
                Box::pin(self.join(room, since, epoch)).await
            }
            ClientFrame::Leave { room } => self.leave(&room),
            ClientFrame::History {
                room,
                before,
                around,
                limit,
            } => Box::pin(self.history(&room, before, around, limit)).await,
            ClientFrame::Members { room, after, limit } => {
                self.members(&room, after.as_deref(), limit);
            }
            ClientFrame::Read { room, id } => Box::pin(self.read(room, id)).await,
            ClientFrame::Refresh { token } => self.refresh(&token),
            ClientFrame::Search { q, before } => Box::pin(self.search(q, before)).await,
        }
        None
    }

    /// Tells only this client what was wrong; the connection stays open.
    pub fn reply_error(&self, err: FrameError) {
        debug!(client = self.member.id(), error = %err, "refused a client frame");
        self.ctx.metrics.error_sent(err.code.as_str());
        self.reply(&err.into_frame());
    }

    fn reply(&self, frame: &ServerFrame) {
        self.member.push_frame(frame);
    }

    /// Whether a message this connection sent is still waiting for its outcome.
    pub fn awaiting_outcome(&self) -> bool {
        !self.receipts.is_empty()
    }

    /// The outcome of the oldest message still waiting for one (pending forever if none).
    /// Outcomes come in the order messages were sent, so only the oldest is watched. Safe to
    /// cancel: the outcome stays on its receipt until taken here.
    pub async fn next_outcome(&mut self) -> Outcome {
        let Some(receipt) = self.receipts.front_mut() else {
            return std::future::pending().await;
        };
        let outcome = receipt.await.unwrap_or_else(|_| unanswered());
        self.receipts.pop_front();
        if self.receipts.is_empty() {
            // Most of the time nothing is waiting: hold no memory for it then.
            self.receipts = VecDeque::new();
        }
        outcome
    }

    /// Tells the sender what became of its message, if it needs telling.
    pub fn settle(&self, outcome: Outcome) {
        match outcome {
            // It arrives through the room, as everyone's does.
            Outcome::Stored => {}
            Outcome::Repeat(message) => self.reply(&ServerFrame::Message(message)),
            Outcome::Refused(err) => self.reply_error(err),
        }
    }

    /// Counts a `send` or `typing` against the connection's limit, then its address's.
    fn within_limit(
        &mut self,
        room: &str,
        cid: Option<&String>,
    ) -> Result<(), Option<CloseReason>> {
        let verdict = match self.limit.as_mut() {
            Some(limit) => limit.check(),
            None => Verdict::Allowed,
        };
        let (wait, why) = match verdict {
            Verdict::Flooding => return Err(Some(CloseReason::RateLimited)),
            Verdict::Refused(wait) => (wait, "too many messages; slow down"),
            Verdict::Allowed => match self.slot.peer().check_send() {
                Ok(()) => return Ok(()),
                Err(wait) => (wait, "too many messages from your address; slow down"),
            },
        };
        self.reply_error(
            FrameError::new(ErrorCode::RateLimited, why)
                .in_room(room)
                .for_cid(cid.cloned())
                .retry_after(millis_of(wait)),
        );
        Err(None)
    }

    /// Counts a request (any frame but `send` and `typing`, including one that is not valid).
    fn within_request_limit(&mut self, room: Option<&str>) -> Result<(), Option<CloseReason>> {
        let Some(requests) = self.requests.as_mut() else {
            return Ok(());
        };
        match requests.check() {
            Verdict::Allowed => Ok(()),
            Verdict::Flooding => Err(Some(CloseReason::RateLimited)),
            Verdict::Refused(wait) => {
                let mut err = FrameError::new(
                    ErrorCode::RateLimited,
                    "too many requests (hello, join, leave, history, members); slow down",
                )
                .retry_after(millis_of(wait));
                if let Some(room) = room {
                    err = err.in_room(room);
                }
                self.reply_error(err);
                Err(None)
            }
        }
    }

    fn send(
        &mut self,
        room: String,
        text: String,
        cid: Option<String>,
        reply_to: Option<u64>,
    ) -> Option<CloseReason> {
        if let Err(close) = self.within_limit(&room, cid.as_ref()) {
            return close;
        }
        let checked = cid.as_deref().map_or(Ok(()), validate_cid);
        let text = match checked.and_then(|()| trimmed(text)) {
            Ok(text) => text,
            Err(err) => {
                self.reply_error(err.in_room(&room).for_cid(cid));
                return None;
            }
        };
        let sub = self.joined(&room, cid.as_ref())?;
        if !self.may_post(&sub, cid.as_ref()) {
            return None;
        }
        let mut post = self.post(&sub, text, None, reply_to);
        post.cid = cid;
        self.publish(post);
        None
    }

    /// Whether this connection may post to the room (a read-only room takes administrators'
    /// posts only); refused with `not_allowed` if not.
    fn may_post(&self, sub: &Subscription, cid: Option<&String>) -> bool {
        if sub.room.read_only() && !self.admin {
            self.reply_error(
                FrameError::new(
                    ErrorCode::NotAllowed,
                    "this room is read-only: only administrators post here",
                )
                .in_room(&sub.room.name)
                .for_cid(cid.cloned()),
            );
            return false;
        }
        true
    }

    /// An entry of `sub`'s room from this connection: a message (no `action`) or an event.
    fn post(
        &self,
        sub: &Subscription,
        text: String,
        action: Option<Action>,
        target: Option<u64>,
    ) -> Post {
        Post {
            room: sub.room.clone(),
            name: self.name.clone(),
            text,
            cid: None,
            account: self.account,
            author: self.author,
            action,
            target,
            admin: self.admin,
        }
    }

    fn publish(&mut self, post: Post) {
        match self.ctx.broker.publish(post) {
            Ok(receipt) => {
                self.ctx.metrics.messages_in.inc();
                self.receipts.push_back(receipt);
            }
            Err(err) => self.reply_error(err),
        }
    }

    fn typing(&mut self, room: String) -> Option<CloseReason> {
        if let Err(close) = self.within_limit(&room, None) {
            return close;
        }
        if let Some(sub) = self.joined(&room, None) {
            sub.room.typing(self.member.id(), &self.name);
        }
        None
    }

    /// The subscription to `room`, or a `not_joined` error (or `invalid_room`) sent back.
    fn joined(&self, room: &str, cid: Option<&String>) -> Option<Arc<Subscription>> {
        let found = self.member.room(room);
        if found.is_none() {
            let err = match validate_room(room) {
                Err(err) => err,
                Ok(()) => FrameError::new(
                    ErrorCode::NotJoined,
                    format!("join the room {room:?} first"),
                ),
            };
            self.reply_error(err.in_room(room).for_cid(cid.cloned()));
        }
        found
    }

    fn leave(&mut self, room: &str) {
        let Some(sub) = self.joined(room, None) else {
            return;
        };
        self.member.remove_room(room);
        sub.room.detach(&sub, &self.name);
        self.reply(&ServerFrame::Left {
            room: room.to_string(),
        });
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        for sub in self.member.take_rooms() {
            sub.room.detach(&sub, &self.name);
        }
        if self.guest {
            self.ctx.rooms.release_guest(&self.name);
        }
    }
}

/// `text` trimmed, if it passes as a message's text ([`normalize_text`]); copied only if the
/// trim removed anything.
fn trimmed(text: String) -> Result<String, FrameError> {
    let changed = normalize_text(&text)?.len() != text.len();
    Ok(if changed {
        text.trim().to_string()
    } else {
        text
    })
}

/// A wait as whole milliseconds for `retry_after_ms` (at least 1).
fn millis_of(wait: std::time::Duration) -> u64 {
    u64::try_from(wait.as_millis()).unwrap_or(u64::MAX).max(1)
}
