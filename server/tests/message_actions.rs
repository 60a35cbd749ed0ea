//! What people do to messages already sent (issue 24): edit, react, reply, and a page of
//! history around a message. Each is an event of the room's ordered stream (or, for a reply,
//! a message naming its original), live for every member, kept in the store, and shown in its
//! current state by history and the rendered page. Deletion has its own file (`deletion.rs`),
//! resume of every event type `event_resume.rs`.

mod common;

use chat_shared::{
    Action, ChatMessage, ClientFrame, ErrorCode, ServerFrame, MAX_EMOJI_PER_MESSAGE,
    MAX_REACTIONS_PER_MESSAGE, MAX_REACTIONS_PER_PERSON, MAX_TEXT_CHARS,
};
use common::{without_rate_limits, Client, TestServer};

pub fn edit(id: u64, text: &str) -> ClientFrame {
    ClientFrame::Edit {
        room: "lobby".into(),
        id,
        text: text.into(),
    }
}

pub fn react(id: u64, emoji: &str) -> ClientFrame {
    ClientFrame::React {
        room: "lobby".into(),
        id,
        emoji: emoji.into(),
    }
}

fn reply(to: u64, text: &str) -> ClientFrame {
    ClientFrame::Send {
        room: Some("lobby".into()),
        text: text.into(),
        cid: None,
        reply_to: Some(to),
    }
}

/// The lobby's latest page, as a `history` request answers it.
async fn history(client: &mut Client) -> Vec<ChatMessage> {
    match client
        .ask(ClientFrame::History {
            room: "lobby".into(),
            before: None,
            around: None,
            limit: None,
        })
        .await
    {
        ServerFrame::History { messages, .. } => messages,
        other => panic!("expected history, got {other:?}"),
    }
}

fn find(messages: &[ChatMessage], id: u64) -> &ChatMessage {
    messages.iter().find(|m| m.id == id).expect("kept")
}

/// Two people with names held by their tokens, in the lobby.
async fn alice_and_bob(server: &TestServer) -> (Client, Client) {
    let mut alice = server.connect().await;
    alice.hello("alice", None).await;
    let mut bob = server.connect().await;
    bob.hello("bob", None).await;
    (alice, bob)
}

#[tokio::test]
async fn an_author_edits_their_message_in_place_for_everyone() {
    let server = TestServer::start().await;
    let (mut alice, mut bob) = alice_and_bob(&server).await;
    alice.say("teh first").await;
    let said = alice.rx.message().await;
    bob.rx.message().await;
    alice.tx.send(&edit(said.id, "  the first  ")).await;
    for client in [&mut alice, &mut bob] {
        let event = client.rx.change().await;
        assert_eq!(
            (event.id, event.action, event.target),
            (said.id + 1, Action::Edit, said.id)
        );
        assert_eq!(
            (event.name.as_str(), event.text.as_str()),
            ("alice", "the first")
        );
    }
    // The message keeps its id and place, with its new text and when it was edited.
    let page = history(&mut bob).await;
    let ids: Vec<u64> = page.iter().map(|m| m.id).collect();
    assert_eq!(ids, vec![said.id], "events are not lines of history");
    assert_eq!(page[0].text, "the first");
    assert!(page[0].edited.is_some_and(|ts| ts >= said.ts));
    let (_, html) = server.get("/").await;
    assert!(
        html.contains("the first") && !html.contains("teh first"),
        "{html}"
    );
}

#[tokio::test]
async fn an_edit_is_refused_with_its_reason() {
    let server = TestServer::start().await;
    let (mut alice, mut bob) = alice_and_bob(&server).await;
    alice.say("mine").await;
    let mine = alice.rx.message().await;
    bob.rx.message().await;
    let refusals = [
        (true, edit(mine.id, "not yours"), ErrorCode::NotAllowed),
        (false, edit(mine.id, "   "), ErrorCode::EmptyText),
        (
            false,
            edit(mine.id, &"x".repeat(MAX_TEXT_CHARS + 1)),
            ErrorCode::TextTooLong,
        ),
        (false, edit(999, "nothing there"), ErrorCode::NotFound),
    ];
    for (by_bob, frame, code) in refusals {
        let client = if by_bob { &mut bob } else { &mut alice };
        client.tx.send(&frame).await;
        let error = client.rx.error().await;
        assert_eq!((error.code, error.room.as_deref()), (code, Some("lobby")));
    }
    // An event is not a message: it cannot be edited, and neither can a deleted message.
    alice.tx.send(&edit(mine.id, "mine, fixed")).await;
    let event = alice.rx.change().await;
    alice.tx.send(&edit(event.id, "an event")).await;
    assert_eq!(alice.rx.error().await.code, ErrorCode::NotFound);
    alice
        .tx
        .send(&ClientFrame::Delete {
            room: "lobby".into(),
            id: mine.id,
        })
        .await;
    alice.rx.change().await;
    alice.tx.send(&edit(mine.id, "back from the dead")).await;
    assert_eq!(alice.rx.error().await.code, ErrorCode::NotFound);
    // Nothing refused reached the room: bob's next frames are the two events, then a marker.
    let edited = bob.rx.change().await;
    assert_eq!(edited.text, "mine, fixed");
    assert_eq!(bob.rx.change().await.action, Action::Delete);
    alice.say("marker").await;
    bob.rx.nothing_before("marker").await;
}

