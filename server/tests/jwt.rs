//! `jwt` mode: an application signs a token for each of its users, and the chat takes its
//! word. A socket and a page need a valid token (signature, algorithm, `exp`); `rooms` limits
//! where it goes; an expired connection is told, may refresh within the grace period, and is
//! closed with 4003 if it does not.

mod common;

use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use chat_server::config::Access;
use chat_shared::{ClientFrame, ErrorCode, ServerFrame};
use common::accounts::get_with_cookie;
use common::{Client, TestServer};
use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use serde_json::json;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;

const SECRET: &[u8] = b"a test secret of at least thirty-two bytes";

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// A token signed with the test secret.
fn token(claims: serde_json::Value) -> String {
    encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(SECRET),
    )
    .unwrap()
}

/// A server in `jwt` mode trusting [`SECRET`], with `grace`; the folder with the secret file
/// must live as long as the test.
async fn jwt_server(grace: Duration) -> (TestServer, tempfile::TempDir) {
    let keys = tempfile::tempdir().unwrap();
    let path = keys.path().join("secret");
    std::fs::write(&path, [SECRET, b"\n"].concat()).unwrap();
    let server = TestServer::start_with(|config| {
        config.access = Access::Jwt;
        config.jwt_secret_file = Some(path);
        config.jwt_grace = grace;
    })
    .await;
    (server, keys)
}

/// A socket presenting `token` as a bearer token (`query` added to the URL); the handshake's
/// HTTP status if refused.
async fn connect(server: &TestServer, token: &str, query: &str) -> Result<Client, u16> {
    let mut request = format!("{}{query}", server.ws_url())
        .into_client_request()
        .unwrap();
    if !token.is_empty() {
        request.headers_mut().insert(
            "authorization",
            HeaderValue::from_str(&format!("Bearer {token}")).unwrap(),
        );
    }
    match tokio_tungstenite::connect_async(request).await {
        Ok((ws, _)) => Ok(Client::new(ws)),
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            Err(response.status().as_u16())
        }
        Err(other) => panic!("connect: {other}"),
    }
}

#[tokio::test]
async fn a_valid_token_opens_a_socket_under_its_name_and_nothing_else_does() {
    let (server, _keys) = jwt_server(Duration::from_secs(30)).await;
    let ann = token(json!({"sub": "user-1", "name": "Ann", "exp": now() + 3600}));
    let mut client = connect(&server, &ann, "").await.unwrap();
    assert_eq!(client.rx.joined().await.you, "Ann");
    client.say("hello").await;
    let said = client.rx.message().await;
    assert_eq!(said.name, "Ann");
    let account = said.account.expect("a token's account is on its messages");
    // The name is the token's: hello cannot change it.
    let answer = client
        .ask(ClientFrame::Hello {
            name: "Mallory".into(),
            token: None,
        })
        .await;
    assert!(matches!(answer, ServerFrame::Error(e) if e.code == ErrorCode::NotAllowed));
    // The same sub is the same account, under its new name, also through `?token=`.
    let renamed = token(json!({"sub": "user-1", "name": "Ann B", "exp": now() + 3600}));
    let mut again = connect(&server, "", &format!("?token={renamed}"))
        .await
        .unwrap();
    assert_eq!(again.rx.joined().await.you, "Ann B");
    again.say("still me").await;
    assert_eq!(again.rx.message().await.account, Some(account));

    // Refused: no token, an expired one, one signed with another secret, one claiming `none`,
    // one without `sub`.
    let forged = encode(
        &Header::new(Algorithm::HS256),
        &json!({"sub": "user-1", "exp": now() + 3600}),
        &EncodingKey::from_secret(b"another secret, also thirty-two bytes long"),
    )
    .unwrap();
    let payload = ann.split('.').nth(1).unwrap();
    // {"alg":"none","typ":"JWT"}
    let unsigned = format!("eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.{payload}.");
    for refused in [
        String::new(),
        token(json!({"sub": "user-1", "exp": now() - 10})),
        forged,
        unsigned,
        token(json!({"name": "Nobody", "exp": now() + 3600})),
    ] {
        assert_eq!(
            connect(&server, &refused, "").await.err(),
            Some(401),
            "{refused}"
        );
    }
}

