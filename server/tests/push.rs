//! Web Push end to end: browsers subscribe over HTTP, and a push service this test serves on
//! loopback receives the pushes, which it decrypts (RFC 8291) and whose VAPID signature it
//! checks. Who gets pushed (no page open on the room, levels, private rooms, direct
//! conversations), retries, 410 removal, failing subscriptions forgotten, endpoints refused
//! outside the public internet, and the bound on subscriptions per account.

mod common;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::Router;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use common::accounts::*;
use common::TestServer;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use p256::elliptic_curve::sec1::ToEncodedPoint;
use parking_lot::Mutex;
use serde_json::Value;
use tokio::sync::mpsc;

const PATIENCE: Duration = Duration::from_secs(10);

/// What the test's push service received: the browser it was for, and the push as decrypted.
#[derive(Debug)]
struct Received {
    browser: String,
    push: Value,
    authorization: String,
}

/// A push service on loopback: `POST /push/<browser>` answers as the browser's script says
/// (`ok`: 201; `gone`: 410; `flaky`: 500 once, then 201; `broken`: 500), and every push it takes
/// is decrypted with that browser's keys and handed to the test.
struct PushService {
    url: String,
    received: mpsc::UnboundedReceiver<Received>,
    browsers: Arc<Mutex<HashMap<String, Browser>>>,
    tries: Arc<Mutex<HashMap<String, u32>>>,
}

/// A browser's push keys, as `PushManager.subscribe` makes them.
#[derive(Clone)]
struct Browser {
    secret: p256::SecretKey,
    auth: [u8; 16],
}

impl Browser {
    fn new() -> Self {
        let mut bytes = [0u8; 32];
        let secret = loop {
            getrandom::fill(&mut bytes).unwrap();
            if let Ok(secret) = p256::SecretKey::from_slice(&bytes) {
                break secret;
            }
        };
        let mut auth = [0u8; 16];
        getrandom::fill(&mut auth).unwrap();
        Browser { secret, auth }
    }

    fn p256dh(&self) -> String {
        let point = self.secret.public_key().as_affine().to_encoded_point(false);
        URL_SAFE_NO_PAD.encode(point.as_bytes())
    }
}

#[derive(Clone)]
struct Service {
    sink: mpsc::UnboundedSender<Received>,
    browsers: Arc<Mutex<HashMap<String, Browser>>>,
    tries: Arc<Mutex<HashMap<String, u32>>>,
}

async fn take(
    State(service): State<Service>,
    Path(browser): Path<String>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> StatusCode {
    let tries = {
        let mut tries = service.tries.lock();
        let n = tries.entry(browser.clone()).or_default();
        *n += 1;
        *n
    };
    let status = match browser.split('-').next().unwrap_or_default() {
        "gone" => return StatusCode::GONE,
        "broken" => return StatusCode::INTERNAL_SERVER_ERROR,
        "flaky" if tries == 1 => return StatusCode::INTERNAL_SERVER_ERROR,
        _ => StatusCode::CREATED,
    };
    let keys = service
        .browsers
        .lock()
        .get(&browser)
        .cloned()
        .expect("a known browser");
    assert_eq!(headers["content-encoding"], "aes128gcm");
    let auth = web_push_native::Auth::clone_from_slice(&keys.auth);
    let plain = web_push_native::decrypt(body.to_vec(), &keys.secret, &auth).expect("decrypts");
    let _ = service.sink.send(Received {
        browser,
        push: serde_json::from_slice(&plain).expect("JSON"),
        authorization: headers["authorization"].to_str().unwrap().to_string(),
    });
    status
}

impl PushService {
    async fn start() -> Self {
        let (sink, received) = mpsc::unbounded_channel();
        let browsers = Arc::new(Mutex::new(HashMap::new()));
        let tries = Arc::new(Mutex::new(HashMap::new()));
        let app = Router::new()
            .route("/push/{browser}", post(take))
            .with_state(Service {
                sink,
                browsers: browsers.clone(),
                tries: tries.clone(),
            });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        PushService {
            url,
            received,
            browsers,
            tries,
        }
    }

    /// A new browser called `name` (its first word says how the service answers it); its
    /// endpoint and keys.
    fn browser(&self, name: &str) -> (String, Browser) {
        let browser = Browser::new();
        self.browsers.lock().insert(name.into(), browser.clone());
        (format!("{}/push/{name}", self.url), browser)
    }

    async fn next(&mut self) -> Received {
        tokio::time::timeout(PATIENCE, self.received.recv())
            .await
            .expect("a push in time")
            .expect("the service runs")
    }

    fn tries(&self, browser: &str) -> u32 {
        self.tries.lock().get(browser).copied().unwrap_or(0)
    }
}

/// Posts JSON the way the account page's script does (same site, with the session).
async fn post_json(server: &TestServer, path: &str, body: &Value, cookie: &str) -> (u16, String) {
    let body = body.to_string();
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: {}\r\nSec-Fetch-Site: same-origin\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n{}Connection: close\r\n\r\n{body}",
        server.addr,
        body.len(),
        if cookie.is_empty() {
            String::new()
        } else {
            cookie_header(cookie)
        },
    );
    let (status, _, body) = server.exchange_with_head(&request).await;
    (status, body)
}

