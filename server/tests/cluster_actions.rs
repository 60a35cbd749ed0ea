//! Cluster mode: edits, deletions, replies and reactions from members of two nodes are events
//! of the room's stream in Redis: every member on both nodes ends with the same state, the
//! state every node's history shows, and a member that resumes on the other node gets exactly
//! the entries it missed.

mod common;

use std::time::Duration;

use chat_server::broker::redis::keys;
use chat_shared::{ClientFrame, ErrorCode, ServerFrame};
use common::redis_server::RedisServer;
use common::stream::{action as frame, apply, apply_joined, as_stored, ids, View};
use common::{Client, TestServer};

async fn node(redis: &RedisServer) -> TestServer {
    let url = redis.url();
    TestServer::start_with(move |config| {
        config.redis_url = Some(url);
        config.presence_ttl = Duration::from_secs(3);
        common::without_rate_limits(config);
    })
    .await
}

/// The next entry of the room's stream a client is sent, applied to its view; its id.
async fn take(client: &mut Client, view: &mut View) -> u64 {
    match client.rx.frame().await {
        ServerFrame::Message(m) => {
            let id = m.id;
            view.insert(m.id, m);
            id
        }
        ServerFrame::Event(e) => {
            apply(view, &e);
            e.id
        }
        other => panic!("expected an entry of the stream, got {other:?}"),
    }
}

#[tokio::test]
async fn actions_from_both_nodes_leave_every_member_with_one_state_and_a_resume_elsewhere_gets_the_rest(
) {
    let redis = RedisServer::start().await;
    let (a, b) = (node(&redis).await, node(&redis).await);
    let (mut alice, joined) = a.connect_to("room=acts").await;
    let epoch = joined.unwrap().epoch;
    alice.hello("alice", None).await;
    let (mut bob, _) = b.connect_to("room=acts").await;
    bob.hello("bob", None).await;
    let (mut carol, _) = a.connect_to("room=acts").await;
    let mut members = [alice, bob];
    let mut views = [View::new(), View::new()];
    let mut carols = View::new();

    // (alice's: true, target, action, value)
    let before = [(true, 0, "send", "hello **all**"), (false, 0, "send", "hi")];
    let after = [
        (true, 2, "react", "👋"),
        (false, 1, "react", "👋"),
        (false, 1, "react", "🎉"),
        (true, 1, "edit", "hello `everyone`"),
        (false, 1, "reply", "hi again"),
        (false, 2, "delete", ""),
        (true, 7, "react", "👀"),
        (false, 1, "react", "🎉"),
    ];
    for (k, (by_alice, id, action, value)) in before.iter().chain(&after).enumerate() {
        let sender = usize::from(!by_alice);
        members[sender]
            .tx
            .send(&frame("acts", *id, action, value))
            .await;
        let mut got = Vec::new();
        for (member, view) in members.iter_mut().zip(views.iter_mut()) {
            got.push(take(member, view).await);
        }
        assert_eq!(got[0], got[1], "{action} reached both as one id");
        if k < before.len() {
            take(&mut carol, &mut carols).await;
        }
        if k == before.len() - 1 {
            drop(carol);
            carol = a.connect_to("room=").await.0;
        }
    }
    // An edit lost by pub/sub on its way to node b is filled from the stream before the
    // message after it is delivered there.
    let broker = b.state.chat.broker.as_redis().expect("cluster mode");
    broker.drop_next_messages(1);
    let last = [(1, "edit", "hello, everyone"), (0, "send", "last")];
    for (id, action, value) in last {
        members[0].tx.send(&frame("acts", id, action, value)).await;
    }
    for (member, view) in members.iter_mut().zip(views.iter_mut()) {
        assert_eq!(take(member, view).await, 11);
        assert_eq!(take(member, view).await, 12);
    }
    let [from_a, from_b] = [as_stored(&a, "acts").await, as_stored(&b, "acts").await];
    assert_eq!(from_a, from_b, "both nodes' history say the same");
    assert_eq!(views[0], from_a, "alice's live view is the stored room");
    assert_eq!(views[1], from_a, "bob's live view is the stored room");
    assert_eq!(from_a[&1].text, "hello, everyone");
    assert!(from_a[&1].edited.is_some());
    assert!(from_a[&2].is_deleted());
    let quoted = from_a[&7].reply.as_ref().expect("a reply");
    assert_eq!((quoted.id, quoted.text.as_str()), (1, "hello, everyone"));
    let reactions: Vec<(&str, Vec<&str>)> = from_a[&1]
        .reactions
        .iter()
        .map(|r| {
            (
                r.emoji.as_str(),
                r.names.iter().map(String::as_str).collect(),
            )
        })
        .collect();
    assert_eq!(
        reactions,
        vec![("👋", vec!["bob"])],
        "🎉 given, then taken back"
    );
    assert_eq!(from_a[&7].reactions[0].names, vec!["alice"]);
    assert!(
        from_a[&2].reactions.is_empty(),
        "a deletion takes its reactions"
    );

    // Pages of history, back from the end and around a message, as both nodes' latest pages.
    let stored: Vec<_> = from_a.values().cloned().collect();
    for (before, around, limit, want) in [
        (None, None, 10, vec![1, 2, 7, 12]),
        (Some(7), None, 1, vec![2]),
        (None, Some(7), 2, vec![2, 7]),
        (None, Some(7), 4, vec![1, 2, 7, 12]),
    ] {
        let page = members[1]
            .ask(ClientFrame::History {
                room: "acts".into(),
                before,
                around,
                limit: Some(limit),
            })
            .await;
        let ServerFrame::History { messages, .. } = page else {
            panic!("expected history, got {page:?}");
        };
        let ids: Vec<u64> = messages.iter().map(|m| m.id).collect();
        assert_eq!(ids, want, "before {before:?}, around {around:?}");
        for message in &messages {
            assert!(stored.contains(message), "{message:?} as stored");
        }
    }

    // Carol saw the first two messages on node a and comes back on node b.
    let (mut back, _) = b.connect_to("room=").await;
    let gap = back.join("acts", Some(2), Some(&epoch)).await;
    assert!(gap.recovered, "{gap:?}");
    assert_eq!(ids(&gap), (3..=12).collect::<Vec<_>>(), "every id once");
    apply_joined(&mut carols, &gap);
    assert_eq!(carols, from_a, "the resumed view is the room as stored");
}

