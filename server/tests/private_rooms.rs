//! Private rooms, direct conversations and room settings (accounts mode). A private room is
//! there for its members only: to anyone else every path to it (the socket's join, history, the
//! rendered page, its settings page, the room directory) answers exactly as for a room that was
//! never made.

mod common;

use chat_shared::{ClientFrame, ErrorCode, ServerFrame};
use common::accounts::*;
use common::Client;

/// Joins `room` and returns the error it gets (panics on anything else).
async fn refused_join(client: &mut Client, room: &str) -> (ErrorCode, String) {
    match client
        .ask(ClientFrame::Join {
            room: room.into(),
            since: None,
            epoch: None,
        })
        .await
    {
        ServerFrame::Error(err) => (err.code, err.message),
        other => panic!("expected an error, got {other:?}"),
    }
}

#[tokio::test]
async fn a_private_room_is_invisible_to_non_members_on_every_path() {
    let server = accounts_server().await;
    let admin_cookie = set_up(&server).await;
    let bob_cookie = invite(&server, "bob").await;
    let carol_cookie = invite(&server, "carol").await;
    let dave_cookie = invite(&server, "dave").await;
    let room = private_room(&server, &bob_cookie, "Plans", "carol").await;
    assert!(room.starts_with('_'), "{room}");

    let mut bob = socket(&server, &bob_cookie).await;
    let joined = bob.join(&room, None, None).await;
    assert_eq!(joined.title, "Plans");
    bob.say_in(&room, "the secret plan").await;
    assert_eq!(bob.rx.message().await.text, "the secret plan");
    let mut carol = socket(&server, &carol_cookie).await;
    let joined = carol.join(&room, None, None).await;
    assert_eq!(joined.messages.last().unwrap().text, "the secret plan");

    // A name no room has, for comparison: every answer below must be the same for both.
    let never = "_0123456789abcdef";
    for cookie in [&dave_cookie, &admin_cookie] {
        let mut outsider = socket(&server, cookie).await;
        let (code, message) = refused_join(&mut outsider, &room).await;
        assert_eq!(code, ErrorCode::NotFound);
        assert_eq!((code, message), refused_join(&mut outsider, never).await);
        // Not joined, so no history either.
        let answer = outsider
            .ask(ClientFrame::History {
                around: None,
                room: room.clone(),
                before: None,
                limit: None,
            })
            .await;
        let ServerFrame::Error(err) = answer else {
            panic!("history of a private room: {answer:?}");
        };
        assert_eq!(err.code, ErrorCode::NotJoined);

        for path in ["", "/settings"] {
            let (status, _, html) =
                get_with_cookie(&server, &format!("/r/{room}{path}"), cookie).await;
            let (never_status, _, never_html) =
                get_with_cookie(&server, &format!("/r/{never}{path}"), cookie).await;
            assert_eq!(status, 404, "{path}");
            assert_eq!((status, html.clone()), (never_status, never_html));
            assert!(
                !html.contains("secret") && !html.contains("Plans"),
                "{html}"
            );
        }
        let (_, _, directory) = get_with_cookie(&server, "/rooms", cookie).await;
        assert!(!directory.contains(&room) && !directory.contains("Plans"));
    }
    // Nor can a private name be made by joining it.
    let mut dave = socket(&server, &dave_cookie).await;
    assert_eq!(
        refused_join(&mut dave, "_mine").await.0,
        ErrorCode::NotFound
    );

    // Members see it in the directory and on its page.
    let (_, _, directory) = get_with_cookie(&server, "/rooms", &carol_cookie).await;
    assert!(directory.contains(&format!("/r/{room}")) && directory.contains("Plans"));
    let (status, _, html) = get_with_cookie(&server, &format!("/r/{room}"), &carol_cookie).await;
    assert_eq!(status, 200);
    assert!(html.contains("the secret plan") && html.contains("Plans"));
}

#[tokio::test]
async fn a_direct_conversation_is_two_people_and_never_more() {
    let server = accounts_server().await;
    let _admin = set_up(&server).await;
    let bob_cookie = invite(&server, "bob").await;
    let carol_cookie = invite(&server, "carol").await;
    let dave_cookie = invite(&server, "dave").await;
    let carol_id = id_of(&server, "carol").await;
    let (status, head, _) = post_form(
        &server,
        &format!("/dm/{carol_id}"),
        "",
        &cookie_header(&bob_cookie),
    )
    .await;
    assert_eq!(status, 303, "{head}");
    let room = room_of(&head);
    // Opening it again (from either side) is the same conversation.
    let bob_id = id_of(&server, "bob").await;
    let (_, head, _) = post_form(
        &server,
        &format!("/dm/{bob_id}"),
        "",
        &cookie_header(&carol_cookie),
    )
    .await;
    assert_eq!(room_of(&head), room);

    // Each sees the other's name as its title.
    let mut bob = socket(&server, &bob_cookie).await;
    assert_eq!(bob.join(&room, None, None).await.title, "carol");
    let mut carol = socket(&server, &carol_cookie).await;
    assert_eq!(carol.join(&room, None, None).await.title, "bob");
    let mut dave = socket(&server, &dave_cookie).await;
    assert_eq!(refused_join(&mut dave, &room).await.0, ErrorCode::NotFound);

    // Nobody can be added, not even by its members.
    let (status, _, _) = post_form(
        &server,
        &format!("/r/{room}/members"),
        "name=dave",
        &cookie_header(&bob_cookie),
    )
    .await;
    assert_eq!(status, 403);
    assert_eq!(refused_join(&mut dave, &room).await.0, ErrorCode::NotFound);
    // Nor can one message oneself.
    let (status, _, _) = post_form(
        &server,
        &format!("/dm/{bob_id}"),
        "",
        &cookie_header(&bob_cookie),
    )
    .await;
    assert_eq!(status, 403);
}

