//! The app's plain-Rust state and rules, kept free of the DOM so they are tested natively.

use std::time::Duration;

use chat_shared::{encode_client, ClientFrame, MAX_TEXT_CHARS};

/// Largest WebSocket message the server accepts by default (`--max-frame-bytes`).
pub const MAX_FRAME_BYTES: usize = 4096;

/// Hex digits of the `cid` the page gives each message (96 random bits).
pub const CID_DIGITS: usize = 24;

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

/// Why the draft cannot be sent, in words for the composer; `None` when it can.
///
/// Only the frame size is checked here: the input's `maxlength` already stops the reader at the
/// character limit, and the server stays the judge of the text rules (its error comes back to
/// the composer). The size is checked because the server answers an oversized frame by closing
/// the connection, which would be a poor way to learn that 2000 CJK characters are too many.
pub fn draft_problem(draft: &str, room: &str) -> Option<String> {
    let text = draft.trim();
    if text.is_empty() {
        return None;
    }
    let frame_bytes = encode_client(&ClientFrame::Send {
        room: Some(room.into()),
        text: text.into(),
        // A cid as long as the page's, so the estimate is the frame that will be sent.
        cid: Some("0".repeat(CID_DIGITS)),
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

    #[test]
    fn drafts_are_checked_like_the_server_checks_them() {
        assert_eq!(
            draft_problem("", "lobby"),
            None,
            "empty is not an error, just nothing to send"
        );
        assert_eq!(draft_problem("hello", "lobby"), None);
        assert_eq!(draft_problem(&"a".repeat(MAX_TEXT_CHARS), "lobby"), None);
        // Past the character limit is the server's call (the input's maxlength stops typing).
        assert_eq!(
            draft_problem(&"a".repeat(MAX_TEXT_CHARS + 1), "lobby"),
            None
        );
        // 2000 CJK characters are within the character limit but not the frame limit.
        let cjk = draft_problem(&"字".repeat(MAX_TEXT_CHARS), "lobby").unwrap();
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
