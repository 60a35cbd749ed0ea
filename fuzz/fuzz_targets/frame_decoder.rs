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
    // A refusal may come earlier when split (UTF-8 is checked as it arrives), but what was
    // decoded before it is the same, and a stream that decodes whole decodes split.
    match (&whole.1, &split.1) {
        (None, None) => assert_eq!(whole.0, split.0),
        (Some(_), _) | (None, Some(_)) => {
            let n = whole.0.len().min(split.0.len());
            assert_eq!(whole.0[..n], split.0[..n]);
        }
    }
    if whole.1.is_none() {
        assert!(split.1.is_none() || split.1.as_deref() == Some("InvalidUtf8"));
    }
});
