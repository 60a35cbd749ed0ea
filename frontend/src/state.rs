//! The app's plain-Rust state and rules, kept free of the DOM so they are tested natively.

use std::collections::VecDeque;
use std::time::Duration;

use chat_shared::{encode_client, ChatMessage, ClientFrame, MAX_TEXT_CHARS};

/// Most log entries a tab keeps; older ones are dropped so a tab left open for days stays fast.
pub const MAX_LOG_ENTRIES: usize = 500;

/// Largest WebSocket message the server accepts by default (`--max-frame-bytes`).
pub const MAX_FRAME_BYTES: usize = 4096;

/// Show the "characters left" hint once fewer than this many remain.
pub const HINT_THRESHOLD: usize = 200;

/// Where the connection stands, as the reader sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// First connection attempt since the page loaded.
    Connecting,
    /// The socket is open; messages can be sent.
    Connected,
    /// The connection dropped; the page retries by itself.
    Reconnecting,
    /// The browser reports no network; the page retries when it comes back.
    Offline,
    /// The browser has no WebSocket support at all.
    Unsupported,
}

impl Status {
    /// Stable machine-readable name (the `data-state` attribute; tests use it).
    pub fn key(self) -> &'static str {
        match self {
            Status::Connecting => "connecting",
            Status::Connected => "connected",
            Status::Reconnecting => "reconnecting",
            Status::Offline => "offline",
            Status::Unsupported => "unsupported",
        }
    }

    /// What the status badge says.
    pub fn label(self) -> &'static str {
        match self {
            Status::Connecting => "Connecting…",
            Status::Connected => "Connected",
            Status::Reconnecting => "Reconnecting…",
            Status::Offline => "Offline",
            Status::Unsupported => "Not supported",
        }
    }
}

/// One line of the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Unique within the tab; the list's key.
    pub key: u64,
    /// What the line shows.
    pub kind: EntryKind,
}

/// A chat message or a note from the page itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntryKind {
    /// A message from the server.
    Message(ChatMessage),
    /// A line about the connection, such as "Connection closed."
    Notice(String),
}

/// The bounded message log.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChatLog {
    entries: VecDeque<Entry>,
    next_key: u64,
    last_id: Option<u64>,
}

impl ChatLog {
    /// Entries, oldest first.
    pub fn entries(&self) -> impl Iterator<Item = &Entry> {
        self.entries.iter()
    }

    /// Number of entries held.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when there is nothing to show.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Adds a message. A message whose id is not newer than the last one is a duplicate (for
    /// instance after a reconnect) and is ignored. Returns whether it was added.
    pub fn push_message(&mut self, message: ChatMessage) -> bool {
        if self.last_id.is_some_and(|last| message.id <= last) {
            return false;
        }
        self.last_id = Some(message.id);
        self.push(EntryKind::Message(message));
        true
    }

    /// Adds a note about the connection.
    pub fn push_notice(&mut self, text: impl Into<String>) {
        self.push(EntryKind::Notice(text.into()));
    }

    /// How many entries were ever added; grows by one per entry, even once old ones drop out.
    pub fn pushed(&self) -> u64 {
        self.next_key
    }

    /// The newest message id seen, for resuming after a reconnect.
    pub fn last_id(&self) -> Option<u64> {
        self.last_id
    }

    fn push(&mut self, kind: EntryKind) {
        self.entries.push_back(Entry {
            key: self.next_key,
            kind,
        });
        self.next_key += 1;
        while self.entries.len() > MAX_LOG_ENTRIES {
            self.entries.pop_front();
        }
    }

    /// Forgets message ids, for a server that restarted and numbers from 1 again.
    pub fn reset_ids(&mut self) {
        self.last_id = None;
    }
}

/// Why the draft cannot be sent, in words for the composer; `None` when it can.
///
/// Only the frame size is checked here: the input's `maxlength` already stops the reader at the
/// character limit, and the server stays the judge of the text rules (its error comes back to
/// the composer). The size is checked because the server answers an oversized frame by closing
/// the connection, which would be a poor way to learn that 2000 CJK characters are too many.
pub fn draft_problem(draft: &str) -> Option<String> {
    let text = draft.trim();
    if text.is_empty() {
        return None;
    }
    let frame_bytes = encode_client(&ClientFrame::Send {
        room: None,
        text: text.into(),
        cid: None,
    })
    .map(|json| json.len())
    .unwrap_or(usize::MAX);
    (frame_bytes > MAX_FRAME_BYTES).then(|| {
        format!(
            "Message is too long to send ({frame_bytes} bytes encoded; the limit is {MAX_FRAME_BYTES})"
        )
    })
}

