//! `search`: a page of the messages that match, in the rooms this connection may read. Run on
//! a read connection of the store, one search at a time per connection (the session waits for
//! it) and counted as a request, so no client makes the server search faster than
//! `--request-rate-per-sec`.
//!
//! Cluster mode has no database to index: a search reads the recent history Redis keeps of the
//! rooms the connection is in (or the one `in:` names among them), the newest entries of each,
//! [`MAX_READ_IN_CLUSTER`] a search shared among its rooms, matches each message itself
//! ([`Query::matches`]) and answers one page, the newest matches, with no `next`.

use std::sync::Arc;

use chat_shared::search::{snippet, Query, SEARCH_PAGE};
use chat_shared::{name_key, Found, FrameError, ServerFrame};
use tungstenite::Utf8Bytes;

use super::Session;
use crate::rooms::Room;
use crate::store::search::{self, Searcher};

/// Entries one search reads in cluster mode, shared among its rooms (each reads at least
/// [`READ_BATCH`]).
pub const MAX_READ_IN_CLUSTER: u64 = 20_000;

/// Entries read from Redis at a time.
const READ_BATCH: u64 = 500;

impl Session {
    pub(super) async fn search(&mut self, q: String, before: Option<u64>) {
        let query = match Query::parse(&q) {
            Ok(query) => query,
            Err(err) => return self.reply_error(err),
        };
        let Some(store) = self.ctx.store.clone() else {
            let found = self.search_recent(&query, before).await;
            return self.answer_search(q, found);
        };
        let searcher = Searcher {
            account: self.account,
            rooms: self
                .token
                .as_ref()
                .and_then(|token| token.rooms().map(<[String]>::to_vec)),
        };
        let found = store
            .read("search", move |conn| {
                search::find(conn, &query, &searcher, before)
            })
            .await;
        self.answer_search(q, found.map(|page| (page.results, page.next)));
    }

    fn answer_search(&mut self, q: String, found: Result<(Vec<Found>, Option<u64>), FrameError>) {
        match found {
            Ok((results, next)) => {
                let mut frame = ServerFrame::Results { q, results, next };
                if let Some(json) = self.encode_within(&mut frame) {
                    let _ = self.member.push(&Utf8Bytes::from(json));
                }
            }
            Err(err) => self.reply_error(err),
        }
    }

    /// Cluster mode: the newest matches among the recent messages of the rooms this connection
    /// is in (written before `before`, a time, if given); one page, never a `next`.
    async fn search_recent(
        &self,
        query: &Query,
        before: Option<u64>,
    ) -> Result<(Vec<Found>, Option<u64>), FrameError> {
        let before = before.unwrap_or(u64::MAX);
        let from = query.from.as_deref().map(name_key);
        let rooms: Vec<Arc<Room>> = self
            .member
            .rooms()
            .into_iter()
            .map(|sub| sub.room.clone())
            .filter(|room| query.room.as_ref().is_none_or(|only| *only == room.name))
            .collect();
        let per_room = (MAX_READ_IN_CLUSTER / rooms.len().max(1) as u64).max(READ_BATCH);
        let mut found: Vec<Found> = Vec::new();
        for room in rooms {
            let mut cursor = room.last_id().saturating_add(1);
            let (mut left, mut in_room) = (per_room, 0);
            // More than a page from one room cannot all be on the page.
            while left > 0 && cursor > 1 && in_room < SEARCH_PAGE {
                let want = READ_BATCH.min(left);
                let batch = self.ctx.broker.messages_before(&room, cursor, want).await?;
                let Some(oldest) = batch.first() else {
                    break;
                };
                cursor = oldest.id;
                left = left.saturating_sub(batch.len() as u64);
                let whole = batch.len() as u64 == want;
                for message in batch.into_iter().rev() {
                    let by = from
                        .as_ref()
                        .is_none_or(|key| name_key(&message.name) == *key);
                    if message.ts >= before || message.is_deleted() || !by {
                        continue;
                    }
                    let shown = message.shown();
                    if query.matches(&shown) {
                        in_room += 1;
                        found.push(Found {
                            room: room.name.clone(),
                            id: message.id,
                            name: message.name.clone(),
                            ts: message.ts,
                            snippet: snippet(&shown, query),
                        });
                    }
                }
                if !whole {
                    break;
                }
            }
        }
        found.sort_by(|a, b| b.ts.cmp(&a.ts).then(b.id.cmp(&a.id)));
        found.truncate(SEARCH_PAGE);
        Ok((found, None))
    }
}
