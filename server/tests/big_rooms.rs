//! Big rooms: presence must grow with the room, not with its square. Members are shown
//! arrivals and departures at most once a second per room, all of that second's in one frame.

mod common;

use std::collections::HashSet;
use std::time::{Duration, Instant};

use chat_shared::ServerFrame;
use common::{Event, TestServer};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_joins_in_a_row_cost_each_member_about_one_presence_frame_a_second() {
    let server = TestServer::start().await;
    let (mut watcher, _) = server.connect_to("room=big").await;
    watcher.rx.notices = true;
    let started = Instant::now();
    let mut members = Vec::new();
    for _ in 0..999 {
        members.push(server.connect_to("room=big").await.0);
    }
    let joining = started.elapsed();
    // The watcher hears every arrival, in few frames.
    let mut frames = 0;
    let mut seen = HashSet::new();
    while seen.len() < 999 {
        match watcher.rx.next_event(Duration::from_secs(5)).await {
            Some(Event::Frame(ServerFrame::Presence { joined, left, .. })) => {
                frames += 1;
                assert!(left.is_empty());
                for name in joined {
                    assert!(seen.insert(name), "a name announced twice");
                }
            }
            Some(Event::Frame(_)) => {}
            other => panic!("{} of 999 arrivals heard, then {other:?}", seen.len()),
        }
    }
    let most = joining.as_secs() + 2;
    assert!(
        frames <= most,
        "{frames} presence frames for 999 joins over {joining:?} (at most {most})"
    );
    // A quiet room shows a change at once, not after the interval.
    tokio::time::sleep(chat_server::rooms::PRESENCE_INTERVAL).await;
    drop(members.pop());
    let shown = Instant::now();
    loop {
        match watcher.rx.next_event(Duration::from_secs(5)).await {
            Some(Event::Frame(ServerFrame::Presence { left, .. })) if !left.is_empty() => break,
            Some(_) => {}
            None => panic!("the departure was not shown"),
        }
    }
    assert!(
        shown.elapsed() < Duration::from_millis(500),
        "{:?}",
        shown.elapsed()
    );
}

#[tokio::test]
async fn a_room_over_the_list_limit_shows_how_many_not_who() {
    let server = TestServer::start_with(|config| config.presence_list_max = 3).await;
    let (mut watcher, _) = server.connect_to("room=crowd").await;
    watcher.rx.notices = true;
    let mut members = Vec::new();
    for _ in 0..2 {
        let (client, joined) = server.connect_to("room=crowd").await;
        let joined = joined.unwrap();
        assert_eq!(joined.count, None, "listed while at most 3");
        members.push(client);
    }
    let (fourth, joined) = server.connect_to("room=crowd").await;
    let joined = joined.unwrap();
    assert!(joined.members.is_empty());
    assert_eq!(joined.count, Some(4));
    members.push(fourth);
    // The watcher is eventually told the room holds 4, without names.
    loop {
        match watcher.rx.frame().await {
            ServerFrame::Presence {
                count: Some(4),
                joined,
                left,
                ..
            } => {
                assert!(joined.is_empty() && left.is_empty());
                break;
            }
            ServerFrame::Presence { .. } => {}
            other => panic!("unexpected {other:?}"),
        }
    }
}

#[tokio::test]
async fn a_rename_to_another_case_right_after_a_change_is_still_shown() {
    let server = TestServer::start().await;
    let (mut watcher, _) = server.connect_to("room=case").await;
    watcher.rx.notices = true;
    let (mut zoe, _) = server.connect_to("room=case").await;
    let token = zoe.hello("zoë", None).await;
    let shown = |frame: &ServerFrame, name: &str| matches!(frame, ServerFrame::Presence { joined, .. } if joined.iter().any(|n| n == name));
    loop {
        if shown(&watcher.rx.frame().await, "zoë") {
            break;
        }
    }
    // Within the interval that just began: batched, and not cancelled out by the name's key.
    zoe.hello("ZOË", Some(&token)).await;
    loop {
        let frame = watcher.rx.frame().await;
        if shown(&frame, "ZOË") {
            let ServerFrame::Presence { left, .. } = frame else {
                unreachable!()
            };
            assert_eq!(left, ["zoë"]);
            break;
        }
    }
}
