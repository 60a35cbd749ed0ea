//! Accounts mode against the real server: the set-up link, invitations, signing in, the
//! session cookie, and that nothing is reachable without a session.

mod common;

use chat_server::config::Access;
use chat_shared::ServerFrame;
use common::accounts::*;
use common::TestServer;

#[tokio::test]
async fn the_setup_link_makes_one_administrator_and_then_works_no_more() {
    let server = accounts_server().await;
    // Before set-up, pages say so and nothing else is reachable.
    let (status, body) = server.get("/").await;
    assert_eq!(status, 503);
    assert!(body.contains("not set up yet"), "{body}");
    let token = setup_token(&server).await;
    let replaced = setup_token(&server).await;
    assert_eq!(
        server.get(&format!("/setup/{token}")).await.0,
        404,
        "only the newest link works"
    );
    assert_eq!(server.get(&format!("/setup/{replaced}")).await.0, 200);
    let (status, head, _) = post_form(
        &server,
        &format!("/setup/{replaced}"),
        "name=Ann&password=correct+horse",
        "",
    )
    .await;
    assert_eq!(status, 303, "{head}");
    let cookie = set_cookie(&head).unwrap();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    assert!(
        !cookie.contains("Secure"),
        "served over plain HTTP here: {cookie}"
    );
    // Used up: a second account cannot be made with it, and the form is gone.
    let (status, _, _) = post_form(
        &server,
        &format!("/setup/{replaced}"),
        "name=Bob&password=correct+horse",
        "",
    )
    .await;
    assert_eq!(status, 404);
    assert_eq!(server.get(&format!("/setup/{replaced}")).await.0, 404);
    let accounts = server.state.accounts.as_ref().unwrap();
    assert_eq!(accounts.new_setup_token().await.unwrap(), None);
}

#[tokio::test]
async fn the_cookie_is_secure_when_the_site_is_served_over_https() {
    let server = TestServer::start_with(|config| {
        config.access = Access::Accounts;
        config.public_url = Some("https://chat.example.com".into());
    })
    .await;
    let token = setup_token(&server).await;
    let (_, head, _) = post_form(
        &server,
        &format!("/setup/{token}"),
        "name=Ann&password=correct+horse",
        "",
    )
    .await;
    assert!(set_cookie(&head).unwrap().contains("; Secure"), "{head}");
}

#[tokio::test]
async fn a_forwarded_https_counts_only_from_a_trusted_proxy() {
    // A proxy is configured, but this client is not it: its header proves nothing.
    let server = TestServer::start_with(|config| {
        config.access = Access::Accounts;
        config.trusted_proxies = vec!["10.0.0.0/8".parse().unwrap()];
    })
    .await;
    set_up(&server).await;
    let (_, head, _) = post_form(
        &server,
        "/signin",
        "name=admin&password=correct+horse",
        "X-Forwarded-Proto: https\r\n",
    )
    .await;
    assert!(!set_cookie(&head).unwrap().contains("Secure"), "{head}");
    // Through a trusted proxy (here: loopback), it does.
    let proxied = TestServer::start_with(|config| {
        config.access = Access::Accounts;
        config.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()];
    })
    .await;
    set_up(&proxied).await;
    let (_, head, _) = post_form(
        &proxied,
        "/signin",
        "name=admin&password=correct+horse",
        "X-Forwarded-Proto: https\r\nX-Forwarded-For: 192.0.2.7\r\n",
    )
    .await;
    assert!(set_cookie(&head).unwrap().contains("; Secure"), "{head}");
}

#[tokio::test]
async fn a_wrong_password_and_an_unknown_name_get_the_same_answer() {
    let server = accounts_server().await;
    set_up(&server).await;
    // A name that exists with a wrong password, and one that does not: the same status and
    // page, but for the typed name echoed in the form.
    let (wrong_status, _, wrong) =
        post_form(&server, "/signin", "name=admin&password=wrong+horse", "").await;
    let (unknown_status, _, unknown) =
        post_form(&server, "/signin", "name=nobody&password=wrong+horse", "").await;
    assert_eq!((wrong_status, unknown_status), (401, 401));
    assert!(wrong.contains("value=\"admin\""), "{wrong}");
    assert_eq!(
        wrong.replace("value=\"admin\"", "value=\"nobody\""),
        unknown
    );
    let (status, head, _) =
        post_form(&server, "/signin", "name=ADMIN&password=correct+horse", "").await;
    assert_eq!(status, 303, "names are compared by key");
    assert!(set_cookie(&head).is_some());
}

