//! Notification levels: each account chooses per room on the room's settings page how much it
//! wants to hear (everything, mentions by default, nothing); a direct conversation always
//! notifies; a room the account may not see has no such page.

mod common;

use common::accounts::*;
use common::TestServer;

/// What a join of `room` by `cookie` tells its page of the level: (every message notifies,
/// nothing does).
async fn joined_flags(server: &TestServer, cookie: &str, room: &str) -> (bool, bool) {
    let mut client = connect_with(server, Some(cookie)).await.unwrap();
    let lobby = client.rx.joined().await;
    let joined = if room == "lobby" {
        lobby
    } else {
        client.join(room, None, None).await
    };
    (joined.notify_every, joined.muted)
}

/// The level checked on `room`'s settings page as `cookie` sees it.
async fn checked(server: &TestServer, cookie: &str, room: &str) -> Option<String> {
    let (status, _, body) = get_with_cookie(server, &format!("/r/{room}/settings"), cookie).await;
    assert_eq!(status, 200, "{body}");
    ["everything", "mentions", "nothing"]
        .into_iter()
        .find(|level| body.contains(&format!("value=\"{level}\" checked")))
        .map(String::from)
}

async fn choose(server: &TestServer, cookie: &str, room: &str, level: &str) -> u16 {
    let (status, _, _) = post_form(
        server,
        &format!("/r/{room}/notifications"),
        &format!("level={level}"),
        &cookie_header(cookie),
    )
    .await;
    status
}

#[tokio::test]
async fn each_account_chooses_its_level_per_room_and_keeps_it() {
    let server = accounts_server().await;
    let admin = set_up(&server).await;
    let ada = invite(&server, "ada").await;
    assert_eq!(
        checked(&server, &ada, "lobby").await.as_deref(),
        Some("mentions")
    );
    assert_eq!(choose(&server, &ada, "lobby", "everything").await, 303);
    assert_eq!(
        checked(&server, &ada, "lobby").await.as_deref(),
        Some("everything")
    );
    assert_eq!(
        checked(&server, &admin, "lobby").await.as_deref(),
        Some("mentions"),
        "each account its own"
    );
    assert_eq!(
        choose(&server, &ada, "lobby", "loud").await,
        400,
        "no such level"
    );
    assert_eq!(
        checked(&server, &ada, "lobby").await.as_deref(),
        Some("everything")
    );
    let server = server.restart().await;
    assert_eq!(
        checked(&server, &ada, "lobby").await.as_deref(),
        Some("everything")
    );
    assert_eq!(joined_flags(&server, &ada, "lobby").await, (true, false));
    assert_eq!(choose(&server, &ada, "lobby", "nothing").await, 303);
    assert_eq!(
        checked(&server, &ada, "lobby").await.as_deref(),
        Some("nothing")
    );
    // The page hears of the level when it joins: it notifies of nothing now, the other
    // account of mentions.
    assert_eq!(joined_flags(&server, &ada, "lobby").await, (false, true));
    assert_eq!(joined_flags(&server, &admin, "lobby").await, (false, false));
}

#[tokio::test]
async fn a_direct_conversation_always_notifies_and_a_hidden_room_has_no_level() {
    let server = accounts_server().await;
    let _admin = set_up(&server).await;
    let bob = invite(&server, "bob").await;
    invite(&server, "carol").await;
    let carol_id = id_of(&server, "carol").await;
    let (status, head, _) = post_form(
        &server,
        &format!("/dm/{carol_id}"),
        "",
        &cookie_header(&bob),
    )
    .await;
    assert_eq!(status, 303, "{head}");
    let room = head
        .lines()
        .find_map(|line| {
            line.to_ascii_lowercase()
                .strip_prefix("location: /r/")
                .map(str::to_string)
        })
        .expect("the conversation")
        .trim()
        .to_string();
    let (_, _, body) = get_with_cookie(&server, &format!("/r/{room}/settings"), &bob).await;
    assert!(body.contains("notified of every message"), "{body}");
    assert_eq!(
        checked(&server, &bob, &room).await,
        None,
        "no choice offered"
    );
    assert_eq!(choose(&server, &bob, &room, "nothing").await, 403);
    assert_eq!(
        joined_flags(&server, &bob, &room).await,
        (true, false),
        "always"
    );

    let dave = invite(&server, "dave").await;
    assert_eq!(
        choose(&server, &dave, &room, "nothing").await,
        404,
        "not his to see"
    );
}
