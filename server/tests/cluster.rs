//! Cluster mode: several real server nodes sharing rooms through a real `redis-server`.

mod common;

use std::time::Duration;

use chat_server::broker::redis::keys;
use chat_shared::{ClientFrame, ErrorCode, ServerFrame};
use common::redis_server::RedisServer;
use common::{Client, TestServer, PATIENCE};
use tokio::time::{sleep, timeout, Instant};

async fn node(redis: &RedisServer) -> TestServer {
    let url = redis.url();
    TestServer::start_with(move |config| {
        config.redis_url = Some(url);
        config.presence_ttl = Duration::from_secs(3);
    })
    .await
}

async fn in_room(server: &TestServer, room: &str) -> Client {
    server.connect_to(&format!("room={room}")).await.0
}

#[tokio::test]
async fn every_node_sees_the_same_ids_in_the_same_order_under_concurrent_senders() {
    let redis = RedisServer::start().await;
    let nodes = [node(&redis).await, node(&redis).await, node(&redis).await];
    let mut readers = Vec::new();
    for n in &nodes {
        readers.push(in_room(n, "order").await);
    }
    let mut senders = Vec::new();
    for (i, n) in nodes.iter().enumerate() {
        let mut sender = in_room(n, "order").await;
        senders.push(tokio::spawn(async move {
            for k in 0..60 {
                sender.say_in("order", &format!("n{i} m{k}")).await;
            }
            sender
        }));
    }
    for sender in senders {
        sender.await.unwrap();
    }
    let mut seen = Vec::new();
    for reader in &mut readers {
        let messages = reader.rx.messages(180).await;
        seen.push(
            messages
                .into_iter()
                .map(|m| (m.id, m.text))
                .collect::<Vec<_>>(),
        );
    }
    let ids: Vec<u64> = seen[0].iter().map(|(id, _)| *id).collect();
    assert_eq!(
        ids,
        (1..=180).collect::<Vec<_>>(),
        "ids in order, none skipped"
    );
    assert_eq!(
        seen[0], seen[1],
        "node 2 saw the same messages in the same order"
    );
    assert_eq!(
        seen[0], seen[2],
        "node 3 saw the same messages in the same order"
    );
    // Each sender's own messages keep their order.
    for i in 0..3 {
        let own: Vec<&String> = seen[0]
            .iter()
            .map(|(_, t)| t)
            .filter(|t| t.starts_with(&format!("n{i} ")))
            .collect();
        let expected: Vec<String> = (0..60).map(|k| format!("n{i} m{k}")).collect();
        assert_eq!(own, expected.iter().collect::<Vec<_>>());
    }
}

#[tokio::test]
async fn a_client_resumes_on_another_node_with_exactly_its_gap() {
    let redis = RedisServer::start().await;
    let (a, b) = (node(&redis).await, node(&redis).await);
    let (mut client, joined) = a.connect_to("room=resume").await;
    let epoch = joined.unwrap().epoch;
    let mut writer = in_room(&b, "resume").await;
    for k in 0..5 {
        writer.say_in("resume", &format!("before {k}")).await;
    }
    let seen = client.rx.messages(5).await;
    let since = seen.last().unwrap().id;
    drop(client);
    for k in 0..7 {
        writer.say_in("resume", &format!("missed {k}")).await;
    }
    writer.rx.messages(12).await;

    let (mut back, _) = b.connect_to("room=").await;
    let joined = back.join("resume", Some(since), Some(&epoch)).await;
    assert!(joined.recovered, "{joined:?}");
    assert_eq!(joined.epoch, epoch);
    let texts: Vec<&str> = joined.messages.iter().map(|m| m.text.as_str()).collect();
    assert_eq!(
        texts,
        (0..7).map(|k| format!("missed {k}")).collect::<Vec<_>>()
    );
    assert_eq!(joined.last_id, since + 7);

    // History pages come from the room's stream too.
    let history = back
        .ask(ClientFrame::History {
            around: None,
            room: "resume".into(),
            before: Some(3),
            limit: Some(10),
        })
        .await;
    match history {
        ServerFrame::History { messages, more, .. } => {
            assert_eq!(
                messages.iter().map(|m| m.id).collect::<Vec<_>>(),
                vec![1, 2]
            );
            assert!(!more);
        }
        other => panic!("expected history, got {other:?}"),
    }
}

#[tokio::test]
async fn a_cid_is_remembered_per_name_and_room_on_every_node() {
    let redis = RedisServer::start().await;
    let (one, two) = (node(&redis).await, node(&redis).await);
    let (token, first, second) = common::a_cid_is_scoped_to_its_room(&one).await;
    // A resend through the other node is answered with the same stored messages.
    let (mut alice, _) = two.connect_to("room=two").await;
    alice.hello("alice", Some(&token)).await;
    alice.tx.send(&common::send_with_cid("two", "in two")).await;
    assert_eq!(alice.rx.message().await, second);
    alice.join("one", None, None).await;
    alice.tx.send(&common::send_with_cid("one", "in one")).await;
    assert_eq!(alice.rx.message().await, first);
}

