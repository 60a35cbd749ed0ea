//! The page's reading of what the server embeds in it, in WebAssembly under Node
//! (`scripts/test.sh`): the [`InitialPage`] the server writes with serde reads back as written
//! by the browser's reader, and what is not one is refused.
#![cfg(all(target_arch = "wasm32", feature = "browser"))]

use chat_frontend::json;
use chat_frontend::{initial_page_json, InitialPage};
use chat_shared::{ChatMessage, Joined};
use wasm_bindgen_test::wasm_bindgen_test;

fn snapshot() -> Joined {
    Joined {
        room: "rust".into(),
        epoch: "e1".into(),
        last_id: 2,
        recovered: false,
        messages: vec![ChatMessage {
            id: 2,
            room: "rust".into(),
            name: "alice".into(),
            text: "</script><b>hi</b>".into(),
            ts: 1_764_000_000_000,
            cid: None,
            account: Some(3),
            reply: Some(chat_shared::Quote {
                id: 1,
                name: "bob".into(),
                text: "what?".into(),
            }),
            edited: Some(1_764_000_000_100),
            reactions: vec![chat_shared::Reaction {
                emoji: "👍".into(),
                names: vec!["bob".into()],
            }],
            format: vec![("hi".into(), chat_shared::markdown::style::STRONG)],
            // Not read by the page yet.
            mentions: Vec::new(),
        }],
        events: vec![],
        members: vec!["alice".into()],
        count: None,
        you: "alice".into(),
        title: String::new(),
        topic: String::new(),
        read: None,
        unread: None,
        mentioned: false,
        notify_every: false,
        muted: false,
    }
}

#[wasm_bindgen_test]
fn the_page_the_server_embeds_reads_back_as_written() {
    for initial in [
        InitialPage::default(),
        InitialPage {
            room: "rust".into(),
            snapshot: Some(snapshot()),
            utc_offset_minutes: Some(-300),
            account: Some(3),
            admin: true,
            rooms: vec!["lobby".into(), "_0123456789abcdef".into()],
        },
        InitialPage {
            room: "lobby".into(),
            snapshot: None,
            utc_offset_minutes: None,
            account: Some(9),
            admin: false,
            rooms: vec![],
        },
    ] {
        let embedded = initial_page_json(&initial);
        assert_eq!(json::initial_page(&embedded), Some(initial), "{embedded}");
    }
}

#[wasm_bindgen_test]
fn what_is_not_an_initial_page_is_refused() {
    for bad in [
        "",
        "null",
        r#"{"snapshot":null}"#,
        r#"{"room":"r","snapshot":{"type":"left","room":"r"}}"#,
        r#"{"room":"r","account":-1}"#,
        r#"{"room":"r","utc_offset_minutes":1e12}"#,
        r#"{"room":"r","admin":"yes"}"#,
    ] {
        assert_eq!(json::initial_page(bad), None, "{bad}");
    }
}

#[wasm_bindgen_test]
fn the_rooms_the_page_keeps_in_local_storage_read_back() {
    let rooms = vec!["lobby".to_string(), "rust".to_string()];
    let saved = serde_json::to_string(&rooms).unwrap();
    assert_eq!(json::strings(&saved), Some(rooms));
    assert_eq!(json::strings(r#"["lobby",3]"#), None);
    assert_eq!(json::strings(r#"{"0":"lobby"}"#), None);
}
