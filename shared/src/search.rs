//! Search (issue 25): what a search may ask ([`Query`]), read once by the server, and the
//! snippet a match is shown with ([`snippet`]): runs of text, the matching words marked, never
//! HTML, so nothing in a message can become markup in a list of results either.
//!
//! A search is words, each matching a whole word of a message (a trailing `*` matches every word
//! it starts, given [`MIN_PREFIX_CHARS`]), "a quoted phrase" (its words one after another),
//! `from:name` (messages written under that name, or by that account whatever it is called
//! now) and `in:room`. Every word must be in a message for it to match; case and accents do not
//! count.

use crate::{ErrorCode, FrameError};

/// Longest search, in characters.
pub const MAX_SEARCH_CHARS: usize = 200;
/// Most words (a phrase's count one each) in a search: each is a list the index must merge.
pub const MAX_SEARCH_WORDS: usize = 8;
/// Matches in one page of results.
pub const SEARCH_PAGE: usize = 20;
/// Shortest start of a word a trailing `*` may search for: a shorter one would match a large
/// part of every word there is (shorter ones are searched as whole words).
pub const MIN_PREFIX_CHARS: usize = 3;
/// Longest snippet, in characters.
pub const SNIPPET_CHARS: usize = 160;
/// A snippet's run that is a matching word ([`snippet`]); other runs are `0`.
pub const HIT: u8 = 1;

/// One thing every match must contain: a word, a phrase of several, or the start of a word.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Term {
    /// The words, lowercase, one after another in the message.
    pub words: Vec<String>,
    /// The last word is the start of a word.
    pub prefix: bool,
}

/// A search as the server runs it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Query {
    /// What every match contains; never empty.
    pub terms: Vec<Term>,
    /// `from:`: only messages written under this name or by the account of this name.
    pub from: Option<String>,
    /// `in:`: only this room.
    pub room: Option<String>,
}

impl Query {
    /// Reads a search, or says what is wrong with it.
    pub fn parse(raw: &str) -> Result<Query, FrameError> {
        if raw.chars().count() > MAX_SEARCH_CHARS {
            return Err(invalid(format!(
                "a search is at most {MAX_SEARCH_CHARS} characters"
            )));
        }
        let mut query = Query::default();
        let mut rest = raw.trim_start();
        while !rest.is_empty() {
            // A filter's value may be quoted: `from:"Ada Lovelace"`.
            let filter = ["from:", "in:"]
                .into_iter()
                .find(|f| rest.starts_with(f) && rest.len() > f.len());
            if let Some(filter) = filter {
                rest = &rest[filter.len()..];
            }
            let (piece, quoted, after) = match rest.strip_prefix('"') {
                Some(inner) => {
                    let end = inner.find('"').unwrap_or(inner.len());
                    (&inner[..end], true, inner.get(end + 1..).unwrap_or(""))
                }
                None => {
                    let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
                    (&rest[..end], false, &rest[end..])
                }
            };
            rest = after.trim_start();
            match filter {
                Some("from:") => {
                    query.from = Some(piece.trim().trim_start_matches('@').to_string());
                    continue;
                }
                Some(_) => {
                    query.room = Some(piece.trim().trim_start_matches('#').to_lowercase());
                    continue;
                }
                None => {}
            }
            let prefix = !quoted && piece.ends_with('*');
            let words = words(piece);
            let Some(last) = words.last() else {
                continue;
            };
            let prefix = prefix && last.chars().count() >= MIN_PREFIX_CHARS;
            query.terms.push(Term { words, prefix });
        }
        let count: usize = query.terms.iter().map(|t| t.words.len()).sum();
        if count > MAX_SEARCH_WORDS {
            return Err(invalid(format!(
                "a search has at most {MAX_SEARCH_WORDS} words"
            )));
        }
        if query.terms.is_empty() {
            return Err(invalid(
                "search for at least one word (from: and in: narrow a search of words)".into(),
            ));
        }
        Ok(query)
    }

