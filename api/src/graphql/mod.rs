//! The GraphQL API: [`build_schema`] builds the whole schema from the [`AppState`]; the HTTP
//! server only wires it (and inserts each request's [`application::auth::Principal`] and
//! [`RequestMeta`]).
//!
//! Split by area, merged with `MergedObject`/`MergedSubscription`:
//! [`products`], [`settings`], [`sales`] (the POS view and every sale command),
//! [`reports`] (fulfilment and sales reports), [`trace`] (serial traceability), [`events`]
//! (the raw log, auditors only), [`ledger`] (the verifiable ledger's checkpoints and
//! proofs, auditors and managers) and [`subscriptions`] (live ledger events). [`context`]
//! holds the request's data and the helpers every resolver shares; [`errors`] how refusals
//! and failures become errors with a stable `extensions.code`.
//!
//! Limits: queries nest at most [`MAX_DEPTH`] levels and cost at most [`MAX_COMPLEXITY`],
//! where every field costs 1 and a connection field costs `first` (default 50, at most 500)
//! times its selection. A single product search of 500 products with every field fits; a
//! query asking for several such pages with nested lists does not, and is refused before it
//! runs.
//!
//! Errors async-graphql raises itself, before or instead of a resolver (a document that does
//! not parse or validate, an argument of the wrong type or out of `Int` range, a query over
//! the depth or complexity limit), carry no code of their own; [`ErrorCodes`] gives each the
//! code `VALIDATION`, so every error has one.
//!
//! The committed SDL is `api/schema.graphql`; `api/tests/schema.rs` fails when it is stale
//! (`UPDATE_SCHEMA=1 cargo test -p api --test schema` rewrites it).

pub mod context;
pub mod errors;
pub mod events;
pub mod ledger;
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
use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextParseQuery, NextRequest,
};
use async_graphql::parser::types::ExecutableDocument;
use async_graphql::{MergedObject, MergedSubscription, Response, Schema, ServerResult, Variables};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};

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
    ledger::LedgerQuery,
    webhooks::WebhookQuery,
);

/// Every mutation.
#[derive(MergedObject, Default)]
pub struct MutationRoot(
    products::ProductMutation,
    settings::SettingsMutation,
    sales::SaleMutation,
    webhooks::WebhookMutation,
    ledger::LedgerMutation,
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
    .extension(ErrorCodes::default())
    .finish()
}

/// Gives `extensions.code: "VALIDATION"` to every error of a response that has no code:
/// the errors async-graphql raises itself for a malformed request (every error the API's
/// own code raises has its code already, see [`errors`]). A value that does not parse
/// (`Failed to parse "Int": ...`) is prefixed with the argument it was given for, read
/// from the document at the error's location.
#[derive(Default)]
pub struct ErrorCodes {
    query: Mutex<Option<String>>,
}

impl ExtensionFactory for ErrorCodes {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(ErrorCodes::default())
    }
}

// `Extension` is declared with `#[async_trait]`; these are that macro's expansions written
// out, so the crate needs no dependency on `async-trait` for two methods.
impl Extension for ErrorCodes {
    fn request<'life0, 'life1, 'life2, 'life3, 'async_trait>(
        &'life0 self,
        ctx: &'life1 ExtensionContext<'life2>,
        next: NextRequest<'life3>,
    ) -> Pin<Box<dyn Future<Output = Response> + Send + 'async_trait>>
    where
        'life0: 'async_trait,
        'life1: 'async_trait,
        'life2: 'async_trait,
        'life3: 'async_trait,
        Self: 'async_trait,
    {
        Box::pin(async move {
            let response = next.run(ctx).await;
            let query = self
                .query
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .take();
            with_codes(response, query.as_deref())
        })
    }

    fn parse_query<'life0, 'life1, 'life2, 'life3, 'life4, 'life5, 'async_trait>(
        &'life0 self,
        ctx: &'life1 ExtensionContext<'life2>,
        query: &'life3 str,
        variables: &'life4 Variables,
        next: NextParseQuery<'life5>,
    ) -> Pin<Box<dyn Future<Output = ServerResult<ExecutableDocument>> + Send + 'async_trait>>
    where
        'life0: 'async_trait,
        'life1: 'async_trait,
        'life2: 'async_trait,
        'life3: 'async_trait,
        'life4: 'async_trait,
        'life5: 'async_trait,
        Self: 'async_trait,
    {
        Box::pin(async move {
            *self.query.lock().unwrap_or_else(PoisonError::into_inner) = Some(query.to_owned());
            next.run(ctx, query, variables).await
        })
    }
}

