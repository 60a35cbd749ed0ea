//! What the server-rendered forms share (accounts mode's pages): the HTML around them,
//! escaping, redirects, and the refusal of forms sent from another site.

use axum::http::header::LOCATION;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};

use super::Web;

/// A 403 when a form arrives from another site, else `None`.
pub fn cross_site(web: &Web, headers: &HeaderMap) -> Option<Response> {
    let site = headers
        .get("sec-fetch-site")
        .and_then(|value| value.to_str().ok());
    let refused = match site {
        Some(site) => !matches!(site, "same-origin" | "none"),
        None => web.origins.check(headers).is_err(),
    };
    refused.then(|| {
        (
            StatusCode::FORBIDDEN,
            "This form can only be sent from this site's own pages.",
        )
            .into_response()
    })
}

/// A path on this site (`/r/rust`), not another site (`//evil.example`, `https://...`).
pub fn is_local_path(path: &str) -> bool {
    path.starts_with('/') && !path.starts_with("//") && !path.contains('\\')
}

pub fn see_other(target: &str) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    if let Ok(value) = HeaderValue::from_str(target) {
        response.headers_mut().insert(LOCATION, value);
    }
    response
}

/// A page of one heading and a paragraph (`body` is trusted HTML, never user input).
pub fn message_page(status: StatusCode, title: &str, body: &str) -> Response {
    let html = document(title, &format!("<h1>{}</h1><p>{body}</p>", escape(title)));
    (status, Html(html)).into_response()
}

/// A whole HTML document around `body`, styled like the app.
pub fn document(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{} · chat</title><link rel=\"stylesheet\" href=\"/pkg/chat.css\"></head>\
         <body><main class=\"account-page\">{body}</main></body></html>",
        escape(title)
    )
}

/// The value of the cookie `name` a request presents (not empty).
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .find_map(|pair| {
            let (key, value) = pair.trim().split_once('=')?;
            (key == name && !value.is_empty()).then_some(value)
        })
}

/// Escapes text for HTML content and quoted attribute values.
pub fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            c => escaped.push(c),
        }
    }
    escaped
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_local_paths_are_followed_after_signing_in() {
        assert!(is_local_path("/r/rust"));
        for outside in [
            "//evil.example/x",
            "https://evil.example",
            "/\\evil.example",
            "r/x",
        ] {
            assert!(!is_local_path(outside), "{outside}");
        }
    }

    #[test]
    fn text_is_escaped_for_content_and_attributes() {
        assert_eq!(
            escape(r#"<a href="x">'&'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
    }
}
