//! The Autobahn conformance mode (feature `autobahn-echo`, never in a release build): every
//! path answers the WebSocket handshake, and the connection echoes what it reads. The bytes go
//! through the same decoder, reader, writer, ping and close paths as the chat's; only what is
//! done with a whole message differs (see `connection::read_loop`).

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Router;
use hyper::upgrade::OnUpgrade;

use super::upgrade;
use crate::connection::serve_client;
use crate::peers::Slot;
use crate::session::Session;
use crate::state::AppState;

/// The echo app: any path is the WebSocket endpoint.
pub(super) fn router(app: Arc<AppState>) -> Router {
    Router::new().fallback(echo).with_state(app)
}

async fn echo(
    State(app): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    mut request: Request,
) -> Response {
    let accept = match upgrade::check(request.headers()) {
        Ok(accept) => accept,
        Err(refusal) => return refusal.into_response(),
    };
    let Some(on_upgrade) = request.extensions_mut().remove::<OnUpgrade>() else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    let Some(slot) = request.extensions().get::<Arc<Slot>>().cloned() else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    let registration = app.connections.open();
    let session = Session::new(app.chat.clone(), registration.member().clone(), slot);
    let settings = app.connection.clone();
    tokio::spawn(serve_client(
        on_upgrade,
        registration,
        session,
        None,
        settings,
        peer,
    ));
    upgrade::switching_protocols(accept)
}
