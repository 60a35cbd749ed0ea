//! Frames other than messages cost the server too: requests (`hello`, `join`, `leave`,
//! `history`, and frames refused as invalid) have their own rate per connection, and WebSocket
//! frames of any kind a ceiling beyond which the connection is closed.

use std::time::{Duration, Instant};

use chat_shared::{ClientFrame, ErrorCode, ServerFrame};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::common::{TestServer, PATIENCE};

/// At most the burst plus the rate for the time taken (rounded up).
fn allowed(burst: usize, per_sec: f64, since: Instant) -> usize {
    burst + (per_sec * since.elapsed().as_secs_f64()).ceil() as usize
}

#[tokio::test]
async fn history_requests_beyond_the_request_rate_are_refused() {
    let server = TestServer::start_with(|config| config.request_rate_per_sec = 10).await;
    let mut client = server.connect().await;
    let started = Instant::now();
    let request = ClientFrame::History {
        around: None,
        room: "lobby".into(),
        before: None,
        limit: None,
    };
    for _ in 0..500 {
        client.tx.send(&request).await;
    }
    let (mut answered, mut refused) = (0, 0);
    for _ in 0..500 {
        match client.rx.frame().await {
            ServerFrame::History { .. } => answered += 1,
            ServerFrame::Error(error) => {
                assert_eq!(error.code, ErrorCode::RateLimited);
                assert_eq!(error.room.as_deref(), Some("lobby"));
                assert!(error.retry_after_ms.is_some());
                refused += 1;
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    let most = allowed(60, 10.0, started);
    assert!(
        (60..=most).contains(&answered),
        "{answered} answered, at most {most}"
    );
    assert_eq!(answered + refused, 500);
    // Sending is limited apart: a message still goes through.
    client.say("still here").await;
    assert_eq!(client.rx.message().await.text, "still here");
}

#[tokio::test]
async fn join_and_leave_churn_reaches_the_room_at_the_request_rate() {
    let server = TestServer::start_with(|config| config.request_rate_per_sec = 10).await;
    let (mut observer, _) = server.connect_to("room=churn").await;
    let (mut churner, _) = server.connect_to("room=").await;
    let started = Instant::now();
    for _ in 0..200 {
        churner
            .tx
            .send(&ClientFrame::Join {
                room: "churn".into(),
                since: None,
                epoch: None,
            })
            .await;
        churner
            .tx
            .send(&ClientFrame::Leave {
                room: "churn".into(),
            })
            .await;
    }
    let mut done = 0;
    let mut answered = 0;
    while done < 400 {
        match churner.rx.frame().await {
            ServerFrame::Joined(_) | ServerFrame::Left { .. } => answered += 1,
            ServerFrame::Error(error) => assert!(
                matches!(error.code, ErrorCode::RateLimited | ErrorCode::NotJoined),
                "{error:?}"
            ),
            _ => continue,
        }
        done += 1;
    }
    let most = allowed(60, 10.0, started);
    assert!(
        (60..=most).contains(&answered),
        "{answered} answered, at most {most}"
    );
    // What the observer heard of it is bounded the same way.
    let (mut marker, _) = server.connect_to("room=churn").await;
    marker.say_in("churn", "done").await;
    let mut changes = 0;
    loop {
        match observer.rx.frame().await {
            ServerFrame::Presence { joined, left, .. } => changes += joined.len() + left.len(),
            ServerFrame::Message(message) if message.text == "done" => break,
            _ => {}
        }
    }
    // Each accepted join or leave is one change, plus the marker's arrival.
    assert!(changes <= answered + 1, "{changes} presence changes");
}

#[tokio::test]
async fn malformed_frames_are_answered_at_the_request_rate() {
    let server = TestServer::start_with(|config| config.request_rate_per_sec = 10).await;
    let mut client = server.connect().await;
    let started = Instant::now();
    for i in 0..2000 {
        client.tx.raw(&format!("not json {i}")).await;
    }
    let (mut explained, mut refused) = (0, 0);
    for _ in 0..2000 {
        match client.rx.frame().await {
            ServerFrame::Error(error) if error.code == ErrorCode::RateLimited => refused += 1,
            ServerFrame::Error(_) => explained += 1,
            other => panic!("unexpected {other:?}"),
        }
    }
    let most = allowed(60, 10.0, started);
    assert!(
        (60..=most).contains(&explained),
        "{explained} explained, at most {most}"
    );
    assert_eq!(explained + refused, 2000);
}

/// A masked client frame.
fn frame(fin: bool, opcode: u8, payload: &[u8]) -> Vec<u8> {
    let mask = [1u8, 2, 3, 4];
    let mut out = vec![
        if fin { 0x80 | opcode } else { opcode },
        0x80 | payload.len() as u8,
    ];
    out.extend_from_slice(&mask);
    out.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    out
}

/// A WebSocket opened by hand, in no room, past the `limits` frame's bytes.
async fn raw_socket(server: &TestServer) -> TcpStream {
    let mut tcp = TcpStream::connect(server.addr).await.unwrap();
    tcp.write_all(
        b"GET /ws?room= HTTP/1.1\r\nHost: test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
          Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
    )
    .await
    .unwrap();
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        let mut byte = [0u8; 1];
        tcp.read_exact(&mut byte).await.unwrap();
        head.push(byte[0]);
    }
    assert!(head.starts_with(b"HTTP/1.1 101"));
    tcp
}

/// Writes `count` copies of `one` in chunks while reading what the server sends, until it
/// closes: the pongs it sent and its close frame's code and reason.
async fn flood(tcp: TcpStream, one: Vec<u8>, count: usize) -> (usize, Option<(u16, String)>) {
    let (mut read, mut write) = tcp.into_split();
    let writer = tokio::spawn(async move {
        let chunk: Vec<u8> = one.repeat(100);
        for _ in 0..count / 100 {
            if write.write_all(&chunk).await.is_err() {
                return;
            }
        }
        // Keep the socket open until the reader is done.
        std::future::pending::<()>().await;
    });
    let mut buf = Vec::new();
    let (mut pongs, mut close) = (0, None);
    let result = tokio::time::timeout(PATIENCE, async {
        loop {
            let mut chunk = [0u8; 4096];
            let n = read.read(&mut chunk).await.unwrap_or(0);
            if n == 0 {
                return;
            }
            buf.extend_from_slice(&chunk[..n]);
            // Server frames are unmasked and short here: a one-byte length.
            while buf.len() >= 2 && buf.len() >= 2 + usize::from(buf[1] & 0x7F) {
                let len = usize::from(buf[1] & 0x7F);
                let (opcode, payload) = (buf[0] & 0x0F, buf[2..2 + len].to_vec());
                buf.drain(..2 + len);
                match opcode {
                    0xA => pongs += 1,
                    0x8 => {
                        let code = u16::from_be_bytes([payload[0], payload[1]]);
                        close = Some((code, String::from_utf8_lossy(&payload[2..]).into_owned()));
                        return;
                    }
                    _ => {}
                }
            }
        }
    })
    .await;
    writer.abort();
    assert!(result.is_ok(), "the server never closed the flood");
    (pongs, close)
}

#[tokio::test]
async fn twenty_thousand_empty_fragments_are_closed_at_the_frame_rate() {
    let server = TestServer::start_with(|config| config.max_frames_per_sec = 200).await;
    let mut tcp = raw_socket(&server).await;
    tcp.write_all(&frame(false, 0x1, b"{")).await.unwrap();
    let started = Instant::now();
    let (_, close) = flood(tcp, frame(false, 0x0, b""), 20_000).await;
    assert_eq!(close, Some((1008, "frame_rate".to_string())));
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn five_thousand_pings_are_closed_at_the_frame_rate() {
    let server = TestServer::start_with(|config| config.max_frames_per_sec = 200).await;
    let tcp = raw_socket(&server).await;
    let started = Instant::now();
    let (pongs, close) = flood(tcp, frame(true, 0x9, b"p"), 5_000).await;
    assert_eq!(close, Some((1008, "frame_rate".to_string())));
    let most = allowed(1000, 200.0, started);
    assert!(pongs <= most, "{pongs} pongs, at most {most}");
    // Within the limit, a ping is answered and the connection stays.
    let mut calm = raw_socket(&server).await;
    calm.write_all(&frame(true, 0x9, b"hi")).await.unwrap();
    let mut answer = Vec::new();
    while !answer.ends_with(&[0x8A, 2, b'h', b'i']) {
        let mut byte = [0u8; 1];
        calm.read_exact(&mut byte).await.unwrap();
        answer.push(byte[0]);
    }
}
