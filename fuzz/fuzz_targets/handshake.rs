//! The WebSocket handshake and Origin checks on arbitrary headers: they answer, never panic.
#![no_main]

use axum::http::{HeaderMap, HeaderName, HeaderValue};
use chat_server::http::upgrade;
use chat_server::http::OriginPolicy;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: (Vec<(String, Vec<u8>)>, Vec<String>)| {
    let (pairs, allowed) = input;
    let mut headers = HeaderMap::new();
    for (name, value) in pairs {
        let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_bytes(&value),
        ) else {
            continue;
        };
        headers.append(name, value);
    }
    let _ = upgrade::check(&headers);
    if let Ok(policy) = OriginPolicy::new(&allowed) {
        let _ = policy.check(&headers);
    }
});
