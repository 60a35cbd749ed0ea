//! Web Push (issue 25): notifications reach an account's browsers when none of its pages is
//! open on the room, through the browsers' push services.
//!
//! Off the message path: the store's writer tells of each committed message through a bounded
//! queue ([`PostTap`], a `try_send`, only while any subscription exists); one worker task asks
//! the database whom it concerns ([`push::targets`]), leaves out accounts with a page open on
//! the room, and hands each push to a delivery task, at most `--push-queue` waiting and
//! [`IN_FLIGHT`] sending at once. A push that fails is tried again after `--push-retry-delay`,
//! then four times that ([`ATTEMPTS`] in all); a subscription whose push service says it is
//! gone (404, 410) is forgotten at once, one whose pushes fail [`MAX_FAILURES`] times in a row
//! is forgotten too.

pub mod deliver;
pub mod endpoint;
pub mod vapid;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chat_shared::{quote, FrameError};
use prometheus_client::metrics::counter::Counter;
use serde::Serialize;
use tokio::sync::{mpsc, Semaphore};
use tracing::{debug, error, warn};

use crate::clock::unix_millis;
use crate::connections::Connections;
use crate::metrics::Metrics;
use crate::store::access;
use crate::store::push::{self, Heard, NewSubscription, NotKept, PostTap, Posted, Target};
use crate::store::HistoryStore;
use deliver::{Attempt, Courier};
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

/// Counters of what became of pushes (`chat_pushes{outcome}`).
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

/// What the page's service worker shows.
#[derive(Debug, Serialize)]
struct Payload<'a> {
    title: &'a str,
    body: &'a str,
    /// Where a click goes: the room, at the message.
    url: &'a str,
    /// One notification per room: a newer one replaces it.
    tag: &'a str,
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
    pub fn tap(queue: usize, metrics: &Metrics) -> (PostTap, mpsc::Receiver<Posted>) {
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
        news: mpsc::Receiver<Posted>,
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

    async fn run(self: Arc<Self>, connections: Arc<Connections>, mut news: mpsc::Receiver<Posted>) {
        let courier = loop {
            match self.load_key().await {
                Ok(courier) => break Arc::new(courier),
                Err(err) => {
                    error!(error = %err, "cannot read or make the push key; trying again in 10 s");
                    tokio::time::sleep(Duration::from_secs(10)).await;
                }
            }
        };
        let _ = self.courier.set(courier.clone());
        self.recount().await;
        let waiting = Arc::new(Semaphore::new(self.settings.queue.max(1)));
        let sending = Arc::new(Semaphore::new(IN_FLIGHT));
        let mut everything = EverythingRooms::default();
        while let Some(posted) = news.recv().await {
            // Most messages concern no one: no mention, an open room, nobody there who wants
            // every message. Those cost no query (after one per room per `EVERYTHING_TTL`).
            let message = &posted.message;
            let private = chat_shared::is_private_room(&message.room);
            if message.mentions.is_empty()
                && !private
                && !everything.any(&self.store, &message.room).await
            {
                continue;
            }
            let (targets, room_title) = match self.targets(&posted).await {
                Ok(found) => found,
                Err(err) => {
                    warn!(error = %err.message, "cannot find whom to push a message to");
                    continue;
                }
            };
            for target in targets {
                if connections.reads_room(target.account, &message.room) {
                    continue;
                }
                let Ok(permit) = waiting.clone().try_acquire_owned() else {
                    self.outcomes.dropped.inc();
                    continue;
                };
                let payload = payload(&posted, &room_title, &target);
                let push = self.clone();
                let (courier, sending) = (courier.clone(), sending.clone());
                tokio::spawn(async move {
                    push.deliver(&courier, &sending, &target, &payload).await;
                    drop(permit);
                });
            }
        }
    }

    /// Reads the key, making and keeping one if there is none yet.
    async fn load_key(&self) -> anyhow::Result<Courier> {
        let fresh = vapid::new_secret()?;
        let secret = self
            .store
            .write("keep the push key", move |conn| {
                push::keep_key(conn, &fresh)
            })
            .await
            .map_err(|err| anyhow::anyhow!(err.message))?;
        let vapid = vapid::Vapid::new(&secret, &self.settings.contact)?;
        Ok(Courier::new(vapid, self.settings.reach))
    }

    /// The subscriptions `posted` goes to, and what its room is called (for the title).
    async fn targets(&self, posted: &Posted) -> Result<(Vec<Target>, String), FrameError> {
        let message = &posted.message;
        let room = message.room.clone();
        let room_id = posted.room_id;
        let author = message.account.and_then(|a| i64::try_from(a).ok());
        let mentions = message.mentions.clone();
        self.store
            .read("find whom to push to", move |conn| {
                let heard = Heard {
                    room: &room,
                    room_id,
                    author,
                    mentions: &mentions,
                };
                let targets = push::targets(conn, &heard)?;
                let title = match access::settings(conn, &room)? {
                    Some(settings) if settings.kind == access::RoomKind::Direct => String::new(),
                    Some(settings) if !settings.title.is_empty() => settings.title,
                    _ => format!("#{room}"),
                };
                Ok((targets, title))
            })
            .await
    }

    /// Sends one push, with its retries, and notes the outcome.
    async fn deliver(
        &self,
        courier: &Courier,
        sending: &Semaphore,
        target: &Target,
        payload: &[u8],
    ) {
        let mut wait = self.settings.retry_delay;
        for attempt in 1..=ATTEMPTS {
            let outcome = match sending.acquire().await {
                Ok(_permit) => courier.send(target, payload).await,
                Err(_) => return,
            };
            match outcome {
                Attempt::Delivered => {
                    self.outcomes.delivered.inc();
                    if target.failures > 0 {
                        self.note(target.id, true).await;
                    }
                    return;
                }
                Attempt::Gone => {
                    self.outcomes.gone.inc();
                    let id = target.id;
                    let _ = self
                        .store
                        .write("forget a push subscription", move |conn| {
                            push::remove(conn, id)
                        })
                        .await;
                    self.recount().await;
                    return;
                }
                Attempt::Refused(why) => {
                    debug!(subscription = target.id, %why, "a push was refused");
                    break;
                }
                Attempt::Later(why) => {
                    debug!(subscription = target.id, attempt, %why, "a push failed");
                    if attempt == ATTEMPTS {
                        break;
                    }
                    self.outcomes.retried.inc();
                    tokio::time::sleep(wait).await;
                    wait = wait.saturating_mul(4);
                }
            }
        }
        self.outcomes.failed.inc();
        self.note(target.id, false).await;
    }

    /// Notes a push's outcome on its subscription; forgets one that keeps failing.
    async fn note(&self, id: i64, delivered: bool) {
        let removed = self
            .store
            .write("note a push's outcome", move |conn| {
                push::note_outcome(conn, id, delivered, MAX_FAILURES)
            })
            .await;
        if removed == Ok(true) {
            warn!(
                subscription = id,
                "forgot a push subscription whose pushes failed {MAX_FAILURES} times in a row"
            );
            self.recount().await;
        }
    }
}

