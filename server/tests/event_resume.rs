//! Every event (edit, deletion, reaction given and taken back) and every reply is recovered by
//! the same resume that recovers messages: a client that was away gets each id of its gap
//! exactly once, and applying them leaves it with the room exactly as the server keeps it,
//! also after a restart.

mod common;

use chat_shared::{Action, ServerFrame};
use common::stream::{action as frame, apply, apply_joined, as_stored, ids, View};
use common::TestServer;

#[tokio::test]
async fn a_resume_recovers_every_kind_of_event_exactly_once_even_after_a_restart() {
    let server = TestServer::start().await;
    let (mut alice, _) = server.connect_to("room=keep").await;
    alice.hello("alice", None).await;
    let (mut bob, joined) = server.connect_to("room=keep").await;
    let epoch = joined.unwrap().epoch;
    for text in ["one", "two", "three"] {
        alice.say_in("keep", text).await;
    }
    let mut view: View = bob
        .rx
        .messages(3)
        .await
        .into_iter()
        .map(|m| (m.id, m))
        .collect();
    drop(bob);
    let actions = [
        (1, "edit", "one, edited"),
        (2, "react", "👍"),
        (2, "react", "🎉"),
        (2, "react", "🎉"),
        (3, "delete", ""),
        (1, "reply", "answering one"),
        (9, "edit", "answering one, edited"),
        (9, "react", "👀"),
        (1, "edit", "one, edited twice"),
    ];
    for (id, action, value) in actions {
        alice.tx.send(&frame("keep", id, action, value)).await;
        match alice.rx.frame().await {
            ServerFrame::Message(_) | ServerFrame::Event(_) => {}
            other => panic!("{action} of {id} refused: {other:?}"),
        }
    }
    let server = server.restart().await;
    let (mut back, _) = server.connect_to("room=").await;
    let gap = back.join("keep", Some(3), Some(&epoch)).await;
    assert!(gap.recovered);
    assert_eq!(ids(&gap), (4..=12).collect::<Vec<_>>(), "every id once");
    assert_eq!(gap.messages.len(), 1, "the reply; the rest are events");
    let actions: Vec<Action> = gap.events.iter().map(|e| e.action).collect();
    use Action::*;
    assert_eq!(
        actions,
        [Edit, React, React, Unreact, Delete, Edit, React, Edit]
    );
    apply_joined(&mut view, &gap);
    let stored = as_stored(&server, "keep").await;
    assert_eq!(view, stored, "the resumed view is the room as stored");
    assert_eq!(stored[&1].text, "one, edited twice");
    assert_eq!(stored[&9].reply.as_ref().unwrap().text, "one, edited twice");
    assert!(stored[&3].is_deleted());
    // A resume from inside the gap gets only the rest, and ends in the same place.
    let mut from_middle: View = as_stored(&server, "keep").await;
    let (mut again, _) = server.connect_to("room=").await;
    let rest = again.join("keep", Some(10), Some(&epoch)).await;
    assert!(rest.recovered);
    assert_eq!(ids(&rest), vec![11, 12]);
    apply_joined(&mut from_middle, &rest);
    assert_eq!(from_middle, stored);
}

#[tokio::test]
async fn live_events_leave_every_member_with_the_stored_state() {
    let server = TestServer::start().await;
    let (mut alice, _) = server.connect_to("room=live").await;
    alice.hello("alice", None).await;
    let (mut bob, _) = server.connect_to("room=live").await;
    bob.hello("bob", None).await;
    let mut views = [View::new(), View::new()];
    let script = [
        (true, 0, "send", "hello"),
        (false, 0, "send", "hi"),
        (true, 2, "react", "👋"),
        (false, 1, "react", "👋"),
        (true, 1, "edit", "hello there"),
        (false, 2, "reply", "hi again"),
        (false, 2, "delete", ""),
        (true, 1, "react", "👋"),
    ];
    for (by_alice, id, action, value) in script {
        let sender = if by_alice { &mut alice } else { &mut bob };
        if action == "send" {
            sender.say_in("live", value).await;
        } else {
            sender.tx.send(&frame("live", id, action, value)).await;
        }
        // Each entry reaches both, in the same order.
        for (client, view) in [&mut alice, &mut bob].into_iter().zip(views.iter_mut()) {
            match client.rx.frame().await {
                ServerFrame::Message(m) => {
                    view.insert(m.id, m);
                }
                ServerFrame::Event(e) => apply(view, &e),
                other => panic!("{action} refused: {other:?}"),
            }
        }
    }
    let stored = as_stored(&server, "live").await;
    assert_eq!(views[0], stored);
    assert_eq!(views[1], stored);
    assert_eq!(
        stored[&6].reply.as_ref().unwrap().text,
        "",
        "its original was deleted"
    );
}
