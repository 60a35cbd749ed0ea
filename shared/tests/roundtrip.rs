//! Property tests: every frame survives encoding, and coalesced batches split back exactly.
//! (Native only: the page's reader has its own tests in `js.rs`, run in WebAssembly.)
#![cfg(not(target_arch = "wasm32"))]

use chat_shared::{
    encode, encode_client, push_to_batch, split_batch, Action, ChatMessage, ClientFrame, ErrorCode,
    ErrorFrame, Event, Found, Joined, Limits, Quote, Reaction, ServerFrame, ServerFrameKind,
};
use proptest::prelude::*;

/// Text that stresses the encoding: newlines, quotes, backslashes, control characters, emoji,
/// right-to-left scripts and combining marks, mixed with arbitrary Unicode.
fn tricky_text() -> impl Strategy<Value = String> {
    let pieces = prop_oneof![
        Just("\n".to_string()),
        Just("\r\n".to_string()),
        Just("\"".to_string()),
        Just("\\".to_string()),
        Just("\u{0}".to_string()),
        Just("\u{8}\u{c}\u{1f}\u{7f}\t".to_string()),
        Just("\u{2028}".to_string()),
        Just("😀👩‍👩‍👧".to_string()),
        Just("שלום עולם".to_string()),
        Just("مرحبا".to_string()),
        Just("e\u{301}".to_string()),
        Just("<img src=x onerror=alert(1)>".to_string()),
        any::<String>(),
    ];
    prop::collection::vec(pieces, 0..8).prop_map(|parts| parts.concat())
}

fn error_code() -> impl Strategy<Value = ErrorCode> {
    prop::sample::select(<ErrorCode as strum::VariantArray>::VARIANTS.to_vec())
}

fn message() -> impl Strategy<Value = ChatMessage> {
    let quote = (any::<u64>(), tricky_text(), tricky_text()).prop_map(|(id, name, text)| Quote {
        id,
        name,
        text,
    });
    let reaction = (tricky_text(), prop::collection::vec(tricky_text(), 0..3))
        .prop_map(|(emoji, names)| Reaction { emoji, names });
    (
        (
            any::<u64>(),
            "[a-z0-9_-]{1,64}",
            tricky_text(),
            tricky_text(),
            any::<u64>(),
        ),
        prop::option::of(tricky_text()),
        prop::option::of(0..1u64 << 53),
        prop::option::of(quote),
        prop::option::of(0..1u64 << 53),
        prop::collection::vec(reaction, 0..3),
        prop::collection::vec((tricky_text(), any::<u8>()), 0..3),
    )
        .prop_map(
            |((id, room, name, text, ts), cid, account, reply, edited, reactions, format)| {
                ChatMessage {
                    id,
                    room,
                    name,
                    text,
                    ts,
                    cid,
                    account,
                    reply,
                    edited,
                    mentions: account.into_iter().collect(),
                    reactions,
                    format,
                }
            },
        )
}

fn event() -> impl Strategy<Value = Event> {
    (
        (any::<u64>(), "[a-z0-9_-]{1,64}"),
        prop::sample::select(<Action as strum::VariantArray>::VARIANTS.to_vec()),
        any::<u64>(),
        tricky_text(),
        any::<u64>(),
        prop::option::of(0..1u64 << 53),
        tricky_text(),
        tricky_text(),
        prop::collection::vec((tricky_text(), any::<u8>()), 0..2),
    )
        .prop_map(
            |((id, room), action, target, name, ts, account, text, emoji, format)| Event {
                id,
                room,
                action,
                target,
                name,
                ts,
                account,
                mentions: account.into_iter().collect(),
                text,
                emoji,
                format,
            },
        )
}

fn server_frame() -> impl Strategy<Value = ServerFrame> {
    prop_oneof![
        message().prop_map(ServerFrame::Message),
        event().prop_map(ServerFrame::Event),
        (
            error_code(),
            tricky_text(),
            prop::option::of("[a-z]{1,8}"),
            prop::option::of(any::<u64>()),
            prop::option::of(tricky_text())
        )
            .prop_map(|(code, message, room, retry_after_ms, cid)| {
                ServerFrame::Error(ErrorFrame {
                    code,
                    message,
                    room,
                    retry_after_ms,
                    cid,
                })
            }),
        (
            "[a-z]{1,8}",
            tricky_text(),
            any::<u64>(),
            any::<bool>(),
            prop::collection::vec(message(), 0..4),
            prop::collection::vec(event(), 0..3),
            prop::collection::vec(tricky_text(), 0..4),
            tricky_text()
        )
            .prop_map(
                |(room, epoch, last_id, recovered, messages, events, members, you)| {
                    ServerFrame::Joined(Joined {
                        room,
                        epoch,
                        last_id,
                        recovered,
                        messages,
                        events,
                        members,
                        count: None,
                        title: you.clone(),
                        topic: you.clone(),
                        you,
                        read: recovered.then_some(last_id / 2),
                        unread: recovered.then_some(last_id % 1000),
                        mentioned: recovered && last_id % 2 == 0,
                        notify_every: last_id % 3 == 0,
                        muted: last_id % 3 == 1,
                    })
                }
            ),
        ("[a-z]{1,8}", tricky_text())
            .prop_map(|(name, token)| ServerFrame::Welcome { name, token }),
        "[a-z]{1,8}".prop_map(|room| ServerFrame::Left { room }),
        (
            "[a-z]{1,8}",
            prop::collection::vec(tricky_text(), 0..4),
            prop::collection::vec(tricky_text(), 0..4),
            proptest::option::of(0u64..1_000_000)
        )
            .prop_map(|(room, joined, left, count)| ServerFrame::Presence {
                room,
                joined,
                left,
                count
            }),
        ("[a-z]{1,8}", tricky_text()).prop_map(|(room, name)| ServerFrame::Typing { room, name }),
        (
            "[a-z]{1,8}",
            prop::collection::vec(message(), 0..4),
            any::<bool>()
        )
            .prop_map(|(room, messages, more)| ServerFrame::History {
                room,
                messages,
                more
            }),
        (0..1u64 << 53).prop_map(|max_frame_bytes| ServerFrame::Limits(Limits { max_frame_bytes })),
        (
            "[a-z]{1,8}",
            prop::collection::vec(tricky_text(), 0..4),
            0..1u64 << 53,
            any::<bool>()
        )
            .prop_map(|(room, members, count, more)| ServerFrame::Members {
                room,
                members,
                count,
                more
            }),
        ("[a-z]{1,8}", 0..1u64 << 53).prop_map(|(room, id)| ServerFrame::Read { room, id }),
        (
            tricky_text(),
            prop::collection::vec(
                (
                    "[a-z_]{1,8}",
                    0..1u64 << 53,
                    tricky_text(),
                    0..1u64 << 53,
                    prop::collection::vec((tricky_text(), 0..2u8), 0..3)
                )
                    .prop_map(|(room, id, name, ts, snippet)| Found {
                        room,
                        id,
                        name,
                        ts,
                        snippet
                    }),
                0..3
            ),
            prop::option::of(0..1u64 << 53)
        )
            .prop_map(|(q, results, next)| ServerFrame::Results { q, results, next }),
    ]
}

