//! How a room's entries are laid out: consecutive messages from one person are grouped under one
//! name, and a day separator starts each new day. Times are shown in the reader's time zone. The
//! server renders in the UTC offset the browser reported on an earlier visit (a cookie), or in
//! UTC on a first visit, and the page starts from that same zone, so the hydrated page is
//! identical to the HTML it takes over; then it switches to the browser's local time (a change
//! only on a first visit, or for messages from the other side of a daylight-saving change).

use crate::names::same_name;

use crate::room::{Entry, EntryKind};

/// Messages from one person closer together than this share one name line.
pub const GROUP_WINDOW_MS: u64 = 5 * 60_000;

/// One entry with what the layout adds to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// The entry.
    pub entry: Entry,
    /// Shown under the previous message's name (same sender, same day, within 5 minutes).
    pub grouped: bool,
    /// The day separator above it, if it starts a new day.
    pub day: Option<String>,
    /// Sent under this tab's name.
    pub mine: bool,
    /// The first message that was unread when the room was opened: the "new" line is above it.
    pub new: bool,
}

/// A time zone: the reader's (in the browser, once hydrated), a fixed offset, or UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Zone {
    /// UTC, as the server renders for a browser it has not seen.
    Utc,
    /// A fixed offset east of UTC, in minutes, as the browser reported it.
    Offset(i32),
    /// The browser's local time.
    Local,
}

/// Largest UTC offset in minutes (UTC+14:00); anything beyond is not a real zone.
pub const MAX_OFFSET_MINUTES: i32 = 14 * 60;

/// The name of the cookie that carries the browser's UTC offset to the server.
pub const OFFSET_COOKIE: &str = "chat_tz";

/// The offset in a `Cookie` header, if there is a sane one.
pub fn offset_from_cookies(header: &str) -> Option<i32> {
    header
        .split(';')
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == OFFSET_COOKIE)
        .and_then(|(_, value)| value.trim().parse::<i32>().ok())
        .filter(|minutes| minutes.abs() <= MAX_OFFSET_MINUTES)
}

/// `ts` moved into `zone` for UTC arithmetic (Local is handled by the browser's Date).
fn shifted(ts: u64, zone: Zone) -> u64 {
    match zone {
        Zone::Offset(minutes) => (ts as i64 + i64::from(minutes) * 60_000).max(0) as u64,
        Zone::Utc | Zone::Local => ts,
    }
}

/// Lays out `entries`. `is_me` says whether a name is this tab's.
pub fn rows<'a>(
    entries: impl Iterator<Item = &'a Entry>,
    zone: Zone,
    is_me: impl Fn(&str) -> bool,
    new_line: Option<u64>,
) -> Vec<Row> {
    let mut rows = Vec::new();
    // (sender, ts, day) of the previous message.
    let mut previous: Option<(&str, u64, i64)> = None;
    for entry in entries {
        match &entry.kind {
            EntryKind::Message(message) => {
                let day = day_number(message.ts, zone);
                let new_day = previous.as_ref().is_none_or(|(_, _, d)| *d != day);
                let new = new_line == Some(message.id);
                // The first unread message starts a group of its own, under the "new" line.
                let grouped = !new_day
                    && !new
                    && previous.as_ref().is_some_and(|(sender, ts, _)| {
                        same_name(sender, &message.name)
                            && message.ts.saturating_sub(*ts) < GROUP_WINDOW_MS
                    });
                rows.push(Row {
                    entry: entry.clone(),
                    grouped,
                    day: new_day.then(|| day_label(message.ts, zone)),
                    mine: is_me(&message.name),
                    new,
                });
                previous = Some((&message.name, message.ts, day));
            }
            EntryKind::Notice(_) => {
                rows.push(Row {
                    entry: entry.clone(),
                    grouped: false,
                    day: None,
                    mine: false,
                    new: false,
                });
                // A notice breaks a group, not a day.
                if let Some(previous) = previous.as_mut() {
                    previous.0 = "";
                }
            }
        }
    }
    rows
}

/// The instant in ISO-8601 UTC for `<time datetime>`: the same in every zone, as the browser's
/// `toISOString` writes it.
pub fn instant(ts: u64) -> String {
    let (y, m, d) = chat_shared::utc_date(ts);
    let (h, min, secs, ms) = (
        (ts / 3_600_000) % 24,
        (ts / 60_000) % 60,
        (ts / 1000) % 60,
        ts % 1000,
    );
    format!("{y:04}-{m:02}-{d:02}T{h:02}:{min:02}:{secs:02}.{ms:03}Z")
}

/// `HH:MM` of a timestamp in `zone`.
pub fn clock(ts: u64, zone: Zone) -> String {
    #[cfg(feature = "browser")]
    if zone == Zone::Local {
        let date = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(ts as f64));
        return format!("{:02}:{:02}", date.get_hours(), date.get_minutes());
    }
    let local = shifted(ts, zone);
    format!(
        "{:02}:{:02}",
        (local / 3_600_000) % 24,
        (local / 60_000) % 60
    )
}

