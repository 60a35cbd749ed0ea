//! The page: a status badge, the message log and the composer.

use chat_shared::{ChatMessage, MAX_TEXT_CHARS};
use leptos::ev::SubmitEvent;
use leptos::html;
use leptos::prelude::*;

use crate::state::{draft_problem, remaining_hint, ChatLog, Entry, EntryKind, Status};

/// Sends one message; `false` when it could not be sent (not connected).
type SendFn = Box<dyn Fn(&str) -> bool>;

/// Sends a message over the live socket, once there is one.
#[derive(Clone, Copy)]
struct Outbox(StoredValue<Option<SendFn>, LocalStorage>);

impl Outbox {
    fn send(&self, text: &str) -> bool {
        self.0
            .with_value(|send| send.as_ref().is_some_and(|send| send(text)))
    }
}

/// What the reader is typing, and what they sent last (restored if the server refuses it).
#[derive(Clone, Copy)]
struct Draft {
    text: RwSignal<String>,
    last_sent: StoredValue<String>,
}

impl Draft {
    /// Puts refused text back into an empty input, so a refusal never loses what was typed.
    #[cfg_attr(not(feature = "browser"), allow(dead_code))]
    fn restore(&self) {
        if self.text.with_untracked(|text| text.is_empty()) {
            self.text.set(self.last_sent.get_value());
        }
    }
}

/// The whole chat page.
#[component]
pub fn App() -> impl IntoView {
    let status = RwSignal::new(Status::Connecting);
    let log = RwSignal::new(ChatLog::default());
    let server_error = RwSignal::new(None::<String>);
    let draft = Draft {
        text: RwSignal::new(String::new()),
        last_sent: StoredValue::new(String::new()),
    };
    let outbox = Outbox(StoredValue::new_local(None));

    // Effects run only in the browser, so the socket is never opened during server rendering.
    Effect::new(move |_| {
        #[cfg(feature = "browser")]
        connect(status, log, server_error, draft, outbox);
    });

    view! {
        <div class="app">
            <header class="topbar">
                <h1>"Chat"</h1>
                <StatusBadge status/>
            </header>
            <noscript>
                <p class="notice-banner">"This chat needs JavaScript and WebAssembly."</p>
            </noscript>
            <MessageLog log/>
            <Composer status server_error draft outbox/>
        </div>
    }
}

/// Opens the socket and wires its events to the page's signals.
#[cfg(feature = "browser")]
fn connect(
    status: RwSignal<Status>,
    log: RwSignal<ChatLog>,
    server_error: RwSignal<Option<String>>,
    draft: Draft,
    outbox: Outbox,
) {
    use crate::socket::{endpoint, supported, ChatSocket, Events};
    use chat_shared::ServerFrame;

    if !supported() {
        status.set(Status::Unsupported);
        log.update(|log| log.push_notice("Your browser does not support WebSockets."));
        return;
    }
    let socket = ChatSocket::start(
        endpoint(),
        Events {
            status: Box::new(move |new| status.set(new)),
            opened: Box::new(move |reconnect| {
                // Ids restart when the server restarts; until history exists, accept them.
                log.update(|log| {
                    log.reset_ids();
                    if reconnect {
                        log.push_notice("Reconnected.");
                    }
                });
            }),
            lost: Box::new(move || log.update(|log| log.push_notice("Connection closed."))),
            frame: Box::new(move |frame| match frame {
                ServerFrame::Message(message) => {
                    log.update(|log| {
                        log.push_message(message);
                    });
                }
                ServerFrame::Error(error) => {
                    server_error.set(Some(error.message));
                    draft.restore();
                }
                // Rooms, names, presence and history come to this page with the web app issue.
                _ => {}
            }),
        },
    );
    let sender = socket.clone();
    outbox
        .0
        .set_value(Some(Box::new(move |text: &str| sender.send(text))));

    // Retry at once when the network comes back instead of waiting out the backoff.
    let retry = socket.clone();
    let online = window_event_listener(leptos::ev::online, move |_| retry.retry_now());
    let socket = send_wrapper::SendWrapper::new(socket);
    on_cleanup(move || {
        online.remove();
        socket.stop();
    });
}

#[component]
fn StatusBadge(status: RwSignal<Status>) -> impl IntoView {
    view! {
        <p id="status" class="status" role="status" data-state=move || status.get().key()>
            <span class="dot" aria-hidden="true"></span>
            <span class="label">{move || status.get().label()}</span>
        </p>
    }
}

