//! What this browser remembers between visits, in localStorage: the chosen name, the secret
//! token for each name it has held, and the rooms it has joined. Every read tolerates a missing
//! or garbled value (private mode, another version of the page): the page then starts fresh.

use std::collections::BTreeMap;

use crate::names::name_key;
use leptos::prelude::window;

const NAME: &str = "chat.name";
const TOKENS: &str = "chat.tokens";
const ROOMS: &str = "chat.rooms";

fn storage() -> Option<web_sys::Storage> {
    window().local_storage().ok().flatten()
}

fn get(key: &str) -> Option<String> {
    storage()?.get_item(key).ok().flatten()
}

fn set(key: &str, value: &str) {
    if let Some(storage) = storage() {
        // A full or disabled storage only costs the memory of this one value.
        let _ = storage.set_item(key, value);
    }
}

/// The name chosen last, if any.
pub fn saved_name() -> Option<String> {
    get(NAME).filter(|name| !name.is_empty())
}

/// The token that holds `name`, if this browser was ever given one.
pub fn token_for(name: &str) -> Option<String> {
    tokens().remove(&name_key(name))
}

fn tokens() -> BTreeMap<String, String> {
    get(TOKENS)
        .and_then(|json| crate::json::from_str(&json))
        .unwrap_or_default()
}

/// Remembers a name the server gave us, and its token.
pub fn save_welcome(name: &str, token: &str) {
    let mut tokens = tokens();
    tokens.insert(name_key(name), token.to_string());
    if let Some(json) = crate::json::to_string(&tokens) {
        set(TOKENS, &json);
    }
    set(NAME, name);
}

/// The rooms joined in this browser, in sidebar order.
pub fn saved_rooms() -> Vec<String> {
    get(ROOMS)
        .and_then(|json| crate::json::from_str::<Vec<String>>(&json))
        .unwrap_or_default()
        .into_iter()
        .filter(|room| chat_shared::validate_room(room).is_ok())
        .collect()
}

/// Remembers the joined rooms.
pub fn save_rooms(rooms: &[String]) {
    if let Some(json) = crate::json::to_string(rooms) {
        set(ROOMS, &json);
    }
}
