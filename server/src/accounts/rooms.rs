//! Private rooms, direct conversations and room settings: who may make, see and change them.
//! The store keeps them (`store::access`); the socket asks the same store who may enter.

use chat_shared::{name_key, PRIVATE_ROOM_PREFIX};

use super::{Accounts, Refused};
use crate::store::access::{self, RoomKind, RoomSettings};
use crate::store::accounts::{self as rows, Account};
use crate::store::moderation;
use crate::store::notifications::{self, Level};

/// Longest private room title, in characters.
pub const MAX_TITLE_CHARS: usize = 64;
/// Longest room topic, in characters.
pub const MAX_TOPIC_CHARS: usize = 200;
/// Most open rooms the room directory lists.
const DIRECTORY_OPEN_ROOMS: u32 = 200;

/// A room's settings page: its settings, what the viewer sees of it, its members (private
/// rooms), and what the viewer may change.
#[derive(Debug, Clone)]
pub struct RoomPage {
    /// As stored.
    pub settings: RoomSettings,
    /// What the viewer sees of it (a direct conversation's title is the other person).
    pub view: access::RoomView,
    /// Its members, for a private room or direct conversation.
    pub members: Vec<Account>,
    /// The viewer may change the topic (its creator or an administrator).
    pub may_edit_topic: bool,
    /// The viewer may add members (any member of a private room).
    pub may_add: bool,
    /// The viewer may remove members (the creator of a private room or an administrator).
    pub may_remove: bool,
    /// The viewer's notification level in the room (a direct conversation always notifies).
    pub level: Level,
}

/// What the room directory lists for one account.
#[derive(Debug, Clone, Default)]
pub struct Directory {
    /// Open rooms with a history, newest first.
    pub open: Vec<String>,
    /// The private rooms and direct conversations the account is in: (room, kind, title).
    pub private: Vec<(String, RoomKind, String)>,
    /// Everyone else who may be sent a direct message (not banned).
    pub people: Vec<Account>,
}

/// A title or topic: trimmed, not empty (`required`), at most `max` characters.
fn checked_text(text: &str, max: usize, what: &str, required: bool) -> Result<String, Refused> {
    let text = text.trim();
    if (required && text.is_empty())
        || text.chars().count() > max
        || text.contains(char::is_control)
    {
        let need = if required { "1" } else { "0" };
        return Err(Refused::Invalid(format!(
            "A {what} is {need} to {max} characters, on one line."
        )));
    }
    Ok(text.to_string())
}

impl Accounts {
    /// Makes a private room titled `title` with `actor` and the accounts named in `names` as its
    /// members; returns its name (random: its address gives nothing away).
    pub async fn create_private_room(
        &self,
        actor: &Account,
        title: &str,
        names: &[String],
    ) -> Result<String, Refused> {
        let title = checked_text(title, MAX_TITLE_CHARS, "room name", true)?;
        let keys: Vec<String> = names
            .iter()
            .map(|name| name.trim())
            .filter(|name| !name.is_empty())
            .map(name_key)
            .collect();
        let room = format!("{PRIVATE_ROOM_PREFIX}{}", crate::random::hex(16));
        let creator = actor.id;
        let created = self
            .store
            .write("create a private room", move |conn| {
                let mut members = vec![creator];
                for key in &keys {
                    match rows::by_key(conn, key)? {
                        Some((account, _)) if !account.banned => members.push(account.id),
                        _ => return Ok(None),
                    }
                }
                access::create(conn, &room, RoomKind::Private, &title, creator, &members)
                    .map(|made| made.then_some(room))
            })
            .await
            .map_err(|_| Refused::Unavailable)?;
        created.ok_or(Refused::NotFound)
    }

    /// The direct conversation of `actor` and account `other` (made the first time); its name.
    pub async fn open_direct(&self, actor: &Account, other: i64) -> Result<String, Refused> {
        if other == actor.id {
            return Err(Refused::NotAllowed);
        }
        let (low, high) = (actor.id.min(other), actor.id.max(other));
        let room = format!("{PRIVATE_ROOM_PREFIX}dm-{low}-{high}");
        let creator = actor.id;
        self.store
            .write("open a direct conversation", move |conn| {
                match rows::by_id(conn, other)? {
                    Some(account) if !account.banned => {}
                    _ => return Ok(None),
                }
                access::create(conn, &room, RoomKind::Direct, "", creator, &[low, high])?;
                Ok(Some(room))
            })
            .await
            .map_err(|_| Refused::Unavailable)?
            .ok_or(Refused::NotFound)
    }

    /// The rooms `actor` may see, and the people they may message.
    pub async fn directory(&self, actor: &Account) -> Result<Directory, Refused> {
        let me = actor.id;
        self.store
            .read("list rooms", move |conn| {
                let mut private = access::rooms_of(conn, me)?;
                for (room, kind, title) in &mut private {
                    if *kind == RoomKind::Direct {
                        // Called by the other person's name now.
                        *title = access::other_person(conn, room, me)?;
                    }
                }
                Ok(Directory {
                    open: access::open_rooms(conn, DIRECTORY_OPEN_ROOMS)?,
                    private,
                    people: rows::all(conn)?
                        .into_iter()
                        .filter(|account| account.id != me && !account.banned)
                        .collect(),
                })
            })
            .await
            .map_err(|_| Refused::Unavailable)
    }

    /// The rooms `actor`'s sidebar lists on any device (its private rooms and conversations,
    /// the open rooms it has read in), up to `limit`; none if they cannot be read now.
    pub async fn sidebar_rooms(&self, actor: &Account, limit: usize) -> Vec<String> {
        let me = actor.id;
        self.store
            .read("an account's rooms", move |conn| {
                access::rooms_of_account(conn, me, limit)
            })
            .await
            .unwrap_or_default()
    }

