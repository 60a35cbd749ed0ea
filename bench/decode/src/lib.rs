//! Reads the same server frames each way the page could, in the browser, so that the cost of
//! reading frames with the browser's `JSON.parse` and `chat_shared::js` (what the page does:
//! `frontend/src/json.rs`) can be set against serde_json compiled into the WebAssembly (what it
//! did before) and serde-wasm-bindgen's `from_value` (the crate `chat_shared::js` replaces).
//! Built and run in Chromium by `scripts/decode-bench.sh`.

use chat_shared::{batch_lines, ServerFrame};
use wasm_bindgen::prelude::*;

/// Reads every frame of `batch` `rounds` times with `read`; returns how many it read.
fn read_lines(batch: &str, rounds: u32, read: impl Fn(&str) -> bool) -> u32 {
    let mut read_frames = 0;
    for _ in 0..rounds {
        for line in batch_lines(batch) {
            read_frames += u32::from(read(line));
        }
    }
    read_frames
}

/// Reads every frame of `batch` `rounds` times with serde_json; returns the frames read.
#[wasm_bindgen]
pub fn read_with_serde_json(batch: &str, rounds: u32) -> u32 {
    read_lines(batch, rounds, |line| {
        serde_json::from_str::<ServerFrame>(line).is_ok()
    })
}

/// Reads every frame of `batch` `rounds` times with `JSON.parse` and serde-wasm-bindgen.
#[wasm_bindgen]
pub fn read_with_serde_wasm_bindgen(batch: &str, rounds: u32) -> u32 {
    read_lines(batch, rounds, |line| {
        js_sys::JSON::parse(line)
            .is_ok_and(|value| serde_wasm_bindgen::from_value::<ServerFrame>(value).is_ok())
    })
}

/// Reads every frame of `batch` `rounds` times as the page does; returns the frames read.
#[wasm_bindgen]
pub fn read_as_the_page_does(batch: &str, rounds: u32) -> u32 {
    read_lines(batch, rounds, |line| {
        chat_shared::js::server_frame(line).is_ok()
    })
}