/// The scrolling log. New lines scroll into view only if the reader was already at the bottom;
/// a reader who scrolled up stays put and sees a "new messages" button instead.
#[component]
fn MessageLog(log: RwSignal<ChatLog>) -> impl IntoView {
    let list = NodeRef::<html::Ol>::new();
    // Whether the reader is at the bottom, as of their last scroll; content growth does not
    // change it, so it still describes the moment before a new line arrived.
    let pinned = StoredValue::new(true);
    let unseen = RwSignal::new(0u64);

    let scroll_to_bottom = move || {
        if let Some(el) = list.get_untracked() {
            el.set_scroll_top(el.scroll_height());
        }
    };
    let on_scroll = move |_| {
        if let Some(el) = list.get_untracked() {
            let at_bottom = el.scroll_top() + el.client_height() >= el.scroll_height() - 2;
            pinned.set_value(at_bottom);
            if at_bottom {
                unseen.set(0);
            }
        }
    };
    Effect::new(move |previous: Option<u64>| {
        let pushed = log.with(|log| log.pushed());
        if pinned.get_value() {
            // After the list has rendered the new lines.
            request_animation_frame(scroll_to_bottom);
        } else if let Some(previous) = previous {
            unseen.update(|n| *n += pushed.saturating_sub(previous));
        }
        pushed
    });

    view! {
        <div class="log-area">
            <ol
                id="messages"
                class="log"
                node_ref=list
                role="log"
                aria-live="polite"
                aria-label="Messages"
                tabindex="0"
                on:scroll=on_scroll
            >
                <For
                    each=move || log.with(|log| log.entries().cloned().collect::<Vec<_>>())
                    key=|entry| entry.key
                    let(entry)
                >
                    <LogLine entry/>
                </For>
            </ol>
            <Show when=move || { unseen.get() > 0 }>
                <button
                    type="button"
                    id="new-messages"
                    class="jump"
                    on:click=move |_| {
                        scroll_to_bottom();
                        pinned.set_value(true);
                        unseen.set(0);
                    }
                >
                    {move || match unseen.get() {
                        1 => "1 new message ↓".to_string(),
                        n => format!("{n} new messages ↓"),
                    }}
                </button>
            </Show>
        </div>
    }
}

#[component]
fn LogLine(entry: Entry) -> impl IntoView {
    match entry.kind {
        EntryKind::Message(ChatMessage { id, text, ts, .. }) => {
            let (clock, iso) = clock(ts);
            // `text` becomes a text node: markup in a message is shown, never interpreted.
            view! {
                <li class="message" data-id=id.to_string()>
                    <time datetime=iso.clone() title=iso>{clock}</time>
                    " "
                    <span class="text">{text}</span>
                </li>
            }
            .into_any()
        }
        EntryKind::Notice(text) => view! { <li class="notice">{text}</li> }.into_any(),
    }
}

/// Local wall-clock time `HH:MM` and the ISO-8601 instant of a server timestamp.
#[cfg(feature = "browser")]
fn clock(ts: u64) -> (String, String) {
    let date = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(ts as f64));
    let clock = format!("{:02}:{:02}", date.get_hours(), date.get_minutes());
    (clock, String::from(date.to_iso_string()))
}

/// On the server (which renders no messages) the same, in UTC.
#[cfg(not(feature = "browser"))]
fn clock(ts: u64) -> (String, String) {
    let minutes = ts / 60_000;
    let clock = format!("{:02}:{:02}", (minutes / 60) % 24, minutes % 60);
    (clock.clone(), format!("{ts} ms since epoch"))
}

#[component]
fn Composer(
    status: RwSignal<Status>,
    server_error: RwSignal<Option<String>>,
    draft: Draft,
    outbox: Outbox,
) -> impl IntoView {
    let Draft {
        text: draft,
        last_sent,
    } = draft;
    let problem = Memo::new(move |_| draft.with(|draft| draft_problem(draft)));
    let hint = Memo::new(move |_| draft.with(|draft| remaining_hint(draft)));
    let connected = move || status.get() == Status::Connected;

    let on_submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        let text = draft.get_untracked();
        let text = text.trim();
        if text.is_empty() || problem.get_untracked().is_some() {
            return;
        }
        // Not connected: nothing is sent and the draft stays for when the socket is back.
        if outbox.send(text) {
            last_sent.set_value(text.to_string());
            draft.set(String::new());
            server_error.set(None);
        }
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
                placeholder="Write a message…"
                maxlength=MAX_TEXT_CHARS.to_string()
                aria-describedby="composer-feedback"
                bind:value=draft
            />
            <button type="submit" disabled=move || !connected() || problem.get().is_some()>
                "Send"
            </button>
            <div id="composer-feedback" class="feedback">
                <p id="composer-error" class="error" role="alert">
                    {move || problem.get().or_else(|| server_error.get())}
                </p>
                <p id="composer-hint" class="hint">
                    {move || {
                        if !connected() && !draft.with(|d| d.trim().is_empty()) {
                            Some("Not connected: your message will be kept until you can send it.".to_string())
                        } else {
                            hint.get()
                        }
                    }}
                </p>
            </div>
        </form>
    }
}
