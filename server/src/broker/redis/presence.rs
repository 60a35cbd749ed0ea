//! Presence and typing across nodes.
//!
//! Each room's presence lives in Redis as a hash (`<node> <name key>` -> shown name) plus a
//! sorted set of the same fields by expiry, as Centrifugo keeps it. This node writes its own
//! entries when a name arrives or leaves here and refreshes them every third of
//! `--presence-ttl` (each refresh pushes the expiry two thirds of the TTL ahead), and every node
//! removes the expired entries of the rooms it holds, announcing them as left: a node that dies
//! without saying goodbye has its names gone from every list within the TTL. Changes travel on
//! the room's channel ([`keys::presence_payload`]); one task does all of this, so a node's
//! writes about a name keep their order.

use std::sync::{Arc, LazyLock};
use std::time::Duration;

use chat_shared::name_key;
use tokio::sync::mpsc;
use tracing::warn;

use super::keys;
use super::Shared;
use crate::clock::unix_millis;
use crate::rooms::RoomEvent;

/// Most events written in one pipeline.
const MAX_EVENTS: usize = 512;

/// Removes a room's expired presence entries (of any node) and announces each as left; the
/// script it is part of names the keys and arguments first (`hash`, `expiry`, `now`,
/// `channel`). Shared by the refresh and by the sweep of empty rooms.
pub(crate) const REMOVE_EXPIRED: &str = r"
local dead = redis.call('ZRANGEBYSCORE', expiry, '-inf', now)
for _, field in ipairs(dead) do
  local shown = redis.call('HGET', hash, field)
  redis.call('ZREM', expiry, field)
  redis.call('HDEL', hash, field)
  local space = string.find(field, ' ', 1, true)
  if shown and space then
    redis.call('PUBLISH', channel, 'p' .. string.sub(field, 1, space - 1) .. '\n-' .. shown)
  end
end
";

/// Refreshes this node's entries of a room (re-announcing any that were lost, say after Redis
/// restarted), then removes every node's expired entries and announces them as left.
/// KEYS: presence hash, expiry set. ARGV: now, new expiry, channel, node, then field/shown
/// pairs of this node's names.
static REFRESH: LazyLock<String> = LazyLock::new(|| {
    format!(
        r"
local hash, expiry, now, channel = KEYS[1], KEYS[2], ARGV[1], ARGV[3]
for i = 5, #ARGV, 2 do
  local added = redis.call('HSET', hash, ARGV[i], ARGV[i + 1])
  redis.call('ZADD', expiry, ARGV[2], ARGV[i])
  if added == 1 then
    redis.call('PUBLISH', channel, 'p' .. ARGV[4] .. '\n+' .. ARGV[i + 1])
  end
end
{REMOVE_EXPIRED}
return #dead
"
    )
});

/// This node's entry for `name`.
pub(crate) fn field(node: &str, name: &str) -> String {
    format!("{node} {}", name_key(name))
}

/// Writes presence changes and typing notices as rooms report them, and refreshes presence.
pub(crate) async fn run(shared: Arc<Shared>, mut events: mpsc::Receiver<RoomEvent>) {
    let ttl = shared.settings.presence_ttl.max(Duration::from_millis(300));
    let mut refresh = tokio::time::interval(ttl / 3);
    refresh.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut batch = Vec::new();
    loop {
        tokio::select! {
            event = events.recv() => {
                let Some(event) = event else { return };
                batch.push(event);
                while batch.len() < MAX_EVENTS {
                    match events.try_recv() {
                        Ok(event) => batch.push(event),
                        Err(_) => break,
                    }
                }
                write_events(&shared, &mut batch, ttl).await;
            }
            _ = refresh.tick() => refresh_all(&shared, ttl).await,
        }
    }
}

async fn write_events(shared: &Shared, batch: &mut Vec<RoomEvent>, ttl: Duration) {
    let expiry = unix_millis() + ttl.as_millis() as u64 * 2 / 3;
    let node = &shared.node;
    let mut pipe = redis::pipe();
    for event in batch.drain(..) {
        match event {
            RoomEvent::Arrived { room, name } => {
                let field = field(node, &name);
                pipe.cmd("HSET")
                    .arg(keys::presence(&room))
                    .arg(&field)
                    .arg(&name)
                    .ignore();
                pipe.cmd("ZADD")
                    .arg(keys::presence_expiry(&room))
                    .arg(expiry)
                    .arg(&field)
                    .ignore();
                pipe.cmd("PUBLISH")
                    .arg(keys::channel(&room))
                    .arg(keys::presence_payload(node, &[name], &[]))
                    .ignore();
            }
            RoomEvent::Left { room, name } => {
                let field = field(node, &name);
                pipe.cmd("HDEL")
                    .arg(keys::presence(&room))
                    .arg(&field)
                    .ignore();
                pipe.cmd("ZREM")
                    .arg(keys::presence_expiry(&room))
                    .arg(&field)
                    .ignore();
                pipe.cmd("PUBLISH")
                    .arg(keys::channel(&room))
                    .arg(keys::presence_payload(node, &[], &[name]))
                    .ignore();
            }
            RoomEvent::Typing { room, name } => {
                pipe.cmd("PUBLISH")
                    .arg(keys::channel(&room))
                    .arg(keys::typing_payload(node, &name))
                    .ignore();
            }
        }
    }
    let mut conn = shared.conn.clone();
    shared.metrics.redis_round_trips.inc();
    if let Err(err) = pipe.query_async::<()>(&mut conn).await {
        // The next refresh writes this node's names again and announces them.
        shared.metrics.redis_errors.inc();
        warn!(error = %err, "cannot write presence to Redis; the next refresh retries");
    }
}

async fn refresh_all(shared: &Shared, ttl: Duration) {
    let rooms = shared.registry.all();
    if rooms.is_empty() {
        return;
    }
    let now = unix_millis();
    let expiry = now + ttl.as_millis() as u64 * 2 / 3;
    let mut pipe = redis::pipe();
    for room in &rooms {
        pipe.cmd("EVAL")
            .arg(REFRESH.as_str())
            .arg(2)
            .arg(keys::presence(&room.name))
            .arg(keys::presence_expiry(&room.name))
            .arg(now)
            .arg(expiry)
            .arg(keys::channel(&room.name))
            .arg(&shared.node);
        for name in room.local_names() {
            pipe.arg(field(&shared.node, &name)).arg(name);
        }
        pipe.ignore();
    }
    let mut conn = shared.conn.clone();
    shared.metrics.redis_round_trips.inc();
    if let Err(err) = pipe.query_async::<()>(&mut conn).await {
        shared.metrics.redis_errors.inc();
        warn!(error = %err, "cannot refresh presence in Redis");
    }
}