#[tokio::test]
async fn a_reaction_toggles_and_says_who_gave_it() {
    let server = TestServer::start().await;
    let (mut alice, mut bob) = alice_and_bob(&server).await;
    alice.say("lunch?").await;
    let said = alice.rx.message().await;
    bob.rx.message().await;
    // The same emoji with or without its variation selector is one reaction.
    bob.tx.send(&react(said.id, "👍")).await;
    alice.tx.send(&react(said.id, "👍")).await;
    bob.tx.send(&react(said.id, "❤")).await;
    let mut seen = Vec::new();
    for _ in 0..3 {
        let event = alice.rx.change().await;
        assert_eq!((event.action, event.target), (Action::React, said.id));
        seen.push((event.name, event.emoji));
    }
    assert_eq!(
        seen,
        [("bob", "👍"), ("alice", "👍"), ("bob", "❤️")].map(|(n, e)| (n.into(), e.into()))
    );
    let page = history(&mut alice).await;
    let reactions = &find(&page, said.id).reactions;
    assert_eq!(reactions.len(), 2);
    assert_eq!(
        (reactions[0].emoji.as_str(), &reactions[0].names),
        ("👍", &vec!["bob".to_string(), "alice".into()])
    );
    assert_eq!(reactions[1].names, vec!["bob"]);
    // Again: taken back.
    bob.tx.send(&react(said.id, "👍")).await;
    let event = alice.rx.change().await;
    assert_eq!(
        (event.action, event.emoji.as_str()),
        (Action::Unreact, "👍")
    );
    let page = history(&mut alice).await;
    assert_eq!(find(&page, said.id).reactions[0].names, vec!["alice"]);
}

#[tokio::test]
async fn a_reaction_must_be_one_emoji_on_a_message_that_is_there() {
    let server = TestServer::start().await;
    let (mut alice, _bob) = alice_and_bob(&server).await;
    alice.say("react to me").await;
    let said = alice.rx.message().await;
    for bad in ["", "ok", "👍👍", "👍 ok", "<b>", "\u{fe0f}"] {
        alice.tx.send(&react(said.id, bad)).await;
        let error = alice.rx.error().await;
        assert_eq!(error.code, ErrorCode::InvalidReaction, "{bad:?}");
    }
    alice.tx.send(&react(said.id + 40, "👍")).await;
    assert_eq!(alice.rx.error().await.code, ErrorCode::NotFound);
    // An emoji with its skin tone, or a joined sequence, is one emoji.
    for one in ["👍🏽", "🧑‍🤝‍🧑"] {
        alice.tx.send(&react(said.id, one)).await;
        assert_eq!(alice.rx.change().await.emoji, one);
    }
}

