//! Accounts mode (`--access accounts`): who may use the server, and how they prove it.
//!
//! The first account is made through a one-time set-up link the server logs while it has no
//! account; it is an administrator. Everyone else joins through the invitation link (a code
//! the administrators see and can reset). Signing in gives a session: a random 128-bit token in
//! a cookie, stored only as its SHA-256, valid until signed out or unused for `--session-ttl`.
//! The socket is authenticated by that cookie once, at the upgrade, never per message.
//!
//! Every answer to a failed sign-in is the same words after the same work (a password hash is
//! verified whether or not the name exists), so a visitor cannot learn which names exist.

mod admin;
pub mod guests;
mod hashing;
pub mod jwt;
pub use admin::Moderation;
mod own;
pub mod password;
pub mod rooms;
pub mod throttle;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use chat_shared::{name_key, normalize_name};
use tracing::info;

use crate::clock::{millis, Clock};
use crate::store::accounts::{self as rows, Account};
use crate::store::HistoryStore;
use crate::token;
use hashing::Hashing;
use throttle::SignInThrottle;

/// A session's last use is written at most this often (not on every page or socket).
const TOUCH_EVERY: Duration = Duration::from_secs(3600);

/// How often sessions unused for `--session-ttl` are deleted.
const SESSION_SWEEP_INTERVAL: Duration = Duration::from_secs(3600);

/// The most of a `User-Agent` kept to name a session in its owner's list.
const MAX_AGENT_CHARS: usize = 120;

/// The one answer to a failed sign-in, whatever failed.
pub const WRONG_CREDENTIALS: &str = "That name and password do not match an account.";

/// What the accounts need from the configuration.
#[derive(Debug, Clone)]
pub struct AccountSettings {
    /// A session unused this long ends.
    pub session_ttl: Duration,
    /// The clock sessions are judged by (tests move it on).
    pub clock: Clock,
}

/// Why an account action was refused; each has words a form can show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refused {
    /// What was typed breaks a rule (a name, a title, an address range: the words say which).
    Invalid(String),
    /// The password is too short or too long.
    WeakPassword(String),
    /// Another account has the name.
    NameTaken,
    /// Wrong name or password (never says which).
    WrongCredentials,
    /// A signed-in person's current password was not right (changing it).
    WrongPassword,
    /// Too many wrong passwords for this account lately: try again after this long.
    Wait(Duration),
    /// The link (set-up or invitation) is not, or no longer, valid.
    BadLink,
    /// The database failed; nothing was changed.
    Unavailable,
    /// Only an administrator may do this (or nobody may: banning oneself).
    NotAllowed,
    /// No such account.
    NotFound,
    /// No such room (or a private room the person is not in: the same answer).
    NoSuchRoom,
}

impl Refused {
    /// The words for the person at the form.
    pub fn message(&self) -> String {
        match self {
            Refused::Invalid(why) | Refused::WeakPassword(why) => why.clone(),
            Refused::NameTaken => "Another account has that name.".into(),
            Refused::WrongCredentials => WRONG_CREDENTIALS.into(),
            Refused::WrongPassword => "Your current password was not right.".into(),
            Refused::Wait(wait) => format!(
                "Too many wrong passwords for this account; try again in {} s.",
                wait.as_secs().max(1)
            ),
            Refused::BadLink => "This link is not valid (any more).".into(),
            Refused::Unavailable => "The server could not do that just now; try again.".into(),
            Refused::NotAllowed => "That is not allowed.".into(),
            Refused::NotFound => "There is no such account.".into(),
            Refused::NoSuchRoom => "There is no such room.".into(),
        }
    }
}

