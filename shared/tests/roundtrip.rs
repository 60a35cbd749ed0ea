//! Property tests: every frame survives encoding, and coalesced batches split back exactly.

use chat_shared::{
    encode, encode_client, push_to_batch, split_batch, ChatMessage, ClientFrame, ErrorCode,
    ErrorFrame, ServerFrame,
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
    prop_oneof![
        Just(ErrorCode::MalformedJson),
        Just(ErrorCode::UnknownType),
        Just(ErrorCode::InvalidFrame),
        Just(ErrorCode::BinaryUnsupported),
        Just(ErrorCode::EmptyText),
        Just(ErrorCode::TextTooLong),
    ]
}

fn server_frame() -> impl Strategy<Value = ServerFrame> {
    prop_oneof![
        (any::<u64>(), tricky_text(), any::<u64>())
            .prop_map(|(id, text, ts)| ServerFrame::Message(ChatMessage { id, text, ts })),
        (error_code(), tricky_text())
            .prop_map(|(code, message)| ServerFrame::Error(ErrorFrame { code, message })),
    ]
}

proptest! {
    #[test]
    fn client_frames_round_trip(text in tricky_text()) {
        let frame = ClientFrame::Send { text };
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