    /// The full-text expression for SQLite's FTS5: every term quoted, so nothing a person
    /// types is read as FTS5's own syntax (columns, `NEAR`, `OR`).
    pub fn fts5(&self) -> String {
        let mut out = String::new();
        for term in &self.terms {
            if !out.is_empty() {
                out.push(' ');
            }
            // Words hold only letters and digits: no quote to escape.
            out.push('"');
            out.push_str(&term.words.join(" "));
            out.push('"');
            if term.prefix {
                out.push_str(" *");
            }
        }
        out
    }

    /// Whether `text` (as shown) holds every term: the search without an index that cluster mode
    /// runs over the recent messages Redis keeps. Case does not count; accents do here (the
    /// index folds them, this has no Unicode tables to).
    pub fn matches(&self, text: &str) -> bool {
        let found = words(text);
        self.terms.iter().all(|term| {
            let last = term.words.len() - 1;
            found.windows(term.words.len()).any(|run| {
                run.iter()
                    .zip(&term.words)
                    .enumerate()
                    .all(|(n, (word, wanted))| {
                        if n == last && term.prefix {
                            word.starts_with(wanted.as_str())
                        } else {
                            word == wanted
                        }
                    })
            })
        })
    }

    /// Whether `word` (lowercase) is one of the words searched for.
    fn hits(&self, word: &str) -> bool {
        self.terms.iter().any(|term| {
            let last = term.words.len() - 1;
            term.words.iter().enumerate().any(|(n, wanted)| {
                if n == last && term.prefix {
                    word.starts_with(wanted.as_str())
                } else {
                    word == wanted
                }
            })
        })
    }
}

fn invalid(why: String) -> FrameError {
    FrameError::new(ErrorCode::InvalidFrame, why)
}

/// The words of `text` as the index sees them: runs of letters and digits, lowercase (accents
/// are the index's business: it ignores them).
pub fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

