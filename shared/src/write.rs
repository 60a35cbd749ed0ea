//! Writing a [`ClientFrame`] as JSON by hand, for the browser: serde's derived serializer and
//! serde_json's writer were the page's only remaining serde code (BENCHMARKS.md, "The page's
//! size"). The output is the same JSON the derived serializer writes, field for field (test
//! `hand_written_client_frames_match_serde` and the property test in `tests/roundtrip.rs`), so
//! the server reads both alike.

use crate::ClientFrame;

/// `value` as a JSON string, quotes included: `"`, `\` and control characters escaped, every
/// other character as it is (JSON allows them raw).
pub fn push_json_string(out: &mut String, value: &str) {
    out.push('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                out.push_str("\\u00");
                out.push(HEX[(c as usize) >> 4] as char);
                out.push(HEX[(c as usize) & 15] as char);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// A JSON object written one field at a time, in order.
struct Object(String);

impl Object {
    fn new(kind: &str) -> Self {
        let mut out = String::from("{\"type\":");
        push_json_string(&mut out, kind);
        Object(out)
    }

    fn key(&mut self, key: &str) {
        self.0.push_str(",\"");
        self.0.push_str(key);
        self.0.push_str("\":");
    }

    fn string(&mut self, key: &str, value: Option<&str>) -> &mut Self {
        if let Some(value) = value {
            self.key(key);
            push_json_string(&mut self.0, value);
        }
        self
    }

    fn number(&mut self, key: &str, value: Option<u64>) -> &mut Self {
        if let Some(value) = value {
            self.key(key);
            self.0.push_str(&value.to_string());
        }
        self
    }

    fn end(&mut self) -> String {
        self.0.push('}');
        std::mem::take(&mut self.0)
    }
}

/// `frame` as the compact JSON the derived serializer writes ([`crate::encode_client`]).
pub fn client_frame(frame: &ClientFrame) -> String {
    use ClientFrame::*;
    match frame {
        Hello { name, token } => Object::new("hello")
            .string("name", Some(name))
            .string("token", token.as_deref())
            .end(),
        Join { room, since, epoch } => Object::new("join")
            .string("room", Some(room))
            .number("since", *since)
            .string("epoch", epoch.as_deref())
            .end(),
        Leave { room } => Object::new("leave").string("room", Some(room)).end(),
        Send {
            room,
            text,
            cid,
            reply_to,
        } => Object::new("send")
            .string("room", room.as_deref())
            .string("text", Some(text))
            .string("cid", cid.as_deref())
            .number("reply_to", *reply_to)
            .end(),
        Edit { room, id, text } => Object::new("edit")
            .string("room", Some(room))
            .number("id", Some(*id))
            .string("text", Some(text))
            .end(),
        React { room, id, emoji } => Object::new("react")
            .string("room", Some(room))
            .number("id", Some(*id))
            .string("emoji", Some(emoji))
            .end(),
        Typing { room } => Object::new("typing").string("room", Some(room)).end(),
        History {
            room,
            before,
            around,
            limit,
        } => Object::new("history")
            .string("room", Some(room))
            .number("before", *before)
            .number("around", *around)
            .number("limit", limit.map(u64::from))
            .end(),
        Delete { room, id } => Object::new("delete")
            .string("room", Some(room))
            .number("id", Some(*id))
            .end(),
        Members { room, after, limit } => Object::new("members")
            .string("room", Some(room))
            .string("after", after.as_deref())
            .number("limit", limit.map(u64::from))
            .end(),
        Read { room, id } => Object::new("read")
            .string("room", Some(room))
            .number("id", Some(*id))
            .end(),
        Search { q, before } => Object::new("search")
            .string("q", Some(q))
            .number("before", *before)
            .end(),
        Refresh { token } => Object::new("refresh").string("token", Some(token)).end(),
    }
}
