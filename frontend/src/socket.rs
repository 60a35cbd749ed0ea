//! The browser's WebSocket to `/ws`, reopened with backoff whenever it drops.
//!
//! Only compiled for the browser. It knows nothing about the page: it reports what happens
//! through [`Events`] and the app decides what to show.

use std::cell::RefCell;
use std::rc::{Rc, Weak};

use chat_shared::{batch_lines, ClientFrame, ServerFrame};
use leptos::prelude::{set_timeout_with_handle, window, TimeoutHandle};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;
use web_sys::{CloseEvent, Event, MessageEvent, WebSocket};

use std::time::Duration;

use crate::state::{backoff_delay, policy_attempt, AfterClose, Status};

/// What the socket tells the app.
pub struct Events {
    /// The connection state changed.
    pub status: Box<dyn Fn(Status)>,
    /// The socket opened; `true` when this is a reconnect after a drop.
    pub opened: Box<dyn Fn(bool)>,
    /// An open connection was lost: what its close code asks, and the server's reason (none
    /// when the network dropped it). The socket has already chosen when to retry; the page
    /// does the rest.
    pub lost: Box<dyn Fn(AfterClose, String)>,
    /// The server sent frames (all those of one WebSocket message, which may batch many).
    pub frames: Box<dyn Fn(Vec<ServerFrame>)>,
}

/// A self-healing connection. Cloning shares it.
#[derive(Clone)]
pub struct ChatSocket(Rc<RefCell<Inner>>);

struct Inner {
    url: String,
    events: Rc<Events>,
    socket: Option<Open>,
    /// Failed attempts since the last successful open; drives the backoff.
    attempt: u32,
    /// The current socket has opened and not closed since.
    connected: bool,
    ever_opened: bool,
    /// Policy closes (1008) in a row: each makes the next pause longer.
    pauses: u32,
    retry: Option<TimeoutHandle>,
    stopped: bool,
}

/// A socket with the callbacks that must live as long as it does.
struct Open {
    ws: WebSocket,
    _on_open: Closure<dyn FnMut(Event)>,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
    _on_close: Closure<dyn FnMut(CloseEvent)>,
}

/// True when the browser has a WebSocket implementation.
pub fn supported() -> bool {
    js_sys::Reflect::has(&window(), &"WebSocket".into()).unwrap_or(false)
}

/// `ws://host/ws?room=` (the page joins its rooms itself), or `wss://` when the page itself
/// came over HTTPS.
pub fn endpoint() -> String {
    let location = window().location();
    let scheme = match location.protocol().as_deref() {
        Ok("https:") => "wss",
        _ => "ws",
    };
    let host = location.host().unwrap_or_default();
    format!("{scheme}://{host}/ws?room=")
}

impl ChatSocket {
    /// Connects to `url` and keeps reconnecting until [`ChatSocket::stop`].
    pub fn start(url: String, events: Events) -> Self {
        let socket = ChatSocket(Rc::new(RefCell::new(Inner {
            url,
            events: Rc::new(events),
            socket: None,
            attempt: 0,
            connected: false,
            ever_opened: false,
            pauses: 0,
            retry: None,
            stopped: false,
        })));
        open(&socket.0);
        socket
    }

    /// Sends a frame if the socket is open. Returns `false` (and sends nothing) otherwise, so
    /// the caller can keep what it wanted to send.
    pub fn send(&self, frame: &ClientFrame) -> bool {
        let inner = self.0.borrow();
        let Some(open) = inner.socket.as_ref() else {
            return false;
        };
        if open.ws.ready_state() != WebSocket::OPEN {
            return false;
        }
        open.ws
            .send_with_str(&chat_shared::write::client_frame(frame))
            .is_ok()
    }

    /// Retries at once if the page is waiting to reconnect (the network came back).
    pub fn retry_now(&self) {
        let waiting = self.0.borrow_mut().retry.take();
        if let Some(handle) = waiting {
            handle.clear();
            open(&self.0);
        }
    }

    /// The browser says the network is gone: drop the socket now instead of waiting for TCP to
    /// notice (which can take minutes), and retry with backoff (at once when it is back).
    pub fn drop_now(&self) {
        let (open, was_open, events) = {
            let mut inner = self.0.borrow_mut();
            if inner.stopped || inner.retry.is_some() {
                return;
            }
            let was_open = std::mem::replace(&mut inner.connected, false);
            (inner.socket.take(), was_open, inner.events.clone())
        };
        if let Some(open) = open {
            open.ws.set_onclose(None);
            open.ws.set_onmessage(None);
            open.ws.set_onopen(None);
            let _ = open.ws.close();
        }
        if was_open {
            (events.lost)(AfterClose::Retry, String::new());
        }
        schedule_retry(&self.0, None);
    }

