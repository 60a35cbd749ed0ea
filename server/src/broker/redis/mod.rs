//! Cluster mode: several nodes share rooms, history, names and presence through Redis.
//!
//! The `redis` crate (redis-rs) rather than `fred`: it is the most used Redis client for Rust,
//! its `ConnectionManager` multiplexes every command of the node over one connection and
//! reconnects by itself (exponential backoff with jitter), and its split pub/sub connection lets
//! one task both subscribe and read. A message takes one round trip: the node's publisher
//! pipelines whatever queued meanwhile, each message one `EVALSHA` of [`scripts::PUBLISH`],
//! which increments the room's sequence, appends to its stream and publishes, atomically; an
//! edit, a deletion or a reaction is one of [`scripts::CHANGE`], which also checks it against
//! its message and applies it. Every node (the sender's too) learns of each from pub/sub
//! ([`subscriber`]), which fills any gap from the stream before delivering later ids, so
//! members on every node see the same ids in the same order and nothing is accepted that is
//! not stored.

mod history;
pub mod keys;
mod presence;
mod publisher;
pub mod scripts;
mod subscriber;
mod sweep;

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use chat_shared::{ChatMessage, ErrorCode, FrameError, Joined};
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{Client, Script};
use tokio::sync::{mpsc, oneshot};
use tracing::error;

use super::{BoxFuture, Broker};
use crate::broker::{Gap, Post};
use crate::clock::{unix_millis, Clock};
use crate::metrics::Metrics;
use crate::receipt::{receipt, Receipt, Reply};
use crate::rooms::{Room, RoomRegistry};
use crate::{random, token};
use subscriber::{Subscriber, SubscriberCommand};

/// Messages queued for Redis beyond which a send is refused at once.
const PUBLISH_QUEUE: usize = 65_536;

/// Capacity of the queues to the subscriber task (rooms to hear) and the presence task (arrivals,
/// departures and typing to write): bounded, so a storm of joins cannot grow them without end.
const QUEUE_CAPACITY: usize = 65_536;

/// Longest a Redis command may take before it counts as failed.
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(2);

/// Messages kept per room in cluster mode unless `--history-per-room` says otherwise.
pub const DEFAULT_HISTORY_PER_ROOM: u64 = 10_000;

/// What cluster mode needs from the configuration.
#[derive(Debug, Clone)]
pub struct ClusterSettings {
    /// The Redis URL.
    pub url: String,
    /// Messages kept per room (0: all).
    pub history_per_room: u64,
    /// Rooms the cluster may hold.
    pub max_rooms: usize,
    /// How long a dead node's members stay listed.
    pub presence_ttl: Duration,
    /// A name not presented with its token this long is freed (zero: never).
    pub name_ttl: Duration,
    /// A room with no messages and nobody in it is forgotten after this long (zero: never).
    pub empty_room_ttl: Duration,
    /// The clock that judges `empty_room_ttl` (tests move it on).
    pub clock: Clock,
}

/// The cluster-mode broker.
#[derive(Debug)]
pub struct RedisBroker {
    shared: Arc<Shared>,
    posts: mpsc::Sender<(Post, Reply)>,
}

/// What the broker's tasks share.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) conn: ConnectionManager,
    pub(crate) client: Client,
    /// This node's random id (presence entries, heartbeats).
    pub(crate) node: String,
    pub(crate) registry: Arc<RoomRegistry>,
    pub(crate) settings: ClusterSettings,
    pub(crate) metrics: Arc<Metrics>,
    subscriber: mpsc::Sender<SubscriberCommand>,
    open: Script,
    pub(crate) publish: Script,
    pub(crate) change: Script,
    read: Script,
    claim: Script,
    /// Test hook: pub/sub messages to drop on purpose, to exercise the gap filler.
    pub(crate) drop_next: AtomicU32,
    /// Whether the pub/sub connection is up and every room caught up: without it this node
    /// would store messages it cannot deliver.
    pub(crate) hearing: AtomicBool,
}

impl RedisBroker {
    /// Starts the broker's tasks. Fails only on a malformed URL: an unreachable Redis is
    /// retried (with backoff) while the server serves, refusing messages until it is back.
    pub fn start(
        settings: ClusterSettings,
        registry: Arc<RoomRegistry>,
        metrics: Arc<Metrics>,
    ) -> anyhow::Result<Self> {
        let client = Client::open(settings.url.as_str())
            .with_context(|| format!("invalid --redis-url {:?}", settings.url))?;
        let config = ConnectionManagerConfig::new()
            .set_response_timeout(Some(RESPONSE_TIMEOUT))
            .set_connection_timeout(Some(RESPONSE_TIMEOUT))
            .set_max_delay(Duration::from_secs(2))
            .set_number_of_retries(2);
        let conn = ConnectionManager::new_lazy_with_config(client.clone(), config)
            .context("cannot set up the Redis connection")?;
        let (subscriber, commands) = mpsc::channel(QUEUE_CAPACITY);
        let (events, room_events) = mpsc::channel(QUEUE_CAPACITY);
        registry.link_cluster(events);
        let shared = Arc::new(Shared {
            conn,
            client,
            node: random::hex(12),
            registry,
            settings,
            metrics,
            subscriber,
            open: Script::new(keys::OPEN_ROOM),
            publish: Script::new(&scripts::PUBLISH),
            change: Script::new(&scripts::CHANGE),
            read: Script::new(&scripts::READ),
            claim: Script::new(keys::CLAIM_NAME),
            drop_next: AtomicU32::new(0),
            hearing: AtomicBool::new(false),
        });
        let (posts, queue) = mpsc::channel(PUBLISH_QUEUE);
        tokio::spawn(publisher::run(shared.clone(), queue));
        tokio::spawn(Subscriber::new(shared.clone(), commands).run());
        tokio::spawn(presence::run(shared.clone(), room_events));
        tokio::spawn(sweep::run(Arc::downgrade(&shared)));
        Ok(RedisBroker { shared, posts })
    }

