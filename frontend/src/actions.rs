//! What the reader does to messages: react, reply, edit, delete, and go to a reply's
//! original. Every message's controls are plain buttons with a `data-act`, handled by one
//! listener on the log (one closure for all of them, not one per button and line).

use chat_shared::{quote, ChatMessage, ClientFrame, GUEST_PREFIX};
use leptos::prelude::*;

use crate::page::PageState;
use crate::room::EntryKind;

/// Most older pages loaded in a row to bring a reply's original on screen.
const JUMP_PAGES: u32 = 20;

impl PageState {
    /// A message of the room on screen, as this tab holds it.
    fn message(&self, id: u64) -> Option<ChatMessage> {
        self.chat.with_untracked(|chat| {
            chat.current_room()?
                .entries()
                .find_map(|entry| match &entry.kind {
                    EntryKind::Message(message) if message.id == id => Some(message.clone()),
                    _ => None,
                })
        })
    }

    /// Whether the reader may edit (and delete) what was sent under `name`: their own, under a
    /// name they hold (a generated guest name is anyone's later, and the server refuses it).
    pub fn may_edit(&self, name: &str) -> bool {
        self.chat.with_untracked(|chat| {
            chat.is_me(name)
                && chat
                    .me
                    .as_deref()
                    .is_some_and(|me| !me.starts_with(GUEST_PREFIX))
        })
    }

    /// Runs a message control: `act` of the control, on message `id`, with its `emoji` for a
    /// reaction.
    pub fn act(&self, act: &str, id: u64, emoji: Option<String>) {
        match act {
            "react" => {
                if let Some(emoji) = emoji {
                    self.react(id, emoji);
                }
            }
            "menu" => self.open_menu(id),
            "reply" => self.start_reply(id),
            "edit" => self.start_edit(id),
            "delete" => self.delete(id),
            _ => {}
        }
    }

    /// Gives (or takes back) a reaction; the change shows when it comes back through the room.
    pub fn react(&self, id: u64, emoji: String) {
        if !self.send(&ClientFrame::React {
            room: self.current(),
            id,
            emoji,
        }) {
            self.composer_error
                .set(Some("Not connected: the reaction was not sent.".into()));
        }
    }

    /// Opens the menu of what the reader can do to message `id`.
    fn open_menu(&self, id: u64) {
        let Some(message) = self.message(id).filter(|m| !m.is_deleted()) else {
            return;
        };
        // Besides reacting and replying: editing (its author), deleting (also an administrator).
        let edit = self.may_edit(&message.name);
        let delete = edit || self.viewer.is_some_and(|v| v.may_delete(message.account));
        let me = self
            .chat
            .with_untracked(|chat| chat.me.clone())
            .unwrap_or_default();
        let given: Vec<String> = message
            .reactions
            .into_iter()
            .filter(|r| r.names.contains(&me))
            .map(|r| r.emoji)
            .collect();
        #[cfg(feature = "browser")]
        crate::menu::open(id, edit, delete, &given);
        #[cfg(not(feature = "browser"))]
        let _ = (edit, delete, given);
    }

    /// The composer answers message `id`.
    fn start_reply(&self, id: u64) {
        let Some(message) = self.message(id) else {
            return;
        };
        self.editing.set_value(None);
        self.replying.set_value(Some(id));
        self.context.set(Some(format!(
            "Replying to {}: {} (Escape cancels)",
            message.name,
            quote(&message.text)
        )));
        focus(COMPOSER);
    }

    /// The composer edits message `id`: its text becomes the draft.
    fn start_edit(&self, id: u64) {
        let Some(message) = self.message(id).filter(|m| !m.is_deleted()) else {
            return;
        };
        self.replying.set_value(None);
        self.editing.set_value(Some(id));
        self.context
            .set(Some("Editing your message (Escape cancels)".to_string()));
        self.draft.set(message.text);
        focus(COMPOSER);
    }

    /// Up in an empty composer: edits the reader's last message in the room on screen.
    pub fn edit_last(&self) -> bool {
        let last = self.chat.with_untracked(|chat| {
            chat.current_room()?
                .entries()
                .filter_map(|entry| match &entry.kind {
                    EntryKind::Message(m) if !m.is_deleted() => Some((m.id, m.name.clone())),
                    _ => None,
                })
                .filter(|(_, name)| chat.is_me(name))
                .last()
        });
        match last {
            Some((id, name)) if self.may_edit(&name) => {
                self.start_edit(id);
                true
            }
            _ => false,
        }
    }

