//! The Markdown subset messages are written in (issue 24), parsed into a tree, and flattened
//! into the runs of text a message carries ([`runs`]) for the page and the server's render to
//! turn into DOM nodes: never into an HTML string, so nothing in a message can become markup.
//! One parser, here, run by the server: the page only shows the runs (a parser in the page's
//! WebAssembly would cost it 4.8 KB gzip, BENCHMARKS.md).
//!
//! Blocks: paragraphs (every line break kept), fenced code blocks (```` ``` ```` lines; an
//! unclosed fence runs to the end), block quotes (`> `, nested at most [`MAX_QUOTE_DEPTH`]
//! deep; deeper markers stay text). Inline: `**strong**`, `*emphasis*`, `` `code` `` (any run of
//! backticks, closed by a run as long), and `https://` addresses made links (any other scheme,
//! `javascript:` and `data:` included, stays text). A backslash before a marker keeps it as
//! text, and `*`/`**` spans nest at most [`MAX_INLINE_DEPTH`] deep. An unclosed marker is read
//! again as text, so a line of many unclosed markers costs time quadratic in its length: at most
//! 2000 characters, a few million steps at worst.

/// A block of a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Block {
    /// Lines of inline content; [`Inline::Break`] between them.
    Paragraph(Vec<Inline>),
    /// A fenced code block's lines, as they are.
    Code(String),
    /// A block quote's own blocks.
    Quote(Vec<Block>),
}

/// A piece of a paragraph.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Inline {
    /// Plain text, shown as it is.
    Text(String),
    /// `**strong**`.
    Strong(Vec<Inline>),
    /// `*emphasis*`.
    Emphasis(Vec<Inline>),
    /// `` `code` ``, as it is.
    Code(String),
    /// An `https://` address, shown as itself and linked to itself.
    Link(String),
    /// A line break inside a paragraph.
    Break,
}

/// Deepest block quote nesting; a `>` beyond it is text.
pub const MAX_QUOTE_DEPTH: usize = 4;

/// The blocks of `text`.
pub fn parse(text: &str) -> Vec<Block> {
    let lines: Vec<&str> = text.lines().collect();
    blocks(&lines, 0)
}

/// The blocks of `lines`, inside `depth` quotes.
fn blocks(lines: &[&str], depth: usize) -> Vec<Block> {
    let mut out = Vec::new();
    let mut paragraph: Vec<&str> = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        if is_fence(line) {
            flush(&mut paragraph, &mut out);
            let end = lines[i + 1..]
                .iter()
                .position(|l| is_fence(l))
                .map_or(lines.len(), |n| i + 1 + n);
            out.push(Block::Code(lines[i + 1..end].join("\n")));
            i = end + 1;
            continue;
        }
        if depth < MAX_QUOTE_DEPTH && quoted(line).is_some() {
            flush(&mut paragraph, &mut out);
            let start = i;
            while i < lines.len() && quoted(lines[i]).is_some() && !is_fence(lines[i]) {
                i += 1;
            }
            let inner: Vec<&str> = lines[start..i].iter().filter_map(|l| quoted(l)).collect();
            out.push(Block::Quote(blocks(&inner, depth + 1)));
            continue;
        }
        if line.trim().is_empty() {
            flush(&mut paragraph, &mut out);
        } else {
            paragraph.push(line);
        }
        i += 1;
    }
    flush(&mut paragraph, &mut out);
    out
}

fn is_fence(line: &str) -> bool {
    line.trim_start().starts_with("```")
}

/// The rest of a block quote's line (`> text` or `>text`).
fn quoted(line: &str) -> Option<&str> {
    let rest = line.trim_start().strip_prefix('>')?;
    Some(rest.strip_prefix(' ').unwrap_or(rest))
}

/// Ends the paragraph being gathered, if any.
fn flush(paragraph: &mut Vec<&str>, out: &mut Vec<Block>) {
    if paragraph.is_empty() {
        return;
    }
    let mut inlines = Vec::new();
    for (n, line) in paragraph.drain(..).enumerate() {
        if n > 0 {
            inlines.push(Inline::Break);
        }
        inlines.extend(inline(line));
    }
    out.push(Block::Paragraph(inlines));
}

/// The inline pieces of one line.
pub fn inline(line: &str) -> Vec<Inline> {
    let chars: Vec<char> = line.chars().collect();
    let mut parser = Inlines { chars, pos: 0 };
    parser.run(None, 0).0
}

