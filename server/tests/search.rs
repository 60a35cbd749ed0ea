//! Search: words, prefixes, phrases, `from:` and `in:` over the rooms the searcher may read,
//! newest first, a page at a time, with snippets that are runs of text. Private rooms reach their
//! members only; deleted messages and edited-away words are never found; the index survives a
//! restart.

mod common;

use chat_shared::search::{HIT, SEARCH_PAGE};
use chat_shared::{ClientFrame, ErrorCode, Found, ServerFrame};
use common::accounts::{
    accounts_server, get_with_cookie, id_of, invite, private_room, set_up, socket,
};
use common::redis_server::RedisServer;
use common::{Client, TestServer};

/// A page of results for `q` (after `before`), and where the next starts.
async fn search(client: &mut Client, q: &str, before: Option<u64>) -> (Vec<Found>, Option<u64>) {
    match client
        .ask(ClientFrame::Search {
            q: q.into(),
            before,
        })
        .await
    {
        ServerFrame::Results {
            q: asked,
            results,
            next,
        } => {
            assert_eq!(asked, q);
            (results, next)
        }
        other => panic!("expected results for {q:?}, got {other:?}"),
    }
}

/// The whole text of each result's snippet.
fn snippets(results: &[Found]) -> Vec<String> {
    results
        .iter()
        .map(|f| f.snippet.iter().map(|(text, _)| text.as_str()).collect())
        .collect()
}

/// The words a snippet marks.
fn hits(found: &Found) -> Vec<&str> {
    found
        .snippet
        .iter()
        .filter(|(_, style)| *style == HIT)
        .map(|(text, _)| text.as_str())
        .collect()
}

#[tokio::test]
async fn words_prefixes_phrases_and_filters_find_messages_newest_first() {
    let server = accounts_server().await;
    let admin = set_up(&server).await;
    let ada = invite(&server, "ada").await;
    let mut me = socket(&server, &admin).await;
    let mut her = socket(&server, &ada).await;
    me.join("ops", None, None).await;
    // One after another, each stored before the next is sent.
    for (hers, room, text) in [
        (false, "lobby", "the deploy went fine"),
        (
            false,
            "lobby",
            "Deploying **now**, <b>see</b> https://example.org",
        ),
        (false, "ops", "nothing to see here"),
        (true, "lobby", "deploy failed in Zürich"),
        (false, "ops", "ops deploy done"),
    ] {
        let client = if hers { &mut her } else { &mut me };
        client.say_in(room, text).await;
        client.rx.messages_until(text).await;
    }

    let (found, next) = search(&mut me, "DEPLOY", None).await;
    assert_eq!(
        snippets(&found),
        [
            "ops deploy done",
            "deploy failed in Zürich",
            "the deploy went fine"
        ],
        "whole words, newest first, across rooms"
    );
    assert_eq!(next, None);
    assert_eq!(
        (found[0].room.as_str(), found[1].name.as_str()),
        ("ops", "ada")
    );
    assert_eq!(hits(&found[1]), ["deploy"]);
    assert!(found.iter().all(|f| f.ts > 0 && f.id > 0));

    let (found, _) = search(&mut me, "deplo*", None).await;
    assert_eq!(found.len(), 4, "a prefix finds Deploying too");
    let formatted = &snippets(&found)[2];
    assert_eq!(
        formatted, "Deploying now, <b>see</b> https://example.org",
        "the text as shown: no Markdown markers, markup only as text"
    );
    assert_eq!(hits(&found[2]), ["Deploying"]);

    let (found, _) = search(&mut me, "\"went fine\"", None).await;
    assert_eq!(snippets(&found), ["the deploy went fine"]);
    assert!(search(&mut me, "\"fine went\"", None).await.0.is_empty());
    assert_eq!(
        snippets(&search(&mut me, "zurich", None).await.0),
        ["deploy failed in Zürich"],
        "accents do not count"
    );
    assert_eq!(
        snippets(&search(&mut me, "deploy in:#ops", None).await.0),
        ["ops deploy done"]
    );
    assert_eq!(
        snippets(&search(&mut me, "deploy from:ada", None).await.0),
        ["deploy failed in Zürich"]
    );

    // A renamed account's messages are found under its new name (and still its old one).
    let accounts = server.state.accounts.as_ref().expect("accounts");
    accounts
        .rename(id_of(&server, "ada").await, "Ada Lovelace")
        .await
        .unwrap();
    for q in ["deploy from:\"ada lovelace\"", "deploy from:ada"] {
        assert_eq!(
            snippets(&search(&mut me, q, None).await.0),
            ["deploy failed in Zürich"],
            "{q}"
        );
    }

    // What cannot be a search is refused, saying why; the connection stays.
    for bad in ["", "from:ada", "\"\"", &"x ".repeat(120)] {
        match me
            .ask(ClientFrame::Search {
                q: bad.into(),
                before: None,
            })
            .await
        {
            ServerFrame::Error(err) => assert_eq!(err.code, ErrorCode::InvalidFrame, "{bad:?}"),
            other => panic!("{bad:?}: expected an error, got {other:?}"),
        }
    }
    assert_eq!(search(&mut me, "fine", None).await.0.len(), 1);
}

