//! Micro-benchmarks of the per-message path without the network or the database: encoding a
//! message once, appending it once to its room's feed, and each member taking what is new as
//! one coalesced frame. Run with `cargo bench -p chat-server --bench fanout`.

use std::sync::Arc;

use chat_server::rooms::Room;
use chat_server::rooms::{Member, Next};
use chat_shared::{encode, ChatMessage, ServerFrame};
use divan::counter::ItemsCount;
use divan::Bencher;
use tungstenite::Utf8Bytes;

fn main() {
    divan::main();
}

/// Messages published between two drains: how far writers lag behind under load.
const BURST: usize = 32;

fn room_with(members: usize) -> (Arc<Room>, Vec<Arc<Member>>) {
    let room = Arc::new(Room::new(
        "bench".into(),
        1,
        "e".into(),
        0,
        0,
        chat_server::rooms::RoomLinks {
            budget_bytes: 1 << 30,
            metrics: Default::default(),
            cluster: None,
            presence_due: Default::default(),
            page_bytes: Default::default(),
            presence_list_max: 0,
        },
    ));
    let members_of_room: Vec<_> = (0..members)
        .map(|i| {
            let member = Arc::new(Member::new(i as u64 + 1, 1 << 20));
            let attached = room
                .attach(&member, &format!("member{i}"))
                .expect("a live room");
            member.add_room(attached.sub);
            member
        })
        .collect();
    (room, members_of_room)
}

fn message_frame(id: u64) -> Utf8Bytes {
    let message = ChatMessage {
        id,
        room: "bench".into(),
        name: "alice".into(),
        text: "b 123456789 3 42".into(),
        ts: 1_764_000_000_000,
        cid: None,
        ..Default::default()
    };
    Utf8Bytes::from(encode(&ServerFrame::Message(message)).unwrap_or_default())
}

/// Encode and release a burst, then let every member take its coalesced batch, as writers do.
/// Counted in deliveries (messages x members).
#[divan::bench(args = [100, 1000, 5000])]
fn publish_and_coalesce(bencher: Bencher, members: usize) {
    let (room, members_of_room) = room_with(members);
    let mut id = 0;
    bencher
        .counter(ItemsCount::new(BURST * members))
        .bench_local(|| {
            for _ in 0..BURST {
                id += 1;
                room.release(id, message_frame(id));
            }
            for member in &members_of_room {
                while let Some(Next::Frame(frame)) = member.try_next() {
                    divan::black_box(frame);
                }
            }
        });
}

/// One member, far behind: take a burst of shared frames from the feed as one coalesced frame.
#[divan::bench(args = [1, 8, 64])]
fn coalesce(bencher: Bencher, burst: usize) {
    let (room, members_of_room) = room_with(1);
    let frame = message_frame(1);
    let mut id = 0;
    bencher.counter(ItemsCount::new(burst)).bench_local(|| {
        for _ in 0..burst {
            id += 1;
            room.release(id, frame.clone());
        }
        divan::black_box(members_of_room[0].try_next());
    });
}
