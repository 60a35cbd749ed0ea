//! The scrolling log of the room on screen, and how it follows new messages.
//!
//! Whether the reader "is at the bottom" is decided right before each append (as the original
//! page did), and a follow that is still waiting for the next frame counts as being at the
//! bottom: a burst of messages arriving between a follow and its scroll cannot unpin a reader
//! who never scrolled.

use chat_shared::ChatMessage;
use leptos::html;
use leptos::prelude::*;

use crate::app::PageState;
use crate::layout::{clock, instant, rows, Row};
use crate::room::{EntryKind, Pending};
use crate::state::Status;

/// Where a room's log was scrolled when the reader left it.
#[derive(Debug, Clone, Copy)]
struct SavedScroll {
    top: i32,
    at_bottom: bool,
}

/// Where [`LogView::scroll_after_render`] puts the view.
#[derive(Clone, Copy, PartialEq)]
enum Scroll {
    /// To the newest line.
    ToBottom,
    /// To this `scrollTop`.
    To(i32),
    /// This far above the end of the content.
    AboveEnd(i32),
}

/// The log element and its scroll state.
#[derive(Clone, Copy)]
pub struct LogView {
    list: NodeRef<html::Div>,
    follow_pending: StoredValue<bool>,
    /// Messages that arrived below the reader's view.
    pub unseen: RwSignal<u64>,
    saved: StoredValue<Vec<(String, SavedScroll)>>,
}

impl LogView {
    pub(crate) fn new() -> Self {
        LogView {
            list: NodeRef::new(),
            follow_pending: StoredValue::new(false),
            unseen: RwSignal::new(0),
            saved: StoredValue::new(Vec::new()),
        }
    }

    fn at_bottom(&self) -> bool {
        self.list
            .get_untracked()
            .is_none_or(|el| el.scroll_top() + el.client_height() >= el.scroll_height() - 2)
    }

    /// Whether new lines should scroll into view: the reader is at the bottom now, or a follow
    /// is still on its way.
    pub fn should_stick(&self) -> bool {
        self.follow_pending.get_value() || self.at_bottom()
    }

    /// Scrolls to the bottom once the new lines are rendered.
    pub fn follow(&self) {
        self.follow_pending.set_value(true);
        self.unseen.set(0);
        self.scroll_after_render(Scroll::ToBottom);
    }

    /// Scrolls the log once the next frame is rendered (one function for every scroll, so the
    /// WebAssembly has one copy of the frame callback's code).
    fn scroll_after_render(&self, scroll: Scroll) {
        let this = *self;
        request_animation_frame(move || {
            if scroll == Scroll::ToBottom {
                this.follow_pending.set_value(false);
            }
            if let Some(el) = this.list.get_untracked() {
                el.set_scroll_top(match scroll {
                    Scroll::ToBottom => el.scroll_height(),
                    Scroll::To(top) => top,
                    Scroll::AboveEnd(distance) => el.scroll_height() - distance,
                });
            }
        });
    }

    /// Distance from the top of the view to the end of the content, to keep the view still
    /// when older lines are put above it.
    pub fn anchor(&self) -> i32 {
        self.list
            .get_untracked()
            .map_or(0, |el| el.scroll_height() - el.scroll_top())
    }

    /// After older lines were added above: puts the view back where it was.
    pub fn keep_anchor(&self, anchor: i32) {
        self.scroll_after_render(Scroll::AboveEnd(anchor));
    }

    /// Remembers where `room`'s log is scrolled, before another room is shown.
    pub fn save_position(&self, room: &str) {
        let Some(el) = self.list.get_untracked() else {
            return;
        };
        let saved = SavedScroll {
            top: el.scroll_top(),
            at_bottom: self.should_stick(),
        };
        self.saved.update_value(|all| {
            all.retain(|(name, _)| name != room);
            all.push((room.to_string(), saved));
        });
    }

    /// Scrolls `room`'s log back to where the reader left it (the bottom the first time).
    pub fn restore_position(&self, room: &str) {
        self.unseen.set(0);
        let saved = self.saved.with_value(|all| {
            all.iter()
                .find(|(name, _)| name == room)
                .map(|(_, saved)| *saved)
        });
        match saved {
            Some(saved) if !saved.at_bottom => {
                self.follow_pending.set_value(false);
                self.scroll_after_render(Scroll::To(saved.top));
            }
            _ => self.follow(),
        }
    }
}

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

/// One line of the log: a message, a notice such as "Connection closed." or a pending message.
/// All are one view type, so the keyed list and the hydration code exist once for them.
#[component]
fn LogLine(line: Line) -> impl IntoView {
    let page = PageState::from_context();
    // (id, sender, time) of a message; its text; what the line's markup depends on besides.
    let (message, text, day, class, pending_cid) = match line {
        Line::Row(Row {
            entry,
            grouped,
            day,
            mine,
        }) => match entry.kind {
            EntryKind::Message(ChatMessage {
                id, name, text, ts, ..
            }) => {
                let class = match (grouped, mine) {
                    (false, false) => "message",
                    (true, false) => "message grouped",
                    (false, true) => "message mine",
                    (true, true) => "message grouped mine",
                };
                let shown_name = (!grouped).then_some((name, mine));
                (Some((id, shown_name, ts)), text, day, class, None)
            }
            EntryKind::Notice(text) => (None, text, day, "notice", None),
        },
        Line::Pending(Pending { cid, text }) => (None, text, None, "pending", Some(cid)),
    };
    let id = message.as_ref().map(|(id, _, _)| id.to_string());
    let header = message.map(|(_, shown_name, ts)| {
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
            <span class=(class != "notice").then_some("text")>{text}</span>
            {state}
        </li>
    }
}
