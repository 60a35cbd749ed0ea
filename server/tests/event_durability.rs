//! kill -9 during a burst of edits and reactions: nothing a member saw is missing from the
//! store, and a member that resumes after the restart ends with exactly the state stored.

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use chat_shared::{ClientFrame, ServerFrame};
use common::stream::{apply, apply_joined, View};
use common::{client_at, spawn_server, Event};
use futures_util::SinkExt;

/// Authors in the burst, and the edits and reactions each sends at most (paced, so that the
/// server is killed well before they are through: the whole stream stays under the 1000
/// entries one resume recovers).
const AUTHORS: u64 = 3;
const ROUNDS: u64 = 300;

/// What one entry was, as far as an edit elsewhere cannot change it afterwards.
#[derive(Debug, PartialEq, Eq)]
enum Seen {
    Message(String),
    Event(chat_shared::Action, u64, String, String),
}

fn seen_event(e: &chat_shared::Event) -> Seen {
    Seen::Event(e.action, e.target, e.name.clone(), e.emoji.clone())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_during_edits_and_reactions_loses_nothing_and_a_resume_is_exact() {
    let data = tempfile::tempdir().unwrap();
    // A large buffer, so that one `joined` may carry the whole stream for the check below.
    let flags = ["--client-buffer-bytes", "8388608"];
    let (mut child, addr, _lines) = spawn_server(data.path(), &flags).await;
    let mut reader = client_at(&addr, "room=burst").await;
    let mut authors = Vec::new();
    for n in 0..AUTHORS {
        let mut author = client_at(&addr, "room=burst").await;
        author.hello(&format!("w{n}"), None).await;
        author.say_in("burst", &format!("m{n}")).await;
        // Its own message (and whatever else came first) before the next author posts.
        while !matches!(author.rx.frame().await, ServerFrame::Message(m) if m.name == format!("w{n}"))
        {
        }
        authors.push(author);
    }
    let mut view = View::new();
    let mut seen: BTreeMap<u64, Seen> = BTreeMap::new();
    let mut last_id = 0;
    for _ in 0..AUTHORS {
        let m = reader.rx.message().await;
        last_id = m.id;
        seen.insert(m.id, Seen::Message(m.name.clone()));
        view.insert(m.id, m);
    }
    let first = *view.keys().next().unwrap();
    let mut tasks = Vec::new();
    for (n, author) in authors.into_iter().enumerate() {
        let n = n as u64;
        tasks.push(tokio::spawn(async move {
            let mut author = author;
            for i in 0..ROUNDS {
                let edit = ClientFrame::Edit {
                    room: "burst".into(),
                    id: first + n,
                    text: format!("m{n} v{i}"),
                };
                let react = ClientFrame::React {
                    room: "burst".into(),
                    id: first + (n + 1) % AUTHORS,
                    emoji: ["👍", "🎉", "👀"][(i % 3) as usize].into(),
                };
                for frame in [edit, react] {
                    let json = chat_shared::encode_client(&frame).unwrap();
                    if author.tx.0.send(json.into()).await.is_err() {
                        return;
                    }
                }
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
            // Read on until the server is gone: a socket closed with unread data is reset,
            // and the server would drop what it had not read yet.
            while let Some(Event::Frame(_) | Event::Ping) =
                author.rx.next_event(Duration::from_secs(30)).await
            {}
        }));
    }
    // Read a while into the burst, then kill the server while it is still going.
    while seen.len() < 300 {
        match reader.rx.frame().await {
            ServerFrame::Event(e) => {
                last_id = e.id;
                seen.insert(e.id, seen_event(&e));
                apply(&mut view, &e);
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    child.start_kill().unwrap();
    // Whatever was already on its way to the reader counts as seen too.
    while let Some(Event::Frame(ServerFrame::Event(e))) =
        reader.rx.next_event(Duration::from_secs(2)).await
    {
        last_id = e.id;
        seen.insert(e.id, seen_event(&e));
        apply(&mut view, &e);
    }
    child.wait().await.unwrap();
    for task in tasks {
        let _ = task.await;
    }

    let (_child, addr, _lines) = spawn_server(data.path(), &flags).await;
    let mut checker = client_at(&addr, "room=").await;
    // The whole stream from the start: every entry the reader saw is there, as it saw it.
    let first_joined = checker.join("burst", None, None).await;
    let all = checker
        .join("burst", Some(0), Some(&first_joined.epoch))
        .await;
    assert!(all.recovered, "the whole stream in one answer");
    let mut stored: BTreeMap<u64, Seen> = all
        .messages
        .iter()
        .map(|m| (m.id, Seen::Message(m.name.clone())))
        .collect();
    stored.extend(all.events.iter().map(|e| (e.id, seen_event(e))));
    for (id, entry) in &seen {
        assert_eq!(
            stored.get(id),
            Some(entry),
            "entry {id} was seen but not kept"
        );
    }
    assert!(stored.len() >= seen.len());
    assert!(
        stored.len() < (AUTHORS * (1 + 2 * ROUNDS)) as usize,
        "killed during the burst"
    );
    // The reader resumes from the last id it saw and ends with the room as stored.
    let gap = checker
        .join("burst", Some(last_id), Some(&first_joined.epoch))
        .await;
    assert!(gap.recovered);
    apply_joined(&mut view, &gap);
    let latest: View = first_joined
        .messages
        .into_iter()
        .map(|m| (m.id, m))
        .collect();
    let mut from_start = View::new();
    apply_joined(&mut from_start, &all);
    assert_eq!(view, latest, "resumed state = the latest page");
    assert_eq!(
        from_start, latest,
        "the whole stream replayed = the latest page"
    );
}
