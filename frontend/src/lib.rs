//! The chat web app, written in Rust with Leptos and compiled to WebAssembly.
//!
//! Three builds of this crate exist: `ssr` (linked into the server, which renders the page
//! shell), `hydrate` (the WASM that cargo-leptos serves and that takes over the server-rendered
//! page) and `csr` (the WASM that `trunk serve` mounts into an empty page).

mod actions;
pub mod app;
pub mod chat;
mod coded;
#[cfg(feature = "browser")]
mod connect;
#[cfg(feature = "browser")]
pub mod json;
pub mod layout;
mod menu;
mod names;
#[cfg(feature = "browser")]
mod notify;
pub mod page;
pub mod room;
mod scroll;
#[cfg(feature = "browser")]
mod socket;
pub mod state;
#[cfg(feature = "browser")]
mod storage;
mod views;

pub use app::App;
pub use chat::{initial_page_json, AccountMarkup, InitialPage, INITIAL_PAGE_ID};

/// The full HTML document the server renders around [`App`].
#[cfg(feature = "ssr")]
pub fn shell(options: leptos::prelude::LeptosOptions) -> impl leptos::IntoView {
    use leptos::prelude::*;
    let initial = use_context::<InitialPage>()
        .map(|initial| initial_page_json(&initial))
        .unwrap_or_default();
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <meta name="color-scheme" content="light dark"/>
                <title>"Chat"</title>
                <link rel="icon" href="data:,"/>
                <script
                    type="application/json"
                    id=INITIAL_PAGE_ID
                    inner_html=initial
                ></script>
                <link rel="stylesheet" href=format!("/{}/{}.css", options.site_pkg_dir, options.output_name)/>
                <AutoReload options=options.clone()/>
                <HydrationScripts options/>
                // Completion of names after "@", and the unread total on the app's badge
                // (server/src/http/complete.js, badge.js).
                <script src="/complete.js" defer></script>
                <script src="/badge.js" defer></script>
            </head>
            <body>
                <App/>
                {menu::markup()}
            </body>
        </html>
    }
}

/// Entry point for cargo-leptos builds: take over the server-rendered page.
#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    // Panic messages in the console in debug builds only: the hook keeps Rust's formatting of
    // every panic's message in the page, 0.8 KB gzip of the release WebAssembly (measured).
    #[cfg(debug_assertions)]
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(App);
}

/// Entry point for trunk builds: render the app into an empty page.
#[cfg(feature = "csr")]
#[wasm_bindgen::prelude::wasm_bindgen(start)]
pub fn main() {
    #[cfg(debug_assertions)]
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(App);
}
