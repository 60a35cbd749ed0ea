//! One client's WebSocket: reads its frames, writes what its rooms have for it, keeps it honest.
//!
//! The reader and the writer run side by side in the connection's task, sharing the TCP
//! socket by reference (readiness-based I/O needs no lock). The reader decodes frames and hands
//! each text to the session, which knows the chat; the writer takes from the connection's own
//! queue and its rooms' feeds, pings on a timer and bounds every write by the write timeout.
//! Whichever side ends first decides the close reason, which is logged once.

mod socket_io;
mod write;

use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use chat_shared::{ErrorCode, FrameError};
use hyper::upgrade::OnUpgrade;
use tokio::net::TcpStream;
use tokio::time::{timeout, Instant};
use tracing::{debug, error, info};

use crate::close::CloseReason;
use crate::connections::Registration;
use crate::metrics::Metrics;
use crate::peers::bucket;
use crate::session::{token, PendingJoin, Session};
use crate::ws::{Decoder, Incoming};
pub use socket_io::SocketIo;
use write::write_loop;

/// Longest wait for a close frame to be written, or for the peer to answer ours.
const CLOSE_GRACE: Duration = Duration::from_secs(1);

/// A reader yields to other tasks after this many frames in a row, so a client bursting into an
/// already-filled socket buffer cannot keep the worker thread (and with it the writers of the
/// clients it is sending to) busy for long.
const FRAMES_PER_TURN: u32 = 16;

/// Frames a client may send at once above `max_frames_per_sec`.
pub const FRAME_BURST: u32 = 1000;

/// Bytes read at a time. Clients send little; the buffer exists only while bytes are pending.
const READ_CHUNK: usize = 1024;

/// Timing and size rules for every connection.
#[derive(Debug, Clone)]
pub struct ConnectionSettings {
    /// Longest a single write may take before the client is dropped.
    pub write_timeout: Duration,
    /// How often to ping the client.
    pub ping_interval: Duration,
    /// Drop the client after this long without hearing anything from it.
    pub pong_timeout: Duration,
    /// Spacing of a busy client's writes (see `write_loop`). Frames queued meanwhile go out
    /// together.
    pub min_write_interval: Duration,
    /// Largest message a client may send (close code 1009 beyond it).
    pub max_message_bytes: usize,
    /// WebSocket frames of any kind a client may send per second, with bursts of
    /// [`FRAME_BURST`]; beyond it the connection is closed (0: no limit).
    pub max_frames_per_sec: u32,
    /// Echo every message back instead of reading it as chat: the Autobahn conformance mode.
    #[cfg(feature = "autobahn-echo")]
    pub echo: bool,
    /// Where closes are counted by reason.
    pub metrics: Arc<Metrics>,
}

/// Runs a client's connection to the end and logs how it ended, once hyper hands the socket
/// over after the 101 response (`on_upgrade`). `join` is the room the URL named, attached
/// before the handshake was answered.
///
/// The whole connection is this one future, spawned as it is: wrapping it in another async
/// block that first waited for the upgrade kept a second copy of every argument in each
/// connection's task (1,464 bytes against 1,232 now).
pub async fn serve_client(
    on_upgrade: OnUpgrade,
    registration: Registration,
    mut session: Session,
    join: Option<Box<PendingJoin>>,
    settings: Arc<ConnectionSettings>,
    peer: SocketAddr,
) {
    let (stream, early) = match take_stream(on_upgrade).await {
        Ok(taken) => taken,
        Err(err) => {
            error!(%peer, error = %err, "WebSocket upgrade failed after the handshake was answered");
            return;
        }
    };
    let member = registration.member().clone();
    let id = member.id();
    info!(client = id, %peer, name = session.name(), "connection open");
    if let Some(join) = join {
        // Boxed: a wait that happens once should not weigh on the connection's state.
        Box::pin(session.answer_join(*join, None, None)).await;
    }
    let heard = LastHeard::new();
    let reason = {
        let reader = read_loop(&stream, early, &mut session, &settings, &heard);
        let writer = write_loop(&stream, &member, &settings, &heard);
        tokio::pin!(reader, writer);
        tokio::select! {
            reason = &mut reader => {
                // Let the writer send what the client is owed for what it sent before, then
                // our close frame (or the answer to the client's).
                member.close_after_queued(reason);
                // Boxed, like every wait that only happens once: an idle connection's state
                // should not carry its timer.
                let _ = Box::pin(timeout(CLOSE_GRACE, &mut writer)).await;
                // Closing a socket with unread input sends a reset, which can destroy our close
                // frame before the client reads it (say, the rest of an oversized message).
                discard_pending(&stream);
                reason
            }
            reason = &mut writer => {
                // Our close frame is out (or could not be written): give the peer a moment to
                // answer it, then hang up.
                let _ = Box::pin(timeout(CLOSE_GRACE, &mut reader)).await;
                reason
            }
        }
    };
    drop(session);
    drop(registration);
    settings.metrics.closed(reason.as_str());
    info!(client = id, %peer, reason = %reason, "connection closed");
}

