//! Every room this tab has joined, which one is on screen, and who "I" am: the state behind the
//! whole page, changed only by the server's frames and the reader's actions. Plain Rust, tested
//! natively; the app turns the returned [`Reaction`]s into socket sends and storage writes.

use chat_shared::{ErrorCode, Joined, Limits, ServerFrame, DEFAULT_ROOM};
use serde::{Deserialize, Serialize};

use crate::names::same_name;
use crate::room::{Pending, RoomState};

/// What the server knows when it renders a page: the room in the URL and, if the room exists,
/// its latest messages. The same value is embedded in the page for the WebAssembly to start from,
/// so the hydrated page shows exactly what the server rendered.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct InitialPage {
    /// The room named by the URL.
    pub room: String,
    /// Its latest page, as of the render, written as the `joined` frame the socket sends, so
    /// that the page reads it with the frame reader it has anyway (a reader of its own for
    /// [`Joined`] would add 0.9 KB gzip to the WebAssembly).
    #[serde(with = "as_joined_frame")]
    pub snapshot: Option<Joined>,
    /// The browser's UTC offset in minutes, from its cookie, that times were rendered in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub utc_offset_minutes: Option<i32>,
    /// The signed-in reader's account (accounts mode), so the page knows which messages are
    /// the reader's own to delete.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<u64>,
    /// The reader is an administrator: any message may be deleted, and the page links to the
    /// administrators' page.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub admin: bool,
    /// The signed-in reader's rooms (those it has read in, its private rooms and direct
    /// conversations), so that a browser it never used lists them with their unread counts.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rooms: Vec<String>,
}

/// [`InitialPage::snapshot`] as a `joined` frame.
mod as_joined_frame {
    use chat_shared::{Joined, ServerFrame};
    use serde::{de, Deserialize, Deserializer, Serialize, Serializer};

    /// Written by the protocol's own `ServerFrame`, so it is exactly what the socket sends. The
    /// copy costs one page of messages per page render (not per message).
    pub fn serialize<S: Serializer>(snapshot: &Option<Joined>, s: S) -> Result<S::Ok, S::Error> {
        snapshot.clone().map(ServerFrame::Joined).serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Joined>, D::Error> {
        match Option::<ServerFrame>::deserialize(d)? {
            None => Ok(None),
            Some(ServerFrame::Joined(joined)) => Ok(Some(joined)),
            Some(_) => Err(de::Error::custom("the snapshot is not a joined frame")),
        }
    }
}

/// The signed-in reader's box in the sidebar (name, account links, sign-out form), as HTML the
/// server renders into the page. The browser never builds it: hydration keeps the server's markup
/// (so the WebAssembly carries none of it), and a page without it (a guest's) has none.
#[derive(Debug, Clone, Default)]
pub struct AccountMarkup(pub String);

/// The `id` of the `<script type="application/json">` that carries the [`InitialPage`] from the
/// server's render to the WebAssembly that takes it over.
pub const INITIAL_PAGE_ID: &str = "chat-initial";

/// The [`InitialPage`] as JSON that is safe inside a `<script>` element: every `<` (which could
/// start `</script>` in a message) is written as `\u003c`, which JSON reads back the same.
pub fn initial_page_json(initial: &InitialPage) -> String {
    serde_json::to_string(initial)
        .unwrap_or_else(|_| "null".into())
        .replace('<', "\\u003c")
}

/// Something the page must do because of a frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reaction {
    /// Send these again in `room` (after a reconnect), with their original `cid`.
    Resend {
        /// Where.
        room: String,
        /// What, oldest first.
        pending: Vec<Pending>,
    },
    /// The server gave us this name; keep the token for it.
    Welcome {
        /// The name as claimed.
        name: String,
        /// Its secret.
        token: String,
    },
    /// A name change was refused.
    NameRefused(String),
    /// A message was refused: back into the composer with the reason.
    Refused {
        /// The refused text.
        text: String,
        /// Why, in words.
        reason: String,
    },
    /// Any other error, for the composer's error line.
    Problem(String),
    /// Messages arrived in the room on screen (`mine`: at least one was ours).
    Arrived {
        /// How many.
        count: usize,
        /// One of them was sent by this name.
        mine: bool,
    },
    /// An older page was put above the room on screen.
    OlderLoaded,
    /// The room on screen opened with messages the account had not read: the "new" line is
    /// above this one, and the log starts there.
    NewLine(u64),
}

