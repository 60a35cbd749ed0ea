//! Read positions: where a signed-in account has read to in each room, kept by the server on
//! the rooms' ids, shared live by every connection of the account, never moved back, and
//! there after a reconnect and a restart.

mod common;

use chat_shared::{ClientFrame, ErrorCode, ServerFrame};
use common::accounts::{accounts_server, invite, set_up, socket};
use common::{Client, TestServer};

fn read(room: &str, id: u64) -> ClientFrame {
    ClientFrame::Read {
        room: room.into(),
        id,
    }
}

/// The next `read` frame a client gets (messages before it passed over).
async fn next_read(client: &mut Client) -> (String, u64) {
    loop {
        match client.rx.frame().await {
            ServerFrame::Read { room, id } => return (room, id),
            ServerFrame::Message(_) => continue,
            other => panic!("expected a read position, got {other:?}"),
        }
    }
}

/// The account's read position in `room`, as a fresh join of `cookie` answers it.
async fn position(server: &TestServer, cookie: &str, room: &str) -> Option<u64> {
    let mut client = socket(server, cookie).await;
    client.join(room, None, None).await.read
}

#[tokio::test]
async fn a_read_position_reaches_every_connection_of_the_account_never_goes_back_and_is_kept() {
    let server = accounts_server().await;
    let admin = set_up(&server).await;
    let ada = invite(&server, "ada").await;
    let mut writer = socket(&server, &admin).await;
    // The account's first visit: what the room holds then counts as read.
    let (mut laptop, mut phone) = (socket(&server, &ada).await, socket(&server, &ada).await);
    assert_eq!(
        position(&server, &ada, "lobby").await,
        Some(0),
        "first visit"
    );
    for k in 1..=5 {
        writer.say_in("lobby", &format!("message {k}")).await;
    }
    writer.rx.messages(5).await;
    let mut other = socket(&server, &admin).await;
    assert_eq!(
        position(&server, &ada, "lobby").await,
        Some(0),
        "nothing read since"
    );

    laptop.tx.send(&read("lobby", 3)).await;
    assert_eq!(next_read(&mut laptop).await, ("lobby".into(), 3));
    assert_eq!(
        next_read(&mut phone).await,
        ("lobby".into(), 3),
        "the other device"
    );

    // Back is not a move: nobody is told, and the position stays.
    phone.tx.send(&read("lobby", 2)).await;
    // Beyond the room's last id counts as its last.
    phone.tx.send(&read("lobby", 99)).await;
    assert_eq!(next_read(&mut laptop).await, ("lobby".into(), 5));
    assert_eq!(next_read(&mut phone).await, ("lobby".into(), 5));
    assert_eq!(position(&server, &ada, "lobby").await, Some(5));
    assert_eq!(
        position(&server, &admin, "lobby").await,
        Some(0),
        "each account its own (the administrator's first visit)"
    );
    // Another account is not told (its next frame is its own message).
    other.say_in("lobby", "after").await;
    other.rx.nothing_before("after").await;
    let last = 6;

    let server = server.restart().await;
    assert_eq!(
        position(&server, &ada, "lobby").await,
        Some(5),
        "after a restart"
    );
    let mut again = socket(&server, &ada).await;
    again.tx.send(&read("lobby", last)).await;
    assert_eq!(next_read(&mut again).await, ("lobby".into(), last));
}

#[tokio::test]
async fn guests_and_rooms_not_joined_get_a_clear_refusal() {
    let server = TestServer::start().await;
    let (mut guest, _) = server.connect_to("room=lobby").await;
    guest.say_in("lobby", "hello").await;
    guest.tx.send(&read("lobby", 1)).await;
    let error = loop {
        match guest.rx.frame().await {
            ServerFrame::Error(error) => break error,
            ServerFrame::Message(_) => continue,
            other => panic!("expected an error, got {other:?}"),
        }
    };
    assert_eq!(
        (error.code, error.room.as_deref()),
        (ErrorCode::NotAllowed, Some("lobby"))
    );

    let accounts = accounts_server().await;
    let admin = set_up(&accounts).await;
    let mut member = socket(&accounts, &admin).await;
    member.tx.send(&read("elsewhere", 1)).await;
    assert_eq!(member.rx.error().await.code, ErrorCode::NotJoined);
}

