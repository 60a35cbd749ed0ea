//! Reading a [`ServerFrame`] from JSON in one pass.
//!
//! serde's derive for an internally tagged enum first copies the whole object into a generic
//! buffer (it cannot know the variant before it has seen `type`, which may come last), then reads
//! the variant from that buffer: two deserializers, each instantiated for every field type (in
//! the browser's WebAssembly that doubling was once the largest single part of serde's code; the
//! page now reads frames field by field, `js.rs`). So a server frame is read instead into one
//! struct that has every variant's fields, all optional, and then checked for the fields its
//! `type` needs. The JSON accepted is the same (the `server_frames_*` tests in this crate read
//! every documented shape, and the round-trip property test every frame), and so is the JSON
//! written: serialization stays derived.

use serde::{Deserialize, Deserializer};

use crate::{
    Action, ChatMessage, ErrorCode, ErrorFrame, Event, Joined, Limits, Quote, Reaction,
    ServerFrame, ServerFrameKind as Kind,
};

/// Every field any server frame has; which are required depends on `type`.
#[derive(Deserialize)]
struct Fields {
    #[serde(rename = "type")]
    kind: Kind,
    id: Option<u64>,
    room: Option<String>,
    name: Option<String>,
    text: Option<String>,
    ts: Option<u64>,
    cid: Option<String>,
    code: Option<ErrorCode>,
    message: Option<String>,
    retry_after_ms: Option<u64>,
    token: Option<String>,
    epoch: Option<String>,
    last_id: Option<u64>,
    recovered: Option<bool>,
    messages: Option<Vec<ChatMessage>>,
    members: Option<Vec<String>>,
    you: Option<String>,
    read: Option<u64>,
    mentions: Option<Vec<u64>>,
    unread: Option<u64>,
    mentioned: Option<bool>,
    notify_every: Option<bool>,
    muted: Option<bool>,
    title: Option<String>,
    topic: Option<String>,
    joined: Option<Vec<String>>,
    left: Option<Vec<String>>,
    more: Option<bool>,
    max_frame_bytes: Option<u64>,
    count: Option<u64>,
    account: Option<u64>,
    reply: Option<Quote>,
    edited: Option<u64>,
    reactions: Option<Vec<Reaction>>,
    action: Option<Action>,
    target: Option<u64>,
    emoji: Option<String>,
    events: Option<Vec<Event>>,
    format: Option<Vec<crate::markdown::Run>>,
    q: Option<String>,
    results: Option<Vec<crate::Found>>,
    next: Option<u64>,
}

/// A required field, or serde's usual "missing field" error.
fn need<T, E: serde::de::Error>(value: Option<T>, field: &'static str) -> Result<T, E> {
    value.ok_or_else(|| E::missing_field(field))
}