/// The page's chat state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chat {
    /// Joined rooms in sidebar order.
    pub rooms: Vec<RoomState>,
    /// The room on screen.
    pub current: String,
    /// The name the server knows this connection by (a guest name until `hello`).
    pub me: Option<String>,
    /// The largest message the server takes, from its `limits` frame (the default until it
    /// arrives); the one limit of that frame the page checks against.
    pub max_frame_bytes: u64,
    /// The signed-in reader's account (accounts and `jwt` modes): what mentions name.
    pub account: Option<u64>,
}

impl Chat {
    /// The state a page starts with: its room, with what the server rendered into it.
    pub fn new(initial: InitialPage) -> Self {
        let room = if chat_shared::validate_room(&initial.room).is_ok() {
            initial.room
        } else {
            DEFAULT_ROOM.to_string()
        };
        let account = initial.account;
        let others = initial.rooms;
        let mut state = RoomState::new(room.clone());
        // A signed-in reader's page is rendered with their name in the snapshot.
        let me = initial
            .snapshot
            .as_ref()
            .map(|snapshot| snapshot.you.clone())
            .filter(|you| !you.is_empty());
        if let Some(snapshot) = initial.snapshot.filter(|s| s.room == room) {
            state.apply_joined(snapshot);
            // Rendered, not joined: the socket still has to join (and resumes from here).
            state.joined = false;
        }
        let mut chat = Chat {
            rooms: vec![state],
            current: room,
            me,
            max_frame_bytes: Limits::DEFAULT.max_frame_bytes,
            account,
        };
        // Names the server chose among its own rooms: valid.
        for other in others {
            chat.add_room(&other);
        }
        chat
    }

    /// The joined rooms' names, in sidebar order.
    pub fn room_names(&self) -> Vec<String> {
        self.rooms.iter().map(|room| room.name.clone()).collect()
    }

    /// Puts a note about the connection into every room's log.
    pub fn notice_everywhere(&mut self, text: &str) {
        for room in &mut self.rooms {
            room.push_notice(text);
        }
    }

    /// The room on screen.
    pub fn current_room(&self) -> Option<&RoomState> {
        self.room(&self.current)
    }

    /// A joined room by name.
    pub fn room(&self, name: &str) -> Option<&RoomState> {
        self.rooms.iter().find(|room| room.name == name)
    }

    /// A joined room by name, to change it.
    pub fn room_mut(&mut self, name: &str) -> Option<&mut RoomState> {
        self.rooms.iter_mut().find(|room| room.name == name)
    }

    /// Adds a room to the list (at the end) unless it is there. Returns true if it was added.
    pub fn add_room(&mut self, name: &str) -> bool {
        if self.room(name).is_some() {
            return false;
        }
        self.rooms.push(RoomState::new(name));
        true
    }

    /// Puts `name` on screen (adding it if needed): the "new" line above what was unread
    /// there, and its count cleared.
    pub fn switch_to(&mut self, name: &str) {
        self.add_room(name);
        self.current = name.to_string();
        let mine = self.mine();
        if let Some(room) = self.room_mut(name) {
            room.mark_new(mine);
            room.unread = 0;
            room.mentioned = false;
        }
    }

    /// Removes a room from the list. If it was on screen, the next one (or the lobby) is.
    pub fn remove_room(&mut self, name: &str) {
        let Some(at) = self.rooms.iter().position(|room| room.name == name) else {
            return;
        };
        self.rooms.remove(at);
        if self.current == name {
            let next = self
                .rooms
                .get(at.min(self.rooms.len().saturating_sub(1)))
                .map(|room| room.name.clone())
                .unwrap_or_else(|| DEFAULT_ROOM.to_string());
            self.switch_to(&next);
        }
    }

