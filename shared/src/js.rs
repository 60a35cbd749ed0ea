//! Reading the protocol in the browser from the value the browser's own `JSON.parse` made, so
//! that the page's WebAssembly carries no JSON parser (the page: `frontend/src/json.rs`).
//!
//! Read field by field for the frame's `type`, not through serde: a serde `Deserializer` over
//! JavaScript values is instantiated for every field type of every struct it reads, and serde's
//! derive for a frame matches every field name of every variant; in the page that was the largest
//! part of its own code (the frame reader alone 10.4 KB of WebAssembly before compression). Read
//! this way the page is 2.5 KB gzip smaller (BENCHMARKS.md, "The page's size"). Writing stays
//! serde's, and `tests/js.rs` (run under Node) reads back every kind of frame the server writes,
//! optional fields present and absent, and refuses what is not a frame, so this reader and the
//! derived writer cannot drift apart unnoticed.

use js_sys::{Array, Reflect};
use wasm_bindgen::{JsCast, JsValue};

use crate::{
    named, Action, ChatMessage, ErrorCode, ErrorFrame, Event, Joined, Limits, Quote, Reaction,
    ServerFrame, ServerFrameKind as Kind,
};

/// Largest integer a JavaScript number holds exactly (2^53 - 1).
const MAX_SAFE_INTEGER: f64 = 9_007_199_254_740_991.0;

/// A value that is not what was expected. It carries no message: the page never shows one (a
/// frame it cannot read is skipped), and formatting one would link Rust's formatting code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unreadable;

/// Parses `text` with the browser's `JSON.parse`.
pub fn parse(text: &str) -> Result<JsValue, Unreadable> {
    js_sys::JSON::parse(text).map_err(|_| Unreadable)
}

/// Parses `text` and reads it as a server frame.
pub fn server_frame(text: &str) -> Result<ServerFrame, Unreadable> {
    read_frame(&parse(text)?)
}

/// A JSON object's fields, each read as the type it must have. A field that is absent or `null`
/// reads as `None` (as serde reads an `Option`); one of another type is [`Unreadable`].
#[derive(Debug, Clone, Copy)]
pub struct Fields<'a>(&'a JsValue);

impl<'a> Fields<'a> {
    /// The fields of `value`, if it is an object (arrays are not: the server writes objects).
    pub fn of(value: &'a JsValue) -> Result<Self, Unreadable> {
        if value.is_object() && !value.is_array() {
            Ok(Fields(value))
        } else {
            Err(Unreadable)
        }
    }

    /// The field `key`, `None` if absent or `null`.
    pub fn value(self, key: &str) -> Option<JsValue> {
        Reflect::get(self.0, &JsValue::from_str(key))
            .ok()
            .filter(|value| !value.is_null_or_undefined())
    }

    /// A string field.
    pub fn string(self, key: &str) -> Result<Option<String>, Unreadable> {
        self.value(key).map(|value| string(&value)).transpose()
    }

    /// An integer field that is not negative (ids, times, counts).
    pub fn unsigned(self, key: &str) -> Result<Option<u64>, Unreadable> {
        self.value(key).map(|value| unsigned(&value)).transpose()
    }

    /// Any integer field JavaScript holds exactly.
    pub fn integer(self, key: &str) -> Result<Option<i64>, Unreadable> {
        self.value(key).map(|value| integer(&value)).transpose()
    }

    /// A boolean field.
    pub fn flag(self, key: &str) -> Result<Option<bool>, Unreadable> {
        self.value(key)
            .map(|value| value.as_bool().ok_or(Unreadable))
            .transpose()
    }

    /// An array of strings.
    pub fn strings(self, key: &str) -> Result<Option<Vec<String>>, Unreadable> {
        self.value(key).map(|value| strings(&value)).transpose()
    }

    /// An array of messages.
    fn messages(self, key: &str) -> Result<Option<Vec<ChatMessage>>, Unreadable> {
        self.value(key)
            .map(|value| list(&value, message))
            .transpose()
    }
}

/// A field the frame's `type` requires.
fn need<T>(value: Result<Option<T>, Unreadable>) -> Result<T, Unreadable> {
    value?.ok_or(Unreadable)
}

fn string(value: &JsValue) -> Result<String, Unreadable> {
    value.as_string().ok_or(Unreadable)
}

/// An array of strings.
pub fn strings(value: &JsValue) -> Result<Vec<String>, Unreadable> {
    list(value, string)
}

/// An integer JavaScript holds exactly: refused if it has a fraction or is beyond 2^53 - 1 either
/// way (a larger number may already have been rounded by `JSON.parse`).
fn integer(value: &JsValue) -> Result<i64, Unreadable> {
    let number = value.as_f64().ok_or(Unreadable)?;
    if number.fract() == 0.0 && number.abs() <= MAX_SAFE_INTEGER {
        Ok(number as i64)
    } else {
        Err(Unreadable)
    }
}

fn unsigned(value: &JsValue) -> Result<u64, Unreadable> {
    u64::try_from(integer(value)?).map_err(|_| Unreadable)
}

/// Every element of an array, each read by `read`.
fn list<T>(
    value: &JsValue,
    read: impl Fn(&JsValue) -> Result<T, Unreadable>,
) -> Result<Vec<T>, Unreadable> {
    let array = value.dyn_ref::<Array>().ok_or(Unreadable)?;
    (0..array.length()).map(|i| read(&array.get(i))).collect()
}