impl Refused {
    /// The HTTP status of the page that says so.
    pub fn status(&self) -> StatusCode {
        match self {
            Refused::Invalid(_) | Refused::WeakPassword(_) => StatusCode::BAD_REQUEST,
            Refused::NameTaken => StatusCode::CONFLICT,
            Refused::WrongCredentials | Refused::WrongPassword => StatusCode::UNAUTHORIZED,
            Refused::Wait(_) => StatusCode::TOO_MANY_REQUESTS,
            Refused::BadLink | Refused::NotFound | Refused::NoSuchRoom => StatusCode::NOT_FOUND,
            Refused::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            Refused::NotAllowed => StatusCode::FORBIDDEN,
        }
    }
}

/// A signed-in browser: the account, and the session token to put in its cookie.
#[derive(Debug, Clone)]
pub struct SignedIn {
    /// Who signed in.
    pub account: Account,
    /// The session's secret: goes into the cookie and nowhere else.
    pub token: String,
}

/// A live sign-in: the account, and which of its sessions.
#[derive(Debug, Clone)]
pub struct Live {
    /// Who.
    pub account: Account,
    /// The session's id (for its owner's list, and to close its sockets when it ends).
    pub session: i64,
}

/// Accounts, sessions and the links that make accounts.
#[derive(Debug)]
pub struct Accounts {
    store: Arc<HistoryStore>,
    settings: AccountSettings,
    /// Where passwords are hashed and verified (two threads: see `hashing.rs`).
    hashing: Hashing,
    throttle: SignInThrottle,
    /// Set once the first account exists (it never goes back).
    set_up: AtomicBool,
}

impl Accounts {
    /// The accounts kept in `store`. Hashes nothing yet: Argon2's memory is taken at the first
    /// sign-in, not at start (open mode keeps accounts for its administrators alone).
    pub fn new(store: Arc<HistoryStore>, settings: AccountSettings) -> anyhow::Result<Self> {
        let hashing = Hashing::start()?;
        Ok(Accounts {
            store,
            settings,
            hashing,
            throttle: SignInThrottle::default(),
            set_up: AtomicBool::new(false),
        })
    }

    /// Forgets expired sessions every hour while the accounts live (held weakly, so the task
    /// ends with them).
    pub fn start_session_sweeper(self: &Arc<Self>) {
        let accounts = Arc::downgrade(self);
        tokio::spawn(async move {
            let mut every = tokio::time::interval(SESSION_SWEEP_INTERVAL);
            loop {
                every.tick().await;
                let Some(accounts) = accounts.upgrade() else {
                    return;
                };
                if let Ok(forgotten @ 1..) = accounts.forget_expired_sessions().await {
                    info!(forgotten, "forgot expired sign-in sessions");
                }
            }
        });
    }

    /// Whether the first account exists.
    pub async fn is_set_up(&self) -> bool {
        if self.set_up.load(Ordering::Relaxed) {
            return true;
        }
        let set_up = self
            .store
            .read("count accounts", rows::count)
            .await
            .is_ok_and(|n| n > 0);
        if set_up {
            self.set_up.store(true, Ordering::Relaxed);
        }
        set_up
    }

    /// A new one-time set-up token while no account exists (`None` once one does). Each call
    /// replaces the one before: only the newest link works.
    pub async fn new_setup_token(&self) -> anyhow::Result<Option<String>> {
        if self.is_set_up().await {
            return Ok(None);
        }
        let secret = token::new_token()?;
        let hash = token::hash(&secret);
        let now = self.settings.clock.now_ms();
        self.store
            .write("store the set-up token", move |conn| {
                rows::set_secret(conn, rows::SETUP_SECRET, &hash, now)
            })
            .await
            .map_err(|err| anyhow::anyhow!(err.message))?;
        Ok(Some(secret))
    }

    /// Whether `token` is the current set-up token (for the set-up page's first answer).
    pub async fn setup_token_valid(&self, token_given: &str) -> bool {
        if self.is_set_up().await {
            return false;
        }
        self.secret(rows::SETUP_SECRET.to_string())
            .await
            .is_some_and(|stored| token::holds(&stored, token_given))
    }

