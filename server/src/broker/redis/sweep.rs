//! Forgetting empty rooms in cluster mode, as the store does on a single node: a room that
//! never had a message, has nobody in it on any node and was last opened longer ago than
//! `--empty-room-ttl` is deleted from Redis (its keys and its place in `chat:rooms`), so it
//! frees its place under `--max-rooms`. Every node sweeps every minute; the check and the
//! deletion are one script, so nodes sweeping at once, or a join racing a sweep, are safe: a
//! join opens the room (refreshing its `used` time) before its member arrives.

use std::sync::{LazyLock, Weak};
use std::time::Duration;

use redis::Script;
use tracing::{info, warn};

use super::keys;
use super::presence::REMOVE_EXPIRED;
use super::Shared;
use crate::clock::unix_millis;

/// How often every node sweeps.
const SWEEP_INTERVAL: Duration = Duration::from_secs(60);

/// How many room names one `SSCAN` step reads.
const SCAN_BATCH: usize = 200;

/// Deletes a room if it has no messages, nobody present (expired presence entries of dead
/// nodes are removed first and announced as left, as the refresh does) and was last opened
/// before the cutoff. A room opened before `used` was written gets it now and waits a full
/// time to live. Returns 1 if deleted.
/// KEYS: meta, log, presence hash, presence expiry set, the rooms set. ARGV: room name, cutoff
/// (ms), now by the sweeping clock (ms), now by the wall clock (ms, presence expiry), channel.
static SWEEP_ROOM: LazyLock<String> = LazyLock::new(|| {
    format!(
        r"
local hash, expiry, now, channel = KEYS[3], KEYS[4], ARGV[4], ARGV[5]
if redis.call('EXISTS', KEYS[1]) == 0 then
  return 0
end
if tonumber(redis.call('HGET', KEYS[1], 'seq') or '0') > 0 then
  return 0
end
{REMOVE_EXPIRED}
if redis.call('HLEN', hash) > 0 then
  return 0
end
local used = redis.call('HGET', KEYS[1], 'used')
if not used then
  redis.call('HSET', KEYS[1], 'used', ARGV[3])
  return 0
end
if tonumber(used) > tonumber(ARGV[2]) then
  return 0
end
redis.call('DEL', KEYS[1], KEYS[2], hash, expiry)
redis.call('SREM', KEYS[5], ARGV[1])
return 1
"
    )
});

/// The sweep's script, loaded once per broker.
pub(crate) fn script() -> Script {
    Script::new(&SWEEP_ROOM)
}

/// Sweeps every minute while the broker lives (it holds the broker weakly, so it ends with
/// it), unless `--empty-room-ttl` is zero.
pub(crate) async fn run(shared: Weak<Shared>) {
    let script = script();
    let mut every = tokio::time::interval(SWEEP_INTERVAL);
    every.tick().await;
    loop {
        every.tick().await;
        let Some(shared) = shared.upgrade() else {
            return;
        };
        if shared.settings.empty_room_ttl.is_zero() {
            return;
        }
        match sweep(&shared, &script).await {
            Ok(0) => {}
            Ok(rooms) => info!(rooms, "forgot empty rooms"),
            Err(err) => warn!(error = %err, "could not sweep empty rooms"),
        }
    }
}

/// One pass over every room of the cluster; returns how many were deleted.
pub(crate) async fn sweep(shared: &Shared, script: &Script) -> redis::RedisResult<u64> {
    let ttl = crate::clock::millis(shared.settings.empty_room_ttl);
    if ttl == 0 {
        return Ok(0);
    }
    let now = shared.settings.clock.now_ms();
    let cutoff = now.saturating_sub(ttl);
    let mut conn = shared.conn.clone();
    let mut cursor = 0u64;
    let mut swept = 0;
    loop {
        let (next, names): (u64, Vec<String>) = redis::cmd("SSCAN")
            .arg(keys::ROOMS)
            .arg(cursor)
            .arg("COUNT")
            .arg(SCAN_BATCH)
            .query_async(&mut conn)
            .await?;
        for name in names {
            if name == chat_shared::DEFAULT_ROOM {
                continue;
            }
            let deleted: u64 = script
                .key(keys::meta(&name))
                .key(keys::log(&name))
                .key(keys::presence(&name))
                .key(keys::presence_expiry(&name))
                .key(keys::ROOMS)
                .arg(&name)
                .arg(cutoff)
                .arg(now)
                .arg(unix_millis())
                .arg(keys::channel(&name))
                .invoke_async(&mut conn)
                .await?;
            swept += deleted;
        }
        if next == 0 {
            return Ok(swept);
        }
        cursor = next;
    }
}
