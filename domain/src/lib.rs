//! The serial ledger's rules as pure deciders.
//!
//! Three aggregates, each a [`Decider`]: [`product::ProductDecider`] (one product per stream),
//! [`settings::SettingsDecider`] (one `retailer-settings` stream per retailer) and
//! [`sale::SaleDecider`] (one sale per stream). `decide` is a run of guard clauses that ends
//! in the events to record, or a typed error a shop user can act on; `evolve` only records
//! facts and ignores events of other aggregates. All business logic is in `decide`.
//!
//! The crate is pure: no I/O, no async, no SQL, no clock. Whatever a rule needs from outside
//! its aggregate arrives in the command, loaded by the command service: the product as it
//! stands ([`product::ProductSnapshot`]), the retailer's settings
//! ([`settings::RetailerSettings`]), the package graph for cycle checks
//! ([`product::PackageGraph`]), the facts of a returned line being re-issued
//! ([`sale::ReturnedLineFacts`]). Who acted, when and through which channel travel in the
//! event envelope, which the command service writes; no rule here depends on them.
//!
//! Rules that span sales (a serial live on one line at a time across the retailer, invoice
//! numbers unique per retailer, a returned line re-issued once) cannot be decided from one
//! sale's state: [`claims::claims_for`] maps a sale's new events to claim changes that the
//! store writes in the same transaction as the events, so a race becomes a constraint
//! violation that [`sale::SaleError::from_claim_conflict`] turns back into a typed error.
//!
//! Serial text is normalised and validated in one place, [`serial::SerialNumber::parse`];
//! the POS indicator and the auto-prompt are pure functions in [`indicator`].

#![forbid(unsafe_code)]
#![warn(missing_docs)]

/// `From<Variant> for Enum` for each command struct wrapped by a command enum of the same
/// variant name, so callers can pass `AssignSerial { .. }` where a `SaleCommand` is expected.
macro_rules! into_command {
    ($enum:ident: $($variant:ident),* $(,)?) => {
        $(impl From<$variant> for $enum {
            fn from(command: $variant) -> Self {
                Self::$variant(command)
            }
        })*
    };
}

pub mod claims;
pub mod indicator;
pub mod product;
pub mod sale;
pub mod serial;
pub mod settings;
pub mod validation;

pub use event_schemas;

use event_schemas::LedgerEvent;

/// An aggregate as a decider: a pure `decide` and a pure `evolve` over [`LedgerEvent`]s.
///
/// The command service loads a stream, folds it with [`Decider::fold`], calls
/// [`Decider::decide`] and appends the events it returns with the stream's revision as the
/// expected revision.
pub trait Decider {
    /// What the aggregate remembers of its events; `Default` is "no events yet".
    type State: Default;
    /// What can be asked of the aggregate.
    type Command;
    /// Why a command is refused.
    type Error;

    /// Decides what a command does to the aggregate: the events to record, or a refusal.
    fn decide(state: &Self::State, command: Self::Command)
    -> Result<Vec<LedgerEvent>, Self::Error>;

    /// Records one event in the state. Events of other aggregates leave the state unchanged.
    fn evolve(state: Self::State, event: &LedgerEvent) -> Self::State;

    /// The state after `events`, starting from no events.
    fn fold<'a, I>(events: I) -> Self::State
    where
        I: IntoIterator<Item = &'a LedgerEvent>,
    {
        Self::evolve_all(Self::State::default(), events)
    }

    /// The state after `events`, starting from `state`.
    fn evolve_all<'a, I>(state: Self::State, events: I) -> Self::State
    where
        I: IntoIterator<Item = &'a LedgerEvent>,
    {
        events.into_iter().fold(state, Self::evolve)
    }
}
