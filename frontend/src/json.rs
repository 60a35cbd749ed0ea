//! JSON read in the page, by the browser: `JSON.parse` makes the value and `chat_shared::js`
//! reads its fields, so the WebAssembly carries no JSON parser (24.9 KB gzip less than with
//! serde_json) and no serde reader either (2.5 KB gzip less; the decoding time each way is in
//! BENCHMARKS.md). Writing stays serde_json's serializer (`chat_shared::encode_client`), the same
//! code the server and the native tests use: for these types it is smaller in the WebAssembly
//! than handing values to `JSON.stringify` (1.0 KB gzip, measured), and it writes exactly the
//! bytes the server reads. `tests/json.rs` reads back what the server writes, under Node.

use chat_shared::js::{self, Fields};
use chat_shared::ServerFrame;

use crate::chat::InitialPage;

/// One server frame; `None` if it is not JSON or not a frame.
pub fn server_frame(text: &str) -> Option<ServerFrame> {
    js::server_frame(text).ok()
}

/// The [`InitialPage`] the server embedded (written by serde: `initial_page_json`).
pub fn initial_page(text: &str) -> Option<InitialPage> {
    let value = js::parse(text).ok()?;
    let f = Fields::of(&value).ok()?;
    let snapshot = match f.value("snapshot") {
        None => None,
        Some(frame) => match js::read_frame(&frame).ok()? {
            ServerFrame::Joined(joined) => Some(joined),
            _ => return None,
        },
    };
    Some(InitialPage {
        room: f.string("room").ok()??,
        snapshot,
        utc_offset_minutes: match f.integer("utc_offset_minutes").ok()? {
            Some(minutes) => Some(i32::try_from(minutes).ok()?),
            None => None,
        },
        account: f.unsigned("account").ok()?,
        admin: f.flag("admin").ok()?.unwrap_or(false),
        rooms: f.strings("rooms").ok()?.unwrap_or_default(),
    })
}

/// A JSON array of strings (the rooms this browser keeps).
pub fn strings(text: &str) -> Option<Vec<String>> {
    js::strings(&js::parse(text).ok()?).ok()
}
