//! The room pages of accounts mode: `/rooms` (every room the reader may see, and everyone they
//! may message), `/rooms/new` (a private room), `/dm/{id}` (a direct conversation) and
//! `/r/{room}/settings` (topic, read-only, members). Server-rendered forms, like the account and
//! administrators' pages: none of it is in the page's WebAssembly.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;

use super::accounts::Pages;
use super::forms::{document, escape, message_page, see_other};
use super::Web;
use crate::accounts::rooms::{RoomPage, MAX_TITLE_CHARS, MAX_TOPIC_CHARS};
use crate::accounts::{Live, Refused};
use crate::close::CloseReason;
use crate::store::access::RoomKind;
use crate::store::notifications::Level;

/// The room pages' routes (accounts mode only).
pub fn routes(web: &Arc<Web>) -> Router {
    // Private rooms are an accounts-mode thing: in open mode anyone reads any room.
    let Some(pages) = Pages::of(web).filter(|_| web.app.accounts_required()) else {
        return Router::new();
    };
    let routes = Router::new()
        .route("/rooms", get(directory))
        .route("/rooms/new", get(new_room_form).post(new_room))
        .route("/dm/{id}", post(direct))
        .route("/r/{room}/settings", get(settings).post(update))
        .route("/r/{room}/notifications", post(notifications))
        .route("/r/{room}/members", post(add_member))
        .route("/r/{room}/members/{id}/remove", post(remove_member));
    pages.serve(routes)
}

/// The answer for a room the reader may not see, the same as for one that does not exist.
pub fn no_such_room() -> Response {
    message_page(
        StatusCode::NOT_FOUND,
        "No such room",
        "There is no such room. <a href=\"/rooms\">See the rooms you can join</a>.",
    )
}

/// A refusal as a page, a missing room as [`no_such_room`].
fn refused_page(refused: &Refused) -> Response {
    if matches!(refused, Refused::NoSuchRoom) {
        return no_such_room();
    }
    message_page(
        refused.status(),
        "Not done",
        &format!(
            "{} <a href=\"/rooms\">Back to the rooms</a>.",
            escape(&refused.message())
        ),
    )
}

/// What a room is called: its title, else `#name`.
pub(super) fn shown_name(room: &str, title: &str) -> String {
    if title.is_empty() {
        format!("#{room}")
    } else {
        title.to_string()
    }
}

fn room_link(room: &str, title: &str) -> String {
    format!(
        "<a href=\"/r/{room}\">{}</a>",
        escape(&shown_name(room, title))
    )
}

async fn directory(State(pages): State<Pages>, headers: HeaderMap) -> Response {
    let live = match pages.live(&headers, "/rooms").await {
        Ok(live) => live,
        Err(answer) => return answer,
    };
    let found = match pages.accounts.directory(&live.account).await {
        Ok(found) => found,
        Err(refused) => return refused_page(&refused),
    };
    let list = |items: Vec<String>, empty: &str| {
        if items.is_empty() {
            format!("<p>{empty}</p>")
        } else {
            format!("<ul class=\"directory\">{}</ul>", items.concat())
        }
    };
    let open = list(
        found
            .open
            .iter()
            .map(|room| format!("<li>{}</li>", room_link(room, "")))
            .collect(),
        "No open room has messages yet.",
    );
    let private = list(
        found
            .private
            .iter()
            .map(|(room, kind, title)| {
                let what = if *kind == RoomKind::Direct {
                    " (direct)"
                } else {
                    ""
                };
                format!("<li>{}{what}</li>", room_link(room, title))
            })
            .collect(),
        "You are in no private room yet.",
    );
    let people = list(
        found
            .people
            .iter()
            .map(|person| {
                format!(
                    "<li><form method=\"post\" action=\"/dm/{id}\">{name} \
                     <button type=\"submit\" class=\"secondary\">Message\
                     <span class=\"visually-hidden\"> {name}</span></button></form></li>",
                    id = person.id,
                    name = escape(&person.name),
                )
            })
            .collect(),
        "Nobody else has an account yet.",
    );
    let body = format!(
        "<h1>Rooms</h1><p><a href=\"/\">Back to the chat</a> · \
         <a href=\"/rooms/new\">New private room</a></p>\
         <h2>Open rooms</h2>{open}<h2>Your private rooms and conversations</h2>{private}\
         <h2>People</h2>{people}"
    );
    Html(document("Rooms", &body)).into_response()
}

async fn new_room_form(State(pages): State<Pages>, headers: HeaderMap) -> Response {
    match pages.live(&headers, "/rooms/new").await {
        Ok(_) => new_room_page(StatusCode::OK, None, "", ""),
        Err(answer) => answer,
    }
}

