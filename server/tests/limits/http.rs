//! Plain HTTP costs a socket and a task per connection: a client that never reads its answers,
//! or sends endless headers, must not keep either for long.

use std::time::{Duration, Instant};

use tokio::io::AsyncWriteExt;

use crate::common::{TestServer, PATIENCE};

#[tokio::test]
async fn pipelined_requests_never_read_are_dropped_after_the_write_timeout() {
    let server =
        TestServer::start_with(|config| config.write_timeout = Duration::from_secs(1)).await;
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let mut tcp = socket.connect(server.addr).await.unwrap();
    let request = b"GET /metrics HTTP/1.1\r\nHost: test\r\n\r\n".repeat(1000);
    tcp.write_all(&request).await.unwrap();
    let started = Instant::now();
    let mut seen_open = false;
    // The answers pile up unread: the server gives up on the socket once a write has waited
    // the write timeout, though the client keeps its end open.
    loop {
        let open = server.state.peers.open();
        seen_open |= open == 1;
        if seen_open && open == 0 {
            break;
        }
        assert!(started.elapsed() < PATIENCE, "the socket is still held");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    drop(tcp);
}

#[tokio::test]
async fn a_request_head_over_the_limit_is_answered_431() {
    let server = TestServer::start().await;
    let padding = "x".repeat(32 * 1024);
    let request = format!("GET /healthz HTTP/1.1\r\nHost: test\r\nX-Padding: {padding}\r\n\r\n");
    let (status, _, _) = server.exchange_with_head(&request).await;
    assert_eq!(status, 431);
    // A head within it is served.
    let padding = "x".repeat(8 * 1024);
    let request = format!(
        "GET /healthz HTTP/1.1\r\nHost: test\r\nX-Padding: {padding}\r\nConnection: close\r\n\r\n"
    );
    assert_eq!(server.exchange_with_head(&request).await.0, 200);
}
