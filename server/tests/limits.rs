//! Every resource a client can make the server spend has a bound: rates per connection
//! (here), per address (`limits/per_address.rs`), and of requests and frames of any kind
//! (`limits/requests.rs`). Refused frames are neither stored nor broadcast; a flood is closed.

mod common;
#[path = "limits/http.rs"]
mod http;
#[path = "limits/kept.rs"]
mod kept;
#[path = "limits/per_address.rs"]
mod per_address;
#[path = "limits/requests.rs"]
mod requests;

use std::time::{Duration, Instant};

use chat_shared::{ClientFrame, ErrorCode, ServerFrame};
use common::{Event, TestServer};

#[tokio::test]
async fn sends_beyond_the_burst_are_refused_with_a_retry_time_and_not_stored() {
    let server = TestServer::start_with(|config| {
        config.rate_limit_per_sec = 5;
        config.rate_limit_burst = 20;
    })
    .await;
    let (mut sender, _) = server.connect_to("room=calm").await;
    let (mut reader, _) = server.connect_to("room=calm").await;
    for i in 0..25 {
        sender.say_in("calm", &format!("m{i}")).await;
    }
    let (mut accepted, mut refused) = (0, Vec::new());
    while accepted + refused.len() < 25 {
        match sender.rx.frame().await {
            ServerFrame::Message(_) => accepted += 1,
            ServerFrame::Error(error) => refused.push(error),
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(accepted, 20, "the burst passes");
    assert_eq!(refused.len(), 5);
    for error in &refused {
        assert_eq!(error.code, ErrorCode::RateLimited);
        assert_eq!(error.room.as_deref(), Some("calm"));
        let wait = error.retry_after_ms.expect("retry_after_ms");
        assert!((1..=1000).contains(&wait), "{wait}");
    }
    let got = reader.rx.messages(20).await;
    assert_eq!(got.last().map(|m| m.text.as_str()), Some("m19"));
    // After the wait the server asked for, sending works again; the refused five reached nobody.
    let wait = refused
        .iter()
        .filter_map(|e| e.retry_after_ms)
        .max()
        .unwrap_or(0);
    tokio::time::sleep(Duration::from_millis(wait)).await;
    sender.say_in("calm", "later").await;
    assert_eq!(sender.rx.message().await.text, "later");
    reader.rx.nothing_before("later").await;
    let (_, joined) = server.connect_to("room=calm").await;
    assert_eq!(
        joined.unwrap().messages.len(),
        21,
        "refused messages were not stored"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_flooding_at_10x_for_10_seconds_is_closed_with_1008() {
    let server = TestServer::start_with(|config| {
        config.rate_limit_per_sec = 5;
        config.rate_limit_burst = 20;
    })
    .await;
    let (flooder, _) = server.connect_to("room=flood").await;
    let (mut calm, _) = server.connect_to("room=flood").await;
    let common::Client { mut tx, mut rx } = flooder;
    let closed = tokio::spawn(async move {
        loop {
            match rx.next_event(Duration::from_secs(20)).await {
                Some(Event::Closed(frame)) => {
                    return frame.map(|f| (u16::from(f.code), f.reason.to_string()))
                }
                Some(_) => continue,
                None => panic!("the flood was never closed"),
            }
        }
    });
    let started = Instant::now();
    // 50 frames a second: 10 times the limit, for up to 15 s.
    let mut ticker = tokio::time::interval(Duration::from_millis(20));
    let mut sent = 0;
    while !closed.is_finished() && started.elapsed() < Duration::from_secs(15) {
        ticker.tick().await;
        let frame = ClientFrame::Send {
            reply_to: None,
            room: Some("flood".into()),
            text: format!("f{sent}"),
            cid: None,
        };
        let json = chat_shared::encode_client(&frame).unwrap();
        use futures_util::SinkExt;
        if tx.0.send(json.into()).await.is_err() {
            break;
        }
        sent += 1;
    }
    let close = closed.await.unwrap();
    let after = started.elapsed();
    assert_eq!(close, Some((1008, "rate_limited".to_string())));
    assert!(
        after >= Duration::from_secs(10) && after < Duration::from_secs(13),
        "closed after {after:?}"
    );
    // The calm member heard only what the limit let through: the burst, then 5 a second.
    let mut heard = 0;
    while let Some(Event::Frame(ServerFrame::Message(_))) =
        calm.rx.next_event(Duration::from_millis(300)).await
    {
        heard += 1;
    }
    assert!(
        (20..=20 + 5 * 13).contains(&heard),
        "heard {heard} of {sent}"
    );
    // A client within its limit is never closed.
    calm.say_in("flood", "still here").await;
    assert_eq!(calm.rx.message().await.text, "still here");
}
