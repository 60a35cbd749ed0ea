//! The menu of what can be done to one message: react (the common emoji, found by name, or any
//! emoji typed or pasted into its field), reply, edit, delete. One menu in the page, a native
//! `<dialog>` (modal, Escape closes it, focus comes back to the control that opened it), opened
//! by a message's "⋯" control, so that each line carries one button.
//!
//! Its markup is the server's, outside the part of the page the WebAssembly hydrates, and this
//! module only opens it and reads its clicks: as hydrated views the same menu cost the page's
//! WebAssembly 4.4 KB gzip (BENCHMARKS.md, "The page's size").

/// The `id` of the menu's `<dialog>`.
pub const MENU: &str = "message-menu";

/// The `id` of its search field.
pub const SEARCH: &str = "menu-search";

/// The emoji offered, with the words a search finds them by.
#[cfg(feature = "ssr")]
const COMMON: &[(&str, &str)] = &[
    ("👍", "thumbs up yes ok"),
    ("👎", "thumbs down no"),
    ("❤️", "heart love"),
    ("😂", "joy laugh tears"),
    ("😄", "smile happy"),
    ("😉", "wink"),
    ("😍", "heart eyes love"),
    ("🎉", "party tada celebrate"),
    ("🙏", "thanks please pray"),
    ("👏", "clap applause"),
    ("👋", "wave hello bye"),
    ("👀", "eyes look"),
    ("🤔", "thinking hmm"),
    ("😮", "wow surprised"),
    ("😢", "cry sad"),
    ("😡", "angry mad"),
    ("🔥", "fire hot"),
    ("💯", "hundred perfect"),
    ("✅", "check done yes"),
    ("❌", "cross no wrong"),
    ("🚀", "rocket ship launch"),
    ("⭐", "star"),
    ("💡", "idea bulb"),
    ("☕", "coffee"),
];

/// The menu's markup, rendered by the server into every page (after the app, which the
/// WebAssembly hydrates; the menu is left as it is).
#[cfg(feature = "ssr")]
pub fn markup() -> impl leptos::IntoView {
    use leptos::prelude::*;
    let emoji = COMMON
        .iter()
        .map(|&(emoji, words)| {
            view! {
                <button
                    type="button"
                    data-emoji=emoji
                    data-words=words
                    aria-label=format!("React with {emoji} ({words})")
                    aria-pressed="false"
                >
                    {emoji}
                </button>
            }
        })
        .collect_view();
    view! {
        <dialog id=MENU class="menu" aria-label="Message actions">
            <div class="emoji" role="group" aria-label="Reactions">
                {emoji}
            </div>
            <label for=SEARCH class="visually-hidden">"Find an emoji, or type one"</label>
            <input
                id=SEARCH
                type="search"
                autocomplete="off"
                placeholder="Find an emoji, or type one, then Enter"
            />
            <div class="menu-actions">
                <button type="button" data-act="reply">"Reply"</button>
                <button type="button" data-act="edit">"Edit"</button>
                <button type="button" data-act="delete">"Delete"</button>
                <button type="button" data-act="close">"Close"</button>
            </div>
        </dialog>
    }
}

#[cfg(feature = "browser")]
mod browser {
    use leptos::prelude::*;
    use wasm_bindgen::closure::Closure;
    use wasm_bindgen::JsCast;
    use web_sys::{Element, HtmlDialogElement, HtmlInputElement};

    use super::{MENU, SEARCH};
    use crate::page::PageState;

    fn dialog() -> Option<HtmlDialogElement> {
        document().get_element_by_id(MENU)?.dyn_into().ok()
    }

    fn search_field() -> Option<HtmlInputElement> {
        document().get_element_by_id(SEARCH)?.dyn_into().ok()
    }

    /// Runs `f` on every element under `root` that `selector` finds.
    fn each(root: &Element, selector: &str, mut f: impl FnMut(&Element)) {
        let Ok(found) = root.query_selector_all(selector) else {
            return;
        };
        for i in 0..found.length() {
            if let Some(element) = found.item(i).and_then(|node| node.dyn_into().ok()) {
                f(&element);
            }
        }
    }

