//! One room as this tab knows it: its log, what it has seen (for resume), who is here, who is
//! typing and what is still on its way. Plain Rust, free of the DOM, so it is tested natively.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};

use chat_shared::{Action, ChatMessage, Event, Joined, Reaction};

use crate::names::name_key;

/// Most log entries a room keeps as messages arrive; older ones are dropped (and come back by
/// scrolling up), so a tab left open for days stays fast.
pub const MAX_LOG_ENTRIES: usize = chat_shared::PAGE_MESSAGES_PER_ROOM;

/// How long "alice is typing…" stays after her last typing notice. The server relays at most
/// one per [`chat_shared::TYPING_INTERVAL_MS`] while she types, so this outlasts the gap
/// between two.
pub const TYPING_SHOWN_MS: u64 = chat_shared::TYPING_INTERVAL_MS + 2_000;

/// Where entry keys come from: unique across every room of the page, so the keyed list that
/// shows the room on screen never mistakes one room's line for another's when rooms switch.
static NEXT_KEY: AtomicU64 = AtomicU64::new(0);

fn next_key() -> u64 {
    NEXT_KEY.fetch_add(1, Ordering::Relaxed)
}

/// Adds `name` to `members`, which stay in the order of their name keys, unless the name is
/// there already in some case. An insert at its place rather than a sort: a room has tens of
/// names, and Rust's sort would add 2.4 KB gzip to the page's WebAssembly for them.
fn add_member(members: &mut Vec<String>, name: String) {
    let key = name_key(&name);
    let at = members.partition_point(|member| name_key(member) < key);
    if members.get(at).is_none_or(|member| name_key(member) != key) {
        members.insert(at, name);
    }
}

/// One line of a room's log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Unique among all rooms' entries; the list's key.
    pub key: u64,
    /// What the line shows.
    pub kind: EntryKind,
}

/// A chat message or a note from the page itself. (Messages are nearly every entry: boxing them
/// to make the rare notice smaller would cost an allocation per message.)
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntryKind {
    /// A message from the server.
    Message(ChatMessage),
    /// A line about the connection or the history, such as "Connection closed."
    Notice(String),
}

/// A message this tab sent (or tried to) that the room has not confirmed yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pending {
    /// The client id that makes resending it safe.
    pub cid: String,
    /// The text as sent.
    pub text: String,
    /// The message it answers.
    pub reply_to: Option<u64>,
}

/// What the page shows when history could not be resumed.
pub const NOT_RECOVERED: &str =
    "Could not recover the messages sent while you were away; showing the latest ones.";

/// A room's state in this tab.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoomState {
    /// The room's name.
    pub name: String,
    /// What the room is called instead of `#name` (a private room's given name, the other person
    /// of a direct conversation); empty: `#name`.
    pub title: String,
    /// The room's topic; empty: none.
    pub topic: String,
    entries: VecDeque<Entry>,
    /// The room's history epoch, once known: resuming is only possible within it.
    pub epoch: Option<String>,
    /// The newest message id seen (0: none).
    pub last_id: u64,
    /// Nothing older is left to load: the log shows the beginning of the room.
    pub at_beginning: bool,
    /// A `history` request is on its way.
    pub loading_older: bool,
    /// Messages that arrived while another room was on screen; for a signed-in reader, the
    /// messages of others after the account's read position (the server's count, kept right
    /// by its `read` frames from every tab and device of the account).
    pub unread: u32,
    /// A signed-in reader's read position here: the last id the server was told or told us.
    pub read: u64,
    /// Something unread here mentions the signed-in reader (or everyone).
    pub mentioned: bool,
    /// Every message here notifies the signed-in reader while the page is hidden (its level
    /// is "everything", or a direct conversation); else only mentions, unless `muted`.
    pub notify_every: bool,
    /// Nothing here notifies the signed-in reader (its level is "nothing").
    pub muted: bool,
    /// When this tab last told the room its reader is typing (ms since the epoch).
    pub typing_sent: u64,
    /// The first message that was unread when the room was last opened: the "new" line goes
    /// above it, and the log opens there rather than at its end.
    pub new_line: Option<u64>,
    /// Who is here now, each name once, sorted.
    pub members: Vec<String>,
    /// How many are here, when the room is too big for the server to list them (`members`
    /// is empty then).
    pub crowd: Option<u64>,
    typing: Vec<(String, u64)>,
    /// Sent or waiting to be sent, not yet confirmed, oldest first.
    pub pending: Vec<Pending>,
    /// Joined on the current connection (messages can be sent now).
    pub joined: bool,
    /// The oldest id an older page brought, shown or not (`u64::MAX`: none yet).
    floor: u64,
}

