//! What a room tells its members besides messages: who is here, who is typing, and notices
//! about the room itself. Each is encoded once and appended to the room's feed like a message,
//! so it reaches members in order with everything else; in cluster mode other nodes hear of
//! names that came or went here.

use std::time::Instant;

use chat_shared::{encode, ServerFrame};
use tracing::warn;
use tungstenite::Utf8Bytes;

use super::{Room, RoomEvent, RoomState, PRESENCE_INTERVAL, TYPING_INTERVAL};
use crate::rooms::feed::SKIP_NONE;
use crate::rooms::presence::Change;
use crate::rooms::presence::PendingPresence;

impl Room {
    /// A connection of this room changed its name.
    pub fn rename(&self, old: &str, new: &str) {
        let mut state = self.state.lock();
        let left = state.present.depart(old);
        let joined = state.present.arrive(new);
        self.changed(&mut state, Some((new, joined)), Some((old, left)));
    }

    /// Tells the other members that `name` is typing, unless it did within [`TYPING_INTERVAL`].
    /// Returns whether a notice went out.
    pub fn typing(&self, conn: u64, name: &str) -> bool {
        let key = chat_shared::name_key(name);
        let now = Instant::now();
        let mut state = self.state.lock();
        if let Some(last) = state.typing.get(&key) {
            if now.duration_since(*last) < TYPING_INTERVAL {
                return false;
            }
        }
        state
            .typing
            .retain(|_, at| now.duration_since(*at) < TYPING_INTERVAL);
        state.typing.insert(key, now);
        self.tell_cluster(RoomEvent::Typing {
            room: self.name.clone(),
            name: name.to_string(),
        });
        let frame = ServerFrame::Typing {
            room: self.name.clone(),
            name: name.to_string(),
        };
        match encode(&frame) {
            Ok(json) => {
                self.append(&mut state, Utf8Bytes::from(json), conn);
                true
            }
            Err(err) => {
                warn!(error = %err, "could not encode a typing notice");
                false
            }
        }
    }

    /// Tells every member here (an error about the room, say): not stored, not sequenced.
    pub fn notify(&self, frame: &ServerFrame) {
        if let Ok(json) = encode(frame) {
            let mut state = self.state.lock();
            self.append(&mut state, Utf8Bytes::from(json), SKIP_NONE);
        }
    }

    /// Another node says `name` is typing: told to every member here.
    pub fn remote_typing(&self, name: &str) {
        self.notify(&ServerFrame::Typing {
            room: self.name.clone(),
            name: name.to_string(),
        });
    }

    /// Another node's presence changed; members here hear of names the list gained or lost.
    pub fn remote_presence(&self, node: &str, joined: &[String], left: &[String]) {
        let mut state = self.state.lock();
        let joined: Vec<String> = joined
            .iter()
            .filter(|name| state.present.remote_arrive(node, name))
            .cloned()
            .collect();
        let left: Vec<String> = left
            .iter()
            .filter(|name| state.present.remote_depart(node, name))
            .cloned()
            .collect();
        self.show(&mut state, joined, left);
    }

    /// Replaces the presence other nodes report (after a (re)subscription), telling members
    /// of the differences.
    pub fn replace_remote_presence(&self, entries: &[(String, String)]) {
        let mut state = self.state.lock();
        let (joined, left) = state.present.replace_remote(entries);
        self.show(&mut state, joined, left);
    }

    /// A page of who is here for a `members` request: up to `limit` names after the key
    /// `after`, in key order, the room's count, and whether more follow.
    pub fn members_page(&self, after: Option<&str>, limit: usize) -> (Vec<String>, u64, bool) {
        let state = self.state.lock();
        let (names, more) = state.present.page(after, limit);
        (names, state.present.len() as u64, more)
    }

    /// The names with connections to this room on this node (cluster presence refresh).
    pub fn local_names(&self) -> Vec<String> {
        self.state.lock().present.local_names()
    }

    /// Counts a connection of `name`: the list and other nodes hear of a new name.
    pub(super) fn arrive(&self, state: &mut RoomState, name: &str) {
        let change = state.present.arrive(name);
        self.changed(state, Some((name, change)), None);
    }

    /// Uncounts a connection of `name`: the list and other nodes hear when it was the last.
    pub(super) fn depart(&self, state: &mut RoomState, name: &str) {
        let change = state.present.depart(name);
        self.changed(state, None, Some((name, change)));
    }

    /// After names arrived or left on this node: members hear of names the list gained or
    /// lost, other nodes of names that came or went here.
    fn changed(
        &self,
        state: &mut RoomState,
        arrived: Option<(&str, Change)>,
        left: Option<(&str, Change)>,
    ) {
        let shown = |side: Option<(&str, Change)>| -> Vec<String> {
            side.filter(|(_, c)| c.shown)
                .map(|(name, _)| name.to_string())
                .into_iter()
                .collect()
        };
        self.show(state, shown(arrived), shown(left));
        for (side, arrived) in [(left, false), (arrived, true)] {
            if let Some((name, _)) = side.filter(|(_, c)| c.here) {
                let (room, name) = (self.name.clone(), name.to_string());
                self.tell_cluster(if arrived {
                    RoomEvent::Arrived { room, name }
                } else {
                    RoomEvent::Left { room, name }
                });
            }
        }
    }

