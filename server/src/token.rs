//! Name tokens: the secret that holds a name. Only their hashes are stored (SQLite or Redis),
//! so a copy of the database reclaims no name.

use sha2::{Digest, Sha256};

/// A fresh token: 128 random bits as 32 hex digits. Fails rather than issue a guessable one.
pub fn new_token() -> Result<String, getrandom::Error> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes)?;
    Ok(to_hex(&bytes))
}

/// The SHA-256 of a token, as stored.
pub fn hash(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// Whether `presented` is the token whose hash is `stored`, compared in constant time: hygiene
/// (a digest's timing would reveal nothing usable), but the comparison of a secret should not
/// stop at the first byte that differs.
pub fn holds(stored: &[u8], presented: &str) -> bool {
    same(stored, &hash(presented))
}

/// Whether two secrets are equal, compared in constant time (for a secret stored as it is,
/// such as the invitation code administrators are shown again).
pub fn same(a: &[u8], b: &[u8]) -> bool {
    use subtle::ConstantTimeEq;
    a.ct_eq(b).into()
}

/// Lowercase hex of `bytes`.
pub fn to_hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut hex, byte| {
            let _ = write!(hex, "{byte:02x}");
            hex
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_holds_its_hash_and_nothing_else() {
        let token = new_token().unwrap();
        assert_eq!(token.len(), 32);
        assert!(holds(&hash(&token), &token));
        assert!(!holds(&hash(&token), "another token"));
        assert!(
            !holds(&hash(&token)[..31], &token),
            "a stored hash cut short"
        );
        assert!(!holds(&[], &token));
    }
}
