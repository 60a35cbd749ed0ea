//! Passwords: checked for length only (at least 8 characters, any Unicode, no composition
//! rules), hashed with Argon2id at the `argon2` crate's default parameters (19 MiB, two passes,
//! one lane) into a PHC string that carries its own salt and parameters, so stronger defaults
//! later still verify older hashes. Hashing is deliberately slow: callers run it off the async
//! threads, a few at a time.

use std::cell::RefCell;

use argon2::password_hash::{Output, ParamsString, PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};

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

thread_local! {
    /// Argon2's working memory (19 MiB at the default parameters), one per hashing thread,
    /// kept and reused. The crate's `hash_password`/`verify_password` allocate it afresh for
    /// every hash, and glibc's allocator did not reuse those 64-byte-aligned blocks: measured
    /// in a release build, the server grew by 19 MiB with every sign-in (9.9 MB at start,
    /// 185 MB after nine sign-ins; a loop of verifications alone, 19 MiB each). So the hash is
    /// computed here with the crate's `hash_password_into_with_memory`, and the PHC string is
    /// written and read with its own types.
    static MEMORY: RefCell<Vec<Block>> = const { RefCell::new(Vec::new()) };
}

/// Argon2 of `password` and `salt` into `out`, in this thread's kept memory.
fn compute(
    argon2: &Argon2<'_>,
    password: &[u8],
    salt: &[u8],
    out: &mut [u8],
) -> argon2::Result<()> {
    MEMORY.with_borrow_mut(|memory| {
        let blocks = argon2.params().block_count();
        if memory.len() < blocks {
            *memory = vec![Block::default(); blocks];
        }
        argon2.hash_password_into_with_memory(password, salt, out, memory.as_mut_slice())
    })
}

/// The hash of a password nobody has (256 random bits, thrown away once hashed), verified for a
/// name no account has so that its answer takes as long as a wrong password's. A constant, not
/// made at start: making one took Argon2's 19 MiB at every start, before anyone signs in. Its
/// parameters are the crate's defaults, as every stored hash's are (test
/// `the_decoy_costs_what_a_real_hash_costs`).
pub const DECOY: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$5+1zAUnsgGeSsrOyblW5HA$7enMKzFBZDHDIqw48saT9Vbwvt2XzRM7aDuPLtojYdQ";

/// The PHC string of `password` under a fresh random salt (Argon2id, the crate's default
/// parameters). Fails only if the system has no random source.
pub fn hash(password: &str) -> anyhow::Result<String> {
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|err| anyhow::anyhow!("no random source: {err}"))?;
    let salt_string =
        SaltString::encode_b64(&salt).map_err(|err| anyhow::anyhow!("salt: {err}"))?;
    let argon2 = Argon2::default();
    let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
    compute(&argon2, password.as_bytes(), &salt, &mut out)
        .map_err(|err| anyhow::anyhow!("cannot hash a password: {err}"))?;
    let fail = |err: argon2::password_hash::Error| anyhow::anyhow!("cannot write a hash: {err}");
    let phc = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(argon2.params()).map_err(fail)?,
        salt: Some(salt_string.as_salt()),
        hash: Some(Output::new(&out).map_err(fail)?),
    };
    Ok(phc.to_string())
}

/// Whether `password` is the one `phc` was made from (with the parameters written in it). A
/// malformed stored hash verifies nothing. The comparison is `Output`'s, in constant time.
pub fn verify(password: &str, phc: &str) -> bool {
    if password.len() > MAX_PASSWORD_BYTES {
        return false;
    }
    let Ok(parsed) = PasswordHash::new(phc) else {
        return false;
    };
    let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else {
        return false;
    };
    let version = parsed
        .version
        .map_or(Ok(Version::default()), Version::try_from);
    let (Ok(algorithm), Ok(version), Ok(params)) = (
        Algorithm::try_from(parsed.algorithm),
        version,
        Params::try_from(&parsed),
    ) else {
        return false;
    };
    let mut salt_bytes = [0u8; 64];
    let Ok(salt) = salt.decode_b64(&mut salt_bytes) else {
        return false;
    };
    let mut out = vec![0u8; expected.len()];
    let argon2 = Argon2::new(algorithm, version, params);
    compute(&argon2, password.as_bytes(), salt, &mut out).is_ok()
        && Output::new(&out).is_ok_and(|computed| computed == expected)
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
    fn hashes_are_the_crates_own_phc_strings_both_ways() {
        use argon2::password_hash::{PasswordHasher, PasswordVerifier};
        let ours = hash("battery staple").unwrap();
        let parsed = PasswordHash::new(&ours).unwrap();
        assert!(Argon2::default()
            .verify_password(b"battery staple", &parsed)
            .is_ok());
        let salt = SaltString::encode_b64(b"sixteen byte slt").unwrap();
        let theirs = Argon2::default()
            .hash_password(b"battery staple", &salt)
            .unwrap()
            .to_string();
        assert!(verify("battery staple", &theirs));
        assert!(!verify("battery stable", &theirs));
    }

    #[test]
    fn the_decoy_costs_what_a_real_hash_costs() {
        // The same algorithm, version and parameters as a hash made now: verifying against it
        // does the same work as against a real account's.
        let real = hash("whatever it is").unwrap();
        let head = |phc: &str| phc.rsplitn(3, '$').nth(2).unwrap().to_string();
        assert_eq!(head(DECOY), head(&real));
        assert!(PasswordHash::new(DECOY).is_ok());
        assert!(!verify("", DECOY) && !verify("correct horse", DECOY));
    }

    #[test]
    fn length_is_the_only_rule() {
        assert!(check_new("1234567").is_err());
        assert!(check_new("12345678").is_ok());
        assert!(check_new("пароль12").is_ok(), "characters, not bytes");
        assert!(check_new(&"x".repeat(MAX_PASSWORD_BYTES + 1)).is_err());
    }
}
