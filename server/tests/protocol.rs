//! Bad input gets a clear answer, loses nothing and never reaches other clients.

mod common;

use std::time::Duration;

use chat_shared::{ErrorCode, MAX_TEXT_CHARS};
use common::TestServer;
use tokio_tungstenite::tungstenite::protocol::frame::coding::{Data, OpCode};
use tokio_tungstenite::tungstenite::protocol::frame::Frame;
use tokio_tungstenite::tungstenite::Message;

const QUIET: Duration = Duration::from_millis(300);

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
    other.rx.expect_silence(QUIET).await;

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
    other.rx.expect_silence(QUIET).await;

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
    other.rx.expect_silence(QUIET).await;

    // The limit counts characters, not bytes: 2000 two-byte characters fit.
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
    other.rx.expect_silence(QUIET).await;
}