#[tokio::test]
async fn a_member_added_gets_in_and_a_member_removed_is_shut_out_at_once() {
    let server = accounts_server().await;
    let admin_cookie = set_up(&server).await;
    let bob_cookie = invite(&server, "bob").await;
    let carol_cookie = invite(&server, "carol").await;
    let room = private_room(&server, &bob_cookie, "Team", "").await;
    let mut carol = socket(&server, &carol_cookie).await;
    assert_eq!(refused_join(&mut carol, &room).await.0, ErrorCode::NotFound);

    // Any member adds by name.
    let (status, head, _) = post_form(
        &server,
        &format!("/r/{room}/members"),
        "name=carol",
        &cookie_header(&bob_cookie),
    )
    .await;
    assert_eq!(status, 303, "{head}");
    assert_eq!(carol.join(&room, None, None).await.title, "Team");
    // A member who did not make the room removes nobody.
    let bob_id = id_of(&server, "bob").await;
    let (status, _, _) = post_form(
        &server,
        &format!("/r/{room}/members/{bob_id}/remove"),
        "",
        &cookie_header(&carol_cookie),
    )
    .await;
    assert_eq!(status, 403);

    // Its creator does: carol's sockets close, and coming back the room is not there.
    let carol_id = id_of(&server, "carol").await;
    let (status, head, _) = post_form(
        &server,
        &format!("/r/{room}/members/{carol_id}/remove"),
        "",
        &cookie_header(&bob_cookie),
    )
    .await;
    assert_eq!(status, 303, "{head}");
    assert_eq!(carol.rx.close_code().await, Some(4002));
    let mut carol = socket(&server, &carol_cookie).await;
    assert_eq!(refused_join(&mut carol, &room).await.0, ErrorCode::NotFound);
    // Recorded for the administrators.
    let (_, _, admin_page) = get_with_cookie(&server, "/admin", &admin_cookie).await;
    assert!(admin_page.contains("remove_member"), "{admin_page}");
}

#[tokio::test]
async fn a_read_only_room_takes_posts_from_administrators_only() {
    let server = accounts_server().await;
    let admin_cookie = set_up(&server).await;
    let bob_cookie = invite(&server, "bob").await;
    let mut bob = socket(&server, &bob_cookie).await;
    bob.join("news", None, None).await;
    let mut admin = socket(&server, &admin_cookie).await;
    admin.join("news", None, None).await;

    // A member who did not make the room changes nothing about it.
    let (status, _, _) = post_form(
        &server,
        "/r/news/settings",
        "topic=mine&read_only=on",
        &cookie_header(&bob_cookie),
    )
    .await;
    assert_eq!(status, 403);

    let (status, head, _) = post_form(
        &server,
        "/r/news/settings",
        "topic=Announcements+only&read_only=on",
        &cookie_header(&admin_cookie),
    )
    .await;
    assert_eq!(status, 303, "{head}");
    // At once in the open room: bob's post is refused, the administrator's goes out.
    bob.say_in("news", "can I post?").await;
    let err = bob.rx.error().await;
    assert_eq!(err.code, ErrorCode::NotAllowed);
    admin.say_in("news", "release on Monday").await;
    assert_eq!(bob.rx.message().await.text, "release on Monday");
    // The topic is in the room's joined and page; the change in the moderation log.
    assert_eq!(
        bob.join("news", None, None).await.topic,
        "Announcements only"
    );
    let (_, _, html) = get_with_cookie(&server, "/r/news", &bob_cookie).await;
    assert!(html.contains("Announcements only"));
    let (_, _, admin_page) = get_with_cookie(&server, "/admin", &admin_cookie).await;
    assert!(admin_page.contains("make_read_only"));

    // And writable again.
    post_form(
        &server,
        "/r/news/settings",
        "topic=",
        &cookie_header(&admin_cookie),
    )
    .await;
    bob.say_in("news", "thanks").await;
    assert_eq!(bob.rx.message().await.text, "thanks");
}
