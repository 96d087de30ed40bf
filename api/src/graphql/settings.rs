//! The retailer's serial-number settings: read (`Read`) and change (`ManageCatalogue`).
//!
//! Settings are read from the retailer's settings stream itself (one small stream), so they
//! are always current, with the defaults when never changed.

use super::context::{command_context, new_command_id, require, state};
use super::errors::ApiResult;
use super::types::Channel;
use application::AppError;
use application::auth::Permission;
use async_graphql::{Context, ID, Object, SimpleObject};
use domain::settings::{ChangeSettings, RetailerSettings};

/// The retailer's serial-number settings.
#[derive(SimpleObject)]
pub struct Settings {
    /// "Auto-Prompt for Serial Number for Applicable Products": pop up the serial prompt
    /// when a REQUIRED product is added at POS.
    pub auto_prompt_serial_number: bool,
    /// "Display Serial Number on Invoice".
    pub display_serial_number_on_invoice: bool,
    /// "POS Aggregate Duplicate Order Items" (DISABLED products only; serial-tracked
    /// products always get one line per unit).
    pub aggregate_duplicate_order_items: bool,
}

impl From<RetailerSettings> for Settings {
    fn from(settings: RetailerSettings) -> Self {
        Self {
            auto_prompt_serial_number: settings.auto_prompt_serial_number,
            display_serial_number_on_invoice: settings.display_serial_number_on_invoice,
            aggregate_duplicate_order_items: settings.aggregate_duplicate_order_items,
        }
    }
}

/// What `updateSettings` did.
#[derive(SimpleObject)]
pub struct SettingsPayload {
    /// The settings after the change.
    pub settings: Settings,
    /// The log position of the event recorded, or null when nothing changed.
    pub cursor: Option<String>,
    /// Whether this `commandId` had been applied before.
    pub deduplicated: bool,
}

/// Settings queries.
#[derive(Default)]
pub struct SettingsQuery;

#[Object]
impl SettingsQuery {
    /// The retailer's serial-number settings.
    async fn settings(&self, ctx: &Context<'_>) -> ApiResult<Settings> {
        let principal = require(ctx, Permission::Read, "read settings")?;
        let state = state(ctx)?;
        let settings = state
            .commands
            .load_settings(principal.tenant_id)
            .await
            .map_err(AppError::from)?;
        Ok(settings.into())
    }
}

/// Settings mutations.
#[derive(Default)]
pub struct SettingsMutation;

#[Object]
impl SettingsMutation {
    /// Changes some of the settings (at least one); the others stay as they are.
    async fn update_settings(
        &self,
        ctx: &Context<'_>,
        auto_prompt_serial_number: Option<bool>,
        display_serial_number_on_invoice: Option<bool>,
        aggregate_duplicate_order_items: Option<bool>,
        command_id: Option<ID>,
        channel: Option<Channel>,
    ) -> ApiResult<SettingsPayload> {
        let principal = require(ctx, Permission::ManageCatalogue, "change settings")?;
        let state = state(ctx)?;
        let context = command_context(
            ctx,
            principal,
            new_command_id(command_id.as_ref())?,
            channel.map(Into::into),
            None,
        );
        let change = ChangeSettings {
            auto_prompt_serial_number,
            display_serial_number_on_invoice,
            aggregate_duplicate_order_items,
        };
        let outcome = state
            .commands
            .change_settings(&context, change)
            .await
            .map_err(AppError::from)?;
        state.after(&outcome).await;
        let settings = state
            .commands
            .load_settings(principal.tenant_id)
            .await
            .map_err(AppError::from)?;
        Ok(SettingsPayload {
            settings: settings.into(),
            cursor: outcome.position().map(|position| position.to_string()),
            deduplicated: outcome.deduplicated(),
        })
    }
}
