//! The scrolling log of the room on screen (its scroll state is [`crate::scroll::LogView`]).

use chat_shared::markdown::style as markdown;
use chat_shared::ChatMessage;
use leptos::prelude::*;

use crate::layout::{clock, instant, rows, Row};
use crate::page::PageState;
use crate::room::{EntryKind, Pending};
use crate::state::Status;

/// The log of the room on screen, with the "new messages" button.
#[component]
pub fn MessageLog() -> impl IntoView {
    let page = PageState::from_context();
    let log = page.log;
    // The room's lines, then this tab's messages still on their way: one keyed list for both.
    let lines = move || {
        let zone = page.zone.get();
        page.chat.with(|chat| {
            chat.current_room()
                .map(|room| {
                    let laid_out = rows(room.entries(), zone, |name| chat.is_me(name));
                    let pending = room.pending.iter().cloned().map(Line::Pending);
                    laid_out
                        .into_iter()
                        .map(Line::Row)
                        .chain(pending)
                        .collect::<Vec<_>>()
                })
                .unwrap_or_default()
        })
    };
    let room_flags = move || {
        page.chat.with(|chat| {
            chat.current_room()
                .map_or((true, false, String::new()), |room| {
                    (room.at_beginning, room.loading_older, room.name.clone())
                })
        })
    };
    let on_scroll = move |_| {
        let Some(el) = log.list.get_untracked() else {
            return;
        };
        if el.scroll_top() + el.client_height() >= el.scroll_height() - 2 {
            log.unseen.set(0);
        }
        if el.scroll_top() < 80 && el.scroll_height() > el.client_height() {
            page.load_older();
        }
    };

    view! {
        <div class="log-area">
            <div
                id="messages"
                class="log"
                node_ref=log.list
                role="log"
                aria-live="polite"
                aria-label="Messages"
                tabindex="0"
                on:scroll=on_scroll
            >
                <ol class="entries">
                    // One element in every state (an `AnyView` per state would cost the
                    // WebAssembly a copy of the renderer's code for each).
                    <li
                        class=move || if room_flags().0 { "beginning" } else { "older" }
                        id=move || room_flags().0.then_some("room-beginning")
                    >
                        {move || {
                            let (at_beginning, loading, room) = room_flags();
                            if at_beginning {
                                format!("This is the beginning of #{room}.")
                            } else if loading {
                                "Loading older messages…".to_string()
                            } else {
                                String::new()
                            }
                        }}
                        {move || {
                            let (at_beginning, loading, _) = room_flags();
                            (!at_beginning && !loading)
                                .then(|| {
                                    view! {
                                        <button
                                            type="button"
                                            id="load-older"
                                            class="link-button"
                                            on:click=move |_| page.load_older()
                                        >
                                            "Load older messages"
                                        </button>
                                    }
                                })
                        }}
                    </li>
                    <For each=lines key=Line::key let(line)>
                        <LogLine line/>
                    </For>
                </ol>
            </div>
            {move || {
                let unseen = log.unseen.get();
                let label = match unseen {
                    1 => "1 new message ↓".to_string(),
                    n => format!("{n} new messages ↓"),
                };
                (unseen > 0)
                    .then(|| {
                        view! {
                            <button
                                type="button"
                                id="new-messages"
                                class="jump"
                                on:click=move |_| log.follow()
                            >
                                {label}
                            </button>
                        }
                    })
            }}
        </div>
    }
}

/// A line of the log: laid out from the room's entries, or a message of this tab's that the
/// room has not confirmed yet.
// (Built once per render and moved into its line's view: boxing the larger variant would only
// add an allocation per line.)
#[allow(clippy::large_enum_variant)]
#[derive(Clone)]
enum Line {
    Row(Row),
    Pending(Pending),
}

impl Line {
    /// Changes whenever the line's markup would: its entry, grouping, day separator and owner.
    fn key(&self) -> (u64, bool, Option<String>, bool, Option<String>) {
        match self {
            Line::Row(row) => (row.entry.key, row.grouped, row.day.clone(), row.mine, None),
            Line::Pending(pending) => (0, false, None, false, Some(pending.cid.clone())),
        }
    }
}

/// What a deleted message's line says instead of its text.
const DELETED: &str = "(message deleted)";