impl RoomState {
    /// The room as the page names it: its title, else `#name`.
    pub fn shown_name(&self) -> String {
        if self.title.is_empty() {
            format!("#{}", self.name)
        } else {
            self.title.clone()
        }
    }

    /// A room this tab has not heard anything about yet.
    pub fn new(name: impl Into<String>) -> Self {
        RoomState {
            name: name.into(),
            title: String::new(),
            topic: String::new(),
            entries: VecDeque::new(),
            epoch: None,
            last_id: 0,
            at_beginning: false,
            loading_older: false,
            unread: 0,
            read: 0,
            mentioned: false,
            notify_every: false,
            muted: false,
            new_line: None,
            typing_sent: 0,
            members: Vec::new(),
            crowd: None,
            typing: Vec::new(),
            pending: Vec::new(),
            joined: false,
            floor: u64::MAX,
        }
    }

    /// Entries, oldest first.
    pub fn entries(&self) -> impl Iterator<Item = &Entry> {
        self.entries.iter()
    }

    /// Number of entries held.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when the log is empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The oldest message id held, where older history would be loaded from.
    pub fn oldest_id(&self) -> Option<u64> {
        let shown = self.entries.iter().find_map(|entry| match &entry.kind {
            EntryKind::Message(message) => Some(message.id),
            EntryKind::Notice(_) => None,
        })?;
        // A page of nothing but deletions adds no line, but the next page starts below it.
        Some(shown.min(self.floor))
    }

    /// The `since` to resume from, when the epoch is known.
    pub fn resume_point(&self) -> Option<(u64, String)> {
        self.epoch.clone().map(|epoch| (self.last_id, epoch))
    }

    /// Applies the server's answer to a join: either exactly the missed messages, or (first
    /// join, changed epoch, gap too old) the latest page, with a notice if the tab had history
    /// that is now cut off. Returns the pending messages still to send (those the gap did not
    /// already contain).
    pub fn apply_joined(&mut self, joined: Joined) -> Vec<Pending> {
        let continuous = joined.recovered && self.epoch.as_deref() == Some(joined.epoch.as_str());
        if !continuous {
            // (The epoch may have been forgotten on purpose: see `Chat::forget_resume_points`.)
            let had_history = self.last_id > 0;
            self.entries.clear();
            self.last_id = 0;
            self.floor = u64::MAX;
            if had_history {
                self.push_notice(NOT_RECOVERED);
            }
            self.at_beginning = match joined.messages.first() {
                Some(first) => first.id <= 1,
                None => true,
            };
        }
        self.loading_older = false;
        self.title = joined.title;
        self.topic = joined.topic;
        for message in joined.messages {
            self.push_message(message);
        }
        // Changes to messages of the gap or before it; the messages of the gap show them
        // already, and applying one again changes nothing.
        for event in joined.events {
            self.change(&event);
        }
        self.last_id = self.last_id.max(joined.last_id);
        self.epoch = Some(joined.epoch);
        self.members.clear();
        for name in joined.members {
            add_member(&mut self.members, name);
        }
        self.crowd = joined.count;
        self.joined = true;
        self.notify_every = joined.notify_every;
        self.muted = joined.muted;
        if let Some(read) = joined.read {
            self.read = read;
            self.unread = joined.unread.unwrap_or(0) as u32;
            self.mentioned = joined.mentioned;
        }
        self.pending.clone()
    }

    /// Whether a message of someone else here notifies the signed-in reader while the page is
    /// hidden: not in a muted room; else every message, or those that mention the reader.
    pub fn notifies(&self, mentions_me: bool) -> bool {
        !self.muted && (self.notify_every || mentions_me)
    }

