//! `/admin`: the administrators' page. The invitation link (and resetting it), the people
//! with their ban, unban and administrator buttons, and the moderation log every one of those
//! actions is written to. Server-rendered forms: none of it is in the page's WebAssembly.
//! Anyone else signed in gets 403; a visitor is sent to sign in.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::header::HOST;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Router};

use super::accounts::Pages;
use super::forms::{document, escape, message_page, see_other};
use super::Web;
use crate::accounts::guests::GuestTarget;
use crate::accounts::{Live, Moderation, Refused};
use crate::close::CloseReason;
use crate::session::purge::delete_messages_of;
use crate::store::accounts::Account;
use serde::Deserialize;
use std::time::Duration;
use tracing::{info, warn};

/// The administrators' routes (accounts mode only).
pub fn routes(web: &Arc<Web>) -> Router {
    let Some(pages) = Pages::of(web) else {
        return Router::new();
    };
    let routes = Router::new()
        .route("/admin", get(show))
        .route("/admin/invitation/reset", post(reset_invitation))
        .route("/admin/people/{id}/{action}", post(moderate))
        .route("/admin/guests/ban", post(ban_guests))
        .route("/admin/guests/bans/{id}/lift", post(lift_guest_ban));
    pages.serve(routes)
}

/// The signed-in administrator, or the answer for anyone else.
async fn administrator(admin: &Pages, headers: &HeaderMap) -> Result<Live, Response> {
    let live = admin.live(headers, "/admin").await?;
    if !live.account.admin {
        return Err(message_page(
            StatusCode::FORBIDDEN,
            "For administrators only",
            "This page is for the chat's administrators. <a href=\"/\">Back to the chat</a>.",
        ));
    }
    Ok(live)
}

async fn show(State(admin): State<Pages>, headers: HeaderMap) -> Response {
    match administrator(&admin, &headers).await {
        Ok(live) => page(&admin, &live, &headers, StatusCode::OK, None).await,
        Err(answer) => answer,
    }
}

async fn reset_invitation(State(admin): State<Pages>, headers: HeaderMap) -> Response {
    let live = match administrator(&admin, &headers).await {
        Ok(live) => live,
        Err(answer) => return answer,
    };
    match admin.accounts.reset_invitation_by(&live.account).await {
        Ok(_) => see_other("/admin"),
        Err(refused) => page(&admin, &live, &headers, refused.status(), Some(&refused)).await,
    }
}

async fn moderate(
    State(admin): State<Pages>,
    Path((id, action)): Path<(i64, String)>,
    headers: HeaderMap,
) -> Response {
    let live = match administrator(&admin, &headers).await {
        Ok(live) => live,
        Err(answer) => return answer,
    };
    let purge = action == "ban-and-delete";
    let action = match action.as_str() {
        "ban" | "ban-and-delete" => Moderation::Ban,
        "unban" => Moderation::Unban,
        "make-admin" => Moderation::MakeAdmin,
        "remove-admin" => Moderation::RemoveAdmin,
        _ => return message_page(StatusCode::NOT_FOUND, "No such action", ""),
    };
    match admin.accounts.moderate(&live.account, id, action).await {
        Ok(_) => {
            // A ban's sessions are gone already, its sockets go now; a change of rights
            // makes the account's sockets come back with the rights it has now.
            let reason = match action {
                Moderation::Ban => Some(CloseReason::SignedOut),
                Moderation::MakeAdmin | Moderation::RemoveAdmin => {
                    Some(CloseReason::AccountChanged)
                }
                Moderation::Unban => None,
            };
            if let Some(reason) = reason {
                admin
                    .web
                    .app
                    .connections
                    .close_signed(|s| s.account == id, reason);
            }
            if purge {
                // Each deletion goes through its room's stream (live for members, kept for
                // resumes); many take a while, so the page does not wait for them.
                let chat = admin.web.app.chat.clone();
                let actor = live.account.clone();
                tokio::spawn(async move {
                    match delete_messages_of(&chat, id, actor.id, &actor.name).await {
                        Ok(count) => {
                            info!(account = id, count, "deleted a banned account's messages")
                        }
                        Err(err) => {
                            warn!(account = id, error = %err, "could not delete a banned account's messages")
                        }
                    }
                });
            }
            see_other("/admin")
        }
        Err(refused) => page(&admin, &live, &headers, refused.status(), Some(&refused)).await,
    }
}

