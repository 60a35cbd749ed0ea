//! Every connection of each signed-in account, so that what one of them does that the others
//! must show at once (reading a room) reaches them all: another tab, another device.
//!
//! Touched when a signed-in connection opens and when its account reads, never per message.
//! Connections are held weakly and forgotten as they are found closed, so an account's list is
//! at most its open connections plus those closed since it last read or connected, and the map
//! at most the accounts that connected since the start (accounts exist only by invitation).

use std::collections::HashMap;
use std::sync::{Arc, Weak};

use parking_lot::Mutex;
use tungstenite::Utf8Bytes;

use super::Member;

/// The connections of every signed-in account.
#[derive(Debug, Default)]
pub struct Devices {
    by_account: Mutex<HashMap<i64, Vec<Weak<Member>>>>,
}

impl Devices {
    /// Adds a connection of `account`.
    pub fn add(&self, account: i64, member: &Arc<Member>) {
        let mut by_account = self.by_account.lock();
        let list = by_account.entry(account).or_default();
        list.retain(|known| known.strong_count() > 0);
        list.push(Arc::downgrade(member));
    }

    /// Queues `frame` (encoded once) on every open connection of `account`; returns how many.
    pub fn tell(&self, account: i64, frame: &Utf8Bytes) -> usize {
        let mut by_account = self.by_account.lock();
        let Some(list) = by_account.get_mut(&account) else {
            return 0;
        };
        let mut told = 0;
        list.retain(|known| match known.upgrade() {
            Some(member) => {
                told += usize::from(member.push(frame).is_ok());
                true
            }
            None => false,
        });
        if list.is_empty() {
            by_account.remove(&account);
        }
        told
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_open_connection_of_the_account_is_told_and_closed_ones_are_forgotten() {
        let devices = Devices::default();
        let (phone, laptop, other) = (
            Arc::new(Member::new(1, 1 << 16)),
            Arc::new(Member::new(2, 1 << 16)),
            Arc::new(Member::new(3, 1 << 16)),
        );
        devices.add(7, &phone);
        devices.add(7, &laptop);
        devices.add(8, &other);
        let frame = Utf8Bytes::from_static(r#"{"type":"read","room":"r","id":3}"#);
        assert_eq!(devices.tell(7, &frame), 2);
        assert!(phone.try_next().is_some() && laptop.try_next().is_some());
        assert!(other.try_next().is_none(), "another account hears nothing");
        drop(laptop);
        assert_eq!(devices.tell(7, &frame), 1);
        drop(phone);
        assert_eq!(devices.tell(7, &frame), 0);
        assert!(devices.by_account.lock().get(&7).is_none(), "forgotten");
    }
}