    /// Shows members the names the list gained and lost: at once if the room showed none
    /// within [`PRESENCE_INTERVAL`], else with the others of that interval, when it ends.
    fn show(&self, state: &mut RoomState, joined: Vec<String>, left: Vec<String>) {
        if joined.is_empty() && left.is_empty() {
            return;
        }
        let was_crowded = state.crowded;
        self.recount(state);
        if state.crowded {
            // Too many to list: members are shown how many there are, not who came and went.
            state.pending_presence = PendingPresence::counted();
        } else if was_crowded {
            // Listed again: members knew only the count, so they are shown everyone, and a
            // listed frame after a counted one replaces the list (PROTOCOL.md).
            state.pending_presence = PendingPresence::default();
            state
                .pending_presence
                .merge(state.present.names(), Vec::new());
        } else {
            state.pending_presence.merge(joined, left);
        }
        let due = state
            .presence_shown_at
            .is_none_or(|at| at.elapsed() >= PRESENCE_INTERVAL);
        if due {
            self.show_pending(state);
        } else if !state.presence_queued {
            state.presence_queued = true;
            self.links.presence_due.lock().push(self.name.clone());
        }
    }

    /// Shows the waiting presence changes if the interval has passed; false if they must wait
    /// longer (the caller queues the room again).
    pub fn show_presence_if_due(&self) -> bool {
        let mut state = self.state.lock();
        let due = state
            .presence_shown_at
            .is_none_or(|at| at.elapsed() >= PRESENCE_INTERVAL);
        if due {
            state.presence_queued = false;
            self.show_pending(&mut state);
        }
        due
    }

    fn show_pending(&self, state: &mut RoomState) {
        let pending = std::mem::take(&mut state.pending_presence);
        if pending.is_empty() {
            return;
        }
        state.presence_shown_at = Some(Instant::now());
        let frame = if pending.counted {
            self.presence_frame(Vec::new(), Vec::new(), Some(state.present.len() as u64))
        } else {
            self.presence_frame(pending.joined, pending.left, None)
        };
        self.append(state, frame, SKIP_NONE);
    }

    /// Decides whether members are shown the count instead of the names: once the room has
    /// more than `--presence-list-max`, until it is back to nine tenths of that, so that a room
    /// hovering at the limit does not send its whole list to everyone every interval.
    fn recount(&self, state: &mut RoomState) {
        let max = self.links.presence_list_max;
        let here = state.present.len();
        state.crowded = if state.crowded {
            here > max - max / 10
        } else {
            max > 0 && here > max
        };
    }

    /// Queues `event` for the cluster without waiting. The queue is bounded: typing notices
    /// are dropped once it is half full, presence changes once it is full (the periodic
    /// refresh rewrites this node's presence in Redis, so a lost change is repaired).
    fn tell_cluster(&self, event: RoomEvent) {
        if let Some(cluster) = &self.links.cluster {
            if matches!(event, RoomEvent::Typing { .. })
                && cluster.capacity() <= cluster.max_capacity() / 2
            {
                return;
            }
            let _ = cluster.try_send(event);
        }
    }

    fn presence_frame(
        &self,
        joined: Vec<String>,
        left: Vec<String>,
        count: Option<u64>,
    ) -> Utf8Bytes {
        let frame = ServerFrame::Presence {
            room: self.name.clone(),
            joined,
            left,
            count,
        };
        // Names and room names are plain strings: encoding cannot fail.
        Utf8Bytes::from(encode(&frame).unwrap_or_default())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use tokio::sync::mpsc;

    use super::super::{Room, RoomEvent, RoomLinks};
    use crate::metrics::Metrics;

    #[test]
    fn a_full_cluster_queue_drops_typing_first_and_never_grows() {
        let (cluster, mut queued) = mpsc::channel(8);
        let links = RoomLinks {
            budget_bytes: 1 << 20,
            metrics: Arc::new(Metrics::new()),
            cluster: Some(cluster),
            presence_due: Arc::default(),
            page_bytes: Arc::default(),
            presence_list_max: 1000,
        };
        let room = Room::new("r".into(), 0, "e".into(), 0, 0, links);
        for i in 0..20 {
            room.typing(i, &format!("typist{i}"));
        }
        for i in 0..20 {
            room.tell_cluster(RoomEvent::Arrived {
                room: "r".into(),
                name: format!("n{i}"),
            });
        }
        let mut events = Vec::new();
        while let Ok(event) = queued.try_recv() {
            events.push(event);
        }
        let typing = events
            .iter()
            .filter(|e| matches!(e, RoomEvent::Typing { .. }))
            .count();
        assert_eq!(events.len(), 8, "bounded");
        assert_eq!(typing, 4, "typing stops at half, leaving room for presence");
    }
}
