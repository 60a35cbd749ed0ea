//! The server-rendered page: `/` (the lobby) and `/r/{room}`. The room's latest messages are in
//! the first HTML response, so the log is readable before the WebAssembly has loaded (or with
//! JavaScript off); the page then resumes from them over its socket, missing nothing.

/// The bundle name in the workspace's `[package.metadata.leptos]`: /pkg/chat.js, chat.wasm, chat.css.
const SITE_NAME: &str = "chat";

use std::sync::Arc;

use anyhow::Context;
use axum::extract::{Path, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chat_frontend::{shell, AccountMarkup, InitialPage};
use leptos::prelude::provide_context;
use tracing::warn;

use super::forms::{escape, message_page};
use super::viewer::Asked;
use super::Web;
use crate::accounts::Refused;
use crate::store::access::RoomView;
use crate::store::accounts::Account;

/// `/`: the lobby.
pub async fn lobby(State(web): State<Arc<Web>>, request: Request) -> Response {
    let lobby = chat_shared::DEFAULT_ROOM;
    let viewer = match super::viewer::may_see_pages(&web, Asked::of(&request), "/", lobby).await {
        Ok(viewer) => viewer,
        Err(refused) => return refused,
    };
    render(web, chat_shared::DEFAULT_ROOM.to_string(), viewer, request).await
}

/// `/r/{room}`: any room, created when the page's socket first joins it.
pub async fn room(
    State(web): State<Arc<Web>>,
    Path(room): Path<String>,
    request: Request,
) -> Response {
    // The name first: a page for a name no room can have says so to anyone (it reveals
    // nothing), and only valid names go into the sign-in redirect.
    if let Err(err) = chat_shared::validate_room(&room) {
        let body = format!(
            "{} <a href=\"/\">Go to the lobby</a>.",
            escape(&err.message)
        );
        return message_page(StatusCode::NOT_FOUND, "No such room", &body);
    }
    let path = format!("/r/{room}");
    let viewer = match super::viewer::may_see_pages(&web, Asked::of(&request), &path, &room).await {
        Ok(viewer) => viewer,
        Err(refused) => return refused,
    };
    render(web, room, viewer, request).await
}

/// The page of `room` for `viewer` (signed in, in accounts mode).
async fn render(
    web: Arc<Web>,
    room: String,
    viewer: Option<Account>,
    request: Request,
) -> Response {
    // A private room is shown to its members only; to anyone else it does not exist.
    let mut view = RoomView::default();
    if let (Some(account), Some(accounts)) = (&viewer, &web.app.accounts) {
        match accounts.room_view(account, &room).await {
            Ok(seen) => view = seen,
            Err(Refused::NoSuchRoom) => return super::rooms::no_such_room(),
            Err(other) => {
                let body = escape(&other.message());
                return message_page(other.status(), "Not available", &body);
            }
        }
    }
    let chat = &web.app.chat;
    let limit = u64::from(chat.settings.join_history);
    // A page without history is still a working page: the socket fills it in.
    let mut snapshot = match chat.broker.latest_page(&room, limit).await {
        Ok(snapshot) => snapshot,
        Err(err) => {
            warn!(%room, error = %err.message, "rendering a page without its history");
            None
        }
    };
    let utc_offset_minutes = request
        .headers()
        .get(axum::http::header::COOKIE)
        .and_then(|cookies| cookies.to_str().ok())
        .and_then(chat_frontend::layout::offset_from_cookies);
    let account = viewer;
    // The account pages exist in accounts mode; in `jwt` mode the application has its own.
    let pages = web.app.accounts.is_some();
    // The search page: single node (a database to search), not `jwt` mode.
    let search = web.app.chat.store.is_some() && web.app.jwt.is_none();
    let markup = AccountMarkup(match &account {
        Some(account) => account_box(account, pages, search),
        None if search => SEARCH_LINK.to_string(),
        None => String::new(),
    });
    if let (Some(snapshot), Some(account)) = (snapshot.as_mut(), account.as_ref()) {
        // Rendered as the socket will answer this reader: their own messages marked as theirs.
        snapshot.you.clone_from(&account.name);
        snapshot.title = view.title;
        snapshot.topic = view.topic;
    }
    // Every device of the account lists its rooms (each joined, so their counts are live).
    let rooms = match (&account, &web.app.accounts) {
        (Some(account), Some(accounts)) => {
            let limit = web.app.config.max_rooms_per_connection.saturating_sub(1);
            accounts.sidebar_rooms(account, limit).await
        }
        _ => Vec::new(),
    };
    let initial = InitialPage {
        room,
        snapshot,
        rooms,
        utc_offset_minutes,
        account: account
            .as_ref()
            .and_then(|account| u64::try_from(account.id).ok()),
        admin: account.is_some_and(|account| account.admin),
    };
    let options = web.leptos.clone();
    let context = {
        let options = options.clone();
        move || {
            provide_context(initial.clone());
            provide_context(markup.clone());
            provide_context(options.clone());
        }
    };
    let handler =
        leptos_axum::render_app_to_stream_with_context(context, move || shell(options.clone()));
    handler(request).await.into_response()
}

/// The sidebar's account box for `account`: plain links and a plain form, which work the same
/// before and after the WebAssembly has loaded. Only the name when there are no account pages
/// (`jwt` mode).
fn account_box(account: &Account, pages: bool, search: bool) -> String {
    let name = format!(
        "<p>Signed in as <strong id=\"account-name\">{}</strong></p>",
        escape(&account.name)
    );
    if !pages {
        return name;
    }
    let admin = if account.admin {
        "<a href=\"/admin\">Administration</a>"
    } else {
        ""
    };
    format!(
        "{name}<p><button type=\"button\" id=\"notify-button\" class=\"secondary\" hidden>\
         Notify me in this browser</button></p>\
         <p class=\"account-links\"><a href=\"/account\">Your account</a>{admin}</p>\
         <form method=\"post\" action=\"/signout\">\
         <button type=\"submit\" class=\"secondary\">Sign out</button></form>\
         <p class=\"account-links\"><a href=\"/rooms\">All rooms</a>\
         <a href=\"/rooms/new\">New private room</a></p>{}",
        if search { SEARCH_LINK } else { "" }
    )
}

/// The link to the search page ([`super::search`]).
const SEARCH_LINK: &str = "<p class=\"account-links\"><a href=\"/search\">Search messages</a></p>";

/// Where the site's files are and what the bundle is called. cargo-leptos says so through
/// `LEPTOS_*` variables (at build time and when it runs the server); a binary built by plain
/// cargo and run without it (tests, `cargo run`) uses the workspace's bundle name and the site
/// cargo-leptos last built under `target/site`.
pub(super) fn site_options() -> anyhow::Result<leptos::prelude::LeptosOptions> {
    let named = std::env::var_os("LEPTOS_OUTPUT_NAME").is_some()
        || option_env!("LEPTOS_OUTPUT_NAME").is_some();
    if named {
        return Ok(leptos::prelude::get_configuration(None)
            .context("reading the Leptos site configuration (LEPTOS_* variables)")?
            .leptos_options);
    }
    let site_root = std::env::var("LEPTOS_SITE_ROOT").unwrap_or_else(|_| "target/site".into());
    Ok(leptos::prelude::LeptosOptions::builder()
        .output_name(SITE_NAME)
        .site_root(site_root)
        .build())
}