/// One line of the log: a message, a notice such as "Connection closed." or a pending message.
/// All are one view type, so the keyed list and the hydration code exist once for them.
#[component]
fn LogLine(line: Line) -> impl IntoView {
    let page = PageState::from_context();
    // (id, sender, time) of a message; its text; what the line's markup depends on besides.
    let mut runs = Vec::new();
    let (message, text, day, class, pending_cid) = match line {
        Line::Row(Row {
            entry,
            grouped,
            day,
            mine,
        }) => match entry.kind {
            EntryKind::Message(ChatMessage {
                id,
                name,
                text,
                ts,
                account,
                edited,
                format,
                ..
            }) => {
                let class = match (grouped, mine) {
                    (false, false) => "message",
                    (true, false) => "message grouped",
                    (false, true) => "message mine",
                    (true, true) => "message grouped mine",
                };
                // An edited message's text says so after it (CSS), with no element of its own.
                let class = if edited.is_some() && !text.is_empty() {
                    match class {
                        "message" => "message edited",
                        "message grouped" => "message grouped edited",
                        "message mine" => "message mine edited",
                        _ => "message grouped mine edited",
                    }
                } else {
                    class
                };
                let shown_name = (!grouped).then_some((name, mine));
                // Deleted since: what it said is gone from the server too.
                let deletable = !text.is_empty()
                    && page.viewer.is_some_and(|viewer| viewer.may_delete(account));
                let text = if text.is_empty() {
                    DELETED.to_string()
                } else {
                    text
                };
                runs = format;
                (
                    Some((id, shown_name, ts, deletable)),
                    text,
                    day,
                    class,
                    None,
                )
            }
            EntryKind::Notice(text) => (None, text, day, "notice", None),
        },
        Line::Pending(Pending { cid, text }) => (None, text, None, "pending", Some(cid)),
    };
    let id = message.as_ref().map(|(id, _, _, _)| id.to_string());
    let delete = message.as_ref().and_then(|&(id, _, _, deletable)| {
        deletable.then(|| {
            view! {
                <button
                    type="button"
                    class="link-button delete"
                    aria-label="Delete message"
                    on:click=move |_| page.delete(id)
                >
                    "Delete"
                </button>
            }
        })
    });
    let header = message.map(|(_, shown_name, ts, _)| {
        // The same instant in every zone; only the clock text follows the reader's zone.
        let at = instant(ts);
        view! {
            {shown_name
                .map(|(name, mine)| {
                    view! {
                        <span class="name">{name}</span>
                        {mine.then(|| view! { <span class="you">" (you)"</span> })}
                        " "
                    }
                })}
            <time datetime=at.clone() title=at>
                {move || clock(ts, page.zone.get())}
            </time>
            " "
        }
    });
    let state = pending_cid.is_some().then(|| {
        view! {
            <span class="state">
                {move || {
                    if page.status.get() == Status::Connected {
                        "Sending…"
                    } else {
                        "Waiting for the connection…"
                    }
                }}
            </span>
        }
    });
    // `text` and `name` become text nodes: markup in them is shown, never interpreted.
    view! {
        <li class=class data-id=id data-cid=pending_cid>
            {day.map(|day| view! { <div class="day"><span>{day}</span></div> })}
            {header}
            // `.text` is a message's (or pending message's) text; a notice is the whole line.
            <span class=(class != "notice").then_some("text")>{shown(text, runs)}</span>
            {state}
            {delete}
        </li>
    }
}

/// A message's text as shown: as it is, or in its formatting's runs (the server's parse of it,
/// `chat_shared::markdown`), each run an element whose text is a text node. A link's address is
/// its own text, made a link only if it is an `https://` one.
fn shown(text: String, runs: Vec<chat_shared::markdown::Run>) -> impl IntoView {
    use leptos::either::Either;
    if runs.is_empty() {
        return Either::Left(text);
    }
    Either::Right(
        runs.into_iter()
            .map(|(text, style)| {
                let link = style & markdown::LINK != 0 && text.starts_with("https://");
                let href = link.then(|| text.clone());
                // Opened in a new tab, and told nothing of this page.
                let target = link.then_some("_blank");
                let rel = link.then_some("noopener noreferrer");
                view! {
                    <a data-md=md_class(style) href=href target=target rel=rel>
                        {text}
                    </a>
                }
            })
            .collect_view(),
    )
}

/// A run's look, as the words the stylesheet knows (`[data-md~=s]` and so on).
fn md_class(style: u8) -> String {
    let mut words = String::new();
    for (bit, word) in [
        (markdown::STRONG, "s "),
        (markdown::EMPHASIS, "e "),
        (markdown::CODE, "c "),
        (markdown::LINK, "l "),
        (markdown::CODE_BLOCK, "k "),
    ] {
        if style & bit != 0 {
            words.push_str(word);
        }
    }
    let depth = style / markdown::QUOTE;
    if depth > 0 {
        words.push_str(["q1", "q2", "q3", "q4"][usize::from(depth.min(4) - 1)]);
    }
    words
}
