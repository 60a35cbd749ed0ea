//! Accounts, their sign-in sessions and the server's standing secrets (the one-time set-up
//! token, the invitation code) in SQLite: the tables and the queries on them. What a password
//! or a session token is checked against is decided in `crate::accounts`; this module only keeps
//! rows. Passwords are stored as Argon2id PHC strings, session tokens and the set-up token as
//! their SHA-256, never as given.

use rusqlite::{params, Connection, OptionalExtension};

/// The tables, created with the rest of the schema.
pub const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS accounts (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    name_key TEXT NOT NULL UNIQUE,
    password TEXT NOT NULL,
    admin INTEGER NOT NULL DEFAULT 0,
    banned INTEGER NOT NULL DEFAULT 0,
    created_ms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS sessions (
    id INTEGER PRIMARY KEY,
    token_hash BLOB NOT NULL UNIQUE,
    account_id INTEGER NOT NULL,
    created_ms INTEGER NOT NULL,
    used_ms INTEGER NOT NULL,
    agent TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS sessions_by_account ON sessions (account_id);
CREATE TABLE IF NOT EXISTS secrets (
    kind TEXT PRIMARY KEY,
    value BLOB NOT NULL,
    created_ms INTEGER NOT NULL
);
";

/// Where the set-up token's hash is kept until the first account exists.
pub const SETUP_SECRET: &str = "setup";
/// Where the invitation code is kept (as is: administrators are shown it again).
pub const INVITATION_SECRET: &str = "invitation";

/// An account as the rest of the server sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    /// Stable for the account's life: messages carry it, so a rename keeps who said what.
    pub id: i64,
    /// The name shown.
    pub name: String,
    /// May moderate and invite.
    pub admin: bool,
    /// Refused everywhere until unbanned.
    pub banned: bool,
}

/// A sign-in session as its owner sees it in their settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRow {
    /// Names it for "sign out this one".
    pub id: i64,
    /// When it was created and last used, in ms since the epoch.
    pub created_ms: u64,
    pub used_ms: u64,
    /// The browser's `User-Agent` when it signed in, cut short.
    pub agent: String,
}

/// An account from a row whose first columns are `id, name, admin, banned`.
pub(super) fn account_of(r: &rusqlite::Row<'_>) -> rusqlite::Result<Account> {
    Ok(Account {
        id: r.get(0)?,
        name: r.get(1)?,
        admin: r.get::<_, i64>(2)? != 0,
        banned: r.get::<_, i64>(3)? != 0,
    })
}

/// How many accounts exist (none: the server is not set up yet).
pub fn count(conn: &Connection) -> rusqlite::Result<u64> {
    conn.query_row("SELECT COUNT(*) FROM accounts", [], |r| r.get::<_, i64>(0))
        .map(|n| n.max(0) as u64)
}

/// Creates an account; `None` if its name key is taken.
pub fn create(
    conn: &Connection,
    name: &str,
    key: &str,
    password: &str,
    admin: bool,
    now_ms: u64,
) -> rusqlite::Result<Option<i64>> {
    let inserted = conn.execute(
        "INSERT INTO accounts (name, name_key, password, admin, created_ms)
         VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (name_key) DO NOTHING",
        params![name, key, password, admin as i64, now_ms as i64],
    )?;
    Ok((inserted == 1).then(|| conn.last_insert_rowid()))
}

/// The account whose name has this key, with its password hash.
pub fn by_key(conn: &Connection, key: &str) -> rusqlite::Result<Option<(Account, String)>> {
    conn.query_row(
        "SELECT id, name, admin, banned, password FROM accounts WHERE name_key = ?1",
        params![key],
        |r| Ok((account_of(r)?, r.get(4)?)),
    )
    .optional()
}

/// The account with this id.
pub fn by_id(conn: &Connection, id: i64) -> rusqlite::Result<Option<Account>> {
    conn.query_row(
        "SELECT id, name, admin, banned FROM accounts WHERE id = ?1",
        params![id],
        account_of,
    )
    .optional()
}

/// Renames an account; false if another account has the name's key.
pub fn rename(conn: &Connection, id: i64, name: &str, key: &str) -> rusqlite::Result<bool> {
    let taken: Option<i64> = conn
        .query_row(
            "SELECT id FROM accounts WHERE name_key = ?1 AND id <> ?2",
            params![key, id],
            |r| r.get(0),
        )
        .optional()?;
    if taken.is_some() {
        return Ok(false);
    }
    conn.execute(
        "UPDATE accounts SET name = ?2, name_key = ?3 WHERE id = ?1",
        params![id, name, key],
    )?;
    Ok(true)
}

