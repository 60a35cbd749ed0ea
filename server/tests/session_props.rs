//! Property test: any sequence of client frames, valid or not, leaves the server answering,
//! and the ids every member sees in a room only ever increase.

mod common;

use std::collections::HashMap;
use std::time::Duration;

use chat_shared::{encode_client, ClientFrame, ServerFrame};
use common::{Event, TestServer};
use proptest::prelude::*;

fn room() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("lobby".to_string()),
        Just("a".to_string()),
        Just("b".to_string()),
        "[a-zA-Z0-9 _%-]{0,70}",
    ]
}

fn frame() -> impl Strategy<Value = String> {
    let client = prop_oneof![
        (room(), ".{0,40}", prop::option::of("[a-z0-9]{0,70}")).prop_map(|(room, text, cid)| {
            ClientFrame::Send {
                room: Some(room),
                text,
                cid,
            }
        }),
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
            prop::option::of(any::<u32>())
        )
            .prop_map(|(room, before, limit)| ClientFrame::History {
                room,
                before,
                limit
            }),
        (".{0,40}", prop::option::of("[0-9a-f]{0,40}"))
            .prop_map(|(name, token)| ClientFrame::Hello { name, token }),
    ]
    .prop_map(|frame| encode_client(&frame).unwrap_or_default());
    prop_oneof![
        8 => client,
        1 => ".{0,60}",
        1 => Just(r#"{"type":"join","room":"a","since":-5}"#.to_string()),
        1 => Just(r#"{"type":"send","room":null,"text":"x"}"#.to_string()),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]
    #[test]
    fn random_frames_never_break_the_server_and_ids_only_increase(
        sequences in prop::collection::vec(prop::collection::vec(frame(), 1..30), 2..4)
    ) {
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
                tasks.push(tokio::spawn(async move {
                    for frame in frames {
                        client.tx.raw(&frame).await;
                    }
                    // Still answering after all of it.
                    client.tx.raw(r#"{"type":"join","room":"check"}"#).await;
                    let mut last: HashMap<String, u64> = HashMap::new();
                    loop {
                        match client.rx.next_event(Duration::from_secs(10)).await {
                            Some(Event::Frame(ServerFrame::Message(m))) => {
                                let previous = last.insert(m.room.clone(), m.id);
                                assert!(previous.is_none_or(|p| p < m.id), "ids went back in {}", m.room);
                            }
                            Some(Event::Frame(ServerFrame::Joined(joined))) => {
                                // A (re)join starts the room's count afresh from its page.
                                last.insert(joined.room.clone(), joined.last_id);
                                if joined.room == "check" {
                                    return;
                                }
                            }
                            Some(Event::Frame(_)) | Some(Event::Ping) => {}
                            other => panic!("connection lost: {other:?}"),
                        }
                    }
                }));
            }
            for task in tasks {
                task.await.expect("client task");
            }
        });
    }
}
