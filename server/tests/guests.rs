//! Moderating guests in open mode: administrators sign in as in accounts mode and ban a name or
//! an address range for a while. The banned connections close at once, the name or addresses
//! are refused until the ban ends or is lifted, the bans survive a restart, and every ban and
//! lift is in the moderation log.

mod common;

use std::time::Duration;

use chat_shared::{ClientFrame, ErrorCode, ServerFrame};
use common::accounts::*;
use common::{Client, TestServer};

/// A guest socket that took `name`.
async fn guest(server: &TestServer, name: &str) -> Client {
    let mut client = server.connect().await;
    client.hello(name, None).await;
    client
}

/// Bans as the administrator with `cookie`; the answer's status.
async fn ban(server: &TestServer, cookie: &str, kind: &str, value: &str) -> u16 {
    let body = format!("kind={kind}&value={}&hours=1", value.replace('/', "%2F"));
    post_form(server, "/admin/guests/ban", &body, &cookie_header(cookie))
        .await
        .0
}

/// The WebSocket handshake's status for a new guest (101 if it opens).
async fn handshake(server: &TestServer) -> u16 {
    match connect_with(server, None).await {
        Ok(_) => 101,
        Err(status) => status,
    }
}

#[tokio::test]
async fn a_banned_name_is_closed_now_and_refused_until_the_ban_ends() {
    let server = TestServer::start().await;
    let admin = set_up(&server).await;
    let mut troll = server.connect().await;
    let token = troll.hello("Troll", None).await;
    let mut polite = guest(&server, "polite").await;
    assert_eq!(ban(&server, &admin, "name", "troll").await, 303);
    assert_eq!(troll.rx.close_code().await, Some(1008));
    // Anyone else stays.
    polite.say("still here").await;
    assert_eq!(polite.rx.message().await.text, "still here");
    // The name is refused, in any case; the guest may chat under another.
    let mut back = server.connect().await;
    let answer = back
        .ask(ClientFrame::Hello {
            name: "TROLL".into(),
            token: None,
        })
        .await;
    assert!(
        matches!(&answer, ServerFrame::Error(e) if e.code == ErrorCode::NotAllowed),
        "{answer:?}"
    );
    back.hello("reformed", None).await;
    // Until the ban ends: then its holder takes it back.
    server.state.clock.advance(Duration::from_secs(3601));
    let mut later = server.connect().await;
    later.hello("Troll", Some(&token)).await;
    // In the moderation log.
    let (_, _, page) = get_with_cookie(&server, "/admin", &admin).await;
    assert!(
        page.contains("ban_guests") && page.contains("name troll"),
        "{page}"
    );
}

#[tokio::test]
async fn a_banned_range_is_closed_now_refused_at_the_handshake_and_lifted() {
    let server = TestServer::start().await;
    let admin = set_up(&server).await;
    let mut someone = guest(&server, "someone").await;
    // A range that is not the clients' changes nothing.
    assert_eq!(ban(&server, &admin, "address", "203.0.113.0/24").await, 303);
    assert_eq!(handshake(&server).await, 101);
    // Every test client comes from 127.0.0.1.
    assert_eq!(ban(&server, &admin, "address", "127.0.0.0/8").await, 303);
    assert_eq!(someone.rx.close_code().await, Some(1008));
    assert_eq!(handshake(&server).await, 403);
    // A bad range is refused with a reason.
    let (status, _, body) = post_form(
        &server,
        "/admin/guests/ban",
        "kind=address&value=not-an-address&hours=1",
        &cookie_header(&admin),
    )
    .await;
    assert_eq!(status, 400);
    assert!(body.contains("203.0.113.0/24"), "{body}");

    // It survives a restart.
    let server = server.restart().await;
    assert_eq!(handshake(&server).await, 403);
    // Lifted from the administrators' page.
    let (_, _, page) = get_with_cookie(&server, "/admin", &admin).await;
    // The newest ban is listed first: 127.0.0.0/8.
    assert!(page.contains("127.0.0.0/8"), "{page}");
    let lift = page
        .split("action=\"")
        .filter_map(|rest| rest.split('"').next())
        .find(|action| action.ends_with("/lift"))
        .expect("a lift button")
        .to_string();
    assert_eq!(
        post_form(&server, &lift, "", &cookie_header(&admin))
            .await
            .0,
        303
    );
    assert_eq!(handshake(&server).await, 101);
    let (_, _, page) = get_with_cookie(&server, "/admin", &admin).await;
    assert!(page.contains("lift_guest_ban"), "{page}");
}

#[tokio::test]
async fn only_administrators_ban_guests_and_guests_need_no_account() {
    let server = TestServer::start().await;
    let _admin = set_up(&server).await;
    let member = invite(&server, "bob").await;
    assert_eq!(ban(&server, &member, "address", "127.0.0.0/8").await, 403);
    assert_eq!(ban(&server, "", "address", "127.0.0.0/8").await, 303);
    // (Without a session: sent to sign in, nothing banned.)
    assert_eq!(handshake(&server).await, 101);
    // Open mode's pages and sockets stay open to guests.
    let (status, _) = server.get("/r/anything").await;
    assert_eq!(status, 200);
}