#[test]
fn every_kind_of_server_frame_is_generated() {
    // Adding a frame to the protocol fails this test until the strategy above writes it too.
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let strategy = server_frame();
    let mut seen = Vec::new();
    for _ in 0..2000 {
        let frame = strategy.new_tree(&mut runner).unwrap().current();
        seen.push(ServerFrameKind::from(&frame));
    }
    for kind in <ServerFrameKind as strum::VariantArray>::VARIANTS {
        assert!(seen.contains(kind), "no {kind:?} frame is generated");
    }
}

fn client_frame() -> impl Strategy<Value = ClientFrame> {
    let room = || "[a-z0-9_-]{1,64}";
    let id = || prop::option::of(any::<u64>());
    let text = || prop::option::of(tricky_text());
    prop_oneof![
        (tricky_text(), text()).prop_map(|(name, token)| ClientFrame::Hello { name, token }),
        (room(), id(), text()).prop_map(|(room, since, epoch)| ClientFrame::Join {
            room,
            since,
            epoch
        }),
        room().prop_map(|room| ClientFrame::Leave { room }),
        (prop::option::of(room()), tricky_text(), text(), id()).prop_map(
            |(room, text, cid, reply_to)| ClientFrame::Send {
                room,
                text,
                cid,
                reply_to
            }
        ),
        (room(), any::<u64>(), tricky_text()).prop_map(|(room, id, text)| ClientFrame::Edit {
            room,
            id,
            text
        }),
        (room(), any::<u64>(), tricky_text()).prop_map(|(room, id, emoji)| ClientFrame::React {
            room,
            id,
            emoji
        }),
        room().prop_map(|room| ClientFrame::Typing { room }),
        (room(), id(), id(), prop::option::of(any::<u32>())).prop_map(
            |(room, before, around, limit)| ClientFrame::History {
                room,
                before,
                around,
                limit
            }
        ),
        (room(), any::<u64>()).prop_map(|(room, id)| ClientFrame::Delete { room, id }),
        (room(), text(), prop::option::of(any::<u32>()))
            .prop_map(|(room, after, limit)| ClientFrame::Members { room, after, limit }),
        tricky_text().prop_map(|token| ClientFrame::Refresh { token }),
        (room(), any::<u64>()).prop_map(|(room, id)| ClientFrame::Read { room, id }),
        (tricky_text(), id()).prop_map(|(q, before)| ClientFrame::Search { q, before }),
    ]
}

proptest! {
    #[test]
    fn hand_written_client_frames_match_serde(frame in client_frame()) {
        let json = chat_shared::write::client_frame(&frame);
        prop_assert_eq!(&json, &encode_client(&frame).unwrap());
        prop_assert_eq!(ClientFrame::parse(&json), Ok(frame));
    }

    #[test]
    fn client_frames_round_trip(text in tricky_text(), cid in prop::option::of(tricky_text())) {
        let frame = ClientFrame::Send { room: Some("lobby".into()), text, cid, reply_to: None };
        let json = encode_client(&frame).unwrap();
        prop_assert_eq!(ClientFrame::parse(&json), Ok(frame));
    }

    #[test]
    fn server_frames_round_trip(frame in server_frame()) {
        let json = encode(&frame).unwrap();
        prop_assert!(!json.contains('\n'), "encoded frame must be one line: {}", json);
        let back: Vec<_> = split_batch(&json).collect::<Result<_, _>>().unwrap();
        prop_assert_eq!(back, vec![frame]);
    }

    #[test]
    fn coalesced_batches_split_into_the_same_frames(frames in prop::collection::vec(server_frame(), 1..20)) {
        let mut batch = String::new();
        for frame in &frames {
            push_to_batch(&mut batch, &encode(frame).unwrap());
        }
        let back: Vec<_> = split_batch(&batch).collect::<Result<_, _>>().unwrap();
        prop_assert_eq!(back, frames);
    }
}
