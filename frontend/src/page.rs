//! The page's state and what the reader can do with it. [`PageState`] is shared through
//! context: the views in [`crate::views`] read it and call its actions, and
//! [`crate::connect`] feeds it the socket's frames. Neither is imported here.

use std::rc::Rc;

use chat_shared::{validate_room, ClientFrame, DEFAULT_ROOM};
use leptos::prelude::*;

use crate::chat::{Chat, InitialPage};
use crate::coded::Coded;
use crate::layout::Zone;
use crate::room::Pending;
use crate::scroll::LogView;
use crate::state::Status;

/// Sends one frame; `false` when there is no open socket.
pub type SendFn = Rc<dyn Fn(&ClientFrame) -> bool>;

/// Everything the page's views share. `Copy`: every field is a handle.
#[derive(Clone, Copy)]
pub struct PageState {
    /// Rooms, messages, presence and the reader's name.
    pub chat: RwSignal<Chat>,
    /// The connection, as the badge shows it.
    pub status: Coded<Status>,
    /// UTC until the browser has taken over the server's HTML, then local time.
    pub zone: Coded<Zone>,
    /// The clock (ms since the epoch), ticking once a second, for typing notices.
    pub now: RwSignal<u64>,
    /// What the reader is typing.
    pub draft: RwSignal<String>,
    /// Why the last message was refused, or another problem from the server.
    pub composer_error: RwSignal<Option<String>>,
    /// Why the last name change was refused.
    pub name_error: RwSignal<Option<String>>,
    /// The sidebar, as a drawer on narrow screens.
    pub drawer_open: Coded<bool>,
    /// The scrolling log.
    pub log: LogView,
    /// The message the composer answers.
    pub replying: StoredValue<Option<u64>>,
    /// The message the composer edits (its text is the draft).
    pub editing: StoredValue<Option<u64>>,
    /// What the composer says it is doing besides sending a new message (replying to whom,
    /// editing). The same signal type as `composer_error`: each new signal type costs the page's
    /// WebAssembly its own copy of the signal code (BENCHMARKS.md).
    pub context: RwSignal<Option<String>>,
    /// A message to show once older pages have brought it (a reply's original).
    pub(crate) jump: StoredValue<Option<u64>>,
    /// Who reads the page, when they signed in (accounts mode); `None` for a guest.
    pub viewer: Option<Viewer>,
    socket: StoredValue<Option<SendFn>, LocalStorage>,
}

/// The signed-in reader, as the server rendered the page for them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Viewer {
    /// The reader's account id, which their messages carry.
    pub account: u64,
    /// An administrator may delete anyone's message.
    pub admin: bool,
}

impl Viewer {
    /// Whether the server lets this reader delete a message posted by `author` (the same rule
    /// the server applies: its author's account, or an administrator).
    pub fn may_delete(self, author: Option<u64>) -> bool {
        self.admin || author == Some(self.account)
    }
}

/// How many older messages one scroll to the top loads.
const HISTORY_PAGE: u32 = 50;

impl PageState {
    pub(crate) fn new(initial: InitialPage) -> Self {
        let zone = initial.utc_offset_minutes.map_or(Zone::Utc, Zone::Offset);
        let viewer = initial.account.map(|account| Viewer {
            account,
            admin: initial.admin,
        });
        PageState {
            viewer,
            chat: RwSignal::new(Chat::new(initial)),
            status: Coded::new(Status::Connecting),
            zone: Coded::new(zone),
            now: RwSignal::new(0),
            draft: RwSignal::new(String::new()),
            composer_error: RwSignal::new(None),
            name_error: RwSignal::new(None),
            drawer_open: Coded::new(false),
            log: LogView::new(),
            replying: StoredValue::new(None),
            editing: StoredValue::new(None),
            context: RwSignal::new(None),
            jump: StoredValue::new(None),
            socket: StoredValue::new_local(None),
        }
    }

    /// The page's state, which [`App`] provides to every view inside it. Not Leptos'
    /// `expect_context`, whose panic message formats the type's name with `{:?}` and so
    /// compiles string escaping into the page (BENCHMARKS.md).
    pub fn from_context() -> Self {
        use_context().expect("every view is inside App, which provides the PageState")
    }

    /// Uses `send` for every frame from now on.
    pub fn set_socket(&self, send: SendFn) {
        self.socket.set_value(Some(send));
    }

    /// Sends a frame if connected.
    pub fn send(&self, frame: &ClientFrame) -> bool {
        self.socket
            .with_value(|socket| socket.as_ref().is_some_and(|send| send(frame)))
    }

    /// The room on screen.
    pub fn current(&self) -> String {
        self.chat.with_untracked(|chat| chat.current.clone())
    }

