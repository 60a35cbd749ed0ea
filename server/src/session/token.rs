//! A `jwt` connection's token: the rooms it allows and when it runs out. At `exp` the client is
//! told (`token_expired`) and has `--jwt-grace` to send a fresh token (`refresh`); then the
//! connection is closed with 4003. Checked at joins and on the clock, never per message.

use std::pin::Pin;
use std::sync::Arc;

use chat_shared::{ErrorCode, FrameError};
use tokio::time::{Instant, Sleep};

use crate::accounts::jwt::{Claims, JwtAccess};
use crate::close::CloseReason;

use super::Session;

/// What a connection's token allows, and until when.
#[derive(Debug)]
pub struct TokenState {
    jwt: Arc<JwtAccess>,
    sub: String,
    /// The only rooms it may join (any when `None`).
    rooms: Option<Box<[String]>>,
    /// When the token expires, or, once it has, when the grace period ends.
    deadline: Instant,
    expired: bool,
}

impl TokenState {
    /// The state of a connection opened with `claims`.
    pub fn new(jwt: Arc<JwtAccess>, claims: Claims) -> Self {
        let deadline = Instant::now() + jwt.remaining(&claims);
        TokenState {
            jwt,
            sub: claims.sub,
            rooms: claims.rooms.map(Vec::into_boxed_slice),
            deadline,
            expired: false,
        }
    }

    /// The only rooms the token lets its holder into, if it names them.
    pub fn rooms(&self) -> Option<&[String]> {
        self.rooms.as_deref()
    }

    /// Whether the token lets its holder into `room`.
    pub fn allows(&self, room: &str) -> bool {
        self.rooms
            .as_ref()
            .is_none_or(|rooms| rooms.iter().any(|allowed| allowed == room))
    }
}

/// The timer of a `jwt` connection's token deadline, made once (boxed: only `jwt` connections
/// have one) and moved when the deadline moves, never made again per wait for bytes.
#[derive(Debug, Default)]
pub struct DeadlineTimer(Option<Pin<Box<Sleep>>>);

impl DeadlineTimer {
    /// Aims the timer at `deadline` (none: it stays off).
    pub fn aim(&mut self, deadline: Option<Instant>) {
        let Some(at) = deadline else {
            self.0 = None;
            return;
        };
        match &mut self.0 {
            Some(timer) if timer.deadline() == at => {}
            Some(timer) => timer.as_mut().reset(at),
            None => self.0 = Some(Box::pin(tokio::time::sleep_until(at))),
        }
    }

    /// Whether it is aimed.
    pub fn is_set(&self) -> bool {
        self.0.is_some()
    }

    /// Resolves at the deadline (never when not aimed).
    pub async fn fired(&mut self) {
        match &mut self.0 {
            Some(timer) => timer.as_mut().await,
            None => std::future::pending().await,
        }
    }
}

impl Session {
    /// Makes this a `jwt` connection, living by its token.
    pub fn with_token(mut self, state: TokenState) -> Self {
        self.token = Some(Box::new(state));
        self
    }

    /// When the connection's token needs attention next (`None` outside `jwt` mode).
    pub fn token_deadline(&self) -> Option<Instant> {
        self.token.as_ref().map(|token| token.deadline)
    }

    /// The deadline passed: the first time, the client is told its token expired and given the
    /// grace period; the second, the connection ends.
    pub fn token_due(&mut self) -> Option<CloseReason> {
        let token = self.token.as_mut()?;
        if token.expired {
            return Some(CloseReason::TokenExpired);
        }
        token.expired = true;
        let grace = token.jwt.grace;
        token.deadline = Instant::now() + grace;
        self.reply_error(FrameError::new(
            ErrorCode::TokenExpired,
            format!(
                "your token expired: send a fresh one with refresh within {} s",
                grace.as_secs()
            ),
        ));
        None
    }

    /// `refresh`: a fresh token for the same account extends the connection to its `exp`.
    pub(super) fn refresh(&mut self, presented: &str) {
        let Some(token) = self.token.as_mut() else {
            return self.reply_error(FrameError::new(
                ErrorCode::NotAllowed,
                "refresh is for jwt mode only",
            ));
        };
        let claims = match token.jwt.verify(presented) {
            Ok(claims) if claims.sub == token.sub => claims,
            Ok(_) => {
                return self.reply_error(FrameError::new(
                    ErrorCode::InvalidToken,
                    "the token is for another account",
                ))
            }
            Err(why) => return self.reply_error(FrameError::new(ErrorCode::InvalidToken, why)),
        };
        token.deadline = Instant::now() + token.jwt.remaining(&claims);
        token.expired = false;
        token.rooms = claims.rooms.map(Vec::into_boxed_slice);
    }

    /// `not_allowed` if the connection's token does not let it into `room`.
    pub(super) fn token_allows(&self, room: &str) -> Result<(), FrameError> {
        match &self.token {
            Some(token) if !token.allows(room) => Err(FrameError::new(
                ErrorCode::NotAllowed,
                "your token does not let you into this room",
            )
            .in_room(room)),
            _ => Ok(()),
        }
    }
}