/// How long the worker trusts what it read of a room's "everything" levels: a level chosen
/// now applies to pushes within this long.
const EVERYTHING_TTL: Duration = Duration::from_secs(10);

/// Which open rooms have someone with a subscription who chose "everything" there, as the
/// worker last read it (one entry per room a message was written in; at most `--max-rooms`).
#[derive(Default)]
struct EverythingRooms {
    read: HashMap<String, (Instant, bool)>,
}

impl EverythingRooms {
    async fn any(&mut self, store: &HistoryStore, room: &str) -> bool {
        if let Some((at, any)) = self.read.get(room) {
            if at.elapsed() < EVERYTHING_TTL {
                return *any;
            }
        }
        let name = room.to_string();
        // A failed read counts as yes: the full query then decides.
        let any = store
            .read("find who wants every message", move |conn| {
                push::anyone_wants_everything(conn, &name)
            })
            .await
            .unwrap_or(true);
        self.read.insert(room.to_string(), (Instant::now(), any));
        any
    }
}

/// What one browser is sent of a message: who wrote where, the text only with previews.
fn payload(posted: &Posted, room_title: &str, target: &Target) -> Vec<u8> {
    let message = &posted.message;
    let title = if room_title.is_empty() {
        message.name.clone()
    } else {
        format!("{} in {room_title}", message.name)
    };
    let mentioned = message
        .mentions
        .iter()
        .any(|&id| id == 0 || i64::try_from(id) == Ok(target.account));
    let body = if target.previews {
        // The text as shown: without its Markdown markers.
        let shown = if message.format.is_empty() {
            message.text.clone()
        } else {
            message.format.iter().map(|(run, _)| run.as_str()).collect()
        };
        // As long as a reply's quote: a push is a glance, not the message.
        quote(&shown)
    } else if mentioned {
        "Mentioned you".to_string()
    } else {
        "New message".to_string()
    };
    let url = format!("/r/{}?m={}", message.room, message.id);
    let payload = Payload {
        title: &title,
        body: &body,
        url: &url,
        tag: &message.room,
    };
    serde_json::to_vec(&payload).unwrap_or_default()
}

/// Bytes a browser gave in base64url (with or without padding).
fn decode(text: &str) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD.decode(text.trim_end_matches('=')).ok()
}
