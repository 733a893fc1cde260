//! The proxy's operational diagnostics as `tracing` events.
//!
//! Each control connection runs in a `session` span carrying the client's
//! address (`from`), each data-connection task in a child `data connection`
//! span (`at`: the channel's address as the tracker knows it, the one announced). Errors and
//! operational events are `warn!`/`info!` events; [`ObserverSubscriber`] renders
//! each one with the names and fields of the spans it happened in, outermost
//! first ("session from 127.0.0.1:40000: data connection at 127.0.0.1:50000: message"), and
//! hands the line to [`ProxyObserver::message`]: stderr, the TUI, the log's
//! summary get the peer from the span, never from a hand-formatted string.
//!
//! A small hand-written subscriber rather than `tracing-subscriber`: it only
//! needs span labels, parents and the per-thread stack of entered spans.

use std::cell::RefCell;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use rustc_hash::FxHashMap;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Level, Metadata, Subscriber};

use super::ProxyObserver;

/// Every subscriber's identity, for the per-thread stack of entered spans.
static NEXT_SUBSCRIBER: AtomicU64 = AtomicU64::new(1);

thread_local! {
    /// Entered spans on this thread: (subscriber, span id), innermost last.
    static ENTERED: RefCell<Vec<(u64, u64)>> = const { RefCell::new(Vec::new()) };
}

struct SpanData {
    parent: Option<u64>,
    /// "session from 127.0.0.1:40000": the span's name, then each field's name and value.
    label: String,
    refs: usize,
}

#[derive(Default)]
struct Spans {
    next: u64,
    live: FxHashMap<u64, SpanData>,
}

/// Forwards INFO and more severe events, prefixed with their spans' labels, to a
/// [`ProxyObserver`].
pub struct ObserverSubscriber {
    me: u64,
    sink: Arc<dyn ProxyObserver>,
    spans: Mutex<Spans>,
}

impl ObserverSubscriber {
    pub fn new(sink: Arc<dyn ProxyObserver>) -> Self {
        ObserverSubscriber {
            me: NEXT_SUBSCRIBER.fetch_add(1, Ordering::Relaxed),
            sink,
            spans: Mutex::default(),
        }
    }

    fn spans(&self) -> std::sync::MutexGuard<'_, Spans> {
        self.spans.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The innermost span of this subscriber entered on this thread.
    fn current(&self) -> Option<u64> {
        ENTERED.with(|s| {
            s.borrow()
                .iter()
                .rev()
                .find(|(sub, _)| *sub == self.me)
                .map(|&(_, id)| id)
        })
    }

    /// Drop one reference to `id`; the span goes (and releases its parent) at zero.
    fn release(spans: &mut Spans, id: u64) -> bool {
        let mut id = Some(id);
        let mut first = true;
        let mut closed = false;
        while let Some(i) = id.take() {
            let Some(d) = spans.live.get_mut(&i) else {
                break;
            };
            d.refs = d.refs.saturating_sub(1);
            if d.refs > 0 {
                break;
            }
            let parent = d.parent;
            spans.live.remove(&i);
            if first {
                closed = true;
            }
            first = false;
            id = parent;
        }
        closed
    }
}

/// Formats an event's or a span's fields: `message` as is, others as " name value".
#[derive(Default)]
struct Fields {
    message: String,
    rest: String,
}

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message.push_str(value);
        } else {
            let _ = write!(self.rest, " {} {value}", field.name());
        }
    }
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.message, "{value:?}");
        } else {
            let _ = write!(self.rest, " {} {value:?}", field.name());
        }
    }
}

