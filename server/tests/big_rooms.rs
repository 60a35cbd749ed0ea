//! Big rooms: presence must grow with the room, not with its square. Members are shown
//! arrivals and departures at most once a second per room, all of that second's in one frame.

mod common;

use std::collections::HashSet;
use std::time::{Duration, Instant};

use chat_shared::{ClientFrame, ErrorCode, ServerFrame};
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

/// Asks for every page of `room`'s members, `limit` at a time; returns the names and the counts
/// the pages gave.
async fn all_members(client: &mut common::Client, room: &str, limit: u32) -> (Vec<String>, u64) {
    let mut names: Vec<String> = Vec::new();
    let mut pages = 0;
    loop {
        let frame = client
            .ask(ClientFrame::Members {
                room: room.into(),
                after: names.last().cloned(),
                limit: Some(limit),
            })
            .await;
        let ServerFrame::Members {
            members,
            count,
            more,
            ..
        } = frame
        else {
            panic!("expected members, got {frame:?}");
        };
        pages += 1;
        assert!(members.len() <= limit as usize);
        names.extend(members);
        if !more {
            return (names, count);
        }
        assert!(pages < 100, "paging does not end");
    }
}

#[tokio::test]
async fn a_crowd_is_listed_by_page_and_in_full_once_it_shrinks() {
    let server = TestServer::start_with(|config| config.presence_list_max = 10).await;
    let (mut watcher, _) = server.connect_to("room=crowd").await;
    let mut members = Vec::new();
    for _ in 0..11 {
        members.push(server.connect_to("room=crowd").await.0);
    }
    // 12 here, more than 10: a page at a time, each name once, in key order.
    let (names, count) = all_members(&mut watcher, "crowd", 5).await;
    assert_eq!(count, 12);
    assert_eq!(names.len(), 12, "{names:?}");
    let keys: Vec<String> = names.iter().map(|n| chat_shared::name_key(n)).collect();
    assert!(keys.windows(2).all(|w| w[0] < w[1]), "{keys:?}");
    // Only a member may ask.
    let (mut outsider, _) = server.connect_to("room=elsewhere").await;
    let frame = outsider
        .ask(ClientFrame::Members {
            room: "crowd".into(),
            after: None,
            limit: None,
        })
        .await;
    assert!(
        matches!(&frame, ServerFrame::Error(e) if e.code == ErrorCode::NotJoined),
        "{frame:?}"
    );
    // Down to 10: still counted (it lists again at nine tenths, so a room at the limit does
    // not send everyone the list every second); down to 9: everyone is listed in one presence
    // frame, which replaces the count.
    watcher.rx.notices = true;
    for expected in [Some(11), Some(10), None] {
        drop(members.pop());
        let (joined, count) = loop {
            match watcher.rx.frame().await {
                ServerFrame::Presence {
                    joined,
                    left,
                    count,
                    ..
                } => {
                    assert!(left.is_empty());
                    break (joined, count);
                }
                ServerFrame::Members { .. } | ServerFrame::Error(_) => {}
                other => panic!("unexpected {other:?}"),
            }
        };
        assert_eq!(count, expected);
        if expected.is_none() {
            assert_eq!(joined.len(), 9, "everyone listed: {joined:?}");
        }
    }
    let (again, count) = all_members(&mut watcher, "crowd", 1000).await;
    assert_eq!((again.len(), count), (9, 9));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_of_members_too_big_for_one_answer_is_cut_and_continued() {
    let server = TestServer::start_with(|config| {
        common::without_rate_limits(config);
        config.client_buffer_bytes = chat_server::MIN_CLIENT_BUFFER_BYTES;
        config.presence_list_max = 10;
    })
    .await;
    // 300 names of 32 four-byte characters: ~39 KB of names, over the 32 KiB an answer may take.
    let mut members = Vec::new();
    for i in 0..300u32 {
        let (mut client, _) = server.connect_to("room=wide").await;
        let unique = [0x20100 + i / 100, 0x20200 + i % 100].map(|c| char::from_u32(c).unwrap());
        let name: String = std::iter::repeat_n('\u{20000}', 30).chain(unique).collect();
        client.hello(&name, None).await;
        members.push(client);
    }
    let watcher = members.last_mut().unwrap();
    let first = watcher
        .ask(ClientFrame::Members {
            room: "wide".into(),
            after: None,
            limit: None,
        })
        .await;
    let ServerFrame::Members {
        members: page,
        more,
        ..
    } = first
    else {
        panic!("expected members, got {first:?}");
    };
    assert!(
        more && page.len() < 300,
        "{} names in one answer",
        page.len()
    );
    let (names, count) = all_members(watcher, "wide", 1000).await;
    assert_eq!(count, 300);
    let distinct: HashSet<&String> = names.iter().collect();
    assert_eq!((names.len(), distinct.len()), (300, 300));
}
