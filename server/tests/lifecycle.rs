//! Connection lifecycle: who may connect, keepalive, abrupt disconnects, shutdown.

mod common;

use std::time::Duration;

use common::{request_with_origin, spawn_server, Client, TestServer, PATIENCE};
use socket2::SockRef;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::time::{timeout, Instant};
use tokio_tungstenite::tungstenite::Error as WsError;
use tokio_tungstenite::{client_async, connect_async};

#[tokio::test]
async fn cross_origin_upgrades_are_refused_with_403() {
    let server = TestServer::start().await;
    let request = request_with_origin(&server.ws_url(), "http://evil.example");
    match connect_async(request).await {
        Err(WsError::Http(response)) => assert_eq!(response.status(), 403),
        other => panic!("expected 403, got {other:?}"),
    }
    let request = request_with_origin(&server.ws_url(), "null");
    assert!(connect_async(request).await.is_err());
    assert_eq!(server.clients(), 0);
}

#[tokio::test]
async fn same_origin_no_origin_and_allowed_origins_are_accepted() {
    let server = TestServer::start_with(|config| {
        config.allowed_origins = vec!["https://chat.example".into()]
    })
    .await;
    let same = request_with_origin(&server.ws_url(), &format!("http://{}", server.addr));
    let allowed = request_with_origin(&server.ws_url(), "https://chat.example");
    let (same, _) = connect_async(same).await.expect("same origin");
    let (allowed, _) = connect_async(allowed).await.expect("allowed origin");
    let (none, _) = connect_async(server.ws_url()).await.expect("no origin");
    let mut clients: Vec<Client> = [same, allowed, none].into_iter().map(Client::new).collect();
    server.wait_for_clients(3).await;
    clients[0].say("hi").await;
    for client in &mut clients {
        assert_eq!(client.rx.message().await.text, "hi");
    }
}

#[tokio::test]
async fn plain_http_gets_the_page_and_a_4xx_on_the_socket_path() {
    let server = TestServer::start().await;
    let get = |path: &str| {
        format!(
            "GET {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
            server.addr
        )
    };
    assert_eq!(server.http_status(&get("/")).await, 200);
    let status = server.http_status(&get("/ws")).await;
    assert!(
        (400..500).contains(&status),
        "GET /ws without upgrade: {status}"
    );
}

#[tokio::test]
async fn the_server_pings_and_drops_clients_that_never_answer() {
    let server = TestServer::start_with(|config| {
        config.ping_interval = Duration::from_millis(100);
        config.pong_timeout = Duration::from_millis(500);
    })
    .await;
    // Never polled, so it never answers a ping.
    let silent = server.connect_small_buffer().await;
    let mut alive = server.connect().await;
    server.wait_for_clients(2).await;

    let started = Instant::now();
    // `alive` keeps reading, which answers every ping automatically (pings and nothing else),
    // until the silent one is dropped.
    while alive.rx.pings < 5 || server.clients() > 1 {
        match alive.rx.next_event(PATIENCE).await {
            Some(common::Event::Ping) => {}
            other => panic!("expected pings, got {other:?}"),
        }
    }
    assert!(started.elapsed() < Duration::from_secs(3));

    alive.say("still alive").await;
    assert_eq!(alive.rx.message().await.text, "still alive");
    drop(silent);
}

/// Sets SO_LINGER to zero so that dropping the socket sends a TCP reset.
fn reset_on_drop(tcp: &TcpStream) {
    SockRef::from(tcp).set_linger(Some(Duration::ZERO)).unwrap();
}

#[tokio::test]
async fn abrupt_resets_free_the_client_and_disturb_nobody() {
    let server = TestServer::start().await;
    let mut watcher = server.connect().await;
    server.wait_for_clients(1).await;

    // Reset right after the handshake.
    let ws = server.connect_small_buffer().await;
    server.wait_for_clients(2).await;
    reset_on_drop(ws.get_ref());
    drop(ws);
    server.wait_for_clients(1).await;

    // Reset in the middle of a frame: the header promises 100 bytes, 10 arrive.
    let mut ws = server.connect_small_buffer().await;
    server.wait_for_clients(2).await;
    let header = [0x81u8, 0x80 | 100, 1, 2, 3, 4];
    ws.get_mut().write_all(&header).await.unwrap();
    ws.get_mut().write_all(&[b'x'; 10]).await.unwrap();
    reset_on_drop(ws.get_ref());
    drop(ws);
    server.wait_for_clients(1).await;

    // Reset halfway through the HTTP upgrade request.
    let mut tcp = TcpStream::connect(server.addr).await.unwrap();
    tcp.write_all(b"GET /ws HTTP/1.1\r\nHost: x\r\nUpgr")
        .await
        .unwrap();
    reset_on_drop(&tcp);
    drop(tcp);

    // A clean client that goes away without a close frame (EOF).
    let tcp = TcpStream::connect(server.addr).await.unwrap();
    let (ws, _) = client_async(server.ws_url(), tcp).await.unwrap();
    server.wait_for_clients(2).await;
    drop(ws);
    server.wait_for_clients(1).await;

    watcher.say("nothing happened").await;
    watcher.rx.nothing_before("nothing happened").await;
}