#[tokio::test]
async fn a_rooms_claim_limits_the_socket_and_the_pages() {
    let (server, _keys) = jwt_server(Duration::from_secs(30)).await;
    let ops = token(json!({"sub": "u2", "name": "Ops", "exp": now() + 3600, "rooms": ["ops"]}));
    let mut client = connect(&server, &ops, "?room=ops").await.unwrap();
    assert_eq!(client.rx.joined().await.room, "ops");
    let answer = client
        .ask(ClientFrame::Join {
            room: "lobby".into(),
            since: None,
            epoch: None,
        })
        .await;
    assert!(
        matches!(&answer, ServerFrame::Error(e) if e.code == ErrorCode::NotAllowed),
        "{answer:?}"
    );

    // Search reads only the rooms the token allows.
    let open = token(json!({"sub": "u3", "name": "Any", "exp": now() + 3600}));
    let mut anyone = connect(&server, &open, "?room=lobby").await.unwrap();
    anyone.rx.joined().await;
    anyone.say_in("lobby", "release notes in the lobby").await;
    anyone.rx.message().await;
    client.say_in("ops", "release notes in ops").await;
    client.rx.message().await;
    let search = |q: &str| ClientFrame::Search {
        q: q.into(),
        before: None,
    };
    for (who, want) in [(&mut client, 1), (&mut anyone, 2)] {
        match who.ask(search("release")).await {
            ServerFrame::Results { results, .. } => assert_eq!(results.len(), want),
            other => panic!("expected results, got {other:?}"),
        }
    }

    // A page: the token in the address is moved into an HttpOnly cookie, out of the address.
    let (status, head, _) = server.get_with_head(&format!("/r/ops?token={ops}")).await;
    assert_eq!(status, 303, "{head}");
    let cookie_line = head
        .lines()
        .find(|line| {
            line.to_ascii_lowercase()
                .starts_with("set-cookie: chat_jwt=")
        })
        .unwrap_or_else(|| panic!("no cookie in\n{head}"));
    assert!(cookie_line.contains("HttpOnly") && cookie_line.contains("SameSite=Lax"));
    assert!(
        head.to_ascii_lowercase().contains("location: /r/ops\r"),
        "{head}"
    );
    let cookie = format!("chat_jwt={ops}");
    let (status, _, _) = get_with_cookie(&server, "/r/ops", &cookie).await;
    assert_eq!(status, 200);
    // A room the token does not allow is as missing as a room that does not exist.
    let (status, _, _) = get_with_cookie(&server, "/r/lobby", &cookie).await;
    assert_eq!(status, 404);
    // No token, no page.
    let (status, _) = server.get("/r/ops").await;
    assert_eq!(status, 401);
}

/// The next error or close of `client`: `Ok(code)` for an error frame, `Err(close code)`.
async fn next_error_or_close(client: &mut Client) -> Result<ErrorCode, Option<u16>> {
    loop {
        match client.rx.next_event(Duration::from_secs(10)).await {
            Some(common::Event::Frame(ServerFrame::Error(err))) => return Ok(err.code),
            Some(common::Event::Closed(frame)) => return Err(frame.map(|f| u16::from(f.code))),
            Some(_) => continue,
            None => panic!("nothing happened"),
        }
    }
}

#[tokio::test]
async fn an_expired_connection_is_told_and_closed_with_4003_unless_it_refreshes() {
    let (server, _keys) = jwt_server(Duration::from_secs(1)).await;
    // Expires within two seconds: told, then closed a second later.
    let short = token(json!({"sub": "u3", "exp": now() + 2}));
    let mut client = connect(&server, &short, "").await.unwrap();
    assert_eq!(
        next_error_or_close(&mut client).await,
        Ok(ErrorCode::TokenExpired)
    );
    assert_eq!(next_error_or_close(&mut client).await, Err(Some(4003)));

    // Told, it refreshes: the connection lives on to the new token's expiry (told again then,
    // not closed).
    let short = token(json!({"sub": "u4", "exp": now() + 2}));
    let mut client = connect(&server, &short, "").await.unwrap();
    assert_eq!(
        next_error_or_close(&mut client).await,
        Ok(ErrorCode::TokenExpired)
    );
    let fresh = token(json!({"sub": "u4", "exp": now() + 3}));
    client.tx.send(&ClientFrame::Refresh { token: fresh }).await;
    assert_eq!(
        next_error_or_close(&mut client).await,
        Ok(ErrorCode::TokenExpired)
    );

    // A token for someone else, or a forged one, does not refresh.
    let other = token(json!({"sub": "someone-else", "exp": now() + 3600}));
    client.tx.send(&ClientFrame::Refresh { token: other }).await;
    assert_eq!(
        next_error_or_close(&mut client).await,
        Ok(ErrorCode::InvalidToken)
    );
    assert_eq!(next_error_or_close(&mut client).await, Err(Some(4003)));
}