#[tokio::test]
async fn a_form_from_another_site_is_refused() {
    let server = accounts_server().await;
    let token = setup_token(&server).await;
    let body = "name=evil&password=correct+horse";
    for header in ["Sec-Fetch-Site: cross-site", "Origin: http://evil.example"] {
        let request = format!(
            "POST /setup/{token} HTTP/1.1\r\nHost: {}\r\n{header}\r\n\
             Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\
             Connection: close\r\n\r\n{body}",
            server.addr,
            body.len()
        );
        assert_eq!(server.exchange_with_head(&request).await.0, 403, "{header}");
    }
    // The link still works for its owner.
    assert_eq!(server.get(&format!("/setup/{token}")).await.0, 200);
    // Every account form is covered, the signed-in ones too.
    let cookie = set_up(&server).await;
    for path in ["/account/name", "/admin/invitation/reset", "/signout"] {
        let request = format!(
            "POST {path} HTTP/1.1\r\nHost: {}\r\nSec-Fetch-Site: cross-site\r\n\
             Cookie: {cookie}\r\nContent-Type: application/x-www-form-urlencoded\r\n\
             Content-Length: 6\r\nConnection: close\r\n\r\nname=x",
            server.addr
        );
        assert_eq!(server.exchange_with_head(&request).await.0, 403, "{path}");
    }
    let (_, _, body) = get_with_cookie(&server, "/account", &cookie).await;
    assert!(body.contains("value=\"admin\""), "the name is unchanged");
}

#[tokio::test]
async fn without_a_session_no_page_or_socket_is_reachable() {
    let server = accounts_server().await;
    let cookie = set_up(&server).await;
    let (status, head, _) = server.get_with_head("/r/rust").await;
    assert_eq!(status, 303);
    assert!(head.contains("/signin?next=/r/rust"), "{head}");
    assert_eq!(connect_with(&server, None).await.err(), Some(401));
    assert_eq!(
        connect_with(
            &server,
            Some("chat_session=00000000000000000000000000000000")
        )
        .await
        .err(),
        Some(401)
    );
    // With the session: the page, and a socket under the account's name.
    let (status, _, body) = get_with_cookie(&server, "/r/rust", &cookie).await;
    assert_eq!(status, 200);
    assert!(body.contains("role=\"log\""), "the chat page");
    let mut client = connect_with(&server, Some(&cookie)).await.unwrap();
    let joined = client.rx.joined().await;
    assert_eq!(joined.you, "admin");
    // The name is the account's: `hello` cannot take another.
    let answer = client
        .ask(chat_shared::ClientFrame::Hello {
            name: "mallory".into(),
            token: None,
        })
        .await;
    assert!(
        matches!(&answer, ServerFrame::Error(e) if e.code == chat_shared::ErrorCode::NotAllowed),
        "{answer:?}"
    );
    // Signing out ends the session: its cookie opens nothing any more.
    let (status, head, _) =
        post_form(&server, "/signout", "", &format!("Cookie: {cookie}\r\n")).await;
    assert_eq!(status, 303);
    assert!(set_cookie(&head).unwrap().contains("Max-Age=0"), "{head}");
    assert_eq!(connect_with(&server, Some(&cookie)).await.err(), Some(401));
}

#[tokio::test]
async fn resetting_the_invitation_invalidates_the_old_link() {
    let server = accounts_server().await;
    set_up(&server).await;
    let accounts = server.state.accounts.as_ref().unwrap();
    let code = accounts.invitation().await.unwrap();
    assert_eq!(
        accounts.invitation().await.unwrap(),
        code,
        "kept until reset"
    );
    assert_eq!(server.get(&format!("/join/{code}")).await.0, 200);
    let (status, head, _) = post_form(
        &server,
        &format!("/join/{code}"),
        "name=Bob&password=battery+staple",
        "",
    )
    .await;
    assert_eq!(status, 303, "{head}");
    let bob = session_pair(&head);
    let mut client = connect_with(&server, Some(&bob)).await.unwrap();
    assert_eq!(client.rx.joined().await.you, "Bob");
    // A name already taken, in any case, is refused with the form again.
    let (status, _, body) = post_form(
        &server,
        &format!("/join/{code}"),
        "name=BOB&password=battery+staple",
        "",
    )
    .await;
    assert_eq!(status, 409);
    assert!(body.contains("Another account has that name"), "{body}");
    let fresh = accounts.reset_invitation().await.unwrap();
    assert_ne!(fresh, code);
    assert_eq!(server.get(&format!("/join/{code}")).await.0, 404);
    let (status, _, _) = post_form(
        &server,
        &format!("/join/{code}"),
        "name=Carol&password=battery+staple",
        "",
    )
    .await;
    assert_eq!(status, 404, "the old link makes no account");
    assert_eq!(server.get(&format!("/join/{fresh}")).await.0, 200);
}

