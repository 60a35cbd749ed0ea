//! The WebSocket decoder fed a client's bytes in random splits, as TCP may deliver them: it
//! never panics, never claims bytes it was not given, and decodes the same messages (or the
//! same refusal) however the bytes are split.
#![no_main]

use chat_server::ws::{Decoder, Incoming};
use libfuzzer_sys::fuzz_target;

/// Decodes `bytes` delivered in pieces ending at `cuts`: the messages and how it ended.
fn decode(bytes: &[u8], cuts: &[usize]) -> (Vec<Incoming>, Option<String>) {
    let mut decoder = Decoder::new(256);
    let mut buf = Vec::new();
    let mut out = Vec::new();
    let mut at = 0;
    for &cut in cuts.iter().chain(std::iter::once(&bytes.len())) {
        let cut = cut.clamp(at, bytes.len());
        buf.extend_from_slice(&bytes[at..cut]);
        at = cut;
        let mut used = 0;
        loop {
            match decoder.decode(&mut buf[used..]) {
                Ok(Some((n, message))) => {
                    assert!(n > 0 && used + n <= buf.len());
                    used += n;
                    out.extend(message);
                }
                Ok(None) => break,
                Err(reason) => return (out, Some(format!("{reason:?}"))),
            }
        }
        buf.drain(..used);
    }
    (out, None)
}

fuzz_target!(|input: (Vec<u8>, Vec<u8>)| {
    let (bytes, cut_seeds) = input;
    let mut cuts: Vec<usize> = cut_seeds
        .iter()
        .map(|c| usize::from(*c) * bytes.len() / 256)
        .collect();
    cuts.sort_unstable();
    let whole = decode(&bytes, &[]);
    let split = decode(&bytes, &cuts);
    // Split or whole, the decoder sees the same bytes in the end: it refuses both or neither.
    // What it decoded before a refusal is the same; the refusal may come earlier when split
    // (UTF-8 is checked as it arrives), and is then `InvalidUtf8` where whole bytes gave it.
    match (&whole.1, &split.1) {
        (None, None) => assert_eq!(whole.0, split.0),
        (Some(a), Some(b)) => {
            let n = whole.0.len().min(split.0.len());
            assert_eq!(whole.0[..n], split.0[..n]);
            assert!(a == b || b == "InvalidUtf8", "whole: {a}, split: {b}");
        }
        (a, b) => panic!("whole bytes: {a:?}, split: {b:?}"),
    }
});
