//! The pages of `jwt` mode: a room's page is shown to whoever presents a valid token (from the
//! application's link, `?token=`, kept then in an HttpOnly cookie so the page's socket presents it
//! too), and only for a room the token allows. `/signin`, where the page goes when its token
//! runs out, says to open the chat again from the application.

use std::sync::Arc;

use axum::http::header::AUTHORIZATION;
use axum::http::header::SET_COOKIE;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use axum::routing::get;
use axum::Router;

use super::forms::{message_page, see_other};
use super::viewer::Asked;
use super::Web;
use crate::accounts::jwt::JwtAccess;
use crate::store::accounts::Account;

/// The cookie a page's token is kept in (set from `?token=` on a page's address).
pub const TOKEN_COOKIE: &str = "chat_jwt";

/// The token a request presents: `Authorization: Bearer`, the page's cookie, or `token=` in the
/// query (for clients that cannot set headers on a WebSocket).
pub fn presented<'a>(headers: &'a HeaderMap, query: Option<&'a str>) -> Option<&'a str> {
    headers
        .get(AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .or_else(|| super::forms::cookie(headers, TOKEN_COOKIE))
        .or_else(|| query_token(query))
}

/// `token=` in a query string (tokens are base64url and dots: nothing to decode).
fn query_token(query: Option<&str>) -> Option<&str> {
    query?
        .split('&')
        .find_map(|pair| pair.strip_prefix("token="))
        .filter(|token| !token.is_empty())
}

/// The routes of `jwt` mode (none in other modes).
pub fn routes(web: &Arc<Web>) -> Router {
    if web.app.jwt.is_none() {
        return Router::new();
    }
    Router::new().route("/signin", get(expired))
}

async fn expired() -> Response {
    message_page(
        StatusCode::UNAUTHORIZED,
        "Open the chat again",
        "Your access to this chat has run out. Open it again from the application that brought \
         you here.",
    )
}

/// The account `request`'s token names, if it may see `room`; else the page to answer with: a
/// 401 without a valid token, the missing room's 404 for a room the token does not allow, and
/// for a token in the address, a redirect to the same page without it (the token then in a
/// cookie, out of the address bar, history and logs).
pub async fn viewer(
    web: &Web,
    jwt: &Arc<JwtAccess>,
    asked: &Asked,
    room: &str,
) -> Result<Account, Response> {
    let (headers, uri) = (&asked.headers, &asked.uri);
    let refused = |why: &str| {
        message_page(
            StatusCode::UNAUTHORIZED,
            "Open the chat from its application",
            &format!(
                "This chat is opened from the application that uses it, with a link that says who \
                 you are. {}",
                super::forms::escape(why)
            ),
        )
    };
    let query = uri.query();
    let Some(presented) = presented(headers, query) else {
        return Err(refused(""));
    };
    let claims = jwt.verify(presented).map_err(|why| refused(&why))?;
    if !claims
        .rooms
        .as_ref()
        .is_none_or(|rooms| rooms.iter().any(|r| r == room))
    {
        return Err(super::rooms::no_such_room());
    }
    if let Some(token) = query_token(query) {
        let https = asked
            .peer
            .is_some_and(|peer| super::accounts::is_https(web, peer, headers));
        let secure = if https { "; Secure" } else { "" };
        let cookie = format!(
            "{TOKEN_COOKIE}={token}; Path=/; Max-Age={}; HttpOnly; SameSite=Lax{secure}",
            jwt.remaining(&claims).as_secs()
        );
        let mut response = see_other(uri.path());
        if let Ok(value) = HeaderValue::from_str(&cookie) {
            response.headers_mut().insert(SET_COOKIE, value);
        }
        return Err(response);
    }
    jwt.account(&claims)
        .await
        .map_err(|refused| message_page(refused.status(), "Not available", &refused.message()))
}