    /// Sends `text` to the room on screen. It shows as pending at once; it goes out now if the
    /// room is joined, or after the next (re)join otherwise, with the same `cid` either way.
    pub fn send_message(&self, text: String) {
        let cid = new_cid();
        let room = self.current();
        let reply_to = self.replying.get_value();
        if reply_to.is_some() {
            self.replying.set_value(None);
            self.context.set(None);
        }
        let joined = self.chat.try_update(|chat| {
            let room = chat.room_mut(&room)?;
            room.pending.push(Pending {
                cid: cid.clone(),
                text: text.clone(),
                reply_to,
            });
            Some(room.joined)
        });
        if joined.flatten() == Some(true) {
            self.send(&ClientFrame::Send {
                room: Some(room.clone()),
                text,
                cid: Some(cid),
                reply_to,
            });
        }
        self.log.follow();
    }

    /// A message the server refused goes back into the composer with the reason: nothing typed
    /// is lost.
    pub fn take_back(&self, text: String, reason: String) {
        self.composer_error.set(Some(reason));
        self.draft.update(|draft| {
            *draft = if draft.trim().is_empty() {
                text
            } else {
                format!("{text} {draft}")
            }
        });
    }

    /// The reader typed: tell the room, at most as often as the server relays it.
    pub fn typing(&self) {
        let now = now_ms();
        // When the room's last notice went out is kept with the room (untracked: nothing shows it).
        let room = self.chat.try_update_untracked(|chat| {
            let room = chat.room_mut(&chat.current.clone())?;
            (now >= room.typing_sent + chat_shared::TYPING_INTERVAL_MS).then(|| {
                room.typing_sent = now;
                room.name.clone()
            })
        });
        if let Some(Some(room)) = room {
            self.send(&ClientFrame::Typing { room });
        }
    }

    /// Puts `room` on screen (joining it first if this tab is not in it), keeping the scroll
    /// position of the room left and restoring that of the room shown.
    pub fn show_room(&self, room: &str, push_url: bool) {
        let from = self.current();
        if from == room {
            self.drawer_open.set(false);
            return;
        }
        self.log.save_position(&from);
        let added = self.chat.try_update(|chat| {
            let added = chat.add_room(room);
            chat.switch_to(room);
            added
        });
        if added == Some(true) {
            self.join(room);
        }
        self.after_switch(push_url);
    }

    fn after_switch(&self, push_url: bool) {
        let room = self.current();
        let new_line = self
            .chat
            .with_untracked(|chat| chat.current_room().and_then(|room| room.new_line));
        self.log.restore_position(&room, new_line);
        // Read only once the reader has scrolled past what is new.
        if new_line.is_none() {
            self.mark_read();
        }
        self.drawer_open.set(false);
        self.composer_error.set(None);
        self.save_rooms();
        if push_url {
            set_url(&room);
        }
    }

    /// A signed-in reader has seen the room on screen to its end (the tab visible, the log
    /// scrolled to the bottom): the server is told, once per new last message, and tells every
    /// tab and device of the account.
    pub fn mark_read(&self) {
        #[cfg(feature = "browser")]
        if document().hidden() {
            return;
        }
        if self.viewer.is_none() || !self.log.should_stick() {
            return;
        }
        let read = self.chat.with_untracked(|chat| {
            let room = chat.current_room()?;
            (room.joined && room.last_id > room.read).then(|| (room.name.clone(), room.last_id))
        });
        let Some((room, id)) = read else {
            return;
        };
        // Noted as told only once it went out (else the next tick tries again).
        if self.send(&ClientFrame::Read {
            room: room.clone(),
            id,
        }) {
            self.chat.update_untracked(|chat| {
                if let Some(room) = chat.room_mut(&room) {
                    room.read = room.read.max(id);
                }
            });
        }
    }

    /// Joins a room by name from the join field. Returns why not, in words.
    pub fn join_by_name(&self, name: &str) -> Result<(), String> {
        let name = name.trim();
        validate_room(name).map_err(|err| err.message)?;
        self.show_room(name, true);
        Ok(())
    }

    /// Sends `join` for a room, resuming from what this tab has seen of it.
    pub fn join(&self, room: &str) {
        let resume = self
            .chat
            .with_untracked(|chat| chat.room(room).and_then(|r| r.resume_point()));
        let (since, epoch) = match resume {
            Some((since, epoch)) => (Some(since), Some(epoch)),
            None => (None, None),
        };
        self.send(&ClientFrame::Join {
            room: room.to_string(),
            since,
            epoch,
        });
    }

    /// Leaves a room and removes it from the sidebar.
    /// Asks the server to delete message `id` of the room on screen, once the reader confirms
    /// (the browser's own dialog: keyboard-reachable, and no dialog code in the WebAssembly).
    /// The line changes when the deletion comes back through the room, as for every member.
    pub fn delete(&self, id: u64) {
        #[cfg(feature = "browser")]
        if !window()
            .confirm_with_message("Delete this message for everyone?")
            .unwrap_or(false)
        {
            return;
        }
        if !self.send(&ClientFrame::Delete {
            room: self.current(),
            id,
        }) {
            self.composer_error
                .set(Some("Not connected: the message was not deleted.".into()));
        }
    }

