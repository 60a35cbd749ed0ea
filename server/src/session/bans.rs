//! Names an administrator banned in open mode (each for a while): `hello` with one is refused,
//! and connections under it are closed when the ban is made. Read at `hello`, never per message.

use std::collections::HashMap;

use parking_lot::RwLock;

use crate::clock::Clock;

/// Banned names, by name key, each with when its ban ends (ms since the epoch).
#[derive(Debug, Default)]
pub struct NameBans {
    bans: RwLock<HashMap<String, u64>>,
    clock: Clock,
}

impl NameBans {
    /// No bans yet, judged by `clock`.
    pub fn new(clock: Clock) -> Self {
        NameBans {
            bans: RwLock::default(),
            clock,
        }
    }

    /// Replaces the banned names (key -> end of the ban).
    pub fn set(&self, bans: HashMap<String, u64>) {
        *self.bans.write() = bans;
    }

    /// Whether the name with key `key` is banned now.
    pub fn banned(&self, key: &str) -> bool {
        let now = self.clock.now_ms();
        self.bans.read().get(key).is_some_and(|until| *until > now)
    }
}
