//! Test harness: the real server on port 0, and WebSocket clients that speak the protocol.
#![allow(dead_code)] // each test binary uses a different part of the harness

pub mod accounts;
pub mod redis_server;
pub mod stream;

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use chat_server::config::Config;
use chat_server::{run, AppState};
use chat_shared::{
    encode_client, split_batch, ChatMessage, ClientFrame, ErrorFrame, Joined, ServerFrame,
};
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio::time::{sleep, timeout, Instant};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{client_async, connect_async, MaybeTlsStream, WebSocketStream};

/// How long a test waits for something that should happen at once on loopback.
pub const PATIENCE: Duration = Duration::from_secs(10);

/// The real server, serving on an ephemeral loopback port, with its database in a temporary
/// folder (kept while any server started on it lives, so a restart finds it again).
pub struct TestServer {
    pub addr: SocketAddr,
    pub state: Arc<AppState>,
    pub data: Arc<tempfile::TempDir>,
    config: Config,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<anyhow::Result<()>>>,
}

impl TestServer {
    /// Starts a server with the default configuration.
    pub async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    /// Starts a server after `tune` adjusts the configuration. The rate limits (per connection
    /// and per address, since every test client comes from 127.0.0.1) are off unless `tune`
    /// turns them on, so tests can connect and send at machine speed; `limits.rs` tests them.
    pub async fn start_with(tune: impl FnOnce(&mut Config)) -> Self {
        let data = Arc::new(tempfile::tempdir().expect("temporary data folder"));
        let mut config = Config {
            addr: "127.0.0.1:0".parse().unwrap(),
            data_dir: data.path().to_path_buf(),
            // Most tests chat as guests; accounts tests ask for accounts (`accounts_server`).
            access: chat_server::config::Access::Open,
            ..Config::default()
        };
        without_rate_limits(&mut config);
        tune(&mut config);
        Self::start_on(config, data).await
    }

    async fn start_on(config: Config, data: Arc<tempfile::TempDir>) -> Self {
        let state = AppState::new(&config).unwrap();
        let listener = TcpListener::bind(config.addr).await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(run(listener, state.clone(), async move {
            let _ = stopped.await;
        }));
        TestServer {
            addr,
            state,
            data,
            config,
            stop: Some(stop),
            task: Some(task),
        }
    }

    /// Shuts the server down and starts a new one on the same data folder and settings.
    pub async fn restart(self) -> Self {
        let (config, data) = (self.config.clone(), self.data.clone());
        self.shutdown().await;
        Self::start_on(config, data).await
    }

    pub fn ws_url(&self) -> String {
        format!("ws://{}/ws", self.addr)
    }

    pub fn clients(&self) -> usize {
        self.state.connections.count()
    }

    /// Waits until exactly `n` clients are registered in the hub.
    pub async fn wait_for_clients(&self, n: usize) {
        let deadline = Instant::now() + PATIENCE;
        while self.clients() != n {
            assert!(
                Instant::now() < deadline,
                "expected {n} clients, the hub has {}",
                self.clients()
            );
            sleep(Duration::from_millis(10)).await;
        }
    }

    /// Opens a polite client in `lobby` and reads its `joined` answer.
    pub async fn connect(&self) -> Client {
        self.connect_to("").await.0
    }

    /// Opens a client with `query` after `/ws?` (e.g. `room=rust`), and reads the `joined`
    /// answer when it starts in a room.
    pub async fn connect_to(&self, query: &str) -> (Client, Option<Joined>) {
        let url = format!("{}?{query}", self.ws_url());
        let (ws, _) = connect_async(url).await.expect("connect");
        let mut client = Client::new(ws);
        match client.rx.frame().await {
            ServerFrame::Limits(_) => {}
            other => panic!("the first frame must be limits, got {other:?}"),
        }
        let joined = if query.contains("room=&") || query.ends_with("room=") {
            None
        } else {
            Some(client.rx.joined().await)
        };
        (client, joined)
    }

    /// Opens a client over a TCP socket with a tiny receive buffer, so that a client which
    /// stops reading fills up quickly.
    pub async fn connect_small_buffer(&self) -> WebSocketStream<TcpStream> {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.set_recv_buffer_size(4096).unwrap();
        let tcp = socket.connect(self.addr).await.unwrap();
        let (ws, _) = client_async(self.ws_url(), tcp).await.expect("handshake");
        ws
    }