    /// Puts the "new" line above the first of the `unread` last messages of others (the
    /// oldest the log holds, if it holds fewer), or nowhere when nothing is unread.
    pub fn mark_new(&mut self, mine: impl Fn(&str) -> bool) {
        let mut left = self.unread;
        self.new_line = None;
        for entry in self.entries.iter().rev() {
            if left == 0 {
                break;
            }
            if let EntryKind::Message(m) = &entry.kind {
                if !m.is_deleted() && !mine(&m.name) {
                    self.new_line = Some(m.id);
                    left -= 1;
                }
            }
        }
    }

    /// The account has read the room up to `id` (in this tab or another, on any device): what
    /// is unread is what others wrote after it.
    pub fn read_to(&mut self, id: u64, mine: impl Fn(&str) -> bool) {
        self.read = self.read.max(id);
        let read = self.read;
        // (A mention the rest still holds shows again with the next one.)
        self.mentioned &= read < self.last_id;
        self.unread = self
            .entries
            .iter()
            .filter(|entry| match &entry.kind {
                EntryKind::Message(m) => m.id > read && !m.is_deleted() && !mine(&m.name),
                _ => false,
            })
            .count() as u32;
    }

    /// Adds a live message. One already seen (for instance after a reconnect) is ignored.
    /// Returns whether it was added.
    pub fn push_message(&mut self, message: ChatMessage) -> bool {
        if message.id <= self.last_id {
            return false;
        }
        self.last_id = message.id;
        if let Some(cid) = &message.cid {
            self.pending.retain(|pending| &pending.cid != cid);
        }
        self.typing.retain(|(name, _)| *name != message.name);
        self.push(EntryKind::Message(message));
        true
    }

    /// Applies an event (an edit, a deletion, a reaction) to the message it names, if the log
    /// holds it: a new key, so the keyed log redraws that line. One already seen is ignored.
    pub fn apply_event(&mut self, event: Event) {
        if event.id <= self.last_id {
            return;
        }
        self.last_id = event.id;
        self.change(&event);
    }

    fn change(&mut self, event: &Event) {
        for entry in &mut self.entries {
            let EntryKind::Message(message) = &mut entry.kind else {
                continue;
            };
            if message.reply.as_ref().is_some_and(|q| q.id == event.target) {
                // A reply's quote follows its original.
                if let Some(quote) = &mut message.reply {
                    match event.action {
                        Action::Edit => quote.text = chat_shared::quote(&event.text),
                        Action::Delete => quote.text.clear(),
                        _ => continue,
                    }
                    entry.key = next_key();
                }
                continue;
            }
            if message.id != event.target {
                continue;
            }
            entry.key = next_key();
            match event.action {
                Action::Edit => {
                    message.text.clone_from(&event.text);
                    message.format.clone_from(&event.format);
                    message.edited = Some(event.ts);
                }
                Action::Delete => {
                    message.text.clear();
                    message.format.clear();
                    message.reactions.clear();
                }
                Action::React => match message
                    .reactions
                    .iter_mut()
                    .find(|r| r.emoji == event.emoji)
                {
                    Some(reaction) => {
                        if !reaction.names.contains(&event.name) {
                            reaction.names.push(event.name.clone());
                        }
                    }
                    None => message.reactions.push(Reaction {
                        emoji: event.emoji.clone(),
                        names: vec![event.name.clone()],
                    }),
                },
                Action::Unreact => {
                    for reaction in &mut message.reactions {
                        if reaction.emoji == event.emoji {
                            reaction.names.retain(|name| *name != event.name);
                        }
                    }
                    message.reactions.retain(|r| !r.names.is_empty());
                }
            }
        }
    }

    /// Adds a note from the page.
    pub fn push_notice(&mut self, text: impl Into<String>) {
        self.push(EntryKind::Notice(text.into()));
    }

    fn push(&mut self, kind: EntryKind) {
        self.entries.push_back(Entry {
            key: next_key(),
            kind,
        });
        while self.entries.len() > MAX_LOG_ENTRIES {
            if let Some(Entry {
                kind: EntryKind::Message(_),
                ..
            }) = self.entries.pop_front()
            {
                self.at_beginning = false;
            }
        }
    }