impl<'de> Deserialize<'de> for ServerFrame {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        // Fields are taken, not moved out, so `f` stays whole: an early return drops it with one
        // call instead of dropping each field not yet moved, code the page paid for in every
        // arm (300 bytes of WebAssembly).
        let mut f = Fields::deserialize(deserializer)?;
        Ok(match f.kind {
            Kind::Message => ServerFrame::Message(ChatMessage {
                id: need(f.id.take(), "id")?,
                room: f.room.take().unwrap_or_default(),
                name: f.name.take().unwrap_or_default(),
                text: need(f.text.take(), "text")?,
                ts: need(f.ts.take(), "ts")?,
                cid: f.cid.take(),
                account: f.account.take(),
                reply: f.reply.take(),
                edited: f.edited.take(),
                reactions: f.reactions.take().unwrap_or_default(),
                format: f.format.take().unwrap_or_default(),
                mentions: f.mentions.take().unwrap_or_default(),
            }),
            Kind::Event => ServerFrame::Event(Event {
                id: need(f.id.take(), "id")?,
                room: f.room.take().unwrap_or_default(),
                action: need(f.action.take(), "action")?,
                target: need(f.target.take(), "target")?,
                name: f.name.take().unwrap_or_default(),
                ts: need(f.ts.take(), "ts")?,
                account: f.account.take(),
                text: f.text.take().unwrap_or_default(),
                emoji: f.emoji.take().unwrap_or_default(),
                format: f.format.take().unwrap_or_default(),
                mentions: f.mentions.take().unwrap_or_default(),
            }),
            Kind::Error => ServerFrame::Error(ErrorFrame {
                code: need(f.code.take(), "code")?,
                message: need(f.message.take(), "message")?,
                room: f.room.take(),
                retry_after_ms: f.retry_after_ms.take(),
                cid: f.cid.take(),
            }),
            Kind::Welcome => ServerFrame::Welcome {
                name: need(f.name.take(), "name")?,
                token: need(f.token.take(), "token")?,
            },
            Kind::Joined => ServerFrame::Joined(Joined {
                room: need(f.room.take(), "room")?,
                epoch: need(f.epoch.take(), "epoch")?,
                last_id: need(f.last_id.take(), "last_id")?,
                recovered: need(f.recovered.take(), "recovered")?,
                messages: need(f.messages.take(), "messages")?,
                events: f.events.take().unwrap_or_default(),
                members: need(f.members.take(), "members")?,
                count: f.count.take(),
                you: f.you.take().unwrap_or_default(),
                title: f.title.take().unwrap_or_default(),
                topic: f.topic.take().unwrap_or_default(),
                read: f.read.take(),
                unread: f.unread.take(),
                mentioned: f.mentioned.take().unwrap_or_default(),
                notify_every: f.notify_every.take().unwrap_or_default(),
                muted: f.muted.take().unwrap_or_default(),
            }),
            Kind::Read => ServerFrame::Read {
                room: need(f.room.take(), "room")?,
                id: need(f.id.take(), "id")?,
            },
            Kind::Left => ServerFrame::Left {
                room: need(f.room.take(), "room")?,
            },
            Kind::Presence => ServerFrame::Presence {
                room: need(f.room.take(), "room")?,
                joined: need(f.joined.take(), "joined")?,
                left: need(f.left.take(), "left")?,
                count: f.count.take(),
            },
            Kind::Typing => ServerFrame::Typing {
                room: need(f.room.take(), "room")?,
                name: need(f.name.take(), "name")?,
            },
            Kind::Limits => ServerFrame::Limits(Limits {
                max_frame_bytes: f
                    .max_frame_bytes
                    .take()
                    .unwrap_or(Limits::DEFAULT.max_frame_bytes),
            }),
            Kind::History => ServerFrame::History {
                room: need(f.room.take(), "room")?,
                messages: need(f.messages.take(), "messages")?,
                more: need(f.more.take(), "more")?,
            },
            Kind::Results => ServerFrame::Results {
                q: need(f.q.take(), "q")?,
                results: need(f.results.take(), "results")?,
                next: f.next.take(),
            },
            Kind::Members => ServerFrame::Members {
                room: need(f.room.take(), "room")?,
                members: need(f.members.take(), "members")?,
                count: need(f.count.take(), "count")?,
                more: need(f.more.take(), "more")?,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Every frame read back as written: `shared/tests/roundtrip.rs` (property test).

    #[test]
    fn a_missing_field_or_an_unknown_type_is_an_error() {
        let err = serde_json::from_str::<ServerFrame>(r#"{"type":"typing","room":"r"}"#)
            .unwrap_err()
            .to_string();
        assert!(err.contains("missing field `name`"), "{err}");
        let err = serde_json::from_str::<ServerFrame>(r#"{"type":"nope"}"#)
            .unwrap_err()
            .to_string();
        assert!(err.contains("unknown variant"), "{err}");
        // `type` may come anywhere in the object, as with the derived reader.
        let frame = serde_json::from_str::<ServerFrame>(r#"{"room":"r","type":"left"}"#).unwrap();
        assert_eq!(frame, ServerFrame::Left { room: "r".into() });
    }
}
