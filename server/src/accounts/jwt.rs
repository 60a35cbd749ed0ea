//! `jwt` mode (`--access jwt`): an application that already has users signs a token for each
//! (as Centrifugo is embedded), and the chat takes the token's word for who they are. The token
//! is checked with the `jsonwebtoken` crate against the application's HS256 secret or its RSA /
//! Ed25519 public key; its `sub` is the account (a local row keyed by it, so messages carry a
//! stable id), `name` the shown name, `exp` when the connection must present a fresh token, and
//! an optional `rooms` the only rooms it may join.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use chat_shared::{normalize_name, validate_room};
use jsonwebtoken::{decode, Algorithm, DecodingKey, Validation};
use serde::Deserialize;

use super::Refused;
use crate::clock::Clock;
use crate::config::Config;
use crate::store::accounts::{self as rows, Account};
use crate::store::HistoryStore;

/// Longest `sub` taken (its row's key is made of it).
const MAX_SUB_CHARS: usize = 256;
/// Most rooms a token's `rooms` may name.
const MAX_ROOMS_CLAIM: usize = 1000;

/// What the chat reads from a token. Any other claim is ignored.
#[derive(Debug, Clone, Deserialize)]
pub struct Claims {
    /// The account, as the application knows it.
    pub sub: String,
    /// The shown name (the `sub` when absent), under the chat's naming rules.
    #[serde(default)]
    pub name: Option<String>,
    /// When the token expires, in seconds since the epoch.
    pub exp: u64,
    /// The only rooms the token lets its holder join (any room when absent).
    #[serde(default)]
    pub rooms: Option<Vec<String>>,
    /// The holder may delete anyone's message.
    #[serde(default)]
    pub admin: bool,
}

/// The application's key, and the rules every token is checked by.
pub struct JwtAccess {
    key: DecodingKey,
    validation: Validation,
    store: Arc<HistoryStore>,
    clock: Clock,
    /// How long an expired connection may still refresh (`--jwt-grace`).
    pub grace: Duration,
}

impl std::fmt::Debug for JwtAccess {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the key.
        f.debug_struct("JwtAccess")
            .field("algorithms", &self.validation.algorithms)
            .field("grace", &self.grace)
            .finish_non_exhaustive()
    }
}

impl JwtAccess {
    /// Reads the key `config` names; fails (and the server does not start) without exactly one
    /// usable key.
    pub fn new(config: &Config, store: Arc<HistoryStore>, clock: Clock) -> anyhow::Result<Self> {
        let (key, algorithm) = match (&config.jwt_secret_file, &config.jwt_public_key_file) {
            (Some(path), None) => {
                let mut secret = std::fs::read(path)
                    .with_context(|| format!("reading --jwt-secret-file {}", path.display()))?;
                if secret.last() == Some(&b'\n') {
                    secret.pop();
                }
                anyhow::ensure!(
                    secret.len() >= 32,
                    "--jwt-secret-file: an HS256 secret must be at least 32 bytes"
                );
                (DecodingKey::from_secret(&secret), Algorithm::HS256)
            }
            (None, Some(path)) => {
                let pem = std::fs::read(path)
                    .with_context(|| format!("reading --jwt-public-key-file {}", path.display()))?;
                if let Ok(key) = DecodingKey::from_rsa_pem(&pem) {
                    (key, Algorithm::RS256)
                } else {
                    let key = DecodingKey::from_ed_pem(&pem).with_context(|| {
                        format!(
                            "--jwt-public-key-file {}: not an RSA or Ed25519 public key in PEM",
                            path.display()
                        )
                    })?;
                    (key, Algorithm::EdDSA)
                }
            }
            _ => anyhow::bail!(
                "--access jwt needs exactly one of --jwt-secret-file (HS256) and \
                 --jwt-public-key-file (RS256 or EdDSA)"
            ),
        };
        // Only the key's own algorithm: a token cannot pick another (no "none", no HS256
        // signed with a public key).
        let mut validation = Validation::new(algorithm);
        validation.leeway = 0;
        validation.required_spec_claims = HashSet::from(["exp".to_string(), "sub".to_string()]);
        Ok(JwtAccess {
            key,
            validation,
            store,
            clock,
            grace: config.jwt_grace,
        })
    }

    /// The claims of `token` if it is signed with the application's key, unexpired and
    /// well-formed; else why not (for the client: no secret in it).
    pub fn verify(&self, token: &str) -> Result<Claims, String> {
        let claims = decode::<Claims>(token, &self.key, &self.validation)
            .map_err(|err| format!("the token is not valid: {err}"))?
            .claims;
        if claims.sub.is_empty() || claims.sub.chars().count() > MAX_SUB_CHARS {
            return Err(format!(
                "the token's sub must be 1 to {MAX_SUB_CHARS} characters"
            ));
        }
        if let Some(rooms) = &claims.rooms {
            if rooms.len() > MAX_ROOMS_CLAIM || rooms.iter().any(|r| validate_room(r).is_err()) {
                return Err(format!(
                    "the token's rooms must be at most {MAX_ROOMS_CLAIM} valid room names"
                ));
            }
        }
        Ok(claims)
    }

    /// How long until `claims` expire (zero if they have).
    pub fn remaining(&self, claims: &Claims) -> Duration {
        let now = self.clock.now_ms() / 1000;
        Duration::from_secs(claims.exp.saturating_sub(now))
    }

    /// The local account of the token's `sub`, made the first time and kept up to date with the
    /// token's name and rights. A write only when something changed.
    pub async fn account(&self, claims: &Claims) -> Result<Account, Refused> {
        let shown = claims.name.as_deref().unwrap_or(&claims.sub);
        let name = normalize_name(shown)
            .map_err(|err| Refused::Invalid(err.message))?
            .to_string();
        let key = format!("jwt:{}", claims.sub);
        let lookup = key.clone();
        let found = self
            .store
            .read("find a token's account", move |conn| {
                rows::by_key(conn, &lookup)
            })
            .await
            .map_err(|_| Refused::Unavailable)?;
        if let Some((account, _)) = &found {
            if account.name == name && account.admin == claims.admin {
                return Ok(account.clone());
            }
        }
        let (admin, now) = (claims.admin, self.clock.now_ms());
        self.store
            .write("keep a token's account", move |conn| {
                match rows::by_key(conn, &key)? {
                    Some((account, _)) => {
                        rows::rename(conn, account.id, &name, &key)?;
                        rows::set_admin(conn, account.id, admin)?;
                    }
                    // No password: it never signs in with one.
                    None => {
                        rows::create(conn, &name, &key, "", admin, now)?;
                    }
                }
                rows::by_key(conn, &key).map(|found| found.map(|(account, _)| account))
            })
            .await
            .map_err(|_| Refused::Unavailable)?
            .ok_or(Refused::Unavailable)
    }
}
