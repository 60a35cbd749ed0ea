//! Random values from the OS for what must not repeat: guest names, room epochs, node ids.
//! (Secrets, whose generation must not fail silently, are in [`crate::token`].)

/// A random `u64`.
pub fn u64() -> u64 {
    let mut bytes = [0u8; 8];
    // The OS random source does not fail on Linux once booted; if it ever did, names and
    // epochs would only be less random, never wrong.
    let _ = getrandom::fill(&mut bytes);
    u64::from_le_bytes(bytes)
}

/// `digits` random lowercase hex digits (at most 32).
pub fn hex(digits: usize) -> String {
    let mut bytes = [0u8; 16];
    // As in `u64`: a failure would only make the value less random.
    let _ = getrandom::fill(&mut bytes);
    let mut hex = crate::token::to_hex(&bytes);
    hex.truncate(digits.min(32));
    hex
}
