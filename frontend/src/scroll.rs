//! Where the log of the room on screen is scrolled, and how it follows new messages.
//!
//! Whether the reader "is at the bottom" is decided right before each append (as the original
//! page did), and a follow that is still waiting for the next frame counts as being at the
//! bottom: a burst of messages arriving between a follow and its scroll cannot unpin a reader
//! who never scrolled.

use leptos::html;
use leptos::prelude::*;

use crate::coded::StoredFlag;

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
    /// The top of message `id`'s line (the "new" line above it).
    ToLine(u64),
}

/// The log element and its scroll state.
#[derive(Clone, Copy)]
pub struct LogView {
    /// The scrolling element (bound by the log view).
    pub(crate) list: NodeRef<html::Div>,
    follow_pending: StoredFlag,
    /// Messages that arrived below the reader's view.
    pub unseen: RwSignal<u64>,
    saved: StoredValue<Vec<(String, SavedScroll)>>,
}

impl LogView {
    pub(crate) fn new() -> Self {
        LogView {
            list: NodeRef::new(),
            follow_pending: StoredFlag::new(),
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
        self.follow_pending.get() || self.at_bottom()
    }

    /// Scrolls to the bottom once the new lines are rendered.
    pub fn follow(&self) {
        self.follow_pending.set(true);
        self.unseen.set(0);
        self.scroll_after_render(Scroll::ToBottom);
    }

    /// Scrolls to the "new" line above message `id` once it is rendered.
    pub fn scroll_to_line(&self, id: u64) {
        self.follow_pending.set(false);
        self.scroll_after_render(Scroll::ToLine(id));
    }

    /// Scrolls the log once the next frame is rendered (one function for every scroll, so the
    /// WebAssembly has one copy of the frame callback's code).
    fn scroll_after_render(&self, scroll: Scroll) {
        let this = *self;
        request_animation_frame(move || {
            if scroll == Scroll::ToBottom {
                this.follow_pending.set(false);
            }
            if let Scroll::ToLine(id) = scroll {
                if let Some(line) = document().get_element_by_id(&format!("m{id}")) {
                    line.scroll_into_view();
                }
            } else if let Some(el) = this.list.get_untracked() {
                el.set_scroll_top(match scroll {
                    Scroll::ToBottom => el.scroll_height(),
                    Scroll::To(top) => top,
                    Scroll::AboveEnd(distance) => el.scroll_height() - distance,
                    Scroll::ToLine(_) => return,
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

    /// Scrolls `room`'s log back to where the reader left it (else to the "new" line above
    /// message `new_line`, else to the bottom).
    pub fn restore_position(&self, room: &str, new_line: Option<u64>) {
        self.unseen.set(0);
        let saved = self.saved.with_value(|all| {
            all.iter()
                .find(|(name, _)| name == room)
                .map(|(_, saved)| *saved)
        });
        match (saved, new_line) {
            (Some(saved), _) if !saved.at_bottom => {
                self.follow_pending.set(false);
                self.scroll_after_render(Scroll::To(saved.top));
            }
            (_, Some(id)) => self.scroll_to_line(id),
            _ => self.follow(),
        }
    }
}
