//! Nothing a client has seen is lost: not when the process is killed, and a failing database
//! refuses messages loudly instead of pretending to keep them.

mod common;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use chat_shared::{ClientFrame, ErrorCode, ServerFrame};
use common::{client_at, spawn_server, TestServer};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_under_load_loses_nothing_any_client_saw() {
    let data = tempfile::tempdir().unwrap();
    let (mut child, addr, _lines) = spawn_server(data.path(), &[]).await;
    let mut reader = client_at(&addr, "room=crash").await;
    let stop = Arc::new(AtomicBool::new(false));
    let mut senders = Vec::new();
    for n in 0..4 {
        let mut sender = client_at(&addr, "room=crash").await;
        let stop = stop.clone();
        senders.push(tokio::spawn(async move {
            let mut i = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let frame = ClientFrame::Send {
                    reply_to: None,
                    room: Some("crash".into()),
                    text: format!("s{n}-{i}"),
                    cid: None,
                };
                let json = chat_shared::encode_client(&frame).unwrap();
                use futures_util::SinkExt;
                if sender.tx.0.send(json.into()).await.is_err() {
                    break;
                }
                i += 1;
                if i % 50 == 0 {
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
            }
        }));
    }
    // Read for a while, then kill the server mid-stream while the senders keep going.
    let mut seen: BTreeMap<u64, String> = BTreeMap::new();
    let started = std::time::Instant::now();
    while started.elapsed() < Duration::from_millis(1500) {
        let m = reader.rx.message().await;
        seen.insert(m.id, m.text);
    }
    child.start_kill().unwrap();
    // Whatever was already on its way to the reader counts as seen too.
    while let Some(common::Event::Frame(ServerFrame::Message(m))) =
        reader.rx.next_event(Duration::from_secs(2)).await
    {
        seen.insert(m.id, m.text);
    }
    child.wait().await.unwrap();
    stop.store(true, Ordering::Relaxed);
    for sender in senders {
        let _ = sender.await;
    }
    assert!(
        seen.len() > 500,
        "the load was real: {} messages seen",
        seen.len()
    );

    let (_child, addr, _lines) = spawn_server(data.path(), &[]).await;
    let mut checker = client_at(&addr, "room=crash").await;
    let mut stored: BTreeMap<u64, String> = BTreeMap::new();
    let mut before = None;
    loop {
        let frame = ClientFrame::History {
            around: None,
            room: "crash".into(),
            before,
            limit: Some(100),
        };
        let ServerFrame::History { messages, more, .. } = checker.ask(frame).await else {
            panic!("expected history");
        };
        before = messages.first().map(|m| m.id);
        stored.extend(messages.into_iter().map(|m| (m.id, m.text)));
        if !more {
            break;
        }
    }
    for (id, text) in &seen {
        assert_eq!(
            stored.get(id),
            Some(text),
            "message {id} was seen but not kept"
        );
    }
    let newest = *stored.keys().last().unwrap();
    checker.say_in("crash", "after the crash").await;
    let next = checker.rx.message().await;
    assert_eq!(next.id, newest + 1, "ids continue above everything stored");
}

#[tokio::test]
async fn a_locked_database_refuses_messages_loudly_and_the_server_recovers() {
    let server = TestServer::start().await;
    let (mut client, _) = server.connect_to("room=db").await;
    client.say_in("db", "stored").await;
    client.rx.message().await;

    // Another process holds the write lock: the server's writes time out.
    let locker = server.lock_database();
    let send = ClientFrame::Send {
        reply_to: None,
        room: Some("db".into()),
        text: "refused".into(),
        cid: Some("x1".into()),
    };
    match client.ask(send).await {
        ServerFrame::Error(error) => {
            assert_eq!(error.code, ErrorCode::HistoryUnavailable);
            assert_eq!(error.room.as_deref(), Some("db"));
            assert_eq!(error.cid.as_deref(), Some("x1"));
        }
        other => panic!("expected history_unavailable, got {other:?}"),
    }
    locker.execute_batch("ROLLBACK").unwrap();
    drop(locker);

    client.say_in("db", "after").await;
    let after = client.rx.message().await;
    assert_eq!(
        (after.id, after.text.as_str()),
        (2, "after"),
        "the refused one took no id"
    );
    let (_, joined) = server.connect_to("room=db").await;
    assert_eq!(
        common::texts(&joined.unwrap().messages),
        ["stored", "after"]
    );
}

#[tokio::test]
async fn a_full_database_refuses_messages_and_keeps_serving() {
    // 192 KiB: the empty schema (messages, names, accounts, sessions, the log, the search
    // index's tables: 32 tables and indexes of a 4 KiB page each) takes 128 KiB of it.
    let server = TestServer::start_with(|config| config.max_database_bytes = 192 * 1024).await;
    let (mut client, _) = server.connect_to("room=full").await;
    let text = "z".repeat(1500);
    let mut refused = None;
    for _ in 0..200 {
        client.say_in("full", &text).await;
        match client.rx.frame().await {
            ServerFrame::Message(_) => {}
            ServerFrame::Error(error) => {
                refused = Some(error);
                break;
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    let refused = refused.expect("a 192 KiB database fills up");
    assert_eq!(refused.code, ErrorCode::HistoryUnavailable);
    // Still serving: joins still read history, and typing still reaches the room.
    client.rx.notices = true;
    let (mut other, joined) = server.connect_to("room=full").await;
    assert!(!joined.unwrap().messages.is_empty());
    other
        .tx
        .send(&ClientFrame::Typing {
            room: "full".into(),
        })
        .await;
    loop {
        match client.rx.frame().await {
            ServerFrame::Typing { .. } => break,
            ServerFrame::Presence { .. } => continue,
            other => panic!("expected typing, got {other:?}"),
        }
    }
    // Nothing else that would be written is taken either: a new name, a new room. Each is
    // refused with the same code, and the connection stays.
    let hello = ClientFrame::Hello {
        name: "newcomer".into(),
        token: None,
    };
    match other.ask(hello).await {
        ServerFrame::Error(error) => assert_eq!(error.code, ErrorCode::HistoryUnavailable),
        answer => panic!("a new name in a full database: {answer:?}"),
    }
    let join = ClientFrame::Join {
        room: "brand-new".into(),
        since: None,
        epoch: None,
    };
    match other.ask(join).await {
        ServerFrame::Error(error) => {
            assert_eq!(error.code, ErrorCode::HistoryUnavailable);
            assert_eq!(error.room.as_deref(), Some("brand-new"));
        }
        answer => panic!("a new room in a full database: {answer:?}"),
    }
    assert_eq!(other.join("full", None, None).await.room, "full");
}
