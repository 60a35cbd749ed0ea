//! Who is in a room: names with connections on this node, and (in cluster mode) names other
//! nodes report. A name is shown once, however many connections and nodes it has, and leaves
//! when its last one does.

use std::collections::HashMap;

/// A name with connections on this node.
#[derive(Debug)]
struct Local {
    /// The name as shown, when it differs from its key (most names are lowercase already).
    shown: Option<Box<str>>,
    connections: u32,
}

/// A name other nodes report.
#[derive(Debug)]
struct Remote {
    shown: Box<str>,
    /// The nodes that have it.
    nodes: Vec<Box<str>>,
}

/// What a change did to a name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Change {
    /// It is now here (or no longer here) on this node: other nodes must be told.
    pub here: bool,
    /// It appeared in (or disappeared from) the room's list: members must be told.
    pub shown: bool,
}

/// Presence changes not yet shown to a room's members: shown together, at most once per
/// [`crate::rooms::PRESENCE_INTERVAL`], so that a room of n members joining one after another
/// costs each member a frame per interval instead of one per join.
#[derive(Debug, Default)]
pub struct PendingPresence {
    /// Names the list gained, as shown.
    pub joined: Vec<String>,
    /// Names the list lost, as shown.
    pub left: Vec<String>,
    /// The room has more members than are listed: show the count instead of names.
    pub counted: bool,
}

impl PendingPresence {
    /// Adds changes. A name that arrives and leaves again (or leaves and comes back) within the
    /// interval cancels out: members saw nothing of it, and see nothing. Only the very same
    /// shown form cancels: a name shown in another case (a rename from "zoë" to "ZOË") is a
    /// change members must see, as the old form leaving and the new one arriving.
    pub fn merge(&mut self, joined: Vec<String>, left: Vec<String>) {
        for name in left {
            if !remove_name(&mut self.joined, &name) {
                self.left.push(name);
            }
        }
        for name in joined {
            if !remove_name(&mut self.left, &name) {
                self.joined.push(name);
            }
        }
    }

    /// Changes in a room with too many members to list: only the count is shown.
    pub fn counted() -> Self {
        PendingPresence {
            counted: true,
            ..PendingPresence::default()
        }
    }

    /// Whether there is nothing to show.
    pub fn is_empty(&self) -> bool {
        self.joined.is_empty() && self.left.is_empty() && !self.counted
    }
}

/// Removes `name` (as shown) from `names`; true if it was there.
fn remove_name(names: &mut Vec<String>, name: &str) -> bool {
    match names.iter().position(|n| n == name) {
        Some(at) => {
            names.swap_remove(at);
            true
        }
        None => false,
    }
}

/// The names present in one room. Boxed strings: one of these per member of every room.
#[derive(Debug, Default)]
pub struct PresentNames {
    local: HashMap<Box<str>, Local>,
    remote: HashMap<Box<str>, Remote>,
}

impl PresentNames {
    /// Counts a connection of `name` on this node.
    pub fn arrive(&mut self, name: &str) -> Change {
        let key = chat_shared::name_key(name);
        let remote = self.remote.contains_key(key.as_str());
        let shown = (key != name).then(|| name.into());
        let entry = self.local.entry(key.into_boxed_str()).or_insert(Local {
            shown,
            connections: 0,
        });
        entry.connections += 1;
        let here = entry.connections == 1;
        Change {
            here,
            shown: here && !remote,
        }
    }

    /// Uncounts a connection of `name` on this node.
    pub fn depart(&mut self, name: &str) -> Change {
        let key = chat_shared::name_key(name);
        let Some(entry) = self.local.get_mut(key.as_str()) else {
            return Change {
                here: false,
                shown: false,
            };
        };
        entry.connections -= 1;
        if entry.connections > 0 {
            return Change {
                here: false,
                shown: false,
            };
        }
        self.local.remove(key.as_str());
        Change {
            here: true,
            shown: !self.remote.contains_key(key.as_str()),
        }
    }

    /// Another node reports `name` here; true if the room's list gained it.
    pub fn remote_arrive(&mut self, node: &str, name: &str) -> bool {
        let key = chat_shared::name_key(name);
        let local = self.local.contains_key(key.as_str());
        let entry = self.remote.entry(key.into_boxed_str()).or_insert(Remote {
            shown: name.into(),
            nodes: Vec::new(),
        });
        let new = entry.nodes.is_empty();
        if !entry.nodes.iter().any(|n| &**n == node) {
            entry.nodes.push(node.into());
        }
        new && !local
    }

    /// Another node reports `name` gone; true if the room's list lost it.
    pub fn remote_depart(&mut self, node: &str, name: &str) -> bool {
        let key = chat_shared::name_key(name);
        let Some(entry) = self.remote.get_mut(key.as_str()) else {
            return false;
        };
        entry.nodes.retain(|n| &**n != node);
        if !entry.nodes.is_empty() {
            return false;
        }
        self.remote.remove(key.as_str());
        !self.local.contains_key(key.as_str())
    }

