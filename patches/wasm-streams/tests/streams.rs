//! The stand-in's two bridges against Node's own `ReadableStream`, under wasm-bindgen-test-runner
//! (`scripts/test.sh`): what a Rust stream yields is read back in order, errors and ends come
//! through, a stream held by another reader is refused, and dropping the reader early cancels
//! (drops) the Rust stream behind it.
//!
//! Every wait is bounded by [`within`]: a read that never settles would otherwise leave Node with
//! nothing to do, and it exits with success before the remaining tests have run.
#![cfg(target_arch = "wasm32")]

use std::cell::Cell;
use std::future::Future;
use std::rc::Rc;

use futures_util::future::{select, Either};
use futures_util::{stream, StreamExt};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsValue;
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::wasm_bindgen_test;
use wasm_streams::ReadableStream;

fn chunks(values: &[f64]) -> Vec<Result<JsValue, JsValue>> {
    values.iter().map(|v| Ok(JsValue::from_f64(*v))).collect()
}

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_name = setTimeout)]
    fn set_timeout(callback: &js_sys::Function, ms: i32);
}

/// `future`'s output, or a failed test if it has not come within a second.
async fn within<F: Future + Unpin>(future: F) -> F::Output {
    let timer = js_sys::Promise::new(&mut |resolve, _| set_timeout(&resolve, 1_000));
    match select(future, JsFuture::from(timer)).await {
        Either::Left((output, _)) => output,
        Either::Right(_) => panic!("no answer within a second: the stream hangs"),
    }
}

async fn read_all(raw: web_sys::ReadableStream) -> Vec<Result<JsValue, JsValue>> {
    within(ReadableStream::from_raw(raw).into_stream().collect()).await
}

#[wasm_bindgen_test]
async fn a_rust_stream_reads_back_in_order_and_ends() {
    let raw = ReadableStream::from_stream(stream::iter(chunks(&[1.0, 2.0, 3.0]))).into_raw();
    let read = read_all(raw).await;
    assert_eq!(read, chunks(&[1.0, 2.0, 3.0]));
}

#[wasm_bindgen_test]
async fn an_empty_stream_closes_at_once() {
    let raw = ReadableStream::from_stream(stream::iter(chunks(&[]))).into_raw();
    assert!(read_all(raw).await.is_empty());
}

#[wasm_bindgen_test]
async fn an_error_errors_the_browser_stream_and_ends_the_rust_one() {
    let items = vec![
        Ok(JsValue::from_str("first")),
        Err(JsValue::from_str("broken")),
        Ok(JsValue::from_str("never read")),
    ];
    let raw = ReadableStream::from_stream(stream::iter(items)).into_raw();
    let read = read_all(raw).await;
    assert_eq!(
        read,
        vec![
            Ok(JsValue::from_str("first")),
            Err(JsValue::from_str("broken"))
        ]
    );
}

#[wasm_bindgen_test]
async fn a_stream_another_reader_holds_is_refused_once() {
    let raw = ReadableStream::from_stream(stream::iter(chunks(&[1.0]))).into_raw();
    let _holder = raw.get_reader();
    let read = read_all(raw).await;
    assert_eq!(read.len(), 1);
    assert!(read[0].is_err());
}

/// Counts its drop, to see the Rust stream go when the reader loses interest.
struct DropFlag(Rc<Cell<bool>>);

impl Drop for DropFlag {
    fn drop(&mut self) {
        self.0.set(true);
    }
}

#[wasm_bindgen_test]
async fn dropping_the_reader_early_drops_the_rust_stream() {
    let dropped = Rc::new(Cell::new(false));
    let flag = DropFlag(Rc::clone(&dropped));
    let endless = stream::repeat(0.0).map(move |v| {
        let _keep = &flag;
        Ok(JsValue::from_f64(v))
    });
    let raw = ReadableStream::from_stream(endless).into_raw();
    let mut reader = ReadableStream::from_raw(raw).into_stream();
    assert_eq!(
        within(reader.next()).await,
        Some(Ok(JsValue::from_f64(0.0)))
    );
    assert!(!dropped.get());
    drop(reader);
    // The cancel reaches the source in a later turn of the event loop.
    let turn = js_sys::Promise::resolve(&JsValue::UNDEFINED);
    for _ in 0..3 {
        JsFuture::from(turn.clone()).await.ok();
    }
    assert!(dropped.get(), "the Rust stream is dropped after a cancel");
}