#[tokio::test]
async fn a_join_counts_the_messages_of_others_after_the_read_position() {
    let server = accounts_server().await;
    let admin = set_up(&server).await;
    let ada = invite(&server, "ada").await;
    let mut writer = socket(&server, &admin).await;
    writer.say_in("lobby", "read already").await;
    writer.rx.message().await;
    // Her first visit: the message there already counts as read.
    let mut reader = socket(&server, &ada).await;
    let unread = |server, cookie| async move {
        let mut client = socket(server, cookie).await;
        let joined = client.join("lobby", None, None).await;
        (joined.read, joined.unread)
    };
    assert_eq!(unread(&server, &ada).await, (Some(1), Some(0)));
    reader.say_in("lobby", "mine is not unread").await;
    assert_eq!(reader.rx.message().await.id, 2);
    for text in ["one", "two", "three"] {
        writer.say_in("lobby", text).await;
    }
    writer
        .tx
        .send(&ClientFrame::React {
            room: "lobby".into(),
            id: 3,
            emoji: "👍".into(),
        })
        .await;
    writer
        .tx
        .send(&ClientFrame::Delete {
            room: "lobby".into(),
            id: 3,
        })
        .await;
    writer.say_in("lobby", "marker").await;
    loop {
        match writer.rx.frame().await {
            ServerFrame::Message(m) if m.text == "marker" => break,
            ServerFrame::Message(_) | ServerFrame::Event(_) => {}
            other => panic!("{other:?}"),
        }
    }
    // Ids 2-8: ada's own, three of the admin's ("two" deleted since), a reaction, a deletion
    // and the marker: "one", "three" and "marker" are unread.
    assert_eq!(unread(&server, &ada).await, (Some(1), Some(3)));
    // The administrator never sent a `read`: its first visit (before any message) is its
    // position, and what others wrote since, ada's, is unread.
    assert_eq!(unread(&server, &admin).await, (Some(0), Some(1)));
}

/// The rooms the page at `/` embeds for `cookie`'s sidebar.
async fn sidebar(server: &TestServer, cookie: &str) -> Vec<String> {
    let (status, _, body) = common::accounts::get_with_cookie(server, "/", cookie).await;
    assert_eq!(status, 200, "{body}");
    let start = body.find("id=\"chat-initial\"").expect("the page's start");
    let json = &body[body[start..].find('>').unwrap() + start + 1..];
    let json = &json[..json.find("</script>").unwrap()];
    let initial: serde_json::Value = serde_json::from_str(json).unwrap();
    initial["rooms"]
        .as_array()
        .map(|rooms| {
            rooms
                .iter()
                .map(|r| r.as_str().unwrap().to_string())
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn every_browser_of_an_account_lists_its_rooms_and_no_one_elses() {
    let server = accounts_server().await;
    let admin = set_up(&server).await;
    let ada = invite(&server, "ada").await;
    let mut her = socket(&server, &ada).await;
    her.join("news", None, None).await;
    let private = common::accounts::private_room(&server, &admin, "team", "ada").await;
    let secret = common::accounts::private_room(&server, &admin, "secret", "").await;
    // Another browser of ada's (a fresh sign-in) lists what she has read in and her private
    // room, not the administrator's.
    let phone = common::accounts::sign_in(&server, "ada").await;
    let mut listed = sidebar(&server, &phone).await;
    listed.sort();
    let mut want = vec!["lobby".to_string(), "news".into(), private.clone()];
    want.sort();
    assert_eq!(listed, want);
    assert!(!sidebar(&server, &admin).await.is_empty());
    assert!(!sidebar(&server, &phone).await.contains(&secret));
    // Removed from the private room, she no longer finds it listed, though she read there.
    her.join(&private, None, None).await;
    let ada_id = common::accounts::id_of(&server, "ada").await;
    let (status, _, _) = common::accounts::post_form(
        &server,
        &format!("/r/{private}/members/{ada_id}/remove"),
        "",
        &common::accounts::cookie_header(&admin),
    )
    .await;
    assert_eq!(status, 303);
    assert!(!sidebar(&server, &phone).await.contains(&private));
}