    /// Replaces what other nodes report with `entries` (node, name), as read from Redis after
    /// a (re)subscription; returns the names the list gained and lost.
    pub fn replace_remote(&mut self, entries: &[(String, String)]) -> (Vec<String>, Vec<String>) {
        let before = self.names();
        self.remote.clear();
        for (node, name) in entries {
            self.remote_arrive(node, name);
        }
        let after = self.names();
        let joined = after
            .iter()
            .filter(|n| !before.contains(n))
            .cloned()
            .collect();
        let left = before.into_iter().filter(|n| !after.contains(n)).collect();
        (joined, left)
    }

    /// How many names are present.
    pub fn len(&self) -> usize {
        let remote_only = self
            .remote
            .keys()
            .filter(|key| !self.local.contains_key(*key))
            .count();
        self.local.len() + remote_only
    }

    /// Whether nobody is present.
    pub fn is_empty(&self) -> bool {
        self.local.is_empty() && self.remote.is_empty()
    }

    /// Everyone present, sorted, each once.
    pub fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .local
            .iter()
            .map(|(key, p)| p.shown.as_deref().unwrap_or(key).to_string())
            .chain(
                self.remote
                    .iter()
                    .filter(|(key, _)| !self.local.contains_key(*key))
                    .map(|(_, r)| r.shown.to_string()),
            )
            .collect();
        names.sort_unstable();
        names
    }

    /// Up to `limit` names whose keys come after `after` (a key), in key order, and whether
    /// more follow. Linear in the room's size (no sort of the whole room), since a crowd is
    /// exactly when this is asked.
    pub fn page(&self, after: Option<&str>, limit: usize) -> (Vec<String>, bool) {
        let mut entries: Vec<(&str, &str)> = self
            .local
            .iter()
            .map(|(key, p)| (&**key, p.shown.as_deref().unwrap_or(key)))
            .chain(
                self.remote
                    .iter()
                    .filter(|(key, _)| !self.local.contains_key(*key))
                    .map(|(key, r)| (&**key, &*r.shown)),
            )
            .filter(|(key, _)| after.is_none_or(|after| *key > after))
            .collect();
        let more = entries.len() > limit;
        if more {
            entries.select_nth_unstable(limit);
            entries.truncate(limit);
        }
        entries.sort_unstable();
        let names = entries
            .into_iter()
            .map(|(_, shown)| shown.to_string())
            .collect();
        (names, more)
    }

    /// The names with connections on this node, as shown.
    pub fn local_names(&self) -> Vec<String> {
        self.local
            .iter()
            .map(|(key, p)| p.shown.as_deref().unwrap_or(key).to_string())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pending_changes_that_undo_each_other_cancel_out() {
        let mut pending = PendingPresence::default();
        pending.merge(vec!["ann".into(), "bob".into()], vec!["cid".into()]);
        pending.merge(vec!["cid".into()], vec!["ann".into()]);
        assert_eq!(pending.joined, vec!["bob".to_string()]);
        assert!(pending.left.is_empty());
        pending.merge(vec![], vec!["bob".into()]);
        assert!(pending.is_empty());
        // A rename to another case is shown: the old form leaves, the new one arrives.
        pending.merge(vec!["ZOË".into()], vec!["Zoë".into()]);
        assert_eq!(
            (pending.joined.clone(), pending.left.clone()),
            (vec!["ZOË".to_string()], vec!["Zoë".to_string()])
        );
    }

    #[test]
    fn pages_of_names_follow_key_order_and_cover_everyone_once() {
        let mut present = PresentNames::default();
        for name in ["dan", "Bob", "ann", "Eve", "carl"] {
            present.arrive(name);
        }
        present.remote_arrive("n2", "fay");
        present.remote_arrive("n2", "BOB");
        assert_eq!(
            present.page(None, 2),
            (vec!["ann".to_string(), "Bob".to_string()], true)
        );
        assert_eq!(
            present.page(Some("bob"), 3),
            (vec!["carl".into(), "dan".into(), "Eve".into()], true)
        );
        assert_eq!(
            present.page(Some("eve"), 3),
            (vec!["fay".to_string()], false)
        );
        assert_eq!(present.page(Some("fay"), 3), (vec![], false));
        assert_eq!(present.page(None, 6).0.len(), 6);
        assert!(!present.page(None, 6).1);
    }

    #[test]
    fn a_name_is_shown_once_across_tabs_and_nodes() {
        let mut present = PresentNames::default();
        assert_eq!(
            present.arrive("Bob"),
            Change {
                here: true,
                shown: true
            }
        );
        assert_eq!(
            present.arrive("bob"),
            Change {
                here: false,
                shown: false
            }
        );
        assert!(!present.remote_arrive("n2", "Bob"), "already listed");
        assert_eq!(present.names(), vec!["Bob"]);
        present.depart("bob");
        assert_eq!(
            present.depart("Bob"),
            Change {
                here: true,
                shown: false
            },
            "still on n2"
        );
        assert_eq!(present.names(), vec!["Bob"]);
        assert!(!present.remote_arrive("n3", "Bob"));
        assert!(!present.remote_depart("n2", "Bob"), "still on n3");
        assert!(present.remote_depart("n3", "Bob"), "gone everywhere");
        assert!(present.names().is_empty());
        assert!(present.remote_arrive("n2", "carol"));
        assert_eq!(
            present.arrive("Carol"),
            Change {
                here: true,
                shown: false
            }
        );
        assert!(!present.remote_depart("n2", "carol"), "still here locally");
        assert_eq!(present.local_names(), vec!["Carol"]);
    }
}
