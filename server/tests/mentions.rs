//! Mentions: `@name` resolved to an account when the message is accepted and stored with it (a
//! renamed account stays mentioned), `@room` and `@here` for everyone from accounts once a
//! minute per room, and a room's mark for an account mentioned after its read position.

mod common;

use chat_shared::{ClientFrame, ErrorCode, ServerFrame};
use common::accounts::{accounts_server, cookie_header, id_of, invite, post_form, set_up, socket};
use common::TestServer;

/// The messages of `room` as a fresh join of `cookie` shows them, with its mention mark.
async fn page(server: &TestServer, cookie: &str, room: &str) -> (Vec<(String, Vec<u64>)>, bool) {
    let mut client = socket(server, cookie).await;
    let joined = client.join(room, None, None).await;
    let messages = joined
        .messages
        .into_iter()
        .map(|m| (m.text, m.mentions))
        .collect();
    (messages, joined.mentioned)
}

#[tokio::test]
async fn mentions_are_resolved_when_sent_stored_and_kept_across_a_rename() {
    let server = accounts_server().await;
    let admin = set_up(&server).await;
    let ada = invite(&server, "ada").await;
    invite(&server, "mary+jane").await;
    let (ada_id, mary_id) = (
        id_of(&server, "ada").await,
        id_of(&server, "mary jane").await,
    );
    let mut writer = socket(&server, &admin).await;
    let text = "hi @mary jane, and @ADA! mail x@ada.org, @nobody";
    writer.say_in("lobby", text).await;
    let live = writer.rx.message().await;
    let mut want = vec![ada_id as u64, mary_id as u64];
    want.sort_unstable();
    assert_eq!(live.mentions, want, "live");
    assert_eq!(
        page(&server, &ada, "lobby").await.0,
        vec![(text.into(), want.clone())]
    );

    let accounts = server.state.accounts.as_ref().expect("accounts");
    accounts.rename(ada_id, "ada lovelace").await.unwrap();
    assert_eq!(
        page(&server, &admin, "lobby").await.0[0].1,
        want,
        "a renamed account stays mentioned"
    );

    // An edit mentions what its new text does, live and for a resume; a deletion forgets.
    let before = socket(&server, &ada).await.join("lobby", None, None).await;
    writer
        .tx
        .send(&ClientFrame::Edit {
            room: "lobby".into(),
            id: live.id,
            text: "only @ada lovelace now".into(),
        })
        .await;
    let edited = writer.rx.change().await;
    assert_eq!(edited.mentions, vec![ada_id as u64], "live");
    let mut back = socket(&server, &ada).await;
    let gap = back
        .join("lobby", Some(before.last_id), Some(&before.epoch))
        .await;
    assert_eq!(gap.events, vec![edited], "resumed");
    assert_eq!(
        page(&server, &admin, "lobby").await.0[0].1,
        vec![ada_id as u64]
    );
    writer
        .tx
        .send(&ClientFrame::Delete {
            room: "lobby".into(),
            id: live.id,
        })
        .await;
    writer.rx.change().await;
    assert!(page(&server, &admin, "lobby").await.0[0].1.is_empty());
}

#[tokio::test]
async fn everyone_is_mentioned_by_an_account_once_a_minute_per_room() {
    let server = accounts_server().await;
    let admin = set_up(&server).await;
    let mut writer = socket(&server, &admin).await;
    writer.say_in("lobby", "@room the build is green").await;
    assert_eq!(writer.rx.message().await.mentions, vec![0]);
    writer.say_in("lobby", "@here again").await;
    let error = writer.rx.error().await;
    assert_eq!(error.code, ErrorCode::MentionLimit);
    assert!(
        matches!(error.retry_after_ms, Some(1..=60_000)),
        "the rest of the minute: {:?}",
        error.retry_after_ms
    );
    // Another room is another minute; plain messages go on.
    writer.say_in("lobby", "no mention").await;
    assert!(writer.rx.message().await.mentions.is_empty());
    writer.join("other", None, None).await;
    writer.say_in("other", "@here hello").await;
    assert_eq!(writer.rx.message().await.mentions, vec![0]);

    // A guest's @room is only text.
    let open = TestServer::start().await;
    let (mut guest, _) = open.connect_to("room=lobby").await;
    guest.say_in("lobby", "@room hi").await;
    assert!(guest.rx.message().await.mentions.is_empty());
}

#[tokio::test]
async fn a_room_is_marked_when_someone_mentions_the_account_after_its_read_position() {
    let server = accounts_server().await;
    let admin = set_up(&server).await;
    let ada = invite(&server, "ada").await;
    let mut writer = socket(&server, &admin).await;
    writer.say_in("lobby", "first").await;
    writer.rx.message().await;
    // Her first visit: "first" counts as read.
    let mut reader = socket(&server, &ada).await;
    assert!(!page(&server, &ada, "lobby").await.1);
    reader.say_in("lobby", "@ada talking to myself").await;
    writer.say_in("lobby", "nothing for ada").await;
    writer.rx.messages(2).await;
    assert!(
        !page(&server, &ada, "lobby").await.1,
        "her own mention is no mark"
    );
    writer.say_in("lobby", "@ada look").await;
    writer.rx.message().await;
    assert!(page(&server, &ada, "lobby").await.1);
    assert!(
        !page(&server, &admin, "lobby").await.1,
        "not the administrator's mention"
    );

    // @room marks everyone who has notifications on in the room, not whoever turned them off;
    // a mention by name marks whatever the level. Ids so far: 1-4.
    reader
        .tx
        .send(&ClientFrame::Read {
            room: "lobby".into(),
            id: 4,
        })
        .await;
    loop {
        if let ServerFrame::Read { .. } = reader.rx.frame().await {
            break;
        }
    }
    assert!(!page(&server, &ada, "lobby").await.1, "read up to here");
    let (status, _, _) = post_form(
        &server,
        "/r/lobby/notifications",
        "level=nothing",
        &cookie_header(&ada),
    )
    .await;
    assert_eq!(status, 303);
    writer.say_in("lobby", "@room hello all").await;
    writer.rx.message().await;
    assert!(
        !page(&server, &ada, "lobby").await.1,
        "notifications off: @room is no mark"
    );
    writer.say_in("lobby", "@ada still you").await;
    writer.rx.message().await;
    assert!(page(&server, &ada, "lobby").await.1, "a mention by name is");
}
