//! A reference client's view of a room: messages by id, changed by events as PROTOCOL.md says
//! a client applies them, to compare what a client ends up with against what the server stores.
#![allow(dead_code)]

use std::collections::BTreeMap;

use chat_shared::{quote, Action, ChatMessage, Event, Joined, Reaction};

/// A room's messages as a client holds them.
pub type View = BTreeMap<u64, ChatMessage>;

/// Applies one event to the view (an event on a message the view lacks changes nothing).
pub fn apply(view: &mut View, event: &Event) {
    for message in view.values_mut() {
        if let Some(original) = message.reply.as_mut().filter(|q| q.id == event.target) {
            match event.action {
                Action::Edit => original.text = quote(&event.text),
                Action::Delete => original.text.clear(),
                Action::React | Action::Unreact => {}
            }
        }
    }
    let Some(message) = view.get_mut(&event.target) else {
        return;
    };
    match event.action {
        Action::Edit => {
            message.text.clone_from(&event.text);
            message.format.clone_from(&event.format);
            message.mentions.clone_from(&event.mentions);
            message.edited = Some(event.ts);
        }
        Action::Delete => {
            message.text.clear();
            message.format.clear();
            message.mentions.clear();
            message.cid = None;
            message.edited = None;
            message.reactions.clear();
        }
        Action::React => match message
            .reactions
            .iter_mut()
            .find(|r| r.emoji == event.emoji)
        {
            Some(reaction) if reaction.names.contains(&event.name) => {}
            Some(reaction) => reaction.names.push(event.name.clone()),
            None => message.reactions.push(Reaction {
                emoji: event.emoji.clone(),
                names: vec![event.name.clone()],
            }),
        },
        Action::Unreact => {
            for reaction in &mut message.reactions {
                if reaction.emoji == event.emoji {
                    reaction.names.retain(|name| *name != event.name);
                }
            }
            message.reactions.retain(|r| !r.names.is_empty());
        }
    }
}

/// Applies a `joined` answer: its messages, then its events.
pub fn apply_joined(view: &mut View, joined: &Joined) {
    for message in &joined.messages {
        view.insert(message.id, message.clone());
    }
    for event in &joined.events {
        apply(view, event);
    }
}

/// Every id a `joined` answer covers, messages and events, in order.
pub fn ids(joined: &Joined) -> Vec<u64> {
    let mut ids: Vec<u64> = joined.messages.iter().map(|m| m.id).collect();
    ids.extend(joined.events.iter().map(|e| e.id));
    ids.sort_unstable();
    ids
}

/// A client frame by name: `edit`, `delete` and `react` of message `id` (`value` the text or
/// the emoji), `reply` to it, or else `send` (`value` the text).
pub fn action(room: &str, id: u64, action: &str, value: &str) -> chat_shared::ClientFrame {
    use chat_shared::ClientFrame;
    let room = room.to_string();
    match action {
        "edit" => ClientFrame::Edit {
            room,
            id,
            text: value.into(),
        },
        "delete" => ClientFrame::Delete { room, id },
        "react" => ClientFrame::React {
            room,
            id,
            emoji: value.into(),
        },
        _ => ClientFrame::Send {
            room: Some(room),
            text: value.into(),
            cid: None,
            reply_to: (action == "reply").then_some(id),
        },
    }
}

/// The room as a fresh join on `server` shows it now (its latest page: every message here).
pub async fn as_stored(server: &super::TestServer, room: &str) -> View {
    let (_, joined) = server.connect_to(&format!("room={room}")).await;
    let joined = joined.expect("joined");
    assert!(joined.events.is_empty(), "a latest page has no events");
    joined.messages.into_iter().map(|m| (m.id, m)).collect()
}
