//! Catch-up subscriptions to the whole log: read from a position, then follow live.
//!
//! A subscription never holds events in a broadcast buffer that could overflow: it always
//! reads from the log, in batches, after the last position it delivered. When it has caught
//! up it sleeps until this process commits an append (the store's wakeups) or the poll
//! interval passes (appends by other processes), then reads again. So a slow consumer just
//! falls behind; it never loses or repeats an event.

use crate::EventStore;
use crate::error::StoreError;
use crate::types::{Position, RecordedEvent};
use futures::Stream;
use std::collections::VecDeque;
use std::time::Duration;

/// How a subscription reads.
#[derive(Debug, Clone, Copy)]
pub struct SubscriptionOptions {
    /// Events read from the log per query.
    pub batch_size: usize,
    /// How long to sleep, once caught up, before looking for events of other processes.
    pub poll_interval: Duration,
}

impl Default for SubscriptionOptions {
    fn default() -> Self {
        Self {
            batch_size: 500,
            poll_interval: Duration::from_millis(100),
        }
    }
}

struct Cursor<S> {
    store: S,
    after: Position,
    buffer: VecDeque<RecordedEvent>,
    options: SubscriptionOptions,
    wakeups: tokio::sync::watch::Receiver<u64>,
}

/// Every event after `after`, in position order, then every new event as it commits.
///
/// The stream ends only when dropped. A read error is yielded as an item; the subscription
/// then retries from the same position after the poll interval, so the consumer may keep
/// going or stop.
pub fn subscribe_all<S: EventStore>(
    store: S,
    after: Position,
    options: SubscriptionOptions,
) -> impl Stream<Item = Result<RecordedEvent, StoreError>> + Send + 'static {
    let wakeups = store.wakeups();
    let cursor = Cursor {
        store,
        after,
        buffer: VecDeque::new(),
        options,
        wakeups,
    };
    futures::stream::unfold(cursor, |mut cursor| async move {
        loop {
            if let Some(event) = cursor.buffer.pop_front() {
                cursor.after = event.position;
                return Some((Ok(event), cursor));
            }
            // Mark the current tick as seen before reading, so an append that commits after
            // this read still wakes the wait below.
            cursor.wakeups.borrow_and_update();
            match cursor
                .store
                .read_all(cursor.after, cursor.options.batch_size)
                .await
            {
                Ok(batch) if !batch.is_empty() => cursor.buffer.extend(batch),
                Ok(_) => {
                    let poll = cursor.options.poll_interval;
                    tokio::select! {
                        changed = cursor.wakeups.changed() => {
                            if changed.is_err() {
                                tokio::time::sleep(poll).await;
                            }
                        }
                        () = tokio::time::sleep(poll) => {}
                    }
                }
                Err(error) => {
                    tokio::time::sleep(cursor.options.poll_interval).await;
                    return Some((Err(error), cursor));
                }
            }
        }
    })
}
