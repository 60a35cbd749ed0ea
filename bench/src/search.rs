//! The `search` scenario: one client asks a database filled by `fanout --words` for words of
//! each frequency, one search at a time, and reports the time to each answer by kind of search
//! (issue 25's p50/p99 over a million messages).

use std::collections::BTreeMap;
use std::time::Instant;

use anyhow::{bail, Context};
use chat_shared::{encode_client, split_batch, ClientFrame, ServerFrame};
use clap::Args;
use serde::Serialize;
use tokio::io::AsyncWriteExt;

use crate::stats::{Latency, LatencySummary};
use crate::target::{source_address, Target};
use crate::words::{word, Picker};
use crate::wsclient::{connect, push_text_frame, Event, Reader};
use crate::Common;

/// What the scenario is asked to do.
#[derive(Debug, Clone, Args)]
pub struct SearchArgs {
    /// Searches of each kind.
    #[arg(long, default_value_t = 100)]
    pub per_kind: usize,
}

/// One kind of search: its timings and how much it found.
#[derive(Debug, Serialize)]
pub struct KindReport {
    searches: usize,
    /// Results per search, on average (a page holds at most 20).
    mean_results: f64,
    /// Searches whose page ended with a `next`.
    with_next: usize,
    latency: LatencySummary,
}

/// What it measured.
#[derive(Debug, Serialize)]
pub struct SearchReport {
    kinds: BTreeMap<&'static str, KindReport>,
    all: LatencySummary,
}

impl SearchReport {
    /// The summary printed without `--json`.
    pub fn human(&self) -> String {
        let mut out =
            String::from("kind          searches  results  next   p50 ms   p99 ms   max ms\n");
        for (kind, r) in &self.kinds {
            out += &format!(
                "{kind:<13} {:>8} {:>8.1} {:>5} {:>8.2} {:>8.2} {:>8.2}\n",
                r.searches,
                r.mean_results,
                r.with_next,
                r.latency.p50_ms,
                r.latency.p99_ms,
                r.latency.max_ms
            );
        }
        out += &format!(
            "all: p50 {:.2} ms  p99 {:.2} ms  max {:.2} ms\n",
            self.all.p50_ms, self.all.p99_ms, self.all.max_ms
        );
        out
    }
}

/// The kinds of search, each a way to make one from a picker: words ranked by frequency
/// (1 the most frequent of the vocabulary), a prefix, a phrase, a room.
const KINDS: [&str; 8] = [
    "common",
    "middle",
    "rare",
    "two-words",
    "prefix",
    "phrase",
    "in-room",
    "next-page",
];

fn query(kind: &str, picker: &mut Picker, rooms: usize) -> String {
    let mut between = |low: u64, high: u64| word(low + picker.below(high - low));
    match kind {
        "common" => between(1, 10),
        "middle" => between(100, 1000),
        "rare" => between(5000, 20_000),
        "two-words" => format!("{} {}", between(1, 10), between(100, 1000)),
        // Two syllables: every word that starts so (one in 400).
        "prefix" => format!("{}*", &between(1000, 20_000)[..4]),
        "phrase" => format!("\"{} {}\"", between(1, 10), between(1, 10)),
        "in-room" => {
            let w = between(10, 100);
            format!("{w} in:r{}", picker.below(rooms.max(1) as u64))
        }
        _ => between(1, 10),
    }
}

/// Runs the scenario.
pub async fn run(
    common: &Common,
    target: &Target,
    args: &SearchArgs,
) -> anyhow::Result<SearchReport> {
    let source = source_address(target, 0, common.sources);
    let mut stream = connect(target, &target.path, source, None).await?;
    let mut reader = Reader::default();
    let mut picker = Picker::new(42);
    let mut all = Latency::default();
    let mut kinds = BTreeMap::new();
    for kind in KINDS {
        let mut latency = Latency::default();
        let (mut results, mut with_next) = (0, 0);
        for _ in 0..args.per_kind {
            let q = query(kind, &mut picker, common.rooms);
            let mut before = None;
            if kind == "next-page" {
                // The page after the first: the index read from where the first stopped.
                before = ask(&mut stream, &mut reader, &q, None).await?.1;
            }
            let started = Instant::now();
            let (found, next) = ask(&mut stream, &mut reader, &q, before).await?;
            let ns = started.elapsed().as_nanos() as u64;
            latency.record_ns(ns);
            all.record_ns(ns);
            results += found;
            with_next += usize::from(next.is_some());
        }
        kinds.insert(
            kind,
            KindReport {
                searches: args.per_kind,
                mean_results: results as f64 / args.per_kind.max(1) as f64,
                with_next,
                latency: latency.summary(),
            },
        );
    }
    Ok(SearchReport {
        kinds,
        all: all.summary(),
    })
}

/// Sends one search and reads its answer: how many results, and the page's `next`.
async fn ask(
    stream: &mut tokio::net::TcpStream,
    reader: &mut Reader,
    q: &str,
    before: Option<u64>,
) -> anyhow::Result<(usize, Option<u64>)> {
    let mut buf = Vec::new();
    let frame = ClientFrame::Search {
        q: q.to_string(),
        before,
    };
    push_text_frame(&mut buf, encode_client(&frame)?.as_bytes());
    stream.write_all(&buf).await?;
    loop {
        match reader.next(stream).await? {
            Event::Text(payload) => {
                let text = std::str::from_utf8(payload).context("server sent invalid UTF-8")?;
                for frame in split_batch(text) {
                    match frame? {
                        ServerFrame::Results { results, next, .. } => {
                            return Ok((results.len(), next))
                        }
                        ServerFrame::Error(err) => bail!("search {q:?} refused: {}", err.message),
                        _ => {}
                    }
                }
            }
            Event::Ping(_) => {}
            Event::Closed => bail!("the server closed the connection"),
        }
    }
}
