//! Accepts TCP connections and serves HTTP/1.1 on them with hyper, so that a WebSocket upgrade
//! hands [`crate::connection`] the plain TCP socket. The `/ws` route needs this loop: other
//! servers (`axum::serve`) wrap the socket, and the connection could not take it over.

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::Router;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::Request;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tower_service::Service;
use tracing::{debug, warn};

/// Pause after a failed accept (typically out of file descriptors), instead of spinning.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);

/// How every accepted connection is handled.
#[derive(Debug, Clone)]
pub struct HttpSettings {
    /// SO_SNDBUF for every socket, 0 for the OS default (see [`tune`]).
    pub socket_send_buffer: usize,
    /// Longest a client may take to send a request's headers.
    pub header_timeout: Duration,
    /// How long to let open HTTP requests finish at shutdown.
    pub shutdown_grace: Duration,
}

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
        tune(&tcp, settings.socket_send_buffer);
        tokio::spawn(serve_http(
            tcp,
            peer,
            app.clone(),
            settings.header_timeout,
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
    app: Router,
    header_timeout: Duration,
    mut stop: watch::Receiver<bool>,
) {
    let service = hyper::service::service_fn(move |mut request: Request<Incoming>| {
        request.extensions_mut().insert(ConnectInfo(peer));
        // A Router is always ready, so it can be called without polling readiness first.
        let mut app = app.clone();
        async move { app.call(request).await }
    });
    let connection = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(header_timeout)
        .serve_connection(TokioIo::new(tcp), service)
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
