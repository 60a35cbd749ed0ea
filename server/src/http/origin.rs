//! Cross-origin protection for the WebSocket upgrade.
//!
//! Browsers send cookies with cross-site WebSocket requests and do not apply CORS to them, so a
//! hostile page could otherwise talk to the chat as its visitor. Like the Go upgrader's default,
//! a request whose `Origin` names another host than its `Host` header is refused; a request
//! without `Origin` (a non-browser client) is allowed; operators can allow more origins.

use axum::http::header::{HOST, ORIGIN};
use axum::http::{HeaderMap, Uri};

use crate::peers::loggable;

/// Which origins may open a WebSocket, besides the server's own.
#[derive(Debug, Clone, Default)]
pub struct OriginPolicy {
    /// Normalized `scheme://host[:port]`, lower case.
    allowed: Vec<String>,
}

/// Why an upgrade was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejected(pub String);

impl OriginPolicy {
    /// Builds the policy from configured origins such as `https://chat.example.com`.
    pub fn new(allowed: &[String]) -> Result<Self, String> {
        let allowed = allowed
            .iter()
            .map(|origin| {
                normalize(origin).ok_or_else(|| {
                    format!("allowed origin {origin:?} is not of the form scheme://host[:port]")
                })
            })
            .collect::<Result<_, _>>()?;
        Ok(OriginPolicy { allowed })
    }

    /// Accepts the request when it has no `Origin`, when the origin's host equals the `Host`
    /// header, or when the origin is explicitly allowed.
    pub fn check(&self, headers: &HeaderMap) -> Result<(), Rejected> {
        let Some(origin) = headers.get(ORIGIN) else {
            return Ok(());
        };
        let origin = origin
            .to_str()
            .map_err(|_| Rejected("Origin header is not ASCII".into()))?;
        let normalized = normalize(origin).ok_or_else(|| {
            Rejected(format!("Origin {} is not a valid origin", loggable(origin)))
        })?;
        if self.allowed.contains(&normalized) {
            return Ok(());
        }
        let origin_host = normalized
            .split_once("://")
            .map(|(_, host)| host)
            .unwrap_or_default();
        let host = headers.get(HOST).and_then(|h| h.to_str().ok());
        match host {
            Some(host) if host.eq_ignore_ascii_case(origin_host) => Ok(()),
            _ => Err(Rejected(format!(
                "Origin {} does not match Host {} and is not allowed",
                loggable(origin),
                loggable(host.unwrap_or(""))
            ))),
        }
    }
}

/// `scheme://host[:port]` in lower case, or `None` if the text is no such origin ("null",
/// paths, missing scheme).
fn normalize(origin: &str) -> Option<String> {
    let uri: Uri = origin.trim_end_matches('/').parse().ok()?;
    let scheme = uri.scheme_str()?;
    let authority = uri.authority()?;
    if uri.path() != "/" && !uri.path().is_empty() || uri.query().is_some() {
        return None;
    }
    if authority.as_str().contains('@') {
        return None;
    }
    Some(format!("{scheme}://{authority}").to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(origin: Option<&str>, host: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(HOST, HeaderValue::from_str(host).unwrap());
        if let Some(origin) = origin {
            headers.insert(ORIGIN, HeaderValue::from_str(origin).unwrap());
        }
        headers
    }

    #[test]
    fn same_origin_and_no_origin_pass() {
        let policy = OriginPolicy::default();
        assert!(policy.check(&headers(None, "127.0.0.1:8080")).is_ok());
        assert!(policy
            .check(&headers(Some("http://127.0.0.1:8080"), "127.0.0.1:8080"))
            .is_ok());
        assert!(policy
            .check(&headers(
                Some("https://Chat.Example.com"),
                "chat.example.com"
            ))
            .is_ok());
    }

    #[test]
    fn other_origins_fail_unless_allowed() {
        let policy = OriginPolicy::default();
        for origin in [
            "http://evil.example",
            "http://127.0.0.1:8081",
            "null",
            "127.0.0.1:8080",
            "http://127.0.0.1:8080@evil.example",
            "http://127.0.0.1:8080/path",
        ] {
            assert!(
                policy
                    .check(&headers(Some(origin), "127.0.0.1:8080"))
                    .is_err(),
                "{origin} must be refused"
            );
        }
        let policy = OriginPolicy::new(&["http://localhost:8080/".into()]).unwrap();
        assert!(policy
            .check(&headers(Some("http://LOCALHOST:8080"), "127.0.0.1:8080"))
            .is_ok());
        assert!(policy
            .check(&headers(Some("https://localhost:8080"), "127.0.0.1:8080"))
            .is_err());
    }

    #[test]
    fn bad_configuration_is_reported() {
        assert!(OriginPolicy::new(&["localhost".into()]).is_err());
        assert!(OriginPolicy::new(&["null".into()]).is_err());
    }
}
