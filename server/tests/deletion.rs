//! Deleting a message: the author their own (an account's, or in open mode a name's held by
//! its token), an administrator any. A deletion is an event of the room's ordered stream:
//! members see it live, a client that resumes later gets it in its gap exactly once, and the
//! text is gone from history and the rendered page.

mod common;

use chat_shared::{Action, ClientFrame, ErrorCode, Event, ServerFrame};
use common::accounts::*;
use common::{Client, TestServer};

/// An administrator `admin` and a member `bob`, each with a socket in the lobby; and their
/// cookies (bob's, then the administrator's).
async fn admin_and_bob(server: &TestServer) -> (Client, Client, String, String) {
    let admin_cookie = set_up(server).await;
    let bob_cookie = invite(server, "bob").await;
    let admin = socket(server, &admin_cookie).await;
    let bob = socket(server, &bob_cookie).await;
    (admin, bob, bob_cookie, admin_cookie)
}

fn delete(id: u64) -> ClientFrame {
    ClientFrame::Delete {
        room: "lobby".into(),
        id,
    }
}

/// The next event `client` receives, which must be a deletion.
async fn deletion(client: &mut Client) -> Event {
    let event = client.rx.change().await;
    assert_eq!(event.action, Action::Delete, "{event:?}");
    event
}

#[tokio::test]
async fn an_author_deletes_their_message_for_everyone_now_and_later() {
    let server = accounts_server().await;
    let (mut admin, mut bob, bob_cookie, _) = admin_and_bob(&server).await;
    bob.say("oops, my password is hunter2").await;
    let said = bob.rx.message().await;
    assert_eq!(admin.rx.message().await.id, said.id);
    // Every message carries its author's account, stable across renames.
    assert!(said.account.is_some());
    bob.tx.send(&delete(said.id)).await;
    for client in [&mut admin, &mut bob] {
        let entry = deletion(client).await;
        assert_eq!(
            (
                entry.id,
                entry.target,
                entry.name.as_str(),
                entry.text.as_str()
            ),
            (said.id + 1, said.id, "bob", "")
        );
    }
    // Gone from history and from the page the server renders.
    let page = admin
        .ask(ClientFrame::History {
            around: None,
            room: "lobby".into(),
            before: None,
            limit: None,
        })
        .await;
    let ServerFrame::History { messages, .. } = page else {
        panic!("expected history, got {page:?}");
    };
    let kept = messages.iter().find(|m| m.id == said.id).unwrap();
    assert!(kept.is_deleted() && kept.text.is_empty(), "{kept:?}");
    let (_, _, html) = get_with_cookie(&server, "/", &bob_cookie).await;
    assert!(!html.contains("hunter2"), "the rendered page still has it");
    // A client that resumes from before the message gets it emptied and the deletion, once.
    let mut later = connect_with(&server, Some(&bob_cookie)).await.unwrap();
    let first = later.rx.joined().await;
    let mut resumed = later
        .join("lobby", Some(said.id - 1), Some(&first.epoch))
        .await;
    assert!(resumed.recovered);
    let ids: Vec<u64> = resumed.messages.iter().map(|m| m.id).collect();
    assert_eq!(ids, vec![said.id]);
    assert!(resumed.messages[0].is_deleted());
    let entry = resumed.events.pop().unwrap();
    assert_eq!(
        (entry.id, entry.action, entry.target),
        (said.id + 1, Action::Delete, said.id)
    );
    assert!(resumed.events.is_empty());
}

#[tokio::test]
async fn only_the_author_or_an_administrator_may_delete() {
    let server = accounts_server().await;
    let (mut admin, mut bob, _, admin_cookie) = admin_and_bob(&server).await;
    admin.say("from the admin").await;
    let admins = admin.rx.message().await;
    bob.rx.message().await;
    bob.tx.send(&delete(admins.id)).await;
    let error = bob.rx.error().await;
    assert_eq!(error.code, ErrorCode::NotAllowed);
    bob.say("from bob").await;
    let bobs = bob.rx.message().await;
    admin.rx.message().await;
    admin.tx.send(&delete(bobs.id)).await;
    let entry = deletion(&mut bob).await;
    assert_eq!((entry.target, entry.name.as_str()), (bobs.id, "admin"));
    assert_eq!(deletion(&mut admin).await, entry);
    // An administrator deleting someone else's message is in the moderation log.
    let (_, _, page) = get_with_cookie(&server, "/admin", &admin_cookie).await;
    assert!(
        page.contains(&format!(
            "<td>admin</td><td>delete_message</td><td>message {} in #lobby by bob</td>",
            bobs.id
        )),
        "{page}"
    );
    // Deleted already, or never there: not found.
    for id in [bobs.id, 999] {
        admin.tx.send(&delete(id)).await;
        assert_eq!(admin.rx.error().await.code, ErrorCode::NotFound, "{id}");
    }
    // A deletion cannot itself be deleted.
    admin.tx.send(&delete(entry.id)).await;
    assert_eq!(admin.rx.error().await.code, ErrorCode::NotFound);
}

#[tokio::test]
async fn in_open_mode_a_name_held_by_its_token_deletes_its_messages_and_a_guest_name_cannot() {
    let server = TestServer::start().await;
    let mut guest = server.connect().await;
    guest.say("said as a guest").await;
    let as_guest = guest.rx.message().await;
    guest.tx.send(&delete(as_guest.id)).await;
    assert_eq!(guest.rx.error().await.code, ErrorCode::NotAllowed);
    let token = guest.hello("zoe", None).await;
    // Still not: it was sent under a guest name, which anyone may have after it.
    guest.tx.send(&delete(as_guest.id)).await;
    assert_eq!(guest.rx.error().await.code, ErrorCode::NotAllowed);
    guest.say("said as zoe").await;
    let as_zoe = guest.rx.message().await;
    // Another connection holding the name by its token may; one that merely took the name
    // after it (here: a connection without the token cannot even take it) may not.
    let mut other_tab = server.connect().await;
    other_tab.hello("zoe", Some(&token)).await;
    other_tab.tx.send(&delete(as_zoe.id)).await;
    assert_eq!(deletion(&mut other_tab).await.target, as_zoe.id);
    assert_eq!(deletion(&mut guest).await.target, as_zoe.id);
    let mut stranger = server.connect().await;
    stranger.hello("mallory", None).await;
    guest.say("zoe again").await;
    let again = stranger.rx.message().await;
    stranger.tx.send(&delete(again.id)).await;
    assert_eq!(stranger.rx.error().await.code, ErrorCode::NotAllowed);
}