    /// Whether `mentions` (a message's) name the signed-in reader, or everyone.
    pub fn mentions_me(&self, mentions: &[u64]) -> bool {
        self.account
            .is_some_and(|me| mentions.iter().any(|&a| a == me || a == 0))
    }

    /// Tells this tab's own name from others', apart from the chat (to change a room with it).
    fn mine(&self) -> impl Fn(&str) -> bool {
        let me = self.me.clone();
        move |name| me.as_deref().is_some_and(|me| same_name(me, name))
    }

    /// True if `name` is this tab's own name.
    pub fn is_me(&self, name: &str) -> bool {
        self.me.as_deref().is_some_and(|me| same_name(me, name))
    }

    /// The server closed the socket over a message too large for it (1009). Takes the largest
    /// pending message out, so that it is never resent: the culprit, since the page checks the
    /// others against the server's limit. Should a smaller one be too large as well, the next
    /// close takes that one.
    pub fn take_largest_pending(&mut self) -> Option<Pending> {
        let mut largest: Option<(usize, usize, usize)> = None;
        for (r, room) in self.rooms.iter().enumerate() {
            for (p, pending) in room.pending.iter().enumerate() {
                if largest.is_none_or(|(.., len)| pending.text.len() > len) {
                    largest = Some((r, p, pending.text.len()));
                }
            }
        }
        let (r, p, _) = largest?;
        Some(self.rooms[r].pending.remove(p))
    }

    /// The server lost the rooms' history (1012): the rejoin must not try to resume.
    pub fn forget_resume_points(&mut self) {
        for room in &mut self.rooms {
            room.epoch = None;
        }
    }

    /// The connection dropped.
    pub fn disconnected(&mut self) {
        for room in &mut self.rooms {
            room.disconnected();
        }
    }

