//! Everything HTTP: the accept loop ([`serve`]), the router and its handlers: `/ws` (the
//! WebSocket handshake, then the socket is the connection's), `/metrics`, `/healthz`, `/readyz`,
//! and the page ([`page`]) with its files.
//!
//! [`router`] builds the whole app from an [`AppState`]; tests build it the same way.

pub mod accounts;
mod admin;
#[cfg(feature = "autobahn-echo")]
mod echo;
mod forms;
mod jwt;
mod origin;
#[cfg(feature = "ssr")]
mod page;
mod push;
mod rooms;
mod search;
mod serve;
mod settings;
pub mod upgrade;
pub mod viewer;

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use anyhow::Context;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use hyper::upgrade::OnUpgrade;
use tracing::warn;

use crate::accounts::jwt::JwtAccess;
use crate::close::CloseReason;
use crate::connection::serve_client;
use crate::connections::SignedIn;
use crate::metrics;
use crate::peers::{Refusal, Slot};
use crate::session::token::TokenState;
use crate::session::Session;
use crate::state::AppState;
use crate::store::accounts::Account;
pub use origin::OriginPolicy;
pub use serve::{serve, HttpSettings};

/// What the handlers share: the application, and the web side's own settings.
#[derive(Debug)]
pub struct Web {
    /// The chat itself.
    pub app: Arc<AppState>,
    origins: OriginPolicy,
    #[cfg(feature = "ssr")]
    leptos: leptos::prelude::LeptosOptions,
}

/// The HTTP app: `/ws` for the chat socket, `/metrics`, `/healthz` and `/readyz` for
/// operators, everything else for the page and its files. Fails on an invalid
/// `--allowed-origin`, or when the page's site cannot be found.
pub fn router(app: Arc<AppState>) -> anyhow::Result<Router> {
    #[cfg(feature = "autobahn-echo")]
    if app.config.autobahn_echo {
        return Ok(echo::router(app));
    }
    let origins = OriginPolicy::new(&app.config.allowed_origins)
        .map_err(anyhow::Error::msg)
        .context("invalid --allowed-origin")?;
    let web = Arc::new(Web {
        app,
        origins,
        #[cfg(feature = "ssr")]
        leptos: page::site_options()?,
    });
    let site = site(&web);
    let account_pages = accounts::routes(&web)
        .merge(settings::routes(&web))
        .merge(admin::routes(&web))
        .merge(rooms::routes(&web))
        .merge(search::routes(&web))
        .merge(push::routes(&web))
        .merge(jwt::routes(&web));
    Ok(Router::new()
        .route("/ws", get(websocket))
        .route("/metrics", get(metrics))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .with_state(web)
        .merge(account_pages)
        .merge(site))
}

/// How the accept loop handles connections, from the configuration.
pub fn settings(app: &AppState) -> HttpSettings {
    HttpSettings {
        socket_send_buffer: app.config.socket_send_buffer,
        header_timeout: app.config.header_timeout,
        write_timeout: app.config.write_timeout,
        max_header_bytes: app.config.max_header_bytes,
        shutdown_grace: app.config.shutdown_grace,
        peers: app.peers.clone(),
    }
}

/// Prometheus scrape target.
async fn metrics(State(web): State<Arc<Web>>) -> Response {
    let app = &web.app;
    let metrics = &app.chat.metrics;
    metrics
        .connections
        .set(metrics::gauge_value(app.connections.count()));
    metrics
        .rooms
        .set(metrics::gauge_value(app.chat.rooms.len()));
    if let Some(store) = &app.chat.store {
        if let Ok(footprint) = store.footprint().await {
            let gauge = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
            metrics.database_bytes.set(gauge(footprint.bytes));
            metrics.names.set(gauge(footprint.names));
            metrics.rooms_stored.set(gauge(footprint.rooms));
        }
    }
    (
        [(axum::http::header::CONTENT_TYPE, metrics::CONTENT_TYPE)],
        metrics.render(),
    )
        .into_response()
}

/// Liveness: the process answers HTTP.
async fn healthz() -> &'static str {
    "ok\n"
}

/// Readiness: 200 when this node should get clients, 503 with the reason when not.
async fn readyz(State(web): State<Arc<Web>>) -> Response {
    match web.app.readiness.check(&web.app.chat.broker).await {
        Ok(()) => "ready\n".into_response(),
        Err(reason) => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("not ready: {reason}\n"),
        )
            .into_response(),
    }
}