    /// Escape: drops the edit or the reply under way (an edit's draft with it).
    pub fn cancel(&self) {
        if self.editing.get_value().is_some() {
            self.draft.set(String::new());
        }
        self.editing.set_value(None);
        self.replying.set_value(None);
        self.context.set(None);
    }

    /// The composer's text goes out: as the new text of the message being edited, else as a
    /// message (answering the one being replied to, if any).
    pub fn submit(&self, text: String) {
        let Some(id) = self.editing.get_value() else {
            return self.send_message(text);
        };
        if self.send(&ClientFrame::Edit {
            room: self.current(),
            id,
            text,
        }) {
            self.editing.set_value(None);
            self.context.set(None);
            self.draft.set(String::new());
        } else {
            self.composer_error
                .set(Some("Not connected: the edit was not sent.".into()));
        }
    }

    /// Shows message `id` of the room on screen: at once if the log holds it (the link's own
    /// `#m<id>` scrolls to it and highlights it), else once older pages have brought it.
    /// Returns whether the link can do it itself.
    pub fn show_message(&self, id: u64) -> bool {
        if self.message(id).is_some() {
            return true;
        }
        self.jump.set_value(Some(id));
        self.go_on_jumping();
        false
    }

    /// After an older page arrived: shows the message waited for, or loads the next page.
    pub(crate) fn go_on_jumping(&self) {
        let Some(id) = self.jump.get_value() else {
            return;
        };
        if self.message(id).is_some() {
            self.jump.set_value(None);
            reveal(id);
            return;
        }
        let (oldest, done) = self.chat.with_untracked(|chat| {
            chat.current_room().map_or((0, true), |room| {
                (room.oldest_id().unwrap_or(0), room.at_beginning)
            })
        });
        // Each page is 50 messages: stop at the room's beginning, past the id, or after a while.
        let pages = oldest.saturating_sub(id) / 50;
        if done || oldest <= id || pages > u64::from(JUMP_PAGES) {
            self.jump.set_value(None);
            self.composer_error
                .set(Some("That message is no longer kept.".into()));
            return;
        }
        self.load_older();
    }
}

/// The log's click handler: runs the control clicked, if any.
#[cfg(feature = "browser")]
pub fn on_log_click(page: PageState, ev: leptos::ev::MouseEvent) {
    use wasm_bindgen::JsCast;
    let Some(control) = ev
        .target()
        .and_then(|target| target.dyn_into::<web_sys::Element>().ok())
        .and_then(|element| element.closest("[data-act]").ok().flatten())
    else {
        return;
    };
    let act = control.get_attribute("data-act").unwrap_or_default();
    // A quote's message is in its link (`#m<id>`); any other control's is its line's.
    let id = control
        .get_attribute("href")
        .and_then(|href| href.strip_prefix("#m").map(str::to_string))
        .or_else(|| {
            control
                .closest("li")
                .ok()
                .flatten()
                .and_then(|line| line.get_attribute("data-id"))
        })
        .and_then(|id| id.parse::<u64>().ok());
    let Some(id) = id else {
        return;
    };
    if act == "goto" {
        if !page.show_message(id) {
            ev.prevent_default();
        }
        return;
    }
    page.act(&act, id, control.get_attribute("data-emoji"));
}

/// Scrolls to message `id` and highlights it (`:target`), as its `#m<id>` link does: in the
/// next frame, after the log has put its view back where it was above the older lines.
fn reveal(id: u64) {
    #[cfg(feature = "browser")]
    request_animation_frame(move || {
        let anchor = format!("m{id}");
        if let Some(line) = document().get_element_by_id(&anchor) {
            line.scroll_into_view();
        }
        let _ = window().location().set_hash(&anchor);
    });
    #[cfg(not(feature = "browser"))]
    let _ = id;
}

/// The composer's input.
const COMPOSER: &str = "composer-input";

/// Moves the keyboard focus to element `id` once the page has drawn it.
fn focus(id: &'static str) {
    #[cfg(feature = "browser")]
    request_animation_frame(move || {
        use wasm_bindgen::JsCast;
        if let Some(element) = document()
            .get_element_by_id(id)
            .and_then(|element| element.dyn_into::<web_sys::HtmlElement>().ok())
        {
            let _ = element.focus();
        }
    });
    #[cfg(not(feature = "browser"))]
    let _ = id;
}
