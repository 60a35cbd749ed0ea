//! Mentions in a text: `@name` mentions the account of that name, `@room` and `@here` everyone
//! in the room. Names may hold spaces and any letters, so the text after an `@` is read as
//! every name it could start with, longest first, each ending where a word does; the server
//! resolves the longest that is an account's (and the page, to highlight, the same way).

use crate::MAX_NAME_CHARS;

/// Mentions resolved in one message at most: `@`s after these are plain text (each costs the
/// server a lookup when the message is accepted).
pub const MAX_MENTIONS: usize = 20;

/// The words that mention everyone in the room.
pub const EVERYONE: [&str; 2] = ["room", "here"];

/// The text after each `@` that can start a mention (at the start of the text or after a
/// character that is not a letter, digit or `_`, so an address such as `ada@example.org` is
/// none), at most [`MAX_MENTIONS`].
pub fn starts(text: &str) -> impl Iterator<Item = &str> {
    text.char_indices()
        .filter(move |&(at, c)| {
            c == '@'
                && text[..at]
                    .chars()
                    .next_back()
                    .is_none_or(|before| !before.is_alphanumeric() && before != '_')
        })
        .map(move |(at, _)| &text[at + 1..])
        .filter(|after| after.chars().next().is_some_and(|c| !c.is_whitespace()))
        .take(MAX_MENTIONS)
}

/// Every name `after` (the text after an `@`) could be, longest first: its beginnings of at
/// most [`MAX_NAME_CHARS`] characters that end where a word does (at the end, or before a
/// space or a punctuation mark) and do not end in a space.
pub fn candidates(after: &str) -> Vec<&str> {
    let mut found = Vec::new();
    let mut chars = after.char_indices().peekable();
    let mut count = 0;
    while let Some((at, c)) = chars.next() {
        count += 1;
        if count > MAX_NAME_CHARS || c == '\n' {
            break;
        }
        let end = at + c.len_utf8();
        let boundary = chars
            .peek()
            .is_none_or(|&(_, next)| next.is_whitespace() || is_punctuation(next));
        if boundary && !c.is_whitespace() {
            found.push(&after[..end]);
        }
    }
    found.reverse();
    found
}

/// Whether `after` (the text after an `@`) is `@room` or `@here`.
pub fn is_everyone(after: &str) -> bool {
    EVERYONE.iter().any(|word| {
        after
            .get(..word.len())
            .is_some_and(|start| start.eq_ignore_ascii_case(word))
            && after[word.len()..]
                .chars()
                .next()
                .is_none_or(|next| !next.is_alphanumeric() && next != '_')
    })
}

fn is_punctuation(c: char) -> bool {
    c.is_ascii_punctuation() && !matches!(c, '_' | '-' | '\'') || matches!(c, '…' | '’' | '“' | '”')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mention_starts_at_an_at_sign_that_begins_a_word() {
        let text = "@ada hi, mail ada@example.org or (@Zoë Ο) and @ alone @";
        let starts: Vec<&str> = starts(text).collect();
        assert_eq!(starts.len(), 2);
        assert!(starts[0].starts_with("ada hi"));
        assert!(starts[1].starts_with("Zoë Ο)"));
        let many = "@a ".repeat(MAX_MENTIONS + 5);
        assert_eq!(super::starts(&many).count(), MAX_MENTIONS);
    }

    #[test]
    fn the_names_a_mention_could_be_are_every_word_boundary_longest_first() {
        // Names may hold spaces and punctuation: every word boundary is a candidate.
        assert_eq!(candidates("ada, hi"), vec!["ada, hi", "ada,", "ada"]);
        assert_eq!(
            candidates("Zoë Ο) x"),
            vec!["Zoë Ο) x", "Zoë Ο)", "Zoë Ο", "Zoë"]
        );
        assert_eq!(candidates("ada."), vec!["ada.", "ada"]);
        assert_eq!(candidates("mary-jane!"), vec!["mary-jane!", "mary-jane"]);
        assert_eq!(candidates("bob\nnext line"), vec!["bob"]);
        let long = "x".repeat(MAX_NAME_CHARS + 3);
        assert!(candidates(&long).is_empty(), "longer than any name");
        let words = format!("{} y", "x".repeat(MAX_NAME_CHARS - 1));
        assert_eq!(
            candidates(&words),
            vec![&words[..MAX_NAME_CHARS - 1]],
            "within the limit"
        );
    }

    #[test]
    fn room_and_here_mention_everyone_as_whole_words() {
        for yes in ["room", "here!", "Room please", "HERE"] {
            assert!(is_everyone(yes), "{yes}");
        }
        for no in ["rooms", "her", "here_", "roomy", ""] {
            assert!(!is_everyone(no), "{no}");
        }
    }
}
