//! What one client address may hold and spend, all its connections together: sockets,
//! handshakes, HTTP requests and messages; and the address behind a trusted proxy.

use std::time::{Duration, Instant};

use chat_shared::{ClientFrame, ErrorCode, ServerFrame};
use tokio_tungstenite::connect_async;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Error as WsError;

use crate::common::{Client, TestServer, PATIENCE};

/// A refused handshake, as the client saw it.
#[derive(Debug)]
struct Refused {
    status: u16,
    retry_after: Option<u64>,
    body: String,
}

/// Opens a WebSocket to `/ws?room=` (no room, so nothing is joined), optionally as forwarded
/// by a proxy for `forwarded_for`.
async fn try_connect(server: &TestServer, forwarded_for: Option<&str>) -> Result<Client, Refused> {
    let mut request = format!("{}?room=", server.ws_url())
        .into_client_request()
        .unwrap();
    if let Some(client) = forwarded_for {
        request
            .headers_mut()
            .insert("X-Forwarded-For", client.parse().unwrap());
    }
    match connect_async(request).await {
        Ok((ws, _)) => {
            let mut client = Client::new(ws);
            assert!(matches!(client.rx.frame().await, ServerFrame::Limits(_)));
            Ok(client)
        }
        Err(WsError::Http(response)) => Err(Refused {
            status: response.status().as_u16(),
            retry_after: response
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse().ok()),
            body: String::from_utf8_lossy(response.body().as_deref().unwrap_or_default())
                .into_owned(),
        }),
        Err(other) => panic!("neither connected nor refused: {other}"),
    }
}

