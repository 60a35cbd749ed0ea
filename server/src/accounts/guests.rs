//! Moderating guests in open mode: an administrator (signed in as in accounts mode) bans a name
//! or an address range for a while, and lifts bans. Every ban and lift is in the moderation
//! log. The caller applies the bans in force ([`Accounts::guest_bans`]) to the server.

use std::time::Duration;

use chat_shared::{name_key, normalize_name};
use ipnet::IpNet;

use super::{Accounts, Refused};
use crate::store::accounts::Account;
use crate::store::moderation::{self, GuestBan};

/// The longest a ban of guests lasts (a year): a range banned for ever would outlive the
/// people behind it.
pub const MAX_GUEST_BAN: Duration = Duration::from_secs(365 * 24 * 3600);

/// What an administrator bans.
#[derive(Debug, Clone)]
pub enum GuestTarget {
    /// A name (as shown; compared by key).
    Name(String),
    /// An address range.
    Range(IpNet),
}

impl GuestTarget {
    /// Reads a name or a range as typed into the administrators' page.
    pub fn parse(kind: &str, value: &str) -> Result<Self, Refused> {
        let value = value.trim();
        match kind {
            "name" => normalize_name(value)
                .map(|name| GuestTarget::Name(name.to_string()))
                .map_err(|err| Refused::Invalid(err.message)),
            "address" => value
                .parse::<IpNet>()
                .or_else(|_| value.parse::<std::net::IpAddr>().map(IpNet::from))
                .map(|range| GuestTarget::Range(range.trunc()))
                .map_err(|_| {
                    Refused::Invalid(
                        "An address is like 203.0.113.7, or a range like 203.0.113.0/24 or \
                         2001:db8::/48."
                            .into(),
                    )
                }),
            _ => Err(Refused::NotAllowed),
        }
    }
}

impl Accounts {
    /// Bans `target` for `length` (at most [`MAX_GUEST_BAN`]), as `actor` (an administrator).
    pub async fn ban_guests(
        &self,
        actor: &Account,
        target: &GuestTarget,
        length: Duration,
    ) -> Result<(), Refused> {
        if !actor.admin {
            return Err(Refused::NotAllowed);
        }
        let now = self.settings.clock.now_ms();
        let until = now.saturating_add(crate::clock::millis(length.min(MAX_GUEST_BAN)));
        let (kind, value) = match target {
            GuestTarget::Name(name) => ("name", name.clone()),
            GuestTarget::Range(range) => ("address", range.to_string()),
        };
        let actor = actor.clone();
        self.store
            .write("ban guests", move |conn| {
                let tx = conn.unchecked_transaction()?;
                moderation::add_guest_ban(&tx, kind, &value, until, now, &actor.name)?;
                let what = format!("{kind} {value}");
                moderation::log_action(&tx, now, actor.id, &actor.name, "ban_guests", &what)?;
                tx.commit()
            })
            .await
            .map_err(|_| Refused::Unavailable)
    }

    /// Lifts ban `id`, as `actor` (an administrator).
    pub async fn lift_guest_ban(&self, actor: &Account, id: i64) -> Result<(), Refused> {
        if !actor.admin {
            return Err(Refused::NotAllowed);
        }
        let now = self.settings.clock.now_ms();
        let actor = actor.clone();
        self.store
            .write("lift a ban of guests", move |conn| {
                let tx = conn.unchecked_transaction()?;
                let Some(ban) = moderation::lift_guest_ban(&tx, id, now)? else {
                    return Ok(false);
                };
                let what = format!("{} {}", ban.kind, ban.value);
                moderation::log_action(&tx, now, actor.id, &actor.name, "lift_guest_ban", &what)?;
                tx.commit()?;
                Ok(true)
            })
            .await
            .map_err(|_| Refused::Unavailable)?
            .then_some(())
            .ok_or(Refused::NotFound)
    }

    /// The bans of guests in force now.
    pub async fn guest_bans(&self) -> Result<Vec<GuestBan>, Refused> {
        let now = self.settings.clock.now_ms();
        self.store
            .read("bans of guests", move |conn| {
                moderation::guest_bans(conn, now)
            })
            .await
            .map_err(|_| Refused::Unavailable)
    }
}

/// The bans in force as the server applies them: address ranges (with their ends) and name
/// keys (with theirs).
pub fn in_force(bans: &[GuestBan]) -> (Vec<(IpNet, u64)>, std::collections::HashMap<String, u64>) {
    let mut ranges = Vec::new();
    let mut names = std::collections::HashMap::new();
    for ban in bans {
        match ban.kind.as_str() {
            "address" => {
                if let Ok(range) = ban.value.parse::<IpNet>() {
                    ranges.push((range, ban.until_ms));
                }
            }
            _ => {
                names.insert(name_key(&ban.value), ban.until_ms);
            }
        }
    }
    (ranges, names)
}