    /// Puts an older page (the answer to `history`) above the log. Messages the log already
    /// holds are skipped. `more: false` means the room's first kept message is now shown.
    pub fn prepend_history(&mut self, messages: Vec<ChatMessage>, more: bool) {
        self.loading_older = false;
        let oldest = self.oldest_id().unwrap_or(u64::MAX);
        if let Some(first) = messages.first() {
            self.floor = self.floor.min(first.id);
        }
        for message in messages.into_iter().rev() {
            if message.id >= oldest {
                continue;
            }
            self.entries.push_front(Entry {
                key: next_key(),
                kind: EntryKind::Message(message),
            });
        }
        self.at_beginning = !more;
    }

    /// How many are here: listed, or counted in a crowd.
    pub fn here(&self) -> u64 {
        self.crowd.unwrap_or(self.members.len() as u64)
    }

    /// Applies a presence diff, or a crowd's new count.
    pub fn apply_presence(&mut self, joined: Vec<String>, left: Vec<String>, count: Option<u64>) {
        // A list after a count is everyone: the list known before the crowd is stale.
        if self.crowd.take().is_some() {
            self.members.clear();
        }
        self.crowd = count;
        let left: Vec<String> = left.iter().map(|name| name_key(name)).collect();
        self.members.retain(|name| !left.contains(&name_key(name)));
        for name in joined {
            add_member(&mut self.members, name);
        }
        self.typing
            .retain(|(name, _)| !left.contains(&name_key(name)));
    }

    /// Someone is typing, as of `now_ms`. Notices that have run out are forgotten here, so the
    /// list holds only who typed in the last few seconds.
    pub fn set_typing(&mut self, name: String, now_ms: u64) {
        self.typing.retain(|(_, until)| *until > now_ms);
        let until = now_ms + TYPING_SHOWN_MS;
        match self.typing.iter_mut().find(|(known, _)| *known == name) {
            Some(entry) => entry.1 = until,
            None => self.typing.push((name, until)),
        }
    }

    /// Who is typing at `now_ms`, in the order they started.
    pub fn typing_names(&self, now_ms: u64) -> Vec<String> {
        self.typing
            .iter()
            .filter(|(_, until)| *until > now_ms)
            .map(|(name, _)| name.clone())
            .collect()
    }

    /// The connection dropped: nothing is joined, and presence and typing are unknown.
    pub fn disconnected(&mut self) {
        self.joined = false;
        self.loading_older = false;
        self.crowd = None;
        self.members.clear();
        self.typing.clear();
    }

    /// Takes a pending message back (the server refused it).
    pub fn take_pending(&mut self, cid: &str) -> Option<Pending> {
        let at = self.pending.iter().position(|pending| pending.cid == cid)?;
        Some(self.pending.remove(at))
    }
}

