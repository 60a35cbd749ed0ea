//! The connection badge, and the room on screen: its name, who is here, who is typing, and the
//! way out of it.

use leptos::prelude::*;

use crate::page::PageState;
use crate::room::typing_line;

/// Where the connection stands; always visible.
#[component]
pub fn StatusBadge() -> impl IntoView {
    let status = PageState::from_context().status;
    view! {
        <p id="status" class="status" role="status" data-state=move || status.get().key()>
            <span class="dot" aria-hidden="true"></span>
            <span class="label">{move || status.get().label()}</span>
        </p>
    }
}

/// The room's title, its members (each name once, however many tabs) and a Leave button.
#[component]
pub fn RoomHeader() -> impl IntoView {
    let page = PageState::from_context();
    let room = move || page.chat.with(|chat| chat.current.clone());
    // (title, topic) as the server gave them at the join.
    let shown = move || {
        page.chat.with(|chat| {
            chat.current_room()
                .map(|room| (room.shown_name(), room.topic.clone()))
                .unwrap_or_default()
        })
    };
    let members = move || {
        page.chat.with(|chat| {
            chat.current_room()
                .map(|room| room.members.clone())
                .unwrap_or_default()
        })
    };
    view! {
        <div class="room-header">
            <div class="room-name">
                <h2 id="room-title">{move || shown().0}</h2>
                <p id="room-topic" class="topic">{move || shown().1}</p>
                // Accounts mode: the room's server-rendered settings page.
                {page.viewer.map(|_| {
                    view! {
                        <a class="room-settings" href=move || format!("/r/{}/settings", room())>
                            "Room settings"
                        </a>
                    }
                })}
            </div>
            // Focusable: on a narrow screen a crowded list scrolls, and keys must reach it.
            <div class="presence" tabindex="0" role="group" aria-labelledby="members-label">
                <span class="presence-label" id="members-label">
                    {move || {
                        let count = page.chat.with(|chat| {
                            chat.current_room().map_or(0, |room| room.here())
                        });
                        format!("Here now ({count})")
                    }}
                </span>
                <ul id="members" class="members" aria-labelledby="members-label">
                    // Updated by position, not keyed: an unchanged name costs a string
                    // comparison and no DOM work, and a keyed list more WebAssembly.
                    {move || {
                        members()
                            .into_iter()
                            .map(|name| view! { <li>{name}</li> })
                            .collect_view()
                    }}
                </ul>
            </div>
            <button
                type="button"
                id="leave-room"
                class="secondary"
                on:click=move |_| page.leave(&untrack(room))
            >
                "Leave"
                <span class="visually-hidden">{move || format!(" {}", shown().0)}</span>
            </button>
        </div>
    }
}

/// "alice is typing…" under the log; gone a few seconds after they stop.
#[component]
pub fn TypingLine() -> impl IntoView {
    let page = PageState::from_context();
    let typing = move || {
        let now = page.now.get();
        page.chat.with(|chat| {
            chat.current_room()
                .and_then(|room| typing_line(&room.typing_names(now)))
        })
    };
    view! {
        <p id="typing" class="typing" aria-live="polite">
            {typing}
        </p>
    }
}