#[derive(Deserialize)]
struct GuestBanForm {
    kind: String,
    value: String,
    hours: u64,
}

async fn ban_guests(
    State(admin): State<Pages>,
    headers: HeaderMap,
    Form(form): Form<GuestBanForm>,
) -> Response {
    let live = match administrator(&admin, &headers).await {
        Ok(live) => live,
        Err(answer) => return answer,
    };
    let banned = match GuestTarget::parse(&form.kind, &form.value) {
        Ok(target) => {
            let length = Duration::from_secs(form.hours.saturating_mul(3600));
            admin
                .accounts
                .ban_guests(&live.account, &target, length)
                .await
        }
        Err(refused) => Err(refused),
    };
    match banned {
        Ok(()) => {
            admin.web.app.apply_guest_bans().await;
            see_other("/admin")
        }
        Err(refused) => page(&admin, &live, &headers, refused.status(), Some(&refused)).await,
    }
}

async fn lift_guest_ban(
    State(admin): State<Pages>,
    Path(id): Path<i64>,
    headers: HeaderMap,
) -> Response {
    let live = match administrator(&admin, &headers).await {
        Ok(live) => live,
        Err(answer) => return answer,
    };
    match admin.accounts.lift_guest_ban(&live.account, id).await {
        Ok(()) => {
            admin.web.app.apply_guest_bans().await;
            see_other("/admin")
        }
        Err(refused) => page(&admin, &live, &headers, refused.status(), Some(&refused)).await,
    }
}

/// Open mode: the bans of guests in force, and the form that makes one.
async fn guests_section(admin: &Pages) -> String {
    if admin.web.app.accounts_required() {
        return String::new();
    }
    let bans = admin.accounts.guest_bans().await.unwrap_or_default();
    let rows: String = bans
        .iter()
        .map(|ban| {
            format!(
                "<tr><td>{kind}</td><td>{value}</td><td><time datetime=\"{until}\">{until}</time></td>\
                 <td>{actor}</td><td><form method=\"post\" action=\"/admin/guests/bans/{id}/lift\">\
                 <button type=\"submit\" class=\"secondary\">Lift<span class=\"visually-hidden\"> \
                 the ban of {value}</span></button></form></td></tr>",
                kind = escape(&ban.kind),
                value = escape(&ban.value),
                until = super::settings::iso(ban.until_ms),
                actor = escape(&ban.actor),
                id = ban.id,
            )
        })
        .collect();
    format!(
        "<h2>Guests</h2>\
         <p>Anyone may chat here as a guest. Ban a name, or an address or range (like 203.0.113.7 \
         or 203.0.113.0/24), for a while: their connections close now, and the name or the \
         addresses are refused until the ban ends.</p>\
         <form method=\"post\" action=\"/admin/guests/ban\" class=\"account-form\">\
         <label for=\"ban-kind\">Ban</label>\
         <select id=\"ban-kind\" name=\"kind\"><option value=\"name\">a name</option>\
         <option value=\"address\">an address or range</option></select>\
         <label for=\"ban-value\">Name or address</label>\
         <input id=\"ban-value\" name=\"value\" required>\
         <label for=\"ban-hours\">For</label>\
         <select id=\"ban-hours\" name=\"hours\"><option value=\"1\">an hour</option>\
         <option value=\"24\">a day</option><option value=\"168\">a week</option>\
         <option value=\"720\">30 days</option></select>\
         <button type=\"submit\">Ban</button></form>\
         <table class=\"log-table\"><thead><tr><th scope=\"col\">What</th><th scope=\"col\">Banned</th>\
         <th scope=\"col\">Until (UTC)</th><th scope=\"col\">By</th><th scope=\"col\">Lift</th></tr></thead>\
         <tbody>{rows}</tbody></table>"
    )
}

