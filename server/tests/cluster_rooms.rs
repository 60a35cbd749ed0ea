//! Cluster mode keeps what a room costs bounded as a single node does: an empty room is
//! forgotten in Redis after `--empty-room-ttl`, freeing its place under `--max-rooms` for
//! every node.

mod common;

use std::time::Duration;

use chat_server::broker::redis::keys;
use chat_shared::{ClientFrame, ErrorCode, ServerFrame};
use common::redis_server::RedisServer;
use common::TestServer;

const DAY: Duration = Duration::from_secs(24 * 3600);

async fn node(redis: &RedisServer) -> TestServer {
    let url = redis.url();
    TestServer::start_with(move |config| {
        config.redis_url = Some(url);
        config.max_rooms = 4;
    })
    .await
}

fn join(room: &str) -> ClientFrame {
    ClientFrame::Join {
        room: room.into(),
        since: None,
        epoch: None,
    }
}

/// Waits until Redis lists `present` names in `room` (presence is written after a join or a
/// leave, not before its answer).
async fn wait_for_presence(redis: &RedisServer, room: &str, present: usize) {
    let mut conn = redis.connection().await.unwrap();
    let deadline = tokio::time::Instant::now() + common::PATIENCE;
    loop {
        let listed: usize = redis::cmd("HLEN")
            .arg(keys::presence(room))
            .query_async(&mut conn)
            .await
            .unwrap();
        if listed == present {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{room}: {listed} present in Redis, expected {present}"
        );
        tokio::task::yield_now().await;
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test]
async fn an_empty_room_is_forgotten_across_the_cluster_and_frees_its_place() {
    let redis = RedisServer::start().await;
    let (a, b) = (node(&redis).await, node(&redis).await);
    let (mut client, _) = a.connect_to("room=").await;
    for room in ["kept", "occupied", "forgotten", "lobby"] {
        client.join(room, None, None).await;
    }
    client.say_in("kept", "a message keeps a room").await;
    client.rx.message().await;
    for room in ["kept", "forgotten", "lobby"] {
        assert!(matches!(
            client.ask(ClientFrame::Leave { room: room.into() }).await,
            ServerFrame::Left { .. }
        ));
    }
    let (mut other, _) = b.connect_to("room=").await;
    match other.ask(join("fifth")).await {
        ServerFrame::Error(error) => assert_eq!(error.code, ErrorCode::RoomLimit),
        other => panic!("expected room_limit, got {other:?}"),
    }
    wait_for_presence(&redis, "occupied", 1).await;
    wait_for_presence(&redis, "forgotten", 0).await;
    let broker = a.state.chat.broker.as_redis().unwrap();
    assert_eq!(
        broker.sweep_empty_rooms().await.unwrap(),
        0,
        "younger than a day"
    );
    a.state.clock.advance(DAY + Duration::from_secs(60));
    // Only `forgotten` goes: `kept` has a message, `occupied` a member, `lobby` is the default.
    assert_eq!(broker.sweep_empty_rooms().await.unwrap(), 1);
    let mut conn = redis.connection().await.unwrap();
    let rooms: Vec<String> = redis::cmd("SMEMBERS")
        .arg(keys::ROOMS)
        .query_async(&mut conn)
        .await
        .unwrap();
    assert!(!rooms.contains(&"forgotten".to_string()), "{rooms:?}");
    // Its place is free for the other node, and the room comes back new if there is room.
    assert_eq!(other.join("fifth", None, None).await.room, "fifth");
    assert!(matches!(
        other.ask(join("forgotten")).await,
        ServerFrame::Error(e) if e.code == ErrorCode::RoomLimit
    ));
    // A member is all that kept `occupied`: once it leaves, the room goes at the next sweep.
    client
        .ask(ClientFrame::Leave {
            room: "occupied".into(),
        })
        .await;
    wait_for_presence(&redis, "occupied", 0).await;
    assert_eq!(broker.sweep_empty_rooms().await.unwrap(), 1);
}