#[tokio::test]
async fn a_name_held_on_one_node_is_taken_on_another_and_its_token_reclaims_it() {
    let redis = RedisServer::start().await;
    let (a, b) = (node(&redis).await, node(&redis).await);
    let mut alice = a.connect_to("room=").await.0;
    let token = alice.hello("Alice", None).await;
    let mut other = b.connect().await;
    match other
        .ask(ClientFrame::Hello {
            name: "alice".into(),
            token: None,
        })
        .await
    {
        ServerFrame::Error(err) => assert_eq!(err.code, ErrorCode::NameTaken),
        frame => panic!("expected name_taken, got {frame:?}"),
    }
    let mut again = b.connect().await;
    assert_eq!(again.hello("Alice", Some(&token)).await, token);
}

#[tokio::test]
async fn presence_and_typing_span_nodes_and_a_name_counts_once() {
    let redis = RedisServer::start().await;
    let (a, b) = (node(&redis).await, node(&redis).await);
    let mut alice = a.connect_to("room=").await.0;
    alice.hello("alice", None).await;
    alice.rx.notices = true;
    alice.join("here", None, None).await;

    let mut bob = b.connect_to("room=").await.0;
    let token = bob.hello("bob", None).await;
    let joined = bob.join("here", None, None).await;
    assert_eq!(
        joined.members,
        vec!["alice", "bob"],
        "alice is on the other node"
    );
    expect_presence(&mut alice, &["bob"], &[]).await;

    // bob's second tab, on the first node: still one bob.
    let mut bob2 = a.connect_to("room=").await.0;
    bob2.hello("bob", Some(&token)).await;
    let joined = bob2.join("here", None, None).await;
    assert_eq!(joined.members, vec!["alice", "bob"]);

    bob.tx
        .send(&ClientFrame::Typing {
            room: "here".into(),
        })
        .await;
    loop {
        match alice.rx.frame().await {
            ServerFrame::Typing { name, room } => {
                assert_eq!((name.as_str(), room.as_str()), ("bob", "here"));
                break;
            }
            ServerFrame::Presence { .. } => continue,
            other => panic!("expected typing, got {other:?}"),
        }
    }

    drop(bob); // one of bob's two connections: bob stays
    drop(bob2); // the last one: bob leaves
    expect_presence(&mut alice, &[], &["bob"]).await;
}

fn to_strings(names: &[&str]) -> Vec<String> {
    names.iter().map(|n| n.to_string()).collect()
}

async fn expect_presence(client: &mut Client, joined: &[&str], left: &[&str]) {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let frame = timeout(deadline - Instant::now(), client.rx.frame())
            .await
            .expect("a presence change in time");
        if let ServerFrame::Presence {
            joined: j, left: l, ..
        } = frame
        {
            assert_eq!((j, l), (to_strings(joined), to_strings(left)));
            return;
        }
    }
}

#[tokio::test]
async fn a_node_that_died_leaves_every_list_within_the_presence_ttl() {
    let redis = RedisServer::start().await;
    let a = node(&redis).await;
    let mut alice = a.connect_to("room=").await.0;
    alice.hello("alice", None).await;
    alice.rx.notices = true;
    alice.join("ttl", None, None).await;

    // A node that announced carol and then died: its entry is never refreshed.
    let mut conn = redis.connection().await.unwrap();
    let expires = chat_server::clock::unix_millis() + 1000;
    let field = "deadnode carol";
    redis::pipe()
        .cmd("HSET")
        .arg(keys::presence("ttl"))
        .arg(field)
        .arg("carol")
        .cmd("ZADD")
        .arg(keys::presence_expiry("ttl"))
        .arg(expires)
        .arg(field)
        .cmd("PUBLISH")
        .arg(keys::channel("ttl"))
        .arg(keys::presence_payload("deadnode", &["carol".into()], &[]))
        .query_async::<()>(&mut conn)
        .await
        .unwrap();
    let announced = Instant::now();
    expect_presence(&mut alice, &["carol"], &[]).await;
    expect_presence(&mut alice, &[], &["carol"]).await;
    // Its entry expired after 1 s; the live node sweeps every TTL / 3 = 1 s.
    assert!(
        announced.elapsed() < Duration::from_secs(3),
        "{:?}",
        announced.elapsed()
    );
    let mut late = a.connect().await;
    let joined = late.join("ttl", None, None).await;
    assert!(!joined.members.iter().any(|m| m == "carol"), "{joined:?}");
}

