//! Point-in-time state: a sale or a serial as it stood at a past log position or time,
//! folded from the log up to that moment with the domain's own `evolve`.
//!
//! A position is inclusive (the event at that position has happened); so is a time (events
//! recorded at or before it). Positions are the `COMMIT:PREPARE` cursors every API and
//! command prints; on PostgreSQL they follow commit order, which a time does only to the
//! resolution of the clock, so when two commands commit within the same microsecond a
//! position is the exact way to name the moment between them.

use crate::history::{
    Cutoff, HistoryError, HistoryQuery, Limits, SerialHistory, read_decoded, serial_history,
};
use domain::Decider;
use domain::sale::{Sale, SaleDecider};
use event_schemas::{SaleId, TenantId, streams};
use std::str::FromStr;
use store::{AnyStore, Position, RecordedEvent};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// A moment as given on the command line could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "moment {0:?} is neither a log position (COMMIT:PREPARE, as printed by the API and by \
     `replay serial`) nor an RFC 3339 time (e.g. 2026-11-26T09:30:00Z)"
)]
pub struct MalformedMoment(pub String);

impl FromStr for Cutoff {
    type Err = MalformedMoment;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let text = text.trim();
        if let Ok(position) = text.parse::<Position>() {
            return Ok(Cutoff::Position(position));
        }
        OffsetDateTime::parse(text, &Rfc3339)
            .map(Cutoff::Time)
            .map_err(|_| MalformedMoment(text.to_owned()))
    }
}

/// A sale as it stood at a moment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SaleAsOf {
    /// The sale, or `None` when it had not been opened yet.
    pub sale: Option<Sale>,
    /// How many of its events had happened.
    pub events_folded: u64,
    /// The last of them, if any.
    pub last_event: Option<RecordedEvent>,
}

/// The state of sale `sale_id` of `tenant_id` at `cutoff`.
pub async fn sale_as_of(
    store: &AnyStore,
    tenant_id: TenantId,
    sale_id: SaleId,
    cutoff: Cutoff,
) -> Result<SaleAsOf, HistoryError> {
    let stream_id = streams::sale(sale_id);
    let limits = Limits::of(Some(cutoff));
    let mut answer = SaleAsOf {
        sale: None,
        events_folded: 0,
        last_event: None,
    };
    for (recorded, event) in read_decoded(store, tenant_id, &stream_id, limits).await? {
        answer.sale = SaleDecider::evolve(answer.sale, &event);
        answer.events_folded += 1;
        answer.last_event = Some(recorded);
    }
    Ok(answer)
}

/// Every unit with `serial` as it stood at `cutoff`, with its history up to then. `query`'s
/// own cutoff is replaced by `cutoff`.
pub async fn serial_as_of(
    store: &AnyStore,
    query: &HistoryQuery,
    cutoff: Cutoff,
) -> Result<SerialHistory, HistoryError> {
    let query = HistoryQuery {
        cutoff: Some(cutoff),
        ..query.clone()
    };
    serial_history(store, &query).await
}
