//! One client's WebSocket: reads its frames, writes its queue, keeps it honest.
//!
//! The reader and the writer run side by side in the connection's task. The reader parses and
//! validates client frames and hands messages to the hub; the writer drains the client's
//! [`Outbound`] queue, pings on a timer and bounds every write by the write timeout. Whichever
//! side ends first decides the close reason, which is logged once.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket};
use chat_shared::{encode, normalize_text, ClientFrame, ErrorCode, FrameError};
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use tokio::time::{interval_at, timeout, Instant, MissedTickBehavior};
use tracing::{debug, info, warn};

use crate::close::CloseReason;
use crate::hub::Membership;
use crate::outbound::Next;

/// Longest wait for a close frame to be written, or for the peer to answer ours.
const CLOSE_GRACE: Duration = Duration::from_secs(1);

/// A reader yields to other tasks after this many frames in a row, so a client bursting into an
/// already-filled socket buffer cannot keep the worker thread (and with it the writers of the
/// clients it is sending to) busy for long.
const FRAMES_PER_TURN: u32 = 16;

/// Timing rules for every connection.
#[derive(Debug, Clone)]
pub struct ConnectionSettings {
    /// Longest a single write may take before the client is dropped.
    pub write_timeout: Duration,
    /// How often to ping the client.
    pub ping_interval: Duration,
    /// Drop the client after this long without hearing anything from it.
    pub pong_timeout: Duration,
    /// Least time between two writes to one client. Frames queued meanwhile go out together.
    pub min_write_interval: Duration,
}

/// Runs a client's connection to the end and logs how it ended.
pub async fn serve_client(
    socket: WebSocket,
    member: Membership,
    settings: Arc<ConnectionSettings>,
    peer: SocketAddr,
) {
    let id = member.id();
    info!(client = id, %peer, "connection open");
    let outbound = member.outbound().clone();
    let (mut sink, mut stream) = socket.split();

    let reason = {
        let reader = read_loop(&mut stream, &member, &settings);
        let writer = write_loop(&mut sink, &member, &settings);
        tokio::pin!(reader, writer);
        tokio::select! {
        reason = &mut reader => {
            // Let the writer send our close frame (or flush the reply to the client's).
            outbound.close(reason);
            let _ = timeout(CLOSE_GRACE, &mut writer).await;
            reason
        }
        reason = &mut writer => {
            // Our close frame is out (or could not be written): give the peer a moment to
            // answer it, then hang up.
            let _ = timeout(CLOSE_GRACE, &mut reader).await;
            reason
        }
        }
    };
    drop(member);
    info!(client = id, %peer, reason = %reason, "connection closed");
}

async fn read_loop(
    stream: &mut SplitStream<WebSocket>,
    member: &Membership,
    settings: &ConnectionSettings,
) -> CloseReason {
    let mut frames_this_turn = 0;
    loop {
        frames_this_turn += 1;
        if frames_this_turn == FRAMES_PER_TURN {
            frames_this_turn = 0;
            tokio::task::yield_now().await;
        }
        // Any frame, pongs included, proves the client is alive and restarts the clock.
        let message = match timeout(settings.pong_timeout, stream.next()).await {
            Err(_) => return CloseReason::PongTimeout,
            Ok(None) => return CloseReason::Gone,
            Ok(Some(Err(err))) => return classify_read_error(member.id(), err),
            Ok(Some(Ok(message))) => message,
        };
        match message {
            Message::Text(text) => handle_text(member, text.as_str()),
            Message::Binary(_) => reply_error(
                member,
                FrameError::new(
                    ErrorCode::BinaryUnsupported,
                    "binary frames are not supported; send JSON text frames",
                ),
            ),
            Message::Ping(_) | Message::Pong(_) => {}
            Message::Close(_) => return CloseReason::Normal,
        }
    }
}

fn handle_text(member: &Membership, raw: &str) {
    let text = match ClientFrame::parse(raw) {
        Ok(ClientFrame::Send { text }) => text,
        Err(err) => return reply_error(member, err),
    };
    let text = match normalize_text(&text) {
        Ok(trimmed) if trimmed.len() == text.len() => text,
        Ok(trimmed) => trimmed.to_owned(),
        Err(err) => return reply_error(member, err),
    };
    if let Err(err) = member.hub().publish(text) {
        warn!(client = member.id(), error = %err, "could not encode a message");
    }
}

