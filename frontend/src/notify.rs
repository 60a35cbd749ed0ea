//! Notifications while the page is open but hidden (issue 25): a message that mentions the
//! signed-in reader (or everyone), or any message of a room whose level is "everything" or of a
//! direct conversation (none of a room whose level is "nothing"), shows as a browser
//! notification, once the reader allowed it from the button in the sidebar's account box
//! (never asked on load); a click brings the tab forward at the message. The button's markup is the server's (hidden until the page knows the
//! browser can notify and the reader has not decided), and this module only wires it.

use chat_shared::{quote, ChatMessage};
use leptos::prelude::*;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;
use web_sys::{Notification, NotificationOptions, NotificationPermission};

use crate::page::PageState;

/// The `id` of the button that asks for the permission.
pub const BUTTON: &str = "notify-button";

/// Whether this browser has notifications at all (some have no `Notification`).
fn supported() -> bool {
    js_sys::Reflect::has(&window(), &"Notification".into()).unwrap_or(false)
}

/// Shows the button while the reader has not said yes or no; a click asks the browser, which
/// asks the reader.
pub fn wire() {
    let Some(button) = document().get_element_by_id(BUTTON) else {
        return;
    };
    if !supported() || Notification::permission() != NotificationPermission::Default {
        return;
    }
    let _ = button.remove_attribute("hidden");
    let ask = Closure::<dyn Fn()>::new(move || {
        let _ = Notification::request_permission();
        if let Some(button) = document().get_element_by_id(BUTTON) {
            let _ = button.set_attribute("hidden", "");
        }
    });
    let _ = button.add_event_listener_with_callback("click", ask.as_ref().unchecked_ref());
    // The button lives as long as the page.
    ask.forget();
}

/// Shows `message` as a notification if the page is hidden, the reader allowed it, the room's
/// level wants it (see the module's comment) and it is not their own. A click opens its room at it.
pub fn message(page: PageState, message: &ChatMessage) {
    if !document().hidden()
        || !supported()
        || Notification::permission() != NotificationPermission::Granted
    {
        return;
    }
    let room = page.chat.with_untracked(|chat| {
        let room = chat.room(&message.room)?;
        let wanted = room.notifies(chat.mentions_me(&message.mentions));
        (wanted && !chat.is_me(&message.name)).then(|| room.shown_name())
    });
    let Some(room) = room else {
        return;
    };
    let options = NotificationOptions::new();
    options.set_body(&quote(&message.text));
    options.set_tag(&message.room);
    let title = format!("{} in {room}", message.name);
    let Ok(shown) = Notification::new_with_options(&title, &options) else {
        return;
    };
    let (room, id) = (message.room.clone(), message.id);
    // The same closure type as the button's (one copy of its glue in the page); it lives as long
    // as the page, as the notification may.
    let open = Closure::<dyn Fn()>::new(move || {
        let _ = window().focus();
        page.show_room(&room, true);
        page.jump.set_value(Some(id));
        page.go_on_jumping();
    });
    shown.set_onclick(Some(open.as_ref().unchecked_ref()));
    open.forget();
}
