//! JSON read in the page, by the browser: `JSON.parse` makes the value and `chat_shared::js`
//! reads it into the shared serde types, so the WebAssembly carries no JSON parser (24.9 KB gzip
//! less than with serde_json; the decoding time each way is in BENCHMARKS.md). Writing stays
//! serde_json's serializer (`chat_shared::encode_client`), the same code the server and the
//! native tests use: for these types it is smaller in the WebAssembly than handing values to
//! `JSON.stringify` (1.0 KB gzip, measured), and it writes exactly the bytes the server reads.

/// Reads `text` as a `T`; `None` if it is not JSON or not a `T`.
pub fn from_str<T: serde::de::DeserializeOwned>(text: &str) -> Option<T> {
    chat_shared::js::from_str(text).ok()
}
