//! Names, rooms, presence, typing and history, through the real server.

mod common;

use chat_shared::{ClientFrame, ErrorCode, ServerFrame, GUEST_PREFIX};
use common::{Client, TestServer};

async fn error_code(client: &mut Client, frame: ClientFrame) -> ErrorCode {
    match client.ask(frame).await {
        ServerFrame::Error(error) => error.code,
        other => panic!("expected an error, got {other:?}"),
    }
}

#[tokio::test]
async fn a_client_chats_as_a_guest_until_it_says_hello() {
    let server = TestServer::start().await;
    let (mut alice, joined) = server.connect_to("").await;
    let joined = joined.unwrap();
    assert_eq!(joined.room, "lobby");
    assert_eq!(joined.members.len(), 1);
    let guest = joined.members[0].clone();
    assert!(guest.starts_with(GUEST_PREFIX) && guest.len() == GUEST_PREFIX.len() + 4);
    alice.say("as a guest").await;
    let message = alice.rx.message().await;
    assert_eq!(
        (message.name.as_str(), message.room.as_str()),
        (guest.as_str(), "lobby")
    );

    let token = alice.hello("  Alice ", None).await;
    assert!(token.len() >= 32, "a 128-bit token, hex: {token}");
    alice.say("with a name").await;
    assert_eq!(alice.rx.message().await.name, "Alice");
}

#[tokio::test]
async fn a_held_name_is_refused_to_others_and_its_token_reclaims_it_after_a_restart() {
    let server = TestServer::start().await;
    let mut alice = server.connect().await;
    let token = alice.hello("alice", None).await;

    let mut mallory = server.connect().await;
    for (name, token) in [
        ("alice", None),
        ("ALICE", None),
        ("Alice", Some("0".repeat(32))),
    ] {
        let frame = ClientFrame::Hello {
            name: name.into(),
            token,
        };
        assert_eq!(error_code(&mut mallory, frame).await, ErrorCode::NameTaken);
    }
    // A second tab of the same person: the token reclaims it while the first is still here.
    let mut tab = server.connect().await;
    assert_eq!(tab.hello("Alice", Some(&token)).await, token);

    drop((alice, mallory, tab));
    let server = server.restart().await;
    let mut later = server.connect().await;
    assert_eq!(later.hello("alice", Some(&token)).await, token);
    let mut other = server.connect().await;
    let frame = ClientFrame::Hello {
        name: "alice".into(),
        token: None,
    };
    assert_eq!(error_code(&mut other, frame).await, ErrorCode::NameTaken);
}

#[tokio::test]
async fn names_that_break_the_rules_are_refused() {
    let server = TestServer::start().await;
    let mut client = server.connect().await;
    for name in ["", "   ", "a\u{7}b", "guest-1234", &"x".repeat(33)] {
        let frame = ClientFrame::Hello {
            name: name.into(),
            token: None,
        };
        assert_eq!(error_code(&mut client, frame).await, ErrorCode::InvalidName);
    }
    assert_eq!(client.hello(&"é".repeat(32), None).await.len(), 32);
}

#[tokio::test]
async fn messages_stay_in_their_room_and_a_client_in_two_rooms_gets_both() {
    let server = TestServer::start().await;
    let (mut rust, _) = server.connect_to("room=rust").await;
    let (mut go, _) = server.connect_to("room=go").await;
    let (mut both, _) = server.connect_to("room=rust").await;
    both.join("go", None, None).await;

    rust.say_in("rust", "r1").await;
    go.say_in("go", "g1").await;
    rust.say_in("rust", "r2").await;
    let mut seen: Vec<(String, String)> = Vec::new();
    for _ in 0..3 {
        let m = both.rx.message().await;
        seen.push((m.room, m.text));
    }
    seen.sort();
    assert_eq!(
        seen,
        [("go", "g1"), ("rust", "r1"), ("rust", "r2")].map(|(r, t)| (r.into(), t.into()))
    );
    assert_eq!(rust.rx.message().await.text, "r1");
    assert_eq!(rust.rx.message().await.text, "r2");
    assert_eq!(go.rx.message().await.text, "g1");

    // Ids count per room (and nothing of rust's reached go before its own next message).
    go.say_in("go", "g2").await;
    let g2 = go.rx.message().await;
    assert_eq!((g2.text.as_str(), g2.id), ("g2", 2));
    both.rx.messages(1).await;

    // After leaving, nothing more from that room; sending there is refused.
    assert!(matches!(
        both.ask(ClientFrame::Leave { room: "go".into() }).await,
        ServerFrame::Left { room } if room == "go"
    ));
    go.say_in("go", "g3").await;
    rust.say_in("rust", "r3").await;
    assert_eq!(both.rx.message().await.text, "r3");
    let send = ClientFrame::Send {
        reply_to: None,
        room: Some("go".into()),
        text: "hi".into(),
        cid: None,
    };
    assert_eq!(error_code(&mut both, send).await, ErrorCode::NotJoined);
}