/// The Leptos app: the server-rendered room pages ([`page`]), and the compiled WASM, JS and CSS
/// under `/pkg` (compressed, since the WASM is the bulk of a first visit).
#[cfg(feature = "ssr")]
fn site(web: &Arc<Web>) -> Router {
    use chat_frontend::shell;
    use leptos_axum::file_and_error_handler;
    use tower_http::compression::CompressionLayer;

    // Rendering spawns tasks through Leptos' executor; it runs them on tokio. (A second
    // router in the same process finds it set already, which is fine.)
    let _ = any_spawner::Executor::init_tokio();
    let pages = Router::new()
        .route("/", get(page::lobby))
        .route("/r/{room}", get(page::room))
        .route("/complete.js", get(|| async { javascript(COMPLETION) }))
        .route("/badge.js", get(|| async { javascript(BADGE) }))
        .with_state(web.clone());
    let files = Router::new()
        .fallback(file_and_error_handler(shell))
        .with_state(web.leptos.clone());
    pages.merge(files).layer(CompressionLayer::new())
}

/// The page's completion of names after `@` (plain JavaScript beside its WebAssembly; the file
/// says why).
#[cfg(feature = "ssr")]
const COMPLETION: &str = include_str!("complete.js");

/// The unread total on the app's badge (plain JavaScript that follows the page's title).
#[cfg(feature = "ssr")]
const BADGE: &str = include_str!("badge.js");

/// A script of the site's own as a response; a new version reaches browsers on their next
/// visit.
fn javascript(text: &'static str) -> Response {
    (
        [
            (
                axum::http::header::CONTENT_TYPE,
                "text/javascript; charset=utf-8",
            ),
            (axum::http::header::CACHE_CONTROL, "no-cache"),
        ],
        text,
    )
        .into_response()
}

/// Without the `ssr` feature the server is the WebSocket backend alone (for `trunk serve`),
/// with a small page that says so.
#[cfg(not(feature = "ssr"))]
fn site(_web: &Arc<Web>) -> Router {
    Router::new().route("/", get(index))
}

#[cfg(not(feature = "ssr"))]
async fn index() -> axum::response::Html<&'static str> {
    axum::response::Html(include_str!("../index.html"))
}

/// `/ws`: checks the origin and the handshake, attaches the connection to the URL's room, and
/// answers 101; the connection's task takes the socket over from there.
async fn websocket(
    State(web): State<Arc<Web>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    mut request: Request,
) -> Response {
    let headers = request.headers();
    if let Err(rejected) = web.origins.check(headers) {
        // One line per address per ten seconds at most, however often it is refused.
        let slot = request.extensions().get::<Arc<Slot>>();
        if let Some(unlogged) = slot.and_then(|slot| slot.peer().log_refusal()) {
            warn!(%peer, reason = %rejected.0, unlogged, "refused a cross-origin WebSocket");
        }
        return (StatusCode::FORBIDDEN, rejected.0).into_response();
    }
    let accept = match upgrade::check(headers) {
        Ok(accept) => accept,
        Err(refusal) => return refusal.into_response(),
    };
    let app = &web.app;
    let (slot, client) = match client_slot(app, peer, &request) {
        Ok(found) => found,
        Err(refusal) => return serve::refusal_response(refusal),
    };
    // Read before the session is checked: see the check again below.
    let closes = app.connections.closes();
    // Accounts mode: the session cookie names the account, once, here.
    let account = match &app.accounts {
        Some(accounts) if app.accounts_required() => {
            let signed_in = match accounts::session_token(request.headers()) {
                Some(token) => accounts.session(token).await,
                None => None,
            };
            match signed_in {
                Some(account) => Some(account),
                None => return (StatusCode::UNAUTHORIZED, "sign in first").into_response(),
            }
        }
        // Open mode: guests, whoever is signed in (administrators moderate on /admin).
        _ => None,
    };
    // `jwt` mode: the application's token names it, once, here.
    let token = match &app.jwt {
        None => None,
        Some(jwt) => match jwt_account(jwt, request.headers(), request.uri().query()).await {
            Ok(found) => Some(found),
            Err(refused) => return refused,
        },
    };
    let Some(on_upgrade) = request.extensions_mut().remove::<OnUpgrade>() else {
        return (
            StatusCode::INTERNAL_SERVER_ERROR,
            "connection cannot be upgraded",
        )
            .into_response();
    };
    let signed = account.as_ref().map(|live| SignedIn {
        account: live.account.id,
        session: live.session,
    });
    let chats_as = (account.as_ref().map(|live| live.account.id))
        .or_else(|| token.as_ref().map(|(account, _)| account.id));
    let registration = app.connections.open_signed(signed, chats_as, Some(client));
    // A sign-out, ban or account change between the check above and the registration swept
    // the connections without this one: check again, and close it as that sweep would have.
    if let (Some(live), Some(accounts)) = (&account, &app.accounts) {
        if app.connections.closes() != closes {
            let now = match accounts::session_token(request.headers()) {
                Some(token) => accounts.session(token).await,
                None => None,
            };
            match now {
                None => registration.member().close(CloseReason::SignedOut),
                Some(now) if now.account != live.account => {
                    registration.member().close(CloseReason::AccountChanged);
                }
                Some(_) => {}
            }
        }
    }
    app.chat.metrics.connections_opened.inc();
    // First, so that a client knows the limits before anything it could send is answered.
    let _ = registration.member().push(&app.limits_frame);
    let member = registration.member().clone();
    let mut session = match (&account, token) {
        (Some(live), _) => Session::for_account(app.chat.clone(), member, slot, &live.account),
        (None, Some((account, state))) => {
            Session::for_account(app.chat.clone(), member, slot, &account).with_token(state)
        }
        (None, None) => Session::new(app.chat.clone(), member, slot),
    };
    // Attach to the URL's room before answering, so a client that sees the socket open cannot
    // miss a message sent after that.
    let join = match start_room(request.uri().query()) {
        Some(room) => match session.attach(&room).await {
            // Boxed: it is held in the connection's task until the first thing it does.
            Ok(pending) => Some(Box::new(pending)),
            Err(err) => {
                session.reply_error(err);
                None
            }
        },
        None => None,
    };
    let settings = app.connection.clone();
    let task = serve_client(on_upgrade, registration, session, join, settings, peer);
    tokio::spawn(task);
    upgrade::switching_protocols(accept)
}