/// At most [`SNIPPET_CHARS`] of `shown` (a message as shown: without its formatting markers)
/// around its first word that `query` searches for, on one line, as runs: `(text, HIT)` for a
/// matching word, `(text, 0)` for the rest. A cut end gets "…".
pub fn snippet(shown: &str, query: &Query) -> Vec<(String, u8)> {
    // Every word with where it is, in characters.
    let chars: Vec<char> = shown
        .chars()
        .map(|c| if c.is_whitespace() { ' ' } else { c })
        .collect();
    let mut spans = Vec::new();
    let mut at = 0;
    while at < chars.len() {
        if !chars[at].is_alphanumeric() {
            at += 1;
            continue;
        }
        let start = at;
        while at < chars.len() && chars[at].is_alphanumeric() {
            at += 1;
        }
        let word: String = chars[start..at].iter().collect::<String>().to_lowercase();
        if query.hits(&word) {
            spans.push((start, at));
        }
    }
    // Some context before the first match, starting at a word.
    let lead = SNIPPET_CHARS / 4;
    let mut start = spans.first().map_or(0, |&(s, _)| s.saturating_sub(lead));
    while start > 0 && chars[start - 1] != ' ' && spans.first().is_some_and(|&(s, _)| start < s) {
        start += 1;
    }
    let end = (start + SNIPPET_CHARS).min(chars.len());
    let mut out: Vec<(String, u8)> = Vec::new();
    let mut push = |text: String, style: u8| match out.last_mut() {
        Some((last, last_style)) if *last_style == style => last.push_str(&text),
        _ if text.is_empty() => {}
        _ => out.push((text, style)),
    };
    if start > 0 {
        push("…".into(), 0);
    }
    let mut at = start;
    for &(s, e) in spans.iter().filter(|&&(s, _)| s >= start && s < end) {
        let e = e.min(end);
        push(chars[at..s].iter().collect(), 0);
        push(chars[s..e].iter().collect(), HIT);
        at = e;
    }
    push(chars[at..end].iter().collect(), 0);
    if end < chars.len() {
        push("…".into(), 0);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn term(words: &[&str], prefix: bool) -> Term {
        Term {
            words: words.iter().map(|w| w.to_string()).collect(),
            prefix,
        }
    }

    #[test]
    fn a_search_reads_words_prefixes_phrases_and_filters() {
        let q = Query::parse(r#"Deploy fri* "went fine" from:@Ann in:#Ops"#).unwrap();
        assert_eq!(
            Query::parse(r#"from:"Ada Lovelace" x"#)
                .unwrap()
                .from
                .as_deref(),
            Some("Ada Lovelace")
        );
        assert_eq!(
            q.terms,
            [
                term(&["deploy"], false),
                term(&["fri"], true),
                term(&["went", "fine"], false)
            ]
        );
        assert_eq!(q.from.as_deref(), Some("Ann"));
        assert_eq!(q.room.as_deref(), Some("ops"));
        assert_eq!(q.fts5(), r#""deploy" "fri" * "went fine""#);
        // Punctuation splits words as the index does; a short prefix is a whole word.
        let q = Query::parse("don't a*").unwrap();
        assert_eq!(q.terms, [term(&["don", "t"], false), term(&["a"], false)]);
    }

    #[test]
    fn a_message_matches_when_it_holds_every_term() {
        let query = Query::parse(r#"deploy* "went fine" friday"#).unwrap();
        assert!(query.matches("Friday: the deployment went fine!"));
        assert!(query.matches("DEPLOYED friday, it went fine"));
        assert!(
            !query.matches("friday deployment went very fine"),
            "a phrase is one run"
        );
        assert!(!query.matches("the deployment went fine"), "every term");
        assert!(
            !query.matches("friday redeploy went fine"),
            "a prefix starts a word"
        );
        assert!(Query::parse("fine").unwrap().matches("fine"));
        assert!(!Query::parse("fine").unwrap().matches("finest"));
    }

    #[test]
    fn nothing_typed_is_read_as_fts5_syntax() {
        let q = Query::parse(r#"text:x OR NEAR(a b) "unclosed ^ - quote"#).unwrap();
        assert_eq!(q.fts5(), r#""text x" "or" "near a" "b" "unclosed quote""#);
    }

    #[test]
    fn an_empty_long_or_wordy_search_is_refused() {
        for bad in [
            "",
            "  ",
            "from:ann",
            "!!! ***",
            &"a".repeat(MAX_SEARCH_CHARS + 1),
            "a b c d e f g h i",
        ] {
            let err = Query::parse(bad).unwrap_err();
            assert_eq!(err.code, ErrorCode::InvalidFrame, "{bad:?}");
        }
    }

    #[test]
    fn a_snippet_marks_the_matching_words_around_the_first() {
        let q = Query::parse("deploy*").unwrap();
        let runs = snippet("We Deployed it.\nThe deploy went fine", &q);
        assert_eq!(
            runs,
            [
                ("We ".to_string(), 0),
                ("Deployed".to_string(), HIT),
                (" it. The ".to_string(), 0),
                ("deploy".to_string(), HIT),
                (" went fine".to_string(), 0),
            ]
        );
        // A long text is cut around the first match, at a word.
        let long = format!("{} needle {}", "word ".repeat(100), "tail ".repeat(100));
        let runs = snippet(&long, &Query::parse("needle").unwrap());
        let text: String = runs.iter().map(|(t, _)| t.as_str()).collect();
        assert!(text.starts_with("…word "), "{text}");
        assert!(text.ends_with('…'), "{text}");
        assert!(text.chars().count() <= SNIPPET_CHARS + 2);
        assert!(runs.contains(&("needle".to_string(), HIT)));
        // Markup stays text.
        let runs = snippet("<b>bold</b>", &Query::parse("bold").unwrap());
        assert_eq!(runs[0], ("<b>".to_string(), 0));
    }
}
