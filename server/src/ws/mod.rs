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
mod tests;
