//! The WebSocket wire format (RFC 6455), server side: the handshake key, decoding what clients
//! send, and frame headers for what we send.
//!
//! The server owns this instead of going through a general WebSocket library so that a
//! broadcast frame goes from the shared feed to the socket with one `writev` (header + shared
//! bytes, no copy, no write buffer), and an idle connection holds no read buffer at all.
//! No extensions are negotiated, so the RSV bits must be clear.

mod utf8;

use axum::body::Bytes;

use crate::close::CloseReason;
use utf8::Utf8Stream;

/// Opcodes of the frames we send.
pub mod opcode {
    /// A text frame.
    pub const TEXT: u8 = 0x1;
    /// A binary frame (sent only by the Autobahn echo).
    pub const BINARY: u8 = 0x2;
    /// A close frame.
    pub const CLOSE: u8 = 0x8;
    /// A ping.
    pub const PING: u8 = 0x9;
    /// A pong.
    pub const PONG: u8 = 0xA;
}

const CONTINUATION: u8 = 0x0;
use opcode::BINARY;
/// Bytes unmasked at a time to check the text of a frame that has not fully arrived.
const CHECK_CHUNK: usize = 256;
const MAX_CONTROL_PAYLOAD: usize = 125;

/// The `Sec-WebSocket-Accept` value that answers a client's `Sec-WebSocket-Key`.
pub fn accept_key(client_key: &[u8]) -> String {
    tungstenite::handshake::derive_accept_key(client_key)
}

/// The header of an unmasked, final server frame: the bytes and how many of them to send.
pub fn header(opcode: u8, payload_len: usize) -> ([u8; 10], usize) {
    let mut head = [0u8; 10];
    head[0] = 0x80 | opcode;
    if payload_len < 126 {
        head[1] = payload_len as u8;
        (head, 2)
    } else if let Ok(len) = u16::try_from(payload_len) {
        head[1] = 126;
        head[2..4].copy_from_slice(&len.to_be_bytes());
        (head, 4)
    } else {
        head[1] = 127;
        head[2..10].copy_from_slice(&(payload_len as u64).to_be_bytes());
        (head, 10)
    }
}

/// The payload of a close frame: the code, then the reason.
pub fn close_payload(code: u16, reason: &str) -> Vec<u8> {
    let mut payload = Vec::with_capacity(2 + reason.len());
    payload.extend_from_slice(&code.to_be_bytes());
    payload.extend_from_slice(reason.as_bytes());
    payload
}

/// A complete message from the client.
#[derive(Debug, PartialEq, Eq)]
pub enum Incoming {
    /// A text message, already checked to be UTF-8.
    Text(String),
    /// A binary message (the chat does not accept them, but the client should hear why).
    Binary(Bytes),
    /// A ping, to be answered with a pong carrying the same payload.
    Ping(Bytes),
    /// A pong (or an unsolicited one, which is allowed as a heartbeat).
    Pong,
    /// The client started the closing handshake.
    Close,
}

/// Turns the bytes a client sends into messages, enforcing the protocol and the size limit.
#[derive(Debug)]
pub struct Decoder {
    max_message_bytes: usize,
    /// The data frames of a fragmented message so far, and whether it is text.
    partial: Option<(bool, Vec<u8>)>,
    /// The text message being received, as checked so far: its earlier fragments and the part
    /// of the current frame that has arrived.
    utf8: Utf8Stream,
    /// How many payload bytes of the frame at the start of the buffer `utf8` has seen.
    checked: usize,
}

impl Decoder {
    /// A decoder that refuses messages larger than `max_message_bytes` (close code 1009).
    pub fn new(max_message_bytes: usize) -> Self {
        Decoder {
            max_message_bytes,
            partial: None,
            utf8: Utf8Stream::default(),
            checked: 0,
        }
    }