/// An account's password hash.
pub fn password_of(conn: &Connection, id: i64) -> rusqlite::Result<Option<String>> {
    conn.query_row(
        "SELECT password FROM accounts WHERE id = ?1",
        params![id],
        |r| r.get(0),
    )
    .optional()
}

/// Replaces an account's password hash.
pub fn set_password(conn: &Connection, id: i64, password: &str) -> rusqlite::Result<()> {
    conn.execute(
        "UPDATE accounts SET password = ?2 WHERE id = ?1",
        params![id, password],
    )?;
    Ok(())
}

/// Ends every session of an account but `keep`; returns how many ended.
pub fn delete_other_sessions(
    conn: &Connection,
    account: i64,
    keep: i64,
) -> rusqlite::Result<usize> {
    conn.execute(
        "DELETE FROM sessions WHERE account_id = ?1 AND id <> ?2",
        params![account, keep],
    )
}

/// Every account, by name key (the administrators' list of people).
pub fn all(conn: &Connection) -> rusqlite::Result<Vec<Account>> {
    let mut statement =
        conn.prepare("SELECT id, name, admin, banned FROM accounts ORDER BY name_key")?;
    let rows = statement.query_map([], account_of)?;
    rows.collect()
}

/// Bans or unbans an account; a ban also ends all its sessions. False if there is no such
/// account.
pub fn set_banned(conn: &Connection, id: i64, banned: bool) -> rusqlite::Result<bool> {
    let changed = conn.execute(
        "UPDATE accounts SET banned = ?2 WHERE id = ?1",
        params![id, banned as i64],
    )? == 1;
    if changed && banned {
        delete_sessions_of(conn, id)?;
    }
    Ok(changed)
}

/// Makes an account an administrator or not. False if there is no such account.
pub fn set_admin(conn: &Connection, id: i64, admin: bool) -> rusqlite::Result<bool> {
    Ok(conn.execute(
        "UPDATE accounts SET admin = ?2 WHERE id = ?1",
        params![id, admin as i64],
    )? == 1)
}

/// Starts a session for `account` under the hash of its token.
pub fn create_session(
    conn: &Connection,
    token_hash: &[u8],
    account: i64,
    now_ms: u64,
    agent: &str,
) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT INTO sessions (token_hash, account_id, created_ms, used_ms, agent)
         VALUES (?1, ?2, ?3, ?3, ?4)",
        params![token_hash, account, now_ms as i64, agent],
    )?;
    Ok(())
}

/// The account a session token's hash belongs to, if the session was used since `since_ms`,
/// with the session's id and when it was last used.
pub fn session_account(
    conn: &Connection,
    token_hash: &[u8],
    since_ms: u64,
) -> rusqlite::Result<Option<(Account, i64, u64)>> {
    conn.query_row(
        "SELECT a.id, a.name, a.admin, a.banned, s.id, s.used_ms
         FROM sessions s JOIN accounts a ON a.id = s.account_id
         WHERE s.token_hash = ?1 AND s.used_ms >= ?2",
        params![token_hash, since_ms as i64],
        |r| Ok((account_of(r)?, r.get(4)?, r.get::<_, i64>(5)?.max(0) as u64)),
    )
    .optional()
}

/// Notes that a session was used now.
pub fn touch_session(conn: &Connection, id: i64, now_ms: u64) -> rusqlite::Result<()> {
    conn.execute(
        "UPDATE sessions SET used_ms = ?2 WHERE id = ?1",
        params![id, now_ms as i64],
    )?;
    Ok(())
}

/// Ends the session with this token hash.
pub fn delete_session_by_hash(conn: &Connection, token_hash: &[u8]) -> rusqlite::Result<()> {
    conn.execute(
        "DELETE FROM sessions WHERE token_hash = ?1",
        params![token_hash],
    )?;
    Ok(())
}

/// Ends one of an account's sessions; false if it has no such session.
pub fn delete_session(conn: &Connection, account: i64, id: i64) -> rusqlite::Result<bool> {
    Ok(conn.execute(
        "DELETE FROM sessions WHERE id = ?1 AND account_id = ?2",
        params![id, account],
    )? == 1)
}

/// Ends every session of an account; returns how many there were.
pub fn delete_sessions_of(conn: &Connection, account: i64) -> rusqlite::Result<usize> {
    conn.execute(
        "DELETE FROM sessions WHERE account_id = ?1",
        params![account],
    )
}

/// Forgets sessions unused since `before_ms`.
pub fn forget_sessions(conn: &Connection, before_ms: u64) -> rusqlite::Result<usize> {
    conn.execute(
        "DELETE FROM sessions WHERE used_ms < ?1",
        params![before_ms as i64],
    )
}

