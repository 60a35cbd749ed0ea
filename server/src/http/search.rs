//! `/search`: the search page, server-rendered like the settings pages (none of it is in the
//! page's WebAssembly). A form, a page of results newest first, each linked to its message in
//! its room (`/r/<room>?m=<id>`, which the page opens at the message and highlights), and a link to older
//! results. The same search as the socket's `search` frame, over the rooms the reader may read:
//! anyone's open rooms in open mode; in accounts mode, for a signed-in account, its private rooms
//! and direct conversations too. Not in `jwt` mode, whose application embeds one room.

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use chat_shared::search::{Query as Search, HIT};
use chat_shared::Found;
use serde::Deserialize;

use super::accounts::Pages;
use super::forms::{document, escape, message_page};
use super::rooms::shown_name;
use super::settings::iso;
use super::Web;
use crate::store::access;
use crate::store::search::{self, Searcher};

/// The search page's route (none in `jwt` mode).
pub fn routes(web: &Arc<Web>) -> Router {
    if web.app.jwt.is_some() {
        return Router::new();
    }
    Router::new()
        .route("/search", get(page))
        .with_state(web.clone())
}

/// What the address asks.
#[derive(Debug, Deserialize)]
struct Asked {
    /// The search.
    #[serde(default)]
    q: String,
    /// The next page: the `next` of the page before.
    before: Option<u64>,
}

async fn page(
    State(web): State<Arc<Web>>,
    headers: HeaderMap,
    Query(asked): Query<Asked>,
) -> Response {
    let account = match Pages::of(&web).filter(|_| web.app.accounts_required()) {
        None => None,
        Some(pages) => match pages.live(&headers, "/search").await {
            Ok(live) => Some(live.account.id),
            Err(answer) => return answer,
        },
    };
    let Some(store) = web.app.chat.store.clone() else {
        return message_page(
            StatusCode::NOT_FOUND,
            "Search",
            "This page searches a single node's index. In cluster mode a client searches the \
             recent messages of the rooms it is in through its connection (the <code>search</code> \
             frame). <a href=\"/\">Back to the chat</a>.",
        );
    };
    let form = form(&asked.q);
    if asked.q.trim().is_empty() {
        return Html(document("Search", &form)).into_response();
    }
    let query = match Search::parse(&asked.q) {
        Ok(query) => query,
        Err(err) => {
            let body = format!(
                "{form}<p class=\"form-error\" role=\"alert\">{}</p>",
                escape(&err.message)
            );
            return (StatusCode::BAD_REQUEST, Html(document("Search", &body))).into_response();
        }
    };
    let searcher = Searcher {
        account,
        rooms: None,
    };
    let before = asked.before;
    let found = store
        .read("search", move |conn| {
            let page = search::find(conn, &query, &searcher, before)?;
            // What each room is called for this reader, as its page calls it (a private room's
            // title, a direct conversation's other person).
            let mut names = std::collections::HashMap::new();
            for found in &page.results {
                if names.contains_key(&found.room) {
                    continue;
                }
                let title = match account {
                    Some(account) => access::visible(conn, &found.room, account)?
                        .map(|view| view.title)
                        .unwrap_or_default(),
                    None => String::new(),
                };
                names.insert(found.room.clone(), shown_name(&found.room, &title));
            }
            Ok((page, names))
        })
        .await;
    let (page, names) = match found {
        Ok(found) => found,
        Err(err) => {
            return message_page(
                StatusCode::SERVICE_UNAVAILABLE,
                "Search",
                &escape(&err.message),
            )
        }
    };
    let mut body = form;
    if page.results.is_empty() {
        body.push_str("<p role=\"status\">No message matches.</p>");
    } else {
        body.push_str("<ol class=\"results\">");
        for found in &page.results {
            let room = names.get(&found.room).map_or("", String::as_str);
            body.push_str(&result(found, room));
        }
        body.push_str("</ol>");
    }
    if let Some(next) = page.next {
        body.push_str(&format!(
            "<p><a href=\"/search?q={}&amp;before={next}\">Older results</a></p>",
            form_urlencoded::byte_serialize(asked.q.as_bytes()).collect::<String>()
        ));
    }
    Html(document("Search", &body)).into_response()
}

/// The search form, with the search asked.
fn form(q: &str) -> String {
    format!(
        "<h1>Search</h1><p><a href=\"/\">Back to the chat</a></p>\
         <form method=\"get\" action=\"/search\" role=\"search\">\
         <label for=\"q\">Words, a start of a word with *, \"a phrase\", from:name, in:room</label>\
         <input id=\"q\" name=\"q\" type=\"search\" maxlength=\"{}\" value=\"{}\" autofocus>\
         <button type=\"submit\">Search</button></form>",
        chat_shared::search::MAX_SEARCH_CHARS,
        escape(q)
    )
}

/// One result: where and when, who, and the snippet with its matches marked (every piece of
/// text escaped).
fn result(found: &Found, room: &str) -> String {
    let when = iso(found.ts);
    let snippet: String = found
        .snippet
        .iter()
        .map(|(text, style)| {
            if *style == HIT {
                format!("<mark>{}</mark>", escape(text))
            } else {
                escape(text)
            }
        })
        .collect();
    format!(
        "<li><p><a href=\"/r/{room_name}?m={id}\">{room}</a> · {name} · <time datetime=\"{when}\">{when}</time></p>\
         <p>{snippet}</p></li>",
        room_name = found.room,
        id = found.id,
        room = escape(room),
        name = escape(&found.name),
    )
}
