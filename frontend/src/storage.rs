//! What this browser remembers between visits, in localStorage: the chosen name, the secret
//! token for each name it has held, and the rooms it has joined. Every read tolerates a missing
//! or garbled value (private mode, another version of the page): the page then starts fresh.

use crate::names::name_key;
use leptos::prelude::window;

const NAME: &str = "chat.name";
/// Followed by a name's key: the token that holds that name. One entry per name, read and
/// written as plain strings: keeping them in one JSON object cost the page 5.5 KB gzip of
/// WebAssembly for the map and its (de)serialization (BENCHMARKS.md).
const TOKEN_PREFIX: &str = "chat.token.";
/// Where pages before 2026-11-26 kept every token, in one JSON object.
const OLD_TOKENS: &str = "chat.tokens";
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
    let key = name_key(name);
    get(&format!("{TOKEN_PREFIX}{key}")).or_else(|| {
        // Kept by earlier versions of the page in one JSON object, name key -> token.
        let all = js_sys::JSON::parse(&get(OLD_TOKENS)?).ok()?;
        js_sys::Reflect::get(&all, &key.into()).ok()?.as_string()
    })
}

/// Remembers a name the server gave us, and its token.
pub fn save_welcome(name: &str, token: &str) {
    set(&format!("{TOKEN_PREFIX}{}", name_key(name)), token);
    set(NAME, name);
}

/// The rooms joined in this browser, in sidebar order.
pub fn saved_rooms() -> Vec<String> {
    get(ROOMS)
        .and_then(|json| crate::json::strings(&json))
        .unwrap_or_default()
        .into_iter()
        .filter(|room| chat_shared::validate_room(room).is_ok())
        .collect()
}

/// Remembers the joined rooms.
pub fn save_rooms(rooms: &[String]) {
    let mut json = String::from("[");
    for (i, room) in rooms.iter().enumerate() {
        if i > 0 {
            json.push(',');
        }
        chat_shared::write::push_json_string(&mut json, room);
    }
    json.push(']');
    set(ROOMS, &json);
}