/// The "N characters left" hint, once the draft is near the limit. Counts UTF-16 units, as the
/// input's `maxlength` does, so the number matches what the browser lets the reader type.
pub fn remaining_hint(draft: &str) -> Option<String> {
    let used = draft.encode_utf16().count();
    let left = MAX_TEXT_CHARS.saturating_sub(used);
    (left < HINT_THRESHOLD).then(|| match left {
        0 => "Character limit reached".to_string(),
        1 => "1 character left".to_string(),
        n => format!("{n} characters left"),
    })
}

/// Delay before reconnect attempt number `attempt` (0 for the first retry): doubles from 0.5 s
/// up to 30 s, with "equal jitter" (half fixed, half random) so a server restart is not met by
/// every tab at the same instant. `random` is uniform in [0, 1).
pub fn backoff_delay(attempt: u32, random: f64) -> Duration {
    const FIRST_MS: f64 = 500.0;
    const MAX_MS: f64 = 30_000.0;
    let ceiling = (FIRST_MS * 2f64.powi(attempt.min(16) as i32)).min(MAX_MS);
    let random = random.clamp(0.0, 1.0);
    Duration::from_millis((ceiling / 2.0 + random * ceiling / 2.0) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(id: u64) -> ChatMessage {
        ChatMessage {
            id,
            room: "lobby".into(),
            name: "alice".into(),
            text: format!("m{id}"),
            ts: 0,
            cid: None,
        }
    }

    #[test]
    fn the_log_keeps_only_the_newest_entries() {
        let mut log = ChatLog::default();
        for id in 1..=(MAX_LOG_ENTRIES as u64 + 20) {
            assert!(log.push_message(message(id)));
        }
        assert_eq!(log.len(), MAX_LOG_ENTRIES);
        let first = log.entries().next().unwrap();
        assert_eq!(first.kind, EntryKind::Message(message(21)));
        let keys: Vec<u64> = log.entries().map(|e| e.key).collect();
        assert!(keys.windows(2).all(|w| w[0] < w[1]), "keys stay unique");
    }

    #[test]
    fn duplicate_or_old_messages_are_ignored() {
        let mut log = ChatLog::default();
        assert!(log.push_message(message(5)));
        assert!(!log.push_message(message(5)));
        assert!(!log.push_message(message(3)));
        log.push_notice("Connection closed.");
        assert!(log.push_message(message(6)));
        assert_eq!(log.len(), 3);
        assert_eq!(log.last_id(), Some(6));
        log.reset_ids();
        assert!(log.push_message(message(1)));
    }

    #[test]
    fn drafts_are_checked_like_the_server_checks_them() {
        assert_eq!(
            draft_problem(""),
            None,
            "empty is not an error, just nothing to send"
        );
        assert_eq!(draft_problem("hello"), None);
        assert_eq!(draft_problem(&"a".repeat(MAX_TEXT_CHARS)), None);
        // Past the character limit is the server's call (the input's maxlength stops typing).
        assert_eq!(draft_problem(&"a".repeat(MAX_TEXT_CHARS + 1)), None);
        // 2000 CJK characters are within the character limit but not the frame limit.
        let cjk = draft_problem(&"字".repeat(MAX_TEXT_CHARS)).unwrap();
        assert!(cjk.contains("bytes"), "{cjk}");
    }

    #[test]
    fn the_hint_appears_near_the_limit() {
        assert_eq!(remaining_hint("short"), None);
        let near = "a".repeat(MAX_TEXT_CHARS - 150);
        assert_eq!(
            remaining_hint(&near).as_deref(),
            Some("150 characters left")
        );
        let at = "a".repeat(MAX_TEXT_CHARS);
        assert_eq!(
            remaining_hint(&at).as_deref(),
            Some("Character limit reached")
        );
    }

    #[test]
    fn backoff_grows_with_jitter_and_caps_at_30_seconds() {
        assert_eq!(backoff_delay(0, 0.0), Duration::from_millis(250));
        assert_eq!(backoff_delay(0, 0.999_999), Duration::from_millis(499));
        assert_eq!(backoff_delay(1, 0.0), Duration::from_millis(500));
        assert_eq!(backoff_delay(3, 1.0), Duration::from_millis(4000));
        assert_eq!(backoff_delay(10, 1.0), Duration::from_secs(30));
        assert_eq!(backoff_delay(u32::MAX, 0.0), Duration::from_secs(15));
        for attempt in 0..20 {
            let low = backoff_delay(attempt, 0.0);
            let high = backoff_delay(attempt, 1.0);
            assert!(low <= high && high <= Duration::from_secs(30));
        }
    }

    #[test]
    fn status_keys_are_distinct() {
        // The page's `data-state` (styled by CSS, read by the browser tests) must tell every
        // state apart.
        let all = [
            Status::Connecting,
            Status::Connected,
            Status::Reconnecting,
            Status::Offline,
            Status::Unsupported,
        ];
        let mut keys: Vec<&str> = all.iter().map(|s| s.key()).collect();
        keys.sort_unstable();
        keys.dedup();
        assert_eq!(keys.len(), all.len());
    }
}
