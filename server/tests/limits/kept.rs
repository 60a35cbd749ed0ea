//! What a client can make the server keep: names and rooms. Each address may create only so
//! many an hour, and what nobody uses is forgotten, so no client can fill the server for good.

use std::time::Duration;

use chat_shared::{ClientFrame, ErrorCode, ServerFrame};

use crate::common::{Client, TestServer};

const DAY: Duration = Duration::from_secs(24 * 3600);

/// The error code a `hello` for `name` (with `token`, if any) is refused with, if it is.
async fn refusal(client: &mut Client, name: &str, token: Option<&str>) -> Option<ErrorCode> {
    let hello = ClientFrame::Hello {
        name: name.into(),
        token: token.map(Into::into),
    };
    match client.ask(hello).await {
        ServerFrame::Error(error) => Some(error.code),
        _ => None,
    }
}

fn join(room: &str) -> ClientFrame {
    ClientFrame::Join {
        room: room.into(),
        since: None,
        epoch: None,
    }
}

#[tokio::test]
async fn the_21st_new_name_from_one_address_in_an_hour_is_refused() {
    let server = TestServer::start_with(|config| config.name_claims_per_ip_per_hour = 20).await;
    let mut client = server.connect().await;
    let mut first = None;
    for i in 0..20 {
        let token = client.hello(&format!("name{i}"), None).await;
        first.get_or_insert(token);
    }
    match client
        .ask(ClientFrame::Hello {
            name: "name20".into(),
            token: None,
        })
        .await
    {
        ServerFrame::Error(error) => {
            assert_eq!(error.code, ErrorCode::RateLimited);
            assert!(
                error.retry_after_ms.is_some_and(|ms| ms > 60_000),
                "{error:?}"
            );
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    // Reconnecting does not help; a name already held is still yours with its token.
    let mut again = server.connect().await;
    assert_eq!(
        refusal(&mut again, "name21", None).await,
        Some(ErrorCode::RateLimited)
    );
    again.hello("name0", first.as_deref()).await;
}

#[tokio::test]
async fn a_name_unused_for_its_time_to_live_is_freed_and_use_renews_it() {
    let server = TestServer::start().await;
    let mut alice = server.connect().await;
    let token = alice.hello("alice", None).await;
    let mut other = server.connect().await;
    assert_eq!(
        refusal(&mut other, "alice", None).await,
        Some(ErrorCode::NameTaken)
    );

    // Presented with its token after 20 days: renewed for another 30.
    server.state.clock.advance(20 * DAY);
    alice.hello("alice", Some(&token)).await;
    server.state.clock.advance(20 * DAY);
    assert_eq!(
        refusal(&mut other, "alice", None).await,
        Some(ErrorCode::NameTaken)
    );

    // Unused for 31 days: anyone may take it, and the old token no longer holds it.
    server.state.clock.advance(31 * DAY);
    let new_token = other.hello("alice", None).await;
    assert_ne!(new_token, token);
    assert_eq!(
        refusal(&mut alice, "alice", Some(&token)).await,
        Some(ErrorCode::NameTaken)
    );

    // The sweep deletes expired reservations (here: none but the guests' are held).
    let mut bob = server.connect().await;
    bob.hello("bob", None).await;
    server.state.clock.advance(31 * DAY);
    let store = server.state.chat.store.as_ref().unwrap();
    assert_eq!(store.sweep().await.names, 2, "alice and bob");
}

#[tokio::test]
async fn the_31st_new_room_from_one_address_in_an_hour_is_refused() {
    let server = TestServer::start_with(|config| config.room_creations_per_ip_per_hour = 30).await;
    let (mut client, _) = server.connect_to("room=").await;
    for i in 0..30 {
        client.join(&format!("new{i}"), None, None).await;
    }
    match client.ask(join("new30")).await {
        ServerFrame::Error(error) => {
            assert_eq!(error.code, ErrorCode::RateLimited);
            assert_eq!(error.room.as_deref(), Some("new30"));
            assert!(error.retry_after_ms.is_some());
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    // Rooms that exist, and the default room, can still be joined, from a new socket too.
    let (mut again, _) = server.connect_to("room=").await;
    again.join("new0", None, None).await;
    again.join("lobby", None, None).await;
}

#[tokio::test]
async fn an_empty_room_is_forgotten_after_its_time_to_live_and_frees_its_place() {
    let server = TestServer::start_with(|config| config.max_rooms = 4).await;
    let (mut client, _) = server.connect_to("room=").await;
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
    match client.ask(join("fifth")).await {
        ServerFrame::Error(error) => assert_eq!(error.code, ErrorCode::RoomLimit),
        other => panic!("expected room_limit, got {other:?}"),
    }
    let store = server.state.chat.store.as_ref().unwrap();
    assert_eq!(store.sweep().await.rooms, 0, "younger than a day");
    server.state.clock.advance(DAY + Duration::from_secs(60));
    // Only `forgotten` goes: `kept` has a message, `occupied` a member, `lobby` is the default.
    assert_eq!(store.sweep().await.rooms, 1);
    let joined = client.join("fifth", None, None).await;
    assert_eq!(joined.room, "fifth");
    // A forgotten room comes back new (another epoch) when joined again, if there is room.
    assert!(matches!(
        client.ask(join("forgotten")).await,
        ServerFrame::Error(e) if e.code == ErrorCode::RoomLimit
    ));
}
