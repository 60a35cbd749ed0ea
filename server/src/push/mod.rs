//! Web Push (issue 25): notifications reach an account's browsers when none of its pages is
//! open on the room, through the browsers' push services.
//!
//! Off the message path: the store's writer tells of each committed message through a bounded
//! queue ([`PostTap`], a `try_send` of the message itself, only while any subscription exists);
//! one worker task (`worker.rs`) asks the database whom it concerns ([`push::targets`]), leaves out accounts with a page open on
//! the room, and hands each push to a delivery task, at most `--push-queue` waiting and
//! [`IN_FLIGHT`] sending at once. A push that fails is tried again after `--push-retry-delay`,
//! then four times that ([`ATTEMPTS`] in all); a subscription whose push service says it is
//! gone (404, 410) is forgotten at once, one whose pushes fail [`MAX_FAILURES`] times in a row
//! is forgotten too.

pub mod deliver;
pub mod endpoint;
pub mod vapid;
mod worker;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chat_shared::{ChatMessage, FrameError};
use prometheus_client::metrics::counter::Counter;
use tokio::sync::mpsc;

use crate::clock::unix_millis;
use crate::connections::Connections;
use crate::metrics::Metrics;
use crate::store::push::{self, NewSubscription, NotKept, PostTap};
use crate::store::HistoryStore;
use deliver::Courier;
pub use endpoint::Reach;

/// Pushes being sent at once (each an HTTPS request to a push service).
pub const IN_FLIGHT: usize = 16;

/// Tries of one push: the first and two retries.
pub const ATTEMPTS: u32 = 3;

/// Pushes to one subscription that may fail in a row (each after its retries) before it is
/// forgotten.
pub const MAX_FAILURES: u32 = 5;

/// What Web Push takes from the configuration.
#[derive(Debug, Clone)]
pub struct PushSettings {
    /// Messages waiting to be looked at, and pushes waiting to be sent, at most each.
    pub queue: usize,
    /// Subscriptions (browsers) one account may have.
    pub per_account: u32,
    /// The wait before the first retry (the second waits four times as long).
    pub retry_delay: Duration,
    /// Where endpoints may be.
    pub reach: Reach,
    /// Who push services may contact about this server (VAPID's `sub`).
    pub contact: String,
}

/// Web Push: subscriptions, and the worker that sends.
#[derive(Debug)]
pub struct WebPush {
    store: Arc<HistoryStore>,
    settings: PushSettings,
    /// Set once the key is read (or made) at start.
    courier: OnceLock<Arc<Courier>>,
    /// Whether any subscription exists (the writer tells of messages only then).
    wanted: Arc<AtomicBool>,
    outcomes: Outcomes,
}

/// Counters of what became of pushes (`chat_pushes_total{outcome}`).
#[derive(Debug, Clone)]
struct Outcomes {
    delivered: Counter,
    retried: Counter,
    failed: Counter,
    gone: Counter,
    dropped: Counter,
}

impl Outcomes {
    fn of(metrics: &Metrics) -> Self {
        Outcomes {
            delivered: metrics.pushes("delivered"),
            retried: metrics.pushes("retried"),
            failed: metrics.pushes("failed"),
            gone: metrics.pushes("gone"),
            dropped: metrics.pushes("dropped"),
        }
    }
}

/// Why a subscription was refused (said to the person).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refused {
    /// Something in it cannot be used.
    Invalid(&'static str),
    /// The account has `--push-subscriptions-per-account` already.
    TooMany(u32),
    /// The database failed.
    Store(FrameError),
}

impl Refused {
    /// What the person is told.
    pub fn message(&self) -> String {
        match self {
            Refused::Invalid(why) => why.to_string(),
            Refused::TooMany(max) => format!(
                "an account may have push notifications on in {max} browsers; turn them off in one first"
            ),
            Refused::Store(err) => err.message.clone(),
        }
    }
}

