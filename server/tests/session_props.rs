//! Property test: any sequence of client frames, valid or not, leaves the server answering,
//! and the ids every member sees in a room only ever increase. The frames are mostly valid
//! (rooms the clients are in, plain texts, short names), so that every kind of frame reaches
//! the session's real work, not only its refusals: the test checks that each was answered
//! with success at least once over the run.

mod common;

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chat_shared::{encode_client, ClientFrame, ServerFrame};
use common::{Event, TestServer};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

fn room() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => prop::sample::select(vec!["lobby", "a", "b"]).prop_map(String::from),
        1 => "[a-zA-Z0-9 _%-]{0,70}",
    ]
}

fn text() -> impl Strategy<Value = String> {
    prop_oneof![4 => "[a-z]{1,10}( [a-z]{1,10}){0,3}", 1 => ".{0,40}"]
}

fn frame() -> impl Strategy<Value = String> {
    let client = prop_oneof![
        (
            room(),
            text(),
            prop::option::of("[a-z0-9]{0,70}"),
            prop::option::of(0u64..40)
        )
            .prop_map(|(room, text, cid, reply_to)| {
                ClientFrame::Send {
                    reply_to,
                    room: Some(room),
                    text,
                    cid,
                }
            }),
        (room(), 0u64..40, text()).prop_map(|(room, id, text)| ClientFrame::Edit {
            room,
            id,
            text
        }),
        // Mostly the first ids and real emoji, so that some reactions land (the check below).
        (
            room(),
            prop_oneof![3 => 1u64..4, 1 => 0u64..40],
            prop_oneof![3 => "👍|🎉|❤️|👍🏽", 1 => ".{0,8}"]
        )
            .prop_map(|(room, id, emoji)| ClientFrame::React { room, id, emoji }),
        (
            room(),
            prop::option::of(any::<u64>()),
            prop::option::of(".{0,20}")
        )
            .prop_map(|(room, since, epoch)| ClientFrame::Join { room, since, epoch }),
        room().prop_map(|room| ClientFrame::Leave { room }),
        room().prop_map(|room| ClientFrame::Typing { room }),
        (
            room(),
            prop::option::of(any::<u64>()),
            prop::option::of(0u64..60),
            prop::option::of(any::<u32>())
        )
            .prop_map(|(room, before, around, limit)| ClientFrame::History {
                room,
                before,
                around,
                limit
            }),
        (
            prop_oneof![3 => "[a-z]{3,8}", 1 => ".{0,40}"],
            prop::option::of("[0-9a-f]{0,40}")
        )
            .prop_map(|(name, token)| ClientFrame::Hello { name, token }),
        (
            room(),
            prop::option::of(".{0,20}"),
            prop::option::of(any::<u32>())
        )
            .prop_map(|(room, after, limit)| ClientFrame::Members { room, after, limit }),
        (room(), 0u64..40).prop_map(|(room, id)| ClientFrame::Delete { room, id }),
        ".{0,60}".prop_map(|token| ClientFrame::Refresh { token }),
        (room(), any::<u64>()).prop_map(|(room, id)| ClientFrame::Read { room, id }),
        (
            prop_oneof![3 => "[a-z]{1,10}( [a-z]{1,10}\\*?){0,2}", 1 => ".{0,80}"],
            prop::option::of(any::<u64>())
        )
            .prop_map(|(q, before)| ClientFrame::Search { q, before }),
    ]
    .prop_map(|frame| encode_client(&frame).unwrap_or_default());
    prop_oneof![
        8 => client,
        1 => ".{0,60}",
        1 => Just(r#"{"type":"join","room":"a","since":-5}"#.to_string()),
        1 => Just(r#"{"type":"send","room":null,"text":"x"}"#.to_string()),
    ]
}

/// The client frame whose success a server frame shows, if it shows one.
fn answered(frame: &ServerFrame) -> Option<&'static str> {
    Some(match frame {
        ServerFrame::Welcome { .. } => "hello",
        ServerFrame::Joined(joined) if joined.room != "check" => "join",
        ServerFrame::Left { .. } => "leave",
        ServerFrame::Message(_) => "send",
        ServerFrame::Typing { .. } => "typing",
        ServerFrame::History { .. } => "history",
        ServerFrame::Members { .. } => "members",
        ServerFrame::Results { .. } => "search",
        ServerFrame::Event(event) => match event.action {
            chat_shared::Action::Edit => "edit",
            chat_shared::Action::Delete => "delete",
            chat_shared::Action::React | chat_shared::Action::Unreact => "react",
        },
        _ => return None,
    })
}

#[test]
fn random_frames_never_break_the_server_and_ids_only_increase() {
    let succeeded: Arc<Mutex<HashSet<&'static str>>> = Arc::default();
    let strategy = prop::collection::vec(prop::collection::vec(frame(), 1..30), 2..4);
    let mut runner = TestRunner::new(Config {
        cases: 24,
        ..Config::default()
    });
    let seen = succeeded.clone();
    let result = runner.run(&strategy, move |sequences| {
        let seen = seen.clone();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let server = TestServer::start().await;
            let mut clients = Vec::new();
            for _ in &sequences {
                clients.push(server.connect().await);
            }
            let mut tasks = Vec::new();
            for (mut client, frames) in clients.into_iter().zip(sequences) {
                client.rx.notices = true;
                let seen = seen.clone();
                tasks.push(tokio::spawn(async move {
                    for frame in frames {
                        client.tx.raw(&frame).await;
                    }
                    // Still answering after all of it.
                    client.tx.raw(r#"{"type":"join","room":"check"}"#).await;
                    let mut last: HashMap<String, u64> = HashMap::new();
                    loop {
                        let frame = match client.rx.next_event(Duration::from_secs(10)).await {
                            Some(Event::Frame(frame)) => frame,
                            Some(Event::Ping) => continue,
                            other => panic!("connection lost: {other:?}"),
                        };
                        if let Some(kind) = answered(&frame) {
                            seen.lock().unwrap().insert(kind);
                        }
                        match frame {
                            ServerFrame::Message(m) => {
                                let previous = last.insert(m.room.clone(), m.id);
                                assert!(
                                    previous.is_none_or(|p| p < m.id),
                                    "ids went back in {}",
                                    m.room
                                );
                            }
                            ServerFrame::Joined(joined) => {
                                // A (re)join starts the room's count afresh from its page.
                                last.insert(joined.room.clone(), joined.last_id);
                                if joined.room == "check" {
                                    return;
                                }
                            }
                            _ => {}
                        }
                    }
                }));
            }
            for task in tasks {
                task.await.expect("client task");
            }
        });
        Ok(())
    });
    if let Err(failure) = result {
        panic!("{failure}");
    }
    // Every kind of client frame did its real work at least once (a kind added to the protocol
    // fails here until the strategy above sends it).
    let succeeded = succeeded.lock().unwrap();
    // `edit` and `delete` need a message sent under a name the same client holds, `react` a
    // message that exists in a room the client is in at that moment (and its event may arrive
    // after the final check), sequences random frames make too seldom to count on; `refresh`
    // needs a token, `read` an account. Here they are mostly refused (and must not break
    // anything); tests/message_actions.rs, deletion.rs, jwt.rs and read_positions.rs have them
    // succeed.
    const NOT_IN_OPEN_MODE: &[&str] = &["edit", "delete", "react", "refresh", "read"];
    for kind in <ClientFrame as strum::VariantNames>::VARIANTS {
        if NOT_IN_OPEN_MODE.contains(kind) {
            continue;
        }
        assert!(
            succeeded.contains(kind),
            "no {kind} frame succeeded; only {succeeded:?}"
        );
    }
}