async fn page(
    admin: &Pages,
    live: &Live,
    headers: &HeaderMap,
    status: StatusCode,
    refused: Option<&Refused>,
) -> Response {
    let accounts = &admin.accounts;
    let code = accounts.invitation().await.unwrap_or_default();
    let people = accounts.people().await.unwrap_or_default();
    let log = accounts.moderation_log().await.unwrap_or_default();
    let guests = guests_section(admin).await;
    let error = refused.map_or(String::new(), |refused| {
        format!(
            "<p class=\"form-error\" role=\"alert\">{}</p>",
            escape(&refused.message())
        )
    });
    let link = format!("{}/join/{code}", base_url(admin, headers));
    let people: String = people
        .iter()
        .map(|person| person_row(person, live))
        .collect();
    let log: String = log
        .iter()
        .map(|entry| {
            format!(
                "<tr><td><time datetime=\"{at}\">{at}</time></td><td>{actor}</td><td>{action}</td><td>{target}</td></tr>",
                at = super::settings::iso(entry.at_ms),
                actor = escape(&entry.actor),
                action = escape(&entry.action),
                target = escape(&entry.target),
            )
        })
        .collect();
    let body = format!(
        "<h1>Administration</h1>{error}<p><a href=\"/\">Back to the chat</a></p>\
         <h2>Invitation link</h2>\
         <p>Whoever opens this link can make an account. Resetting it makes the old link stop working.</p>\
         <label for=\"invitation\">Link</label>\
         <input id=\"invitation\" readonly value=\"{link}\">\
         <form method=\"post\" action=\"/admin/invitation/reset\">\
         <button type=\"submit\" class=\"secondary\">Reset the link</button></form>\
         {guests}<h2>People</h2>\
         <table class=\"people\"><thead><tr><th scope=\"col\">Name</th><th scope=\"col\">Status</th>\
         <th scope=\"col\">Actions</th></tr></thead><tbody>{people}</tbody></table>\
         <h2>Moderation log</h2>\
         <table class=\"log-table\"><thead><tr><th scope=\"col\">When (UTC)</th><th scope=\"col\">Who</th>\
         <th scope=\"col\">What</th><th scope=\"col\">To</th></tr></thead><tbody>{log}</tbody></table>",
        link = escape(&link),
    );
    (status, Html(document("Administration", &body))).into_response()
}

/// One person's row: their status and the buttons that change it.
fn person_row(person: &Account, live: &Live) -> String {
    let name = escape(&person.name);
    let status = match (person.banned, person.admin) {
        (true, _) => "banned",
        (false, true) => "administrator",
        (false, false) => "member",
    };
    let button = |action: &str, label: &str| {
        format!(
            "<form method=\"post\" action=\"/admin/people/{id}/{action}\">\
             <button type=\"submit\" class=\"secondary\">{label}<span class=\"visually-hidden\"> {name}</span></button></form>",
            id = person.id,
        )
    };
    let mut actions = String::new();
    if person.id != live.account.id {
        if person.banned {
            actions.push_str(&button("unban", "Unban"));
        } else {
            actions.push_str(&button("ban", "Ban"));
            actions.push_str(&button("ban-and-delete", "Ban and delete their messages"));
        }
        actions.push_str(&if person.admin {
            button("remove-admin", "Remove administrator")
        } else {
            button("make-admin", "Make administrator")
        });
    }
    format!("<tr><td>{name}</td><td>{status}</td><td>{actions}</td></tr>")
}

/// Where people reach this server: `--public-url`, else the address this request used.
fn base_url(admin: &Pages, headers: &HeaderMap) -> String {
    if let Some(url) = &admin.web.app.config.public_url {
        return url.trim_end_matches('/').to_string();
    }
    let host = headers
        .get(HOST)
        .and_then(|value| value.to_str().ok())
        .unwrap_or("localhost");
    format!("http://{host}")
}