/// How many rows of the search index hold `word`, read from the database itself.
fn index_rows(server: &TestServer, word: &str) -> i64 {
    let store = server.state.chat.store.as_ref().expect("single-node mode");
    let conn = rusqlite::Connection::open(store.path()).unwrap();
    conn.query_row(
        "SELECT count(*) FROM search WHERE search MATCH ?1",
        [word],
        |r| r.get(0),
    )
    .unwrap()
}

#[tokio::test]
async fn messages_no_longer_kept_are_no_longer_found() {
    let server = TestServer::start_with(|config| config.history_per_room = Some(3)).await;
    let (mut guest, _) = server.connect_to("room=lobby").await;
    for n in 0..5 {
        guest.say_in("lobby", &format!("needle {n}")).await;
    }
    guest.rx.messages(5).await;
    let (found, _) = search(&mut guest, "needle", None).await;
    assert_eq!(snippets(&found), ["needle 4", "needle 3", "needle 2"]);
    assert_eq!(index_rows(&server, "needle"), 3);
}

#[tokio::test]
async fn results_come_a_page_at_a_time_each_once() {
    let server = TestServer::start().await;
    let (mut guest, _) = server.connect_to("room=lobby").await;
    let total = SEARCH_PAGE + 5;
    for n in 0..total {
        guest.say_in("lobby", &format!("needle number {n}")).await;
        guest.say_in("lobby", &format!("hay {n}")).await;
    }
    guest.rx.messages(2 * total).await;
    let (first, next) = search(&mut guest, "needle", None).await;
    assert_eq!(first.len(), SEARCH_PAGE);
    assert!(next.is_some());
    let (second, last) = search(&mut guest, "needle", next).await;
    assert_eq!(second.len(), 5);
    assert_eq!(last, None);
    let ids: Vec<u64> = first.iter().chain(&second).map(|f| f.id).collect();
    let mut newest_first = ids.clone();
    newest_first.sort_unstable_by(|a, b| b.cmp(a));
    newest_first.dedup();
    assert_eq!(ids, newest_first, "newest first, none twice");
    assert_eq!(snippets(&second).last().unwrap(), "needle number 0");
}

#[tokio::test]
async fn private_rooms_reach_their_members_and_deleted_words_nobody() {
    let server = accounts_server().await;
    let admin = set_up(&server).await;
    let bob = invite(&server, "bob").await;
    let carol_cookie = invite(&server, "carol").await;
    let dave = invite(&server, "dave").await;
    let room = private_room(&server, &bob, "Plans", "carol").await;
    let mut bob = socket(&server, &bob).await;
    bob.join(&room, None, None).await;
    bob.say_in(&room, "the secret plan").await;
    bob.say_in(&room, "another secret").await;
    bob.say_in(
        "lobby",
        "no secret in the lobby <img src=x onerror=alert(1)>",
    )
    .await;
    // Two rooms' feeds arrive in either order: each message found by its text.
    let kept = bob.rx.messages(3).await;
    let id_of_text = |text: &str| kept.iter().find(|m| m.text == text).unwrap().id;
    let (plan, another) = (id_of_text("the secret plan"), id_of_text("another secret"));

    let mut carol = socket(&server, &carol_cookie).await;
    assert_eq!(search(&mut carol, "secret", None).await.0.len(), 3);
    for cookie in [&dave, &admin] {
        let mut outsider = socket(&server, cookie).await;
        assert_eq!(
            snippets(&search(&mut outsider, "secret", None).await.0),
            ["no secret in the lobby <img src=x onerror=alert(1)>"],
            "not a member: not even an administrator"
        );
        let q = format!("secret in:{room}");
        assert!(search(&mut outsider, &q, None).await.0.is_empty());
    }

    // An edit's words replace the old ones; a deletion takes all of them.
    bob.tx
        .send(&ClientFrame::Edit {
            room: room.clone(),
            id: plan,
            text: "the public plan".into(),
        })
        .await;
    bob.rx.change().await;
    bob.tx
        .send(&ClientFrame::Delete {
            room: room.clone(),
            id: another,
        })
        .await;
    bob.rx.change().await;
    assert_eq!(
        snippets(&search(&mut carol, "secret", None).await.0),
        ["no secret in the lobby <img src=x onerror=alert(1)>"]
    );
    let (found, _) = search(&mut carol, "plan", None).await;
    assert_eq!(snippets(&found), ["the public plan"]);
    assert_eq!((found[0].room.as_str(), found[0].id), (room.as_str(), plan));

    assert_eq!(
        index_rows(&server, "secret"),
        1,
        "the index keeps no word of the edited or deleted message"
    );

    // The search page: the same, for the same readers, every text escaped.
    let page = |cookie: String, q: &'static str| {
        let server = &server;
        async move {
            let (status, _, body) =
                get_with_cookie(server, &format!("/search?q={q}"), &cookie).await;
            assert_eq!(status, 200);
            body
        }
    };
    let seen = page(carol_cookie.clone(), "plan").await;
    assert!(
        seen.contains(&format!("href=\"/r/{room}?m={plan}\">Plans</a>")),
        "{seen}"
    );
    assert!(seen.contains("the public <mark>plan</mark>"), "{seen}");
    assert!(!page(dave.clone(), "plan").await.contains(&room));
    let seen = page(dave.clone(), "secret").await;
    assert!(
        seen.contains("<mark>secret</mark> in the lobby &lt;img src=x"),
        "{seen}"
    );
    assert!(!seen.contains("<img"), "{seen}");
    let (status, head, _) = server.get_with_head("/search?q=secret").await;
    assert_eq!(status, 303, "no session, no search: {head}");

    // The index is in the database: a restarted server finds the same.
    drop((bob, carol));
    let server = server.restart().await;
    let mut carol = socket(&server, &carol_cookie).await;
    assert_eq!(
        snippets(&search(&mut carol, "plan", None).await.0),
        ["the public plan"]
    );
}