/// Tells only the offending client what was wrong; the connection stays open.
fn reply_error(member: &Membership, err: FrameError) {
    debug!(client = member.id(), error = %err, "refused a client frame");
    match encode(&err.into_frame()) {
        Ok(frame) => {
            // A closed queue means the client is leaving anyway.
            let _ = member.outbound().push(&Utf8Bytes::from(frame));
        }
        Err(err) => warn!(client = member.id(), error = %err, "could not encode an error"),
    }
}

fn classify_read_error(client: u64, err: axum::Error) -> CloseReason {
    use tungstenite::error::{Error as WsError, ProtocolError};
    let err = err.into_inner();
    let reason = match err.downcast_ref::<WsError>() {
        Some(WsError::Capacity(_)) => CloseReason::TooLarge,
        Some(WsError::Utf8(_)) => CloseReason::InvalidUtf8,
        Some(WsError::Protocol(ProtocolError::ResetWithoutClosingHandshake))
        | Some(WsError::Io(_))
        | Some(WsError::ConnectionClosed)
        | Some(WsError::AlreadyClosed) => CloseReason::Gone,
        Some(_) => CloseReason::ProtocolError,
        None => CloseReason::Gone,
    };
    debug!(client, error = %err, reason = %reason, "read failed");
    reason
}

async fn write_loop(
    sink: &mut SplitSink<WebSocket, Message>,
    member: &Membership,
    settings: &ConnectionSettings,
) -> CloseReason {
    let outbound = member.outbound();
    let mut ping = interval_at(
        Instant::now() + settings.ping_interval,
        settings.ping_interval,
    );
    ping.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut next_write_at = Instant::now();
    loop {
        let message = tokio::select! {
            next = next_at_the_earliest(member, next_write_at) => match next {
                Next::Frame(frame) => {
                    // More than a batch was waiting: write on at once, so the interval never
                    // caps how fast a client can catch up.
                    next_write_at = if member.is_behind() {
                        Instant::now()
                    } else {
                        Instant::now() + settings.min_write_interval
                    };
                    Message::Text(frame)
                }
                Next::Close(reason) => {
                    send_close(sink, reason, settings.write_timeout).await;
                    return reason;
                }
            },
            _ = ping.tick() => Message::Ping(Bytes::new()),
        };
        // A write stuck on a client that stopped reading must not hide its eviction (or a
        // shutdown) until the write timeout: watch for closure while writing.
        let written = tokio::select! {
            written = timeout(settings.write_timeout, sink.send(message)) => match written {
                Ok(Ok(())) => None,
                Ok(Err(err)) => {
                    debug!(error = %err, "write failed");
                    return CloseReason::Gone;
                }
                Err(_) => return CloseReason::WriteTimeout,
            },
            reason = outbound.closed() => Some(reason),
        };
        if let Some(reason) = written {
            send_close(sink, reason, settings.write_timeout).await;
            return reason;
        }
    }
}

/// The next thing to write, but a frame not before `not_before`: frames that arrive meanwhile
/// are merged into the same write. A close is not held back.
async fn next_at_the_earliest(member: &Membership, not_before: Instant) -> Next {
    member.ready().await;
    if Instant::now() < not_before {
        tokio::select! {
            _ = tokio::time::sleep_until(not_before) => {}
            reason = member.outbound().closed() => return Next::Close(reason),
        }
    }
    member.next().await
}

/// Sends the close frame that explains `reason`, if any, and flushes. Bounded, because the
/// peer may not be reading at all.
async fn send_close(
    sink: &mut SplitSink<WebSocket, Message>,
    reason: CloseReason,
    write_timeout: Duration,
) {
    let frame = reason.close_frame().map(|(code, text)| CloseFrame {
        code,
        reason: Utf8Bytes::from_static(text),
    });
    let close = async {
        if let Some(frame) = frame {
            sink.send(Message::Close(Some(frame))).await?;
        }
        sink.close().await
    };
    let _ = timeout(write_timeout.min(CLOSE_GRACE), close).await;
}
