//! JSON in the page. Reading is done by the browser: `JSON.parse` makes the value and
//! `chat_shared::js` reads it into the shared serde types, so the WebAssembly carries no JSON
//! parser (the decoding time each way is in BENCHMARKS.md). Writing (the client's frames) is
//! serde_json's serializer, the same code the server and the native tests use: for these types
//! it is smaller in the WebAssembly than handing the value to `JSON.stringify` through
//! serde-wasm-bindgen (1.0 KB gzip, measured), and it writes exactly the bytes the server reads.

use serde::Serialize;

/// Reads `text` as a `T`; `None` if it is not JSON or not a `T`.
#[cfg(feature = "browser")]
pub fn from_str<T: serde::de::DeserializeOwned>(text: &str) -> Option<T> {
    chat_shared::js::from_str(text).ok()
}

/// Writes `value` as compact JSON, as the server writes and reads it.
pub fn to_string<T: Serialize + ?Sized>(value: &T) -> Option<String> {
    serde_json::to_string(value).ok()
}
