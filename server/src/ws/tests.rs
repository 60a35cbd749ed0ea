use super::*;

const MASK: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];

/// A masked client frame, as a browser would send it.
fn client_frame(fin: bool, opcode: u8, payload: &[u8]) -> Vec<u8> {
    let mut frame = vec![(if fin { 0x80 } else { 0 }) | opcode];
    match payload.len() {
        n if n < 126 => frame.push(0x80 | n as u8),
        n if n <= 0xFFFF => {
            frame.push(0x80 | 126);
            frame.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            frame.push(0x80 | 127);
            frame.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    frame.extend_from_slice(&MASK);
    frame.extend(payload.iter().enumerate().map(|(i, b)| b ^ MASK[i % 4]));
    frame
}

fn decode_all(decoder: &mut Decoder, mut bytes: Vec<u8>) -> Result<Vec<Incoming>, CloseReason> {
    let mut out = Vec::new();
    let mut at = 0;
    while let Some((used, message)) = decoder.decode(&mut bytes[at..])? {
        at += used;
        out.extend(message);
    }
    assert_eq!(at, bytes.len(), "every byte used");
    Ok(out)
}

#[test]
fn the_handshake_key_matches_the_rfc_example() {
    assert_eq!(
        accept_key(b"dGhlIHNhbXBsZSBub25jZQ=="),
        "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
    );
}

#[test]
fn headers_use_the_shortest_length_form() {
    assert_eq!(
        header(opcode::TEXT, 5),
        ([0x81, 5, 0, 0, 0, 0, 0, 0, 0, 0], 2)
    );
    let (head, n) = header(opcode::TEXT, 300);
    assert_eq!((&head[..n], n), (&[0x81, 126, 1, 44][..], 4));
    let (head, n) = header(opcode::PING, 70_000);
    assert_eq!(&head[..n], &[0x89, 127, 0, 0, 0, 0, 0, 1, 0x11, 0x70]);
}

#[test]
fn text_of_every_length_form_decodes() {
    for len in [0, 1, 125, 126, 3000, 70_000] {
        let text = "é".repeat(len / 2) + &"x".repeat(len % 2);
        let mut decoder = Decoder::new(100_000);
        let got = decode_all(
            &mut decoder,
            client_frame(true, opcode::TEXT, text.as_bytes()),
        );
        assert_eq!(got, Ok(vec![Incoming::Text(text)]), "length {len}");
    }
}

#[test]
fn a_frame_split_anywhere_waits_for_the_rest() {
    let frame = client_frame(true, opcode::TEXT, b"hello there");
    for cut in 0..frame.len() {
        let mut part = frame[..cut].to_vec();
        assert_eq!(
            Decoder::new(100).decode(&mut part),
            Ok(None),
            "cut at {cut}"
        );
    }
}

#[test]
fn fragments_are_joined_and_control_frames_may_come_between() {
    let mut bytes = client_frame(false, opcode::TEXT, "h\u{e9}".as_bytes());
    bytes.extend(client_frame(true, opcode::PING, b"p"));
    bytes.extend(client_frame(false, CONTINUATION, b"ll"));
    bytes.extend(client_frame(true, CONTINUATION, b"o"));
    let got = decode_all(&mut Decoder::new(100), bytes).unwrap();
    assert_eq!(
        got,
        vec![
            Incoming::Ping(Bytes::from_static(b"p")),
            Incoming::Text("h\u{e9}llo".into())
        ]
    );
}

#[test]
fn a_utf8_sequence_split_across_fragments_is_fine() {
    let smile = "🙂".as_bytes();
    let mut bytes = client_frame(false, opcode::TEXT, &smile[..2]);
    bytes.extend(client_frame(true, CONTINUATION, &smile[2..]));
    let got = decode_all(&mut Decoder::new(100), bytes).unwrap();
    assert_eq!(got, vec![Incoming::Text("🙂".into())]);
}

#[test]
fn oversized_messages_are_refused_from_the_header() {
    let mut decoder = Decoder::new(10);
    // Only the header: the payload never has to arrive for the refusal.
    let mut head = client_frame(true, opcode::TEXT, &[b'x'; 11])[..6].to_vec();
    assert_eq!(decoder.decode(&mut head), Err(CloseReason::TooLarge));

    let mut bytes = client_frame(false, opcode::TEXT, &[b'x'; 6]);
    bytes.extend(client_frame(true, CONTINUATION, &[b'x'; 5]));
    assert_eq!(
        decode_all(&mut Decoder::new(10), bytes),
        Err(CloseReason::TooLarge)
    );

    let exact = client_frame(true, opcode::TEXT, &[b'x'; 10]);
    assert!(decode_all(&mut Decoder::new(10), exact).is_ok());
}

#[test]
fn protocol_violations_are_refused() {
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("unmasked", vec![0x81, 0x01, b'a']),
        ("reserved bit", {
            let mut f = client_frame(true, opcode::TEXT, b"a");
            f[0] |= 0x40;
            f
        }),
        ("unknown opcode", client_frame(true, 0x3, b"a")),
        ("fragmented ping", client_frame(false, opcode::PING, b"")),
        ("long ping", client_frame(true, opcode::PING, &[0; 126])),
        ("continuation first", client_frame(true, CONTINUATION, b"a")),
        ("new message mid-fragment", {
            let mut f = client_frame(false, opcode::TEXT, b"a");
            f.extend(client_frame(true, opcode::TEXT, b"b"));
            f
        }),
        (
            "close with one byte",
            client_frame(true, opcode::CLOSE, &[3]),
        ),
        (
            "close with code 1005",
            client_frame(true, opcode::CLOSE, &[0x03, 0xED]),
        ),
    ];
    for (name, bytes) in cases {
        assert_eq!(
            decode_all(&mut Decoder::new(100), bytes),
            Err(CloseReason::ProtocolError),
            "{name}"
        );
    }
}

#[test]
fn invalid_utf8_text_is_refused_but_binary_is_just_binary() {
    let bad = client_frame(true, opcode::TEXT, &[0xff, 0xfe]);
    assert_eq!(
        decode_all(&mut Decoder::new(100), bad),
        Err(CloseReason::InvalidUtf8)
    );
    let binary = client_frame(true, BINARY, &[0xff, 0xfe]);
    assert_eq!(
        decode_all(&mut Decoder::new(100), binary),
        Ok(vec![Incoming::Binary(Bytes::from_static(&[0xff, 0xfe]))])
    );
}

#[test]
fn invalid_text_is_refused_at_the_first_bad_byte_not_at_the_end_of_the_message() {
    // A fragment with a bad byte: refused before the final fragment is sent.
    let mut first = client_frame(false, opcode::TEXT, "caf\u{e9}".as_bytes());
    first.extend(client_frame(false, CONTINUATION, &[b'a', 0xF4, 0x90]));
    assert_eq!(
        decode_all(&mut Decoder::new(100), first),
        Err(CloseReason::InvalidUtf8)
    );

    // One frame sent in chops: refused when the chop with the bad byte arrives, although
    // the frame (and so the message) is far from complete.
    let mut text = "κόσμε".as_bytes().to_vec();
    text.extend_from_slice(&[0xCE, 0xBA, 0xED, 0xA0, 0x80]);
    text.extend_from_slice(&[b'x'; 50]);
    let whole = client_frame(true, opcode::TEXT, &text);
    let bad_at = whole.len() - 50 - 3 + 1;
    let mut decoder = Decoder::new(100);
    for end in (0..bad_at).step_by(3) {
        let mut part = whole[..end].to_vec();
        assert_eq!(decoder.decode(&mut part), Ok(None), "valid so far at {end}");
    }
    let mut part = whole[..bad_at + 1].to_vec();
    assert_eq!(decoder.decode(&mut part), Err(CloseReason::InvalidUtf8));

    // A character split between chops of a frame and between fragments is fine.
    let smile = "🙂🙂".as_bytes();
    let mut wire = client_frame(false, opcode::TEXT, &smile[..3]);
    wire.extend(client_frame(true, CONTINUATION, &smile[3..]));
    let mut decoder = Decoder::new(100);
    let mut got = Vec::new();
    let mut buf = Vec::new();
    for byte in wire {
        buf.push(byte);
        if let Some((used, message)) = decoder.decode(&mut buf).unwrap() {
            buf.drain(..used);
            got.extend(message);
        }
    }
    assert_eq!(got, vec![Incoming::Text("🙂🙂".into())]);
}

#[test]
fn close_frames_are_checked() {
    for payload in [&[][..], &[0x03, 0xE8], &[0x03, 0xE9, b'b', b'y', b'e']] {
        let got = decode_all(
            &mut Decoder::new(100),
            client_frame(true, opcode::CLOSE, payload),
        );
        assert_eq!(got, Ok(vec![Incoming::Close]));
    }
    let bad_reason = client_frame(true, opcode::CLOSE, &[0x03, 0xE8, 0xff]);
    assert_eq!(
        decode_all(&mut Decoder::new(100), bad_reason),
        Err(CloseReason::InvalidUtf8)
    );
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    fn message() -> impl Strategy<Value = (u8, Vec<u8>)> {
        prop_oneof![
            ".{0,40}".prop_map(|text: String| (opcode::TEXT, text.into_bytes())),
            proptest::collection::vec(any::<u8>(), 0..40).prop_map(|b| (BINARY, b)),
            proptest::collection::vec(any::<u8>(), 0..20).prop_map(|b| (opcode::PING, b)),
        ]
    }

    proptest! {
        /// Whatever a client sends, decoding ends in a message, a wait or a close reason:
        /// it never panics and never claims more bytes than it was given.
        #[test]
        fn arbitrary_bytes_never_panic(mut bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let mut decoder = Decoder::new(64);
            let mut at = 0;
            while let Ok(Some((used, _))) = decoder.decode(&mut bytes[at..]) {
                prop_assert!(used > 0 && at + used <= bytes.len());
                at += used;
            }
        }

        /// Valid messages, however TCP splits them, decode to the same messages in order.
        #[test]
        fn messages_survive_any_split(messages in proptest::collection::vec(message(), 1..8), chunk in 1usize..20) {
            let mut wire = Vec::new();
            for (op, payload) in &messages {
                wire.extend(client_frame(true, *op, payload));
            }
            let mut decoder = Decoder::new(1000);
            let (mut buf, mut got) = (Vec::new(), Vec::new());
            for piece in wire.chunks(chunk) {
                buf.extend_from_slice(piece);
                let mut used = 0;
                while let Some((n, message)) = decoder.decode(&mut buf[used..]).unwrap() {
                    used += n;
                    got.extend(message);
                }
                buf.drain(..used);
            }
            prop_assert!(buf.is_empty());
            let want: Vec<Incoming> = messages
                .into_iter()
                .map(|(op, payload)| match op {
                    opcode::TEXT => Incoming::Text(String::from_utf8(payload).unwrap()),
                    BINARY => Incoming::Binary(Bytes::from(payload)),
                    _ => Incoming::Ping(Bytes::from(payload)),
                })
                .collect();
            prop_assert_eq!(got, want);
        }
    }
}
