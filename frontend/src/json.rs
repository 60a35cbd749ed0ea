//! JSON in the page, done by the browser: text is read with `JSON.parse` and the value read into
//! the shared serde types by `chat_shared::js`, and written by serde-wasm-bindgen and
//! `JSON.stringify`, so the WebAssembly carries no JSON parser or printer of its own (with
//! serde_json it was 24.9 KB gzip larger, for 0.4 KB less JavaScript glue; the decoding time
//! each way is in BENCHMARKS.md). The server's render and the native tests write with
//! serde_json: the same JSON.

use serde::Serialize;

/// Reads `text` as a `T`; `None` if it is not JSON or not a `T`.
#[cfg(feature = "browser")]
pub fn from_str<T: serde::de::DeserializeOwned>(text: &str) -> Option<T> {
    chat_shared::js::from_str(text).ok()
}

/// Writes `value` as compact JSON, as the server writes and reads it.
pub fn to_string<T: Serialize + ?Sized>(value: &T) -> Option<String> {
    #[cfg(feature = "browser")]
    {
        // Maps as plain objects and `None` as `null`, as serde_json writes them.
        let serializer = serde_wasm_bindgen::Serializer::json_compatible();
        let value = value.serialize(&serializer).ok()?;
        js_sys::JSON::stringify(&value).ok()?.as_string()
    }
    #[cfg(not(feature = "browser"))]
    {
        serde_json::to_string(value).ok()
    }
}