fn with_codes(mut response: Response, query: Option<&str>) -> Response {
    for error in &mut response.errors {
        let extensions = error.extensions.get_or_insert_with(Default::default);
        if extensions.get("code").is_some() {
            continue;
        }
        extensions.set("code", "VALIDATION");
        if error.message.starts_with("Failed to parse") {
            let argument = query
                .zip(error.locations.first())
                .and_then(|(query, at)| argument_at(query, at.line, at.column));
            if let Some(argument) = argument {
                error.message = format!("{argument} is not valid: {}", error.message);
            }
        }
    }
    response
}

/// The argument whose value is at `line`:`column` (from 1) of `query`: the name before the
/// `:` that precedes it (`quantity: $quantity`, `first: 1e99`), or the variable defined
/// there (`$first: Int`).
fn argument_at(query: &str, line: usize, column: usize) -> Option<String> {
    let text = query.lines().nth(line.checked_sub(1)?)?;
    let before: String = text.chars().take(column.checked_sub(1)?).collect();
    if let Some(before) = before.trim_end().strip_suffix(':') {
        let name: String = before
            .trim_end()
            .chars()
            .rev()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        if !name.is_empty() {
            return Some(name);
        }
    }
    let at: String = text.chars().skip(column.checked_sub(1)?).collect();
    if let Some(variable) = at.strip_prefix('$') {
        let name: String = variable
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        if !name.is_empty() {
            return Some(format!("${name}"));
        }
    }
    field_arguments(query, line, column)
}

/// When `line`:`column` is a field with arguments (`first: Option<i32>` fails at its
/// field): "an argument of products (first, after)", naming each argument given.
fn field_arguments(query: &str, line: usize, column: usize) -> Option<String> {
    let start: usize = query
        .split_inclusive('\n')
        .take(line.checked_sub(1)?)
        .map(str::len)
        .sum();
    let from_line = query.get(start..)?;
    let offset: usize = from_line
        .chars()
        .take(column.checked_sub(1)?)
        .map(char::len_utf8)
        .sum();
    let rest = from_line.get(offset..)?;
    let field: String = rest
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    let arguments = rest.get(field.len()..)?.trim_start().strip_prefix('(')?;
    let mut names = Vec::new();
    let mut depth = 0_u32;
    let mut word = String::new();
    for c in arguments.chars() {
        match c {
            ')' | ']' | '}' if depth == 0 => break,
            '(' | '[' | '{' => depth += 1,
            ')' | ']' | '}' => depth -= 1,
            ':' if depth == 0 && !word.is_empty() => names.push(std::mem::take(&mut word)),
            c if depth == 0 && (c.is_ascii_alphanumeric() || c == '_' || c == '$') => word.push(c),
            _ => word.clear(),
        }
    }
    (!field.is_empty() && !names.is_empty())
        .then(|| format!("an argument of {field} ({})", names.join(", ")))
}

#[cfg(test)]
mod tests {
    use super::argument_at;

    #[test]
    fn the_argument_of_a_value_is_read_from_the_document() {
        let query = "mutation($q: Int!) {\n  addItem(saleId: $s, quantity: $q) { cursor }\n}";
        let column = query.lines().nth(1).unwrap().find("$q").unwrap() + 1;
        assert_eq!(argument_at(query, 2, column).as_deref(), Some("quantity"));
        assert_eq!(argument_at(query, 1, 10).as_deref(), Some("$q"));
        assert_eq!(
            argument_at(query, 2, 3).as_deref(),
            Some("an argument of addItem (saleId, quantity)")
        );
        assert_eq!(argument_at(query, 2, 1), None);
        assert_eq!(argument_at(query, 9, 1), None);
    }
}