    /// The secret of `kind` (a read; `None` if there is none, or the database failed).
    pub(crate) async fn secret(&self, kind: String) -> Option<Vec<u8>> {
        self.store
            .read("read a secret", move |conn| rows::secret(conn, &kind))
            .await
            .ok()
            .flatten()
    }

    /// Makes the first account, an administrator, with the set-up token; the token is used up.
    pub async fn set_up(
        &self,
        setup_token: &str,
        name: &str,
        password_given: &str,
        agent: &str,
    ) -> Result<SignedIn, Refused> {
        let (name, key) = checked_name(name)?;
        password::check_new(password_given).map_err(Refused::WeakPassword)?;
        if !self.setup_token_valid(setup_token).await {
            return Err(Refused::BadLink);
        }
        let phc = self.hash(password_given).await?;
        let given = setup_token.to_string();
        let made = self
            .create(name, key, phc, true, agent, move |conn| {
                // Checked again where it is used up: two forms sent at once make one account.
                let valid = rows::count(conn)? == 0
                    && rows::secret(conn, rows::SETUP_SECRET)?
                        .is_some_and(|stored| token::holds(&stored, &given));
                if valid {
                    rows::delete_secret(conn, rows::SETUP_SECRET)?;
                }
                Ok(valid)
            })
            .await?;
        self.set_up.store(true, Ordering::Relaxed);
        info!(
            account = made.account.id,
            "the first account was made: set-up is done"
        );
        Ok(made)
    }

    /// Whether `code` is the current invitation code.
    pub async fn invitation_valid(&self, code: &str) -> bool {
        self.secret(rows::INVITATION_SECRET.to_string())
            .await
            .is_some_and(|stored| token::same(&stored, code.as_bytes()))
    }

    /// Makes an account through an invitation link: the shared one (any free name), or a
    /// personal one (its name only, and only once).
    pub async fn join(
        &self,
        code: &str,
        name: &str,
        password_given: &str,
        agent: &str,
    ) -> Result<SignedIn, Refused> {
        let personal = self.personal_name(code).await;
        let (name, key) = checked_name(personal.as_deref().unwrap_or(name))?;
        password::check_new(password_given).map_err(Refused::WeakPassword)?;
        if personal.is_none() && !self.invitation_valid(code).await {
            return Err(Refused::BadLink);
        }
        let phc = self.hash(password_given).await?;
        let given = code.to_string();
        let kind = admin::personal_kind(code);
        self.create(name, key, phc, false, agent, move |conn| {
            if personal.is_some() {
                // Used up with the account it makes.
                let unused = rows::secret(conn, &kind)?.is_some();
                rows::delete_secret(conn, &kind)?;
                return Ok(unused);
            }
            Ok(rows::secret(conn, rows::INVITATION_SECRET)?
                .is_some_and(|stored| token::same(&stored, given.as_bytes())))
        })
        .await
    }

    /// Checks a name and password; a session if they match an account that is not banned.
    pub async fn sign_in(
        &self,
        name: &str,
        password_given: &str,
        agent: &str,
    ) -> Result<SignedIn, Refused> {
        let key = name_key(name.trim());
        self.throttle
            .check(&key, Instant::now())
            .map_err(Refused::Wait)?;
        let lookup = key.clone();
        let found = self
            .store
            .read("find an account", move |conn| rows::by_key(conn, &lookup))
            .await
            .map_err(|_| Refused::Unavailable)?;
        let (account, phc) = match found {
            Some((account, phc)) => (Some(account), phc),
            None => (None, password::DECOY.to_string()),
        };
        let matches = self.verify(password_given, phc).await?;
        match account {
            Some(account) if matches && !account.banned => {
                self.throttle.succeeded(&key);
                let token = self.start_session(account.id, agent).await?;
                Ok(SignedIn { account, token })
            }
            _ => {
                self.throttle.failed(&key, Instant::now());
                Err(Refused::WrongCredentials)
            }
        }
    }