    /// Forgets the cluster's empty rooms now (every node also does every minute); returns how
    /// many were deleted.
    pub async fn sweep_empty_rooms(&self) -> Result<u64, FrameError> {
        sweep::sweep(&self.shared, &sweep::script())
            .await
            .map_err(|err| self.shared.failed("sweep empty rooms", &err))
    }

    /// Test hook: the next `n` pub/sub messages this node receives are dropped, as Redis
    /// pub/sub may drop them (at most once delivery), so the gap filler must recover them.
    #[doc(hidden)]
    pub fn drop_next_messages(&self, n: u32) {
        self.shared.drop_next.store(n, Ordering::SeqCst);
    }

    /// This node's id in Redis.
    pub fn node(&self) -> &str {
        &self.shared.node
    }
}

impl Broker for RedisBroker {
    fn publish(&self, post: Post) -> Result<Receipt, FrameError> {
        let (reply, receipt) = receipt();
        self.posts.try_send((post, reply)).map_err(|err| {
            let (post, _) = match err {
                mpsc::error::TrySendError::Full(queued)
                | mpsc::error::TrySendError::Closed(queued) => queued,
            };
            FrameError::new(ErrorCode::HistoryUnavailable, "the server is overloaded")
                .in_room(&post.room.name)
                .for_cid(post.cid)
        })?;
        Ok(receipt)
    }

    fn open_room<'a>(
        &'a self,
        name: &'a str,
        create: bool,
    ) -> BoxFuture<'a, Result<Option<Arc<Room>>, FrameError>> {
        Box::pin(self.shared.open_room(name, create))
    }

    fn claim_name<'a>(
        &'a self,
        name: &'a str,
        token: Option<String>,
    ) -> BoxFuture<'a, Result<String, FrameError>> {
        Box::pin(self.shared.claim_name(name, token))
    }

    fn messages_after<'a>(
        &'a self,
        room: &'a Room,
        since: u64,
        through: u64,
        limit: u64,
    ) -> BoxFuture<'a, Result<Gap, FrameError>> {
        Box::pin(async move {
            if through <= since {
                return Ok(Gap::default());
            }
            self.shared
                .range(&room.name, since + 1, through, limit)
                .await
                .map_err(|err| self.shared.failed("read a room's missed messages", &err))
        })
    }

    fn messages_from<'a>(
        &'a self,
        room: &'a Room,
        from: u64,
        limit: u64,
    ) -> BoxFuture<'a, Result<Vec<ChatMessage>, FrameError>> {
        Box::pin(async move {
            self.shared
                .messages_from(&room.name, from, limit)
                .await
                .map_err(|err| self.shared.failed("read a room's history", &err))
        })
    }

    fn messages_before<'a>(
        &'a self,
        room: &'a Room,
        before: u64,
        limit: u64,
    ) -> BoxFuture<'a, Result<Vec<ChatMessage>, FrameError>> {
        Box::pin(async move {
            self.shared
                .newest_before(&room.name, before, limit)
                .await
                .map_err(|err| self.shared.failed("read a room's history", &err))
        })
    }

    fn latest_page<'a>(
        &'a self,
        name: &'a str,
        limit: u64,
    ) -> BoxFuture<'a, Result<Option<Joined>, FrameError>> {
        Box::pin(async move {
            let read = async {
                let mut conn = self.shared.conn.clone();
                self.shared.metrics.redis_round_trips.inc();
                let (epoch, seq): (Option<String>, Option<u64>) = redis::cmd("HMGET")
                    .arg(keys::meta(name))
                    .arg("epoch")
                    .arg("seq")
                    .query_async(&mut conn)
                    .await?;
                let Some(epoch) = epoch else {
                    return Ok(None);
                };
                let last_id = seq.unwrap_or(0);
                let messages = if limit == 0 || last_id == 0 {
                    Vec::new()
                } else {
                    self.shared
                        .newest_before(name, last_id.saturating_add(1), limit)
                        .await?
                };
                Ok(Some(Joined {
                    room: name.to_string(),
                    epoch,
                    last_id,
                    recovered: false,
                    messages,
                    events: Vec::new(),
                    members: Vec::new(),
                    count: None,
                    you: String::new(),
                    title: String::new(),
                    topic: String::new(),
                    read: None,
                    unread: None,
                    mentioned: false,
                    notify_every: false,
                    muted: false,
                }))
            };
            read.await.map_err(|err: redis::RedisError| {
                self.shared.failed("read a room's latest page", &err)
            })
        })
    }

    fn probe(&self) -> BoxFuture<'_, Result<(), String>> {
        Box::pin(async move {
            if !self.shared.hearing.load(Ordering::SeqCst) {
                return Err("the pub/sub connection to Redis is down".to_string());
            }
            let mut conn = self.shared.conn.clone();
            self.shared.metrics.redis_round_trips.inc();
            redis::cmd("SET")
                .arg(keys::heartbeat(&self.shared.node))
                .arg(unix_millis())
                .arg("PX")
                .arg(10_000)
                .query_async::<()>(&mut conn)
                .await
                .map_err(|err| {
                    self.shared.metrics.redis_errors.inc();
                    format!("Redis does not take writes: {err}")
                })
        })
    }

    fn as_redis(&self) -> Option<&RedisBroker> {
        Some(self)
    }
}

