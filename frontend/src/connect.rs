//! Browser start-up: restores what this browser remembers, opens the socket and turns its
//! frames into changes of the [`PageState`] (and the reactions into sends and storage writes).

use chat_shared::{ClientFrame, ServerFrame};
use leptos::prelude::*;

use crate::chat::{Chat, Reaction};
use crate::layout::Zone;
use crate::page::{now_ms, room_from_path, PageState};
use crate::socket::{endpoint, supported, ChatSocket, Events};
use crate::state::{AfterClose, Status};
use crate::storage;

/// Runs once, after hydration.
pub fn start(page: PageState) {
    // From here on times are the reader's own. The server renders the next page in this offset,
    // so it hydrates without its times changing.
    page.zone.set(Zone::Local);
    remember_offset();
    page.now.set(now_ms());
    page.chat.update(|chat| {
        for room in storage::saved_rooms() {
            chat.add_room(&room);
        }
    });
    page.save_rooms();
    page.log.follow();
    crate::menu::wire(page);
    crate::notify::wire();
    // An address that names a message (`?m=<id>`, a search result's link) opens the room
    // there, older pages loaded until it is in the log, then `#m<id>` highlights it. (Not the
    // fragment itself: one set before its element exists never becomes `:target`, and setting
    // the same one again does nothing.)
    let query = window().location().search().unwrap_or_default();
    if let Some(id) = query.strip_prefix("?m=").and_then(|id| id.parse().ok()) {
        page.jump.set_value(Some(id));
        page.go_on_jumping();
    }

    if !supported() {
        page.status.set(Status::Unsupported);
        page.chat.update(|chat| {
            let current = chat.current.clone();
            if let Some(room) = chat.room_mut(&current) {
                room.push_notice("Your browser does not support WebSockets.");
            }
        });
        return;
    }

    let socket = ChatSocket::start(
        endpoint(),
        Events {
            status: Box::new(move |new| page.status.set(new)),
            opened: Box::new(move |reconnect| opened(page, reconnect)),
            lost: Box::new(move |after, reason| lost(page, after, &reason)),
            frames: Box::new(move |frames| on_frames(page, frames)),
        },
    );
    let sender = socket.clone();
    page.set_socket(std::rc::Rc::new(move |frame: &ClientFrame| {
        sender.send(frame)
    }));

    // Retry at once when the network comes back instead of waiting out the backoff.
    let retry = socket.clone();
    let online = window_event_listener(leptos::ev::online, move |_| retry.retry_now());
    let dropped = socket.clone();
    let offline = window_event_listener(leptos::ev::offline, move |_| dropped.drop_now());
    // Back and forward between rooms.
    let popstate = window_event_listener(leptos::ev::popstate, move |_| {
        let path = window().location().pathname().unwrap_or_default();
        page.show_room(&room_from_path(&path), false);
    });
    // The clock; and, each second, what a signed-in reader has seen is marked read (a tab
    // coming back into view, a log scrolled to its end).
    let clock = set_interval_with_handle(
        move || {
            page.now.set(now_ms());
            page.mark_read();
        },
        std::time::Duration::from_secs(1),
    )
    .ok();
    let socket = send_wrapper::SendWrapper::new(socket);
    on_cleanup(move || {
        online.remove();
        offline.remove();
        popstate.remove();
        if let Some(clock) = clock {
            clock.clear();
        }
        socket.stop();
    });
}

/// The socket is open: take the name, then (re)join every room from where this tab left it.
fn opened(page: PageState, reconnect: bool) {
    if reconnect {
        page.notice_everywhere("Reconnected.", |_| {});
    }
    if let Some(name) = storage::saved_name() {
        let token = storage::token_for(&name);
        page.send(&ClientFrame::Hello { name, token });
    }
    for room in page.chat.with_untracked(Chat::room_names) {
        page.join(&room);
    }
}

/// The connection was lost: the log says why, and what the close code asks is done (the socket
/// has chosen when to reconnect).
fn lost(page: PageState, after: AfterClose, reason: &str) {
    let mut too_large = None;
    page.notice_everywhere(&after.notice(reason), |chat| {
        chat.disconnected();
        match after {
            AfterClose::TakeBackTooLarge => too_large = chat.take_largest_pending(),
            AfterClose::RejoinFresh => chat.forget_resume_points(),
            _ => {}
        }
    });
    if after == AfterClose::SignedOut {
        // The sign-in page brings the reader back to this room.
        let path = window().location().pathname().unwrap_or_default();
        let _ = window().location().assign(&format!("/signin?next={path}"));
        return;
    }
    // Never resent: the server would only close again.
    if let Some(pending) = too_large {
        page.take_back(
            pending.text,
            "This message is larger than the server accepts, so it was not sent.".into(),
        );
    }
}

/// Applies the frames of one WebSocket message in one update, then scrolls once.
fn on_frames(page: PageState, frames: Vec<ServerFrame>) {
    // Decided before anything is appended, and true while an earlier follow is still pending,
    // so a burst of messages cannot make the reader look "scrolled up".
    let stick = page.log.should_stick();
    let anchor = page.log.anchor();
    let now = now_ms();
    let mut reactions = Vec::new();
    for frame in &frames {
        if let ServerFrame::Message(message) = frame {
            crate::notify::message(page, message);
        }
    }
    page.chat.update(|chat| {
        for frame in frames {
            if let Some(reaction) = chat.apply(frame, now) {
                reactions.push(reaction);
            }
        }
    });
    let (mut arrived, mut shown, mut mine, mut older) = (0u64, false, false, false);
    let mut new_line = None;
    for reaction in reactions {
        match reaction {
            Reaction::Resend { room, pending } => {
                for message in pending {
                    page.send(&ClientFrame::Send {
                        room: Some(room.clone()),
                        text: message.text,
                        cid: Some(message.cid),
                        reply_to: message.reply_to,
                    });
                }
            }
            Reaction::Welcome { name, token } => {
                storage::save_welcome(&name, &token);
                page.name_error.set(None);
            }
            Reaction::NameRefused(reason) => page.name_error.set(Some(reason)),
            Reaction::Refused { text, reason } => page.take_back(text, reason),
            Reaction::Problem(reason) => page.composer_error.set(Some(reason)),
            Reaction::Arrived { count, mine: ours } => {
                arrived += count as u64;
                shown = true;
                // (An error stays until the reader sends again: the echo of an earlier message
                // may arrive after the refusal of a later one.)
                mine |= ours;
            }
            Reaction::OlderLoaded => older = true,
            Reaction::NewLine(id) => new_line = Some(id),
        }
    }
    if let Some(id) = new_line {
        page.log.scroll_to_line(id);
    } else if older {
        page.log.keep_anchor(anchor);
        page.go_on_jumping();
    } else if page.jump.get_value().is_some() {
        // Waiting to show a message: from the room's `joined` on, load older pages.
        page.go_on_jumping();
    } else if shown {
        if stick || mine {
            page.log.follow();
            page.mark_read();
        } else {
            page.log.unseen.update(|n| *n += arrived);
        }
    }
}

/// Tells the server the browser's UTC offset (minutes east) for the next page it renders.
fn remember_offset() {
    let minutes = -js_sys::Date::new_0().get_timezone_offset() as i32;
    let cookie = format!(
        "{}={minutes}; path=/; max-age=31536000; SameSite=Lax",
        crate::layout::OFFSET_COOKIE
    );
    let _ = js_sys::Reflect::set(&document(), &"cookie".into(), &cookie.into());
}