    /// Closes the socket and stops reconnecting.
    pub fn stop(&self) {
        let mut inner = self.0.borrow_mut();
        inner.stopped = true;
        if let Some(handle) = inner.retry.take() {
            handle.clear();
        }
        if let Some(open) = inner.socket.take() {
            open.ws.set_onclose(None);
            let _ = open.ws.close();
        }
    }
}

fn open(this: &Rc<RefCell<Inner>>) {
    let (url, events, ever_opened) = {
        let inner = this.borrow();
        if inner.stopped {
            return;
        }
        (inner.url.clone(), inner.events.clone(), inner.ever_opened)
    };
    (events.status)(if ever_opened {
        Status::Reconnecting
    } else {
        Status::Connecting
    });
    let ws = match WebSocket::new(&url) {
        Ok(ws) => ws,
        Err(_) => return schedule_retry(this, None),
    };
    let weak = Rc::downgrade(this);

    let on_open = {
        let weak = weak.clone();
        Closure::<dyn FnMut(Event)>::new(move |_: Event| {
            let Some(this) = weak.upgrade() else { return };
            let (events, reconnect) = {
                let mut inner = this.borrow_mut();
                inner.attempt = 0;
                inner.connected = true;
                let reconnect = inner.ever_opened;
                inner.ever_opened = true;
                (inner.events.clone(), reconnect)
            };
            (events.status)(Status::Connected);
            (events.opened)(reconnect);
            // For the connect-time benchmark: navigation start to first open socket.
            if !reconnect {
                if let Some(performance) = window().performance() {
                    let _ = performance.mark("chat:connected");
                }
            }
        })
    };
    let on_message = {
        let weak = weak.clone();
        Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
            let Some(this) = weak.upgrade() else { return };
            let Some(data) = event.data().as_string() else {
                return;
            };
            let events = this.borrow().events.clone();
            // Unknown or broken lines are skipped: a newer server may send frames we do not know.
            let frames = batch_lines(&data)
                .filter_map(crate::json::server_frame)
                .collect();
            (events.frames)(frames);
        })
    };
    let on_close = Closure::<dyn FnMut(CloseEvent)>::new(move |event: CloseEvent| {
        let Some(this) = weak.upgrade() else { return };
        let after = AfterClose::of(event.code());
        let (events, was_open) = {
            // The closed socket stays in place until the next attempt replaces it: dropping it
            // here would free this very callback while it runs.
            let mut inner = this.borrow_mut();
            let was_open = std::mem::replace(&mut inner.connected, false);
            if after == AfterClose::Pause {
                inner.pauses = inner.pauses.saturating_add(1);
                inner.attempt = inner.attempt.max(policy_attempt(inner.pauses));
            } else {
                inner.pauses = 0;
            }
            (inner.events.clone(), was_open)
        };
        if was_open {
            (events.lost)(after, event.reason());
        }
        schedule_retry(&this, after.at_once().then_some(Duration::ZERO));
    });
    ws.set_onopen(Some(on_open.as_ref().unchecked_ref()));
    ws.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    ws.set_onclose(Some(on_close.as_ref().unchecked_ref()));
    this.borrow_mut().socket = Some(Open {
        ws,
        _on_open: on_open,
        _on_message: on_message,
        _on_close: on_close,
    });
}

/// Opens the socket again after `delay`, or after the usual backoff when `None`.
fn schedule_retry(this: &Rc<RefCell<Inner>>, delay: Option<Duration>) {
    let (delay, events, ever_opened) = {
        let mut inner = this.borrow_mut();
        if inner.stopped {
            return;
        }
        let delay = delay.unwrap_or_else(|| {
            let delay = backoff_delay(inner.attempt, js_sys::Math::random());
            inner.attempt = inner.attempt.saturating_add(1);
            delay
        });
        (delay, inner.events.clone(), inner.ever_opened)
    };
    let online = window().navigator().on_line();
    (events.status)(match (online, ever_opened) {
        (false, _) => Status::Offline,
        (true, true) => Status::Reconnecting,
        (true, false) => Status::Connecting,
    });
    let weak: Weak<RefCell<Inner>> = Rc::downgrade(this);
    let handle = set_timeout_with_handle(
        move || {
            if let Some(this) = weak.upgrade() {
                this.borrow_mut().retry = None;
                open(&this);
            }
        },
        delay,
    );
    this.borrow_mut().retry = handle.ok();
}