/// Deepest nesting of `*` and `**` spans; a marker beyond it is text.
pub const MAX_INLINE_DEPTH: usize = 4;

struct Inlines {
    chars: Vec<char>,
    pos: usize,
}

impl Inlines {
    /// Pieces up to the closing `until` marker (`*` or `**`) or the end of the line, and
    /// whether the marker closed them.
    fn run(&mut self, until: Option<&'static str>, depth: usize) -> (Vec<Inline>, bool) {
        let mut out = Vec::new();
        let mut text = String::new();
        while self.pos < self.chars.len() {
            if let Some(end) = until {
                // `*` closes on a single star, not on the first of two.
                if self.at(end) && (end == "**" || !self.at("**")) {
                    self.pos += end.len();
                    push_text(&mut out, &mut text);
                    return (out, true);
                }
            }
            let c = self.chars[self.pos];
            match c {
                '\\' if self.chars.get(self.pos + 1).is_some_and(|c| is_marker(*c)) => {
                    text.push(self.chars[self.pos + 1]);
                    self.pos += 2;
                }
                '`' => match self.code_span() {
                    Some(code) => {
                        push_text(&mut out, &mut text);
                        out.push(Inline::Code(code));
                    }
                    None => {
                        // A run with no closing run as long: all of it is text.
                        let run = self.run_length('`');
                        text.extend(std::iter::repeat_n('`', run));
                        self.pos += run;
                    }
                },
                '*' => {
                    let marker = if self.at("**") { "**" } else { "*" };
                    let start = self.pos;
                    self.pos += marker.len();
                    let opens = depth < MAX_INLINE_DEPTH
                        && self.chars.get(self.pos).is_some_and(|c| !c.is_whitespace());
                    if !opens {
                        text.push_str(marker);
                        continue;
                    }
                    let (inner, closed) = self.run(Some(marker), depth + 1);
                    if closed && !inner.is_empty() {
                        push_text(&mut out, &mut text);
                        out.push(if marker == "**" {
                            Inline::Strong(inner)
                        } else {
                            Inline::Emphasis(inner)
                        });
                    } else {
                        // Not closed: the marker is text, and what followed is read again as
                        // if it were not there.
                        self.pos = start + marker.len();
                        text.push_str(marker);
                    }
                }
                'h' if self.at("https://") => {
                    let start = self.pos;
                    let mut end = start;
                    while end < self.chars.len() && is_url_char(self.chars[end]) {
                        end += 1;
                    }
                    // Punctuation that ends a sentence is not part of the address.
                    while end > start + 8 && ".,;:!?)'\"".contains(self.chars[end - 1]) {
                        end -= 1;
                    }
                    if end > start + 8 {
                        push_text(&mut out, &mut text);
                        out.push(Inline::Link(self.chars[start..end].iter().collect()));
                        self.pos = end;
                    } else {
                        text.push(c);
                        self.pos += 1;
                    }
                }
                _ => {
                    text.push(c);
                    self.pos += 1;
                }
            }
        }
        push_text(&mut out, &mut text);
        (out, false)
    }

    fn at(&self, marker: &str) -> bool {
        marker
            .chars()
            .enumerate()
            .all(|(i, m)| self.chars.get(self.pos + i) == Some(&m))
    }

    fn run_length(&self, c: char) -> usize {
        self.chars[self.pos..]
            .iter()
            .take_while(|x| **x == c)
            .count()
    }

    /// A code span starting here: the text up to a run of exactly as many backticks.
    fn code_span(&mut self) -> Option<String> {
        let open = self.run_length('`');
        let mut i = self.pos + open;
        while i < self.chars.len() {
            if self.chars[i] == '`' {
                let run = self.chars[i..].iter().take_while(|x| **x == '`').count();
                if run == open {
                    let code: String = self.chars[self.pos + open..i].iter().collect();
                    self.pos = i + run;
                    return Some(code);
                }
                i += run;
            } else {
                i += 1;
            }
        }
        None
    }
}

fn push_text(out: &mut Vec<Inline>, text: &mut String) {
    if !text.is_empty() {
        out.push(Inline::Text(std::mem::take(text)));
    }
}

fn is_marker(c: char) -> bool {
    matches!(c, '*' | '`' | '\\' | '>' | '_')
}

fn is_url_char(c: char) -> bool {
    !c.is_whitespace() && !c.is_control() && !matches!(c, '<' | '>' | '"' | '`')
}

