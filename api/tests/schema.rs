//! The committed SDL (`api/schema.graphql`) is the schema the code builds: a change to the
//! API shows up in review as a change to that file. `UPDATE_SCHEMA=1 cargo test -p api
//! --test schema` rewrites it.

#![allow(clippy::unwrap_used)]

use api::graphql::build_schema;
use api::state::AppState;

#[tokio::test]
async fn the_committed_schema_is_current() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("schema.db").display());
    let state = AppState::open(&url).await.unwrap();
    let sdl = build_schema(state).sdl();
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("schema.graphql");
    if std::env::var_os("UPDATE_SCHEMA").is_some() {
        std::fs::write(&path, &sdl).unwrap();
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == sdl,
        "api/schema.graphql is out of date: run `UPDATE_SCHEMA=1 cargo test -p api --test schema` and commit it"
    );
}
