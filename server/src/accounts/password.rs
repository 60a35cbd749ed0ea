//! Passwords: checked for length only (at least 8 characters, any Unicode, no composition
//! rules), hashed with Argon2id at the `argon2` crate's default parameters (19 MiB, two passes,
//! one lane) into a PHC string that carries its own salt and parameters, so stronger defaults
//! later still verify older hashes. Hashing is deliberately slow: callers run it off the async
//! threads, a few at a time.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;

/// Fewest characters a password may have.
pub const MIN_PASSWORD_CHARS: usize = 8;

/// Most bytes of a password: what a visitor can make one hash cost is bounded (a passphrase
/// of several hundred words still fits).
pub const MAX_PASSWORD_BYTES: usize = 1024;

/// Why a new password is refused, in words for the form.
pub fn check_new(password: &str) -> Result<(), String> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(format!(
            "A password needs at least {MIN_PASSWORD_CHARS} characters."
        ));
    }
    if password.len() > MAX_PASSWORD_BYTES {
        return Err(format!(
            "A password may have at most {MAX_PASSWORD_BYTES} bytes."
        ));
    }
    Ok(())
}

/// The PHC string of `password` under a fresh random salt. Fails only if the system has no
/// random source.
pub fn hash(password: &str) -> anyhow::Result<String> {
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|err| anyhow::anyhow!("no random source: {err}"))?;
    let salt = SaltString::encode_b64(&salt).map_err(|err| anyhow::anyhow!("salt: {err}"))?;
    let hashed = Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map_err(|err| anyhow::anyhow!("cannot hash a password: {err}"))?;
    Ok(hashed.to_string())
}

/// Whether `password` is the one `phc` was made from. A malformed stored hash verifies nothing.
pub fn verify(password: &str, phc: &str) -> bool {
    if password.len() > MAX_PASSWORD_BYTES {
        return false;
    }
    PasswordHash::new(phc).is_ok_and(|parsed| {
        Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_verifies_against_its_own_hash_only() {
        let phc = hash("correct horse").unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        assert!(verify("correct horse", &phc));
        assert!(!verify("correct horsE", &phc));
        assert!(!verify("correct horse", "not a hash"));
        assert_ne!(phc, hash("correct horse").unwrap(), "salted");
    }

    #[test]
    fn length_is_the_only_rule() {
        assert!(check_new("1234567").is_err());
        assert!(check_new("12345678").is_ok());
        assert!(check_new("пароль12").is_ok(), "characters, not bytes");
        assert!(check_new(&"x".repeat(MAX_PASSWORD_BYTES + 1)).is_err());
    }
}
