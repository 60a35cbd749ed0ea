//! The page's way of reading frames (`chat_shared::js`: the browser's `JSON.parse`, then the
//! value read into the shared types), run under Node by wasm-bindgen-test-runner
//! (`scripts/test.sh`): what the server writes reads back as written, and what is not a frame
//! is refused rather than misread.
#![cfg(all(target_arch = "wasm32", feature = "js"))]

use chat_shared::{
    encode, js, Action, ChatMessage, ErrorCode, ErrorFrame, Event, Found, Joined, Limits, Quote,
    Reaction, ServerFrame, ServerFrameKind,
};
use wasm_bindgen_test::wasm_bindgen_test;

/// Largest id a JavaScript number holds exactly; ids and times stay far below it.
const MAX_SAFE: u64 = (1 << 53) - 1;

const TEXTS: [&str; 8] = [
    "hello",
    "",
    "line\nbreak \"quoted\" back\\slash \u{0} \u{1f}",
    "\u{2028}😀👩‍👩‍👧 שלום مرحبا e\u{301}",
    "<img src=x onerror=alert(1)>",
    "{\"type\":\"message\"}",
    "Zoë ΟΔΥΣΣΕΥΣ",
    " ",
];

fn message(i: usize) -> ChatMessage {
    ChatMessage {
        id: [0, 1, 42, MAX_SAFE][i % 4],
        room: "rust-lang_2".into(),
        name: TEXTS[(i + 6) % TEXTS.len()].into(),
        text: TEXTS[i % TEXTS.len()].into(),
        ts: 1_764_000_000_000 + i as u64,
        cid: (i % 2 == 0).then(|| format!("c-{i}")),
        account: (i % 3 == 0).then_some(7),
        reply: (i % 5 == 1).then(|| Quote {
            id: 41,
            name: TEXTS[(i + 1) % TEXTS.len()].into(),
            text: TEXTS[(i + 2) % TEXTS.len()].into(),
        }),
        edited: (i % 4 == 1).then_some(1_764_000_000_100),
        reactions: (0..i % 3)
            .map(|r| Reaction {
                emoji: ["👍", "👩‍👩‍👧"][r % 2].into(),
                names: vec![TEXTS[(i + r) % TEXTS.len()].into(); r + 1],
            })
            .collect(),
        format: (0..i % 3)
            .map(|r| (TEXTS[(i + r) % TEXTS.len()].to_string(), [1, 8, 255][r]))
            .collect(),
        mentions: (0..i % 3).map(|n| [0, 7, MAX_SAFE][n]).collect(),
    }
}

fn event(i: usize) -> Event {
    use strum::VariantArray;
    Event {
        id: [2, 43, MAX_SAFE][i % 3],
        room: "rust-lang_2".into(),
        action: Action::VARIANTS[i % Action::VARIANTS.len()],
        target: [1, 42][i % 2],
        name: TEXTS[(i + 3) % TEXTS.len()].into(),
        ts: 1_764_000_000_000 + i as u64,
        account: (i % 2 == 0).then_some(9),
        text: TEXTS[i % TEXTS.len()].into(),
        emoji: ["👍", ""][i % 2].into(),
        format: if i % 2 == 0 {
            vec![("bold".to_string(), 1)]
        } else {
            Vec::new()
        },
        mentions: if i % 2 == 0 { vec![9] } else { Vec::new() },
    }
}

