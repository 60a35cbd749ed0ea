//! Web Push's HTTP side (accounts mode): the service worker (`/sw.js`), the account page's
//! script that subscribes (`/push.js`) and its section, and the subscription endpoints the
//! script posts to. The sending is [`crate::push`]'s.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;

use super::accounts::Pages;
use super::forms::{escape, see_other};
use super::Web;
use crate::accounts::Live;
use crate::push::{Refused, WebPush};

/// The service worker: shows pushes, opens the room on a click.
const SERVICE_WORKER: &str = include_str!("sw.js");
/// The account page's script that turns pushes on and off.
const SCRIPT: &str = include_str!("push.js");

/// The routes (accounts mode only).
pub fn routes(web: &Arc<Web>) -> Router {
    let Some(pages) = Pages::of(web) else {
        return Router::new();
    };
    if web.app.push.is_none() {
        return Router::new();
    }
    let routes = Router::new()
        .route(
            "/sw.js",
            get(|| async { super::javascript(SERVICE_WORKER) }),
        )
        .route("/push.js", get(|| async { super::javascript(SCRIPT) }))
        .route("/push/subscriptions", post(subscribe))
        .route("/push/subscriptions/remove", post(unsubscribe))
        .route("/account/push/stop-all", post(stop_all));
    pages.serve(routes)
}

/// What the script posts: the browser's `PushSubscription`, and the person's choice of
/// previews.
#[derive(Debug, Deserialize)]
struct Subscription {
    endpoint: String,
    p256dh: String,
    auth: String,
    #[serde(default)]
    previews: bool,
}

#[derive(Debug, Deserialize)]
struct Endpoint {
    endpoint: String,
}

/// The signed-in person and the push side of the app, else the answer: 401 for a visitor (the
/// script's requests are not pages to redirect), 404 without push.
async fn signed_in(pages: &Pages, headers: &HeaderMap) -> Result<(Live, Arc<WebPush>), Response> {
    let Ok(live) = pages.live(headers, "/account").await else {
        return Err((StatusCode::UNAUTHORIZED, "Sign in first.").into_response());
    };
    match &pages.web.app.push {
        Some(push) => Ok((live, push.clone())),
        None => Err(StatusCode::NOT_FOUND.into_response()),
    }
}

async fn subscribe(
    State(pages): State<Pages>,
    headers: HeaderMap,
    Json(subscription): Json<Subscription>,
) -> Response {
    let (live, push) = match signed_in(&pages, &headers).await {
        Ok(found) => found,
        Err(answer) => return answer,
    };
    let kept = push
        .subscribe(
            live.account.id,
            live.session,
            &subscription.endpoint,
            &subscription.p256dh,
            &subscription.auth,
            subscription.previews,
        )
        .await;
    let status = match &kept {
        Ok(()) => return StatusCode::NO_CONTENT.into_response(),
        Err(Refused::Invalid(_)) => StatusCode::BAD_REQUEST,
        Err(Refused::TooMany(_)) => StatusCode::CONFLICT,
        Err(Refused::Store(_)) => StatusCode::SERVICE_UNAVAILABLE,
    };
    let why = kept
        .err()
        .map(|refused| refused.message())
        .unwrap_or_default();
    (status, why).into_response()
}

async fn unsubscribe(
    State(pages): State<Pages>,
    headers: HeaderMap,
    Json(endpoint): Json<Endpoint>,
) -> Response {
    let (live, push) = match signed_in(&pages, &headers).await {
        Ok(found) => found,
        Err(answer) => return answer,
    };
    match push
        .unsubscribe(live.account.id, Some(endpoint.endpoint))
        .await
    {
        Ok(_) => StatusCode::NO_CONTENT.into_response(),
        Err(err) => (StatusCode::SERVICE_UNAVAILABLE, err.message).into_response(),
    }
}

async fn stop_all(State(pages): State<Pages>, headers: HeaderMap) -> Response {
    let live = match pages.live(&headers, "/account").await {
        Ok(live) => live,
        Err(answer) => return answer,
    };
    if let Some(push) = &pages.web.app.push {
        let _ = push.unsubscribe(live.account.id, None).await;
    }
    see_other("/account")
}

/// The account page's section: what push notifications are, the buttons the script shows
/// (hidden until it knows the browser can), and how many browsers get them, with a form that
/// turns them all off.
pub async fn section(push: &WebPush, account: i64) -> String {
    let count = push.count_of(account).await.unwrap_or(0);
    let everywhere = if count == 0 {
        String::new()
    } else {
        format!(
            "<p>On in {count} browser{s}.</p>\
             <form method=\"post\" action=\"/account/push/stop-all\">\
             <button type=\"submit\" class=\"secondary\">Turn off in every browser</button></form>",
            s = if count == 1 { "" } else { "s" }
        )
    };
    let Some(key) = push.public_key() else {
        return format!("<h2>Push notifications</h2>{everywhere}");
    };
    format!(
        "<h2>Push notifications</h2>\
         <p>Notifications in this browser when no page of the chat is open: direct messages, \
         mentions, and rooms whose level is \u{201c}everything\u{201d}.</p>\
         <div id=\"push\" data-key=\"{key}\" hidden>\
         <p><label><input type=\"checkbox\" id=\"push-previews\"> \
         Show what the message says (otherwise only who wrote, and where)</label></p>\
         <p><button type=\"button\" id=\"push-on\">Turn on in this browser</button>\
         <button type=\"button\" id=\"push-off\" class=\"secondary\" hidden>Turn off in this browser</button></p>\
         </div><p id=\"push-status\" role=\"status\"></p>{everywhere}\
         <script src=\"/push.js\" defer></script>",
        key = escape(key),
    )
}
