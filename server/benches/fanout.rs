//! Micro-benchmarks of the per-message path without the network: encoding a message once,
//! appending it once to the feed, and each member taking what is new as one coalesced frame.
//! Run with `cargo bench -p chat-server --bench fanout`.

use chat_server::hub::Hub;
use chat_server::outbound::Next;
use divan::counter::ItemsCount;
use divan::Bencher;
use tungstenite::Utf8Bytes;

fn main() {
    divan::main();
}

/// Messages published between two drains: how far writers lag behind under load.
const BURST: usize = 32;

/// Publish a burst, then let every member take its coalesced batch, as writers do. Counted in
/// deliveries (messages x members).
#[divan::bench(args = [100, 1000, 5000])]
fn publish_and_coalesce(bencher: Bencher, members: usize) {
    let hub = Hub::new(1 << 30);
    let joined: Vec<_> = (0..members).map(|_| hub.join()).collect();
    let text = "b 123456789 3 42".to_string();
    bencher
        .counter(ItemsCount::new(BURST * members))
        .bench_local(|| {
            for _ in 0..BURST {
                hub.publish(text.clone()).unwrap_or_default();
            }
            for member in &joined {
                while let Some(Next::Frame(frame)) = member.try_next() {
                    divan::black_box(frame);
                }
            }
        });
}

/// One member, far behind: take a burst of shared frames from the feed as one coalesced frame.
#[divan::bench(args = [1, 8, 64])]
fn coalesce(bencher: Bencher, burst: usize) {
    let hub = Hub::new(1 << 30);
    let member = hub.join();
    let frame = Utf8Bytes::from(
        r#"{"type":"message","id":123456,"text":"b 123456789 3 42","ts":1764000000000}"#
            .to_string(),
    );
    bencher.counter(ItemsCount::new(burst)).bench_local(|| {
        for _ in 0..burst {
            hub.deliver(&frame);
        }
        divan::black_box(member.try_next());
    });
}
