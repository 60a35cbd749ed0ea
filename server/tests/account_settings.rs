//! `/account`: a signed-in person changes their name and password and signs browsers out;
//! each change reaches their open sockets at once.

mod common;

use common::accounts::*;
use common::TestServer;

/// Signs `admin` in again, as another browser; returns its cookie.
async fn another_browser(server: &TestServer) -> String {
    let (status, head, _) =
        post_form(server, "/signin", "name=admin&password=correct+horse", "").await;
    assert_eq!(status, 303, "{head}");
    session_pair(&head)
}

/// The settings page's sessions as (id, whether it is this browser's).
async fn sessions(server: &TestServer, cookie: &str) -> Vec<(String, bool)> {
    let (status, _, body) = get_with_cookie(server, "/account", cookie).await;
    assert_eq!(status, 200);
    body.split("<li>")
        .skip(1)
        .filter_map(|item| {
            let id = item.split("/account/sessions/").nth(1)?.split('/').next()?;
            Some((id.to_string(), item.contains("(this browser)")))
        })
        .collect()
}

#[tokio::test]
async fn ending_another_browsers_session_closes_only_its_sockets() {
    let server = accounts_server().await;
    let first = set_up(&server).await;
    let second = another_browser(&server).await;
    let mut on_first = socket(&server, &first).await;
    let mut on_second = socket(&server, &second).await;
    let listed = sessions(&server, &first).await;
    assert_eq!(listed.len(), 2, "{listed:?}");
    let other = &listed.iter().find(|(_, this)| !this).unwrap().0;
    let (status, _, _) = post_form(
        &server,
        &format!("/account/sessions/{other}/end"),
        "",
        &cookie_header(&first),
    )
    .await;
    assert_eq!(status, 303);
    assert_eq!(on_second.rx.close_code().await, Some(4001));
    assert_eq!(connect_with(&server, Some(&second)).await.err(), Some(401));
    // The first browser is untouched.
    on_first.say("still here").await;
    assert_eq!(on_first.rx.message().await.text, "still here");
}

#[tokio::test]
async fn signing_out_everywhere_closes_every_socket_of_the_account() {
    let server = accounts_server().await;
    let first = set_up(&server).await;
    let second = another_browser(&server).await;
    let mut on_first = socket(&server, &first).await;
    let mut on_second = socket(&server, &second).await;
    let (status, head, _) = post_form(
        &server,
        "/account/sessions/end-all",
        "",
        &cookie_header(&first),
    )
    .await;
    assert_eq!(status, 303);
    assert!(head.contains("location: /signin"), "{head}");
    assert_eq!(on_first.rx.close_code().await, Some(4001));
    assert_eq!(on_second.rx.close_code().await, Some(4001));
    for cookie in [&first, &second] {
        assert_eq!(connect_with(&server, Some(cookie)).await.err(), Some(401));
    }
}

#[tokio::test]
async fn a_new_name_reaches_the_accounts_open_tabs() {
    let server = accounts_server().await;
    let cookie = set_up(&server).await;
    let mut tab = socket(&server, &cookie).await;
    let (status, _, body) = post_form(
        &server,
        "/account/name",
        "name=Ada",
        &cookie_header(&cookie),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("value=\"Ada\""), "{body}");
    assert_eq!(tab.rx.close_code().await, Some(4002));
    let mut again = connect_with(&server, Some(&cookie)).await.unwrap();
    assert_eq!(again.rx.joined().await.you, "Ada", "the session lives on");
    // Names stay unique, compared as names are.
    invite(&server, "Bob").await;
    let (status, _, body) = post_form(
        &server,
        "/account/name",
        "name=BOB",
        &cookie_header(&cookie),
    )
    .await;
    assert_eq!(status, 409);
    assert!(body.contains("Another account has that name"), "{body}");
}

#[tokio::test]
async fn a_new_password_needs_the_current_one_and_signs_other_browsers_out() {
    let server = accounts_server().await;
    let first = set_up(&server).await;
    let second = another_browser(&server).await;
    let mut on_first = socket(&server, &first).await;
    let mut on_second = socket(&server, &second).await;
    let (status, _, body) = post_form(
        &server,
        "/account/password",
        "current=wrong+horse&password=new+horse+staple",
        &cookie_header(&first),
    )
    .await;
    assert_eq!(status, 401, "{body}");
    let (status, _, body) = post_form(
        &server,
        "/account/password",
        "current=correct+horse&password=short",
        &cookie_header(&first),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    let (status, _, _) = post_form(
        &server,
        "/account/password",
        "current=correct+horse&password=new+horse+staple",
        &cookie_header(&first),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(on_second.rx.close_code().await, Some(4001));
    assert_eq!(connect_with(&server, Some(&second)).await.err(), Some(401));
    on_first.say("kept").await;
    assert_eq!(on_first.rx.message().await.text, "kept");
    let (status, _, _) =
        post_form(&server, "/signin", "name=admin&password=correct+horse", "").await;
    assert_eq!(status, 401, "the old password is gone");
    let (status, _, _) = post_form(
        &server,
        "/signin",
        "name=admin&password=new+horse+staple",
        "",
    )
    .await;
    assert_eq!(status, 303);
}

#[tokio::test]
async fn the_settings_page_needs_a_session() {
    let server = accounts_server().await;
    set_up(&server).await;
    let (status, head, _) = server.get_with_head("/account").await;
    assert_eq!(status, 303);
    assert!(head.contains("/signin"), "{head}");
    let (status, _, _) = post_form(&server, "/account/name", "name=x", "").await;
    assert_eq!(
        status, 303,
        "no session: to the sign-in form, nothing changed"
    );
}

#[tokio::test]
async fn a_session_unused_for_its_time_to_live_ends_and_is_forgotten() {
    let server = accounts_server().await;
    let cookie = set_up(&server).await;
    let accounts = server.state.accounts.as_ref().unwrap();
    assert_eq!(
        accounts.forget_expired_sessions().await.unwrap(),
        0,
        "in use"
    );
    server
        .state
        .clock
        .advance(server.state.config.session_ttl + std::time::Duration::from_secs(60));
    // Unused for longer than `--session-ttl`: it signs nobody in, and its row goes.
    assert_eq!(connect_with(&server, Some(&cookie)).await.err(), Some(401));
    assert_eq!(accounts.forget_expired_sessions().await.unwrap(), 1);
}
