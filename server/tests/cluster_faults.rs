//! Cluster mode when things break: a node killed with -9, Redis restarted under load, Redis
//! not there at start. Real nodes, a real `redis-server`.

mod common;

use std::collections::HashSet;
use std::time::Duration;

use chat_shared::{ClientFrame, ErrorCode, ServerFrame};
use common::redis_server::RedisServer;
use common::{spawn_server, Client, TestServer, PATIENCE};
use tokio::time::{sleep, timeout, Instant};
use tokio_tungstenite::connect_async;

async fn node(url: String) -> TestServer {
    TestServer::start_with(move |config| {
        config.redis_url = Some(url);
        config.presence_ttl = Duration::from_secs(2);
    })
    .await
}

#[tokio::test]
async fn a_node_killed_with_9_leaves_presence_within_the_ttl_and_its_clients_resume_elsewhere() {
    let redis = RedisServer::start().await;
    let a = node(redis.url()).await;
    let data = tempfile::tempdir().unwrap();
    let url = redis.url();
    let (mut b, b_addr, mut b_log) =
        spawn_server(data.path(), &["--redis-url", &url, "--presence-ttl", "2s"]).await;
    tokio::spawn(async move { while let Ok(Some(_)) = b_log.next_line().await {} });

    let (mut alice, _) = a.connect_to("room=").await;
    alice.hello("alice", None).await;
    alice.rx.notices = true;
    alice.join("crash", None, None).await;

    let (ws, _) = connect_async(format!("ws://{b_addr}/ws?room="))
        .await
        .unwrap();
    let mut carol = Client::new(ws);
    carol.hello("carol", None).await;
    let joined = carol.join("crash", None, None).await;
    assert_eq!(joined.members, vec!["alice", "carol"]);
    wait_presence(&mut alice, "carol", true).await;
    alice.say_in("crash", "seen by carol").await;
    let seen = carol.rx.message().await;

    b.kill().await.unwrap(); // SIGKILL: no goodbye
    let killed = Instant::now();
    alice.say_in("crash", "while carol is away 1").await;
    alice.say_in("crash", "while carol is away 2").await;
    wait_presence(&mut alice, "carol", false).await;
    assert!(
        killed.elapsed() <= Duration::from_millis(2500),
        "carol left {:?} after the kill (TTL 2 s)",
        killed.elapsed()
    );

    // carol's page reconnects to the node that is left and resumes.
    let (mut back, _) = a.connect_to("room=").await;
    let joined = back.join("crash", Some(seen.id), Some(&joined.epoch)).await;
    assert!(joined.recovered);
    let texts: Vec<&str> = joined.messages.iter().map(|m| m.text.as_str()).collect();
    assert_eq!(texts, ["while carol is away 1", "while carol is away 2"]);
}

async fn wait_presence(client: &mut Client, name: &str, here: bool) {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let frame = timeout(deadline - Instant::now(), client.rx.frame())
            .await
            .unwrap_or_else(|_| panic!("no presence change for {name}"));
        if let ServerFrame::Presence { joined, left, .. } = frame {
            let list = if here { joined } else { left };
            if list.iter().any(|n| n == name) {
                return;
            }
        }
    }
}

/// Sends `count` messages, one at a time and paced, each with its text as `cid`; a refused one is sent
/// again (as the web app does) until it is stored. Returns how many refusals it saw.
async fn send_until_stored(client: &mut Client, tag: &str, count: usize) -> usize {
    let mut refusals = 0;
    for k in 0..count {
        // Paced (about 100/s), so that the outage falls in the middle of the run.
        sleep(Duration::from_millis(10)).await;
        let text = format!("{tag}-{k}");
        loop {
            client
                .tx
                .send(&ClientFrame::Send {
                    reply_to: None,
                    room: Some("load".into()),
                    text: text.clone(),
                    cid: Some(text.clone()),
                })
                .await;
            let stored = loop {
                match client.rx.frame().await {
                    ServerFrame::Message(m) if m.cid.as_deref() == Some(text.as_str()) => {
                        break true
                    }
                    ServerFrame::Error(e) if e.cid.as_deref() == Some(text.as_str()) => {
                        assert_eq!(e.code, ErrorCode::HistoryUnavailable, "{e:?}");
                        break false;
                    }
                    _ => continue,
                }
            };
            if stored {
                break;
            }
            refusals += 1;
            sleep(Duration::from_millis(100)).await;
        }
    }
    refusals
}

#[tokio::test]
async fn redis_restarted_under_load_loses_nothing_and_doubles_nothing() {
    let mut redis = RedisServer::start().await;
    let (a, b) = (node(redis.url()).await, node(redis.url()).await);
    let mut readers = vec![
        a.connect_to("room=load").await.0,
        b.connect_to("room=load").await.0,
    ];
    let mut senders = Vec::new();
    for (i, n) in [&a, &b].into_iter().enumerate() {
        let mut client = n.connect_to("room=load").await.0;
        senders.push(tokio::spawn(async move {
            send_until_stored(&mut client, &format!("s{i}"), 150).await
        }));
    }
    // Let the senders get going, so that the outage falls in the middle of their run.
    sleep(Duration::from_millis(300)).await;
    redis.kill();
    a.wait_for_readyz(503).await;
    redis.restart().await;
    let mut refusals = 0;
    for sender in senders {
        refusals += timeout(Duration::from_secs(60), sender)
            .await
            .expect("senders finish")
            .unwrap();
    }
    assert!(refusals > 0, "the outage refused some messages");
    assert_eq!(a.get("/readyz").await.0, 200);

    let expected: HashSet<String> = (0..2)
        .flat_map(|i| (0..150).map(move |k| format!("s{i}-{k}")))
        .collect();
    // After all of them, one more: nothing may arrive twice before it.
    let mut last = a.connect_to("room=load").await.0;
    last.say_in("load", "the end").await;
    for reader in &mut readers {
        let mut messages = Vec::new();
        while messages.len() < 300 {
            match reader.rx.frame().await {
                ServerFrame::Message(m) => messages.push(m),
                // Told that Redis was gone.
                ServerFrame::Error(e) => assert_eq!(e.code, ErrorCode::HistoryUnavailable),
                other => panic!("unexpected {other:?}"),
            }
        }
        let ids: Vec<u64> = messages.iter().map(|m| m.id).collect();
        assert_eq!(
            ids,
            (1..=300).collect::<Vec<_>>(),
            "every id once, in order"
        );
        let texts: HashSet<String> = messages.into_iter().map(|m| m.text).collect();
        assert_eq!(texts, expected, "every message once");
        reader.rx.nothing_before("the end").await;
    }
}

#[tokio::test]
async fn a_node_started_before_redis_serves_once_redis_is_there() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let server = node(format!("redis://127.0.0.1:{port}/0")).await;
    assert_eq!(server.get("/healthz").await.0, 200);
    let (status, body) = server.get("/readyz").await;
    assert_eq!(status, 503, "{body}");
    let (mut client, _) = server.connect_to("room=").await;
    match client
        .ask(ClientFrame::Join {
            room: "later".into(),
            since: None,
            epoch: None,
        })
        .await
    {
        ServerFrame::Error(err) => assert_eq!(err.code, ErrorCode::HistoryUnavailable),
        other => panic!("expected history_unavailable, got {other:?}"),
    }

    let redis = RedisServer::start_on(port).await;
    server.wait_for_readyz(200).await;
    let joined = client.join("later", None, None).await;
    assert_eq!(joined.last_id, 0);
    client.say_in("later", "hello").await;
    assert_eq!(client.rx.message().await.id, 1);
    drop(redis);
}
