//! Broadcast semantics: everyone gets everything, in one order, and a slow reader hurts nobody.

mod common;

use std::collections::HashMap;
use std::time::Duration;

use chat_shared::ChatMessage;
use common::{flood_until_one_is_dropped, Client, TestServer, PATIENCE};
use futures_util::future::join_all;
use tokio::time::timeout;

/// Checks one client's view: strictly increasing ids and plausible timestamps.
fn assert_in_order(messages: &[ChatMessage]) {
    for pair in messages.windows(2) {
        assert!(pair[0].id < pair[1].id, "ids must increase: {pair:?}");
        assert!(
            pair[0].ts <= pair[1].ts,
            "timestamps must not go back: {pair:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_client_receives_every_message_in_the_same_order() {
    let server = TestServer::start().await;
    let mut clients = Vec::new();
    for _ in 0..8 {
        clients.push(server.connect().await);
    }
    server.wait_for_clients(8).await;

    // Four clients send 25 messages each, all at once; every client (senders included) reads.
    let tasks: Vec<_> = clients
        .into_iter()
        .enumerate()
        .map(|(n, mut client)| {
            tokio::spawn(async move {
                let reading = tokio::spawn(async move { client.rx.messages(100).await });
                if n < 4 {
                    for i in 0..25 {
                        client.tx.say(&format!("client {n} line {i}")).await;
                    }
                }
                reading.await.unwrap()
            })
        })
        .collect();
    let views: Vec<Vec<ChatMessage>> = join_all(tasks)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();

    for view in &views {
        assert_in_order(view);
        assert_eq!(view, &views[0], "every client sees the same sequence");
    }
    // Each sender's own lines arrive complete and in the order it sent them.
    let mut per_sender: HashMap<String, Vec<usize>> = HashMap::new();
    for message in &views[0] {
        let (sender, line) = message.text.split_once(" line ").unwrap();
        per_sender
            .entry(sender.to_string())
            .or_default()
            .push(line.parse().unwrap());
    }
    assert_eq!(per_sender.len(), 4);
    for lines in per_sender.values() {
        assert_eq!(lines, &(0..25).collect::<Vec<_>>());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_from_20_senders_reaches_a_reader_without_loss() {
    let server = TestServer::start().await;
    let mut reader = server.connect().await;
    let mut senders = Vec::new();
    for _ in 0..20 {
        senders.push(server.connect().await);
    }
    server.wait_for_clients(21).await;

    let tasks: Vec<_> = senders
        .into_iter()
        .enumerate()
        .map(|(n, Client { mut tx, mut rx })| {
            tokio::spawn(async move {
                let reading = tokio::spawn(async move {
                    let count = rx.messages(2000).await.len();
                    (count, rx)
                });
                for i in 0..100 {
                    tx.say(&format!("burst {n}/{i}")).await;
                }
                let (count, rx) = reading.await.unwrap();
                (count, Client { tx, rx })
            })
        })
        .collect();
    let received = reader.rx.messages(2000).await;
    assert_in_order(&received);
    let mut texts: Vec<&str> = received.iter().map(|m| m.text.as_str()).collect();
    texts.sort_unstable();
    texts.dedup();
    assert_eq!(texts.len(), 2000, "no message lost or duplicated");
    let mut senders = Vec::new();
    for task in tasks {
        let (count, sender) = task.await.unwrap();
        assert_eq!(count, 2000);
        senders.push(sender);
    }
    assert_eq!(
        server.clients(),
        21,
        "nobody was dropped by a burst within budget"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_stops_reading_is_dropped_and_the_others_get_everything() {
    let server = TestServer::start_with(|config| {
        // Well above what a healthy reader has pending while it waits out its write interval
        // during the flood's 100 kB bursts, far below the 20 MB the flood may send.
        config.client_buffer_bytes = 512 * 1024;
        config.write_timeout = Duration::from_secs(30);
    })
    .await;
    // Connected but never read again: its 4 KiB receive window fills up almost at once.
    let stalled = server.connect_small_buffer().await;
    let reader = server.connect().await;
    let Client {
        tx: mut sender,
        rx: mut sender_rx,
    } = server.connect().await;
    server.wait_for_clients(3).await;

    let echo = tokio::spawn(async move { sender_rx.messages_until("done").await.len() });
    let reading = tokio::spawn(async move {
        let mut reader = reader;
        reader.rx.messages_until("done").await
    });
    // Returns once the stalled client is evicted: by its queue budget, since the 30 s write
    // timeout is far beyond the harness's patience.
    let sent = flood_until_one_is_dropped(&server, &mut sender, 3).await;
    let received = timeout(PATIENCE, reading).await.unwrap().unwrap();
    assert_eq!(received.len(), sent);
    assert_in_order(&received);
    assert_eq!(timeout(PATIENCE, echo).await.unwrap().unwrap(), sent);
    drop(stalled);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_thousand_concurrent_clients_all_receive_a_broadcast() {
    const CLIENTS: usize = 2000;
    let server = TestServer::start().await;
    let mut clients = Vec::with_capacity(CLIENTS);
    for _ in 0..CLIENTS / 200 {
        let batch = join_all((0..200).map(|_| server.connect())).await;
        clients.extend(batch);
    }
    server.wait_for_clients(CLIENTS).await;

    clients[0].say("hello, everyone").await;
    let received = join_all(clients.iter_mut().map(|client| async move {
        let message = client.rx.message().await;
        (message.id, message.text)
    }))
    .await;
    assert!(received
        .iter()
        .all(|(id, text)| *id == 1 && text == "hello, everyone"));
    assert_eq!(received.len(), CLIENTS);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_that_stalls_past_the_write_timeout_drops_the_client() {
    // A budget far larger than anything sent here: only the write timeout can drop anyone.
    let server = TestServer::start_with(|config| {
        config.client_buffer_bytes = 256 * 1024 * 1024;
        config.write_timeout = Duration::from_millis(500);
    })
    .await;
    let stalled = server.connect_small_buffer().await;
    let Client {
        tx: mut sender,
        rx: mut sender_rx,
    } = server.connect().await;
    let reader = server.connect().await;
    server.wait_for_clients(3).await;

    let echo = tokio::spawn(async move { sender_rx.messages_until("done").await.len() });
    let reading = tokio::spawn(async move {
        let mut reader = reader;
        reader.rx.messages_until("done").await.len()
    });
    // Returns once the stalled client's pending write has waited out the timeout.
    let sent = flood_until_one_is_dropped(&server, &mut sender, 3).await;
    assert_eq!(timeout(PATIENCE, reading).await.unwrap().unwrap(), sent);
    assert_eq!(timeout(PATIENCE, echo).await.unwrap().unwrap(), sent);
    drop(stalled);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reader_that_keeps_up_gets_each_message_at_once_and_a_burst_is_merged_then_spaced() {
    let server = TestServer::start_with(|config| {
        config.min_write_interval = Duration::from_secs(3);
    })
    .await;
    let mut sender = server.connect().await;
    // Read raw WebSocket frames, to see how messages were grouped into writes.
    let (mut watcher, _) = tokio_tungstenite::connect_async(server.ws_url())
        .await
        .unwrap();
    server.wait_for_clients(2).await;
    let limits = next_text(&mut watcher).await;
    assert!(limits.starts_with(r#"{"type":"limits""#), "{limits}");
    let joined = next_text(&mut watcher).await;
    assert!(joined.starts_with(r#"{"type":"joined""#), "{joined}");

    // Light load: one message per write, each at once, however close together.
    for text in ["first", "second"] {
        let started = std::time::Instant::now();
        sender.say(text).await;
        assert_eq!(next_messages(&mut watcher).await, [text]);
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "a message to a reader that keeps up is not held back by the interval"
        );
    }

    // A burst: messages pile up between writes, so they share writes.
    let burst: Vec<String> = (0..40).map(|n| format!("burst {n}")).collect();
    for text in &burst {
        sender.say(text).await;
    }
    let mut received = Vec::new();
    let mut writes = 0;
    let mut last_merged_at = None;
    while received.len() < burst.len() {
        let texts = next_messages(&mut watcher).await;
        writes += 1;
        if texts.len() > 1 {
            last_merged_at = Some(std::time::Instant::now());
        }
        received.extend(texts);
    }
    assert_eq!(received, burst, "every message once, in order");
    assert!(
        writes < burst.len(),
        "a burst of {} took {writes} writes",
        burst.len()
    );
    // After a merged write the server is busy with this client: the next write waits the
    // interval, so that whatever else arrives meanwhile shares it.
    let merged_at = last_merged_at.expect("some write merged several messages");
    sender.say("after the burst").await;
    assert_eq!(next_messages(&mut watcher).await, ["after the burst"]);
    assert!(
        merged_at.elapsed() >= Duration::from_millis(2500),
        "the write after a merged one came {:?} later (interval 3 s)",
        merged_at.elapsed()
    );
}

async fn next_text(
    ws: &mut tokio_tungstenite::WebSocketStream<
        tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
    >,
) -> String {
    use futures_util::StreamExt;
    loop {
        match timeout(PATIENCE, ws.next()).await {
            Ok(Some(Ok(tokio_tungstenite::tungstenite::Message::Text(text)))) => {
                return text.to_string()
            }
            Ok(Some(Ok(_))) => continue,
            other => panic!("expected a text frame, got {other:?}"),
        }
    }
}

/// The texts of the messages in the next WebSocket frame that holds any (presence frames,
/// shown when their interval ends, may come between or share a write).
async fn next_messages(
    ws: &mut tokio_tungstenite::WebSocketStream<
        tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
    >,
) -> Vec<String> {
    loop {
        let frame = next_text(ws).await;
        let texts: Vec<String> = chat_shared::split_batch(&frame)
            .filter_map(|f| match f.unwrap() {
                chat_shared::ServerFrame::Message(m) => Some(m.text),
                chat_shared::ServerFrame::Presence { .. } => None,
                other => panic!("expected messages, got {other:?}"),
            })
            .collect();
        if !texts.is_empty() {
            return texts;
        }
    }
}
