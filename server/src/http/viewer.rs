//! Who is looking at a chat page: anyone in open mode; in accounts mode a signed-in account (or
//! the sign-in form); in `jwt` mode whoever presents a valid token for the room.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, Request};
use axum::http::HeaderMap;
use axum::response::Response;

use super::accounts::Pages;
use super::Web;
use crate::store::accounts::Account;

/// Who may see a page of `room` (at `path`): anyone in open mode; in accounts mode only someone
/// signed in (else the sign-in form, and back to `path` after), and not before set-up; in `jwt`
/// mode whoever presents a valid token that allows the room.
pub async fn may_see_pages(
    web: &Arc<Web>,
    asked: Asked,
    path: &str,
    room: &str,
) -> Result<Option<Account>, Response> {
    if let Some(jwt) = &web.app.jwt {
        return super::jwt::viewer(web, jwt, &asked, room).await.map(Some);
    }
    match Pages::of(web).filter(|_| web.app.accounts_required()) {
        None => Ok(None),
        Some(pages) => pages
            .live(&asked.headers, path)
            .await
            .map(|live| Some(live.account)),
    }
}

/// What a page's access check needs of its request, taken out of it (a request's body may not be
/// shared across an await).
pub struct Asked {
    /// Its headers (cookies, `Authorization`, `X-Forwarded-Proto`).
    pub headers: HeaderMap,
    /// Its address (`?token=`).
    pub uri: axum::http::Uri,
    /// The peer it came from, when the server knows it.
    pub peer: Option<SocketAddr>,
}

impl Asked {
    /// The parts of `request` a page's access check reads.
    pub fn of(request: &Request) -> Self {
        Asked {
            headers: request.headers().clone(),
            uri: request.uri().clone(),
            peer: request
                .extensions()
                .get::<ConnectInfo<SocketAddr>>()
                .map(|info| info.0),
        }
    }
}