/// A server trusting the public key of the key pair `name` in `tests/fixtures` (made for these
/// tests with openssl; the private halves sign nothing else), and that pair's private key.
async fn server_with_key_pair(name: &str) -> (TestServer, PathBuf, Vec<u8>) {
    let fixtures = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let public = fixtures.join(format!("jwt-{name}-public.pem"));
    let private = std::fs::read(fixtures.join(format!("jwt-{name}-private.pem"))).unwrap();
    let server = TestServer::start_with(|config| {
        config.access = Access::Jwt;
        config.jwt_public_key_file = Some(public.clone());
    })
    .await;
    (server, public, private)
}

#[tokio::test]
async fn an_rsa_public_key_checks_rs256_tokens() {
    let (server, _, private) = server_with_key_pair("rsa").await;
    let claims = json!({"sub": "u6", "name": "Rosa", "exp": now() + 3600});
    let key = EncodingKey::from_rsa_pem(&private).unwrap();
    let signed = encode(&Header::new(Algorithm::RS256), &claims, &key).unwrap();
    let mut client = connect(&server, &signed, "").await.unwrap();
    assert_eq!(client.rx.joined().await.you, "Rosa");
    // Signed by the same key under another algorithm of its family: refused all the same.
    let other = encode(&Header::new(Algorithm::RS512), &claims, &key).unwrap();
    assert_eq!(connect(&server, &other, "").await.err(), Some(401));
}

#[tokio::test]
async fn an_ed25519_public_key_checks_eddsa_tokens_and_nothing_signed_otherwise() {
    let (server, public, private) = server_with_key_pair("ed25519").await;
    let claims = json!({"sub": "u5", "name": "Eddie", "exp": now() + 3600});
    let signed = encode(
        &Header::new(Algorithm::EdDSA),
        &claims,
        &EncodingKey::from_ed_pem(&private).unwrap(),
    )
    .unwrap();
    let mut client = connect(&server, &signed, "").await.unwrap();
    assert_eq!(client.rx.joined().await.you, "Eddie");
    // The public key used as an HMAC secret (the classic algorithm confusion) is refused.
    let confused = encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(&std::fs::read(&public).unwrap()),
    )
    .unwrap();
    assert_eq!(connect(&server, &confused, "").await.err(), Some(401));
}

#[tokio::test]
async fn a_read_position_reaches_every_connection_of_the_tokens_account() {
    let (server, _keys) = jwt_server(Duration::from_secs(30)).await;
    let ann = token(json!({"sub": "user-1", "name": "Ann", "exp": now() + 3600}));
    let bob = token(json!({"sub": "user-2", "name": "Bob", "exp": now() + 3600}));
    let mut first = connect(&server, &ann, "").await.unwrap();
    first.rx.joined().await;
    let mut second = connect(&server, &ann, "").await.unwrap();
    second.rx.joined().await;
    let mut other = connect(&server, &bob, "").await.unwrap();
    other.rx.joined().await;
    other.say("hello").await;
    for client in [&mut first, &mut second, &mut other] {
        client.rx.message().await;
    }
    first
        .tx
        .send(&ClientFrame::Read {
            room: "lobby".into(),
            id: 1,
        })
        .await;
    for client in [&mut first, &mut second] {
        assert_eq!(
            client.rx.frame().await,
            ServerFrame::Read {
                room: "lobby".into(),
                id: 1
            }
        );
    }
    other.say("marker").await;
    other.rx.nothing_before("marker").await;
}
