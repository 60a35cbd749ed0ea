//! The application: everything a chat connection needs, built once from the configuration.
//!
//! [`AppState::new`] checks the configuration and starts the broker (and with it the store or
//! the Redis connections); the HTTP side ([`crate::http`]) serves it.

use std::sync::Arc;

use tracing::info;
use tungstenite::Utf8Bytes;

use crate::accounts::jwt::JwtAccess;
use crate::accounts::{AccountSettings, Accounts};
use crate::broker::redis::{ClusterSettings, DEFAULT_HISTORY_PER_ROOM};
use crate::broker::{Broker, LocalBroker, RedisBroker};
use crate::clock::Clock;
use crate::close::CloseReason;
use crate::config::{Access, Config};
use crate::connection::ConnectionSettings;
use crate::connections::Connections;
use crate::health::Readiness;
use crate::metrics::Metrics;
use crate::peers::Peers;
use crate::push::{PushSettings, Reach, WebPush};
use crate::rooms::RoomRegistry;
use crate::session::bans::NameBans;
use crate::session::{ChatContext, SessionSettings};
use crate::store::{HistoryStore, StoreSettings};
use ipnet::IpNet;

/// Smallest accepted `--client-buffer-bytes`: two full batches.
pub const MIN_CLIENT_BUFFER_BYTES: usize = 2 * chat_shared::MAX_BATCH_BYTES;

/// What every connection and every request shares.
#[derive(Debug)]
pub struct AppState {
    /// The configuration it was built from (the HTTP side reads its own settings here).
    pub config: Config,
    /// Every open connection (for shutdown).
    pub connections: Arc<Connections>,
    /// Rooms, broker, store and the chat rules, shared by every session.
    pub chat: Arc<ChatContext>,
    /// Whether load balancers should send this node clients.
    pub readiness: Readiness,
    /// The `limits` frame every connection gets first, encoded once.
    pub limits_frame: Utf8Bytes,
    /// Timing and size rules of every connection.
    pub connection: Arc<ConnectionSettings>,
    /// What each client address has open and may still spend.
    pub peers: Arc<Peers>,
    /// The clock that judges expiry (tests move it forward).
    pub clock: Clock,
    /// Accounts and sessions (`--access accounts`; `None` in the other modes).
    pub accounts: Option<Arc<Accounts>>,
    /// The application's key and token rules (`--access jwt`; `None` in the other modes).
    pub jwt: Option<Arc<JwtAccess>>,
    /// Web Push (accounts mode; `None` in the other modes).
    pub push: Option<Arc<WebPush>>,
}

impl AppState {
    /// Whether every page and socket needs a signed-in account (accounts mode). In open mode
    /// accounts exist too, for the administrators who moderate guests.
    pub fn accounts_required(&self) -> bool {
        self.config.access == Access::Accounts
    }

    /// Puts the bans of guests in force now into effect (open mode): banned ranges are refused
    /// at the handshake, banned names at `hello`, and connections under either are closed.
    /// Returns how many were closed.
    pub async fn apply_guest_bans(&self) -> usize {
        let Some(accounts) = &self.accounts else {
            return 0;
        };
        let Ok(bans) = accounts.guest_bans().await else {
            return 0;
        };
        let (ranges, names) = crate::accounts::guests::in_force(&bans);
        let banned: Vec<IpNet> = ranges.iter().map(|(range, _)| *range).collect();
        let closed = self.connections.close_guests(
            &banned,
            |name| !names.is_empty() && names.contains_key(&chat_shared::name_key(name)),
            CloseReason::Banned,
        );
        self.peers.set_banned(ranges);
        self.chat.name_bans.set(names);
        closed
    }