async fn subscribe(
    server: &TestServer,
    cookie: &str,
    endpoint: &str,
    browser: &Browser,
    previews: bool,
) -> (u16, String) {
    let body = serde_json::json!({
        "endpoint": endpoint,
        "p256dh": browser.p256dh(),
        "auth": URL_SAFE_NO_PAD.encode(browser.auth),
        "previews": previews,
    });
    post_json(server, "/push/subscriptions", &body, cookie).await
}

async fn push_server() -> TestServer {
    TestServer::start_with(|config| {
        config.access = chat_server::config::Access::Accounts;
        config.push_endpoints_anywhere = true;
        config.push_retry_delay = Duration::from_millis(20);
    })
    .await
}

fn push_of(server: &TestServer) -> &chat_server::push::WebPush {
    server
        .state
        .push
        .as_deref()
        .expect("accounts mode has push")
}

/// Waits until `account` has `n` subscriptions.
async fn wait_for_subscriptions(server: &TestServer, account: i64, n: u32) {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        if push_of(server).count_of(account).await.unwrap() == n {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "not {n} subscriptions"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A message in `room` from a fresh socket of `cookie`, which leaves at once.
async fn say(server: &TestServer, cookie: &str, room: &str, text: &str) {
    let before = server.clients();
    let mut client = socket(server, cookie).await;
    if room != "lobby" {
        client.join(room, None, None).await;
    }
    client.say_in(room, text).await;
    client.rx.message().await;
    // Gone before the next step, so that its page is not counted as open.
    drop(client);
    server.wait_for_clients(before).await;
}

#[tokio::test]
async fn a_browser_with_no_page_open_gets_the_push_encrypted_and_signed_and_an_open_page_none() {
    let server = push_server().await;
    let admin = set_up(&server).await;
    let ada = invite(&server, "ada").await;
    let mut service = PushService::start().await;
    let (endpoint, browser) = service.browser("ok-ada");
    assert_eq!(
        subscribe(&server, &ada, &endpoint, &browser, false).await.0,
        204
    );

    // Ada has never been in the lobby: a mention by name still reaches her, without the text.
    say(&server, &admin, "lobby", "hello @ada, are you there?").await;
    let got = service.next().await;
    assert_eq!(got.browser, "ok-ada");
    assert_eq!(got.push["title"], "admin in #lobby");
    assert_eq!(
        got.push["body"], "Mentioned you",
        "no text without previews"
    );
    assert_eq!(got.push["url"], "/r/lobby?m=1");
    assert_eq!(got.push["tag"], "lobby");

    // Signed with the server's key, for the push service's origin.
    let (token, key) = got
        .authorization
        .strip_prefix("vapid t=")
        .and_then(|rest| rest.split_once(", k="))
        .expect("a VAPID authorization");
    assert_eq!(Some(key), push_of(&server).public_key());
    let point = URL_SAFE_NO_PAD.decode(key).unwrap();
    let mut validation = Validation::new(Algorithm::ES256);
    validation.set_audience(&[service.url.as_str()]);
    let verifying = DecodingKey::from_ec_components(
        &URL_SAFE_NO_PAD.encode(&point[1..33]),
        &URL_SAFE_NO_PAD.encode(&point[33..]),
    )
    .unwrap();
    jsonwebtoken::decode::<Value>(token, &verifying, &validation).expect("a valid signature");

    // With a page open on the lobby she is not pushed; once it is closed she is again.
    let page = socket(&server, &ada).await;
    say(&server, &admin, "lobby", "@ada seen on the page").await;
    drop(page);
    server.wait_for_clients(0).await;
    say(&server, &admin, "lobby", "@ada pushed again").await;
    let got = service.next().await;
    assert_eq!(got.push["url"], "/r/lobby?m=3", "{:?}", got.push);

    // Her own messages are never pushed to her; previews carry the text.
    let (endpoint, browser) = service.browser("ok-ada-previews");
    assert_eq!(
        subscribe(&server, &ada, &endpoint, &browser, true).await.0,
        204
    );
    say(&server, &ada, "lobby", "@ada a note to myself").await;
    say(&server, &admin, "lobby", "@ada **bold** words").await;
    let mut bodies = [service.next().await, service.next().await];
    bodies.sort_by_key(|got| got.browser.clone());
    assert_eq!(bodies[0].push["body"], "Mentioned you");
    assert_eq!(
        bodies[1].push["body"], "@ada bold words",
        "the text as shown"
    );
    assert_eq!(bodies[1].push["url"], "/r/lobby?m=5");
}

#[tokio::test]
async fn levels_private_rooms_and_direct_conversations_decide_who_is_pushed() {
    let server = push_server().await;
    let admin = set_up(&server).await;
    let bob = invite(&server, "bob").await;
    invite(&server, "carol").await;
    let mut service = PushService::start().await;
    let (endpoint, browser) = service.browser("ok-bob");
    assert_eq!(
        subscribe(&server, &bob, &endpoint, &browser, true).await.0,
        204
    );
    // Bob has been in the lobby (his first socket joins it) and chose "everything" there.
    drop(socket(&server, &bob).await);
    let (status, _, _) = post_form(
        &server,
        "/r/lobby/notifications",
        "level=everything",
        &cookie_header(&bob),
    )
    .await;
    assert_eq!(status, 303);
    server.wait_for_clients(0).await;

    // Each message that must not reach him is followed by one that must: the next push he
    // gets is always the second.
    say(&server, &admin, "lobby", "everything: every message").await;
    assert_eq!(
        service.next().await.push["body"],
        "everything: every message"
    );
    let (status, _, _) = post_form(
        &server,
        "/r/lobby/notifications",
        "level=nothing",
        &cookie_header(&bob),
    )
    .await;
    assert_eq!(status, 303);
    say(&server, &admin, "lobby", "@bob nothing means nothing").await;
    let secret = private_room(&server, &admin, "secret", "carol").await;
    say(&server, &admin, &secret, "@bob is not a member here").await;
    let team = private_room(&server, &admin, "team", "bob").await;
    say(&server, &admin, &team, "no mention in a private room").await;
    say(&server, &admin, &team, "@bob a mention in a private room").await;
    let got = service.next().await;
    assert_eq!(got.push["body"], "@bob a mention in a private room");
    assert_eq!(got.push["title"], "admin in team");

    // A direct conversation always notifies, titled by who wrote.
    let bob_id = id_of(&server, "bob").await;
    let (status, head, _) = post_form(
        &server,
        &format!("/dm/{bob_id}"),
        "",
        &cookie_header(&admin),
    )
    .await;
    assert_eq!(status, 303, "{head}");
    let direct = room_of(&head);
    say(&server, &admin, &direct, "just between us").await;
    let got = service.next().await;
    assert_eq!(got.push["body"], "just between us");
    assert_eq!(got.push["title"], "admin");

    // @room reaches the private room's members who did not choose "nothing".
    say(&server, &admin, &team, "@room all of you").await;
    assert_eq!(service.next().await.push["body"], "@room all of you");
}

#[tokio::test]
async fn failed_pushes_are_retried_gone_subscriptions_forgotten_and_broken_ones_dropped() {
    let server = push_server().await;
    let admin = set_up(&server).await;
    let ada = invite(&server, "ada").await;
    let ada_id = id_of(&server, "ada").await;
    let mut service = PushService::start().await;
    let (flaky, flaky_keys) = service.browser("flaky-ada");
    let (gone, gone_keys) = service.browser("gone-ada");
    let (broken, broken_keys) = service.browser("broken-ada");
    for (endpoint, keys) in [
        (&flaky, &flaky_keys),
        (&gone, &gone_keys),
        (&broken, &broken_keys),
    ] {
        assert_eq!(subscribe(&server, &ada, endpoint, keys, true).await.0, 204);
    }
    say(&server, &admin, "lobby", "@ada first").await;
    // The flaky service took it on its second try.
    let got = service.next().await;
    assert_eq!(
        (got.browser.as_str(), got.push["body"].as_str()),
        ("flaky-ada", Some("@ada first"))
    );
    assert_eq!(service.tries("flaky-ada"), 2);
    // 410 forgets the subscription after one try.
    wait_for_subscriptions(&server, ada_id, 2).await;
    assert_eq!(service.tries("gone-ada"), 1);
    // A service that keeps failing is forgotten after five pushes, each tried three times.
    for n in 2..=5 {
        say(&server, &admin, "lobby", &format!("@ada number {n}")).await;
        assert_eq!(
            service.next().await.push["body"],
            format!("@ada number {n}")
        );
    }
    wait_for_subscriptions(&server, ada_id, 1).await;
    assert_eq!(service.tries("broken-ada"), 15);
    assert_eq!(
        server.metric("chat_pushes_total{outcome=\"gone\"}").await,
        1.0
    );
    assert_eq!(
        server.metric("chat_pushes_total{outcome=\"failed\"}").await,
        5.0
    );
    assert_eq!(
        server
            .metric("chat_pushes_total{outcome=\"delivered\"}")
            .await,
        5.0
    );
}

#[tokio::test]
async fn endpoints_outside_the_public_internet_are_refused_and_subscriptions_bounded() {
    let server = TestServer::start_with(|config| {
        config.access = chat_server::config::Access::Accounts;
        config.push_subscriptions_per_account = 2;
    })
    .await;
    set_up(&server).await;
    let ada = invite(&server, "ada").await;
    let browser = Browser::new();
    for endpoint in [
        "http://push.example.com/send/1",
        "https://127.0.0.1/send",
        "https://10.0.0.7/send",
        "https://[::1]/send",
        "https://169.254.169.254/latest",
        "https://localhost:8443/send",
        "https://intranet/send",
    ] {
        let (status, body) = subscribe(&server, &ada, endpoint, &browser, false).await;
        assert_eq!(status, 400, "{endpoint}: {body}");
        assert!(
            body.contains("https") || body.contains("public internet"),
            "{body}"
        );
    }
    let good = [
        "https://push.example.com/send/1",
        "https://push.example.com/send/2",
    ];
    for endpoint in good {
        assert_eq!(
            subscribe(&server, &ada, endpoint, &browser, false).await.0,
            204
        );
    }
    // The same browser again replaces its row; a third browser is one too many.
    assert_eq!(
        subscribe(&server, &ada, good[0], &browser, false).await.0,
        204
    );
    let (status, body) = subscribe(
        &server,
        &ada,
        "https://push.example.com/send/3",
        &browser,
        false,
    )
    .await;
    assert_eq!(status, 409);
    assert!(body.contains("2 browsers"), "{body}");
    // Bad keys, no session, another site: refused.
    let mut bad = serde_json::json!({"endpoint": good[0], "p256dh": "AAAA", "auth": "AAAA"});
    assert_eq!(
        post_json(&server, "/push/subscriptions", &bad, &ada)
            .await
            .0,
        400
    );
    bad["p256dh"] = browser.p256dh().into();
    assert_eq!(
        post_json(&server, "/push/subscriptions", &bad, &ada)
            .await
            .0,
        400
    );
    assert_eq!(
        subscribe(&server, "", good[0], &browser, false).await.0,
        401
    );
    let (status, _, _) = server
        .exchange_with_head(&format!(
            "POST /push/subscriptions HTTP/1.1\r\nHost: {}\r\nSec-Fetch-Site: cross-site\r\n\
             {}Content-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{{}}",
            server.addr,
            cookie_header(&ada)
        ))
        .await;
    assert_eq!(status, 403);
    // Turning one off, then every one from the account page.
    let one = serde_json::json!({"endpoint": good[1]});
    assert_eq!(
        post_json(&server, "/push/subscriptions/remove", &one, &ada)
            .await
            .0,
        204
    );
    let (_, _, page) = get_with_cookie(&server, "/account", &ada).await;
    assert!(page.contains("On in 1 browser."), "{page}");
    let (status, _, _) =
        post_form(&server, "/account/push/stop-all", "", &cookie_header(&ada)).await;
    assert_eq!(status, 303);
    let ada_id = id_of(&server, "ada").await;
    assert_eq!(push_of(&server).count_of(ada_id).await.unwrap(), 0);
    // A browser that signs out gets no more pushes: its subscription ends with its session.
    let phone = sign_in(&server, "ada").await;
    assert_eq!(
        subscribe(&server, &ada, good[0], &browser, false).await.0,
        204
    );
    assert_eq!(
        subscribe(&server, &phone, good[1], &browser, false).await.0,
        204
    );
    let (status, _, _) = post_form(&server, "/signout", "", &cookie_header(&ada)).await;
    assert_eq!(status, 303);
    let (_, _, page) = get_with_cookie(&server, "/account", &phone).await;
    assert!(page.contains("On in 1 browser."), "{page}");
}