/// Every kind of frame the server writes, with optional fields both present and absent.
fn frames() -> Vec<ServerFrame> {
    let mut frames: Vec<ServerFrame> = (0..TEXTS.len())
        .map(|i| ServerFrame::Message(message(i)))
        .chain((0..8).map(|i| ServerFrame::Event(event(i))))
        .collect();
    for (i, code) in <ErrorCode as strum::VariantArray>::VARIANTS
        .iter()
        .enumerate()
    {
        frames.push(ServerFrame::Error(ErrorFrame {
            code: *code,
            message: TEXTS[i % TEXTS.len()].into(),
            room: (i % 2 == 0).then(|| "lobby".into()),
            retry_after_ms: (i % 3 == 0).then_some(1500),
            cid: (i % 2 == 1).then(|| "c-9".into()),
        }));
    }
    frames.extend([
        ServerFrame::Welcome {
            name: "Zoë".into(),
            token: "t0k3n".into(),
        },
        ServerFrame::Joined(Joined {
            room: "lobby".into(),
            epoch: "8f3a".into(),
            last_id: MAX_SAFE,
            recovered: true,
            messages: (0..20).map(message).collect(),
            events: (0..5).map(event).collect(),
            members: vec!["alice".into(), "Zoë".into()],
            count: None,
            you: "alice".into(),
            title: String::new(),
            topic: String::new(),
            // A signed-in reader's read position, and a mention after it.
            read: Some(40),
            unread: Some(3),
            mentioned: true,
            // Its level in the room: everything.
            notify_every: true,
            muted: false,
        }),
        ServerFrame::Joined(Joined {
            room: "empty".into(),
            epoch: "e".into(),
            last_id: 0,
            recovered: false,
            messages: vec![],
            events: vec![],
            members: vec![],
            count: None,
            you: String::new(),
            title: String::new(),
            topic: String::new(),
            read: None,
            unread: None,
            mentioned: false,
            notify_every: false,
            muted: true,
        }),
        ServerFrame::Left {
            room: "lobby".into(),
        },
        ServerFrame::Presence {
            room: "lobby".into(),
            joined: vec!["bob".into()],
            left: vec![],
            count: None,
        },
        ServerFrame::Presence {
            room: "crowd".into(),
            joined: vec![],
            left: vec![],
            count: Some(5000),
        },
        ServerFrame::Typing {
            room: "lobby".into(),
            name: "bob".into(),
        },
        ServerFrame::History {
            room: "lobby".into(),
            messages: (3..6).map(message).collect(),
            more: false,
        },
        ServerFrame::Limits(Limits {
            max_frame_bytes: MAX_SAFE,
        }),
        ServerFrame::Members {
            room: "crowd".into(),
            members: vec!["ann".into(), "Bob".into()],
            count: 5000,
            more: true,
        },
        ServerFrame::Read {
            room: "lobby".into(),
            id: 41,
        },
        ServerFrame::Results {
            q: "deploy".into(),
            results: vec![Found {
                room: "lobby".into(),
                id: 4,
                name: "ann".into(),
                ts: 5,
                snippet: vec![("deploy".into(), 1), (" done".into(), 0)],
            }],
            next: Some(4),
        },
    ]);
    frames
}

#[wasm_bindgen_test]
fn the_frames_above_are_every_kind_the_server_writes() {
    let kinds: Vec<ServerFrameKind> = frames().iter().map(ServerFrameKind::from).collect();
    for kind in <ServerFrameKind as strum::VariantArray>::VARIANTS {
        assert!(kinds.contains(kind), "no {kind:?} frame is read back");
    }
}