    /// Sends a raw HTTP request and returns the response's status code.
    pub async fn http_status(&self, request: &str) -> u16 {
        self.exchange(request).await.0
    }

    /// Takes the SQLite write lock from another connection, as another process could, so the
    /// server's writes fail until the returned connection runs `ROLLBACK` (or is dropped).
    pub fn lock_database(&self) -> rusqlite::Connection {
        let store = self.state.chat.store.as_ref().expect("single-node mode");
        let locker = rusqlite::Connection::open(store.path()).unwrap();
        locker.execute_batch("BEGIN IMMEDIATE").unwrap();
        locker
    }

    /// GETs `path` over plain HTTP/1.1: the status code and the body.
    pub async fn get(&self, path: &str) -> (u16, String) {
        let request = format!("GET {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n");
        self.exchange(&request).await
    }

    /// Writes `request` as it is, reads until the server closes: the status code and the body.
    async fn exchange(&self, request: &str) -> (u16, String) {
        let (status, _, body) = self.exchange_with_head(request).await;
        (status, body)
    }

    /// GETs `path`: the status code, the response head (status line and headers) and the body.
    pub async fn get_with_head(&self, path: &str) -> (u16, String, String) {
        let request = format!("GET {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n");
        self.exchange_with_head(&request).await
    }

    /// Writes `request` as it is, reads until the server closes: status, head and body.
    pub async fn exchange_with_head(&self, request: &str) -> (u16, String, String) {
        let mut tcp = TcpStream::connect(self.addr).await.unwrap();
        tcp.write_all(request.as_bytes()).await.unwrap();
        let mut response = Vec::new();
        timeout(PATIENCE, tcp.read_to_end(&mut response))
            .await
            .expect("response in time")
            .unwrap();
        let text = String::from_utf8_lossy(&response);
        let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
        let status = head
            .split_whitespace()
            .nth(1)
            .and_then(|code| code.parse().ok())
            .unwrap_or_else(|| panic!("no status line in {head:?}"));
        (status, head.to_string(), body.to_string())
    }