impl WebPush {
    /// The writer's side of the queue, and the worker's. Made before the store opens (the
    /// store takes the tap).
    pub fn tap(queue: usize, metrics: &Metrics) -> (PostTap, mpsc::Receiver<ChatMessage>) {
        let (sender, news) = mpsc::channel(queue.max(1));
        let tap = PostTap {
            sender,
            wanted: Arc::new(AtomicBool::new(false)),
            dropped: metrics.pushes("dropped"),
        };
        (tap, news)
    }

    /// Starts the worker: reads the key (making it on the first start), then pushes what the
    /// tap tells of.
    pub fn start(
        store: Arc<HistoryStore>,
        connections: Arc<Connections>,
        metrics: &Metrics,
        settings: PushSettings,
        tap: &PostTap,
        news: mpsc::Receiver<ChatMessage>,
    ) -> Arc<Self> {
        let push = Arc::new(WebPush {
            store,
            settings,
            courier: OnceLock::new(),
            wanted: tap.wanted.clone(),
            outcomes: Outcomes::of(metrics),
        });
        tokio::spawn(push.clone().run(connections, news));
        push
    }

    /// This server's public key for browsers to subscribe with, once it is read.
    pub fn public_key(&self) -> Option<&str> {
        self.courier.get().map(|courier| courier.public_key())
    }

    /// Keeps a browser's subscription for `account`, signed in there as `session` (the
    /// subscription ends with it): its push service's `endpoint`, its keys as the browser gives
    /// them (base64url), and whether pushes may show the text.
    pub async fn subscribe(
        &self,
        account: i64,
        session: i64,
        endpoint: &str,
        p256dh: &str,
        auth: &str,
        previews: bool,
    ) -> Result<(), Refused> {
        endpoint::check(endpoint, self.settings.reach).map_err(Refused::Invalid)?;
        let key = decode(p256dh).filter(|key| p256::PublicKey::from_sec1_bytes(key).is_ok());
        let Some(p256dh) = key else {
            return Err(Refused::Invalid(
                "the browser's push key is not a P-256 key",
            ));
        };
        let Some(auth) = decode(auth).filter(|auth| auth.len() == 16) else {
            return Err(Refused::Invalid(
                "the browser's push secret is not 16 bytes",
            ));
        };
        let new = NewSubscription {
            session,
            endpoint: endpoint.to_string(),
            p256dh,
            auth,
            previews,
        };
        let max = self.settings.per_account;
        let kept = self
            .store
            .write("keep a push subscription", move |conn| {
                push::subscribe(conn, account, &new, max, unix_millis())
            })
            .await
            .map_err(Refused::Store)?;
        match kept {
            Ok(()) => {
                self.wanted.store(true, Ordering::Relaxed);
                Ok(())
            }
            Err(NotKept::TooMany) => Err(Refused::TooMany(max)),
        }
    }

    /// Forgets `account`'s subscription at `endpoint` (or all of them without one). How many.
    pub async fn unsubscribe(
        &self,
        account: i64,
        endpoint: Option<String>,
    ) -> Result<usize, FrameError> {
        let removed = self
            .store
            .write("forget a push subscription", move |conn| match endpoint {
                Some(endpoint) => push::unsubscribe(conn, account, &endpoint).map(usize::from),
                None => push::unsubscribe_all(conn, account),
            })
            .await?;
        self.recount().await;
        Ok(removed)
    }

    /// How many browsers `account` gets pushes in.
    pub async fn count_of(&self, account: i64) -> Result<u32, FrameError> {
        self.store
            .read("count push subscriptions", move |conn| {
                push::count_of(conn, account)
            })
            .await
    }

    /// Notes whether any subscription is left.
    async fn recount(&self) {
        if let Ok(n) = self
            .store
            .read("count push subscriptions", push::count)
            .await
        {
            self.wanted.store(n > 0, Ordering::Relaxed);
        }
    }
}

/// Bytes a browser gave in base64url (with or without padding).
fn decode(text: &str) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD.decode(text.trim_end_matches('=')).ok()
}
