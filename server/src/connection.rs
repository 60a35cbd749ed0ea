//! One client's WebSocket: reads its frames, writes what its rooms have for it, keeps it honest.
//!
//! The reader and the writer run side by side in the connection's task, sharing the TCP
//! socket by reference (readiness-based I/O needs no lock). The reader decodes frames and hands
//! each text to the session, which knows the chat; the writer takes from the connection's own
//! queue and its rooms' feeds, pings on a timer and bounds every write by the write timeout.
//! Whichever side ends first decides the close reason, which is logged once.

use std::io::{self, IoSlice};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use chat_shared::{ErrorCode, FrameError};
use tokio::io::Interest;
use tokio::net::TcpStream;
use tokio::time::{sleep_until, timeout, Instant};
use tracing::{debug, info};

use crate::close::CloseReason;
use crate::connections::Registration;
use crate::metrics::Metrics;
use crate::outbound::{Next, Outbound};
use crate::session::{PendingJoin, Session};
use crate::upgrade;
use crate::ws::{self, opcode, Decoder, Incoming};
use hyper::upgrade::OnUpgrade;

/// Longest wait for a close frame to be written, or for the peer to answer ours.
const CLOSE_GRACE: Duration = Duration::from_secs(1);

/// A reader yields to other tasks after this many frames in a row, so a client bursting into an
/// already-filled socket buffer cannot keep the worker thread (and with it the writers of the
/// clients it is sending to) busy for long.
const FRAMES_PER_TURN: u32 = 16;

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
    let (stream, early) = match upgrade::take_stream(on_upgrade).await {
        Ok(taken) => taken,
        Err(err) => {
            debug!(%peer, error = %err, "WebSocket upgrade failed");
            return;
        }
    };
    let outbound = registration.outbound().clone();
    let id = outbound.id();
    info!(client = id, %peer, name = session.name(), "connection open");
    if let Some(join) = join {
        // Boxed: a wait that happens once should not weigh on the connection's state.
        Box::pin(session.answer_join(*join, None, None)).await;
    }
    let heard = LastHeard::new();
    let reason = {
        let reader = read_loop(&stream, early, &mut session, &settings, &heard);
        let writer = write_loop(&stream, &outbound, &settings, &heard);
        tokio::pin!(reader, writer);
        tokio::select! {
            reason = &mut reader => {
                // Let the writer send our close frame (or answer the client's).
                outbound.close(reason);
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
            // Any frame, pongs included, proves the client is alive.
            heard.now();
            match message {
                None | Some(Incoming::Pong) => {}
                Some(Incoming::Text(text)) => {
                    if let Some(reason) = session.handle(&text).await {
                        return reason;
                    }
                }
                Some(Incoming::Binary) => session.reply_error(FrameError::new(
                    ErrorCode::BinaryUnsupported,
                    "binary frames are not supported; send JSON text frames",
                )),
                Some(Incoming::Ping(payload)) => session.outbound().push_pong(payload),
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
        // Wait for more bytes. (The writer's heartbeat timer notices a client gone silent.)
        loop {
            if wait_readable(stream).await.is_err() {
                return CloseReason::Gone;
            }
            buf.reserve(READ_CHUNK);
            match stream.try_read_buf(&mut buf) {
                Ok(0) => return CloseReason::Gone,
                Ok(_) => break,
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => continue,
                Err(err) => {
                    debug!(client = session.outbound().id(), error = %err, "read failed");
                    return CloseReason::Gone;
                }
            }
        }
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

/// Why a write did not complete.
enum WriteFailed {
    /// The connection is gone, or the write timed out: nothing more can be sent.
    Dead(CloseReason),
    /// The client was closed (evicted, shutdown) while the write waited for the socket.
    Closed(CloseReason),
}

async fn write_loop(
    stream: &TcpStream,
    member: &Outbound,
    settings: &ConnectionSettings,
    heard: &LastHeard,
) -> CloseReason {
    // One timer serves both heartbeat duties: the next ping, and giving up on a silent client.
    let mut next_ping = Instant::now() + settings.ping_interval;
    let heartbeat = sleep_until(next_ping.min(heard.at() + settings.pong_timeout));
    tokio::pin!(heartbeat);
    let mut next_write_at = Instant::now();
    loop {
        // Decide first, write after: the futures raced here are gone before any write waits,
        // which keeps the connection's state small.
        let due = tokio::select! {
            next = next_at_the_earliest(member, next_write_at) => Some(next),
            () = &mut heartbeat => None,
        };
        let written = match due {
            Some(Next::Frame(frame)) => {
                // The interval applies only under load: a message that finds its reader idle
                // (this write holds one message) leaves at once, and the next one too, as in the
                // Go original; once messages pile up between writes (this write merged several)
                // the server is busy, and spacing this client's writes merges more per write.
                // More than a batch waiting: write on at once, so a client can always catch up.
                next_write_at = if member.is_behind() || !member.took_a_batch() {
                    Instant::now()
                } else {
                    Instant::now() + settings.min_write_interval
                };
                write_frame(
                    stream,
                    member,
                    opcode::TEXT,
                    frame.as_bytes(),
                    settings.write_timeout,
                )
                .await
            }
            Some(Next::Pong(payload)) => {
                write_frame(
                    stream,
                    member,
                    opcode::PONG,
                    &payload,
                    settings.write_timeout,
                )
                .await
            }
            Some(Next::Close(reason)) => {
                Box::pin(send_close(stream, reason)).await;
                return reason;
            }
            None => {
                let now = Instant::now();
                let silent_until = heard.at() + settings.pong_timeout;
                if now >= silent_until {
                    Box::pin(send_close(stream, CloseReason::PongTimeout)).await;
                    return CloseReason::PongTimeout;
                }
                let written = if now >= next_ping {
                    next_ping = now + settings.ping_interval;
                    write_frame(stream, member, opcode::PING, &[], settings.write_timeout).await
                } else {
                    Ok(())
                };
                heartbeat.as_mut().reset(next_ping.min(silent_until));
                written
            }
        };
        match written {
            Ok(()) => {}
            Err(WriteFailed::Dead(reason)) => return reason,
            Err(WriteFailed::Closed(reason)) => {
                // The interrupted frame was finished, so a close frame can still follow.
                Box::pin(send_close(stream, reason)).await;
                return reason;
            }
        }
    }
}

/// The next thing to write, but not before `not_before`: frames that arrive meanwhile are
/// merged into the same write.
async fn next_at_the_earliest(member: &Outbound, not_before: Instant) -> Next {
    member.wait_for_work().await;
    if Instant::now() < not_before {
        // Boxed: only busy connections wait here, and idle ones should not carry a timer.
        Box::pin(sleep_until(not_before)).await;
    }
    member.next().await
}

/// Writes one frame: header and payload in one `sendmsg`, straight from the shared bytes. Only
/// if the socket is full does it wait, with the write timeout and a watch for closure; that
/// rare path is boxed, so the state of every idle connection stays small.
async fn write_frame(
    stream: &TcpStream,
    member: &Outbound,
    opcode: u8,
    payload: &[u8],
    write_timeout: Duration,
) -> Result<(), WriteFailed> {
    let (head, head_len) = ws::header(opcode, payload.len());
    let mut pending = Pending {
        head: &head[..head_len],
        body: payload,
    };
    match write_some(stream, &mut pending) {
        Ok(true) => Ok(()),
        Ok(false) => Box::pin(write_when_writable(stream, member, pending, write_timeout)).await,
        Err(_) => Err(WriteFailed::Dead(CloseReason::Gone)),
    }
}

async fn write_when_writable(
    stream: &TcpStream,
    member: &Outbound,
    mut pending: Pending<'_>,
    write_timeout: Duration,
) -> Result<(), WriteFailed> {
    let deadline = Instant::now() + write_timeout;
    let closed = member.closed();
    tokio::pin!(closed);
    let mut closed_reason = None;
    loop {
        tokio::select! {
            ready = stream.writable() => {
                if ready.is_err() {
                    return Err(WriteFailed::Dead(CloseReason::Gone));
                }
            }
            _ = sleep_until(deadline) => return Err(WriteFailed::Dead(CloseReason::WriteTimeout)),
            reason = &mut closed, if closed_reason.is_none() => {
                // Finish this frame (briefly) so a close frame can follow it.
                closed_reason = Some(reason);
                let grace = Instant::now() + CLOSE_GRACE;
                if grace < deadline {
                    return match write_rest_by(stream, &mut pending, grace).await {
                        Ok(true) => Err(WriteFailed::Closed(reason)),
                        // Still full: the peer is not reading, so no close frame could reach it.
                        Ok(false) => Err(WriteFailed::Dead(reason)),
                        Err(_) => Err(WriteFailed::Dead(CloseReason::Gone)),
                    };
                }
                continue;
            }
        }
        match write_some(stream, &mut pending) {
            Ok(true) => {
                return match closed_reason {
                    Some(reason) => Err(WriteFailed::Closed(reason)),
                    None => Ok(()),
                }
            }
            Ok(false) => {}
            Err(_) => return Err(WriteFailed::Dead(CloseReason::Gone)),
        }
    }
}

/// Writes the rest of `pending`, waiting for the socket as needed, until `deadline`.
/// `Ok(false)` when the deadline came first.
async fn write_rest_by(
    stream: &TcpStream,
    pending: &mut Pending<'_>,
    deadline: Instant,
) -> io::Result<bool> {
    loop {
        if write_some(stream, pending)? {
            return Ok(true);
        }
        match tokio::time::timeout_at(deadline, stream.writable()).await {
            Ok(ready) => ready?,
            Err(_) => return Ok(false),
        }
    }
}

/// The unwritten rest of a frame.
struct Pending<'a> {
    head: &'a [u8],
    body: &'a [u8],
}

/// Writes as much as the socket takes now. `Ok(true)` once the frame is complete.
fn write_some(stream: &TcpStream, pending: &mut Pending<'_>) -> io::Result<bool> {
    while !pending.head.is_empty() || !pending.body.is_empty() {
        let slices = [IoSlice::new(pending.head), IoSlice::new(pending.body)];
        // sendmsg rather than writev: a socket needs none of the file layer writev goes through.
        let sent = stream.try_io(Interest::WRITABLE, || {
            socket2::SockRef::from(stream).send_vectored(&slices)
        });
        match sent {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(mut n) => {
                let from_head = n.min(pending.head.len());
                pending.head = &pending.head[from_head..];
                n -= from_head;
                pending.body = &pending.body[n..];
            }
            Err(err) if err.kind() == io::ErrorKind::WouldBlock => return Ok(false),
            Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
            Err(err) => return Err(err),
        }
    }
    Ok(true)
}

/// Sends the close frame that explains `reason`, if any, then ends our side of the TCP stream
/// (so the frame is followed by a FIN, not lost to a reset). Bounded, because the peer may not
/// be reading at all.
async fn send_close(stream: &TcpStream, reason: CloseReason) {
    if let Some((code, text)) = reason.close_frame() {
        let payload = ws::close_payload(code, text);
        let (head, head_len) = ws::header(opcode::CLOSE, payload.len());
        let mut pending = Pending {
            head: &head[..head_len],
            body: &payload,
        };
        let sent = write_rest_by(stream, &mut pending, Instant::now() + CLOSE_GRACE).await;
        if !matches!(sent, Ok(true)) {
            return;
        }
    }
    if let Err(err) = socket2::SockRef::from(stream).shutdown(std::net::Shutdown::Write) {
        debug!(error = %err, "shutdown after close frame failed");
    }
}
