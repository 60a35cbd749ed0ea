//! Words for texts that look like a chat's to a full-text index: a fixed vocabulary of made-up
//! words, picked with a Zipf-like skew (a few words in most messages, most words rare), the
//! same for a given seed. `fanout --words` pads its texts with them to fill a database worth
//! searching; `search` asks for words of each frequency.

/// Words in the vocabulary.
pub const VOCABULARY: u64 = 20_000;

const SYLLABLES: [&str; 20] = [
    "ka", "lo", "mi", "ne", "su", "ta", "ri", "po", "ve", "du", "ba", "ge", "zo", "fi", "ha", "ju",
    "ce", "wy", "xa", "ol",
];

/// The word of rank `rank` (1 the most frequent): its number in base 20, a syllable a digit,
/// two syllables at least, so every rank has its own word.
pub fn word(rank: u64) -> String {
    let mut n = rank.max(1) - 1;
    let mut out = String::new();
    for _ in 0..2 {
        out.push_str(SYLLABLES[(n % 20) as usize]);
        n /= 20;
    }
    while n > 0 {
        out.push_str(SYLLABLES[(n % 20) as usize]);
        n /= 20;
    }
    out
}

/// A small, fast generator (xorshift64*): texts differ, runs repeat.
#[derive(Debug, Clone)]
pub struct Picker(u64);

impl Picker {
    /// A picker for `seed` (any value).
    pub fn new(seed: u64) -> Self {
        Picker(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A rank from 1 to [`VOCABULARY`], rank r about as likely as 1/r (log-uniform).
    pub fn rank(&mut self) -> u64 {
        let u = (self.next() >> 11) as f64 / (1u64 << 53) as f64;
        ((VOCABULARY as f64).powf(u) as u64).clamp(1, VOCABULARY)
    }

    /// A number below `n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// Appends words to `text` until it is at least `min_len` bytes.
pub fn pad(text: &mut String, min_len: usize, picker: &mut Picker) {
    while text.len() < min_len {
        text.push(' ');
        text.push_str(&word(picker.rank()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranks_have_distinct_words_and_common_ones_come_first() {
        let words: std::collections::HashSet<String> = (1..=VOCABULARY).map(word).collect();
        assert_eq!(words.len() as u64, VOCABULARY);
        let mut picker = Picker::new(7);
        let picks: Vec<u64> = (0..10_000).map(|_| picker.rank()).collect();
        let top = picks.iter().filter(|&&r| r <= 10).count();
        let tail = picks.iter().filter(|&&r| r > 10_000).count();
        assert!(top > 1500 && tail < 1000, "top {top}, tail {tail}");
        let mut text = String::from("b 1 2 3");
        pad(&mut text, 80, &mut Picker::new(1));
        assert!(text.len() >= 80 && text.starts_with("b 1 2 3 "));
    }
}
