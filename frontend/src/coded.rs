//! Small enums kept in the page's `u64` signals. Every type a Leptos signal holds compiles its
//! own copy of the signal code into the page (about a kilobyte of WebAssembly each, measured),
//! and the page has `u64` signals anyway (the clock, the unseen count): a [`Coded`] signal
//! stores its value as a number there and hands it out typed.

use std::marker::PhantomData;

use leptos::prelude::*;

use crate::layout::Zone;
use crate::state::Status;

/// A value that has a number of its own, and is known again from it.
pub trait Code: Copy {
    /// Its number.
    fn code(self) -> u64;
    /// The value numbered `code` (any number gives some value).
    fn decode(code: u64) -> Self;
}

/// A signal of a [`Code`] value, in a `RwSignal<u64>`.
pub struct Coded<T> {
    signal: RwSignal<u64>,
    kind: PhantomData<T>,
}

impl<T> Clone for Coded<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for Coded<T> {}

impl<T: Code> Coded<T> {
    /// A signal holding `value`.
    pub fn new(value: T) -> Self {
        Coded {
            signal: RwSignal::new(value.code()),
            kind: PhantomData,
        }
    }

    /// The value, tracked as `RwSignal::get` is.
    pub fn get(&self) -> T {
        T::decode(self.signal.get())
    }

    /// The value, not tracked.
    pub fn get_untracked(&self) -> T {
        T::decode(self.signal.get_untracked())
    }

    /// Sets the value, waking who read it.
    pub fn set(&self, value: T) {
        self.signal.set(value.code());
    }
}

impl Code for bool {
    fn code(self) -> u64 {
        u64::from(self)
    }

    fn decode(code: u64) -> Self {
        code != 0
    }
}

/// A flag kept as the page's stored `Option<u64>`s are (`None` off), for the same reason: a
/// `StoredValue<bool>` compiled its own copy of the stored value's code.
#[derive(Clone, Copy)]
pub struct StoredFlag(StoredValue<Option<u64>>);

impl StoredFlag {
    /// A flag, off.
    pub fn new() -> Self {
        StoredFlag(StoredValue::new(None))
    }

    /// Whether it is on.
    pub fn get(&self) -> bool {
        self.0.get_value().is_some()
    }

    /// Turns it on or off.
    pub fn set(&self, on: bool) {
        self.0.set_value(on.then_some(1));
    }
}

/// The connection's status, in the order of its variants.
impl Code for Status {
    fn code(self) -> u64 {
        self as u64
    }

    fn decode(code: u64) -> Self {
        match code {
            0 => Status::Connecting,
            1 => Status::Connected,
            2 => Status::Reconnecting,
            3 => Status::Offline,
            _ => Status::Unsupported,
        }
    }
}

/// A zone: UTC 0, local 1, an offset from -24 h on after them.
impl Code for Zone {
    fn code(self) -> u64 {
        match self {
            Zone::Utc => 0,
            Zone::Local => 1,
            // Offsets from -24 h on, after the two above.
            Zone::Offset(minutes) => 2 + (i64::from(minutes) + 1440).max(0) as u64,
        }
    }

    fn decode(code: u64) -> Self {
        match code {
            0 => Zone::Utc,
            1 => Zone::Local,
            n => Zone::Offset((n as i64 - 2 - 1440) as i32),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layout::MAX_OFFSET_MINUTES;

    #[test]
    fn every_status_and_zone_comes_back_from_its_number() {
        for status in [
            Status::Connecting,
            Status::Connected,
            Status::Reconnecting,
            Status::Offline,
            Status::Unsupported,
        ] {
            assert_eq!(Status::decode(status.code()), status);
        }
        let mut zones = vec![Zone::Utc, Zone::Local];
        zones.extend((-MAX_OFFSET_MINUTES..=MAX_OFFSET_MINUTES).map(Zone::Offset));
        for zone in zones {
            assert_eq!(Zone::decode(zone.code()), zone);
        }
    }
}