fn new_room_page(
    status: StatusCode,
    refused: Option<&Refused>,
    title: &str,
    members: &str,
) -> Response {
    let error = refused.map_or(String::new(), |refused| {
        format!(
            "<p class=\"form-error\" role=\"alert\">{}</p>",
            escape(&refused.message())
        )
    });
    let body = format!(
        "<h1>New private room</h1>{error}\
         <p>Only its members see a private room, its messages and its name.</p>\
         <form method=\"post\" action=\"/rooms/new\" class=\"account-form\">\
         <label for=\"title\">Name</label>\
         <input id=\"title\" name=\"title\" required maxlength=\"{MAX_TITLE_CHARS}\" value=\"{title}\">\
         <label for=\"members\">Members besides you (names, separated by commas)</label>\
         <input id=\"members\" name=\"members\" value=\"{members}\">\
         <button type=\"submit\">Create the room</button></form>\
         <p><a href=\"/rooms\">Back to the rooms</a></p>",
        title = escape(title),
        members = escape(members),
    );
    (status, Html(document("New private room", &body))).into_response()
}

#[derive(Deserialize)]
struct NewRoom {
    title: String,
    #[serde(default)]
    members: String,
}

async fn new_room(
    State(pages): State<Pages>,
    headers: HeaderMap,
    Form(form): Form<NewRoom>,
) -> Response {
    let live = match pages.live(&headers, "/rooms/new").await {
        Ok(live) => live,
        Err(answer) => return answer,
    };
    let names: Vec<String> = form.members.split(',').map(str::to_string).collect();
    match pages
        .accounts
        .create_private_room(&live.account, &form.title, &names)
        .await
    {
        Ok(room) => see_other(&format!("/r/{room}")),
        Err(refused) => {
            let refused = match refused {
                Refused::NotFound => {
                    Refused::Invalid("One of the members' names is not an account here.".into())
                }
                other => other,
            };
            new_room_page(refused.status(), Some(&refused), &form.title, &form.members)
        }
    }
}

async fn direct(State(pages): State<Pages>, Path(id): Path<i64>, headers: HeaderMap) -> Response {
    let live = match pages.live(&headers, "/rooms").await {
        Ok(live) => live,
        Err(answer) => return answer,
    };
    match pages.accounts.open_direct(&live.account, id).await {
        Ok(room) => see_other(&format!("/r/{room}")),
        Err(refused) => refused_page(&refused),
    }
}

/// The signed-in reader of `room`'s settings (a name no room can have gets the missing room's
/// page). What they may see and do there, `Accounts` decides, once.
async fn reader(pages: &Pages, headers: &HeaderMap, room: &str) -> Result<Live, Response> {
    if chat_shared::validate_room(room).is_err() {
        return Err(no_such_room());
    }
    pages.live(headers, &format!("/r/{room}/settings")).await
}

/// The signed-in reader and the settings page of `room` as they see it.
async fn room_page(
    pages: &Pages,
    headers: &HeaderMap,
    room: &str,
) -> Result<(Live, RoomPage), Response> {
    let live = reader(pages, headers, room).await?;
    match pages.accounts.room_page(&live.account, room).await {
        Ok(page) => Ok((live, page)),
        Err(refused) => Err(refused_page(&refused)),
    }
}

async fn settings(
    State(pages): State<Pages>,
    Path(room): Path<String>,
    headers: HeaderMap,
) -> Response {
    match room_page(&pages, &headers, &room).await {
        Ok((live, page)) => settings_page(&room, &live, &page),
        Err(answer) => answer,
    }
}

fn settings_page(room: &str, live: &Live, page: &RoomPage) -> Response {
    let shown = shown_name(room, &page.view.title);
    let mut body = format!(
        "<h1>{title}</h1><p><a href=\"/r/{room}\">Back to the room</a></p>",
        title = escape(&shown)
    );
    if page.may_edit_topic {
        let read_only = if live.account.admin {
            format!(
                "<label class=\"check\"><input type=\"checkbox\" name=\"read_only\" value=\"on\"{}> \
                 Read-only: only administrators post</label>",
                if page.settings.read_only { " checked" } else { "" }
            )
        } else {
            String::new()
        };
        body.push_str(&format!(
            "<h2>Topic</h2><form method=\"post\" action=\"/r/{room}/settings\" class=\"account-form\">\
             <label for=\"topic\">Topic</label>\
             <input id=\"topic\" name=\"topic\" maxlength=\"{MAX_TOPIC_CHARS}\" value=\"{topic}\">\
             {read_only}<button type=\"submit\">Save</button></form>",
            topic = escape(&page.settings.topic),
        ));
    } else if !page.settings.topic.is_empty() {
        body.push_str(&format!(
            "<h2>Topic</h2><p>{}</p>",
            escape(&page.settings.topic)
        ));
    }
    body.push_str(&notifications_form(room, page));
    if page.settings.kind != RoomKind::Open {
        let members: String = page
            .members
            .iter()
            .map(|member| {
                let remove = if page.may_remove && member.id != live.account.id {
                    format!(
                        " <form method=\"post\" action=\"/r/{room}/members/{id}/remove\">\
                         <button type=\"submit\" class=\"secondary\">Remove\
                         <span class=\"visually-hidden\"> {name}</span></button></form>",
                        id = member.id,
                        name = escape(&member.name),
                    )
                } else {
                    String::new()
                };
                format!("<li>{}{remove}</li>", escape(&member.name))
            })
            .collect();
        body.push_str(&format!(
            "<h2>Members</h2><ul class=\"directory\">{members}</ul>"
        ));
        if page.may_add {
            body.push_str(&format!(
                "<form method=\"post\" action=\"/r/{room}/members\" class=\"account-form\">\
                 <label for=\"member\">Add a member by name</label>\
                 <input id=\"member\" name=\"name\" required>\
                 <button type=\"submit\">Add</button></form>"
            ));
        }
    }
    Html(document(&shown, &body)).into_response()
}