/// "alice is typing…", "alice and bob are typing…", "alice, bob and 2 others are typing…".
pub fn typing_line(names: &[String]) -> Option<String> {
    Some(match names {
        [] => return None,
        [one] => format!("{one} is typing…"),
        [a, b] => format!("{a} and {b} are typing…"),
        [a, b, c] => format!("{a}, {b} and {c} are typing…"),
        [a, b, rest @ ..] => format!("{a}, {b} and {} others are typing…", rest.len()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn message(id: u64, name: &str) -> ChatMessage {
        ChatMessage {
            id,
            room: "rust".into(),
            name: name.into(),
            text: format!("m{id}"),
            ts: id * 1000,
            cid: None,
            ..Default::default()
        }
    }

    fn joined(epoch: &str, last_id: u64, recovered: bool, ids: &[u64]) -> Joined {
        Joined {
            room: "rust".into(),
            epoch: epoch.into(),
            last_id,
            recovered,
            messages: ids.iter().map(|id| message(*id, "bob")).collect(),
            events: vec![],
            members: vec!["bob".into(), "Alice".into()],
            count: None,
            you: "Alice".into(),
            title: String::new(),
            topic: String::new(),
            read: None,
            unread: None,
            mentioned: false,
            notify_every: false,
            muted: false,
        }
    }

    fn ids(room: &RoomState) -> Vec<u64> {
        room.entries()
            .filter_map(|entry| match &entry.kind {
                EntryKind::Message(m) => Some(m.id),
                EntryKind::Notice(_) => None,
            })
            .collect()
    }

    #[test]
    fn a_resumed_join_appends_exactly_the_gap() {
        let mut room = RoomState::new("rust");
        room.apply_joined(joined("e1", 3, false, &[1, 2, 3]));
        assert!(room.at_beginning);
        room.disconnected();
        room.push_notice("Connection closed.");
        assert_eq!(room.resume_point(), Some((3, "e1".into())));
        room.apply_joined(joined("e1", 5, true, &[3, 4, 5]));
        assert_eq!(ids(&room), vec![1, 2, 3, 4, 5], "3 was seen already");
        assert_eq!(room.last_id, 5);
        assert_eq!(room.members, vec!["Alice".to_string(), "bob".to_string()]);
        assert!(room.joined);
    }

    #[test]
    fn the_rooms_level_decides_what_notifies_the_reader() {
        let mut room = RoomState::new("rust");
        room.apply_joined(joined("e1", 3, false, &[]));
        assert!(
            room.notifies(true) && !room.notifies(false),
            "mentions only"
        );
        room.apply_joined(Joined {
            notify_every: true,
            ..joined("e1", 3, false, &[])
        });
        assert!(room.notifies(true) && room.notifies(false), "everything");
        room.apply_joined(Joined {
            muted: true,
            ..joined("e1", 3, false, &[])
        });
        assert!(!room.notifies(true) && !room.notifies(false), "nothing");
    }

    #[test]
    fn a_lost_history_says_so_and_shows_the_latest_page() {
        let mut room = RoomState::new("rust");
        room.apply_joined(joined("e1", 3, false, &[1, 2, 3]));
        // The server lost its database: new epoch, ids from 1 again.
        room.apply_joined(joined("e2", 1, false, &[1]));
        let first = room.entries().next().unwrap();
        assert_eq!(first.kind, EntryKind::Notice(NOT_RECOVERED.into()));
        assert_eq!(ids(&room), vec![1]);
        assert_eq!(room.resume_point(), Some((1, "e2".into())));
        // Same epoch but too old a gap: also the latest page, not a partial log.
        room.apply_joined(joined("e2", 2000, false, &[1950, 2000]));
        assert_eq!(ids(&room), vec![1950, 2000]);
        assert!(!room.at_beginning);
    }

    #[test]
    fn a_first_join_has_no_notice() {
        let mut room = RoomState::new("rust");
        room.apply_joined(joined("e1", 0, false, &[]));
        assert!(room.is_empty());
        assert!(room.at_beginning);
    }

    #[test]
    fn pending_messages_are_cleared_by_their_echo_and_resent_otherwise() {
        let mut room = RoomState::new("rust");
        room.apply_joined(joined("e1", 0, false, &[]));
        room.pending.push(Pending {
            cid: "c1".into(),
            text: "one".into(),
            reply_to: None,
        });
        room.pending.push(Pending {
            cid: "c2".into(),
            text: "two".into(),
            reply_to: None,
        });
        room.disconnected();
        // The gap holds c1's message (it was stored before the drop); only c2 goes again.
        let mut gap = joined("e1", 1, true, &[]);
        gap.messages.push(ChatMessage {
            cid: Some("c1".into()),
            ..message(1, "Alice")
        });
        let resend = room.apply_joined(gap);
        assert_eq!(resend.len(), 1);
        assert_eq!(resend[0].cid, "c2");
        assert_eq!(room.take_pending("c2").unwrap().text, "two");
        assert!(room.pending.is_empty());
    }

    #[test]
    fn duplicates_are_ignored_and_the_log_is_bounded() {
        let mut room = RoomState::new("rust");
        room.apply_joined(joined("e1", 0, false, &[]));
        for id in 1..=(MAX_LOG_ENTRIES as u64 + 20) {
            assert!(room.push_message(message(id, "bob")));
        }
        assert!(!room.push_message(message(5, "bob")));
        assert_eq!(room.len(), MAX_LOG_ENTRIES);
        assert_eq!(room.oldest_id(), Some(21));
        assert!(!room.at_beginning, "older messages exist on the server");
        let keys: Vec<u64> = room.entries().map(|e| e.key).collect();
        let mut unique = keys.clone();
        unique.dedup();
        assert_eq!(keys, unique);
    }

    #[test]
    fn history_pages_go_above_until_the_beginning() {
        let mut room = RoomState::new("rust");
        room.apply_joined(joined("e1", 60, false, &[58, 59, 60]));
        assert_eq!(room.oldest_id(), Some(58));
        assert!(!room.at_beginning);
        room.loading_older = true;
        room.prepend_history(vec![message(56, "bob"), message(57, "bob")], true);
        assert_eq!(ids(&room), vec![56, 57, 58, 59, 60]);
        assert!(!room.loading_older && !room.at_beginning);
        // An overlapping page adds only what is older.
        room.prepend_history((1..=57).map(|id| message(id, "bob")).collect(), false);
        assert_eq!(ids(&room), (1..=60).collect::<Vec<_>>());
        assert!(room.at_beginning);
        let mut keys: Vec<u64> = room.entries().map(|e| e.key).collect();
        keys.sort_unstable();
        keys.dedup();
        assert_eq!(keys.len(), 60, "keys stay unique");
    }

    #[test]
    fn presence_counts_a_name_once_and_typing_expires() {
        let mut room = RoomState::new("rust");
        room.apply_joined(joined("e1", 0, false, &[]));
        room.apply_presence(vec!["carol".into(), "BOB".into()], vec![], None);
        assert_eq!(room.members, vec!["Alice", "bob", "carol"]);
        room.apply_presence(
            vec!["Zed".into(), "alice".into(), "able".into()],
            vec!["BOB".into()],
            None,
        );
        assert_eq!(room.members, vec!["able", "Alice", "carol", "Zed"]);
        assert_eq!(room.here(), 4);
        // A rejoin replaces the list, in the same order whatever order the server sent.
        let mut again = joined("e1", 0, false, &[]);
        again.members = vec!["zoë".into(), "carol".into(), "Bob".into(), "alice".into()];
        room.apply_joined(again);
        assert_eq!(room.members, vec!["alice", "Bob", "carol", "zoë"]);
        room.set_typing("carol".into(), 1_000);
        room.set_typing("bob".into(), 2_000);
        assert_eq!(room.typing_names(5_000), vec!["carol", "bob"]);
        assert_eq!(room.typing_names(6_500), vec!["bob"]);
        room.push_message(message(1, "bob"));
        assert!(room.typing_names(6_500).is_empty(), "a message ends typing");
        room.set_typing("dave".into(), 1_000);
        room.set_typing("carol".into(), 7_000);
        assert_eq!(
            room.typing.len(),
            1,
            "dave's notice ran out and was forgotten"
        );
        room.apply_presence(vec![], vec!["Carol".into()], None);
        assert_eq!(room.members, vec!["alice", "Bob", "zoë"]);
        assert!(room.typing_names(7_001).is_empty(), "leaving ends typing");
    }

    fn event(id: u64, action: Action, target: u64, name: &str, value: &str) -> Event {
        Event {
            id,
            room: "rust".into(),
            action,
            target,
            name: name.into(),
            ts: id * 10,
            account: None,
            text: if action == Action::Edit {
                value.into()
            } else {
                String::new()
            },
            emoji: if action == Action::Edit {
                String::new()
            } else {
                value.into()
            },
            format: vec![],
            mentions: vec![],
        }
    }

    fn shown(room: &RoomState, id: u64) -> ChatMessage {
        room.entries()
            .find_map(|e| match &e.kind {
                EntryKind::Message(m) if m.id == id => Some(m.clone()),
                _ => None,
            })
            .expect("the message is shown")
    }

    #[test]
    fn events_change_their_message_in_place_once() {
        let mut room = RoomState::new("rust");
        room.apply_joined(joined("e1", 0, false, &[]));
        room.push_message(message(1, "bob"));
        let mut reply = message(2, "ann");
        reply.reply = Some(chat_shared::Quote {
            id: 1,
            name: "bob".into(),
            text: "rust 1".into(),
        });
        room.push_message(reply);
        let key = room.entries[0].key;
        room.apply_event(event(3, Action::Edit, 1, "bob", "fixed"));
        assert_eq!(room.last_id, 3, "resumes after the event");
        assert_eq!(room.entries.len(), 2, "an event adds no line");
        let edited = shown(&room, 1);
        assert_eq!((edited.text.as_str(), edited.edited), ("fixed", Some(30)));
        assert_ne!(room.entries[0].key, key, "a new key: the line is redrawn");
        assert_eq!(
            shown(&room, 2).reply.unwrap().text,
            "fixed",
            "the quote follows"
        );
        room.apply_event(event(4, Action::React, 1, "ann", "👍"));
        room.apply_event(event(5, Action::React, 1, "cy", "👍"));
        room.apply_event(event(6, Action::React, 1, "ann", "🎉"));
        room.apply_event(event(5, Action::React, 1, "cy", "👍"));
        let reactions = shown(&room, 1).reactions;
        assert_eq!(reactions.len(), 2);
        assert_eq!(
            reactions[0].names,
            vec!["ann", "cy"],
            "an event seen twice counts once"
        );
        room.apply_event(event(7, Action::Unreact, 1, "ann", "🎉"));
        assert_eq!(
            shown(&room, 1).reactions.len(),
            1,
            "no one left: the emoji goes"
        );
        room.apply_event(event(8, Action::Delete, 1, "bob", ""));
        let deleted = shown(&room, 1);
        assert!(deleted.is_deleted() && deleted.reactions.is_empty());
        assert!(
            shown(&room, 2).reply.unwrap().text.is_empty(),
            "the quote says so"
        );
        // A resume's events apply to what the tab holds, after the gap's messages.
        let mut gap = joined("e1", 10, true, &[9]);
        gap.events = vec![event(10, Action::Edit, 9, "bob", "late fix")];
        room.apply_joined(gap);
        assert_eq!(shown(&room, 9).text, "late fix");
        assert_eq!(room.last_id, 10);
    }

    #[test]
    fn a_crowd_is_counted_not_listed() {
        let mut room = RoomState::new("crowd");
        let mut crowded = joined("e1", 0, false, &[]);
        crowded.members.clear();
        crowded.count = Some(1500);
        room.apply_joined(crowded);
        assert_eq!(room.here(), 1500);
        room.apply_presence(vec![], vec![], Some(1499));
        assert_eq!(room.here(), 1499);
        // It shrank enough to be listed again: the next list is everyone.
        room.apply_presence(vec!["bob".into(), "ann".into()], vec![], None);
        assert_eq!(room.members, vec!["ann", "bob"]);
        assert_eq!(room.here(), 2);
        // A member who had the list when it became a crowd, and saw it listed again.
        room.apply_presence(vec![], vec![], Some(2000));
        room.apply_presence(vec!["cy".into()], vec![], None);
        assert_eq!(room.members, vec!["cy"]);
        room.apply_presence(vec![], vec![], Some(2000));
        room.disconnected();
        assert_eq!(
            room.here(),
            0,
            "nobody is known to be here while disconnected"
        );
    }

    #[test]
    fn no_two_rooms_share_an_entry_key() {
        let mut a = RoomState::new("a");
        let mut b = RoomState::new("b");
        for id in 1..=3 {
            a.push_message(message(id, "bob"));
            b.push_message(message(id, "bob"));
        }
        let keys = |room: &RoomState| room.entries().map(|e| e.key).collect::<Vec<_>>();
        assert!(keys(&a).iter().all(|key| !keys(&b).contains(key)));
    }

    #[test]
    fn typing_lines_read_naturally() {
        let names = |n: &[&str]| n.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(typing_line(&[]), None);
        assert_eq!(typing_line(&names(&["alice"])).unwrap(), "alice is typing…");
        assert_eq!(
            typing_line(&names(&["alice", "bob"])).unwrap(),
            "alice and bob are typing…"
        );
        assert_eq!(
            typing_line(&names(&["a", "b", "c", "d", "e"])).unwrap(),
            "a, b and 3 others are typing…"
        );
    }
}