fn message(value: &JsValue) -> Result<ChatMessage, Unreadable> {
    let f = Fields::of(value)?;
    Ok(ChatMessage {
        id: need(f.unsigned("id"))?,
        room: f.string("room")?.unwrap_or_default(),
        name: f.string("name")?.unwrap_or_default(),
        text: need(f.string("text"))?,
        ts: need(f.unsigned("ts"))?,
        cid: f.string("cid")?,
        account: f.unsigned("account")?,
        reply: f.value("reply").map(|value| quote(&value)).transpose()?,
        edited: f.unsigned("edited")?,
        reactions: f
            .value("reactions")
            .map(|value| list(&value, reaction))
            .transpose()?
            .unwrap_or_default(),
        format: format(f)?,
        mentions: mentions(f)?,
    })
}

/// The accounts a message (or an edit) mentions.
fn mentions(f: Fields<'_>) -> Result<Vec<u64>, Unreadable> {
    f.value("mentions")
        .map_or(Ok(Vec::new()), |value| list(&value, unsigned))
}

/// A message's (or an edit's) runs: `[["text", style], ...]`.
fn format(f: Fields<'_>) -> Result<Vec<crate::markdown::Run>, Unreadable> {
    let Some(value) = f.value("format") else {
        return Ok(Vec::new());
    };
    list(&value, |run| {
        let run = run.dyn_ref::<Array>().ok_or(Unreadable)?;
        let style = u8::try_from(unsigned(&run.get(1))?).map_err(|_| Unreadable)?;
        Ok((string(&run.get(0))?, style))
    })
}

fn quote(value: &JsValue) -> Result<Quote, Unreadable> {
    let f = Fields::of(value)?;
    Ok(Quote {
        id: need(f.unsigned("id"))?,
        name: f.string("name")?.unwrap_or_default(),
        text: f.string("text")?.unwrap_or_default(),
    })
}

fn reaction(value: &JsValue) -> Result<Reaction, Unreadable> {
    let f = Fields::of(value)?;
    Ok(Reaction {
        emoji: need(f.string("emoji"))?,
        names: need(f.strings("names"))?,
    })
}

fn event(value: &JsValue) -> Result<Event, Unreadable> {
    use strum::VariantArray;
    let f = Fields::of(value)?;
    Ok(Event {
        id: need(f.unsigned("id"))?,
        room: f.string("room")?.unwrap_or_default(),
        action: named(Action::VARIANTS, &need(f.string("action"))?).ok_or(Unreadable)?,
        target: need(f.unsigned("target"))?,
        name: f.string("name")?.unwrap_or_default(),
        ts: need(f.unsigned("ts"))?,
        account: f.unsigned("account")?,
        text: f.string("text")?.unwrap_or_default(),
        emoji: f.string("emoji")?.unwrap_or_default(),
        format: format(f)?,
        mentions: mentions(f)?,
    })
}

/// Reads a value `JSON.parse` made as a server frame.
pub fn read_frame(value: &JsValue) -> Result<ServerFrame, Unreadable> {
    use strum::VariantArray;
    let f = Fields::of(value)?;
    let kind = need(f.string("type"))?;
    let kind = named(Kind::VARIANTS, &kind).ok_or(Unreadable)?;
    Ok(match kind {
        Kind::Message => ServerFrame::Message(message(value)?),
        Kind::Event => ServerFrame::Event(event(value)?),
        Kind::Error => ServerFrame::Error(ErrorFrame {
            // A code from a newer server is still an error, of a kind this page does not know.
            code: named(ErrorCode::VARIANTS, &need(f.string("code"))?)
                .unwrap_or(ErrorCode::Unknown),
            message: need(f.string("message"))?,
            room: f.string("room")?,
            retry_after_ms: f.unsigned("retry_after_ms")?,
            cid: f.string("cid")?,
        }),
        Kind::Welcome => ServerFrame::Welcome {
            name: need(f.string("name"))?,
            token: need(f.string("token"))?,
        },
        Kind::Joined => ServerFrame::Joined(Joined {
            room: need(f.string("room"))?,
            epoch: need(f.string("epoch"))?,
            last_id: need(f.unsigned("last_id"))?,
            recovered: need(f.flag("recovered"))?,
            messages: need(f.messages("messages"))?,
            events: f
                .value("events")
                .map(|value| list(&value, event))
                .transpose()?
                .unwrap_or_default(),
            members: need(f.strings("members"))?,
            count: f.unsigned("count")?,
            you: f.string("you")?.unwrap_or_default(),
            title: f.string("title")?.unwrap_or_default(),
            topic: f.string("topic")?.unwrap_or_default(),
            read: f.unsigned("read")?,
            unread: f.unsigned("unread")?,
            mentioned: f.flag("mentioned")?.unwrap_or_default(),
            notify_every: f.flag("notify_every")?.unwrap_or_default(),
            muted: f.flag("muted")?.unwrap_or_default(),
        }),

        Kind::Presence => ServerFrame::Presence {
            room: need(f.string("room"))?,
            joined: need(f.strings("joined"))?,
            left: need(f.strings("left"))?,
            count: f.unsigned("count")?,
        },
        Kind::Typing => ServerFrame::Typing {
            room: need(f.string("room"))?,
            name: need(f.string("name"))?,
        },
        Kind::Limits => ServerFrame::Limits(Limits {
            max_frame_bytes: f
                .unsigned("max_frame_bytes")?
                .unwrap_or(Limits::DEFAULT.max_frame_bytes),
        }),
        Kind::History => ServerFrame::History {
            room: need(f.string("room"))?,
            messages: need(f.messages("messages"))?,
            more: need(f.flag("more"))?,
        },
        // The answers the page does nothing with: `members` (it never asks; it shows a crowd's
        // count) and `left` (it forgets a room when it leaves it). Not read, so not compiled
        // into the page (BENCHMARKS.md).
        Kind::Read => ServerFrame::Read {
            room: need(f.string("room"))?,
            id: need(f.unsigned("id"))?,
        },
        Kind::Members | Kind::Left | Kind::Results => return Err(Unreadable),
    })
}
