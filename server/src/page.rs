//! The server-rendered page: `/` (the lobby) and `/r/{room}`. The room's latest messages are in
//! the first HTML response, so the log is readable before the WebAssembly has loaded (or with
//! JavaScript off); the page then resumes from them over its socket, missing nothing.

use std::sync::Arc;

use axum::extract::{Path, Request, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use chat_frontend::{shell, InitialPage};
use leptos::prelude::provide_context;
use tracing::warn;

use crate::AppState;

/// `/`: the lobby.
pub async fn lobby(State(state): State<Arc<AppState>>, request: Request) -> Response {
    render(state, chat_shared::DEFAULT_ROOM.to_string(), request).await
}

/// `/r/{room}`: any room, created when the page's socket first joins it.
pub async fn room(
    State(state): State<Arc<AppState>>,
    Path(room): Path<String>,
    request: Request,
) -> Response {
    if let Err(err) = chat_shared::validate_room(&room) {
        return (
            StatusCode::NOT_FOUND,
            Html(format!(
                "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>No such room</title></head>\
                 <body><p>{}</p><p><a href=\"/\">Go to the lobby</a></p></body></html>",
                escape(&err.message)
            )),
        )
            .into_response();
    }
    render(state, room, request).await
}

async fn render(state: Arc<AppState>, room: String, request: Request) -> Response {
    let limit = u64::from(state.chat.settings.join_history);
    // A page without history is still a working page: the socket fills it in.
    let snapshot = match state.chat.broker.latest_page(&room, limit).await {
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
    let initial = InitialPage {
        room,
        snapshot,
        utc_offset_minutes,
    };
    let options = state.leptos.clone();
    let context = {
        let options = options.clone();
        move || {
            provide_context(initial.clone());
            provide_context(options.clone());
        }
    };
    let handler =
        leptos_axum::render_app_to_stream_with_context(context, move || shell(options.clone()));
    handler(request).await.into_response()
}

/// Minimal HTML escaping for the error page.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}