#[tokio::test]
async fn a_message_lost_by_pub_sub_is_filled_from_the_stream_before_later_ones() {
    let redis = RedisServer::start().await;
    let (a, b) = (node(&redis).await, node(&redis).await);
    let mut reader = in_room(&b, "gaps").await;
    let mut writer = in_room(&a, "gaps").await;
    let broker = b.state.chat.broker.as_redis().expect("cluster mode");
    broker.drop_next_messages(2);
    for k in 0..4 {
        writer.say_in("gaps", &format!("m{k}")).await;
    }
    let got = reader.rx.messages(4).await;
    let got: Vec<(u64, &str)> = got.iter().map(|m| (m.id, m.text.as_str())).collect();
    assert_eq!(got, vec![(1, "m0"), (2, "m1"), (3, "m2"), (4, "m3")]);
}

#[tokio::test]
async fn while_redis_is_down_sends_are_refused_and_everything_flows_again_after() {
    let mut redis = RedisServer::start().await;
    let (a, b) = (node(&redis).await, node(&redis).await);
    let mut reader = in_room(&b, "outage").await;
    let mut writer = in_room(&a, "outage").await;
    writer.say_in("outage", "before").await;
    assert_eq!(reader.rx.message().await.text, "before");
    assert_eq!(a.get("/readyz").await.0, 200);

    redis.kill();
    let notice = reader.rx.error().await;
    assert_eq!(
        notice.code,
        ErrorCode::HistoryUnavailable,
        "told, and still connected"
    );
    assert_eq!(notice.room.as_deref(), Some("outage"));
    let refused = ClientFrame::Send {
        reply_to: None,
        room: Some("outage".into()),
        text: "during".into(),
        cid: Some("c1".into()),
    };
    writer.tx.send(&refused).await;
    loop {
        match writer.rx.answer().await {
            // The notice that Redis is gone, which the writer gets as a member too.
            ServerFrame::Error(err) if err.cid.is_none() => continue,
            ServerFrame::Error(err) => {
                assert_eq!(err.code, ErrorCode::HistoryUnavailable);
                assert_eq!(err.cid.as_deref(), Some("c1"));
                break;
            }
            other => panic!("expected history_unavailable, got {other:?}"),
        }
    }
    a.wait_for_readyz(503).await;

    redis.restart().await;
    a.wait_for_readyz(200).await;
    // Clients stayed connected; the message is stored once and reaches the other node.
    let deadline = Instant::now() + PATIENCE;
    loop {
        writer.say_in("outage", "after").await;
        match timeout(Duration::from_secs(2), reader.rx.message()).await {
            Ok(message) => {
                assert_eq!(message.text, "after");
                assert_eq!(message.id, 2, "nothing was stored while Redis was down");
                break;
            }
            Err(_) => assert!(
                Instant::now() < deadline,
                "never delivered after the outage"
            ),
        }
    }
}

#[tokio::test]
async fn a_node_hears_only_the_rooms_it_has_members_in() {
    let redis = RedisServer::start().await;
    let a = node(&redis).await;
    let conn = redis.connection().await.unwrap();
    let listeners = |room: &'static str| {
        let mut conn = conn.clone();
        async move {
            let counts: Vec<(String, u64)> = redis::cmd("PUBSUB")
                .arg("NUMSUB")
                .arg(keys::channel(room))
                .query_async(&mut conn)
                .await
                .unwrap();
            counts[0].1
        }
    };
    let client = in_room(&a, "passing").await;
    assert_eq!(listeners("passing").await, 1);
    drop(client);
    let deadline = Instant::now() + Duration::from_secs(12);
    while listeners("passing").await != 0 {
        assert!(
            Instant::now() < deadline,
            "still subscribed to an empty room"
        );
        sleep(Duration::from_millis(200)).await;
    }
    // Coming back: subscribed again, and the history is all there.
    let mut back = in_room(&a, "passing").await;
    back.say_in("passing", "again").await;
    assert_eq!(back.rx.message().await.id, 1);
    assert_eq!(listeners("passing").await, 1);
}

#[tokio::test]
async fn when_redis_loses_a_room_its_members_are_told_to_rejoin_under_a_new_epoch() {
    let redis = RedisServer::start().await;
    let a = node(&redis).await;
    let (mut client, joined) = a.connect_to("room=lost").await;
    let old = joined.unwrap().epoch;
    client.say_in("lost", "kept until the flush").await;
    let seen = client.rx.message().await;

    let mut conn = redis.connection().await.unwrap();
    redis::cmd("FLUSHALL")
        .query_async::<()>(&mut conn)
        .await
        .unwrap();
    client.say_in("lost", "after the flush").await;
    assert_eq!(client.rx.close_code().await, Some(1012));

    let (mut again, _) = a.connect_to("room=").await;
    let joined = again.join("lost", Some(seen.id), Some(&old)).await;
    assert_ne!(joined.epoch, old, "a new epoch");
    assert!(!joined.recovered, "the old ids mean nothing now");
    again.say_in("lost", "fresh").await;
    assert_eq!(again.rx.message().await.id, 1);
}