/// An account's sessions, the most recently used first.
pub fn sessions_of(conn: &Connection, account: i64) -> rusqlite::Result<Vec<SessionRow>> {
    let mut statement = conn.prepare(
        "SELECT id, created_ms, used_ms, agent FROM sessions
         WHERE account_id = ?1 ORDER BY used_ms DESC",
    )?;
    let rows = statement.query_map(params![account], |r| {
        Ok(SessionRow {
            id: r.get(0)?,
            created_ms: r.get::<_, i64>(1)?.max(0) as u64,
            used_ms: r.get::<_, i64>(2)?.max(0) as u64,
            agent: r.get(3)?,
        })
    })?;
    rows.collect()
}

/// Stores a secret of `kind`, replacing the one before.
pub fn set_secret(
    conn: &Connection,
    kind: &str,
    value: &[u8],
    now_ms: u64,
) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT INTO secrets (kind, value, created_ms) VALUES (?1, ?2, ?3)
         ON CONFLICT (kind) DO UPDATE SET value = excluded.value, created_ms = excluded.created_ms",
        params![kind, value, now_ms as i64],
    )?;
    Ok(())
}

/// The secret of `kind`, if there is one.
pub fn secret(conn: &Connection, kind: &str) -> rusqlite::Result<Option<Vec<u8>>> {
    conn.query_row(
        "SELECT value FROM secrets WHERE kind = ?1",
        params![kind],
        |r| r.get(0),
    )
    .optional()
}

/// Deletes the secret of `kind`.
pub fn delete_secret(conn: &Connection, kind: &str) -> rusqlite::Result<()> {
    conn.execute("DELETE FROM secrets WHERE kind = ?1", params![kind])?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn db() -> Connection {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(SCHEMA).unwrap();
        conn
    }

    #[test]
    fn names_are_unique_by_key_and_sessions_follow_their_account() {
        let conn = db();
        assert_eq!(count(&conn).unwrap(), 0);
        let ann = create(&conn, "Ann", "ann", "phc", true, 1)
            .unwrap()
            .unwrap();
        assert_eq!(create(&conn, "ANN", "ann", "phc", false, 2).unwrap(), None);
        let (account, password) = by_key(&conn, "ann").unwrap().unwrap();
        assert_eq!(
            (account.name.as_str(), account.admin, password.as_str()),
            ("Ann", true, "phc")
        );
        create_session(&conn, b"h1", ann, 10, "agent").unwrap();
        create_session(&conn, b"h2", ann, 20, "").unwrap();
        assert!(session_account(&conn, b"h1", 5).unwrap().is_some());
        assert!(
            session_account(&conn, b"h1", 11).unwrap().is_none(),
            "unused since 10"
        );
        let (_, id, _) = session_account(&conn, b"h2", 0).unwrap().unwrap();
        touch_session(&conn, id, 30).unwrap();
        assert_eq!(
            sessions_of(&conn, ann).unwrap().first().map(|s| s.used_ms),
            Some(30)
        );
        assert_eq!(forget_sessions(&conn, 15).unwrap(), 1);
        let bob = create(&conn, "bob", "bob", "phc", false, 3)
            .unwrap()
            .unwrap();
        assert!(!rename(&conn, bob, "ANN", "ann").unwrap(), "taken");
        assert!(rename(&conn, ann, "Anne", "anne").unwrap());
        assert!(
            rename(&conn, ann, "ANNE", "anne").unwrap(),
            "its own key, another case"
        );
        assert_eq!(by_id(&conn, ann).unwrap().unwrap().name, "ANNE");
        set_password(&conn, bob, "new").unwrap();
        assert_eq!(password_of(&conn, bob).unwrap().as_deref(), Some("new"));
        assert_eq!(delete_sessions_of(&conn, ann).unwrap(), 1);
        assert!(session_account(&conn, b"h2", 0).unwrap().is_none());
    }

    #[test]
    fn a_secret_is_replaced_and_deleted() {
        let conn = db();
        assert_eq!(secret(&conn, SETUP_SECRET).unwrap(), None);
        set_secret(&conn, SETUP_SECRET, b"one", 1).unwrap();
        set_secret(&conn, SETUP_SECRET, b"two", 2).unwrap();
        assert_eq!(secret(&conn, SETUP_SECRET).unwrap(), Some(b"two".to_vec()));
        delete_secret(&conn, SETUP_SECRET).unwrap();
        assert_eq!(secret(&conn, SETUP_SECRET).unwrap(), None);
    }
}