impl Shared {
    /// Logs a Redis failure and turns it into what the client is told.
    pub(crate) fn failed(&self, what: &str, err: &redis::RedisError) -> FrameError {
        self.metrics.redis_errors.inc();
        error!(error = %err, "Redis failure: could not {what}");
        FrameError::new(
            ErrorCode::HistoryUnavailable,
            format!(
                "the server could not {what} (Redis unavailable); nothing was stored, try again"
            ),
        )
    }

    /// The room's history is gone from Redis (a new epoch): forget the room here and close its
    /// members, who rejoin, learn the new epoch, and are told their history could not be
    /// recovered.
    pub(crate) fn reset_room(&self, room: &Arc<Room>) {
        self.registry.remove(room);
        room.evict_all(crate::close::CloseReason::RoomReset);
    }

    async fn open_room(&self, name: &str, create: bool) -> Result<Option<Arc<Room>>, FrameError> {
        if let Some(room) = self.registry.get(name) {
            return Ok(Some(room));
        }
        let mut conn = self.conn.clone();
        self.metrics.redis_round_trips.inc();
        let (status, epoch, last_id): (String, String, u64) = self
            .open
            .key(keys::meta(name))
            .key(keys::ROOMS)
            .arg(random::hex(16))
            .arg(self.settings.max_rooms)
            .arg(name)
            .arg(if create { "1" } else { "0" })
            .arg(self.settings.clock.now_ms())
            .invoke_async(&mut conn)
            .await
            .map_err(|err| self.failed("open a room", &err).in_room(name))?;
        match status.as_str() {
            "ok" => {}
            "absent" => return Ok(None),
            _ => {
                return Err(FrameError::new(
                    ErrorCode::RoomLimit,
                    "the cluster holds as many rooms as it may; join an existing one",
                )
                .in_room(name))
            }
        }
        let room = self.registry.insert(Room::new(
            name.to_string(),
            0,
            epoch,
            last_id,
            0,
            self.registry.links(),
        ));
        // Not returned before this node hears the room's channel: from then on every id after
        // `last_id` reaches the feed (later ones from pub/sub, any between from the stream).
        let (done, subscribed) = oneshot::channel();
        let command = SubscriberCommand::Subscribe {
            room: room.clone(),
            done,
        };
        if self.subscriber.try_send(command).is_err() {
            return Err(FrameError::new(
                ErrorCode::HistoryUnavailable,
                "the server is stopping",
            ));
        }
        subscribed
            .await
            .unwrap_or_else(|_| {
                Err(FrameError::new(
                    ErrorCode::HistoryUnavailable,
                    "the server is stopping",
                ))
            })
            .map_err(|err| err.in_room(name))?;
        Ok(Some(room))
    }

    async fn claim_name(&self, name: &str, token: Option<String>) -> Result<String, FrameError> {
        let fresh = token::new_token().map_err(|err| {
            error!(error = %err, "no random source for a name token");
            FrameError::new(
                ErrorCode::HistoryUnavailable,
                "cannot issue a token right now",
            )
        })?;
        let presented = token.as_deref().map(hash_token).unwrap_or_default();
        let mut conn = self.conn.clone();
        self.metrics.redis_round_trips.inc();
        let held: u8 = self
            .claim
            .key(keys::name(&chat_shared::name_key(name)))
            .arg(presented)
            .arg(hash_token(&fresh))
            .arg(u64::try_from(self.settings.name_ttl.as_millis()).unwrap_or(u64::MAX))
            .invoke_async(&mut conn)
            .await
            .map_err(|err| self.failed("claim a name", &err))?;
        match (held, token) {
            (1, Some(token)) => Ok(token),
            (2, _) => Ok(fresh),
            _ => Err(FrameError::new(
                ErrorCode::NameTaken,
                format!("the name {name:?} is taken"),
            )),
        }
    }
}

/// Only hashes of tokens are stored, so a copy of Redis reclaims no name.
fn hash_token(token: &str) -> String {
    token::to_hex(&token::hash(token))
}
