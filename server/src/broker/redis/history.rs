//! Reading a room's stream: the messages a client missed, and pages of history.

use chat_shared::ChatMessage;

use super::{keys, Shared};

impl Shared {
    /// Messages `from ..= through` of `room`'s stream, oldest first, at most `limit`.
    pub(crate) async fn range(
        &self,
        room: &str,
        from: u64,
        through: u64,
        limit: u64,
    ) -> redis::RedisResult<Vec<ChatMessage>> {
        let mut conn = self.conn.clone();
        self.metrics.redis_round_trips.inc();
        let entries: Vec<Entry> = redis::cmd("XRANGE")
            .arg(keys::log(room))
            .arg(format!("{from}-0"))
            .arg(format!("{through}-0"))
            .arg("COUNT")
            .arg(limit)
            .query_async(&mut conn)
            .await?;
        Ok(entries
            .into_iter()
            .filter_map(|e| e.message(room))
            .collect())
    }

    /// The newest `limit` messages of `room` below `before`, oldest first.
    pub(crate) async fn newest_before(
        &self,
        room: &str,
        before: u64,
        limit: u64,
    ) -> redis::RedisResult<Vec<ChatMessage>> {
        if before <= 1 {
            return Ok(Vec::new());
        }
        let mut conn = self.conn.clone();
        self.metrics.redis_round_trips.inc();
        let end = if before == u64::MAX {
            "+".to_string()
        } else {
            format!("{}-0", before - 1)
        };
        let entries: Vec<Entry> = redis::cmd("XREVRANGE")
            .arg(keys::log(room))
            .arg(end)
            .arg("-")
            .arg("COUNT")
            .arg(limit)
            .query_async(&mut conn)
            .await?;
        let mut messages: Vec<ChatMessage> = entries
            .into_iter()
            .filter_map(|e| e.message(room))
            .collect();
        messages.reverse();
        Ok(messages)
    }
}

/// One stream entry as Redis returns it: id and field/value pairs.
type Entry = (String, Vec<(String, String)>);

trait EntryExt {
    fn message(self, room: &str) -> Option<ChatMessage>;
}

impl EntryExt for Entry {
    fn message(self, room: &str) -> Option<ChatMessage> {
        let (id, fields) = self;
        let id = id.strip_suffix("-0")?.parse().ok()?;
        let mut message = ChatMessage {
            id,
            room: room.to_string(),
            name: String::new(),
            text: String::new(),
            ts: 0,
            cid: None,
            ..Default::default()
        };
        for (field, value) in fields {
            match field.as_str() {
                "n" => message.name = value,
                "t" => message.text = value,
                "ts" => message.ts = value.parse().unwrap_or(0),
                "c" if !value.is_empty() => message.cid = Some(value),
                _ => {}
            }
        }
        Some(message)
    }
}
