//! The message Markdown parser on any text: never a panic, quotes and spans no deeper than
//! their limits, and only `https://` addresses as links; in the runs a message carries too
//! (`format`), whose quote depth fits its bits and whose text is never longer than the message.
#![no_main]

use chat_shared::markdown::{parse, runs, style, Block, Inline, MAX_INLINE_DEPTH, MAX_QUOTE_DEPTH};
use libfuzzer_sys::fuzz_target;

fn check_inlines(inlines: &[Inline], depth: usize) {
    assert!(depth <= MAX_INLINE_DEPTH);
    for piece in inlines {
        match piece {
            Inline::Strong(inner) | Inline::Emphasis(inner) => check_inlines(inner, depth + 1),
            Inline::Link(url) => assert!(url.starts_with("https://") && url.len() > 8, "{url}"),
            _ => {}
        }
    }
}

fn check_blocks(blocks: &[Block], depth: usize) {
    assert!(depth <= MAX_QUOTE_DEPTH);
    for block in blocks {
        match block {
            Block::Paragraph(inlines) => check_inlines(inlines, 0),
            Block::Quote(inner) => check_blocks(inner, depth + 1),
            Block::Code(_) => {}
        }
    }
}

fuzz_target!(|text: &str| {
    check_blocks(&parse(text), 0);
    if let Some(runs) = runs(text) {
        let mut shown = 0;
        for (piece, bits) in &runs {
            shown += piece.len();
            if bits & style::LINK != 0 {
                assert!(piece.starts_with("https://") && piece.len() > 8, "{piece}");
            }
            assert!(usize::from(bits / style::QUOTE) <= MAX_QUOTE_DEPTH, "{bits}");
        }
        // Markers are dropped and line breaks kept: never more text than was written.
        assert!(shown <= text.len(), "{shown} > {}", text.len());
    }
});
