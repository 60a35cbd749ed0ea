//! The text the load tool sends, and how receivers read it back out of server frames.
//!
//! A message's text is `b <sent_ns> <sender> <seq>` (plus optional padding after a space), so a
//! receiver can tell when it was sent (for latency), by whom and which one (for loss). Reading
//! it back must be cheap: at millions of deliveries a second there is no time to parse JSON, so
//! the receiver scans each line for the `"text":"b ` token and reads the numbers after it.

use memchr::memmem;

/// What a receiver learns from one delivered message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Token {
    /// When it was sent, in nanoseconds on the tool's own monotonic clock.
    pub sent_ns: u64,
    /// Which sender sent it.
    pub sender: u32,
    /// The sender's sequence number.
    pub seq: u64,
}

/// The marker that starts a token inside a server's `message` frame.
const MARKER: &[u8] = b"\"text\":\"b ";

/// The text to send for `token`, padded with `x` to at least `min_len` bytes.
pub fn encode(token: Token, min_len: usize) -> String {
    let mut text = format!("b {} {} {}", token.sent_ns, token.sender, token.seq);
    if text.len() < min_len {
        text.push(' ');
        while text.len() < min_len {
            text.push('x');
        }
    }
    text
}

/// Finds tokens in server frames. Build one and reuse it: the searcher is precomputed.
pub struct Scanner {
    finder: memmem::Finder<'static>,
}

impl Default for Scanner {
    fn default() -> Self {
        Scanner {
            finder: memmem::Finder::new(MARKER),
        }
    }
}

impl Scanner {
    /// Calls `found` for every token in a (possibly coalesced) frame payload, in order.
    /// Lines that carry no token (errors, other clients' chatter) are skipped.
    pub fn scan(&self, payload: &[u8], mut found: impl FnMut(Token)) {
        let mut rest = payload;
        while let Some(at) = self.finder.find(rest) {
            rest = &rest[at + MARKER.len()..];
            if let Some((token, used)) = parse_numbers(rest) {
                found(token);
                rest = &rest[used..];
            }
        }
    }
}

/// Reads `<sent_ns> <sender> <seq>` and returns the token and the bytes consumed.
fn parse_numbers(bytes: &[u8]) -> Option<(Token, usize)> {
    let mut at = 0;
    let mut next = || -> Option<u64> {
        let start = at;
        let mut value: u64 = 0;
        while let Some(&digit) = bytes.get(at) {
            if !digit.is_ascii_digit() {
                break;
            }
            value = value
                .checked_mul(10)?
                .checked_add(u64::from(digit - b'0'))?;
            at += 1;
        }
        if at == start {
            return None;
        }
        // Skip the single separator after the number, if any.
        if bytes.get(at) == Some(&b' ') {
            at += 1;
        }
        Some(value)
    };
    let sent_ns = next()?;
    let sender = u32::try_from(next()?).ok()?;
    let seq = next()?;
    Some((
        Token {
            sent_ns,
            sender,
            seq,
        },
        at,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chat_shared::{encode as encode_frame, ChatMessage, ServerFrame};

    fn frame(id: u64, text: &str) -> String {
        encode_frame(&ServerFrame::Message(ChatMessage {
            id,
            room: "lobby".into(),
            name: "b 1 2 3".into(),
            text: text.into(),
            ts: 1,
            cid: None,
            ..Default::default()
        }))
        .unwrap()
    }

    fn scan(payload: &str) -> Vec<Token> {
        let mut tokens = Vec::new();
        Scanner::default().scan(payload.as_bytes(), |t| tokens.push(t));
        tokens
    }

    #[test]
    fn round_trips_through_a_real_server_frame() {
        let token = Token {
            sent_ns: 123_456_789_012,
            sender: 7,
            seq: 42,
        };
        let text = encode(token, 0);
        assert_eq!(text, "b 123456789012 7 42");
        assert_eq!(scan(&frame(1, &text)), vec![token]);
    }

    #[test]
    fn padding_reaches_the_size_and_is_ignored() {
        let token = Token {
            sent_ns: 1,
            sender: 2,
            seq: 3,
        };
        let text = encode(token, 100);
        assert_eq!(text.len(), 100);
        assert_eq!(scan(&frame(9, &text)), vec![token]);
    }

    #[test]
    fn coalesced_frames_yield_every_token_in_order() {
        let tokens: Vec<Token> = (0..5)
            .map(|i| Token {
                sent_ns: 1000 + i,
                sender: (i % 2) as u32,
                seq: i,
            })
            .collect();
        let batch: Vec<String> = tokens
            .iter()
            .enumerate()
            .map(|(i, t)| frame(i as u64, &encode(*t, 20)))
            .collect();
        assert_eq!(scan(&batch.join("\n")), tokens);
    }

    #[test]
    fn lines_without_tokens_are_skipped() {
        let error = r#"{"type":"error","code":"empty_text","message":"message is empty"}"#;
        let chatter = frame(1, "bonjour 12 3 4");
        let wrong = frame(2, "b notanumber");
        let overflow = frame(3, "b 99999999999999999999999 1 1");
        let good = frame(4, "b 5 6 7");
        let payload = [error, &chatter, &wrong, &overflow, &good].join("\n");
        assert_eq!(
            scan(&payload),
            vec![Token {
                sent_ns: 5,
                sender: 6,
                seq: 7
            }]
        );
    }
}