/// Waits until the server counts `n` open sockets.
async fn wait_for_sockets(server: &TestServer, n: usize) {
    let deadline = Instant::now() + PATIENCE;
    while server.state.peers.open() != n {
        assert!(
            Instant::now() < deadline,
            "{} sockets open, expected {n}",
            server.state.peers.open()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn a_socket_beyond_the_per_address_cap_is_refused_and_closing_one_frees_it() {
    let server = TestServer::start_with(|config| config.max_connections_per_ip = 3).await;
    let mut open = Vec::new();
    for _ in 0..3 {
        open.push(try_connect(&server, None).await.expect("within the cap"));
    }
    let refused = try_connect(&server, None).await.err().expect("the 4th");
    assert_eq!(refused.status, 429);
    assert_eq!(refused.retry_after, Some(1));
    assert!(refused.body.contains("too many connections"), "{refused:?}");
    // A plain HTTP request needs a socket too.
    let (status, head, _) = server.get_with_head("/healthz").await;
    assert_eq!(status, 429, "{head}");

    drop(open.pop());
    wait_for_sockets(&server, 2).await;
    open.push(try_connect(&server, None).await.expect("a freed place"));
}

#[tokio::test]
async fn a_socket_beyond_the_server_cap_gets_503() {
    let server = TestServer::start_with(|config| config.max_connections = 3).await;
    let mut open = Vec::new();
    for _ in 0..3 {
        open.push(try_connect(&server, None).await.expect("within the cap"));
    }
    let refused = try_connect(&server, None).await.err().expect("the 4th");
    assert_eq!(refused.status, 503);
    assert!(refused.retry_after.is_some());
    drop(open.pop());
    wait_for_sockets(&server, 2).await;
    open.push(try_connect(&server, None).await.expect("a freed place"));
}

#[tokio::test]
async fn quick_reconnects_beyond_the_handshake_burst_get_429() {
    let server = TestServer::start_with(|config| config.handshakes_per_ip_per_sec = 10).await;
    let started = Instant::now();
    let (mut accepted, mut refused) = (0u32, Vec::new());
    for _ in 0..40 {
        match try_connect(&server, None).await {
            Ok(client) => {
                accepted += 1;
                drop(client);
            }
            Err(refusal) => refused.push(refusal),
        }
    }
    let allowed = 30 + (10.0 * started.elapsed().as_secs_f64()).ceil() as u32;
    assert!(
        (30..=allowed).contains(&accepted),
        "{accepted} accepted, at most {allowed}"
    );
    assert!(!refused.is_empty());
    for refusal in &refused {
        assert_eq!(refusal.status, 429);
        assert!(refusal.retry_after.is_some_and(|s| s >= 1), "{refusal:?}");
        assert!(refusal.body.contains("slow down"), "{refusal:?}");
    }
}

#[tokio::test]
async fn sockets_of_one_address_share_its_message_bucket() {
    let server = TestServer::start_with(|config| {
        config.rate_limit_per_sec = 5;
        config.rate_limit_burst = 20;
        config.rate_limit_per_ip_per_sec = 20;
    })
    .await;
    let mut senders = Vec::new();
    for i in 0..10 {
        senders.push(server.connect_to(&format!("room=own{i}")).await.0);
    }
    let started = Instant::now();
    for (i, sender) in senders.iter_mut().enumerate() {
        for n in 0..25 {
            sender.say_in(&format!("own{i}"), &format!("m{n}")).await;
        }
    }
    let (mut stored, mut from_address) = (0, 0);
    for sender in &mut senders {
        for _ in 0..25 {
            match sender.rx.frame().await {
                ServerFrame::Message(_) => stored += 1,
                ServerFrame::Error(error) => {
                    assert_eq!(error.code, ErrorCode::RateLimited);
                    assert!(error.retry_after_ms.is_some());
                    if error.message.contains("your address") {
                        from_address += 1;
                    }
                }
                other => panic!("unexpected {other:?}"),
            }
        }
    }
    let allowed = 60 + (20.0 * started.elapsed().as_secs_f64()).ceil() as usize;
    // Each socket alone could have stored 20 (200 together): the address holds them to 60
    // and 20 a second.
    assert!(
        (60..=allowed).contains(&stored),
        "{stored} stored, at most {allowed}"
    );
    assert!(from_address > 0);
}

#[tokio::test]
async fn behind_a_trusted_proxy_each_forwarded_client_is_counted_apart() {
    let server = TestServer::start_with(|config| {
        config.max_connections_per_ip = 2;
        config.trusted_proxies = vec!["127.0.0.0/8".parse().unwrap()];
    })
    .await;
    // The proxy's own address holds many sockets; each client behind it holds two at most.
    let mut open = Vec::new();
    for _ in 0..2 {
        open.push(try_connect(&server, Some("203.0.113.5")).await.unwrap());
        open.push(try_connect(&server, Some("203.0.113.6")).await.unwrap());
    }
    let refused = try_connect(&server, Some("203.0.113.5")).await.err();
    assert_eq!(refused.map(|r| r.status), Some(429));
    // The client's own claim in front of the proxy's proves nothing: the nearest hop counts.
    let refused = try_connect(&server, Some("198.51.100.1, 203.0.113.6"))
        .await
        .err();
    assert_eq!(refused.map(|r| r.status), Some(429));
    open.push(try_connect(&server, Some("203.0.113.7")).await.unwrap());
}

#[tokio::test]
async fn without_a_trusted_proxy_forwarded_addresses_are_ignored() {
    let server = TestServer::start_with(|config| config.max_connections_per_ip = 2).await;
    let first = try_connect(&server, Some("203.0.113.5")).await.unwrap();
    let second = try_connect(&server, Some("203.0.113.6")).await.unwrap();
    let refused = try_connect(&server, Some("203.0.113.7")).await.err();
    assert_eq!(refused.map(|r| r.status), Some(429));
    drop((first, second));
}

#[tokio::test]
async fn page_requests_beyond_the_burst_get_429_but_health_checks_pass() {
    let server = TestServer::start_with(|config| config.http_requests_per_ip_per_sec = 20).await;
    let started = Instant::now();
    let (mut served, mut refused) = (0, 0);
    for _ in 0..100 {
        let (status, head, _) = server.get_with_head("/r/lobby").await;
        match status {
            200 => served += 1,
            429 => {
                refused += 1;
                assert!(head.to_ascii_lowercase().contains("retry-after:"), "{head}");
            }
            other => panic!("status {other}"),
        }
    }
    let allowed = 50 + (20.0 * started.elapsed().as_secs_f64()).ceil() as usize;
    assert!(
        (50..=allowed).contains(&served),
        "{served} served, at most {allowed}"
    );
    assert!(refused > 0);
    assert_eq!(server.get("/healthz").await.0, 200);
    assert_eq!(server.get("/readyz").await.0, 200);
    // The WebSocket handshake has its own limit (off here).
    let mut client = try_connect(&server, None).await.unwrap();
    client
        .tx
        .send(&ClientFrame::Join {
            room: "lobby".into(),
            since: None,
            epoch: None,
        })
        .await;
    client.rx.joined().await;
}