#[tokio::test]
async fn a_member_of_either_node_gets_the_same_refusals_as_on_a_single_node() {
    let redis = RedisServer::start().await;
    let (a, b) = (node(&redis).await, node(&redis).await);
    let (mut alice, _) = a.connect_to("room=rules").await;
    alice.hello("alice", None).await;
    let (mut bob, _) = b.connect_to("room=rules").await;
    bob.hello("bob", None).await;
    alice.say_in("rules", "mine").await;
    let first = alice.rx.message().await.id;
    bob.rx.message().await;
    let refused = [
        (
            frame("rules", first, "edit", "bob's words"),
            ErrorCode::NotAllowed,
        ),
        (frame("rules", first, "delete", ""), ErrorCode::NotAllowed),
        (
            frame("rules", first + 5, "react", "👍"),
            ErrorCode::NotFound,
        ),
        (
            frame("rules", first + 5, "reply", "to nothing"),
            ErrorCode::NotFound,
        ),
    ];
    for (action, code) in refused {
        bob.tx.send(&action).await;
        let error = bob.rx.error().await;
        assert_eq!(
            (error.code, error.room.as_deref()),
            (code, Some("rules")),
            "{action:?}"
        );
    }
    // Ten reactions per person and message; the eleventh is refused.
    let emoji = [
        "😀", "😁", "😂", "🤣", "😃", "😄", "😅", "😆", "😉", "😊", "😋",
    ];
    for (k, e) in emoji.iter().enumerate() {
        bob.tx.send(&frame("rules", first, "react", e)).await;
        if k < 10 {
            assert_eq!(bob.rx.change().await.emoji, *e);
            assert_eq!(alice.rx.change().await.emoji, *e);
        } else {
            assert_eq!(bob.rx.error().await.code, ErrorCode::ReactionLimit);
        }
    }
    alice.tx.send(&frame("rules", first, "delete", "")).await;
    let deleted = bob.rx.change().await;
    assert_eq!(alice.rx.change().await, deleted);
    for action in [
        frame("rules", first, "edit", "again"),
        frame("rules", first, "react", "👍"),
        frame("rules", first, "reply", "to it"),
    ] {
        alice.tx.send(&action).await;
        assert_eq!(
            alice.rx.error().await.code,
            ErrorCode::NotFound,
            "{action:?}"
        );
    }
    // Nothing refused took an id: the next message follows the deletion.
    alice.say_in("rules", "next").await;
    assert_eq!(bob.rx.message().await.id, deleted.id + 1);
}

