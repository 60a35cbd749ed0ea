//! The sidebar (a drawer on narrow screens): the reader's name, the rooms this browser joined
//! with their unread counts, and a field to join or create a room.

use leptos::ev::{KeyboardEvent, MouseEvent, SubmitEvent};
use leptos::prelude::*;

use crate::chat::AccountMarkup;
use crate::page::{room_path, PageState};

/// The sidebar.
#[component]
pub fn Sidebar() -> impl IntoView {
    let page = PageState::from_context();
    let on_keydown = move |ev: KeyboardEvent| {
        if ev.key() == "Escape" && page.drawer_open.get_untracked() {
            page.drawer_open.set(false);
            #[cfg(feature = "browser")]
            if let Some(toggle) = document().get_element_by_id("rooms-toggle") {
                use wasm_bindgen::JsCast;
                if let Ok(toggle) = toggle.dyn_into::<web_sys::HtmlElement>() {
                    let _ = toggle.focus();
                }
            }
        }
    };
    view! {
        <nav id="sidebar" class="sidebar" aria-label="Rooms" on:keydown=on_keydown>
            // Empty for a guest; for a signed-in reader it hides the name form (style/main.css).
            <AccountBox/>
            <NameForm/>
            <h2 class="sidebar-title">"Rooms"</h2>
            <RoomList/>
            <JoinForm/>
        </nav>
    }
}

#[component]
fn RoomList() -> impl IntoView {
    let page = PageState::from_context();
    // Each room's link as it should look; the list is redrawn only when one of them changes (a
    // join, a leave, a switch, an unread count), not on every message in the room on screen.
    let links = Memo::new(move |_| {
        page.chat.with(|chat| {
            chat.rooms
                .iter()
                .map(|room| {
                    (
                        room.name.clone(),
                        room.shown_name(),
                        room.name == chat.current,
                        room.unread,
                        room.mentioned,
                    )
                })
                .collect::<Vec<_>>()
        })
    });
    view! {
        <ul id="room-list" class="room-list">
            {move || {
                links
                    .get()
                    .into_iter()
                    .map(|(name, shown, current, unread, mentioned)| {
                        view! { <RoomLink name shown current unread mentioned/> }
                    })
                    .collect_view()
            }}
        </ul>
    }
}

#[component]
fn RoomLink(
    name: String,
    shown: String,
    current: bool,
    unread: u32,
    mentioned: bool,
) -> impl IntoView {
    let page = PageState::from_context();
    let on_click = {
        let name = name.clone();
        move |ev: MouseEvent| {
            // Let the browser open a new tab or window as asked.
            if ev.ctrl_key() || ev.meta_key() || ev.shift_key() || ev.button() != 0 {
                return;
            }
            ev.prevent_default();
            page.show_room(&name, true);
        }
    };
    view! {
        <li>
            <a
                href=room_path(&name)
                class="room-link"
                data-room=name.clone()
                aria-current=current.then_some("page")
                on:click=on_click
            >
                <span class="room-name">{shown}</span>
                {(unread > 0)
                    .then(|| {
                        view! {
                            <span class="unread">
                                {unread.to_string()}
                                <span class="visually-hidden">" unread"</span>
                                {mentioned
                                    .then(|| {
                                        view! {
                                            <span class="mention">
                                                <span aria-hidden="true">" @"</span>
                                                <span class="visually-hidden">", you were mentioned"</span>
                                            </span>
                                        }
                                    })}
                            </span>
                        }
                    })}
            </a>
        </li>
    }
}

#[component]
fn JoinForm() -> impl IntoView {
    let page = PageState::from_context();
    let field = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let on_submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        let name = field.get_untracked();
        if name.trim().is_empty() {
            return;
        }
        match page.join_by_name(&name) {
            Ok(()) => {
                field.set(String::new());
                error.set(None);
            }
            Err(reason) => error.set(Some(reason)),
        }
    };
    view! {
        <form id="join-form" class="join-form" on:submit=on_submit>
            <label for="room-input">"Join or create a room"</label>
            <div class="row">
                <input
                    id="room-input"
                    type="text"
                    autocomplete="off"
                    placeholder="room-name"
                    maxlength="64"
                    aria-describedby="join-error"
                    prop:value=move || field.get()
                    on:input=move |ev| field.set(event_target_value(&ev))
                />
                <button type="submit">"Join"</button>
            </div>
            <p id="join-error" class="error" role="alert">{move || error.get()}</p>
        </form>
    }
}

/// A signed-in reader's name (their account's: changed in the settings, not here) with the way to
/// the account's pages, the rooms on the server, and out. The server renders it as plain links and
/// a plain form, and the browser takes it over as it is ([`AccountMarkup`]): as views it cost the
/// WebAssembly 1.4 KB gzip (measured), for markup that never changes while the page is open.
#[component]
fn AccountBox() -> impl IntoView {
    let markup = use_context::<AccountMarkup>().unwrap_or_default().0;
    view! { <div id="account" class="account" inner_html=markup></div> }
}

#[component]
fn NameForm() -> impl IntoView {
    let page = PageState::from_context();
    let me = move || page.chat.with(|chat| chat.me.clone());
    let field = RwSignal::new(String::new());
    // Prefilled with whatever name the server knows us by (the guest name at first).
    // Only when the name itself changes: the effect also wakes for every message.
    Effect::new(move |previous: Option<Option<String>>| {
        let name = me();
        if previous.as_ref() != Some(&name) {
            if let Some(name) = &name {
                field.set(name.clone());
            }
        }
        name
    });
    let is_guest = move || me().is_none_or(|name| name.starts_with(chat_shared::GUEST_PREFIX));
    let on_submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        page.change_name(&field.get_untracked());
    };
    view! {
        <form id="name-form" class="name-form" on:submit=on_submit>
            <label for="name-input">"Your name"</label>
            <div class="row">
                <input
                    id="name-input"
                    type="text"
                    autocomplete="nickname"
                    maxlength="32"
                    aria-describedby="name-error name-hint"
                    prop:value=move || field.get()
                    on:input=move |ev| field.set(event_target_value(&ev))
                />
                <button type="submit">"Save"</button>
            </div>
            <p id="name-error" class="error" role="alert">{move || page.name_error.get()}</p>
            <p id="name-hint" class="hint">
                {move || is_guest().then_some("You are chatting as a guest: pick a name others will know.")}
            </p>
        </form>
    }
}