#[wasm_bindgen_test]
fn limits_missing_from_an_older_server_read_as_the_defaults_and_unknown_ones_are_skipped() {
    assert_eq!(
        js::server_frame(r#"{"type":"limits","rate_limit":5}"#).ok(),
        Some(ServerFrame::Limits(Limits::default()))
    );
}

/// The answers the page does nothing with, and so does not read (`js.rs`).
fn ignored(frame: &ServerFrame) -> bool {
    matches!(
        frame,
        ServerFrame::Members { .. } | ServerFrame::Left { .. } | ServerFrame::Results { .. }
    )
}

#[wasm_bindgen_test]
fn every_frame_the_server_writes_reads_back_as_written() {
    for frame in frames().into_iter().filter(|f| !ignored(f)) {
        let json = encode(&frame).unwrap();
        assert_eq!(js::server_frame(&json).ok(), Some(frame), "{json}");
    }
}

#[wasm_bindgen_test]
fn the_answers_the_page_ignores_are_skipped_not_misread() {
    for frame in frames().into_iter().filter(ignored) {
        let json = encode(&frame).unwrap();
        assert!(js::server_frame(&json).is_err(), "{json}");
    }
}

#[wasm_bindgen_test]
fn what_is_not_a_frame_is_refused_not_misread() {
    for bad in [
        "",
        "not json",
        "{}",
        "[]",
        "null",
        r#"{"type":"nope","room":"r"}"#,
        r#"{"type":"message","text":"a","ts":1}"#,
        r#"{"type":"message","id":"1","text":"a","ts":1}"#,
        r#"{"type":"message","id":-1,"text":"a","ts":1}"#,
        r#"{"type":"message","id":1.5,"text":"a","ts":1}"#,
        // 2^53 + 1: JavaScript cannot hold it, so it is refused rather than read as 2^53.
        r#"{"type":"message","id":9007199254740993,"text":"a","ts":1}"#,
        r#"{"type":"message","id":1,"text":7,"ts":1}"#,
        r#"{"type":"presence","room":"r","joined":"bob","left":[]}"#,
        r#"{"type":"history","room":"r","messages":[{"id":1}],"more":false}"#,
        r#"{"type":"error","code":3,"message":"m"}"#,
        // An action this page does not know (a newer server's) or no target: skipped.
        r#"{"type":"event","id":2,"action":"explode","target":1,"ts":1}"#,
        r#"{"type":"event","id":2,"action":"edit","ts":1,"text":"a"}"#,
        r#"{"type":"message","id":1,"text":"a","ts":1,"reactions":[{"emoji":"x"}]}"#,
        r#"{"type":"message","id":1,"text":"a","ts":1,"format":[["a",256]]}"#,
        r#"{"type":"message","id":1,"text":"a","ts":1,"format":[[1,"a"]]}"#,
        // serde's derived readers would take a struct's fields as an array; the server writes
        // objects, and the page reads nothing else.
        r#"{"type":"history","room":"r","messages":[[1,"r","a","t",1]],"more":false}"#,
        r#"["message",1,"r","a","t",1]"#,
    ] {
        assert!(js::server_frame(bad).is_err(), "{bad}");
    }
}

#[wasm_bindgen_test]
fn unknown_fields_are_skipped_and_codes_from_newer_servers_still_read() {
    let frame = js::server_frame(
        r#"{"extra":{"a":[1,2.5,null,true]},"code":"from_the_future","type":"error","message":"no","cid":"c1","room":null}"#,
    );
    assert_eq!(
        frame.ok(),
        Some(ServerFrame::Error(ErrorFrame {
            code: ErrorCode::Unknown,
            message: "no".into(),
            room: None,
            retry_after_ms: None,
            cid: Some("c1".into()),
        }))
    );
}

#[wasm_bindgen_test]
fn fields_read_as_their_type_or_not_at_all() {
    let value =
        js::parse(r#"{"s":"a","n":-3,"u":7,"b":true,"l":["x","y"],"z":null,"f":1.5}"#).unwrap();
    let f = js::Fields::of(&value).unwrap();
    assert_eq!(f.string("s"), Ok(Some("a".into())));
    assert_eq!(f.integer("n"), Ok(Some(-3)));
    assert_eq!(f.unsigned("u"), Ok(Some(7)));
    assert_eq!(f.flag("b"), Ok(Some(true)));
    assert_eq!(f.strings("l"), Ok(Some(vec!["x".into(), "y".into()])));
    // Absent and null are both "not there"; another type is an error, not a default.
    assert_eq!(f.string("z"), Ok(None));
    assert_eq!(f.string("missing"), Ok(None));
    assert!(f.unsigned("n").is_err() && f.integer("f").is_err() && f.string("u").is_err());
    assert!(f.strings("s").is_err());
    assert!(js::Fields::of(&js::parse("[1]").unwrap()).is_err());
}

#[wasm_bindgen_test]
fn a_coalesced_message_reads_frame_by_frame() {
    // What the page does with one WebSocket message: each line read on its own, in order, and a
    // blank or broken one dropped without hiding the frames around it.
    let frames = frames();
    let mut batch = String::new();
    for frame in &frames[..3] {
        chat_shared::push_to_batch(&mut batch, &encode(frame).unwrap());
    }
    batch.push_str("\n\n{broken\n");
    batch.push_str(&encode(&frames[3]).unwrap());
    let read: Vec<ServerFrame> = chat_shared::batch_lines(&batch)
        .filter_map(|line| js::server_frame(line).ok())
        .collect();
    assert_eq!(read, frames[..4].to_vec());
}