/// What a run of a message's text looks like, as bits (see [`Run`]).
pub mod style {
    /// `**strong**`.
    pub const STRONG: u8 = 1;
    /// `*emphasis*`.
    pub const EMPHASIS: u8 = 2;
    /// `` `code` ``.
    pub const CODE: u8 = 4;
    /// An `https://` address, linked to itself.
    pub const LINK: u8 = 8;
    /// A fenced code block's text.
    pub const CODE_BLOCK: u8 = 16;
    /// The quote depth (1 to 4) times this: inside that many block quotes.
    pub const QUOTE: u8 = 32;
}

/// A piece of a message's text as shown: the characters, and how they look ([`style`] bits).
/// A message's runs, one after another, are its text without the markers.
pub type Run = (String, u8);

/// The runs of `text`, or `None` when it has no formatting (shown as it is).
pub fn runs(text: &str) -> Option<Vec<Run>> {
    if !text.contains(['*', '`', '>', '\\']) && !text.contains("https://") {
        return None;
    }
    let mut out = Vec::new();
    flatten(&parse(text), 0, &mut out);
    let plain = match out.as_slice() {
        [] => true,
        [(shown, 0)] => shown == text,
        _ => false,
    };
    (!plain).then_some(out)
}

/// Appends `text` in `style`, joined to the run before if it looks the same.
fn push(out: &mut Vec<Run>, text: &str, style: u8) {
    match out.last_mut() {
        Some((last, last_style)) if *last_style == style && style & style::LINK == 0 => {
            last.push_str(text)
        }
        _ => out.push((text.to_string(), style)),
    }
}

fn flatten(blocks: &[Block], quote: u8, out: &mut Vec<Run>) {
    let outer = quote * style::QUOTE;
    for (n, block) in blocks.iter().enumerate() {
        if n > 0 {
            push(out, "\n", outer);
        }
        match block {
            Block::Paragraph(inlines) => flatten_inline(inlines, outer, out),
            Block::Code(code) => push(out, code, outer | style::CODE_BLOCK),
            Block::Quote(inner) => flatten(inner, quote + 1, out),
        }
    }
}