#[tokio::test]
async fn room_names_and_room_counts_are_checked() {
    let server = TestServer::start_with(|config| {
        config.max_rooms_per_connection = 2;
        config.max_rooms = 3;
    })
    .await;
    let (mut client, joined) = server.connect_to("room=").await;
    assert!(joined.is_none());
    for room in ["", "Rust", "a b", "é", &"x".repeat(65)] {
        let frame = ClientFrame::Join {
            room: room.into(),
            since: None,
            epoch: None,
        };
        assert_eq!(error_code(&mut client, frame).await, ErrorCode::InvalidRoom);
    }
    // A bad room in the URL: the connection stays, and says why.
    let url = format!("{}?room=Bad%20Room&x=1", server.ws_url());
    let (ws, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    let mut bad = Client::new(ws);
    match bad.rx.answer().await {
        ServerFrame::Error(error) => assert_eq!(error.code, ErrorCode::InvalidRoom),
        other => panic!("expected invalid_room, got {other:?}"),
    }

    client.join("a", None, None).await;
    client.join("b", None, None).await;
    let third = |room: &str| ClientFrame::Join {
        room: room.into(),
        since: None,
        epoch: None,
    };
    assert_eq!(
        error_code(&mut client, third("c")).await,
        ErrorCode::TooManyRooms
    );
    // Joining a room again is not a new room.
    assert_eq!(client.join("a", None, None).await.room, "a");

    let (mut other, _) = server.connect_to("room=c").await;
    assert_eq!(
        error_code(&mut other, third("d")).await,
        ErrorCode::RoomLimit
    );
    assert_eq!(
        other.join("a", None, None).await.room,
        "a",
        "old rooms still open"
    );
}

#[tokio::test]
async fn presence_counts_a_name_once_however_many_tabs() {
    let server = TestServer::start().await;
    let (mut watcher, _) = server.connect_to("room=").await;
    watcher.hello("watcher", None).await;
    watcher.join("team", None, None).await;
    watcher.rx.notices = true;

    let (mut tab1, _) = server.connect_to("room=").await;
    let token = tab1.hello("bob", None).await;
    let joined = tab1.join("team", None, None).await;
    assert_eq!(joined.members, ["bob", "watcher"]);
    assert_eq!(presence(&mut watcher).await, (vec!["bob".into()], vec![]));

    let (mut tab2, _) = server.connect_to("room=").await;
    tab2.hello("bob", Some(&token)).await;
    assert_eq!(
        tab2.join("team", None, None).await.members,
        ["bob", "watcher"]
    );
    drop(tab1);
    // Once the server has seen tab1 go, a message in the room: no presence change before it.
    server.wait_for_clients(2).await;
    tab2.say_in("team", "bob is still here").await;
    watcher.rx.nothing_before("bob is still here").await;
    drop(tab2);
    assert_eq!(presence(&mut watcher).await, (vec![], vec!["bob".into()]));
}

#[tokio::test]
async fn a_rename_shows_as_presence() {
    let server = TestServer::start().await;
    let (mut watcher, _) = server.connect_to("room=team").await;
    watcher.rx.notices = true;
    let (mut carol, joined) = server.connect_to("room=team").await;
    let (arrived, left) = presence(&mut watcher).await;
    assert!(left.is_empty());
    let [carol_guest] = arrived.as_slice() else {
        panic!("one arrival expected, got {arrived:?}");
    };
    assert!(carol_guest.starts_with(GUEST_PREFIX));
    assert!(joined.unwrap().members.contains(carol_guest));
    carol.hello("carol", None).await;
    assert_eq!(
        presence(&mut watcher).await,
        (vec!["carol".into()], vec![carol_guest.clone()])
    );
}

async fn presence(client: &mut Client) -> (Vec<String>, Vec<String>) {
    loop {
        match client.rx.frame().await {
            ServerFrame::Presence { joined, left, .. } => return (joined, left),
            ServerFrame::Message(_) | ServerFrame::Welcome { .. } => continue,
            other => panic!("expected presence, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn typing_reaches_the_others_at_most_every_3_seconds_and_is_not_echoed() {
    let server = TestServer::start().await;
    let (mut alice, _) = server.connect_to("room=").await;
    alice.hello("alice", None).await;
    alice.join("team", None, None).await;
    let (mut bob, _) = server.connect_to("room=team").await;
    bob.rx.notices = true;
    alice.rx.notices = true;
    // Alice sees bob arrive; from then on she must see nothing of her own typing.
    presence(&mut alice).await;
    for _ in 0..5 {
        alice
            .tx
            .send(&ClientFrame::Typing {
                room: "team".into(),
            })
            .await;
    }
    // (Bob may first be shown his own arrival: arrivals within a second are shown together.)
    loop {
        match bob.rx.frame().await {
            ServerFrame::Typing { room, name } => {
                assert_eq!((room.as_str(), name.as_str()), ("team", "alice"));
                break;
            }
            ServerFrame::Presence { .. } => continue,
            other => panic!("expected typing, got {other:?}"),
        }
    }
    // The other four were within 3 s: after them, the room's next frame is alice's message, for
    // bob and for alice, who never sees her own typing.
    alice.say_in("team", "done typing").await;
    bob.rx.nothing_before("done typing").await;
    alice.rx.nothing_before("done typing").await;
    let typing = ClientFrame::Typing {
        room: "elsewhere".into(),
    };
    assert_eq!(error_code(&mut alice, typing).await, ErrorCode::NotJoined);
}

#[tokio::test]
async fn history_pages_back_to_the_first_message() {
    let server = TestServer::start_with(|config| config.join_history = 10).await;
    let (mut client, _) = server.connect_to("room=log").await;
    for i in 1..=125 {
        client.say_in("log", &format!("m{i}")).await;
    }
    client.rx.messages(125).await;
    let joined = server.connect_to("room=log").await.1.unwrap();
    assert_eq!(joined.last_id, 125);
    let ids: Vec<u64> = joined.messages.iter().map(|m| m.id).collect();
    assert_eq!(ids, (116..=125).collect::<Vec<_>>(), "the latest page");

    let mut before = joined.messages[0].id;
    let mut seen = joined.messages.len();
    loop {
        let frame = ClientFrame::History {
            around: None,
            room: "log".into(),
            before: Some(before),
            limit: Some(500),
        };
        let ServerFrame::History { messages, more, .. } = client.ask(frame).await else {
            panic!("expected history");
        };
        assert!(messages.len() <= 100, "limit is capped at 100");
        assert!(messages.windows(2).all(|w| w[0].id + 1 == w[1].id));
        assert_eq!(messages.last().map(|m| m.id + 1), Some(before));
        seen += messages.len();
        before = messages[0].id;
        if !more {
            break;
        }
    }
    assert_eq!((before, seen), (1, 125));
    let not_joined = ClientFrame::History {
        around: None,
        room: "other".into(),
        before: None,
        limit: None,
    };
    assert_eq!(
        error_code(&mut client, not_joined).await,
        ErrorCode::NotJoined
    );
}