    pub fn leave(&self, room: &str) {
        self.send(&ClientFrame::Leave {
            room: room.to_string(),
        });
        let was_current = self.current() == room;
        let added_lobby = self.chat.try_update(|chat| {
            let had_lobby = chat.room(DEFAULT_ROOM).is_some();
            chat.remove_room(room);
            !had_lobby && chat.room(DEFAULT_ROOM).is_some()
        });
        if added_lobby == Some(true) {
            self.join(DEFAULT_ROOM);
        }
        if was_current {
            self.after_switch(true);
        } else {
            self.save_rooms();
        }
    }

    /// Asks the server for the page of messages above the oldest one shown.
    pub fn load_older(&self) {
        let request = self.chat.try_update(|chat| {
            let room = chat.room_mut(&chat.current.clone())?;
            if !room.joined || room.at_beginning || room.loading_older {
                return None;
            }
            room.loading_older = true;
            Some((room.name.clone(), room.oldest_id()))
        });
        if let Some(Some((room, before))) = request {
            if !self.send(&ClientFrame::History {
                room: room.clone(),
                before,
                around: None,
                limit: Some(HISTORY_PAGE),
            }) {
                self.chat.update(|chat| {
                    if let Some(room) = chat.room_mut(&room) {
                        room.loading_older = false;
                    }
                });
            }
        }
    }

    /// Asks for a new display name.
    pub fn change_name(&self, name: &str) {
        let name = name.trim();
        if let Err(err) = chat_shared::normalize_name(name) {
            self.name_error.set(Some(err.message));
            return;
        }
        if self
            .chat
            .with_untracked(|chat| chat.me.as_deref() == Some(name))
        {
            self.name_error.set(None);
            return;
        }
        #[cfg(feature = "browser")]
        let token = crate::storage::token_for(name);
        #[cfg(not(feature = "browser"))]
        let token = None;
        let sent = self.send(&ClientFrame::Hello {
            name: name.to_string(),
            token,
        });
        self.name_error.set(if sent {
            None
        } else {
            Some("Not connected: try again once the connection is back.".into())
        });
    }

    /// Remembers the sidebar's rooms in this browser.
    pub(crate) fn save_rooms(&self) {
        #[cfg(feature = "browser")]
        crate::storage::save_rooms(&self.chat.with_untracked(Chat::room_names));
    }

    /// Adds a note to every room's log, keeping a reader at the bottom there.
    #[cfg(feature = "browser")]
    pub(crate) fn notice_everywhere(&self, text: &str, also: impl FnOnce(&mut Chat)) {
        let stick = self.log.should_stick();
        self.chat.update(|chat| {
            also(chat);
            chat.notice_everywhere(text);
        });
        if stick {
            self.log.follow();
        }
    }
}

/// The page's address for a room: `/` for the lobby, `/r/<room>` otherwise.
pub fn room_path(room: &str) -> String {
    if room == DEFAULT_ROOM {
        "/".to_string()
    } else {
        format!("/r/{room}")
    }
}

/// The room named by a page address.
pub fn room_from_path(path: &str) -> String {
    path.strip_prefix("/r/")
        .map(|room| room.trim_end_matches('/'))
        .filter(|room| validate_room(room).is_ok())
        .unwrap_or(DEFAULT_ROOM)
        .to_string()
}

fn set_url(room: &str) {
    #[cfg(feature = "browser")]
    if let Ok(history) = window().history() {
        let _ =
            history.push_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(&room_path(room)));
    }
    #[cfg(not(feature = "browser"))]
    let _ = room;
}

/// Milliseconds since the Unix epoch (0 on the server, which never needs it).
pub fn now_ms() -> u64 {
    #[cfg(feature = "browser")]
    return js_sys::Date::now() as u64;
    #[cfg(not(feature = "browser"))]
    0
}

/// A random client id for a message, so a resend after a reconnect is stored once.
fn new_cid() -> String {
    #[cfg(feature = "browser")]
    {
        let part = || (js_sys::Math::random() * 4_294_967_296.0) as u32;
        let cid = format!("{:08x}{:08x}{:08x}", part(), part(), part());
        debug_assert_eq!(cid.len(), crate::state::CID_DIGITS);
        cid
    }
    #[cfg(not(feature = "browser"))]
    String::new()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn room_addresses_round_trip() {
        assert_eq!(room_path("lobby"), "/");
        assert_eq!(room_path("rust"), "/r/rust");
        assert_eq!(room_from_path("/"), "lobby");
        assert_eq!(room_from_path("/r/rust"), "rust");
        assert_eq!(room_from_path("/r/rust/"), "rust");
        assert_eq!(room_from_path("/r/Not%20valid"), "lobby");
        assert_eq!(room_from_path("/pkg/chat.js"), "lobby");
    }
}