#[tokio::test]
async fn reactions_are_bounded_per_person_and_per_message() {
    let server = TestServer::start_with(without_rate_limits).await;
    let (mut alice, mut bob) = alice_and_bob(&server).await;
    alice.say("popular").await;
    let said = alice.rx.message().await;
    bob.rx.message().await;
    let emoji: Vec<&str> = ["😀", "😃", "😄", "😁", "😆", "😅", "🤣", "😂", "🙂", "🙃"]
        .into_iter()
        .chain([
            "😉", "😊", "😇", "🥰", "😍", "🤩", "😘", "😗", "😚", "😙", "🥲",
        ])
        .collect();
    assert!(emoji.len() > MAX_EMOJI_PER_MESSAGE);
    for e in &emoji[..MAX_REACTIONS_PER_PERSON] {
        alice.tx.send(&react(said.id, e)).await;
        alice.rx.change().await;
    }
    alice
        .tx
        .send(&react(said.id, emoji[MAX_REACTIONS_PER_PERSON]))
        .await;
    assert_eq!(alice.rx.error().await.code, ErrorCode::ReactionLimit);
    // Another person may add to them, and bring new ones up to the message's limit.
    for _ in 0..MAX_REACTIONS_PER_PERSON {
        bob.rx.change().await;
    }
    for e in &emoji[MAX_REACTIONS_PER_PERSON..MAX_EMOJI_PER_MESSAGE] {
        bob.tx.send(&react(said.id, e)).await;
        bob.rx.change().await;
    }
    let mut carol = server.connect().await;
    carol.hello("carol", None).await;
    carol
        .tx
        .send(&react(said.id, emoji[MAX_EMOJI_PER_MESSAGE]))
        .await;
    assert_eq!(carol.rx.error().await.code, ErrorCode::ReactionLimit);
    carol.tx.send(&react(said.id, emoji[0])).await;
    assert_eq!(carol.rx.change().await.emoji, emoji[0]);
}

#[tokio::test]
async fn a_reply_quotes_its_original_as_it_is_now() {
    let server = TestServer::start().await;
    let (mut alice, mut bob) = alice_and_bob(&server).await;
    let long = format!("{} end", "word ".repeat(40));
    alice.say(&long).await;
    let original = alice.rx.message().await;
    bob.rx.message().await;
    bob.tx.send(&reply(original.id, "agreed")).await;
    let answer = alice.rx.message().await;
    assert_eq!(bob.rx.message().await, answer);
    let quote = answer.reply.clone().expect("a quote");
    assert_eq!((quote.id, quote.name.as_str()), (original.id, "alice"));
    assert!(quote.text.starts_with("word word") && quote.text.ends_with('…'));
    assert!(!quote.text.contains("end"));
    // What it answers must be a message of this room that is there: not an event, not
    // deleted, not one whose id only another room has.
    alice.tx.send(&edit(original.id, "changed my mind")).await;
    let event = alice.rx.change().await;
    assert_eq!(bob.rx.change().await, event);
    let (mut other, _) = server.connect_to("room=elsewhere").await;
    for _ in 0..5 {
        other.say_in("elsewhere", "far away").await;
    }
    let far = other.rx.messages(5).await;
    assert!(far[4].id > event.id, "an id the lobby does not have yet");
    for id in [event.id, far[4].id] {
        bob.tx.send(&reply(id, "to what?")).await;
        let error = bob.rx.error().await;
        assert_eq!(
            (error.code, error.room.as_deref()),
            (ErrorCode::NotFound, Some("lobby"))
        );
    }
    // History quotes the original as it is now; once deleted, the quote says nothing of it.
    let page = history(&mut bob).await;
    assert_eq!(
        find(&page, answer.id).reply.as_ref().unwrap().text,
        "changed my mind"
    );
    alice
        .tx
        .send(&ClientFrame::Delete {
            room: "lobby".into(),
            id: original.id,
        })
        .await;
    alice.rx.change().await;
    let page = history(&mut bob).await;
    let quote = find(&page, answer.id).reply.clone().unwrap();
    assert_eq!((quote.id, quote.text.as_str()), (original.id, ""));
    bob.tx.send(&reply(original.id, "too late")).await;
    assert_eq!(bob.rx.error().await.code, ErrorCode::NotFound);
}

#[tokio::test]
async fn a_page_of_history_around_a_message_holds_it() {
    let server = TestServer::start_with(without_rate_limits).await;
    let mut alice = server.connect().await;
    alice.hello("alice", None).await;
    for i in 1..=30 {
        alice.say(&format!("m{i}")).await;
    }
    let said = alice.rx.messages(30).await;
    // An event among them: a page counts messages, not events.
    alice.tx.send(&react(said[9].id, "👍")).await;
    alice.rx.change().await;
    let answer = alice
        .ask(ClientFrame::History {
            room: "lobby".into(),
            before: None,
            around: Some(said[9].id),
            limit: Some(6),
        })
        .await;
    let ServerFrame::History { messages, more, .. } = answer else {
        panic!("expected history, got {answer:?}");
    };
    let texts: Vec<&str> = messages.iter().map(|m| m.text.as_str()).collect();
    assert_eq!(texts, ["m7", "m8", "m9", "m10", "m11", "m12"]);
    assert!(more, "older messages exist");
    assert_eq!(messages[3].reactions[0].names, vec!["alice"]);
    let answer = alice
        .ask(ClientFrame::History {
            room: "lobby".into(),
            before: None,
            around: Some(said[1].id),
            limit: Some(6),
        })
        .await;
    let ServerFrame::History { messages, more, .. } = answer else {
        panic!("expected history, got {answer:?}");
    };
    assert_eq!(messages.len(), 6);
    assert_eq!(messages[0].text, "m1");
    assert!(!more);
}