    /// Waits until `/readyz` answers `status` (its answer is cached for a second, so a change
    /// shows within about that long).
    pub async fn wait_for_readyz(&self, status: u16) {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let (got, body) = self.get("/readyz").await;
            if got == status {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "/readyz still answers {got}: {body}"
            );
            sleep(Duration::from_millis(50)).await;
        }
    }

    /// The value of one sample of `/metrics` (`name` with its labels, as rendered), 0 if absent.
    pub async fn metric(&self, sample: &str) -> f64 {
        let (status, body) = self.get("/metrics").await;
        assert_eq!(status, 200, "{body}");
        body.lines()
            .find_map(|line| line.strip_prefix(sample)?.strip_prefix(' '))
            .map(|value| value.trim().parse().expect("a number"))
            .unwrap_or(0.0)
    }

    /// Triggers graceful shutdown and waits for the server to finish.
    pub async fn shutdown(mut self) -> Duration {
        let started = Instant::now();
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let task = self.task.take().expect("running");
        timeout(PATIENCE, task)
            .await
            .expect("server stops in time")
            .expect("server task")
            .expect("server result");
        started.elapsed()
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// A well-behaved client; split into halves so a test can send and read at the same time.
pub struct Client {
    pub tx: Sender,
    pub rx: Receiver,
}

impl Client {
    pub fn new(ws: Ws) -> Self {
        let (sink, stream) = ws.split();
        Client {
            tx: Sender(sink),
            rx: Receiver::new(stream),
        }
    }

    pub async fn say(&mut self, text: &str) {
        self.tx.say(text).await
    }

    /// Sends a frame and waits for its answer frame (skipping messages and presence).
    pub async fn ask(&mut self, frame: ClientFrame) -> ServerFrame {
        self.tx.send(&frame).await;
        self.rx.answer().await
    }

    /// Takes a name; panics unless welcomed. Returns the token.
    pub async fn hello(&mut self, name: &str, token: Option<&str>) -> String {
        let frame = ClientFrame::Hello {
            name: name.into(),
            token: token.map(Into::into),
        };
        match self.ask(frame).await {
            ServerFrame::Welcome { name: got, token } => {
                assert_eq!(got, name.trim());
                token
            }
            other => panic!("expected welcome, got {other:?}"),
        }
    }

    /// Joins a room (optionally resuming) and returns the answer.
    pub async fn join(&mut self, room: &str, since: Option<u64>, epoch: Option<&str>) -> Joined {
        self.tx
            .send(&ClientFrame::Join {
                room: room.into(),
                since,
                epoch: epoch.map(Into::into),
            })
            .await;
        self.rx.joined().await
    }

    /// Sends `text` to `room`.
    pub async fn say_in(&mut self, room: &str, text: &str) {
        self.tx
            .send(&ClientFrame::Send {
                reply_to: None,
                room: Some(room.into()),
                text: text.into(),
                cid: None,
            })
            .await
    }
}

/// The sending half of a client.
pub struct Sender(pub SplitSink<Ws, Message>);

impl Sender {
    /// Sends a `send` frame (to the default room) built by the shared protocol crate.
    pub async fn say(&mut self, text: &str) {
        self.send(&ClientFrame::Send {
            reply_to: None,
            room: None,
            text: text.into(),
            cid: None,
        })
        .await;
    }

    /// Sends any client frame.
    pub async fn send(&mut self, frame: &ClientFrame) {
        self.raw(&encode_client(frame).unwrap()).await;
    }

    /// Sends an arbitrary text frame.
    pub async fn raw(&mut self, text: &str) {
        self.0.send(Message::text(text)).await.expect("send");
    }

    pub async fn message(&mut self, message: Message) {
        self.0.send(message).await.expect("send");
    }
}

/// What a client saw next.
#[derive(Debug)]
#[allow(clippy::large_enum_variant)]
pub enum Event {
    Frame(ServerFrame),
    Ping,
    Closed(Option<CloseFrame>),
}

/// The reading half of a client: splits coalesced frames and remembers the rest. Presence and
/// typing notices are passed over unless `notices` is set, so tests about messages are not
/// disturbed by other clients coming and going.
pub struct Receiver {
    stream: SplitStream<Ws>,
    pending: VecDeque<ServerFrame>,
    pub pings: usize,
    pub notices: bool,
}

impl Receiver {
    fn new(stream: SplitStream<Ws>) -> Self {
        Receiver {
            stream,
            pending: VecDeque::new(),
            pings: 0,
            notices: false,
        }
    }

    /// The next `joined` answer (messages and notices before it are skipped).
    pub async fn joined(&mut self) -> Joined {
        loop {
            match self.frame().await {
                ServerFrame::Joined(joined) => return joined,
                ServerFrame::Error(error) => panic!("expected joined, got {error:?}"),
                _ => continue,
            }
        }
    }

    /// The next frame that is not a chat message, a notice or the connection's `limits`: an
    /// answer or an error.
    pub async fn answer(&mut self) -> ServerFrame {
        loop {
            match self.frame().await {
                ServerFrame::Message(_)
                | ServerFrame::Event(_)
                | ServerFrame::Presence { .. }
                | ServerFrame::Typing { .. }
                | ServerFrame::Limits(_) => continue,
                other => return other,
            }
        }
    }

    /// The next event, or `None` if nothing arrives within `wait`.
    pub async fn next_event(&mut self, wait: Duration) -> Option<Event> {
        if let Some(frame) = self.pending.pop_front() {
            return Some(Event::Frame(frame));
        }
        let deadline = Instant::now() + wait;
        loop {
            let message = match timeout(deadline - Instant::now(), self.stream.next()).await {
                Err(_) => return None,
                Ok(None) => return Some(Event::Closed(None)),
                // A reset (say, the server was killed) ends the connection like a close.
                Ok(Some(Err(_))) => return Some(Event::Closed(None)),
                Ok(Some(Ok(message))) => message,
            };
            match message {
                Message::Text(text) => {
                    for frame in split_batch(text.as_str()) {
                        let frame = frame.unwrap_or_else(|e| panic!("bad frame {text}: {e}"));
                        let notice = matches!(
                            frame,
                            ServerFrame::Presence { .. } | ServerFrame::Typing { .. }
                        );
                        if self.notices || !notice {
                            self.pending.push_back(frame);
                        }
                    }
                    if let Some(frame) = self.pending.pop_front() {
                        return Some(Event::Frame(frame));
                    }
                }
                Message::Ping(_) => {
                    self.pings += 1;
                    return Some(Event::Ping);
                }
                Message::Close(frame) => return Some(Event::Closed(frame)),
                other => panic!("unexpected message {other:?}"),
            }
        }
    }

    /// The next protocol frame, skipping pings; panics on close or silence.
    pub async fn frame(&mut self) -> ServerFrame {
        loop {
            match self.next_event(PATIENCE).await {
                Some(Event::Frame(frame)) => return frame,
                Some(Event::Ping) => continue,
                other => panic!("expected a frame, got {other:?}"),
            }
        }
    }

    /// The next chat message (a `joined` greeting or `limits` before it is passed over).
    pub async fn message(&mut self) -> ChatMessage {
        loop {
            match self.frame().await {
                ServerFrame::Message(message) => return message,
                ServerFrame::Joined(_) | ServerFrame::Limits(_) => continue,
                other => panic!("expected a message, got {other:?}"),
            }
        }
    }

    /// The next event of a room's stream (an edit, a deletion, a reaction), a `joined` or
    /// `limits` before it passed over.
    pub async fn change(&mut self) -> chat_shared::Event {
        loop {
            match self.frame().await {
                ServerFrame::Event(event) => return event,
                ServerFrame::Joined(_) | ServerFrame::Limits(_) => continue,
                other => panic!("expected an event, got {other:?}"),
            }
        }
    }

    pub async fn messages(&mut self, n: usize) -> Vec<ChatMessage> {
        let mut messages = Vec::with_capacity(n);
        for _ in 0..n {
            messages.push(self.message().await);
        }
        messages
    }

    /// Every message up to (not including) the first whose text is `marker`.
    pub async fn messages_until(&mut self, marker: &str) -> Vec<ChatMessage> {
        let mut messages = Vec::new();
        loop {
            let message = self.message().await;
            if message.text == marker {
                return messages;
            }
            messages.push(message);
        }
    }

    pub async fn error(&mut self) -> ErrorFrame {
        match self.frame().await {
            ServerFrame::Error(error) => error,
            other => panic!("expected an error, got {other:?}"),
        }
    }

    /// Reads until the server closes; returns the close code it sent (None: no close frame).
    pub async fn close_code(&mut self) -> Option<u16> {
        loop {
            match self.next_event(PATIENCE).await {
                Some(Event::Closed(frame)) => return frame.map(|f| u16::from(f.code)),
                Some(_) => continue,
                None => panic!("the server did not close the connection"),
            }
        }
    }

    /// Reads up to the chat message whose text is `marker`, and fails on any frame before it:
    /// how a test checks that something did *not* happen. Send the marker after the action
    /// whose effect must not show, through the same room: a room's frames (messages, presence,
    /// typing) and a connection's answers keep their order, so whatever the action caused would
    /// arrive first. (Presence and typing count only with `notices` on; pings never do.)
    pub async fn nothing_before(&mut self, marker: &str) {
        match self.frame().await {
            ServerFrame::Message(message) if message.text == marker => {}
            other => panic!("expected nothing before {marker:?}, got {other:?}"),
        }
    }
}

/// Sends 1 kB messages until the hub has dropped someone (it had `clients`), then the text
/// "done". Bounded at 20,000 messages (~20 MB). Returns how many messages came before "done".
/// How much a stalled client's kernel buffers absorb varies, so the test sends until it shows.
pub async fn flood_until_one_is_dropped(
    server: &TestServer,
    sender: &mut Sender,
    clients: usize,
) -> usize {
    let line = "y".repeat(1000);
    let mut sent = 0;
    while server.clients() == clients && sent < 20_000 {
        for _ in 0..100 {
            sender.say(&format!("{sent} {line}")).await;
            sent += 1;
        }
        sleep(Duration::from_millis(20)).await;
    }
    server.wait_for_clients(clients - 1).await;
    sender.say("done").await;
    sent
}

/// A WebSocket request for `url` carrying `origin`.
pub fn request_with_origin(
    url: &str,
    origin: &str,
) -> tokio_tungstenite::tungstenite::handshake::client::Request {
    let mut request = url.into_client_request().unwrap();
    request
        .headers_mut()
        .insert("Origin", origin.parse().unwrap());
    request
}

/// Turns off every limit on rates and on connections per address.
pub fn without_rate_limits(config: &mut Config) {
    config.rate_limit_per_sec = 0;
    config.rate_limit_per_ip_per_sec = 0;
    config.request_rate_per_sec = 0;
    config.max_frames_per_sec = 0;
    config.max_connections_per_ip = 0;
    config.handshakes_per_ip_per_sec = 0;
    config.http_requests_per_ip_per_sec = 0;
    config.name_claims_per_ip_per_hour = 0;
    config.room_creations_per_ip_per_hour = 0;
    config.sign_ins_per_ip_per_min = 0;
}

/// The flags that turn off the same limits as [`without_rate_limits`].
pub const NO_RATE_LIMIT_FLAGS: &[&str] = &[
    "--rate-limit-per-sec=0",
    "--rate-limit-per-ip-per-sec=0",
    "--request-rate-per-sec=0",
    "--max-frames-per-sec=0",
    "--max-connections-per-ip=0",
    "--handshakes-per-ip-per-sec=0",
    "--http-requests-per-ip-per-sec=0",
    "--name-claims-per-ip-per-hour=0",
    "--room-creations-per-ip-per-hour=0",
    "--sign-ins-per-ip-per-min=0",
];

/// A client of a server started by [`spawn_server`] at `addr`, with `query` after `/ws?`; its
/// `joined` read when it starts in a room.
pub async fn client_at(addr: &str, query: &str) -> Client {
    let (ws, _) = connect_async(format!("ws://{addr}/ws?{query}"))
        .await
        .unwrap();
    let mut client = Client::new(ws);
    if !query.ends_with("room=") {
        client.rx.joined().await;
    }
    client
}

/// Runs the real `chat-server` binary on a free loopback port with its data in `data_dir`.
/// Returns the process, its address and its log lines (read them, or the pipe may fill).
pub async fn spawn_server(
    data_dir: &std::path::Path,
    extra: &[&str],
) -> (
    tokio::process::Child,
    String,
    tokio::io::Lines<tokio::io::BufReader<tokio::process::ChildStdout>>,
) {
    use std::process::Stdio;
    use tokio::io::AsyncBufReadExt;
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_chat-server"))
        .args(["--addr", "127.0.0.1:0"])
        .args(NO_RATE_LIMIT_FLAGS)
        .arg("--data-dir")
        .arg(data_dir)
        .args(extra)
        .env("RUST_LOG", "info")
        .env("NO_COLOR", "1")
        // Guests, unless `extra` says `--access accounts`.
        .env("CHAT_ACCESS", "open")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .expect("start chat-server");
    let stdout = child.stdout.take().unwrap();
    let mut lines = tokio::io::BufReader::new(stdout).lines();
    let addr = timeout(PATIENCE, async {
        while let Some(line) = lines.next_line().await.unwrap() {
            if let Some(rest) = line.split("listening on http://").nth(1) {
                return rest.trim_end_matches('/').to_string();
            }
        }
        panic!("server exited before listening");
    })
    .await
    .expect("server starts");
    (child, addr, lines)
}

/// The texts of `messages`, in order.
pub fn texts(messages: &[ChatMessage]) -> Vec<&str> {
    messages.iter().map(|m| m.text.as_str()).collect()
}

/// A `send` to `room` with the `cid` "same".
pub fn send_with_cid(room: &str, text: &str) -> ClientFrame {
    ClientFrame::Send {
        reply_to: None,
        room: Some(room.into()),
        text: text.into(),
        cid: Some("same".into()),
    }
}

/// alice sends with one `cid` in rooms `one` and `two`: two messages, and a resend in each room
/// is answered with that room's. Returns her token and the two messages.
pub async fn a_cid_is_scoped_to_its_room(
    server: &TestServer,
) -> (String, ChatMessage, ChatMessage) {
    let (mut alice, _) = server.connect_to("room=one").await;
    let token = alice.hello("alice", None).await;
    alice.join("two", None, None).await;
    alice.tx.send(&send_with_cid("one", "in one")).await;
    let first = alice.rx.message().await;
    assert_eq!(
        (first.room.as_str(), first.text.as_str()),
        ("one", "in one")
    );
    // The same cid in another room is another message, stored and delivered there.
    alice.tx.send(&send_with_cid("two", "in two")).await;
    let second = alice.rx.message().await;
    assert_eq!(
        (second.room.as_str(), second.text.as_str()),
        ("two", "in two")
    );
    assert_eq!(second.id, 1, "the first message of room two");
    // In each room a resend is still answered with that room's message.
    alice.tx.send(&send_with_cid("two", "in two")).await;
    assert_eq!(alice.rx.message().await, second);
    alice.tx.send(&send_with_cid("one", "in one")).await;
    assert_eq!(alice.rx.message().await, first);
    (token, first, second)
}
