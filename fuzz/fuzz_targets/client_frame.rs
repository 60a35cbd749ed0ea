//! `ClientFrame::parse` on any text: a frame or a clear error, never a panic; and whatever
//! parses survives encoding and parsing again.
#![no_main]

use chat_shared::{encode_client, ClientFrame};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    if let Ok(frame) = ClientFrame::parse(text) {
        let again = encode_client(&frame).expect("a parsed frame encodes");
        assert_eq!(ClientFrame::parse(&again).ok(), Some(frame));
    }
});
