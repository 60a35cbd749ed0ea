//! The whole page: a top bar, the sidebar of rooms, and the room on screen. It builds the
//! [`PageState`] the views share, and starts the socket once the page is in the browser.

use leptos::prelude::*;

use crate::chat::InitialPage;
#[cfg(feature = "browser")]
use crate::chat::INITIAL_PAGE_ID;
#[cfg(feature = "browser")]
use crate::page::room_from_path;
use crate::page::PageState;
use crate::views::{Composer, MessageLog, RoomHeader, Sidebar, StatusBadge, TypingLine};

/// What the page starts from: on the server, the context the request handler provided; in the
/// browser, the copy of it embedded in the page (or just the URL's room, for `trunk serve`).
fn initial_page() -> InitialPage {
    // Only the server provides it: in the browser `use_context` would compile a deep clone of
    // a whole page of messages that never runs (0.9 KB of WebAssembly).
    #[cfg(not(feature = "browser"))]
    if let Some(initial) = use_context::<InitialPage>() {
        return initial;
    }
    #[cfg(feature = "browser")]
    {
        let embedded = document()
            .get_element_by_id(INITIAL_PAGE_ID)
            .and_then(|script| script.text_content())
            .and_then(|json| crate::json::initial_page(&json));
        if let Some(initial) = embedded {
            return initial;
        }
        let path = window().location().pathname().unwrap_or_default();
        InitialPage {
            room: room_from_path(&path),
            snapshot: None,
            utc_offset_minutes: None,
            ..Default::default()
        }
    }
    #[cfg(not(feature = "browser"))]
    InitialPage {
        room: chat_shared::DEFAULT_ROOM.to_string(),
        snapshot: None,
        utc_offset_minutes: None,
        ..Default::default()
    }
}

/// The whole chat page.
#[component]
pub fn App() -> impl IntoView {
    let page = PageState::new(initial_page());
    provide_context(page);

    // Effects run only in the browser, after hydration: the socket is never opened while the
    // server renders.
    Effect::new(move |_| {
        #[cfg(feature = "browser")]
        crate::connect::start(page);
    });
    // The title: the room on screen, after the count of what is unread in every room.
    Effect::new(move |_| {
        let (room, unread) = page.chat.with(|chat| {
            let room = chat
                .current_room()
                .map_or_else(|| format!("#{}", chat.current), |room| room.shown_name());
            (room, chat.rooms.iter().map(|room| room.unread).sum::<u32>())
        });
        let title = if unread > 0 {
            format!("({unread}) {room} · Chat")
        } else {
            format!("{room} · Chat")
        };
        #[cfg(feature = "browser")]
        document().set_title(&title);
        #[cfg(not(feature = "browser"))]
        let _ = title;
    });

    view! {
        <div class="app" data-drawer=move || if page.drawer_open.get() { "open" } else { "closed" }>
            <header class="topbar">
                <button
                    type="button"
                    id="rooms-toggle"
                    class="rooms-toggle"
                    aria-controls="sidebar"
                    aria-expanded=move || page.drawer_open.get().to_string()
                    on:click=move |_| page.drawer_open.set(!page.drawer_open.get_untracked())
                >
                    "Rooms"
                </button>
                <h1>"Chat"</h1>
                <StatusBadge/>
            </header>
            <Sidebar/>
            <main class="room" id="room">
                <noscript>
                    <p class="notice-banner">
                        "You are reading a snapshot: live updates need JavaScript and WebAssembly."
                    </p>
                </noscript>
                <RoomHeader/>
                <MessageLog/>
                <TypingLine/>
                <Composer/>
            </main>
        </div>
    }
}
