//! `search`: a page of the messages that match, in the rooms this connection may read. Run on
//! a read connection of the store, one search at a time per connection (the session waits for
//! it) and counted as a request, so no client makes the server search faster than
//! `--request-rate-per-sec`.

use chat_shared::search::Query;
use chat_shared::{ErrorCode, FrameError, ServerFrame};
use tungstenite::Utf8Bytes;

use super::Session;
use crate::store::search::{self, Searcher};

impl Session {
    pub(super) async fn search(&mut self, q: String, before: Option<u64>) {
        let query = match Query::parse(&q) {
            Ok(query) => query,
            Err(err) => return self.reply_error(err),
        };
        let Some(store) = self.ctx.store.clone() else {
            return self.reply_error(FrameError::new(
                ErrorCode::NotAllowed,
                "search reads the server's own database: cluster mode has none (README, \
                 \"Running several nodes\")",
            ));
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
        match found {
            Ok(page) => {
                let mut frame = ServerFrame::Results {
                    q,
                    results: page.results,
                    next: page.next,
                };
                if let Some(json) = self.encode_within(&mut frame) {
                    let _ = self.member.push(&Utf8Bytes::from(json));
                }
            }
            Err(err) => self.reply_error(err),
        }
    }
}