/// The account a `jwt` handshake's token names, with what the token allows; else the 401.
async fn jwt_account(
    jwt: &Arc<JwtAccess>,
    headers: &axum::http::HeaderMap,
    query: Option<&str>,
) -> Result<(Account, TokenState), Response> {
    let refuse = |why: String| (StatusCode::UNAUTHORIZED, why).into_response();
    let presented = jwt::presented(headers, query);
    let Some(presented) = presented else {
        return Err(refuse(
            "present a token (Authorization: Bearer, or ?token=)".into(),
        ));
    };
    let claims = jwt.verify(presented).map_err(refuse)?;
    let account = jwt
        .account(&claims)
        .await
        .map_err(|refused| (refused.status(), refused.message()).into_response())?;
    Ok((account, TokenState::new(jwt.clone(), claims)))
}

/// Counts a WebSocket handshake against its client's address and returns the slot the
/// connection holds for its life: the socket's own, or, behind a trusted proxy, one counted
/// against the forwarded client's address.
fn client_slot(
    app: &AppState,
    peer: SocketAddr,
    request: &Request,
) -> Result<(Arc<Slot>, IpAddr), Refusal> {
    let socket_slot = request
        .extensions()
        .get::<Arc<Slot>>()
        .cloned()
        .ok_or(Refusal::ServerFull)?;
    let peers = &app.peers;
    let client = peers
        .client_of(peer.ip(), request.headers())
        .unwrap_or(peer.ip());
    // An address an administrator banned (open mode) is refused before it costs anything.
    peers.check_banned(client, app.clock.now_ms())?;
    let slot = if client == peer.ip() {
        socket_slot
    } else {
        peers.admit_forwarded(client, socket_slot)?
    };
    slot.peer().check_handshake()?;
    Ok((slot, client))
}

/// The room a new connection starts in: `?room=NAME`, [`chat_shared::DEFAULT_ROOM`] without
/// the parameter, none with `?room=` (empty). Room names need no percent-decoding: a name with
/// `%` in it is invalid and refused as it is.
fn start_room(query: Option<&str>) -> Option<String> {
    let value = query
        .unwrap_or("")
        .split('&')
        .find_map(|pair| pair.strip_prefix("room="));
    match value {
        None => Some(chat_shared::DEFAULT_ROOM.to_string()),
        Some("") => None,
        Some(room) => Some(room.to_string()),
    }
}
