//! What a signed-in person does to their own account: its name, its password, its sessions.

use super::{checked_name, password, Accounts, Live, Refused};
use crate::store::accounts::{self as rows, SessionRow};

impl Accounts {
    /// Ends one of an account's sessions; false if it had no such session.
    pub async fn end_session(&self, account: i64, session: i64) -> Result<bool, Refused> {
        self.store
            .write("end a session", move |conn| {
                rows::delete_session(conn, account, session)
            })
            .await
            .map_err(|_| Refused::Unavailable)
    }

    /// Gives an account another name (unique, compared as names are).
    pub async fn rename(&self, account: i64, name: &str) -> Result<String, Refused> {
        let (name, key) = checked_name(name)?;
        let shown = name.clone();
        let renamed = self
            .store
            .write("rename an account", move |conn| {
                rows::rename(conn, account, &name, &key)
            })
            .await
            .map_err(|_| Refused::Unavailable)?;
        if renamed {
            Ok(shown)
        } else {
            Err(Refused::NameTaken)
        }
    }

    /// Changes a signed-in account's password, given the current one; every other session
    /// of the account ends (whoever knew the old password is signed out).
    pub async fn change_password(
        &self,
        live: &Live,
        current: &str,
        new: &str,
    ) -> Result<(), Refused> {
        password::check_new(new).map_err(Refused::WeakPassword)?;
        let account = live.account.id;
        let stored = self
            .store
            .read("read a password", move |conn| {
                rows::password_of(conn, account)
            })
            .await
            .map_err(|_| Refused::Unavailable)?
            .ok_or(Refused::Unavailable)?;
        if !self.verify(current, stored).await? {
            return Err(Refused::WrongPassword);
        }
        let phc = self.hash(new).await?;
        let keep = live.session;
        self.store
            .write("change a password", move |conn| {
                let tx = conn.unchecked_transaction()?;
                rows::set_password(&tx, account, &phc)?;
                rows::delete_other_sessions(&tx, account, keep)?;
                tx.commit()
            })
            .await
            .map_err(|_| Refused::Unavailable)
    }

    /// An account's sessions, for its settings page.
    pub async fn sessions_of(&self, account: i64) -> Result<Vec<SessionRow>, Refused> {
        self.store
            .read("list sessions", move |conn| {
                rows::sessions_of(conn, account)
            })
            .await
            .map_err(|_| Refused::Unavailable)
    }

    /// Ends every session of an account ("sign out everywhere").
    pub async fn sign_out_everywhere(&self, account: i64) -> Result<usize, Refused> {
        self.store
            .write("end sessions", move |conn| {
                rows::delete_sessions_of(conn, account)
            })
            .await
            .map_err(|_| Refused::Unavailable)
    }

    /// Deletes the sessions unused for `--session-ttl` (they no longer sign anyone in; this
    /// keeps their rows from piling up). Returns how many went.
    pub async fn forget_expired_sessions(&self) -> Result<usize, Refused> {
        let ttl = crate::clock::millis(self.settings.session_ttl);
        let before = self.settings.clock.now_ms().saturating_sub(ttl);
        self.store
            .write("forget expired sessions", move |conn| {
                rows::forget_sessions(conn, before)
            })
            .await
            .map_err(|_| Refused::Unavailable)
    }
}
