//! `/account`: a signed-in person's own settings: the name others see, the password, and the
//! browsers signed in to the account, each of which can be signed out ("sign out everywhere"
//! for all). Ending a session closes its sockets at once; a new name reaches the account's
//! open tabs by closing them with "account changed", so they come back under it.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;

use super::accounts::Pages;
use super::forms::{document, escape, see_other};
use super::Web;
use crate::accounts::{Live, Refused};
use crate::close::CloseReason;

/// The settings routes (accounts mode only).
pub fn routes(web: &Arc<Web>) -> Router {
    let Some(pages) = Pages::of(web) else {
        return Router::new();
    };
    let routes = Router::new()
        .route("/account", get(show))
        .route("/account/name", post(rename))
        .route("/account/password", post(change_password))
        .route("/account/sessions/{id}/end", post(end_session))
        .route("/account/sessions/end-all", post(end_all));
    pages.serve(routes)
}

#[derive(Debug, Deserialize)]
struct NewName {
    name: String,
}

#[derive(Debug, Deserialize)]
struct NewPassword {
    current: String,
    password: String,
}

async fn show(State(settings): State<Pages>, headers: HeaderMap) -> Response {
    match settings.live(&headers, "/account").await {
        Ok(live) => page(&settings, &live, StatusCode::OK, None).await,
        Err(answer) => answer,
    }
}

async fn rename(
    State(settings): State<Pages>,
    headers: HeaderMap,
    Form(form): Form<NewName>,
) -> Response {
    let mut live = match settings.live(&headers, "/account").await {
        Ok(live) => live,
        Err(answer) => return answer,
    };
    match settings.accounts.rename(live.account.id, &form.name).await {
        Ok(name) => {
            let account = live.account.id;
            settings
                .web
                .app
                .connections
                .close_signed(|s| s.account == account, CloseReason::AccountChanged);
            live.account.name = name;
            page(
                &settings,
                &live,
                StatusCode::OK,
                Some(Notice::Done("Your name was changed.")),
            )
            .await
        }
        Err(refused) => refused_page(&settings, &live, &refused).await,
    }
}

async fn change_password(
    State(settings): State<Pages>,
    headers: HeaderMap,
    Form(form): Form<NewPassword>,
) -> Response {
    let live = match settings.live(&headers, "/account").await {
        Ok(live) => live,
        Err(answer) => return answer,
    };
    match settings
        .accounts
        .change_password(&live, &form.current, &form.password)
        .await
    {
        Ok(()) => {
            let (account, kept) = (live.account.id, live.session);
            settings.web.app.connections.close_signed(
                |s| s.account == account && s.session != kept,
                CloseReason::SignedOut,
            );
            let done =
                Notice::Done("Your password was changed; every other browser was signed out.");
            page(&settings, &live, StatusCode::OK, Some(done)).await
        }
        Err(refused) => refused_page(&settings, &live, &refused).await,
    }
}

async fn end_session(
    State(settings): State<Pages>,
    Path(id): Path<i64>,
    headers: HeaderMap,
) -> Response {
    let live = match settings.live(&headers, "/account").await {
        Ok(live) => live,
        Err(answer) => return answer,
    };
    let account = live.account.id;
    match settings.accounts.end_session(account, id).await {
        Ok(_) => {
            settings.web.app.connections.close_signed(
                |s| s.account == account && s.session == id,
                CloseReason::SignedOut,
            );
            // Ending this browser's own session signs it out.
            see_other(if id == live.session {
                "/signin"
            } else {
                "/account"
            })
        }
        Err(refused) => refused_page(&settings, &live, &refused).await,
    }
}

async fn end_all(State(settings): State<Pages>, headers: HeaderMap) -> Response {
    let live = match settings.live(&headers, "/account").await {
        Ok(live) => live,
        Err(answer) => return answer,
    };
    let account = live.account.id;
    match settings.accounts.sign_out_everywhere(account).await {
        Ok(_) => {
            settings
                .web
                .app
                .connections
                .close_signed(|s| s.account == account, CloseReason::SignedOut);
            see_other("/signin")
        }
        Err(refused) => refused_page(&settings, &live, &refused).await,
    }
}

