//! The message input. What is typed is never lost: a message sent while disconnected waits as
//! pending and goes out after the reconnect; a refused one comes back into the input.

use chat_shared::MAX_TEXT_CHARS;
use leptos::ev::SubmitEvent;
use leptos::prelude::*;

use crate::page::PageState;
use crate::state::{draft_problem, remaining_hint, Status};

/// The composer form.
#[component]
pub fn Composer() -> impl IntoView {
    let page = PageState::from_context();
    let draft = page.draft;
    let problem = move || {
        let (room, max) = page
            .chat
            .with(|chat| (chat.current.clone(), chat.max_frame_bytes));
        draft.with(|draft| draft_problem(draft, &room, max))
    };
    let hint = move || draft.with(|draft| remaining_hint(draft));
    // What the composer does besides sending a new message: editing one, or answering one.
    let context = page.context;
    let connected = move || page.status.get() == Status::Connected;
    let waiting = move || {
        page.chat.with(|chat| {
            chat.current_room()
                .is_some_and(|room| !room.pending.is_empty())
        })
    };

    let on_submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        let text = draft.get_untracked();
        let text = text.trim();
        if text.is_empty() || untrack(problem).is_some() {
            return;
        }
        page.submit(text.to_string());
        draft.set(String::new());
        page.composer_error.set(None);
    };

    view! {
        <form class="composer" on:submit=on_submit>
            <label for="composer-input" class="visually-hidden">
                "Message"
            </label>
            <input
                id="composer-input"
                type="text"
                name="message"
                autocomplete="off"
                placeholder=move || {
                    page.chat.with(|chat| format!("Message #{}", chat.current))
                }
                maxlength=MAX_TEXT_CHARS.to_string()
                aria-describedby="composer-feedback"
                // The value and an input handler rather than `bind:value`, whose two-way binding
                // costs the page 3.2 KB gzip more (BENCHMARKS.md); the same in the sidebar.
                prop:value=move || draft.get()
                on:keydown=move |ev| {
                    let key = ev.key();
                    if key == "Escape" {
                        page.cancel();
                    } else if key == "ArrowUp"
                        && draft.with_untracked(|d| d.is_empty())
                        && page.edit_last()
                    {
                        ev.prevent_default();
                    }
                }
                on:input=move |ev| {
                    let text = event_target_value(&ev);
                    let typed = !text.trim().is_empty();
                    draft.set(text);
                    if typed {
                        page.typing();
                    }
                }
            />
            <button type="submit" disabled=move || problem().is_some()>
                "Send"
            </button>
            <div id="composer-feedback" class="feedback">
                <p id="composer-error" class="error" role="alert">
                    {move || problem().or_else(|| page.composer_error.get())}
                </p>
                <p id="composer-hint" class="hint">
                    {move || {
                        if !connected() && (waiting() || !draft.with(|d| d.trim().is_empty())) {
                            Some(
                                "Not connected: messages you send now go out when the connection is back."
                                    .to_string(),
                            )
                        } else {
                            context.get().or_else(hint)
                        }
                    }}
                </p>
                <button
                    type="button"
                    class="link-button"
                    hidden=move || context.with(Option::is_none)
                    on:click=move |_| page.cancel()
                >
                    "Cancel"
                </button>
            </div>
        </form>
    }
}