/// The reader's notification level in the room: a choice of three, or, in a direct
/// conversation, that it always notifies.
fn notifications_form(room: &str, page: &RoomPage) -> String {
    if page.settings.kind == RoomKind::Direct {
        return "<h2>Notifications</h2><p>You are notified of every message in a direct \
                conversation.</p>"
            .to_string();
    }
    let choices: String = Level::ALL
        .iter()
        .map(|&level| {
            let (name, label) = match level {
                Level::Everything => ("everything", "Every message"),
                Level::Mentions => ("mentions", "Only when I am mentioned"),
                Level::Nothing => ("nothing", "Nothing"),
            };
            format!(
                "<label class=\"check\"><input type=\"radio\" name=\"level\" value=\"{name}\"{}> \
                 {label}</label>",
                if level == page.level { " checked" } else { "" }
            )
        })
        .collect();
    format!(
        "<h2>Notifications</h2><form method=\"post\" action=\"/r/{room}/notifications\" \
         class=\"account-form\"><fieldset><legend>Notify me of</legend>{choices}</fieldset>\
         <button type=\"submit\">Save</button></form>"
    )
}

#[derive(Deserialize)]
struct LevelChoice {
    #[serde(default)]
    level: String,
}

/// A form of `room`'s settings page posted by its signed-in reader: `act` as the reader, then
/// back to the page (or the refusal's page).
async fn settings_form(
    pages: &Pages,
    headers: &HeaderMap,
    room: &str,
    act: impl AsyncFnOnce(&Live) -> Result<(), Refused>,
) -> Response {
    let live = match reader(pages, headers, room).await {
        Ok(live) => live,
        Err(answer) => return answer,
    };
    match act(&live).await {
        Ok(()) => see_other(&format!("/r/{room}/settings")),
        Err(refused) => refused_page(&refused),
    }
}

async fn notifications(
    State(pages): State<Pages>,
    Path(room): Path<String>,
    headers: HeaderMap,
    Form(form): Form<LevelChoice>,
) -> Response {
    settings_form(&pages, &headers, &room, async |live: &Live| {
        pages
            .accounts
            .set_level(&live.account, &room, &form.level)
            .await
    })
    .await
}

#[derive(Deserialize)]
struct RoomUpdate {
    #[serde(default)]
    topic: String,
    #[serde(default)]
    read_only: Option<String>,
}

async fn update(
    State(pages): State<Pages>,
    Path(room): Path<String>,
    headers: HeaderMap,
    Form(form): Form<RoomUpdate>,
) -> Response {
    let live = match reader(&pages, &headers, &room).await {
        Ok(live) => live,
        Err(answer) => return answer,
    };
    let wanted = form.read_only.is_some();
    match pages
        .accounts
        .update_room(&live.account, &room, &form.topic, wanted)
        .await
    {
        Ok(read_only) => {
            // The open room takes it at once; a closed one reads it when next opened.
            if let Some(open) = pages.web.app.chat.rooms.get(&room) {
                open.set_read_only(read_only);
            }
            see_other(&format!("/r/{room}/settings"))
        }
        Err(refused) => refused_page(&refused),
    }
}

#[derive(Deserialize)]
struct NewMember {
    name: String,
}

async fn add_member(
    State(pages): State<Pages>,
    Path(room): Path<String>,
    headers: HeaderMap,
    Form(form): Form<NewMember>,
) -> Response {
    settings_form(&pages, &headers, &room, async |live: &Live| {
        pages
            .accounts
            .add_member(&live.account, &room, &form.name)
            .await
    })
    .await
}

async fn remove_member(
    State(pages): State<Pages>,
    Path((room, id)): Path<(String, i64)>,
    headers: HeaderMap,
) -> Response {
    settings_form(&pages, &headers, &room, async |live: &Live| {
        pages
            .accounts
            .remove_member(&live.account, &room, id)
            .await?;
        // Their pages come back without the room: its join is refused now.
        pages
            .web
            .app
            .connections
            .close_signed(|s| s.account == id, CloseReason::AccountChanged);
        Ok(())
    })
    .await
}
