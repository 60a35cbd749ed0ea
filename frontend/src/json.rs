//! JSON in the page. In the browser, text is read with the browser's own `JSON.parse` and
//! written with `JSON.stringify`, and serde-wasm-bindgen maps the shared serde types onto the
//! resulting JavaScript values, so the WebAssembly carries no JSON parser or printer of its own
//! (12.6 KB gzip less WebAssembly than with serde_json, for 0.8 KB more JavaScript glue and
//! slower decoding, both measured in BENCHMARKS.md). The server's render and the native tests
//! write with serde_json: the same JSON.

use serde::Serialize;

/// Reads `text` as a `T`; `None` if it is not JSON or not a `T`.
#[cfg(feature = "browser")]
pub fn from_str<T: serde::de::DeserializeOwned>(text: &str) -> Option<T> {
    let value = js_sys::JSON::parse(text).ok()?;
    serde_wasm_bindgen::from_value(value).ok()
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