/// Days since the Unix epoch in `zone`.
fn day_number(ts: u64, zone: Zone) -> i64 {
    #[cfg(feature = "browser")]
    if zone == Zone::Local {
        let date = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(ts as f64));
        let offset_ms = date.get_timezone_offset() * 60_000.0;
        return ((ts as f64 - offset_ms) / 86_400_000.0).floor() as i64;
    }
    (shifted(ts, zone) / 86_400_000) as i64
}

/// The day separator's text, such as "Thursday 26 November 2026".
fn day_label(ts: u64, zone: Zone) -> String {
    #[cfg(feature = "browser")]
    if zone == Zone::Local {
        let date = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(ts as f64));
        return format!(
            "{} {} {} {}",
            WEEKDAYS[date.get_day() as usize % 7],
            date.get_date(),
            MONTHS[date.get_month() as usize % 12],
            date.get_full_year()
        );
    }
    let ts = shifted(ts, zone);
    let (y, m, d) = chat_shared::utc_date(ts);
    // 1970-01-01 was a Thursday.
    let weekday = ((ts / 86_400_000 + 4) % 7) as usize;
    format!("{} {d} {} {y}", WEEKDAYS[weekday], MONTHS[(m - 1) as usize])
}

const WEEKDAYS: [&str; 7] = [
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
];
const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::room::RoomState;
    use chat_shared::ChatMessage;

    const DAY: u64 = 86_400_000;
    // 2026-11-26T09:00:00Z, a Thursday.
    const T0: u64 = 1_795_683_600_000;

    fn say(room: &mut RoomState, id: u64, name: &str, ts: u64) {
        room.push_message(ChatMessage {
            id,
            room: "r".into(),
            name: name.into(),
            text: "x".into(),
            ts,
            cid: None,
            ..Default::default()
        });
    }

    #[test]
    fn consecutive_messages_group_and_days_separate() {
        let mut room = RoomState::new("r");
        say(&mut room, 1, "alice", T0);
        say(&mut room, 2, "Alice", T0 + 60_000);
        say(&mut room, 3, "bob", T0 + 120_000);
        say(&mut room, 4, "bob", T0 + 120_000 + GROUP_WINDOW_MS);
        room.push_notice("Connection closed.");
        say(&mut room, 5, "bob", T0 + 400_000 + GROUP_WINDOW_MS);
        say(&mut room, 6, "bob", T0 + DAY);
        let rows = rows(room.entries(), Zone::Utc, |name| name == "bob", None);
        let grouped: Vec<bool> = rows.iter().map(|r| r.grouped).collect();
        assert_eq!(
            grouped,
            vec![false, true, false, false, false, false, false]
        );
        let days: Vec<Option<&str>> = rows.iter().map(|r| r.day.as_deref()).collect();
        assert_eq!(days[0], Some("Thursday 26 November 2026"));
        assert!(days[1..6].iter().all(|d| d.is_none()));
        assert_eq!(days[6], Some("Friday 27 November 2026"));
        assert!(!rows[0].mine && rows[2].mine);
    }

    #[test]
    fn utc_clock_and_dates() {
        assert_eq!(clock(T0 + 61_005, Zone::Utc), "09:01");
        assert_eq!(instant(T0 + 61_005), "2026-11-26T09:01:01.005Z");
        assert_eq!(chat_shared::utc_date(0), (1970, 1, 1));
        assert_eq!(chat_shared::utc_date(951_782_400_000), (2000, 2, 29));
        assert_eq!(day_label(0, Zone::Utc), "Thursday 1 January 1970");
    }

    #[test]
    fn an_offset_moves_clock_and_day_but_not_the_instant() {
        // 23:30 UTC is 00:30 the next day at UTC+1, and 18:30 the same day at UTC-5.
        let late = T0 + 14 * 3_600_000 + 30 * 60_000;
        assert_eq!(clock(late, Zone::Offset(60)), "00:30");
        assert_eq!(clock(late, Zone::Offset(-300)), "18:30");
        assert_eq!(instant(late), "2026-11-26T23:30:00.000Z");
        assert_eq!(day_label(late, Zone::Offset(60)), "Friday 27 November 2026");
        assert_eq!(
            day_label(late, Zone::Offset(-300)),
            "Thursday 26 November 2026"
        );
    }

    #[test]
    fn the_offset_cookie_is_read_when_sane() {
        assert_eq!(offset_from_cookies("a=1; chat_tz=-300; b=2"), Some(-300));
        assert_eq!(offset_from_cookies("chat_tz=60"), Some(60));
        assert_eq!(offset_from_cookies("chat_tz=9999"), None);
        assert_eq!(offset_from_cookies("chat_tz=x"), None);
        assert_eq!(offset_from_cookies("other=1"), None);
    }
}