fn flatten_inline(inlines: &[Inline], style: u8, out: &mut Vec<Run>) {
    for piece in inlines {
        match piece {
            Inline::Text(text) => push(out, text, style),
            Inline::Break => push(out, "\n", style),
            Inline::Code(code) => push(out, code, style | style::CODE),
            Inline::Link(url) => push(out, url, style | style::LINK),
            Inline::Strong(inner) => flatten_inline(inner, style | style::STRONG, out),
            Inline::Emphasis(inner) => flatten_inline(inner, style | style::EMPHASIS, out),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Inline::*;

    fn text(s: &str) -> Inline {
        Text(s.into())
    }

    fn para(inlines: Vec<Inline>) -> Block {
        Block::Paragraph(inlines)
    }

    #[test]
    fn the_inline_markers_each_make_their_piece() {
        assert_eq!(
            inline("**a** *b* `c` see https://example.org/p?q=1."),
            vec![
                Strong(vec![text("a")]),
                text(" "),
                Emphasis(vec![text("b")]),
                text(" "),
                Code("c".into()),
                text(" see "),
                Link("https://example.org/p?q=1".into()),
                text("."),
            ]
        );
        assert_eq!(
            inline("**bold *and emphasis* too**"),
            vec![Strong(vec![
                text("bold "),
                Emphasis(vec![text("and emphasis")]),
                text(" too")
            ])]
        );
        // Backticks: a run closed by a run as long; inside, markers are text.
        assert_eq!(inline("``a ` **b**``"), vec![Code("a ` **b**".into())]);
    }

    #[test]
    fn what_is_not_closed_or_escaped_stays_text() {
        assert_eq!(inline("**bold"), vec![text("**bold")]);
        assert_eq!(inline("2 * 3 * 4"), vec![text("2 * 3 * 4")]);
        assert_eq!(inline("a *b"), vec![text("a *b")]);
        assert_eq!(inline(r"\*not\* \`code\`"), vec![text("*not* `code`")]);
        assert_eq!(inline("``` no close"), vec![text("``` no close")]);
        assert_eq!(
            inline("plain words, nothing else"),
            vec![text("plain words, nothing else")]
        );
    }

    #[test]
    fn blocks_keep_lines_fences_and_quotes() {
        assert_eq!(
            parse("one\ntwo\n\nthree"),
            vec![
                para(vec![text("one"), Break, text("two")]),
                para(vec![text("three")])
            ]
        );
        assert_eq!(
            parse("```rust\nfn main() {\n  **x**\n}\n```\nafter"),
            vec![
                Block::Code("fn main() {\n  **x**\n}".into()),
                para(vec![text("after")])
            ]
        );
        // An unclosed fence runs to the end.
        assert_eq!(parse("```\ncode"), vec![Block::Code("code".into())]);
        assert_eq!(
            parse("> said\n> > earlier\nreply"),
            vec![
                Block::Quote(vec![
                    para(vec![text("said")]),
                    Block::Quote(vec![para(vec![text("earlier")])])
                ]),
                para(vec![text("reply")])
            ]
        );
    }

    /// The deepest quote nesting in `blocks`.
    fn quote_depth(blocks: &[Block]) -> usize {
        blocks
            .iter()
            .map(|b| match b {
                Block::Quote(inner) => 1 + quote_depth(inner),
                _ => 0,
            })
            .max()
            .unwrap_or(0)
    }

    /// Every link in `inlines` (recursively).
    fn links(inlines: &[Inline], out: &mut Vec<String>) {
        for piece in inlines {
            match piece {
                Link(url) => out.push(url.clone()),
                Strong(inner) | Emphasis(inner) => links(inner, out),
                _ => {}
            }
        }
    }

    fn all_links(blocks: &[Block]) -> Vec<String> {
        let mut out = Vec::new();
        for block in blocks {
            match block {
                Block::Paragraph(inlines) => links(inlines, &mut out),
                Block::Quote(inner) => out.extend(all_links(inner)),
                Block::Code(_) => {}
            }
        }
        out
    }

    #[test]
    fn hostile_texts_are_text_and_stay_bounded() {
        let backticks = "`".repeat(2000);
        let quotes = format!("{}x", "> ".repeat(1000));
        let stars = "*a ".repeat(600) + &"**b".repeat(200);
        let hostile = [
            "<script>alert(1)</script>",
            "<img src=x onerror=alert(1)>",
            "[click](javascript:alert(1))",
            "javascript:alert(1)",
            "data:text/html,<script>alert(1)</script>",
            "http://plain.example and ftp://x.example",
            "https://",
            "https://\"onmouseover=alert(1)",
            backticks.as_str(),
            quotes.as_str(),
            stars.as_str(),
            "```\n<script>\n",
        ];
        for input in hostile {
            let blocks = parse(input);
            // Only https:// addresses become links, and never with a quote or bracket in them.
            for url in all_links(&blocks) {
                assert!(url.starts_with("https://") && url.len() > 8, "{url}");
                assert!(!url.contains(['"', '<', '>', '`']), "{url}");
            }
            assert!(quote_depth(&blocks) <= MAX_QUOTE_DEPTH, "{input:.40}");
        }
        // Markup is kept as the characters it is.
        assert_eq!(parse("<b>x</b>"), vec![para(vec![text("<b>x</b>")])]);
        // 2000 backticks: as a line of its own, an (unclosed, empty) fence; inside a line, text.
        assert_eq!(parse(&backticks), vec![Block::Code(String::new())]);
        assert_eq!(
            inline(&format!("x{backticks}")),
            vec![text(&format!("x{backticks}"))]
        );
    }

    #[test]
    fn runs_are_the_text_without_its_markers() {
        use super::style::*;
        assert_eq!(runs("plain words"), None);
        assert_eq!(runs("2 * 3 = 6, **not closed"), None);
        assert_eq!(
            runs("**a** *b* `c` https://x.example/p."),
            Some(vec![
                ("a".into(), STRONG),
                (" ".into(), 0),
                ("b".into(), EMPHASIS),
                (" ".into(), 0),
                ("c".into(), CODE),
                (" ".into(), 0),
                ("https://x.example/p".into(), LINK),
                (".".into(), 0),
            ])
        );
        assert_eq!(
            runs("> said **so**\nreply\n```\nx = 1\n```"),
            Some(vec![
                ("said ".into(), QUOTE),
                ("so".into(), QUOTE | STRONG),
                ("\nreply\n".into(), 0),
                ("x = 1".into(), CODE_BLOCK),
            ])
        );
        // Only https:// addresses are links; markup stays the characters it is.
        let hostile = runs("[x](javascript:alert(1)) <img onerror=alert(1)> `<b>`").unwrap();
        assert!(hostile.iter().all(|(_, style)| style & LINK == 0));
        let shown: String = hostile.iter().map(|(text, _)| text.as_str()).collect();
        assert_eq!(shown, "[x](javascript:alert(1)) <img onerror=alert(1)> <b>");
    }
}