/// What the page says above its forms after a change.
enum Notice<'a> {
    Done(&'a str),
    Refused(&'a Refused),
}

/// The page again, saying why a change was refused.
async fn refused_page(settings: &Pages, live: &Live, refused: &Refused) -> Response {
    page(
        settings,
        live,
        refused.status(),
        Some(Notice::Refused(refused)),
    )
    .await
}

async fn page(
    settings: &Pages,
    live: &Live,
    status: StatusCode,
    notice: Option<Notice<'_>>,
) -> Response {
    let sessions = settings
        .accounts
        .sessions_of(live.account.id)
        .await
        .unwrap_or_default();
    let notice = match notice {
        None => String::new(),
        Some(Notice::Done(text)) => format!(
            "<p class=\"form-done\" role=\"status\">{}</p>",
            escape(text)
        ),
        Some(Notice::Refused(refused)) => format!(
            "<p class=\"form-error\" role=\"alert\">{}</p>",
            escape(&refused.message())
        ),
    };
    let rows: String = sessions
        .iter()
        .map(|s| {
            let this = if s.id == live.session { " (this browser)" } else { "" };
            let agent = if s.agent.is_empty() { "A browser" } else { s.agent.as_str() };
            format!(
                "<li><span>{agent}{this}, signed in <time datetime=\"{created}\">{created}</time>, \
                 last used <time datetime=\"{used}\">{used}</time></span>\
                 <form method=\"post\" action=\"/account/sessions/{id}/end\">\
                 <button type=\"submit\" class=\"secondary\">Sign out<span class=\"visually-hidden\"> {agent}{this}</span></button></form></li>",
                agent = escape(agent),
                created = iso(s.created_ms),
                used = iso(s.used_ms),
                id = s.id,
            )
        })
        .collect();
    let push = match &settings.web.app.push {
        Some(push) => super::push::section(push, live.account.id).await,
        None => String::new(),
    };
    let body = format!(
        "<h1>Your account</h1>{notice}\
         <p><a href=\"/\">Back to the chat</a></p>\
         <h2>Name</h2>\
         <form method=\"post\" action=\"/account/name\" class=\"account-form\">\
         <label for=\"name\">The name others see</label>\
         <input id=\"name\" name=\"name\" autocomplete=\"username\" required maxlength=\"{max_name}\" value=\"{name}\">\
         <button type=\"submit\">Change name</button></form>\
         <h2>Password</h2>\
         <form method=\"post\" action=\"/account/password\" class=\"account-form\">\
         <label for=\"current\">Current password</label>\
         <input id=\"current\" name=\"current\" type=\"password\" autocomplete=\"current-password\" required>\
         <label for=\"password\">New password (at least {min} characters)</label>\
         <input id=\"password\" name=\"password\" type=\"password\" autocomplete=\"new-password\" required minlength=\"{min}\">\
         <button type=\"submit\">Change password</button></form>\
         {push}<h2>Signed-in browsers</h2><ul class=\"sessions\">{rows}</ul>\
         <form method=\"post\" action=\"/account/sessions/end-all\">\
         <button type=\"submit\">Sign out everywhere</button></form>",
        max_name = chat_shared::MAX_NAME_CHARS,
        name = escape(&live.account.name),
        min = crate::accounts::password::MIN_PASSWORD_CHARS,
    );
    (status, Html(document("Your account", &body))).into_response()
}

/// A time as ISO 8601 in UTC (whole seconds), readable as it is and by a `<time>` element.
pub(super) fn iso(ms: u64) -> String {
    let (y, m, d) = chat_shared::utc_date(ms);
    let rest = ms / 1000 % 86_400;
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_written_in_utc() {
        assert_eq!(iso(0), "1970-01-01T00:00:00Z");
        assert_eq!(iso(1_733_400_000_000), "2024-12-05T12:00:00Z");
        assert_eq!(iso(951_782_400_000), "2000-02-29T00:00:00Z");
    }
}
