//! What an operator relies on: `/healthz`, `/readyz` and `/metrics` on the real server.

mod common;

use std::time::Duration;

use chat_shared::{ClientFrame, ErrorCode, ServerFrame};
use common::{TestServer, PATIENCE};
use tokio::time::{sleep, Instant};

#[tokio::test]
async fn health_and_readiness_answer_when_all_is_well() {
    let server = TestServer::start().await;
    assert_eq!(server.get("/healthz").await, (200, "ok\n".to_string()));
    assert_eq!(server.get("/readyz").await, (200, "ready\n".to_string()));
}

#[tokio::test]
async fn metrics_count_connections_messages_deliveries_errors_and_closes() {
    let server = TestServer::start().await;
    let (status, body) = server.get("/metrics").await;
    assert_eq!(status, 200);
    assert!(body.contains("# TYPE chat_deliveries counter"), "{body}");
    assert!(body.ends_with("# EOF\n"));

    let (mut alice, _) = server.connect_to("room=ops").await;
    let (mut bob, _) = server.connect_to("room=ops").await;
    server.wait_for_clients(2).await;
    assert_eq!(server.metric("chat_connections").await, 2.0);
    assert_eq!(server.metric("chat_connections_opened_total").await, 2.0);
    assert_eq!(server.metric("chat_rooms").await, 1.0);
    let delivered_before = server.metric("chat_deliveries_total").await;

    for n in 0..3 {
        alice.say_in("ops", &format!("m{n}")).await;
    }
    bob.rx.messages(3).await;
    alice.rx.messages(3).await;
    assert_eq!(server.metric("chat_messages_in_total").await, 3.0);
    assert_eq!(server.metric("chat_messages_out_total").await, 3.0);
    assert_eq!(
        server.metric("chat_deliveries_total").await - delivered_before,
        6.0,
        "3 messages to 2 members"
    );
    assert!(server.metric("chat_feed_bytes_total").await > 0.0);
    assert!(server.metric("chat_history_write_seconds_count").await >= 1.0);

    // What the database holds: what an operator watches for growth.
    assert_eq!(server.metric("chat_names").await, 0.0);
    alice.hello("alice", None).await;
    assert_eq!(server.metric("chat_names").await, 1.0);
    assert_eq!(server.metric("chat_rooms_stored").await, 1.0);
    assert!(server.metric("chat_database_bytes").await >= 4096.0);

    let refused = ClientFrame::Send {
        reply_to: None,
        room: Some("ops".into()),
        text: "   ".into(),
        cid: None,
    };
    match alice.ask(refused).await {
        ServerFrame::Error(err) => assert_eq!(err.code, ErrorCode::EmptyText),
        other => panic!("expected an error, got {other:?}"),
    }
    assert_eq!(
        server
            .metric("chat_errors_total{code=\"empty_text\"}")
            .await,
        1.0
    );

    bob.tx
        .message(tokio_tungstenite::tungstenite::Message::Close(None))
        .await;
    server.wait_for_clients(1).await;
    let deadline = Instant::now() + PATIENCE;
    while server
        .metric("chat_connections_closed_total{reason=\"normal\"}")
        .await
        != 1.0
    {
        assert!(Instant::now() < deadline, "the close was not counted");
        sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(server.metric("chat_connections").await, 1.0);
}

#[tokio::test]
async fn readiness_fails_while_the_database_takes_no_writes_and_recovers() {
    let server = TestServer::start().await;
    assert_eq!(server.get("/readyz").await.0, 200);
    // Another process holds the write lock, so the probe's write times out.
    let locker = server.lock_database();
    server.wait_for_readyz(503).await;
    let (status, body) = server.get("/readyz").await;
    assert_eq!(status, 503, "{body}");
    assert!(body.starts_with("not ready:"), "{body}");
    locker.execute_batch("ROLLBACK").unwrap();
    drop(locker);
    server.wait_for_readyz(200).await;
}

#[tokio::test]
async fn a_draining_server_is_not_ready() {
    let server = TestServer::start().await;
    server.state.readiness.start_draining();
    let (status, body) = server.get("/readyz").await;
    assert_eq!(status, 503);
    assert!(body.contains("draining"), "{body}");
    assert_eq!(server.get("/healthz").await.0, 200, "still alive");
}

#[tokio::test]
async fn metrics_labels_are_fixed_strings_never_what_clients_chose() {
    let server = TestServer::start().await;
    let (mut client, _) = server.connect_to("room=secret-room-7f3a").await;
    client.hello("Zelda Secret", None).await;
    client.say_in("secret-room-7f3a", "a secret message").await;
    client.rx.message().await;
    // A refused frame and an unknown type: the error code is a label, the input never is.
    client.tx.raw(r#"{"type":"secret-type-9b1c"}"#).await;
    assert_eq!(client.rx.error().await.code, ErrorCode::UnknownType);
    let (_, body) = server.get("/metrics").await;
    for chosen in [
        "secret-room-7f3a",
        "Zelda",
        "a secret message",
        "secret-type-9b1c",
    ] {
        assert!(!body.contains(chosen), "{chosen:?} is in /metrics:\n{body}");
    }
    // Every label value is one of the server's own words (a code, a close reason, a bucket).
    for line in body.lines().filter(|l| !l.starts_with('#')) {
        if let Some((_, labels)) = line.split_once('{') {
            let value = labels.split('"').nth(1).unwrap_or_default();
            let own_word = value == "+Inf"
                || value
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "_.".contains(c));
            assert!(own_word, "label value {value:?} in {line}");
        }
    }
}
