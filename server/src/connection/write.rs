//! The writing half of a connection: what goes out, when, and how a write that cannot finish
//! at once is bounded.
//!
//! Every frame leaves in one `sendmsg` of header and shared payload. Only a full socket makes a
//! write wait, boxed so that idle connections do not carry its state.

use std::io::{self, IoSlice};
use std::time::Duration;

use tokio::io::Interest;
use tokio::net::TcpStream;
use tokio::time::{sleep_until, Instant};
use tracing::debug;

use super::{ConnectionSettings, LastHeard, CLOSE_GRACE};
use crate::close::CloseReason;
use crate::rooms::{Member, Next};
use crate::ws::{self, opcode};

/// Why a write did not complete.
enum WriteFailed {
    /// The connection is gone, or the write timed out: nothing more can be sent.
    Dead(CloseReason),
    /// The client was closed (evicted, shutdown) while the write waited for the socket.
    Closed(CloseReason),
}

pub(super) async fn write_loop(
    stream: &TcpStream,
    member: &Member,
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
                    &[frame.as_bytes()],
                    settings.write_timeout,
                )
                .await
            }
            Some(Next::Parts(parts)) => {
                let [head, shared, tail] = &parts;
                write_frame(
                    stream,
                    member,
                    opcode::TEXT,
                    &[head, shared, tail],
                    settings.write_timeout,
                )
                .await
            }
            #[cfg(feature = "autobahn-echo")]
            Some(Next::Binary(payload)) => {
                write_frame(
                    stream,
                    member,
                    opcode::BINARY,
                    &[&payload],
                    settings.write_timeout,
                )
                .await
            }
            Some(Next::Pong(payload)) => {
                write_frame(
                    stream,
                    member,
                    opcode::PONG,
                    &[&payload],
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
async fn next_at_the_earliest(member: &Member, not_before: Instant) -> Next {
    member.wait_for_work().await;
    if Instant::now() < not_before {
        // Boxed: only busy connections wait here, and idle ones should not carry a timer.
        Box::pin(sleep_until(not_before)).await;
    }
    member.next().await
}

/// Writes one frame: header and payload in one `sendmsg`, straight from the shared bytes (a
/// payload may come in parts: a `joined` answer's own start and end around a page of messages
/// every joiner shares). Only if the socket is full does it wait, with the write timeout and a
/// watch for closure; that rare path is boxed, so the state of every idle connection stays
/// small.
async fn write_frame(
    stream: &TcpStream,
    member: &Member,
    opcode: u8,
    payload: &[&[u8]],
    write_timeout: Duration,
) -> Result<(), WriteFailed> {
    let len = payload.iter().map(|part| part.len()).sum();
    let (head, head_len) = ws::header(opcode, len);
    let mut pending = Pending::new(&head[..head_len], payload);
    match write_some(stream, &mut pending) {
        Ok(true) => Ok(()),
        Ok(false) => Box::pin(write_when_writable(stream, member, pending, write_timeout)).await,
        Err(_) => Err(WriteFailed::Dead(CloseReason::Gone)),
    }
}

async fn write_when_writable(
    stream: &TcpStream,
    member: &Member,
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

/// Most parts of a frame: the header and up to three parts of payload.
const MAX_PARTS: usize = 4;

/// The unwritten rest of a frame: its parts, the written ones empty.
struct Pending<'a> {
    parts: [&'a [u8]; MAX_PARTS],
}

impl<'a> Pending<'a> {
    fn new(head: &'a [u8], payload: &[&'a [u8]]) -> Self {
        let mut parts: [&[u8]; MAX_PARTS] = [&[]; MAX_PARTS];
        parts[0] = head;
        for (slot, part) in parts[1..].iter_mut().zip(payload) {
            *slot = part;
        }
        Pending { parts }
    }

    fn is_done(&self) -> bool {
        self.parts.iter().all(|part| part.is_empty())
    }

    /// Marks `n` more bytes as written.
    fn advance(&mut self, mut n: usize) {
        for part in &mut self.parts {
            let taken = n.min(part.len());
            *part = &part[taken..];
            n -= taken;
        }
    }
}

/// Writes as much as the socket takes now. `Ok(true)` once the frame is complete.
fn write_some(stream: &TcpStream, pending: &mut Pending<'_>) -> io::Result<bool> {
    while !pending.is_done() {
        let slices = pending.parts.map(IoSlice::new);
        // sendmsg rather than writev: a socket needs none of the file layer writev goes through.
        let sent = stream.try_io(Interest::WRITABLE, || {
            socket2::SockRef::from(stream).send_vectored(&slices)
        });
        match sent {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => pending.advance(n),
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
        let mut pending = Pending::new(&head[..head_len], &[&payload]);
        let sent = write_rest_by(stream, &mut pending, Instant::now() + CLOSE_GRACE).await;
        if !matches!(sent, Ok(true)) {
            return;
        }
    }
    if let Err(err) = socket2::SockRef::from(stream).shutdown(std::net::Shutdown::Write) {
        debug!(error = %err, "shutdown after close frame failed");
    }
}
