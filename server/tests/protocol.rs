//! Bad input gets a clear answer, loses nothing and never reaches other clients.

mod common;

use chat_shared::{ErrorCode, ServerFrame, MAX_TEXT_CHARS};
use common::TestServer;
use tokio_tungstenite::tungstenite::protocol::frame::coding::{Data, OpCode};
use tokio_tungstenite::tungstenite::protocol::frame::Frame;
use tokio_tungstenite::tungstenite::Message;

#[tokio::test]
async fn malformed_and_unknown_frames_get_errors_and_the_connection_stays() {
    let server = TestServer::start().await;
    let mut sender = server.connect().await;
    let mut other = server.connect().await;
    server.wait_for_clients(2).await;

    let cases = [
        ("{not json", ErrorCode::MalformedJson),
        (r#"{"type":"dance","text":"hi"}"#, ErrorCode::UnknownType),
        (r#"{"type":"send"}"#, ErrorCode::InvalidFrame),
        (r#"{"type":"send","text":42}"#, ErrorCode::InvalidFrame),
        (r#"["send","hi"]"#, ErrorCode::InvalidFrame),
    ];
    for (raw, code) in cases {
        sender.tx.raw(raw).await;
        let error = sender.rx.error().await;
        assert_eq!(error.code, code, "for {raw}");
        assert!(!error.message.is_empty());
    }
    // Still connected: the next valid message is the first one anybody sees.
    sender.say("still here").await;
    for client in [&mut sender, &mut other] {
        let message = client.rx.message().await;
        assert_eq!((message.id, message.text.as_str()), (1, "still here"));
    }
}

#[tokio::test]
async fn binary_frames_are_refused_with_an_error() {
    let server = TestServer::start().await;
    let mut client = server.connect().await;
    client
        .tx
        .message(Message::binary(
            b"{\"type\":\"send\",\"text\":\"hi\"}".to_vec(),
        ))
        .await;
    assert_eq!(client.rx.error().await.code, ErrorCode::BinaryUnsupported);
    client.say("after binary").await;
    assert_eq!(client.rx.message().await.text, "after binary");
}

#[tokio::test]
async fn text_is_trimmed_and_empty_text_is_refused() {
    let server = TestServer::start().await;
    let mut sender = server.connect().await;
    let mut other = server.connect().await;
    server.wait_for_clients(2).await;

    sender.say("   \t\n  ").await;
    assert_eq!(sender.rx.error().await.code, ErrorCode::EmptyText);
    sender.say("").await;
    assert_eq!(sender.rx.error().await.code, ErrorCode::EmptyText);

    // Nothing reached the other client before the first valid message.
    sender.say("  \n hello world \t ").await;
    assert_eq!(other.rx.message().await.text, "hello world");
    assert_eq!(sender.rx.message().await.text, "hello world");
}

#[tokio::test]
async fn text_over_the_limit_is_refused_and_text_at_the_limit_is_accepted() {
    let server = TestServer::start().await;
    let mut sender = server.connect().await;
    let mut other = server.connect().await;
    server.wait_for_clients(2).await;

    sender.say(&"a".repeat(MAX_TEXT_CHARS + 1)).await;
    let error = sender.rx.error().await;
    assert_eq!(error.code, ErrorCode::TextTooLong);
    assert!(error.message.contains(&MAX_TEXT_CHARS.to_string()));

    // The limit counts characters, not bytes: 2000 two-byte characters fit. (And the refused
    // text reached nobody: this is the first message the other client sees.)
    let at_limit = "é".repeat(MAX_TEXT_CHARS);
    sender.say(&at_limit).await;
    assert_eq!(other.rx.message().await.text, at_limit);
}

#[tokio::test]
async fn text_is_delivered_verbatim_including_markup_and_unicode() {
    let server = TestServer::start().await;
    let mut client = server.connect().await;
    for text in [
        "<img src=x onerror=alert(1)>",
        "line one\nline two",
        "quotes \" and \\ backslashes",
        "emoji 😀👩‍👩‍👧 and RTL שלום مرحبا",
    ] {
        client.say(text).await;
        assert_eq!(client.rx.message().await.text, text);
    }
}

#[tokio::test]
async fn an_oversized_frame_closes_with_1009_and_others_are_unaffected() {
    let server = TestServer::start_with(|config| config.max_frame_bytes = 4096).await;
    let mut offender = server.connect().await;
    let mut other = server.connect().await;
    server.wait_for_clients(2).await;

    offender.tx.raw(&"x".repeat(5000)).await;
    assert_eq!(offender.rx.close_code().await, Some(1009));
    server.wait_for_clients(1).await;

    other.say("unaffected").await;
    assert_eq!(other.rx.message().await.text, "unaffected");
}

#[tokio::test]
async fn invalid_utf8_closes_with_1007() {
    let server = TestServer::start().await;
    let mut client = server.connect().await;
    let mut other = server.connect().await;
    server.wait_for_clients(2).await;

    let invalid = vec![b'{', 0xff, 0xfe, b'}'];
    let frame = Frame::message(invalid, OpCode::Data(Data::Text), true);
    client.tx.message(Message::Frame(frame)).await;
    assert_eq!(client.rx.close_code().await, Some(1007));
    server.wait_for_clients(1).await;
    other.say("after the broken frame").await;
    other.rx.nothing_before("after the broken frame").await;
}

/// Opens a WebSocket by hand over plain TCP, sending `after` in the same write as the request,
/// and returns the socket positioned after the 101 response (plus any bytes read past it).
async fn raw_handshake(
    server: &TestServer,
    path: &str,
    after: &[u8],
) -> (tokio::net::TcpStream, Vec<u8>) {
    use tokio::io::AsyncWriteExt;
    let mut tcp = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    let mut request = format!(
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\n\
        Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
        Sec-WebSocket-Version: 13\r\n\r\n"
    )
    .into_bytes();
    request.extend_from_slice(after);
    tcp.write_all(&request).await.unwrap();
    let mut got = Vec::new();
    let end = loop {
        if let Some(at) = got.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
        read_more(&mut tcp, &mut got).await;
    };
    let head = String::from_utf8_lossy(&got[..end]).to_string();
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    assert!(head.contains("s3pPLMBiTxaQ9kYGzzhZRbK+xOo="), "{head}");
    (tcp, got[end..].to_vec())
}

/// A masked client frame.
fn masked(opcode: u8, payload: &[u8]) -> Vec<u8> {
    let mask = [1u8, 2, 3, 4];
    assert!(payload.len() < 126);
    let mut frame = vec![0x80 | opcode, 0x80 | payload.len() as u8];
    frame.extend_from_slice(&mask);
    frame.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    frame
}

/// Reads whatever arrives next (at least one byte) onto `got`.
async fn read_more(tcp: &mut tokio::net::TcpStream, got: &mut Vec<u8>) {
    use tokio::io::AsyncReadExt;
    let mut chunk = [0u8; 1024];
    let n = tokio::time::timeout(common::PATIENCE, tcp.read(&mut chunk))
        .await
        .unwrap()
        .unwrap();
    assert!(n > 0, "closed after {} bytes: {got:?}", got.len());
    got.extend_from_slice(&chunk[..n]);
}

/// Reads until `want` bytes have arrived after the handshake.
async fn read_at_least(tcp: &mut tokio::net::TcpStream, mut got: Vec<u8>, want: usize) -> Vec<u8> {
    while got.len() < want {
        read_more(tcp, &mut got).await;
    }
    got
}

/// The next server frame (unfragmented, under 64 KiB) from the bytes after the handshake:
/// its first byte (FIN and opcode) and its payload.
async fn next_frame(tcp: &mut tokio::net::TcpStream, got: &mut Vec<u8>) -> (u8, Vec<u8>) {
    *got = read_at_least(tcp, std::mem::take(got), 2).await;
    let (start, len) = match got[1] {
        126 => {
            *got = read_at_least(tcp, std::mem::take(got), 4).await;
            (4, usize::from(u16::from_be_bytes([got[2], got[3]])))
        }
        len => (2, usize::from(len)),
    };
    *got = read_at_least(tcp, std::mem::take(got), start + len).await;
    let head = got[0];
    let payload = got[start..start + len].to_vec();
    got.drain(..start + len);
    (head, payload)
}

#[tokio::test]
async fn a_message_sent_right_behind_the_handshake_is_not_lost() {
    let server = TestServer::start().await;
    let early = masked(0x1, br#"{"type":"send","text":"early"}"#);
    let (mut tcp, mut got) = raw_handshake(&server, "/ws", &early).await;
    // First the limits, then the `joined` answer for the lobby, then the message.
    for expected in [
        r#""type":"limits""#,
        r#""type":"joined""#,
        r#""text":"early""#,
    ] {
        let (head, payload) = next_frame(&mut tcp, &mut got).await;
        assert_eq!(head, 0x81, "a final text frame");
        let text = String::from_utf8(payload).unwrap();
        assert!(text.contains(expected), "{text}");
    }
}

#[tokio::test]
async fn an_unmasked_client_frame_closes_with_1002() {
    let server = TestServer::start().await;
    let (mut tcp, mut got) = raw_handshake(&server, "/ws?room=", &[0x81, 0x01, b'a']).await;
    // The limits may or may not go out first: a close drops what was still queued.
    let (head, payload) = loop {
        let (head, payload) = next_frame(&mut tcp, &mut got).await;
        if head != 0x81 {
            break (head, payload);
        }
    };
    assert_eq!(head, 0x88, "a close frame");
    assert_eq!(u16::from_be_bytes([payload[0], payload[1]]), 1002);
    server.wait_for_clients(0).await;
}

#[tokio::test]
async fn a_client_ping_is_answered_with_its_payload() {
    use futures_util::{SinkExt, StreamExt};
    let server = TestServer::start().await;
    // In no room, so after the limits the pong is the first thing the server sends.
    let url = format!("{}?room=", server.ws_url());
    let (mut ws, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    let limits = tokio::time::timeout(common::PATIENCE, ws.next()).await;
    assert!(
        matches!(&limits, Ok(Some(Ok(Message::Text(text)))) if text.starts_with(r#"{"type":"limits""#)),
        "{limits:?}"
    );
    ws.send(Message::Ping("are you there".into()))
        .await
        .unwrap();
    let answer = tokio::time::timeout(common::PATIENCE, ws.next()).await;
    match answer {
        Ok(Some(Ok(Message::Pong(payload)))) => assert_eq!(&payload[..], b"are you there"),
        other => panic!("expected a pong, got {other:?}"),
    }
}

#[tokio::test]
async fn a_client_close_is_answered_with_1000_and_frees_the_client() {
    use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
    use tokio_tungstenite::tungstenite::protocol::CloseFrame;
    let server = TestServer::start().await;
    let mut client = server.connect().await;
    server.wait_for_clients(1).await;
    client
        .tx
        .message(Message::Close(Some(CloseFrame {
            code: CloseCode::Normal,
            reason: "bye".into(),
        })))
        .await;
    assert_eq!(client.rx.close_code().await, Some(1000));
    server.wait_for_clients(0).await;
}

#[tokio::test]
async fn every_connection_is_told_the_limits_the_server_runs_with() {
    let server = TestServer::start_with(|config| {
        config.max_frame_bytes = 1500;
    })
    .await;
    let (ws, _) = tokio_tungstenite::connect_async(format!("{}?room=", server.ws_url()))
        .await
        .unwrap();
    let mut client = common::Client::new(ws);
    let ServerFrame::Limits(limits) = client.rx.frame().await else {
        panic!("the first frame must be limits");
    };
    assert_eq!(
        limits,
        chat_shared::Limits {
            max_frame_bytes: 1500
        }
    );
}
