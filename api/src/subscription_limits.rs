//! How far a GraphQL subscription may read ahead of a client that does not take its
//! events, and the gauges every clone of the server's state shares (open readers, events
//! held). The server's state holds them; the subscription resolvers
//! (`graphql/subscriptions.rs`) count in them.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use store::RecordedEvent;

/// How far a subscription may read ahead of a client that does not take its events.
///
/// Clones share their gauges, so every clone of the [`crate::state::AppState`] counts the
/// same readers.
#[derive(Debug, Clone)]
pub struct SubscriptionLimits {
    /// The most events a subscription holds for its client, read but not yet taken
    /// (default 1,000; at least 1). It is also the most a subscription reads from the log
    /// at once, up to 500.
    pub buffer: usize,
    /// How long the buffer may stay full, the client taking nothing, before the
    /// subscription stops and tells the client to resume from its cursor (default 30 s).
    pub slow_client_timeout: Duration,
    pub(crate) gauges: Arc<Gauges>,
}

impl Default for SubscriptionLimits {
    fn default() -> Self {
        Self::new(1_000, Duration::from_secs(30))
    }
}

#[derive(Debug, Default)]
pub(crate) struct Gauges {
    readers: AtomicUsize,
    held: AtomicUsize,
    held_peak: AtomicUsize,
}

impl SubscriptionLimits {
    /// Limits with this buffer and timeout, and gauges of their own.
    pub fn new(buffer: usize, slow_client_timeout: Duration) -> Self {
        Self {
            buffer,
            slow_client_timeout,
            gauges: Arc::default(),
        }
    }

    /// Reader tasks alive now: one per open subscription.
    pub fn live_readers(&self) -> usize {
        self.gauges.readers.load(Ordering::SeqCst)
    }

    /// Events the subscriptions hold now: in their buffers, or read and waiting to enter
    /// one. (The batch a reader is working through is not counted.)
    pub fn events_held(&self) -> usize {
        self.gauges.held.load(Ordering::SeqCst)
    }

    /// The most [`Self::events_held`] has been since these limits were made.
    pub fn events_held_peak(&self) -> usize {
        self.gauges.held_peak.load(Ordering::SeqCst)
    }

    /// The channel's capacity: `mpsc::channel(0)` would panic, and a subscription that can
    /// hold nothing could deliver nothing.
    pub(crate) fn capacity(&self) -> usize {
        self.buffer.max(1)
    }
}

/// An event on its way to a client, counted in [`SubscriptionLimits::events_held`] from the
/// moment it is read until it is delivered or dropped, whichever path drops it.
pub(crate) struct Held {
    pub(crate) event: Option<RecordedEvent>,
    gauges: Arc<Gauges>,
}

impl Held {
    pub(crate) fn new(event: RecordedEvent, gauges: &Arc<Gauges>) -> Self {
        let held = gauges.held.fetch_add(1, Ordering::SeqCst) + 1;
        gauges.held_peak.fetch_max(held, Ordering::SeqCst);
        Self {
            event: Some(event),
            gauges: Arc::clone(gauges),
        }
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        self.gauges.held.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Counts a reader task in [`SubscriptionLimits::live_readers`] for as long as it lives,
/// however it ends (a panic included).
pub(crate) struct ReaderAlive(Arc<Gauges>);

impl ReaderAlive {
    pub(crate) fn new(gauges: &Arc<Gauges>) -> Self {
        gauges.readers.fetch_add(1, Ordering::SeqCst);
        Self(Arc::clone(gauges))
    }
}

impl Drop for ReaderAlive {
    fn drop(&mut self) {
        self.0.readers.fetch_sub(1, Ordering::SeqCst);
    }
}
