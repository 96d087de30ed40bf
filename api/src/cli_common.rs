//! What the operator commands share: the retailer a command is about (`--tenant`), and a
//! key given as text or as a file.

use anyhow::{Context, bail};
use application::auth::Auth;
use event_schemas::TenantId;
use projections::ReadDb;
use std::path::Path;
use store::AnyStore;
use uuid::Uuid;

/// The retailer named by `--tenant` (a slug or a UUID); without it, the only retailer of
/// the database, or an error listing them.
pub(crate) async fn resolve_tenant(
    store: &AnyStore,
    tenant: Option<&str>,
) -> anyhow::Result<TenantId> {
    if let Some(id) = tenant.and_then(|text| Uuid::parse_str(text.trim()).ok()) {
        return Ok(TenantId(id));
    }
    let auth = Auth::new(ReadDb::of(store));
    if let Some(slug) = tenant {
        let found = auth
            .tenant_by_slug(slug.trim())
            .await
            .with_context(|| format!("--tenant {slug:?}: no retailer has this slug or id"))?;
        return Ok(found.tenant_id);
    }
    let tenants = auth
        .tenants()
        .await
        .context("cannot list the retailers of this database")?;
    match tenants.as_slice() {
        [only] => Ok(only.tenant_id),
        [] => bail!("this database has no retailers"),
        many => bail!(
            "--tenant is required: this database holds {} retailers ({})",
            many.len(),
            many.iter()
                .map(|tenant| tenant.slug.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// A key given as text or as a file holding it.
pub(crate) fn key_text(given: &str) -> anyhow::Result<String> {
    let path = Path::new(given);
    if path.exists() {
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))
    } else {
        Ok(given.to_owned())
    }
}