#[tokio::test]
async fn an_administrator_may_delete_but_not_edit_what_others_wrote() {
    use common::accounts::*;
    let server = accounts_server().await;
    let admin_cookie = set_up(&server).await;
    let bob_cookie = invite(&server, "bob").await;
    let mut admin = socket(&server, &admin_cookie).await;
    let mut bob = socket(&server, &bob_cookie).await;
    bob.say("bob's words").await;
    let said = bob.rx.message().await;
    admin.rx.message().await;
    admin.tx.send(&edit(said.id, "the admin's words")).await;
    assert_eq!(admin.rx.error().await.code, ErrorCode::NotAllowed);
    // Bob edits his own; the account, not the name, is the author.
    bob.tx.send(&edit(said.id, "bob's better words")).await;
    let event = admin.rx.change().await;
    assert_eq!(
        (event.text.as_str(), event.account.is_some()),
        ("bob's better words", true)
    );
    // And reacts: one reaction per account.
    bob.tx.send(&react(said.id, "🎉")).await;
    assert_eq!(admin.rx.change().await.action, Action::React);
}

#[tokio::test]
async fn a_message_takes_a_bounded_number_of_reactions_in_all() {
    let server = TestServer::start_with(without_rate_limits).await;
    let mut author = server.connect().await;
    author.say("everyone react").await;
    let said = author.rx.message().await;
    let emoji = ["😀", "😃", "😄", "😁", "😆", "😅", "🤣", "😂", "🙂", "🙃"];
    let people = MAX_REACTIONS_PER_MESSAGE / emoji.len();
    // Guests react too (one reaction per name and emoji): nobody needs to hold a name for it.
    for _ in 0..people {
        let (mut guest, _) = server.connect_to("room=").await;
        guest.join("lobby", None, None).await;
        for e in emoji {
            guest.tx.send(&react(said.id, e)).await;
        }
        for _ in emoji {
            assert_eq!(guest.rx.change().await.action, Action::React);
        }
    }
    let (mut late, _) = server.connect_to("room=").await;
    late.join("lobby", None, None).await;
    late.tx.send(&react(said.id, emoji[0])).await;
    assert_eq!(late.rx.error().await.code, ErrorCode::ReactionLimit);
    let page = history(&mut late).await;
    let counts: Vec<usize> = find(&page, said.id)
        .reactions
        .iter()
        .map(|r| r.names.len())
        .collect();
    assert_eq!(counts, vec![people; emoji.len()]);
}

#[tokio::test]
async fn the_rendered_page_shows_a_message_as_it_is_now_and_markup_as_text() {
    let server = TestServer::start().await;
    let (mut alice, mut bob) = alice_and_bob(&server).await;
    alice
        .say("**bold** <img src=x onerror=alert(1)> https://example.org/a")
        .await;
    let said = alice.rx.message().await;
    bob.rx.message().await;
    alice
        .tx
        .send(&edit(
            said.id,
            "**bolder** <img src=x onerror=alert(1)> https://example.org/a",
        ))
        .await;
    alice.rx.change().await;
    bob.tx.send(&react(said.id, "🎉")).await;
    alice.rx.change().await;
    bob.tx.send(&reply(said.id, "nice")).await;
    alice.rx.message().await;
    let (_, html) = server.get("/").await;
    // Formatting as elements, links only to https://, markup as the characters it is.
    assert!(html.contains(r#"data-md="s ">bolder</a>"#), "{html}");
    assert!(html.contains(r#"href="https://example.org/a""#), "{html}");
    assert!(
        html.contains("&lt;img src=x onerror=alert(1)&gt;"),
        "{html}"
    );
    assert!(!html.contains("<img"), "{html}");
    // Edited, reacted to, answered: as the page shows it live.
    assert!(html.contains("message edited"), "{html}");
    assert!(html.contains("🎉 1; reactions by 🎉 bob"), "{html}");
    assert!(
        html.contains(&format!(
            r##"<a href="#m{}" data-act="goto" class="quote">"##,
            said.id
        )),
        "{html}"
    );
}
