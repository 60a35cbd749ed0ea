//! The node's publisher: sends queued messages and events to Redis, everything that queued
//! meanwhile in one pipeline (one round trip), each message one `EVALSHA` of
//! [`scripts::PUBLISH`], each event (edit, deletion, reaction) one of [`scripts::CHANGE`].
//! Whoever sent one that was not stored is told, with its `cid`; a stored one reaches every
//! node (the sender's too) through pub/sub.

use std::sync::Arc;
use std::time::Instant;

use chat_shared::{
    Action, ErrorCode, FrameError, CID_WINDOW_MS, MAX_EMOJI_PER_MESSAGE, MAX_REACTIONS_PER_MESSAGE,
    MAX_REACTIONS_PER_PERSON,
};
use tokio::sync::mpsc;
use tracing::warn;

use super::{keys, scripts, Shared};
use crate::broker::Post;
use crate::clock::unix_millis;
use crate::receipt::{Outcome, Reply};
use crate::store::{person, Refusal};
use crate::token::to_hex;

/// Most messages in one pipeline.
const MAX_PIPELINE: usize = 512;

/// What the publish script answered for one message.
type Answer = redis::RedisResult<(i64, u8)>;

/// Serves the queue until the broker is dropped.
pub(crate) async fn run(shared: Arc<Shared>, mut queue: mpsc::Receiver<(Post, Reply)>) {
    let mut batch = Vec::with_capacity(MAX_PIPELINE);
    while let Some(first) = queue.recv().await {
        batch.push(first);
        while batch.len() < MAX_PIPELINE {
            match queue.try_recv() {
                Ok(post) => batch.push(post),
                Err(_) => break,
            }
        }
        publish(&shared, &mut batch).await;
    }
}

/// Publishes `batch` (emptied). Messages refused with `NOSCRIPT` did not run (Redis restarted
/// or flushed its scripts): the script is loaded and they are sent once more.
async fn publish(shared: &Shared, batch: &mut Vec<(Post, Reply)>) {
    let ts = unix_millis();
    for attempt in 0..2 {
        let answers = match pipeline(shared, batch, ts).await {
            Ok(answers) => answers,
            Err(err) => {
                let refusal = shared.failed("store a message", &err);
                for queued in batch.drain(..) {
                    refuse(&refusal, queued);
                }
                return;
            }
        };
        let mut answers = answers.into_iter();
        let mut unloaded = Vec::new();
        for queued in std::mem::take(batch) {
            match answers.next() {
                Some(Err(err)) if is_noscript(&err) && attempt == 0 => unloaded.push(queued),
                Some(answer) => settle(shared, queued, answer).await,
                None => refuse(&try_again(), queued), // Redis answered fewer: never seen
            }
        }
        if unloaded.is_empty() {
            return;
        }
        let mut conn = shared.conn.clone();
        shared.metrics.redis_round_trips.inc();
        let mut load = redis::pipe();
        for script in [&*scripts::PUBLISH, &*scripts::CHANGE] {
            load.cmd("SCRIPT").arg("LOAD").arg(script);
        }
        let loaded = load.query_async::<Vec<String>>(&mut conn).await;
        if let Err(err) = loaded {
            let refusal = shared.failed("load the publish script", &err);
            for queued in unloaded {
                refuse(&refusal, queued);
            }
            return;
        }
        *batch = unloaded;
    }
}

