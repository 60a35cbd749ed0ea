//! The push worker: what the writer tells of, turned into pushes. One task decides, in order,
//! whom each message concerns; each push is then its own task, with its retries.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chat_shared::{quote, ChatMessage, FrameError};
use serde::Serialize;
use tokio::sync::{mpsc, Semaphore};
use tracing::{debug, error, warn};

use super::deliver::{Attempt, Courier};
use super::{vapid, WebPush, ATTEMPTS, IN_FLIGHT, MAX_FAILURES};
use crate::connections::Connections;
use crate::store::access::{self, RoomKind};
use crate::store::push::{self, Heard, Target};
use crate::store::HistoryStore;

/// How often the worker counts the subscriptions again while messages come.
const RECOUNT_EVERY: Duration = Duration::from_secs(60);

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

impl WebPush {
    /// The worker: reads the key, then pushes what the writer tells of, until the store ends.
    pub(super) async fn run(
        self: Arc<Self>,
        connections: Arc<Connections>,
        mut news: mpsc::Receiver<ChatMessage>,
    ) {
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
        let mut counted = Instant::now();
        while let Some(message) = news.recv().await {
            // Subscriptions also end without this worker hearing of it (a session's end takes
            // them in the database): it looks again now and then, so the writer stops telling.
            if counted.elapsed() >= RECOUNT_EVERY {
                self.recount().await;
                counted = Instant::now();
            }
            // Most messages concern no one: no mention, an open room, nobody there who wants
            // every message. Those cost no query (after one per room per `EVERYTHING_TTL`).
            let private = chat_shared::is_private_room(&message.room);
            if message.mentions.is_empty()
                && !private
                && !everything.any(&self.store, &message.room).await
            {
                continue;
            }
            let (targets, room_title) = match self.targets(&message).await {
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
                let payload = payload(&message, &room_title, &target);
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

    /// The subscriptions `message` goes to, and what its room is called (for the title): its
    /// settings read once for both.
    async fn targets(&self, message: &ChatMessage) -> Result<(Vec<Target>, String), FrameError> {
        let room = message.room.clone();
        let author = message.account.and_then(|a| i64::try_from(a).ok());
        let mentions = message.mentions.clone();
        self.store
            .read("find whom to push to", move |conn| {
                let settings = access::settings(conn, &room)?.unwrap_or_default();
                let heard = Heard {
                    room: &room,
                    kind: settings.kind,
                    author,
                    mentions: &mentions,
                };
                let targets = push::targets(conn, &heard)?;
                let title = match settings.kind {
                    RoomKind::Direct => String::new(),
                    _ if !settings.title.is_empty() => settings.title,
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
fn payload(message: &ChatMessage, room_title: &str, target: &Target) -> Vec<u8> {
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
        // As long as a reply's quote: a push is a glance, not the message.
        quote(&message.shown())
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