    /// Checks `config` and starts what it describes: the store (or Redis), the rooms.
    pub fn new(config: &Config) -> anyhow::Result<Arc<Self>> {
        check(config)?;
        let clock = Clock::default();
        let metrics = Arc::new(Metrics::new());
        let rooms = Arc::new(
            RoomRegistry::new(config.client_buffer_bytes, metrics.clone())
                .with_presence_list_max(config.presence_list_max),
        );
        rooms.start_presence_flusher();
        // Web Push is for accounts (accounts mode), whose database the single node keeps.
        let push_tap = (config.access == Access::Accounts && config.redis_url.is_none())
            .then(|| WebPush::tap(config.push_queue, &metrics));
        let (broker, store): (Arc<dyn Broker>, _) = match &config.redis_url {
            Some(url) => {
                let settings = ClusterSettings {
                    url: url.clone(),
                    history_per_room: config.history_per_room.unwrap_or(DEFAULT_HISTORY_PER_ROOM),
                    max_rooms: config.max_rooms,
                    presence_ttl: config.presence_ttl,
                    name_ttl: config.name_ttl,
                    empty_room_ttl: config.empty_room_ttl,
                    clock: clock.clone(),
                };
                let broker = RedisBroker::start(settings, rooms.clone(), metrics.clone())?;
                info!(
                    node = broker.node(),
                    "cluster mode: rooms, history and names in Redis"
                );
                (Arc::new(broker), None)
            }
            None => {
                let store = Arc::new(HistoryStore::open(
                    &config.data_dir,
                    rooms.clone(),
                    StoreSettings {
                        history_per_room: config.history_per_room.unwrap_or(0),
                        max_rooms: config.max_rooms,
                        max_database_bytes: config.max_database_bytes,
                        name_ttl: config.name_ttl,
                        empty_room_ttl: config.empty_room_ttl,
                        clock: clock.clone(),
                        tap: push_tap.as_ref().map(|(tap, _)| tap.clone()),
                    },
                )?);
                (Arc::new(LocalBroker::new(store.clone())), Some(store))
            }
        };
        let accounts = match (config.access, &store) {
            (Access::Jwt, _) | (Access::Open, None) => None,
            // Open mode keeps accounts too, for the administrators who moderate guests.
            (Access::Accounts | Access::Open, Some(store)) => {
                let accounts = Arc::new(Accounts::new(
                    store.clone(),
                    AccountSettings {
                        session_ttl: config.session_ttl,
                        clock: clock.clone(),
                    },
                )?);
                accounts.start_session_sweeper();
                Some(accounts)
            }
            (Access::Accounts, None) => anyhow::bail!(
                "--access accounts keeps accounts in the single node's database; with \
                 --redis-url use --access open for now"
            ),
        };
        let jwt = match (config.access, &store) {
            (Access::Jwt, Some(store)) => Some(Arc::new(JwtAccess::new(
                config,
                store.clone(),
                clock.clone(),
            )?)),
            (Access::Jwt, None) => anyhow::bail!(
                "--access jwt keeps its accounts in the single node's database; with \
                 --redis-url use --access open for now"
            ),
            _ => None,
        };
        let connections = Connections::new(config.client_buffer_bytes);
        let push = match (push_tap, &store) {
            (Some((tap, news)), Some(store)) => Some(WebPush::start(
                store.clone(),
                connections.clone(),
                &metrics,
                PushSettings {
                    queue: config.push_queue,
                    per_account: config.push_subscriptions_per_account,
                    retry_delay: config.push_retry_delay,
                    reach: if config.push_endpoints_anywhere {
                        Reach::Anywhere
                    } else {
                        Reach::Public
                    },
                    contact: config.push_contact(),
                },
                &tap,
                news,
            )),
            _ => None,
        };
        let chat = Arc::new(ChatContext {
            rooms,
            broker,
            store,
            settings: SessionSettings {
                join_history: config.join_history,
                max_rooms_per_connection: config.max_rooms_per_connection,
                rate_limit_per_sec: config.rate_limit_per_sec,
                rate_limit_burst: config.rate_limit_burst,
                request_rate_per_sec: config.request_rate_per_sec,
            },
            metrics: metrics.clone(),
            name_bans: NameBans::new(clock.clone()),
            connections: connections.clone(),
        });
        let limits = chat_shared::ServerFrame::Limits(config.limits());
        Ok(Arc::new(AppState {
            config: config.clone(),
            connections,
            chat,
            readiness: Readiness::default(),
            limits_frame: chat_shared::encode(&limits)?.into(),
            connection: Arc::new(ConnectionSettings {
                write_timeout: config.write_timeout,
                ping_interval: config.ping_interval,
                pong_timeout: config.pong_timeout,
                min_write_interval: config.min_write_interval,
                max_message_bytes: config.max_frame_bytes as usize,
                max_frames_per_sec: config.max_frames_per_sec,
                #[cfg(feature = "autobahn-echo")]
                echo: config.autobahn_echo,
                metrics,
            }),
            peers: Peers::new(config.peer_limits()),
            clock,
            accounts,
            jwt,
            push,
        }))
    }
}

/// The rules the flags must keep, beyond their types.
fn check(config: &Config) -> anyhow::Result<()> {
    anyhow::ensure!(
        config.max_frame_bytes > 0,
        "--max-frame-bytes must be positive"
    );
    // The feed is trimmed to this budget, so it must hold at least a full batch of the
    // largest messages, or trimming alone would drop clients that keep up.
    anyhow::ensure!(
        config.client_buffer_bytes >= MIN_CLIENT_BUFFER_BYTES,
        "--client-buffer-bytes must be at least {MIN_CLIENT_BUFFER_BYTES}"
    );
    // Hyper's smallest read buffer.
    anyhow::ensure!(
        config.max_header_bytes >= 8192,
        "--max-header-bytes must be at least 8192"
    );
    anyhow::ensure!(
        !config.ping_interval.is_zero() && !config.pong_timeout.is_zero(),
        "--ping-interval and --pong-timeout must be positive"
    );
    anyhow::ensure!(
        config.join_history as u64 <= chat_shared::MAX_RECOVERY_MESSAGES,
        "--join-history must be at most {}",
        chat_shared::MAX_RECOVERY_MESSAGES
    );
    Ok(())
}