#[tokio::test]
async fn in_cluster_mode_a_search_reads_the_recent_history_of_the_rooms_one_is_in() {
    let redis = RedisServer::start().await;
    let node = || {
        let url = redis.url();
        TestServer::start_with(move |config| config.redis_url = Some(url))
    };
    let (a, b) = (node().await, node().await);
    let (mut ann, _) = a.connect_to("room=ops").await;
    ann.hello("ann", None).await;
    let (mut bob, _) = b.connect_to("room=ops").await;
    bob.hello("bob", None).await;
    for (by_ann, text) in [
        (true, "the deploy went fine"),
        (true, "Deploying **now**"),
        (true, "nothing to see"),
        (false, "deploy failed in Zurich"),
    ] {
        let client = if by_ann { &mut ann } else { &mut bob };
        client.say_in("ops", text).await;
        ann.rx.messages_until(text).await;
        bob.rx.messages_until(text).await;
    }
    // An edit and a deletion, on node a; then a room bob is not in.
    for frame in [
        ClientFrame::Edit {
            room: "ops".into(),
            id: 3,
            text: "now a deploy too".into(),
        },
        ClientFrame::Delete {
            room: "ops".into(),
            id: 1,
        },
    ] {
        ann.tx.send(&frame).await;
        ann.rx.change().await;
        bob.rx.change().await;
    }
    ann.join("elsewhere", None, None).await;
    ann.say_in("elsewhere", "deploy elsewhere").await;
    ann.rx.messages_until("deploy elsewhere").await;

    // From node b: the stream Redis keeps, newest first, the deleted message gone, the edited
    // one found by its new words, the text as shown.
    let (found, next) = search(&mut bob, "deploy*", None).await;
    let ids: Vec<(String, u64)> = found.iter().map(|f| (f.room.clone(), f.id)).collect();
    assert_eq!(
        ids,
        [("ops".to_string(), 4), ("ops".into(), 3), ("ops".into(), 2)]
    );
    assert_eq!(next, None, "one page in cluster mode");
    assert_eq!(snippets(&found)[2], "Deploying now");
    assert_eq!(hits(&found[2]), ["Deploying"]);
    assert_eq!(found[0].name, "bob");
    for (q, want) in [
        (r#""deploy failed""#, vec![4]),
        ("from:ann deploy*", vec![3, 2]),
        ("went", vec![]),
        ("in:elsewhere deploy", vec![]),
    ] {
        let (found, _) = search(&mut bob, q, None).await;
        let ids: Vec<u64> = found.iter().map(|f| f.id).collect();
        assert_eq!(ids, want, "{q}");
    }
    // Ann is in both rooms: she finds both, and `in:` narrows it.
    let (found, _) = search(&mut ann, "deploy", None).await;
    let rooms: Vec<&str> = found.iter().map(|f| f.room.as_str()).collect();
    assert_eq!(rooms, ["elsewhere", "ops", "ops"]);
    let (found, _) = search(&mut ann, "in:ops deploy", None).await;
    assert_eq!(found.len(), 2);
}
