//! Resuming after a gap: exactly the missed messages, once, across reconnects and restarts;
//! and resends with a `cid` stored once.

mod common;

use std::time::Duration;

use chat_shared::{ClientFrame, ServerFrame};
use common::{Client, TestServer};

async fn post(client: &mut Client, room: &str, from: u64, to: u64) {
    for i in from..=to {
        client.say_in(room, &format!("m{i}")).await;
    }
}

#[tokio::test]
async fn a_reconnecting_client_gets_exactly_its_gap() {
    let server = TestServer::start().await;
    let (mut writer, joined) = server.connect_to("room=gap").await;
    let epoch = joined.unwrap().epoch;
    post(&mut writer, "gap", 1, 10).await;
    writer.rx.messages(10).await;
    let (mut reader, _) = server.connect_to("room=gap").await;
    post(&mut writer, "gap", 11, 12).await;
    let last_seen = reader.rx.messages(2).await[1].id;
    assert_eq!(last_seen, 12);
    drop(reader);

    post(&mut writer, "gap", 13, 40).await;
    writer.rx.messages(30).await;
    let (mut back, _) = server.connect_to("room=").await;
    let joined = back.join("gap", Some(last_seen), Some(&epoch)).await;
    assert!(joined.recovered);
    assert_eq!(joined.last_id, 40);
    let ids: Vec<u64> = joined.messages.iter().map(|m| m.id).collect();
    assert_eq!(ids, (13..=40).collect::<Vec<_>>());
    assert_eq!(joined.messages[0].text, "m13");

    // Resuming from the newest id recovers nothing, and that is a full recovery.
    let (mut current, _) = server.connect_to("room=").await;
    let joined = current.join("gap", Some(40), Some(&epoch)).await;
    assert!(joined.recovered && joined.messages.is_empty());
}

