//! The GraphQL API: [`build_schema`] builds the whole schema from the [`AppState`]; the HTTP
//! server only wires it (and inserts each request's [`crate::auth::Principal`] and
//! [`RequestMeta`]).
//!
//! Split by area, merged with `MergedObject`/`MergedSubscription`:
//! [`products`], [`settings`], [`sales`] (the POS view and every sale command),
//! [`reports`] (fulfilment and sales reports), [`trace`] (serial traceability), [`events`]
//! (the raw log, auditors only) and [`subscriptions`] (live ledger events). [`context`]
//! holds the request's data and the helpers every resolver shares; [`errors`] how refusals
//! and failures become errors with a stable `extensions.code`.
//!
//! Limits: queries nest at most [`MAX_DEPTH`] levels and cost at most [`MAX_COMPLEXITY`],
//! where every field costs 1 and a connection field costs `first` (default 50, at most 500)
//! times its selection. A single product search of 500 products with every field fits; a
//! query asking for several such pages with nested lists does not, and is refused before it
//! runs.
//!
//! The committed SDL is `api/schema.graphql`; `api/tests/schema.rs` fails when it is stale
//! (`UPDATE_SCHEMA=1 cargo test -p api --test schema` rewrites it).

pub mod context;
pub mod errors;
pub mod events;
pub mod products;
pub mod reports;
pub mod sales;
pub mod settings;
pub mod subscriptions;
pub mod trace;
pub mod types;
pub mod webhooks;

pub use context::RequestMeta;

use crate::state::AppState;
use async_graphql::{MergedObject, MergedSubscription, Schema};

/// The deepest a query may nest.
pub const MAX_DEPTH: usize = 12;
/// The most a query may cost (see the module docs).
pub const MAX_COMPLEXITY: usize = 20_000;

/// Every query.
#[derive(MergedObject, Default)]
pub struct QueryRoot(
    products::ProductQuery,
    settings::SettingsQuery,
    sales::SaleQuery,
    reports::ReportQuery,
    trace::TraceQuery,
    events::EventQuery,
    webhooks::WebhookQuery,
);

/// Every mutation.
#[derive(MergedObject, Default)]
pub struct MutationRoot(
    products::ProductMutation,
    settings::SettingsMutation,
    sales::SaleMutation,
    webhooks::WebhookMutation,
);

/// Every subscription.
#[derive(MergedSubscription, Default)]
pub struct SubscriptionRoot(subscriptions::LedgerSubscription);

/// The API's schema.
pub type ApiSchema = Schema<QueryRoot, MutationRoot, SubscriptionRoot>;

/// Builds the schema over `state`, with the depth and complexity limits.
pub fn build_schema(state: AppState) -> ApiSchema {
    Schema::build(
        QueryRoot::default(),
        MutationRoot::default(),
        SubscriptionRoot::default(),
    )
    .data(state)
    .limit_depth(MAX_DEPTH)
    .limit_complexity(MAX_COMPLEXITY)
    .finish()
}
