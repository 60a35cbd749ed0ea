//! The app's plain-Rust state and rules, kept free of the DOM so they are tested natively.

use std::time::Duration;

use chat_shared::{close_code, ClientFrame, MAX_TEXT_CHARS};

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
/// The limit is the server's own (its `limits` frame), so a page served by a server whose
/// operator lowered `--max-frame-bytes` checks against that.
pub fn draft_problem(draft: &str, room: &str, max_frame_bytes: u64) -> Option<String> {
    let text = draft.trim();
    if text.is_empty() {
        return None;
    }
    let frame_bytes = chat_shared::write::client_frame(&ClientFrame::Send {
        room: Some(room.into()),
        text: text.into(),
        // A cid as long as the page's, so the estimate is the frame that will be sent.
        cid: Some("0".repeat(CID_DIGITS)),
        reply_to: None,
    })
    .len();
    let max = max_frame_bytes as usize;
    (frame_bytes > max).then(|| {
        format!("Message is too long to send ({frame_bytes} bytes encoded; the limit is {max})")
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

/// What the page does when the server closes its socket, by close code (PROTOCOL.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AfterClose {
    /// 1001: the server is going away (a restart, a drain): reconnect at once and resume.
    ReconnectNow,
    /// 1008: closed for a policy (too slow, silent, flooding): say why, and wait before
    /// reconnecting, longer each time in a row ([`policy_attempt`]).
    Pause,
    /// 1009: the last message was too large for this server: take it back into the input and
    /// never resend it, then reconnect at once.
    TakeBackTooLarge,
    /// 1012: the rooms' history was lost on the server: rejoin them without resuming, at once.
    RejoinFresh,
    /// 4001: the account's session ended (signed out everywhere, banned, expired), or 4003 (the
    /// token expired, `jwt` mode): go to the sign-in page, which says what is possible now.
    SignedOut,
    /// 4002: the account was renamed, its rights changed, or it left a private room: come back
    /// at once as it is now.
    AccountChanged,
    /// Anything else (a dropped network, a crash): reconnect with the usual backoff.
    Retry,
}

impl AfterClose {
    /// The page's answer to close `code`.
    pub fn of(code: u16) -> Self {
        match code {
            close_code::GOING_AWAY => AfterClose::ReconnectNow,
            close_code::POLICY => AfterClose::Pause,
            close_code::TOO_LARGE => AfterClose::TakeBackTooLarge,
            close_code::RESTART => AfterClose::RejoinFresh,
            close_code::SIGNED_OUT | close_code::TOKEN_EXPIRED => AfterClose::SignedOut,
            close_code::ACCOUNT_CHANGED => AfterClose::AccountChanged,
            _ => AfterClose::Retry,
        }
    }

    /// Whether to reconnect at once rather than after the backoff.
    pub fn at_once(self) -> bool {
        matches!(
            self,
            AfterClose::ReconnectNow
                | AfterClose::TakeBackTooLarge
                | AfterClose::RejoinFresh
                | AfterClose::AccountChanged
        )
    }

    /// The line the log shows, with the server's `reason`.
    pub fn notice(self, reason: &str) -> String {
        match self {
            AfterClose::ReconnectNow => "The server is restarting; reconnecting.",
            AfterClose::Pause => {
                let mut notice = String::from("The server closed the connection (");
                notice.push_str(reason);
                notice.push_str("); reconnecting after a pause.");
                return notice;
            }
            AfterClose::TakeBackTooLarge => {
                "The server closed the connection: a message was too large for it."
            }
            AfterClose::RejoinFresh => "The server lost this room's history; rejoining.",
            AfterClose::SignedOut => "You were signed out.",
            AfterClose::AccountChanged => "Your account changed; reconnecting.",
            AfterClose::Retry => "Connection closed.",
        }
        .into()
    }
}

/// The backoff attempt the `n`th policy close (1008) in a row waits as (1 for the first): from
/// 1-2 s, doubling up to 15-30 s, so a client the server keeps dropping does not hammer it.
pub fn policy_attempt(n: u32) -> u32 {
    n.saturating_add(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: chat_shared::Limits = chat_shared::Limits::DEFAULT;

    #[test]
    fn drafts_are_checked_like_the_server_checks_them() {
        assert_eq!(
            draft_problem("", "lobby", LIMITS.max_frame_bytes),
            None,
            "empty is not an error, just nothing to send"
        );
        assert_eq!(
            draft_problem("hello", "lobby", LIMITS.max_frame_bytes),
            None
        );
        assert_eq!(
            draft_problem(&"a".repeat(MAX_TEXT_CHARS), "lobby", LIMITS.max_frame_bytes),
            None
        );
        // Past the character limit is the server's call (the input's maxlength stops typing).
        assert_eq!(
            draft_problem(
                &"a".repeat(MAX_TEXT_CHARS + 1),
                "lobby",
                LIMITS.max_frame_bytes
            ),
            None
        );
        // 2000 CJK characters are within the character limit but not the frame limit.
        let cjk = draft_problem(
            &"字".repeat(MAX_TEXT_CHARS),
            "lobby",
            LIMITS.max_frame_bytes,
        )
        .unwrap();
        assert!(cjk.contains("bytes"), "{cjk}");
        // Against the limit this server announced, not the default.
        let long = draft_problem(&"a".repeat(100), "lobby", 100).unwrap();
        assert!(long.contains("the limit is 100"), "{long}");
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
    fn each_close_code_has_its_own_answer() {
        assert_eq!(AfterClose::of(1001), AfterClose::ReconnectNow);
        assert_eq!(AfterClose::of(1008), AfterClose::Pause);
        assert_eq!(AfterClose::of(1009), AfterClose::TakeBackTooLarge);
        assert_eq!(AfterClose::of(1012), AfterClose::RejoinFresh);
        assert_eq!(AfterClose::of(1006), AfterClose::Retry);
        assert_eq!(AfterClose::of(4001), AfterClose::SignedOut);
        assert_eq!(AfterClose::of(4003), AfterClose::SignedOut);
        assert_eq!(AfterClose::of(4002), AfterClose::AccountChanged);
        assert!(AfterClose::AccountChanged.at_once());
        assert!(!AfterClose::SignedOut.at_once());
        assert!(AfterClose::ReconnectNow.at_once() && AfterClose::RejoinFresh.at_once());
        assert!(!AfterClose::Retry.at_once() && !AfterClose::Pause.at_once());
        // A pause is never shorter than a second, and grows while the closes go on.
        assert_eq!(
            backoff_delay(policy_attempt(1), 0.0),
            Duration::from_secs(1)
        );
        assert_eq!(
            backoff_delay(policy_attempt(2), 0.0),
            Duration::from_secs(2)
        );
        assert_eq!(
            backoff_delay(policy_attempt(99), 1.0),
            Duration::from_secs(30)
        );
        let notice = AfterClose::Pause.notice("client too slow to keep up");
        assert!(notice.contains("client too slow to keep up"), "{notice}");
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