    /// Whether a search for `query` (lowercase) finds the emoji `emoji` known by `words`.
    fn finds(query: &str, emoji: &str, words: &str) -> bool {
        query.is_empty() || emoji == query || words.split(' ').any(|w| w.starts_with(query))
    }

    /// Opens the menu for message `id`: Edit and Delete only if the reader may, and the emoji
    /// the reader gave it marked as pressed (choosing one again takes it back).
    pub fn open(id: u64, edit: bool, delete: bool, given: &[String]) {
        let Some(menu) = dialog() else {
            return;
        };
        let _ = menu.set_attribute("data-for", &id.to_string());
        each(&menu, "[data-act=edit]", |b| {
            let _ = b.toggle_attribute_with_force("hidden", !edit);
        });
        each(&menu, "[data-act=delete]", |b| {
            let _ = b.toggle_attribute_with_force("hidden", !delete);
        });
        each(&menu, "[data-emoji]", |b| {
            let emoji = b.get_attribute("data-emoji").unwrap_or_default();
            let pressed = if given.contains(&emoji) {
                "true"
            } else {
                "false"
            };
            let _ = b.set_attribute("aria-pressed", pressed);
            let _ = b.remove_attribute("hidden");
        });
        if let Some(search) = search_field() {
            search.set_value("");
        }
        let _ = menu.show_modal();
    }

    /// Closes the menu (focus goes back to what opened it).
    fn close() {
        if let Some(menu) = dialog() {
            menu.close();
        }
    }

    /// The message the menu is open for.
    fn target() -> Option<u64> {
        dialog()?.get_attribute("data-for")?.parse().ok()
    }

    /// Gives the menu's controls their work, once the page is in the browser.
    pub fn wire(page: PageState) {
        let (Some(menu), Some(search)) = (dialog(), search_field()) else {
            return;
        };
        let click = Closure::<dyn Fn(web_sys::MouseEvent)>::new(move |ev: web_sys::MouseEvent| {
            let control = ev
                .target()
                .and_then(|t| t.dyn_into::<Element>().ok())
                .and_then(|e| e.closest("[data-emoji],[data-act]").ok().flatten());
            let (Some(control), Some(id)) = (control, target()) else {
                return;
            };
            close();
            if let Some(emoji) = control.get_attribute("data-emoji") {
                page.react(id, emoji);
            } else if let Some(act) = control.get_attribute("data-act") {
                page.act(&act, id, None);
            }
        });
        let _ = menu.add_event_listener_with_callback("click", click.as_ref().unchecked_ref());
        click.forget();
        // The search shows the emoji whose words start with what is typed; Enter gives the
        // first one shown, or what was typed if nothing is (the server checks it is one emoji).
        let filter =
            Closure::<dyn Fn(web_sys::KeyboardEvent)>::new(move |ev: web_sys::KeyboardEvent| {
                let (Some(menu), Some(search)) = (dialog(), search_field()) else {
                    return;
                };
                let query = search.value().trim().to_ascii_lowercase();
                let mut first = None;
                each(&menu, "[data-emoji]", |b| {
                    let emoji = b.get_attribute("data-emoji").unwrap_or_default();
                    let words = b.get_attribute("data-words").unwrap_or_default();
                    let found = finds(&query, &emoji, &words);
                    let _ = b.toggle_attribute_with_force("hidden", !found);
                    if found && first.is_none() {
                        first = Some(emoji);
                    }
                });
                if ev.key() == "Enter" {
                    ev.prevent_default();
                    let typed = search.value().trim().to_string();
                    let chosen = first.filter(|_| !query.is_empty()).unwrap_or(typed);
                    if let (false, Some(id)) = (chosen.is_empty(), target()) {
                        close();
                        page.react(id, chosen);
                    }
                }
            });
        let _ = search.add_event_listener_with_callback("keyup", filter.as_ref().unchecked_ref());
        filter.forget();
    }
}

#[cfg(feature = "browser")]
pub use browser::{open, wire};