/// One round trip: the publish script for every message of `batch`, each answered apart.
async fn pipeline(
    shared: &Shared,
    batch: &[(Post, Reply)],
    ts: u64,
) -> redis::RedisResult<Vec<Answer>> {
    let mut pipe = redis::pipe();
    pipe.ignore_errors();
    for (post, _) in batch {
        let room = &post.room.name;
        let author = post
            .author
            .as_ref()
            .map(|tag| to_hex(tag))
            .unwrap_or_default();
        let Some(action) = post.action else {
            // A message that is no reply and whose name is not held passes what it always has.
            let plain = post.author.is_none() && post.target.is_none();
            pipe.cmd("EVALSHA")
                .arg(shared.publish.get_hash())
                .arg(if plain { 3 } else { 4 })
                .arg(keys::meta(room))
                .arg(keys::log(room))
                .arg(keys::cid(room, &post.name, post.cid.as_deref()));
            if !plain {
                pipe.arg(keys::moved(room));
            }
            pipe.arg(keys::channel(room))
                .arg(shared.settings.history_per_room)
                .arg(&*post.name)
                .arg(&post.text)
                .arg(ts)
                .arg(post.cid.as_deref().unwrap_or(""))
                .arg(&post.room.epoch)
                .arg(CID_WINDOW_MS);
            if !plain {
                pipe.arg(author)
                    .arg(post.target.map(|id| id.to_string()).unwrap_or_default());
            }
            continue;
        };
        pipe.cmd("EVALSHA")
            .arg(shared.change.get_hash())
            .arg(5)
            .arg(keys::meta(room))
            .arg(keys::log(room))
            .arg(keys::moved(room))
            .arg(keys::events(room))
            .arg(keys::reactions(room))
            .arg(keys::channel(room))
            .arg(shared.settings.history_per_room)
            .arg(&*post.name)
            .arg(ts)
            .arg(&post.room.epoch)
            .arg(match action {
                Action::Edit => "edit",
                Action::Delete => "delete",
                // A toggle: the script tells which it was.
                Action::React | Action::Unreact => "react",
            })
            .arg(post.target.unwrap_or(0))
            .arg(&post.text)
            .arg(author)
            .arg(person(post))
            .arg(if post.admin { "1" } else { "0" })
            .arg(MAX_REACTIONS_PER_MESSAGE)
            .arg(MAX_EMOJI_PER_MESSAGE)
            .arg(MAX_REACTIONS_PER_PERSON);
    }
    let mut conn = shared.conn.clone();
    shared.metrics.redis_publish_round_trips.inc();
    let started = Instant::now();
    let answers = pipe.query_async(&mut conn).await;
    // Storing a message is the script's append to the room's stream: this round trip.
    shared.metrics.history_write(started.elapsed());
    answers
}

/// What the sender learns of one message's answer (a stored one needs nothing: it arrives).
async fn settle(shared: &Shared, (post, reply): (Post, Reply), answer: Answer) {
    match answer {
        Ok((-1, _)) => {
            warn!(room = %post.room.name, "the room's history is gone from Redis (new epoch)");
            shared.reset_room(&post.room);
            let refusal = FrameError::new(
                ErrorCode::HistoryUnavailable,
                "the room's history was reset; rejoin the room",
            );
            refuse(&refusal, (post, reply));
        }
        Ok((id, 1)) => answer_repeat(shared, (post, reply), id.unsigned_abs()).await,
        Ok((_, status @ 2..)) => {
            let refusal = match status {
                2 => Refusal::NoOriginal,
                3 => Refusal::NoMessage,
                4 => Refusal::NotAuthorEdit,
                5 => Refusal::NotAuthorDelete,
                6 => Refusal::TooManyReactions,
                7 => Refusal::TooManyEmoji,
                _ => Refusal::TooManyOfYours,
            };
            refuse(&refusal.error(), (post, reply));
        }
        Ok(_) => {
            let _ = reply.send(Outcome::Stored);
        }
        Err(err) => refuse(&shared.failed("store a message", &err), (post, reply)),
    }
}

fn is_noscript(err: &redis::RedisError) -> bool {
    err.kind() == redis::ErrorKind::Server(redis::ServerErrorKind::NoScript)
}

fn try_again() -> FrameError {
    FrameError::new(
        ErrorCode::HistoryUnavailable,
        "the message was not stored; try again",
    )
}

fn refuse(refusal: &FrameError, (post, reply): (Post, Reply)) {
    let error = refusal.clone().in_room(&post.room.name).for_cid(post.cid);
    let _ = reply.send(Outcome::Refused(error));
}

/// A resend of a stored message: the sender alone gets the stored copy again.
async fn answer_repeat(shared: &Shared, (post, reply): (Post, Reply), id: u64) {
    match shared.range(&post.room.name, id, id, 1).await {
        Ok(found) => {
            // Trimmed meanwhile: nothing to show, and storing it again would duplicate it.
            let outcome = found
                .messages
                .into_iter()
                .next()
                .map_or(Outcome::Stored, Outcome::Repeat);
            let _ = reply.send(outcome);
        }
        Err(err) => refuse(&shared.failed("read a message", &err), (post, reply)),
    }
}
