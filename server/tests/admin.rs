//! `/admin`: the administrators' page. Bans close an account's sockets at once and keep it
//! out; every action is in the moderation log; nobody else may do any of it.

mod common;

use common::accounts::*;
use common::TestServer;

/// Sets the server up (administrator `admin`) and invites `bob`; returns both cookies.
async fn admin_and_bob(server: &TestServer) -> (String, String) {
    let admin = set_up(server).await;
    (admin, invite(server, "bob").await)
}

#[tokio::test]
async fn a_ban_closes_the_accounts_sockets_at_once_and_keeps_it_out_until_unbanned() {
    let server = accounts_server().await;
    let (admin, bob) = admin_and_bob(&server).await;
    let mut bobs_tab = connect_with(&server, Some(&bob)).await.unwrap();
    bobs_tab.rx.joined().await;
    let id = id_of(&server, "bob").await;
    let banned_at = std::time::Instant::now();
    let (status, _, _) = post_form(
        &server,
        &format!("/admin/people/{id}/ban"),
        "",
        &cookie_header(&admin),
    )
    .await;
    assert_eq!(status, 303);
    assert_eq!(bobs_tab.rx.close_code().await, Some(4001));
    assert!(
        banned_at.elapsed() < std::time::Duration::from_secs(1),
        "{:?}",
        banned_at.elapsed()
    );
    // Out: the old cookie opens nothing, and signing in gets the same words as a wrong password.
    assert_eq!(connect_with(&server, Some(&bob)).await.err(), Some(401));
    let (status, _, body) =
        post_form(&server, "/signin", "name=bob&password=battery+staple", "").await;
    assert_eq!(status, 401);
    assert!(body.contains("do not match an account"), "{body}");
    // Unbanned: bob signs in again.
    let (status, _, _) = post_form(
        &server,
        &format!("/admin/people/{id}/unban"),
        "",
        &cookie_header(&admin),
    )
    .await;
    assert_eq!(status, 303);
    let (status, _, _) =
        post_form(&server, "/signin", "name=bob&password=battery+staple", "").await;
    assert_eq!(status, 303);
    // Both actions are in the log, with who did them.
    let (_, _, body) = get_with_cookie(&server, "/admin", &admin).await;
    let log = body.split("Moderation log").nth(1).unwrap();
    assert!(
        log.contains("<td>admin</td><td>unban</td><td>bob</td>"),
        "{log}"
    );
    assert!(
        log.contains("<td>admin</td><td>ban</td><td>bob</td>"),
        "{log}"
    );
    assert!(log.find(">unban<") < log.find(">ban<"), "newest first");
}

#[tokio::test]
async fn only_administrators_may_see_or_use_the_page() {
    let server = accounts_server().await;
    let (admin, bob) = admin_and_bob(&server).await;
    let (status, head, _) = server.get_with_head("/admin").await;
    assert_eq!(status, 303, "{head}");
    assert_eq!(get_with_cookie(&server, "/admin", &bob).await.0, 403);
    let admin_id = id_of(&server, "admin").await;
    let (status, _, _) = post_form(
        &server,
        &format!("/admin/people/{admin_id}/ban"),
        "",
        &cookie_header(&bob),
    )
    .await;
    assert_eq!(status, 403, "a member cannot ban");
    let (status, _, _) =
        post_form(&server, "/admin/invitation/reset", "", &cookie_header(&bob)).await;
    assert_eq!(status, 403);
    // An administrator cannot ban themselves, nor take their own rights: one always remains.
    for action in ["ban", "remove-admin"] {
        let (status, _, _) = post_form(
            &server,
            &format!("/admin/people/{admin_id}/{action}"),
            "",
            &cookie_header(&admin),
        )
        .await;
        assert_eq!(status, 403, "{action}");
    }
    // Made an administrator, bob gets the page, and his open tab comes back with his new rights.
    let mut bobs_tab = connect_with(&server, Some(&bob)).await.unwrap();
    bobs_tab.rx.joined().await;
    let bob_id = id_of(&server, "bob").await;
    let (status, _, _) = post_form(
        &server,
        &format!("/admin/people/{bob_id}/make-admin"),
        "",
        &cookie_header(&admin),
    )
    .await;
    assert_eq!(status, 303);
    assert_eq!(bobs_tab.rx.close_code().await, Some(4002));
    assert_eq!(get_with_cookie(&server, "/admin", &bob).await.0, 200);
}

#[tokio::test]
async fn the_page_shows_the_invitation_link_and_resets_it() {
    let server = accounts_server().await;
    let (admin, _) = admin_and_bob(&server).await;
    let code = server
        .state
        .accounts
        .as_ref()
        .unwrap()
        .invitation()
        .await
        .unwrap();
    let (_, _, body) = get_with_cookie(&server, "/admin", &admin).await;
    assert!(body.contains(&format!("/join/{code}\"")), "{body}");
    let (status, _, _) = post_form(
        &server,
        "/admin/invitation/reset",
        "",
        &cookie_header(&admin),
    )
    .await;
    assert_eq!(status, 303);
    let (_, _, body) = get_with_cookie(&server, "/admin", &admin).await;
    assert!(!body.contains(&code), "a new link");
    assert_eq!(server.get(&format!("/join/{code}")).await.0, 404);
    assert!(
        body.contains("<td>admin</td><td>reset_invitation</td>"),
        "{body}"
    );
}

#[tokio::test]
async fn a_ban_can_delete_everything_the_account_said_in_every_room_live() {
    let server = accounts_server().await;
    let (admin, bob) = admin_and_bob(&server).await;
    let mut bobs_tab = connect_with(&server, Some(&bob)).await.unwrap();
    bobs_tab.rx.joined().await;
    bobs_tab.join("rust", None, None).await;
    let mut watcher = connect_with(&server, Some(&admin)).await.unwrap();
    watcher.rx.joined().await;
    watcher.join("rust", None, None).await;
    bobs_tab.say("spam one").await;
    bobs_tab.say_in("rust", "spam two").await;
    bobs_tab.say("spam three").await;
    watcher.say("the administrator stays").await;
    let said = watcher.rx.messages(4).await;
    let id = id_of(&server, "bob").await;
    let (status, _, _) = post_form(
        &server,
        &format!("/admin/people/{id}/ban-and-delete"),
        "",
        &cookie_header(&admin),
    )
    .await;
    assert_eq!(status, 303);
    assert_eq!(bobs_tab.rx.close_code().await, Some(4001));
    // Each of bob's messages, in both rooms, is deleted through its room: members see it go.
    let mut deleted = Vec::new();
    while deleted.len() < 3 {
        let event = watcher.rx.change().await;
        assert_eq!(event.action, chat_shared::Action::Delete);
        deleted.push((event.room.clone(), event.target));
    }
    deleted.sort();
    let mut expected: Vec<(String, u64)> = said
        .iter()
        .filter(|m| m.text.starts_with("spam"))
        .map(|m| (m.room.clone(), m.id))
        .collect();
    expected.sort();
    assert_eq!(deleted, expected);
    // Gone from the page the server renders; the administrator's message is not.
    let (_, _, html) = get_with_cookie(&server, "/", &admin).await;
    assert!(!html.contains("spam"), "{html}");
    assert!(html.contains("the administrator stays"));
}
