//! UTF-8 checked as a text message arrives, so a client that sends an invalid byte is closed
//! at that byte (1007) instead of after the rest of its message, which may be megabytes away or
//! never come (RFC 6455, section 8.1: "fail fast").

/// What is known of a text message's bytes so far: all valid, but possibly ending in the first
/// bytes of a sequence that the next fragment or read completes.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Utf8Stream {
    carry: [u8; 4],
    carried: u8,
}

/// The bytes are not UTF-8, whatever follows them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NotUtf8;

impl Utf8Stream {
    /// Checks the next bytes of the message. `std::str::from_utf8` does the work: an error
    /// without a length means the input ended inside a sequence that could still be valid,
    /// whose bytes (at most three) are carried to the next call.
    pub fn feed(&mut self, mut bytes: &[u8]) -> Result<(), NotUtf8> {
        while self.carried > 0 {
            let Some((&byte, rest)) = bytes.split_first() else {
                return Ok(());
            };
            bytes = rest;
            self.carry[usize::from(self.carried)] = byte;
            self.carried += 1;
            match std::str::from_utf8(&self.carry[..usize::from(self.carried)]) {
                Ok(_) => self.carried = 0,
                Err(err) if err.error_len().is_none() => {}
                Err(_) => return Err(NotUtf8),
            }
        }
        match std::str::from_utf8(bytes) {
            Ok(_) => Ok(()),
            Err(err) if err.error_len().is_none() => {
                let tail = &bytes[err.valid_up_to()..];
                self.carry[..tail.len()].copy_from_slice(tail);
                self.carried = tail.len() as u8;
                Ok(())
            }
            Err(_) => Err(NotUtf8),
        }
    }

    /// Whether the bytes so far end on a character boundary (a whole message must; the
    /// decoder checks whole messages with `from_utf8`, so only the tests ask).
    #[cfg(test)]
    pub fn is_complete(&self) -> bool {
        self.carried == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn fed_in(pieces: &[&[u8]]) -> Result<bool, NotUtf8> {
        let mut stream = Utf8Stream::default();
        for piece in pieces {
            stream.feed(piece)?;
        }
        Ok(stream.is_complete())
    }

    #[test]
    fn a_character_split_anywhere_is_valid() {
        let smile = "a🙂b".as_bytes();
        for cut in 0..=smile.len() {
            for second in cut..=smile.len() {
                let pieces = [&smile[..cut], &smile[cut..second], &smile[second..]];
                assert_eq!(fed_in(&pieces), Ok(true), "cuts {cut}, {second}");
            }
        }
    }

    #[test]
    fn the_first_impossible_byte_is_refused_before_the_rest_arrives() {
        // 0xF4 0x90 starts a code point above U+10FFFF: wrong at its second byte.
        assert_eq!(fed_in(&[b"ok", &[0xF4], &[0x90]]), Err(NotUtf8));
        // An encoded surrogate (U+D800), refused at its second byte.
        assert_eq!(fed_in(&[&[0xED, 0xA0]]), Err(NotUtf8));
        assert_eq!(fed_in(&[&[0xFF]]), Err(NotUtf8));
        // A valid start whose continuation is missing is only known bad at the end.
        assert_eq!(fed_in(&[&[0xE2, 0x82]]), Ok(false));
    }

    proptest! {
        /// However the bytes are cut, the verdict is that of `from_utf8` on the whole.
        #[test]
        fn agrees_with_the_whole_message_check(bytes in proptest::collection::vec(any::<u8>(), 0..40), cuts in proptest::collection::vec(0usize..40, 0..6)) {
            let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c.min(bytes.len())).collect();
            cuts.sort_unstable();
            let mut stream = Utf8Stream::default();
            let mut at = 0;
            let mut verdict = Ok(());
            for cut in cuts.into_iter().chain([bytes.len()]) {
                verdict = verdict.and_then(|()| stream.feed(&bytes[at..cut]));
                at = cut;
            }
            let valid = verdict.is_ok() && stream.is_complete();
            prop_assert_eq!(valid, std::str::from_utf8(&bytes).is_ok());
        }
    }
}