#[tokio::test]
async fn a_join_during_a_burst_sees_every_id_once_in_order() {
    let server = TestServer::start().await;
    let (mut writer, joined) = server.connect_to("room=busy").await;
    let epoch = joined.unwrap().epoch;
    post(&mut writer, "busy", 1, 50).await;
    writer.rx.messages(50).await;
    let total = 600;
    let publisher = tokio::spawn(async move {
        post(&mut writer, "busy", 51, total).await;
        writer.rx.messages((total - 50) as usize).await;
        writer
    });
    // Join (resuming from 20) at several moments while the publisher runs (paced, so that the
    // joins land at different points of the burst).
    let mut joins = Vec::new();
    for _ in 0..5 {
        let (mut client, _) = server.connect_to("room=").await;
        let joined = client.join("busy", Some(20), Some(&epoch)).await;
        assert!(joined.recovered);
        joins.push((client, joined));
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let mut writer = publisher.await.unwrap();
    writer.say_in("busy", "end").await;
    for (mut client, joined) in joins {
        let mut ids: Vec<u64> = joined.messages.iter().map(|m| m.id).collect();
        let live = (total - joined.last_id) as usize;
        ids.extend(client.rx.messages(live).await.iter().map(|m| m.id));
        assert_eq!(
            ids,
            (21..=total).collect::<Vec<_>>(),
            "joined at {}",
            joined.last_id
        );
        client.rx.nothing_before("end").await;
    }
}

#[tokio::test]
async fn resume_works_across_a_restart_and_ids_continue() {
    let server = TestServer::start().await;
    let (mut client, joined) = server.connect_to("room=keep").await;
    let epoch = joined.unwrap().epoch;
    post(&mut client, "keep", 1, 5).await;
    client.rx.messages(5).await;
    drop(client);
    let server = server.restart().await;
    let (mut writer, joined) = server.connect_to("room=keep").await;
    let joined = joined.unwrap();
    assert_eq!((joined.epoch.as_str(), joined.last_id), (epoch.as_str(), 5));
    assert_eq!(joined.messages.len(), 5, "history survived the restart");
    post(&mut writer, "keep", 6, 7).await;
    assert_eq!(
        writer.rx.message().await.id,
        6,
        "ids continue above the old ones"
    );
    assert_eq!(writer.rx.message().await.id, 7);
    let (mut back, _) = server.connect_to("room=").await;
    let joined = back.join("keep", Some(3), Some(&epoch)).await;
    assert!(joined.recovered);
    let ids: Vec<u64> = joined.messages.iter().map(|m| m.id).collect();
    assert_eq!(ids, [4, 5, 6, 7]);
}

#[tokio::test]
async fn a_lost_database_changes_the_epoch_and_resume_says_it_could_not_recover() {
    let server = TestServer::start().await;
    let (mut client, joined) = server.connect_to("room=fragile").await;
    let old_epoch = joined.unwrap().epoch;
    post(&mut client, "fragile", 1, 3).await;
    client.rx.messages(3).await;
    drop(client);
    server.shutdown().await;
    // The database is lost: the next server starts on an empty folder. (Deleting the files
    // under the first server instead raced with its store closing: SQLite's last connection
    // deletes its `-wal` file by name, which by then could be the new server's.)
    let server = TestServer::start().await;
    let (mut writer, _) = server.connect_to("room=fragile").await;
    writer.say_in("fragile", "new era").await;
    writer.rx.message().await;
    let (mut back, _) = server.connect_to("room=").await;
    let joined = back.join("fragile", Some(2), Some(&old_epoch)).await;
    assert_ne!(joined.epoch, old_epoch);
    assert!(!joined.recovered);
    let texts: Vec<&str> = joined.messages.iter().map(|m| m.text.as_str()).collect();
    assert_eq!(texts, ["new era"], "the latest page of the new history");
}

#[tokio::test]
async fn a_gap_too_long_or_pruned_gets_the_latest_page_not_a_partial_one() {
    let server = TestServer::start_with(|config| {
        config.join_history = 5;
        config.history_per_room = Some(1500);
    })
    .await;
    let (mut writer, joined) = server.connect_to("room=long").await;
    let epoch = joined.unwrap().epoch;
    post(&mut writer, "long", 1, 2001).await;
    writer.rx.messages(2001).await;
    let (mut client, _) = server.connect_to("room=").await;
    // 1001 missed: more than a recovery carries.
    let joined = client.join("long", Some(1000), Some(&epoch)).await;
    assert!(!joined.recovered);
    assert_eq!(joined.messages.first().map(|m| m.id), Some(1997));
    // Exactly 1000 missed: recovered.
    let joined = client.join("long", Some(1001), Some(&epoch)).await;
    assert!(joined.recovered && joined.messages.len() == 1000);
    // Pruned: ids up to 501 are gone, so a resume from 100 cannot be whole.
    let joined = client.join("long", Some(100), Some(&epoch)).await;
    assert!(!joined.recovered);
    // An id from the future, or a cursor without an epoch, is not trusted either.
    assert!(
        !client
            .join("long", Some(5000), Some(&epoch))
            .await
            .recovered
    );
    assert!(!client.join("long", Some(1990), None).await.recovered);
    let ServerFrame::History { messages, more, .. } = client
        .ask(ClientFrame::History {
            around: None,
            room: "long".into(),
            before: Some(503),
            limit: Some(10),
        })
        .await
    else {
        panic!("expected history");
    };
    assert_eq!((messages.first().map(|m| m.id), more), (Some(502), false));
}

#[tokio::test]
async fn a_resend_with_the_same_cid_is_stored_once() {
    let server = TestServer::start().await;
    let (mut alice, _) = server.connect_to("room=safe").await;
    alice.hello("alice", None).await;
    let (mut bob, _) = server.connect_to("room=safe").await;
    let send = |text: &str| ClientFrame::Send {
        reply_to: None,
        room: Some("safe".into()),
        text: text.into(),
        cid: Some("c-1".into()),
    };
    alice.tx.send(&send("hello once")).await;
    alice.tx.send(&send("hello once")).await;
    let first = alice.rx.message().await;
    let again = alice.rx.message().await;
    assert_eq!(
        first, again,
        "the resend is answered with the stored message"
    );
    assert_eq!(first.cid.as_deref(), Some("c-1"));
    assert_eq!(bob.rx.message().await.id, first.id);
    // The resend reached nobody else.
    alice.say_in("safe", "marker").await;
    bob.rx.nothing_before("marker").await;

    // Also after a restart.
    drop((alice, bob));
    let server = server.restart().await;
    let (mut alice, joined) = server.connect_to("room=safe").await;
    assert_eq!(
        common::texts(&joined.unwrap().messages),
        ["hello once", "marker"]
    );
    let token_less = alice
        .ask(ClientFrame::Hello {
            name: "alice".into(),
            token: None,
        })
        .await;
    assert!(
        matches!(token_less, ServerFrame::Error(_)),
        "the name is held"
    );
    // As a guest, the same cid is someone else's: a new message.
    alice.tx.send(&send("guest")).await;
    assert_eq!(alice.rx.message().await.id, first.id + 2);
}

/// A message of 1999 two-byte characters plus its number: about 4 KB of JSON.
fn long_text(i: usize) -> String {
    format!("{i:04}{}", "é".repeat(1995))
}

/// The length of a frame as the server writes it.
fn json_len(frame: &ServerFrame) -> usize {
    chat_shared::encode(frame).unwrap().len()
}

#[tokio::test]
async fn a_gap_bigger_than_a_quarter_of_the_clients_budget_is_not_recovered_and_the_client_stays() {
    // The default budget, 1 MiB: 320 messages of 4 KB missed overnight are 1.3 MB.
    let server = TestServer::start().await;
    let budget = chat_server::config::Config::default().client_buffer_bytes;
    let (mut writer, joined) = server.connect_to("room=night").await;
    let epoch = joined.unwrap().epoch;
    for i in 0..320 {
        writer.say_in("night", &long_text(i)).await;
    }
    writer.rx.messages(320).await;

    // The page reconnects with the same `since` after every close: each answer must fit, and
    // the connection must stay.
    for round in 0..2 {
        let (mut back, _) = server.connect_to("room=").await;
        let joined = back.join("night", Some(0), Some(&epoch)).await;
        assert!(
            !joined.recovered,
            "the whole gap does not fit in one answer"
        );
        assert_eq!(joined.last_id, 320 + round);
        assert_eq!(joined.messages.last().map(|m| m.id), Some(320 + round));
        let ids: Vec<u64> = joined.messages.iter().map(|m| m.id).collect();
        assert_eq!(ids.len(), 50, "the latest page fits: {ids:?}");
        assert!(json_len(&ServerFrame::Joined(joined)) <= budget / 4);
        back.say_in("night", "still here").await;
        assert_eq!(back.rx.message().await.text, "still here");
    }

    // A history page of 100 such messages is over the quarter too: it comes in parts.
    let (mut reader, _) = server.connect_to("room=night").await;
    let mut before = None;
    let mut seen = Vec::new();
    loop {
        let answer = reader
            .ask(ClientFrame::History {
                around: None,
                room: "night".into(),
                before,
                limit: Some(100),
            })
            .await;
        assert!(json_len(&answer) <= budget / 4);
        let ServerFrame::History { messages, more, .. } = answer else {
            panic!("expected history, got {answer:?}");
        };
        assert!(!messages.is_empty() && messages.len() < 100);
        before = messages.first().map(|m| m.id);
        seen.splice(0..0, messages.iter().map(|m| m.id));
        if !more {
            break;
        }
    }
    let all: Vec<u64> = (1..=322).collect();
    assert_eq!(seen, all, "paging back reaches every message once");
}

#[tokio::test]
async fn with_the_smallest_budget_the_latest_page_is_cut_to_fit() {
    let server = TestServer::start_with(|config| {
        config.client_buffer_bytes = chat_server::MIN_CLIENT_BUFFER_BYTES;
    })
    .await;
    let (mut writer, joined) = server.connect_to("room=small").await;
    let epoch = joined.unwrap().epoch;
    // One at a time: 240 KB of messages unread would close the writer itself as too slow.
    for i in 0..60 {
        writer.say_in("small", &long_text(i)).await;
        writer.rx.message().await;
    }
    let (mut back, _) = server.connect_to("room=").await;
    let joined = back.join("small", Some(10), Some(&epoch)).await;
    assert!(!joined.recovered);
    let count = joined.messages.len();
    assert!((1..50).contains(&count), "{count} messages");
    assert_eq!(joined.messages.last().map(|m| m.id), Some(60));
    assert!(json_len(&ServerFrame::Joined(joined)) <= chat_server::MIN_CLIENT_BUFFER_BYTES / 4);
}

#[tokio::test]
async fn a_cid_is_remembered_per_name_and_room() {
    let server = TestServer::start().await;
    let (token, first, second) = common::a_cid_is_scoped_to_its_room(&server).await;
    // Also after a restart, when the cids are read back from the database.
    let server = server.restart().await;
    let (mut alice, _) = server.connect_to("room=one").await;
    alice.hello("alice", Some(&token)).await;
    alice.join("two", None, None).await;
    alice.tx.send(&common::send_with_cid("two", "in two")).await;
    assert_eq!(alice.rx.message().await, second);
    alice.tx.send(&common::send_with_cid("one", "in one")).await;
    assert_eq!(alice.rx.message().await, first);
}