async fn read_loop(
    stream: &TcpStream,
    mut buf: Vec<u8>,
    session: &mut Session,
    settings: &ConnectionSettings,
    heard: &LastHeard,
) -> CloseReason {
    let mut decoder = Decoder::new(settings.max_message_bytes);
    let frame_rate = bucket(settings.max_frames_per_sec, FRAME_BURST);
    // `jwt` mode only: when the token needs attention (a pointer, unset, otherwise).
    let mut timer = token::DeadlineTimer::default();
    let mut frames_this_turn = 0;
    loop {
        let mut used = 0;
        loop {
            let (n, message) = match decoder.decode(&mut buf[used..]) {
                Err(reason) => return reason,
                Ok(None) => break,
                Ok(Some(frame)) => frame,
            };
            used += n;
            // Any frame, pongs included, proves the client is alive; every one costs the
            // server work, so they are limited whatever their kind.
            heard.now();
            if frame_rate
                .as_ref()
                .is_some_and(|rate| rate.check().is_err())
            {
                return CloseReason::FrameRate;
            }
            match message {
                None | Some(Incoming::Pong) => {}
                // The conformance suite's echo: each message back as one frame of its kind,
                // through the connection's own queue and writer.
                #[cfg(feature = "autobahn-echo")]
                Some(Incoming::Text(text)) if settings.echo => {
                    let _ = session.member().push(&text.into());
                }
                #[cfg(feature = "autobahn-echo")]
                Some(Incoming::Binary(data)) if settings.echo => {
                    let _ = session.member().push_binary(data);
                }
                Some(Incoming::Text(text)) => {
                    if let Some(reason) = session.handle(&text).await {
                        return reason;
                    }
                }
                Some(Incoming::Binary(_)) => session.reply_error(FrameError::new(
                    ErrorCode::BinaryUnsupported,
                    "binary frames are not supported; send JSON text frames",
                )),
                Some(Incoming::Ping(payload)) => session.member().push_pong(payload),
                Some(Incoming::Close) => return CloseReason::Normal,
            }
            frames_this_turn += 1;
            if frames_this_turn == FRAMES_PER_TURN {
                frames_this_turn = 0;
                tokio::task::yield_now().await;
            }
        }
        buf.drain(..used);
        if buf.is_empty() {
            // Nothing pending: hold no memory while the client is quiet.
            buf = Vec::new();
        }
        // Wait for more bytes, settling the outcomes of sent messages as they come back. (The
        // writer's heartbeat timer notices a client gone silent.)
        loop {
            timer.aim(session.token_deadline());
            let readable = tokio::select! {
                biased;
                outcome = session.next_outcome(), if session.awaiting_outcome() => {
                    session.settle(outcome);
                    continue;
                }
                // `jwt` mode: the token ran out (the client is told), or its grace did.
                () = timer.fired(), if timer.is_set() => {
                    match session.token_due() {
                        Some(reason) => return reason,
                        None => continue,
                    }
                }
                readable = wait_readable(stream) => readable,
            };
            if readable.is_err() {
                return CloseReason::Gone;
            }
            buf.reserve(READ_CHUNK);
            match stream.try_read_buf(&mut buf) {
                Ok(0) => return CloseReason::Gone,
                Ok(_) => break,
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => continue,
                Err(err) => {
                    debug!(client = session.member().id(), error = %err, "read failed");
                    return CloseReason::Gone;
                }
            }
        }
    }
}

/// Waits for hyper to hand the connection over after the 101 response, and returns the TCP
/// socket with any bytes the client sent behind its handshake that hyper had already read.
/// Those are copied out (there are rarely any), so hyper's whole read buffer is freed now
/// rather than kept alive by a slice of it for the life of the connection.
async fn take_stream(on_upgrade: OnUpgrade) -> anyhow::Result<(TcpStream, Vec<u8>)> {
    let upgraded = on_upgrade.await?;
    match upgraded.downcast::<SocketIo>() {
        Ok(parts) => Ok((parts.io.into_inner(), parts.read_buf.to_vec())),
        Err(_) => anyhow::bail!(
            "the upgraded connection is not a plain TCP stream: serve the router with \
             chat_server::http::serve (other servers wrap the socket)"
        ),
    }
}

/// Waits until the socket has bytes to read.
///
/// Through `poll_read_ready`, not `readable()`: the socket keeps one read waker, that of the
/// last task to poll it this way, and until it is replaced that is hyper's, whose task
/// ended at the upgrade. A stale waker keeps the whole finished task allocated (1,152 bytes
/// measured with heaptrack, more than a quarter of an idle connection) until the client next
/// sends something, which an idle client never does. `readable()` queues a waiter beside it
/// instead and would leave it there.
async fn wait_readable(stream: &TcpStream) -> io::Result<()> {
    std::future::poll_fn(|cx| stream.poll_read_ready(cx)).await
}

/// When the client was last heard from, shared by the reader (which hears) and the writer
/// (whose heartbeat timer judges). Kept as milliseconds since the connection opened, so that
/// both sides of one task can share it without a lock.
struct LastHeard {
    opened: Instant,
    millis: AtomicU64,
}

impl LastHeard {
    fn new() -> Self {
        LastHeard {
            opened: Instant::now(),
            millis: AtomicU64::new(0),
        }
    }

    fn now(&self) {
        let millis = self.opened.elapsed().as_millis() as u64;
        self.millis.store(millis, Ordering::Relaxed);
    }

    fn at(&self) -> Instant {
        self.opened + Duration::from_millis(self.millis.load(Ordering::Relaxed))
    }
}

/// Reads and drops input that has already arrived (up to 64 KiB, so a client still flooding
/// cannot hold us here), without waiting for more.
fn discard_pending(stream: &TcpStream) {
    let mut sink = [0u8; 1024];
    for _ in 0..64 {
        match stream.try_read(&mut sink) {
            Ok(n) if n > 0 => {}
            _ => break,
        }
    }
}