    /// What `actor` sees of `room`; [`Refused::NoSuchRoom`] if for them it does not exist.
    pub async fn room_view(
        &self,
        actor: &Account,
        room: &str,
    ) -> Result<access::RoomView, Refused> {
        let (name, me) = (room.to_string(), actor.id);
        self.store
            .read("room access", move |conn| access::visible(conn, &name, me))
            .await
            .map_err(|_| Refused::Unavailable)?
            .ok_or(Refused::NoSuchRoom)
    }

    /// The settings page of `room` for `actor`.
    pub async fn room_page(&self, actor: &Account, room: &str) -> Result<RoomPage, Refused> {
        let view = self.room_view(actor, room).await?;
        let (name, account) = (room.to_string(), actor.id);
        let (settings, members, level) = self
            .store
            .read("room settings", move |conn| {
                let settings = access::settings(conn, &name)?.unwrap_or_default();
                let members = if settings.kind == RoomKind::Open {
                    Vec::new()
                } else {
                    access::members(conn, &name)?
                };
                let level = notifications::level(conn, account, &name)?;
                Ok((settings, members, level))
            })
            .await
            .map_err(|_| Refused::Unavailable)?;
        let creator = settings.creator == Some(actor.id);
        let private = settings.kind == RoomKind::Private;
        Ok(RoomPage {
            may_edit_topic: actor.admin || creator,
            may_add: private,
            may_remove: private && (actor.admin || creator),
            settings,
            view,
            members,
            level,
        })
    }

    /// Sets the viewer's notification level in `room`, a room it may see (a direct
    /// conversation's is fixed: it always notifies).
    pub async fn set_level(&self, actor: &Account, room: &str, level: &str) -> Result<(), Refused> {
        let page = self.room_page(actor, room).await?;
        if page.settings.kind == RoomKind::Direct {
            return Err(Refused::NotAllowed);
        }
        let level = Level::from_name(level).ok_or(Refused::Invalid(
            "a notification level is everything, mentions or nothing".into(),
        ))?;
        let (name, account) = (room.to_string(), actor.id);
        self.store
            .write("set a notification level", move |conn| {
                notifications::set(conn, account, &name, level)
            })
            .await
            .map_err(|_| Refused::Unavailable)
    }

    /// Sets `room`'s topic (its creator or an administrator) and, for an administrator, whether
    /// it is read-only (logged). Returns the read-only flag now.
    pub async fn update_room(
        &self,
        actor: &Account,
        room: &str,
        topic: &str,
        read_only: bool,
    ) -> Result<bool, Refused> {
        let page = self.room_page(actor, room).await?;
        if !page.may_edit_topic {
            return Err(Refused::NotAllowed);
        }
        let topic = checked_text(topic, MAX_TOPIC_CHARS, "topic", false)?;
        // Only an administrator changes who may post.
        let read_only = if actor.admin {
            read_only
        } else {
            page.settings.read_only
        };
        let changed = read_only != page.settings.read_only;
        let (name, actor, now) = (
            room.to_string(),
            actor.clone(),
            self.settings.clock.now_ms(),
        );
        self.store
            .write("update a room", move |conn| {
                let tx = conn.unchecked_transaction()?;
                access::update(&tx, &name, &topic, read_only)?;
                if changed {
                    let action = if read_only {
                        "make_read_only"
                    } else {
                        "make_writable"
                    };
                    moderation::log_action(&tx, now, actor.id, &actor.name, action, &name)?;
                }
                tx.commit()
            })
            .await
            .map_err(|_| Refused::Unavailable)?;
        Ok(read_only)
    }

    /// Adds the account called `name` to the private room `room` (any member may).
    pub async fn add_member(&self, actor: &Account, room: &str, name: &str) -> Result<(), Refused> {
        let page = self.room_page(actor, room).await?;
        if !page.may_add {
            return Err(Refused::NotAllowed);
        }
        let (room, key) = (room.to_string(), name_key(name.trim()));
        self.store
            .write("add a member", move |conn| {
                match rows::by_key(conn, &key)? {
                    Some((account, _)) if !account.banned => {
                        access::add_member(conn, &room, account.id)?;
                        Ok(true)
                    }
                    _ => Ok(false),
                }
            })
            .await
            .map_err(|_| Refused::Unavailable)?
            .then_some(())
            .ok_or(Refused::NotFound)
    }

    /// Removes account `target` from the private room `room` (its creator or an administrator;
    /// logged). The caller closes the target's sockets, so the room is gone from their pages.
    pub async fn remove_member(
        &self,
        actor: &Account,
        room: &str,
        target: i64,
    ) -> Result<(), Refused> {
        let page = self.room_page(actor, room).await?;
        if !page.may_remove {
            return Err(Refused::NotAllowed);
        }
        let Some(removed) = page.members.into_iter().find(|member| member.id == target) else {
            return Err(Refused::NotFound);
        };
        let (name, actor, now) = (
            room.to_string(),
            actor.clone(),
            self.settings.clock.now_ms(),
        );
        self.store
            .write("remove a member", move |conn| {
                let tx = conn.unchecked_transaction()?;
                access::remove_member(&tx, &name, target)?;
                let what = format!("{} from {}", removed.name, name);
                moderation::log_action(&tx, now, actor.id, &actor.name, "remove_member", &what)?;
                tx.commit()
            })
            .await
            .map_err(|_| Refused::Unavailable)
    }
}