    /// Applies one server frame at `now_ms`; returns what the page must do about it.
    pub fn apply(&mut self, frame: ServerFrame, now_ms: u64) -> Option<Reaction> {
        match frame {
            ServerFrame::Message(message) => {
                let mine = self.is_me(&message.name);
                let mentions_me = !mine && self.mentions_me(&message.mentions);
                let on_screen = message.room == self.current;
                let room = self.room_mut(&message.room)?;
                if !room.push_message(message) {
                    return None;
                }
                if on_screen {
                    Some(Reaction::Arrived { count: 1, mine })
                } else {
                    // (The reader's own, from another tab, is not new to them.)
                    if !mine {
                        room.unread = room.unread.saturating_add(1);
                    }
                    room.mentioned |= mentions_me;
                    None
                }
            }
            ServerFrame::Event(event) => {
                self.room_mut(&event.room)?.apply_event(event);
                None
            }
            ServerFrame::Joined(joined) => {
                if !joined.you.is_empty() {
                    self.me = Some(joined.you.clone());
                }
                let on_screen = joined.room == self.current;
                let name = joined.room.clone();
                let room = self.room_mut(&name)?;
                // The page's first word of where the account read to in the room on screen (a
                // page just loaded): it opens at what is new, as a room opened from the sidebar.
                let first_read = on_screen && room.read == 0 && joined.read.is_some();
                let pending = room.apply_joined(joined);
                if !pending.is_empty() {
                    return Some(Reaction::Resend {
                        room: name,
                        pending,
                    });
                }
                if first_read && room.unread > 0 {
                    // As if opened from the sidebar.
                    self.switch_to(&name);
                    if let Some(id) = self.current_room()?.new_line {
                        return Some(Reaction::NewLine(id));
                    }
                }
                on_screen.then_some(Reaction::Arrived {
                    count: 0,
                    mine: false,
                })
            }
            ServerFrame::Presence {
                room,
                joined,
                left,
                count,
            } => {
                self.room_mut(&room)?.apply_presence(joined, left, count);
                None
            }
            ServerFrame::Typing { room, name } => {
                if !self.is_me(&name) {
                    self.room_mut(&room)?.set_typing(name, now_ms);
                }
                None
            }
            ServerFrame::History {
                room,
                messages,
                more,
            } => {
                let on_screen = room == self.current;
                self.room_mut(&room)?.prepend_history(messages, more);
                on_screen.then_some(Reaction::OlderLoaded)
            }
            ServerFrame::Read { room, id } => {
                let mine = self.mine();
                self.room_mut(&room)?.read_to(id, mine);
                None
            }
            // The page never asks for a page of members (it shows a crowd's count), nor searches
            // (the search page does).
            ServerFrame::Members { .. } | ServerFrame::Results { .. } => None,
            ServerFrame::Welcome { name, token } => {
                self.me = Some(name.clone());
                Some(Reaction::Welcome { name, token })
            }
            ServerFrame::Error(error) => {
                // (A `not_allowed` outside any room answers `hello`: a name banned here.)
                let about_the_name =
                    matches!(error.code, ErrorCode::InvalidName | ErrorCode::NameTaken)
                        || (error.code == ErrorCode::NotAllowed && error.room.is_none());
                if about_the_name {
                    return Some(Reaction::NameRefused(error.message));
                }
                let refused = match (&error.room, &error.cid) {
                    (Some(room), Some(cid)) => {
                        self.room_mut(room).and_then(|room| room.take_pending(cid))
                    }
                    _ => None,
                };
                Some(match refused {
                    Some(pending) => Reaction::Refused {
                        text: pending.text,
                        reason: error.message,
                    },
                    None => Reaction::Problem(error.message),
                })
            }
            ServerFrame::Limits(limits) => {
                self.max_frame_bytes = limits.max_frame_bytes;
                None
            }
            ServerFrame::Left { .. } => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chat_shared::{ChatMessage, ErrorFrame};

    fn message(room: &str, id: u64, name: &str) -> ServerFrame {
        ServerFrame::Message(ChatMessage {
            id,
            room: room.into(),
            name: name.into(),
            text: format!("{room} {id}"),
            ts: 0,
            cid: None,
            ..Default::default()
        })
    }

    fn joined(room: &str, you: &str) -> ServerFrame {
        ServerFrame::Joined(Joined {
            room: room.into(),
            epoch: "e".into(),
            last_id: 0,
            recovered: false,
            messages: vec![],
            events: vec![],
            members: vec![you.into()],
            count: None,
            you: you.into(),
            title: String::new(),
            topic: String::new(),
            read: None,
            unread: None,
            mentioned: false,
            notify_every: false,
            muted: false,
        })
    }

    #[test]
    fn limits_from_the_server_replace_the_defaults() {
        let mut chat = Chat::new(InitialPage::default());
        assert_eq!(
            chat.max_frame_bytes,
            u64::from(chat_shared::DEFAULT_MAX_FRAME_BYTES)
        );
        let lowered = Limits {
            max_frame_bytes: 512,
        };
        assert_eq!(chat.apply(ServerFrame::Limits(lowered), 0), None);
        assert_eq!(chat.max_frame_bytes, 512);
    }

    #[test]
    fn a_too_large_close_takes_the_largest_pending_message_and_a_reset_forgets_resume_points() {
        let mut chat = Chat::new(InitialPage::default());
        chat.add_room("rust");
        let pending = |cid: &str, text: &str| Pending {
            cid: cid.into(),
            text: text.into(),
            reply_to: None,
        };
        chat.room_mut("lobby").unwrap().pending = vec![pending("a", "short")];
        chat.room_mut("rust").unwrap().pending =
            vec![pending("b", &"long ".repeat(50)), pending("c", "mid size")];
        assert_eq!(chat.take_largest_pending().unwrap().cid, "b");
        assert_eq!(
            chat.room("rust").unwrap().pending,
            [pending("c", "mid size")]
        );
        assert_eq!(chat.take_largest_pending().unwrap().cid, "c");
        assert_eq!(chat.take_largest_pending().unwrap().cid, "a");
        assert_eq!(chat.take_largest_pending(), None);

        chat.apply(joined("rust", "me"), 0);
        assert!(chat.room("rust").unwrap().resume_point().is_some());
        chat.forget_resume_points();
        assert_eq!(chat.room("rust").unwrap().resume_point(), None);
    }

    #[test]
    fn messages_go_to_their_room_and_count_as_unread_elsewhere() {
        let mut chat = Chat::new(InitialPage {
            room: "lobby".into(),
            snapshot: None,
            utc_offset_minutes: None,
            ..Default::default()
        });
        chat.add_room("rust");
        chat.apply(joined("lobby", "guest-1a2b"), 0);
        chat.apply(joined("rust", "guest-1a2b"), 0);
        assert_eq!(
            chat.apply(message("lobby", 1, "guest-1a2b"), 0),
            Some(Reaction::Arrived {
                count: 1,
                mine: true
            })
        );
        assert_eq!(chat.apply(message("rust", 1, "bob"), 0), None);
        chat.apply(message("rust", 2, "bob"), 0);
        assert_eq!(chat.room("rust").unwrap().unread, 2);
        assert_eq!(chat.room("lobby").unwrap().unread, 0);
        chat.switch_to("rust");
        assert_eq!(chat.room("rust").unwrap().unread, 0);
        // A message for a room this tab left is dropped.
        chat.remove_room("lobby");
        assert_eq!(chat.apply(message("lobby", 2, "bob"), 0), None);
        assert_eq!(chat.rooms.len(), 1);
    }

    #[test]
    fn an_accounts_read_position_sets_the_count_from_any_tab_or_device() {
        let mut chat = Chat::new(InitialPage {
            room: "lobby".into(),
            account: Some(5),
            ..Default::default()
        });
        chat.add_room("rust");
        chat.apply(joined("lobby", "ann"), 0);
        // The server counts what others wrote after the account's position (a reload, a new
        // device): 7 in all, though this tab holds fewer of them.
        let ServerFrame::Joined(mut rust) = joined("rust", "ann") else {
            unreachable!()
        };
        (rust.read, rust.unread) = (Some(2), Some(7));
        chat.apply(ServerFrame::Joined(rust), 0);
        assert_eq!(chat.room("rust").unwrap().unread, 7);
        for (id, name) in [(3, "bob"), (4, "ann"), (5, "bob")] {
            chat.apply(message("rust", id, name), 0);
        }
        // Read up to 3 elsewhere: what others wrote after it is left, the reader's own not.
        let read = |id| ServerFrame::Read {
            room: "rust".into(),
            id,
        };
        chat.apply(read(3), 0);
        assert_eq!(chat.room("rust").unwrap().unread, 1);
        // Never back.
        chat.apply(read(1), 0);
        assert_eq!(chat.room("rust").unwrap().read, 3);
        chat.apply(read(5), 0);
        assert_eq!(chat.room("rust").unwrap().unread, 0);

        // A message that names the reader (or everyone) marks the room until it is read.
        let ServerFrame::Message(mut named) = message("rust", 6, "bob") else {
            unreachable!()
        };
        named.mentions = vec![2, 5];
        chat.apply(ServerFrame::Message(named.clone()), 0);
        assert!(chat.room("rust").unwrap().mentioned);
        chat.apply(read(6), 0);
        assert!(!chat.room("rust").unwrap().mentioned);
        named.mentions = vec![2];
        named.id = 7;
        chat.apply(ServerFrame::Message(named.clone()), 0);
        assert!(
            !chat.room("rust").unwrap().mentioned,
            "someone else's mention"
        );
        named.mentions = vec![0];
        named.id = 8;
        chat.apply(ServerFrame::Message(named), 0);
        assert!(chat.room("rust").unwrap().mentioned, "everyone");
    }

    #[test]
    fn opening_a_room_puts_the_new_line_above_the_first_unread_message() {
        let mut chat = Chat::new(InitialPage {
            room: "lobby".into(),
            ..Default::default()
        });
        chat.add_room("rust");
        chat.apply(joined("lobby", "ann"), 0);
        chat.apply(joined("rust", "ann"), 0);
        for (id, name) in [(1, "bob"), (2, "bob"), (3, "ann"), (4, "carl")] {
            chat.apply(message("rust", id, name), 0);
        }
        // Three unread, the reader's own not among them: the line is above bob's second.
        assert_eq!(chat.room("rust").unwrap().unread, 3);
        chat.switch_to("rust");
        let rust = chat.room("rust").unwrap();
        assert_eq!((rust.new_line, rust.unread), (Some(1), 0));
        chat.switch_to("lobby");
        chat.apply(message("rust", 5, "bob"), 0);
        chat.switch_to("rust");
        assert_eq!(chat.room("rust").unwrap().new_line, Some(5));
        // Nothing new: no line.
        chat.switch_to("lobby");
        chat.switch_to("rust");
        assert_eq!(chat.room("rust").unwrap().new_line, None);
    }

    #[test]
    fn a_page_opens_at_what_its_account_had_not_read() {
        let mut chat = Chat::new(InitialPage {
            room: "rust".into(),
            ..Default::default()
        });
        let ServerFrame::Joined(mut first) = joined("rust", "ann") else {
            unreachable!()
        };
        first.messages = [(1, "bob"), (2, "ann"), (3, "bob"), (4, "carl")]
            .map(|(id, name)| match message("rust", id, name) {
                ServerFrame::Message(m) => m,
                _ => unreachable!(),
            })
            .to_vec();
        first.last_id = 4;
        (first.read, first.unread) = (Some(2), Some(2));
        let again = first.clone();
        assert_eq!(
            chat.apply(ServerFrame::Joined(first), 0),
            Some(Reaction::NewLine(3))
        );
        let rust = chat.room("rust").unwrap();
        assert_eq!((rust.new_line, rust.unread), (Some(3), 0));
        // A reconnect's join does not move the reader.
        assert_ne!(
            chat.apply(ServerFrame::Joined(again), 0),
            Some(Reaction::NewLine(3))
        );
    }

    #[test]
    fn leaving_the_room_on_screen_shows_the_next_one() {
        let mut chat = Chat::new(InitialPage {
            room: "a".into(),
            snapshot: None,
            utc_offset_minutes: None,
            ..Default::default()
        });
        chat.add_room("b");
        chat.add_room("c");
        chat.switch_to("b");
        chat.remove_room("b");
        assert_eq!(chat.current, "c");
        chat.remove_room("c");
        chat.remove_room("a");
        assert_eq!(chat.current, DEFAULT_ROOM, "never nowhere");
        assert_eq!(chat.rooms.len(), 1);
    }

    #[test]
    fn a_rendered_page_resumes_from_its_snapshot() {
        let snapshot = Joined {
            room: "rust".into(),
            epoch: "e9".into(),
            last_id: 7,
            recovered: false,
            messages: vec![],
            events: vec![],
            members: vec![],
            count: None,
            you: String::new(),
            title: String::new(),
            topic: String::new(),
            read: None,
            unread: None,
            mentioned: false,
            notify_every: false,
            muted: false,
        };
        let chat = Chat::new(InitialPage {
            room: "rust".into(),
            snapshot: Some(snapshot),
            utc_offset_minutes: None,
            ..Default::default()
        });
        let room = chat.current_room().unwrap();
        assert_eq!(room.resume_point(), Some((7, "e9".into())));
        assert!(!room.joined);
        // A URL with an invalid room falls back to the lobby.
        let chat = Chat::new(InitialPage {
            room: "Not A Room".into(),
            snapshot: None,
            utc_offset_minutes: None,
            ..Default::default()
        });
        assert_eq!(chat.current, DEFAULT_ROOM);
    }

    #[test]
    fn the_embedded_page_reads_back_with_its_snapshot_as_a_joined_frame() {
        let ServerFrame::Joined(snapshot) = joined("rust", "alice") else {
            unreachable!()
        };
        let initial = InitialPage {
            room: "rust".into(),
            snapshot: Some(snapshot.clone()),
            utc_offset_minutes: Some(60),
            account: Some(7),
            admin: true,
            rooms: vec!["ops".into()],
        };
        // The account's rooms are in the sidebar from the start.
        assert_eq!(Chat::new(initial.clone()).room_names(), ["rust", "ops"]);
        let json = serde_json::to_value(&initial).unwrap();
        assert_eq!(
            serde_json::from_value::<ServerFrame>(json["snapshot"].clone()).unwrap(),
            ServerFrame::Joined(snapshot),
            "the snapshot is the frame the socket would send"
        );
        assert_eq!(
            serde_json::from_value::<InitialPage>(json).unwrap(),
            initial
        );
        let empty = InitialPage::default();
        let json = serde_json::to_string(&empty).unwrap();
        assert_eq!(serde_json::from_str::<InitialPage>(&json).unwrap(), empty);
        let not_joined = r#"{"room":"rust","snapshot":{"type":"left","room":"rust"}}"#;
        assert!(serde_json::from_str::<InitialPage>(not_joined).is_err());
    }

    #[test]
    fn refusals_go_back_to_whoever_asked() {
        let mut chat = Chat::new(InitialPage {
            room: "lobby".into(),
            snapshot: None,
            utc_offset_minutes: None,
            ..Default::default()
        });
        chat.room_mut("lobby").unwrap().pending.push(Pending {
            cid: "c1".into(),
            text: "hello".into(),
            reply_to: None,
        });
        let refusal = |code, cid: Option<&str>| {
            ServerFrame::Error(ErrorFrame {
                code,
                message: "no".into(),
                room: Some("lobby".into()),
                retry_after_ms: None,
                cid: cid.map(Into::into),
            })
        };
        assert_eq!(
            chat.apply(refusal(ErrorCode::RateLimited, Some("c1")), 0),
            Some(Reaction::Refused {
                text: "hello".into(),
                reason: "no".into()
            })
        );
        assert!(chat.room("lobby").unwrap().pending.is_empty());
        assert_eq!(
            chat.apply(refusal(ErrorCode::NameTaken, None), 0),
            Some(Reaction::NameRefused("no".into()))
        );
        assert_eq!(
            chat.apply(refusal(ErrorCode::NotJoined, None), 0),
            Some(Reaction::Problem("no".into()))
        );
        // `not_allowed` in a room is about what was done there; outside any, it answers
        // `hello` (a banned name) and goes under the name field.
        assert_eq!(
            chat.apply(refusal(ErrorCode::NotAllowed, None), 0),
            Some(Reaction::Problem("no".into()))
        );
        let banned_name = ServerFrame::Error(ErrorFrame {
            code: ErrorCode::NotAllowed,
            message: "banned".into(),
            room: None,
            retry_after_ms: None,
            cid: None,
        });
        assert_eq!(
            chat.apply(banned_name, 0),
            Some(Reaction::NameRefused("banned".into()))
        );
    }

    #[test]
    fn own_typing_is_not_shown() {
        let mut chat = Chat::new(InitialPage {
            room: "lobby".into(),
            snapshot: None,
            utc_offset_minutes: None,
            ..Default::default()
        });
        chat.apply(
            ServerFrame::Welcome {
                name: "Alice".into(),
                token: "t".into(),
            },
            0,
        );
        let typing = |name: &str| ServerFrame::Typing {
            room: "lobby".into(),
            name: name.into(),
        };
        chat.apply(typing("alice"), 0);
        chat.apply(typing("bob"), 0);
        assert_eq!(chat.current_room().unwrap().typing_names(1), vec!["bob"]);
    }
}