#[tokio::test]
async fn open_mode_keeps_accounts_for_its_administrators_only() {
    let server = TestServer::start_with(|config| config.access = Access::Open).await;
    // Administrators sign in (to moderate guests, tests/guests.rs), once set up...
    assert_eq!(server.get("/signin").await.0, 503);
    set_up(&server).await;
    assert_eq!(server.get("/signin").await.0, 200);
    // ...but guests need nothing: pages and sockets are open, and there are no private rooms.
    assert_eq!(server.get("/r/anything").await.0, 200);
    assert!(connect_with(&server, None).await.is_ok());
    assert_eq!(server.get("/rooms").await.0, 404);
}

#[tokio::test]
async fn sign_ins_are_limited_per_address_and_wrong_passwords_make_an_account_wait() {
    let server = TestServer::start_with(|config| {
        config.access = Access::Accounts;
        config.sign_ins_per_ip_per_min = 8;
    })
    .await;
    set_up(&server).await;
    // Wrong passwords for one account: the first five cost nothing, the sixth makes it wait,
    // and then even the right password is refused until the wait is over.
    for attempt in 1..=6 {
        let (status, _, _) =
            post_form(&server, "/signin", "name=admin&password=wrong+horse", "").await;
        assert_eq!(status, 401, "attempt {attempt}");
    }
    let (status, _, body) =
        post_form(&server, "/signin", "name=admin&password=correct+horse", "").await;
    assert_eq!(status, 429);
    assert!(body.contains("try again in"), "{body}");
    // The address's own limit: 8 a minute, right or wrong; then 429 with Retry-After.
    let (status, _, _) = post_form(&server, "/signin", "name=other&password=x", "").await;
    assert_eq!(status, 401, "the 8th attempt");
    let (status, head, _) = post_form(&server, "/signin", "name=other&password=x", "").await;
    assert_eq!(status, 429, "{head}");
    assert!(head.to_ascii_lowercase().contains("retry-after"), "{head}");
}

#[tokio::test]
async fn a_personal_link_from_the_command_line_makes_its_account_once() {
    let server = accounts_server().await;
    set_up(&server).await;
    // `chat-server user add Dora` beside the running server, on its database.
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_chat-server"))
        .arg("--data-dir")
        .arg(server.data.path())
        .args(["user", "add", "Dora"])
        .env("RUST_LOG", "warn")
        .output()
        .await
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let printed = String::from_utf8(output.stdout).unwrap();
    let token = printed
        .split("/join/")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("no link in {printed}"))
        .to_string();
    let (status, body) = server.get(&format!("/join/{token}")).await;
    assert_eq!(status, 200);
    assert!(body.contains("value=\"Dora\""), "{body}");
    // The name is the invitation's, whatever is typed; the link works once.
    let (status, head, _) = post_form(
        &server,
        &format!("/join/{token}"),
        "name=Mallory&password=battery+staple",
        "",
    )
    .await;
    assert_eq!(status, 303, "{head}");
    let mut dora = connect_with(&server, Some(&session_pair(&head)))
        .await
        .unwrap();
    assert_eq!(dora.rx.joined().await.you, "Dora");
    let (status, _, _) = post_form(
        &server,
        &format!("/join/{token}"),
        "name=Eve&password=battery+staple",
        "",
    )
    .await;
    assert_eq!(status, 404);
    // A name already taken gets no link.
    let taken = server
        .state
        .accounts
        .as_ref()
        .unwrap()
        .personal_invitation("DORA")
        .await;
    assert!(taken.is_err());
}