impl Subscriber for ObserverSubscriber {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        *metadata.level() <= Level::INFO
    }

    fn max_level_hint(&self) -> Option<tracing::level_filters::LevelFilter> {
        Some(tracing::level_filters::LevelFilter::INFO)
    }

    fn new_span(&self, span: &Attributes<'_>) -> Id {
        let mut f = Fields::default();
        span.record(&mut f);
        let mut label = span.metadata().name().to_string();
        label.push_str(&f.rest);
        let parent = if span.is_root() {
            None
        } else if let Some(p) = span.parent() {
            Some(p.into_u64())
        } else {
            self.current()
        };
        let mut spans = self.spans();
        let parent = parent.filter(|p| spans.live.contains_key(p));
        if let Some(p) = parent.and_then(|p| spans.live.get_mut(&p)) {
            p.refs += 1;
        }
        spans.next += 1;
        let id = spans.next;
        spans.live.insert(
            id,
            SpanData {
                parent,
                label,
                refs: 1,
            },
        );
        Id::from_u64(id)
    }

    fn record(&self, span: &Id, values: &Record<'_>) {
        let mut f = Fields::default();
        values.record(&mut f);
        if let Some(d) = self.spans().live.get_mut(&span.into_u64()) {
            d.label.push_str(&f.rest);
        }
    }

    fn record_follows_from(&self, _span: &Id, _follows: &Id) {}

    fn event(&self, event: &Event<'_>) {
        let mut f = Fields::default();
        event.record(&mut f);
        let start = if event.is_root() {
            None
        } else if let Some(p) = event.parent() {
            Some(p.into_u64())
        } else {
            self.current()
        };
        let mut labels = Vec::new();
        {
            let spans = self.spans();
            let mut id = start;
            // Bounded: a parent is always older than its child.
            while let Some(d) = id.and_then(|i| spans.live.get(&i)) {
                labels.push(d.label.clone());
                id = d.parent;
            }
        }
        let mut line = String::new();
        for l in labels.iter().rev() {
            line.push_str(l);
            line.push_str(": ");
        }
        line.push_str(&f.message);
        line.push_str(&f.rest);
        self.sink.message(&line);
    }

    fn enter(&self, span: &Id) {
        ENTERED.with(|s| s.borrow_mut().push((self.me, span.into_u64())));
    }

    fn exit(&self, span: &Id) {
        let key = (self.me, span.into_u64());
        ENTERED.with(|s| {
            let mut s = s.borrow_mut();
            if let Some(i) = s.iter().rposition(|e| *e == key) {
                s.remove(i);
            }
        });
    }

    fn clone_span(&self, id: &Id) -> Id {
        if let Some(d) = self.spans().live.get_mut(&id.into_u64()) {
            d.refs += 1;
        }
        id.clone()
    }

    fn try_close(&self, id: Id) -> bool {
        Self::release(&mut self.spans(), id.into_u64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracing::Instrument;
    use tracing::instrument::WithSubscriber;

    #[derive(Default)]
    struct Collect(Mutex<Vec<String>>);
    impl ProxyObserver for Collect {
        fn message(&self, m: &str) {
            self.0.lock().unwrap().push(m.to_string());
        }
    }

    #[test]
    fn events_carry_their_spans_and_spans_are_freed() {
        let c = Arc::new(Collect::default());
        let sub = Arc::new(ObserverSubscriber::new(c.clone()));
        let d = tracing::Dispatch::from(sub.clone());
        let peer: std::net::SocketAddr = "127.0.0.1:40000".parse().unwrap();
        let to: std::net::SocketAddr = "127.0.0.1:50000".parse().unwrap();
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        rt.block_on(
            async move {
                tracing::info!("listening");
                let session = async move {
                    tracing::warn!("connection reset");
                    let data = async { tracing::warn!(code = 425, "refused") }
                        .instrument(tracing::info_span!("data connection", at = %to));
                    // Spawned tasks take the subscriber along, as the proxy's do.
                    tokio::spawn(data.with_current_subscriber()).await.unwrap();
                }
                .instrument(tracing::info_span!("session", from = %peer));
                session.await;
                tracing::debug!("not shown");
            }
            .with_subscriber(d),
        );
        assert_eq!(
            *c.0.lock().unwrap(),
            [
                "listening",
                "session from 127.0.0.1:40000: connection reset",
                "session from 127.0.0.1:40000: data connection at 127.0.0.1:50000: refused code 425",
            ]
        );
        assert!(sub.spans().live.is_empty(), "every span closed");
        ENTERED.with(|s| assert!(s.borrow().is_empty()));
    }
}