    /// Decodes the frame at the start of `buf` (unmasking it in place). `Ok(None)`: the frame
    /// is not complete yet. Otherwise the bytes it used and, unless it was a fragment that does
    /// not finish its message, the message.
    pub fn decode(
        &mut self,
        buf: &mut [u8],
    ) -> Result<Option<(usize, Option<Incoming>)>, CloseReason> {
        let [first, second, ..] = *buf else {
            return Ok(None);
        };
        let fin = first & 0x80 != 0;
        let opcode = first & 0x0F;
        if first & 0x70 != 0 || second & 0x80 == 0 {
            // Reserved bits without an extension, or a client frame without a mask.
            return Err(CloseReason::ProtocolError);
        }
        let (len, mut at) = match second & 0x7F {
            126 => match buf.get(2..4) {
                Some(b) => (u64::from(u16::from_be_bytes([b[0], b[1]])), 4),
                None => return Ok(None),
            },
            127 => match buf.get(2..10) {
                Some(b) => {
                    let mut be = [0u8; 8];
                    be.copy_from_slice(b);
                    (u64::from_be_bytes(be), 10)
                }
                None => return Ok(None),
            },
            short => (u64::from(short), 2),
        };
        let is_control = opcode & 0x8 != 0;
        if is_control {
            if !fin || len > MAX_CONTROL_PAYLOAD as u64 {
                return Err(CloseReason::ProtocolError);
            }
        } else {
            let so_far = self.partial.as_ref().map_or(0, |(_, data)| data.len());
            if len > (self.max_message_bytes - so_far.min(self.max_message_bytes)) as u64 {
                // Refused from the header alone: nothing this large is ever buffered.
                return Err(CloseReason::TooLarge);
            }
        }
        let len = len as usize;
        let Some(mask) = buf.get(at..at + 4) else {
            return Ok(None);
        };
        let mask = [mask[0], mask[1], mask[2], mask[3]];
        at += 4;
        let text = self.is_text(opcode);
        let Some(payload) = buf.get_mut(at..at + len) else {
            if text {
                // Part of a text frame: check what has arrived, so that an invalid byte is
                // refused now rather than when (if ever) the rest comes.
                self.check_arrived(opcode, &buf[at..], mask)?;
            }
            return Ok(None);
        };
        for (i, byte) in payload.iter_mut().enumerate() {
            *byte ^= mask[i % 4];
        }
        let checked = std::mem::take(&mut self.checked);
        if text && !fin {
            // A fragment: the message so far must be valid before the next one is awaited.
            if opcode == opcode::TEXT && checked == 0 {
                self.utf8 = Utf8Stream::default();
            }
            self.utf8
                .feed(&payload[checked..])
                .map_err(|_| CloseReason::InvalidUtf8)?;
        }
        let used = at + len;
        let message = match opcode {
            opcode::PING => Some(Incoming::Ping(Bytes::copy_from_slice(payload))),
            opcode::PONG => Some(Incoming::Pong),
            opcode::CLOSE => {
                check_close_payload(payload)?;
                Some(Incoming::Close)
            }
            opcode::TEXT | BINARY => {
                if self.partial.is_some() {
                    // A new message while a fragmented one is unfinished.
                    return Err(CloseReason::ProtocolError);
                }
                let is_text = opcode == opcode::TEXT;
                if fin {
                    Some(finish(is_text, payload.to_vec())?)
                } else {
                    self.partial = Some((is_text, payload.to_vec()));
                    None
                }
            }
            CONTINUATION => {
                let Some((is_text, data)) = self.partial.as_mut() else {
                    return Err(CloseReason::ProtocolError);
                };
                data.extend_from_slice(payload);
                if fin {
                    let is_text = *is_text;
                    let (_, data) = self.partial.take().unwrap_or_default();
                    Some(finish(is_text, data)?)
                } else {
                    None
                }
            }
            _ => return Err(CloseReason::ProtocolError),
        };
        Ok(Some((used, message)))
    }

    /// Whether a data frame with this opcode carries text: a text frame, or a continuation of
    /// a text message.
    fn is_text(&self, opcode: u8) -> bool {
        match opcode {
            opcode::TEXT => self.partial.is_none(),
            CONTINUATION => matches!(self.partial, Some((true, _))),
            _ => false,
        }
    }

    /// Checks the newly arrived part of an incomplete text frame (`arrived`, still masked).
    fn check_arrived(
        &mut self,
        opcode: u8,
        arrived: &[u8],
        mask: [u8; 4],
    ) -> Result<(), CloseReason> {
        if opcode == opcode::TEXT && self.checked == 0 {
            self.utf8 = Utf8Stream::default();
        }
        let mut chunk = [0u8; CHECK_CHUNK];
        let mut at = self.checked;
        while at < arrived.len() {
            let n = (arrived.len() - at).min(CHECK_CHUNK);
            for (k, byte) in chunk[..n].iter_mut().enumerate() {
                *byte = arrived[at + k] ^ mask[(at + k) % 4];
            }
            self.utf8
                .feed(&chunk[..n])
                .map_err(|_| CloseReason::InvalidUtf8)?;
            at += n;
        }
        self.checked = at;
        Ok(())
    }
}

/// A whole message. Text is checked as a whole once more (cheap, and it is what makes it a
/// `String`): the checks as it arrived only found invalid bytes early.
fn finish(is_text: bool, data: Vec<u8>) -> Result<Incoming, CloseReason> {
    if !is_text {
        return Ok(Incoming::Binary(Bytes::from(data)));
    }
    String::from_utf8(data)
        .map(Incoming::Text)
        .map_err(|_| CloseReason::InvalidUtf8)
}

/// A close payload is empty, or a valid code followed by a UTF-8 reason.
fn check_close_payload(payload: &[u8]) -> Result<(), CloseReason> {
    match payload {
        [] => Ok(()),
        [_] => Err(CloseReason::ProtocolError),
        [high, low, reason @ ..] => {
            let code = u16::from_be_bytes([*high, *low]);
            let valid = matches!(code, 1000..=1003 | 1007..=1014 | 3000..=4999);
            if !valid {
                return Err(CloseReason::ProtocolError);
            }
            std::str::from_utf8(reason)
                .map(|_| ())
                .map_err(|_| CloseReason::InvalidUtf8)
        }
    }
}

#[cfg(test)]
mod tests {
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
}