#[tokio::test]
async fn graceful_shutdown_sends_1001_to_every_client() {
    let server = TestServer::start().await;
    let mut clients = Vec::new();
    for _ in 0..5 {
        clients.push(server.connect().await);
    }
    server.wait_for_clients(5).await;
    let readers: Vec<_> = clients
        .into_iter()
        .map(|mut client| tokio::spawn(async move { client.rx.close_code().await }))
        .collect();
    let took = server.shutdown().await;
    assert!(took < Duration::from_secs(3), "shutdown took {took:?}");
    for reader in readers {
        assert_eq!(reader.await.unwrap(), Some(1001));
    }
}

#[tokio::test]
async fn sigterm_closes_clients_with_1001_and_exits() {
    let data = tempfile::tempdir().unwrap();
    let (mut child, addr, mut lines) = spawn_server(data.path(), &[]).await;

    let (ws, _) = connect_async(format!("ws://{addr}/ws")).await.unwrap();
    let mut client = Client::new(ws);
    client.say("before shutdown").await;
    assert_eq!(client.rx.message().await.text, "before shutdown");

    let pid = child.id().unwrap().to_string();
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    assert!(killed.success());
    let started = Instant::now();
    assert_eq!(client.rx.close_code().await, Some(1001));
    let status = timeout(Duration::from_secs(5), child.wait())
        .await
        .expect("exits within 5 s")
        .unwrap();
    assert!(status.success(), "exit status {status}");
    assert!(started.elapsed() < Duration::from_secs(5));
    // Drain the log so the child never blocks on a full pipe.
    while let Ok(Some(_)) = lines.next_line().await {}
}

#[tokio::test]
async fn a_request_whose_headers_never_finish_is_cut_off() {
    use tokio::io::AsyncReadExt;
    let server = TestServer::start_with(|config| {
        config.header_timeout = Duration::from_millis(300);
    })
    .await;
    let mut tcp = TcpStream::connect(server.addr).await.unwrap();
    tcp.write_all(b"GET /ws HTTP/1.1\r\nHost: localhost\r\nUpgrade: web")
        .await
        .unwrap();
    let started = Instant::now();
    let mut rest = Vec::new();
    // Whatever the server says (if anything), it must then hang up.
    timeout(PATIENCE, tcp.read_to_end(&mut rest))
        .await
        .expect("the server kept a half-sent request open")
        .ok();
    assert!(started.elapsed() >= Duration::from_millis(250));

    let mut client = server.connect().await;
    client.say("still serving").await;
    assert_eq!(client.rx.message().await.text, "still serving");
}

#[tokio::test]
async fn the_router_a_test_builds_serves_the_socket_and_every_other_route() {
    use chat_server::config::Config;
    use chat_server::{http, AppState};
    use chat_shared::ServerFrame;
    use tokio::io::AsyncReadExt;

    let data = tempfile::tempdir().unwrap();
    let config = Config {
        data_dir: data.path().to_path_buf(),
        access: chat_server::config::Access::Open,
        ..Config::default()
    };
    let state = AppState::new(&config).unwrap();
    let router = http::router(state.clone()).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = tokio::spawn(http::serve(
        listener,
        router,
        http::settings(&state),
        async {
            let _ = stopped.await;
        },
    ));

    let (ws, _) = connect_async(format!("ws://{addr}/ws?room=routed"))
        .await
        .expect("/ws upgrades through the router");
    let mut client = Client::new(ws);
    assert!(matches!(client.rx.frame().await, ServerFrame::Limits(_)));
    assert_eq!(client.rx.joined().await.room, "routed");
    client.say_in("routed", "through the router").await;
    assert_eq!(client.rx.message().await.text, "through the router");

    for (path, status) in [("/healthz", "200"), ("/readyz", "200"), ("/metrics", "200")] {
        let mut tcp = TcpStream::connect(addr).await.unwrap();
        let request = format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        tcp.write_all(request.as_bytes()).await.unwrap();
        let mut answer = String::new();
        timeout(PATIENCE, tcp.read_to_string(&mut answer))
            .await
            .unwrap()
            .unwrap();
        assert!(
            answer.starts_with(&format!("HTTP/1.1 {status}")),
            "{path}: {answer}"
        );
    }
    drop(client);
    let _ = stop.send(());
    timeout(PATIENCE, serving).await.unwrap().unwrap();

    // A router is only built from a configuration it can serve.
    let data = tempfile::tempdir().unwrap();
    let bad = Config {
        allowed_origins: vec!["not an origin".into()],
        data_dir: data.path().to_path_buf(),
        ..Config::default()
    };
    let state = AppState::new(&bad).unwrap();
    let err = http::router(state).unwrap_err();
    assert!(format!("{err:#}").contains("--allowed-origin"), "{err:#}");
}
