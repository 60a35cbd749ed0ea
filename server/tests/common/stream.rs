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
            message.edited = Some(event.ts);
        }
        Action::Delete => {
            message.text.clear();
            message.format.clear();
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
