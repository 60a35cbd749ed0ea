//! What administrators do: the invitation link, people (ban, unban, administrator rights),
//! and the moderation log every such action is written to.

use super::{Accounts, Refused};
use crate::store::accounts::{self as rows, Account};
use crate::store::moderation::{self, LogEntry};
use crate::token;

/// Where a personal invitation is kept: its token's hash names it, the name is its value.
pub(super) fn personal_kind(code: &str) -> String {
    format!("personal:{}", token::to_hex(&token::hash(code)))
}

/// Lines of the moderation log the administrators' page shows.
const LOG_LINES: u32 = 200;

/// An administrator's action on an account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Moderation {
    /// Closes every socket and session of the account and refuses it from then on.
    Ban,
    /// Lets it sign in again.
    Unban,
    /// Gives it administrator rights.
    MakeAdmin,
    /// Takes them away.
    RemoveAdmin,
}

impl Moderation {
    /// The action as the log writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Moderation::Ban => "ban",
            Moderation::Unban => "unban",
            Moderation::MakeAdmin => "make_admin",
            Moderation::RemoveAdmin => "remove_admin",
        }
    }
}

impl Accounts {
    /// The invitation code, made on first use.
    pub async fn invitation(&self) -> Result<String, Refused> {
        let fresh = token::new_token().map_err(|_| Refused::Unavailable)?;
        let now = self.settings.clock.now_ms();
        self.store
            .write("read the invitation code", move |conn| {
                if let Some(code) = rows::secret(conn, rows::INVITATION_SECRET)? {
                    return Ok(String::from_utf8_lossy(&code).into_owned());
                }
                rows::set_secret(conn, rows::INVITATION_SECRET, fresh.as_bytes(), now)?;
                Ok(fresh)
            })
            .await
            .map_err(|_| Refused::Unavailable)
    }

    /// A new invitation code; the old link stops working.
    pub async fn reset_invitation(&self) -> Result<String, Refused> {
        let fresh = token::new_token().map_err(|_| Refused::Unavailable)?;
        let now = self.settings.clock.now_ms();
        let code = fresh.clone();
        self.store
            .write("reset the invitation code", move |conn| {
                rows::set_secret(conn, rows::INVITATION_SECRET, code.as_bytes(), now)
            })
            .await
            .map_err(|_| Refused::Unavailable)?;
        Ok(fresh)
    }

    /// A new invitation code, made by `actor` (logged); the old link stops working.
    pub async fn reset_invitation_by(&self, actor: &Account) -> Result<String, Refused> {
        let code = self.reset_invitation().await?;
        self.log(actor, "reset_invitation", "the invitation link")
            .await;
        Ok(code)
    }

    /// Every account, for the administrators' list of people.
    pub async fn people(&self) -> Result<Vec<Account>, Refused> {
        self.store
            .read("list accounts", rows::all)
            .await
            .map_err(|_| Refused::Unavailable)
    }

    /// The newest lines of the moderation log.
    pub async fn moderation_log(&self) -> Result<Vec<LogEntry>, Refused> {
        self.store
            .read("read the moderation log", |conn| {
                moderation::moderation_log(conn, LOG_LINES)
            })
            .await
            .map_err(|_| Refused::Unavailable)
    }

    /// Does `action` to the account `target` as administrator `actor`, and logs it in the same
    /// write. An administrator cannot ban themselves or take their own rights, so a server
    /// always keeps one. Returns the account as it was before.
    pub async fn moderate(
        &self,
        actor: &Account,
        target: i64,
        action: Moderation,
    ) -> Result<Account, Refused> {
        if !actor.admin {
            return Err(Refused::NotAllowed);
        }
        if target == actor.id && matches!(action, Moderation::Ban | Moderation::RemoveAdmin) {
            return Err(Refused::NotAllowed);
        }
        let actor = actor.clone();
        let now = self.settings.clock.now_ms();
        self.store
            .write("moderate", move |conn| {
                let tx = conn.unchecked_transaction()?;
                let Some(account) = rows::by_id(&tx, target)? else {
                    return Ok(None);
                };
                match action {
                    Moderation::Ban => rows::set_banned(&tx, target, true)?,
                    Moderation::Unban => rows::set_banned(&tx, target, false)?,
                    Moderation::MakeAdmin => rows::set_admin(&tx, target, true)?,
                    Moderation::RemoveAdmin => rows::set_admin(&tx, target, false)?,
                };
                moderation::log_action(
                    &tx,
                    now,
                    actor.id,
                    &actor.name,
                    action.as_str(),
                    &account.name,
                )?;
                tx.commit()?;
                Ok(Some(account))
            })
            .await
            .map_err(|_| Refused::Unavailable)?
            .ok_or(Refused::NotFound)
    }

    /// Records an action that changes no account.
    async fn log(&self, actor: &Account, action: &'static str, target: &'static str) {
        let actor = actor.clone();
        let now = self.settings.clock.now_ms();
        let _ = self
            .store
            .write("log a moderation action", move |conn| {
                moderation::log_action(conn, now, actor.id, &actor.name, action, target)
            })
            .await;
    }
    /// A one-time link's token for the account `name` (checked now, made when used): what
    /// `chat-server user add NAME` prints. The token is stored only as its SHA-256.
    pub async fn personal_invitation(&self, name: &str) -> Result<String, Refused> {
        let (name, key) = super::checked_name(name)?;
        let secret = token::new_token().map_err(|_| Refused::Unavailable)?;
        let kind = personal_kind(&secret);
        let now = self.settings.clock.now_ms();
        self.store
            .write("store a personal invitation", move |conn| {
                if rows::by_key(conn, &key)?.is_some() {
                    return Ok(false);
                }
                rows::set_secret(conn, &kind, name.as_bytes(), now)?;
                Ok(true)
            })
            .await
            .map_err(|_| Refused::Unavailable)?
            .then_some(secret)
            .ok_or(Refused::NameTaken)
    }

    /// The name a personal invitation is for, if `code` is one still unused.
    pub async fn personal_name(&self, code: &str) -> Option<String> {
        self.secret(personal_kind(code))
            .await
            .map(|name| String::from_utf8_lossy(&name).into_owned())
    }
}
