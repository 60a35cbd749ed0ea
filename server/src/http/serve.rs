//! Accepts TCP connections and serves HTTP/1.1 on them with hyper, so that a WebSocket upgrade
//! hands [`crate::connection`] the plain TCP socket. The `/ws` route needs this loop: other
//! servers (`axum::serve`) wrap the socket, and the connection could not take it over.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::http::header::RETRY_AFTER;
use axum::response::{IntoResponse, Response};
use axum::Router;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::Request;
use hyper_util::rt::TokioTimer;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tower_service::Service;
use tracing::{debug, warn};

use crate::connection::SocketIo;
use crate::peers::{Peers, Refusal, Slot};

/// Pause after a failed accept (typically out of file descriptors), instead of spinning.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);

/// How every accepted connection is handled.
#[derive(Debug, Clone)]
pub struct HttpSettings {
    /// SO_SNDBUF for every socket, 0 for the OS default (see [`tune`]).
    pub socket_send_buffer: usize,
    /// Longest a client may take to send a request's headers.
    pub header_timeout: Duration,
    /// Longest a write may wait for the client to make room (then the socket is closed).
    pub write_timeout: Duration,
    /// Largest request head (request line and headers); beyond it 431.
    pub max_header_bytes: usize,
    /// How long to let open HTTP requests finish at shutdown.
    pub shutdown_grace: Duration,
    /// What each client address has open and may still spend.
    pub peers: Arc<Peers>,
}

/// How long a refused socket is kept to read the request it came with, so that closing it
/// does not reset the connection before the client reads why (a socket closed with unread
/// input sends a reset, which can destroy the answer).
const REFUSAL_LINGER: Duration = Duration::from_secs(1);

/// Serves `app` on `listener` until `shutdown` resolves, then stops accepting, lets open HTTP
/// requests finish (waiting up to the grace period) and returns. Upgraded WebSocket
/// connections are not waited for here: the hub closes them.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    settings: HttpSettings,
    shutdown: impl Future<Output = ()>,
) {
    let (stop, stopped) = watch::channel(false);
    tokio::pin!(shutdown);
    loop {
        let (tcp, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(err) => {
                    warn!(error = %err, "accept failed");
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                    continue;
                }
            },
            _ = &mut shutdown => break,
        };
        let slot = match settings.peers.admit(peer.ip()) {
            Ok(slot) => slot,
            Err(refusal) => {
                debug!(%peer, reason = refusal.reason(), "refused a connection");
                tokio::spawn(refuse(tcp, refusal));
                continue;
            }
        };
        tune(&tcp, settings.socket_send_buffer);
        tokio::spawn(serve_http(
            tcp,
            peer,
            slot,
            app.clone(),
            settings.clone(),
            stopped.clone(),
        ));
    }
    drop(listener);
    drop(stopped);
    stop.send_replace(true);
    // Every connection task holds a receiver; the channel closes when the last one ends.
    if tokio::time::timeout(settings.shutdown_grace, stop.closed())
        .await
        .is_err()
    {
        warn!("HTTP requests still open after the shutdown grace period");
    }
}

async fn serve_http(
    tcp: TcpStream,
    peer: SocketAddr,
    slot: Arc<Slot>,
    app: Router,
    settings: HttpSettings,
    mut stop: watch::Receiver<bool>,
) {
    let peers = settings.peers.clone();
    let service = hyper::service::service_fn(move |mut request: Request<Incoming>| {
        let refused = if !counts_as_request(request.uri().path()) {
            None
        } else {
            // A direct client is counted on the peer its socket holds; one behind a trusted
            // proxy is looked up by its forwarded address.
            match peers.client_of(peer.ip(), request.headers()) {
                Some(client) if client != peer.ip() => peers.http_request(client).err(),
                _ => slot.peer().check_http_request().err(),
            }
        };
        request.extensions_mut().insert(ConnectInfo(peer));
        request.extensions_mut().insert(slot.clone());
        // A Router is always ready, so it can be called without polling readiness first.
        let mut app = app.clone();
        async move {
            match refused {
                Some(refusal) => Ok(refusal_response(refusal)),
                None => app.call(request).await,
            }
        }
    });
    let connection = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(settings.header_timeout)
        .max_buf_size(settings.max_header_bytes)
        .serve_connection(SocketIo::new(tcp, settings.write_timeout), service)
        .with_upgrades();
    tokio::pin!(connection);
    let stopping = async move {
        let _ = stop.wait_for(|stop| *stop).await;
    };
    let result = tokio::select! {
        result = connection.as_mut() => result,
        () = stopping => {
            connection.as_mut().graceful_shutdown();
            connection.await
        }
    };
    if let Err(err) = result {
        debug!(%peer, error = %err, "HTTP connection ended with an error");
    }
}

/// Whether a request counts against `--http-requests-per-ip-per-sec`: not the health checks
/// (a load balancer polls them from one address) and not the WebSocket handshake (limited by
/// `--handshakes-per-ip-per-sec`).
fn counts_as_request(path: &str) -> bool {
    !matches!(path, "/healthz" | "/readyz" | "/ws")
}

/// The answer to a refused connection or request: 503 or 429, `Retry-After`, and why.
pub(super) fn refusal_response(refusal: Refusal) -> Response {
    (
        refusal.status(),
        [(RETRY_AFTER, refusal.retry_after_secs().to_string())],
        format!("{}\n", refusal.reason()),
    )
        .into_response()
}

/// Answers a socket refused at accept without handing it to hyper: the response is written at
/// once, whatever the client sends, and the socket is closed within [`REFUSAL_LINGER`].
async fn refuse(mut tcp: TcpStream, refusal: Refusal) {
    let code = refusal.status();
    let status = format!(
        "{} {}",
        code.as_str(),
        code.canonical_reason().unwrap_or_default()
    );
    let body = format!("{}\n", refusal.reason());
    let response = format!(
        "HTTP/1.1 {status}\r\nRetry-After: {}\r\nContent-Type: text/plain; charset=utf-8\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        refusal.retry_after_secs(),
        body.len()
    );
    let answered = async {
        tcp.write_all(response.as_bytes()).await?;
        tcp.shutdown().await?;
        // Read (and drop) what the client sends until it closes, so ours ends cleanly.
        let mut sink = [0u8; 1024];
        while tcp.read(&mut sink).await? > 0 {}
        std::io::Result::Ok(())
    };
    let _ = tokio::time::timeout(REFUSAL_LINGER, answered).await;
}

/// Chat frames are small and latency matters more than packet count, hence no Nagle. A bounded
/// send buffer makes a client that stops reading block our writes soon, so the write timeout
/// and the backlog budget act promptly instead of after megabytes of kernel buffering.
fn tune(tcp: &TcpStream, socket_send_buffer: usize) {
    if let Err(err) = tcp.set_nodelay(true) {
        debug!(error = %err, "cannot set TCP_NODELAY");
    }
    if socket_send_buffer > 0 {
        if let Err(err) = socket2::SockRef::from(tcp).set_send_buffer_size(socket_send_buffer) {
            debug!(error = %err, "cannot set SO_SNDBUF");
        }
    }
}
