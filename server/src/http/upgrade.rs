//! The WebSocket opening handshake (RFC 6455, section 4.2) on an axum request, and taking over
//! the TCP socket once hyper has sent the 101 response.

use axum::body::Body;
use axum::http::header::{
    CONNECTION, SEC_WEBSOCKET_ACCEPT, SEC_WEBSOCKET_KEY, SEC_WEBSOCKET_VERSION, UPGRADE,
};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::ws;

/// Why a request to the WebSocket endpoint is not a handshake we accept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// No `Upgrade: websocket` / `Connection: upgrade`: a plain HTTP request.
    NotWebSocket,
    /// A WebSocket version other than 13.
    UnsupportedVersion,
    /// No usable `Sec-WebSocket-Key`.
    BadKey,
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        match self {
            Refusal::NotWebSocket => (
                StatusCode::UPGRADE_REQUIRED,
                [(UPGRADE, "websocket")],
                "this endpoint speaks WebSocket only",
            )
                .into_response(),
            Refusal::UnsupportedVersion => (
                StatusCode::UPGRADE_REQUIRED,
                [(SEC_WEBSOCKET_VERSION, "13")],
                "unsupported WebSocket version; use 13",
            )
                .into_response(),
            Refusal::BadKey => {
                (StatusCode::BAD_REQUEST, "missing or bad Sec-WebSocket-Key").into_response()
            }
        }
    }
}

/// Checks a client's handshake headers and returns the `Sec-WebSocket-Accept` to answer with.
pub fn check(headers: &HeaderMap) -> Result<HeaderValue, Refusal> {
    let has_token = |name, token: &str| {
        headers.get_all(name).iter().any(|value| {
            value
                .to_str()
                .map(|v| v.split(',').any(|t| t.trim().eq_ignore_ascii_case(token)))
                .unwrap_or(false)
        })
    };
    if !has_token(UPGRADE, "websocket") || !has_token(CONNECTION, "upgrade") {
        return Err(Refusal::NotWebSocket);
    }
    if headers
        .get(SEC_WEBSOCKET_VERSION)
        .map(HeaderValue::as_bytes)
        != Some(b"13")
    {
        return Err(Refusal::UnsupportedVersion);
    }
    let key = headers.get(SEC_WEBSOCKET_KEY).ok_or(Refusal::BadKey)?;
    HeaderValue::from_str(&ws::accept_key(key.as_bytes())).map_err(|_| Refusal::BadKey)
}

/// The 101 response that completes the handshake.
pub fn switching_protocols(accept: HeaderValue) -> Response {
    let mut response = Response::new(Body::empty());
    *response.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let headers = response.headers_mut();
    headers.insert(UPGRADE, HeaderValue::from_static("websocket"));
    headers.insert(CONNECTION, HeaderValue::from_static("upgrade"));
    headers.insert(SEC_WEBSOCKET_ACCEPT, accept);
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn handshake(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for (name, value) in pairs {
            headers.append(*name, HeaderValue::from_static(value));
        }
        headers
    }

    const BROWSER: &[(&str, &str)] = &[
        ("upgrade", "websocket"),
        ("connection", "keep-alive, Upgrade"),
        ("sec-websocket-version", "13"),
        ("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ=="),
    ];

    #[test]
    fn a_browser_handshake_is_accepted_with_the_rfc_answer() {
        assert_eq!(
            check(&handshake(BROWSER)).unwrap(),
            "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        );
    }

    #[test]
    fn incomplete_handshakes_say_what_is_wrong() {
        let without = |skip: &str| {
            let pairs: Vec<_> = BROWSER
                .iter()
                .copied()
                .filter(|(n, _)| *n != skip)
                .collect();
            check(&handshake(&pairs))
        };
        assert_eq!(without("upgrade"), Err(Refusal::NotWebSocket));
        assert_eq!(without("connection"), Err(Refusal::NotWebSocket));
        assert_eq!(
            without("sec-websocket-version"),
            Err(Refusal::UnsupportedVersion)
        );
        assert_eq!(without("sec-websocket-key"), Err(Refusal::BadKey));
        let mut old = handshake(BROWSER);
        old.insert("sec-websocket-version", HeaderValue::from_static("8"));
        assert_eq!(check(&old), Err(Refusal::UnsupportedVersion));
    }
}