    /// The account a session token belongs to, if the session is live and the account not
    /// banned.
    pub async fn session(&self, session_token: &str) -> Option<Live> {
        let hash = token::hash(session_token);
        let now = self.settings.clock.now_ms();
        let since = now.saturating_sub(millis(self.settings.session_ttl));
        let (account, id, used) = self
            .store
            .read("find a session", move |conn| {
                rows::session_account(conn, &hash, since)
            })
            .await
            .ok()
            .flatten()?;
        if account.banned {
            return None;
        }
        if now.saturating_sub(used) >= millis(TOUCH_EVERY) {
            // Not awaited: the last use moving on is no reason to hold the page or socket.
            let store = self.store.clone();
            tokio::spawn(async move {
                let _ = store
                    .write("note a session's use", move |conn| {
                        rows::touch_session(conn, id, now)
                    })
                    .await;
            });
        }
        Some(Live {
            account,
            session: id,
        })
    }

    /// Creates an account and its first session in one write, if `still_valid` (run in the
    /// same write, so the link it checks cannot be used up in between) says so.
    async fn create(
        &self,
        name: String,
        key: String,
        phc: String,
        admin: bool,
        agent: &str,
        still_valid: impl FnOnce(&rusqlite::Connection) -> rusqlite::Result<bool> + Send + 'static,
    ) -> Result<SignedIn, Refused> {
        let secret = token::new_token().map_err(|_| Refused::Unavailable)?;
        let hash = token::hash(&secret);
        let agent = cut(agent);
        let now = self.settings.clock.now_ms();
        let shown = name.clone();
        let made = self
            .store
            .write("create an account", move |conn| {
                let tx = conn.unchecked_transaction()?;
                if !still_valid(&tx)? {
                    return Ok(Err(Refused::BadLink));
                }
                let Some(id) = rows::create(&tx, &name, &key, &phc, admin, now)? else {
                    return Ok(Err(Refused::NameTaken));
                };
                rows::create_session(&tx, &hash, id, now, &agent)?;
                tx.commit()?;
                Ok(Ok(id))
            })
            .await
            .map_err(|_| Refused::Unavailable)??;
        Ok(SignedIn {
            account: Account {
                id: made,
                name: shown,
                admin,
                banned: false,
            },
            token: secret,
        })
    }

    async fn start_session(&self, account: i64, agent: &str) -> Result<String, Refused> {
        let secret = token::new_token().map_err(|_| Refused::Unavailable)?;
        let hash = token::hash(&secret);
        let agent = cut(agent);
        let now = self.settings.clock.now_ms();
        self.store
            .write("start a session", move |conn| {
                rows::create_session(conn, &hash, account, now, &agent)
            })
            .await
            .map_err(|_| Refused::Unavailable)?;
        Ok(secret)
    }

    pub(crate) async fn hash(&self, password_given: &str) -> Result<String, Refused> {
        let given = password_given.to_string();
        self.hashing
            .run(move || password::hash(&given))
            .await
            .and_then(Result::ok)
            .ok_or(Refused::Unavailable)
    }

    pub(crate) async fn verify(&self, password_given: &str, phc: String) -> Result<bool, Refused> {
        let given = password_given.to_string();
        self.hashing
            .run(move || password::verify(&given, &phc))
            .await
            .ok_or(Refused::Unavailable)
    }
}

/// A name as it will be shown, and its key; refused with the naming rules' words.
pub(crate) fn checked_name(name: &str) -> Result<(String, String), Refused> {
    let shown = normalize_name(name)
        .map_err(|err| Refused::Invalid(err.message))?
        .to_string();
    let key = name_key(&shown);
    Ok((shown, key))
}

/// The first characters of a `User-Agent`.
fn cut(agent: &str) -> String {
    agent.chars().take(MAX_AGENT_CHARS).collect()
}