/// Every value Redis keeps under the room's keys, as text.
async fn everything_kept(redis: &RedisServer, room: &str) -> String {
    let mut conn = redis.connection().await.unwrap();
    let mut kept = String::new();
    let stream = |key: String| redis::cmd("XRANGE").arg(key).arg("-").arg("+").clone();
    let set = |key: String| redis::cmd("ZRANGE").arg(key).arg(0).arg(-1).clone();
    for command in [
        stream(keys::log(room)),
        stream(keys::events(room)),
        set(keys::moved(room)),
        set(keys::reactions(room)),
    ] {
        let value: redis::Value = command.query_async(&mut conn).await.unwrap();
        kept.push_str(&format!("{value:?}\n"));
    }
    kept
}

#[tokio::test]
async fn no_earlier_text_stays_in_redis_and_what_is_kept_is_the_last_ids_of_every_kind() {
    let redis = RedisServer::start().await;
    let url = redis.url();
    let a = TestServer::start_with(move |config| {
        config.redis_url = Some(url);
        config.history_per_room = Some(6);
        common::without_rate_limits(config);
    })
    .await;
    let (mut alice, _) = a.connect_to("room=trim").await;
    alice.hello("alice", None).await;
    for text in ["first words", "second words"] {
        alice.say_in("trim", text).await;
        alice.rx.message().await;
    }
    for action in [
        frame("trim", 1, "edit", "first, edited"),
        frame("trim", 2, "delete", ""),
        frame("trim", 1, "react", "👍"),
    ] {
        alice.tx.send(&action).await;
        alice.rx.change().await;
    }
    let kept = everything_kept(&redis, "trim").await;
    assert!(kept.contains("first, edited"), "{kept}");
    for gone in ["first words", "second words"] {
        assert!(!kept.contains(gone), "{gone:?} is still in Redis: {kept}");
    }
    // Ids 1-5 used; six more push both messages, their state and the events out.
    for k in 0..5 {
        alice.say_in("trim", &format!("later {k}")).await;
        alice.rx.message().await;
    }
    alice.tx.send(&frame("trim", 10, "react", "👀")).await;
    assert_eq!(alice.rx.change().await.id, 11);
    let (_, joined) = a.connect_to("room=trim").await;
    let shown: Vec<u64> = joined.unwrap().messages.iter().map(|m| m.id).collect();
    assert_eq!(
        shown,
        vec![6, 7, 8, 9, 10],
        "the last six ids: five messages, one event"
    );
    let mut conn = redis.connection().await.unwrap();
    let moved: u64 = redis::cmd("ZCARD")
        .arg(keys::moved("trim"))
        .query_async(&mut conn)
        .await
        .unwrap();
    let reacted: Vec<f64> = redis::cmd("ZRANGE")
        .arg(keys::reactions("trim"))
        .arg(0)
        .arg(-1)
        .arg("WITHSCORES")
        .query_async::<Vec<(String, f64)>>(&mut conn)
        .await
        .unwrap()
        .into_iter()
        .map(|(_, score)| score)
        .collect();
    assert_eq!(
        (moved, reacted),
        (0, vec![10.0]),
        "the state of trimmed messages is gone"
    );
}
