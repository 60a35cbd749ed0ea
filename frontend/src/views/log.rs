//! The scrolling log of the room on screen (its scroll state is [`crate::scroll::LogView`]).

use chat_shared::markdown::style as markdown;
use leptos::prelude::*;

#[cfg(feature = "browser")]
use crate::actions::on_log_click as on_click;
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
                    let laid_out =
                        rows(room.entries(), zone, |name| chat.is_me(name), room.new_line);
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
            page.mark_read();
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
                <ol class="entries" on:click=move |ev| on_click(page, ev)>
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
    /// Changes whenever the line's markup would: its entry, grouping, day separator, owner and
    /// the "new" line above it.
    fn key(&self) -> (u64, bool, Option<String>, bool, bool, Option<String>) {
        match self {
            Line::Row(row) => (
                row.entry.key,
                row.grouped,
                row.day.clone(),
                row.mine,
                row.new,
                None,
            ),
            Line::Pending(pending) => (0, false, None, false, false, Some(pending.cid.clone())),
        }
    }
}

/// What a deleted message's line says instead of its text.
const DELETED: &str = "(message deleted)";

/// One line of the log: a message, a notice such as "Connection closed." or a pending message.
/// All are one view type, so the keyed list and the hydration code exist once for them. A
/// message's controls (its reactions, its quote's link, its "⋯") are plain elements with a
/// `data-act`, run by the log's one click handler (`crate::actions`).
#[component]
fn LogLine(line: Line) -> impl IntoView {
    let page = PageState::from_context();
    let mut runs = Vec::new();
    let mut reply = None;
    let mut reactions = Vec::new();
    // (id, sender, time, deleted) of a message; its text; what the line's markup depends on.
    // A message that mentions the signed-in reader (or everyone) is marked for the stylesheet.
    let mut mention = None;
    let mut new = None;
    let (message, text, day, class, pending_cid) = match line {
        Line::Row(Row {
            entry,
            grouped,
            day,
            mine,
            new: first_new,
        }) => match entry.kind {
            EntryKind::Message(m) => {
                let class = match (grouped, mine) {
                    (false, false) => "message",
                    (true, false) => "message grouped",
                    (false, true) => "message mine",
                    (true, true) => "message grouped mine",
                };
                // Deleted since: what it said is gone from the server too.
                let deleted = m.text.is_empty();
                // An edited message's text says so after it (CSS), with no element of its own.
                let class = if m.edited.is_some() && !deleted {
                    match class {
                        "message" => "message edited",
                        "message grouped" => "message grouped edited",
                        "message mine" => "message mine edited",
                        _ => "message grouped mine edited",
                    }
                } else {
                    class
                };
                if !mine
                    && page
                        .chat
                        .with_untracked(|chat| chat.mentions_me(&m.mentions))
                {
                    mention = Some("");
                }
                if first_new {
                    new = Some("");
                }
                let shown_name = (!grouped).then_some((m.name, mine));
                let text = if deleted { DELETED.to_string() } else { m.text };
                runs = m.format;
                reply = m.reply;
                reactions = m.reactions;
                (
                    Some((m.id, shown_name, m.ts, deleted)),
                    text,
                    day,
                    class,
                    None,
                )
            }
            EntryKind::Notice(text) => (None, text, day, "notice", None),
        },
        Line::Pending(Pending { cid, text, .. }) => (None, text, None, "pending", Some(cid)),
    };
    let id = message.as_ref().map(|(id, ..)| id.to_string());
    let anchor = message.as_ref().map(|(id, ..)| format!("m{id}"));
    let deleted = message.as_ref().is_none_or(|(.., deleted)| *deleted);
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
    // The start of the message this one answers: a link to it (`#m<id>`, which scrolls to it and
    // highlights it; older pages are loaded first if the log does not hold it).
    let quote = reply.map(|q| {
        let said = if q.text.is_empty() {
            DELETED.to_string()
        } else {
            q.text
        };
        view! {
            <a class="quote" href=format!("#m{}", q.id) data-act="goto">
                <span class="name">{q.name}</span>
                " "
                {said}
            </a>
        }
    });
    // A message's reactions in one control: each emoji with its count, who gave them on hover
    // and focus (the stylesheet shows `data-names`), and a click opens the menu, where the
    // reader gives or takes back theirs. One element, not one per emoji: the page's
    // WebAssembly pays per element (BENCHMARKS.md).
    let reactions = (!reactions.is_empty()).then(|| {
        let shown: Vec<String> = reactions
            .iter()
            .map(|r| format!("{} {}", r.emoji, r.names.len()))
            .collect();
        let names: Vec<String> = reactions
            .iter()
            .map(|r| format!("{} {}", r.emoji, r.names.join(", ")))
            .collect();
        let names = names.join("; ");
        let shown = shown.join("  ");
        // The label starts with what is shown, as a visible label must.
        let label = format!("{shown}; reactions by {names}");
        view! {
            <button type="button" class="reactions" data-act="menu" aria-label=label>
                {shown}
            </button>
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
    // `text` and `name` become text nodes: markup in them is shown, never interpreted. (The "⋯"
    // of `.more` is the stylesheet's, so that a line's text is only what it says.)
    view! {
        <li class=class id=anchor data-id=id data-cid=pending_cid data-mention=mention data-new=new>
            {day.map(|day| view! { <div class="day"><span>{day}</span></div> })}
            {header}
            {quote}
            // `.text` is a message's (or pending message's) text; a notice is the whole line.
            <span class=(class != "notice").then_some("text")>{shown(text, runs)}</span>
            {state}
            {reactions}
            <button
                type="button"
                class="more"
                data-act="menu"
                aria-label="Message actions"
                aria-haspopup="dialog"
                hidden=deleted
            ></button>
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

/// The server renders no handlers: the page's own takes over in the browser.
#[cfg(not(feature = "browser"))]
fn on_click(_: PageState, _: leptos::ev::MouseEvent) {}
