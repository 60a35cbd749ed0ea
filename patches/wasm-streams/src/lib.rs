//! The two bridges Leptos' server functions need between a Rust [`Stream`] and the browser's
//! `ReadableStream`, standing in for the `wasm-streams` crate through `[patch.crates-io]` in the
//! root `Cargo.toml`.
//!
//! Why not the crate itself: `wasm-streams` hands its stream sources and sinks to JavaScript as
//! exported classes (`#[wasm_bindgen]` structs), and an export keeps its code, and all the code
//! it reaches, in the module whether anything calls it or not. Leptos always links the browser
//! client of `server_fn`, and with it those classes, although this page has no server functions.
//! Measured on the page's release build, they were 5.8 KB of its 124.5 KB gzip WebAssembly
//! (BENCHMARKS.md), and neither Leptos' features nor wasm-opt can drop them (removing the exports
//! after linking leaves their code in the function table). These bridges give the browser plain
//! closures instead, which the linker drops along with the code that would create them.
//!
//! Only what `server_fn` 0.8 calls is here: [`ReadableStream::from_stream`] and
//! [`ReadableStream::into_raw`] for a streaming request body, [`ReadableStream::from_raw`] and
//! [`ReadableStream::into_stream`] for a streaming response. Tested under Node
//! (`tests/streams.rs`).

use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{ready, Context, Poll};

use futures_util::future::poll_fn;
use futures_util::Stream;
use js_sys::Promise;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::{future_to_promise, JsFuture};
use web_sys::{
    QueuingStrategy, ReadableStreamDefaultController, ReadableStreamDefaultReader,
    ReadableStreamReadResult, UnderlyingSource,
};

/// A browser `ReadableStream`, on its way to or from a Rust [`Stream`].
pub struct ReadableStream {
    raw: web_sys::ReadableStream,
}

/// The Rust stream behind a `ReadableStream` made by [`ReadableStream::from_stream`]; `None` once
/// it has ended, failed or been cancelled, so that it is dropped as soon as nobody reads it.
type Source = Rc<RefCell<Option<Pin<Box<dyn Stream<Item = Result<JsValue, JsValue>>>>>>>;

impl ReadableStream {
    /// Wraps a stream the browser made (a `fetch` response's body).
    pub fn from_raw(raw: web_sys::ReadableStream) -> Self {
        Self { raw }
    }

    /// A `ReadableStream` that yields `stream`'s items as its chunks, pulling one item each time
    /// the reader asks (no queue of its own: the Rust stream decides how much to buffer). An
    /// `Err` item errors the stream with that value; cancelling it drops `stream`.
    pub fn from_stream<St>(stream: St) -> Self
    where
        St: Stream<Item = Result<JsValue, JsValue>> + 'static,
    {
        let source: Source = Rc::new(RefCell::new(Some(Box::pin(stream))));
        let pulled = Rc::clone(&source);
        let pull = Closure::<dyn FnMut(ReadableStreamDefaultController) -> Promise>::new(
            move |controller| future_to_promise(pull_next(Rc::clone(&pulled), controller)),
        );
        let cancel = Closure::<dyn FnMut(JsValue)>::new(move |_reason: JsValue| {
            if let Ok(mut stream) = source.try_borrow_mut() {
                stream.take();
            }
        });
        let underlying = UnderlyingSource::new();
        // The browser owns both functions from here on; they go when the stream is collected.
        underlying.set_pull(pull.into_js_value().unchecked_ref());
        underlying.set_cancel(cancel.into_js_value().unchecked_ref());
        let strategy = QueuingStrategy::new();
        strategy.set_high_water_mark(0.0);
        let raw = web_sys::ReadableStream::new_with_underlying_source_and_strategy(
            &underlying,
            &strategy,
        )
        // The constructor throws only for a source or strategy of the wrong shape.
        .unwrap_throw();
        Self { raw }
    }

    /// The browser's stream, to hand to `fetch` or to JavaScript.
    pub fn into_raw(self) -> web_sys::ReadableStream {
        self.raw
    }

    /// A Rust stream of the chunks read from this one, ending when it closes. An error of the
    /// browser's stream, or a stream that another reader already holds, comes out as one `Err`
    /// item and ends the stream. Dropping it before the end cancels the browser's stream.
    pub fn into_stream(self) -> IntoStream {
        match ReadableStreamDefaultReader::new(&self.raw) {
            Ok(reader) => IntoStream {
                reader: Some(reader),
                read: None,
            },
            // No reader: the refusal is the one read there will be.
            Err(error) => IntoStream {
                reader: None,
                read: Some(JsFuture::from(Promise::reject(&error))),
            },
        }
    }
}

/// One pull of a [`ReadableStream::from_stream`] stream: waits for the Rust stream's next item
/// and enqueues it, closes the stream at its end, or rejects (which errors the stream).
async fn pull_next(
    source: Source,
    controller: ReadableStreamDefaultController,
) -> Result<JsValue, JsValue> {
    // The borrow lasts for one poll, never across a wait: a cancel may come in between.
    let next = poll_fn(|cx| match source.borrow_mut().as_mut() {
        Some(stream) => stream.as_mut().poll_next(cx),
        None => Poll::Ready(None),
    })
    .await;
    match next {
        Some(Ok(chunk)) => controller.enqueue_with_chunk(&chunk)?,
        Some(Err(error)) => {
            source.borrow_mut().take();
            return Err(error);
        }
        None => {
            source.borrow_mut().take();
            controller.close()?;
        }
    }
    Ok(JsValue::UNDEFINED)
}

/// The Rust side of [`ReadableStream::into_stream`].
pub struct IntoStream {
    /// `None` once the stream has ended or failed (or never had a reader).
    reader: Option<ReadableStreamDefaultReader>,
    /// The read under way, if any.
    read: Option<JsFuture>,
}

impl IntoStream {
    fn finish(&mut self) {
        if let Some(reader) = self.reader.take() {
            reader.release_lock();
        }
    }
}

impl Stream for IntoStream {
    type Item = Result<JsValue, JsValue>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        // The read under way, or a new one while there is a reader.
        let new_read = || {
            this.reader
                .as_ref()
                .map(|reader| JsFuture::from(reader.read()))
        };
        let Some(read) = this.read.take().or_else(new_read) else {
            return Poll::Ready(None);
        };
        let read = this.read.insert(read);
        let outcome = ready!(Pin::new(read).poll(cx));
        this.read = None;
        match outcome {
            Ok(result) => {
                let result: ReadableStreamReadResult = result.unchecked_into();
                if result.get_done().unwrap_or(true) {
                    this.finish();
                    Poll::Ready(None)
                } else {
                    Poll::Ready(Some(Ok(result.get_value())))
                }
            }
            Err(error) => {
                this.finish();
                Poll::Ready(Some(Err(error)))
            }
        }
    }
}

impl Drop for IntoStream {
    fn drop(&mut self) {
        // Dropped before the end: tell the source nobody is reading any more.
        if let Some(reader) = self.reader.take() {
            let _ = reader.cancel();
        }
    }
}
