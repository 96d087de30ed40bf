//! The retailer-settings aggregate: the retailer's three serial-number settings, one
//! `retailer-settings` stream per retailer.
//!
//! Defaults (a retailer with no `RetailerSettingsChanged` yet, including every retailer from
//! before the feature): the feature changes nothing a retailer sees until they opt in, like
//! products defaulting to DISABLED, so auto-prompt is off and serials are not printed on
//! invoices; "POS Aggregate Duplicate Order Items" is on, the usual POS behaviour (scanning
//! the same DISABLED product twice gives one line of quantity 2).

use crate::Decider;
use event_schemas::{LedgerEvent, RetailerSettingsChanged};

/// The retailer's serial-number settings, as they stand. Also the snapshot a sale command
/// carries (the command service loads it from the retailer's settings stream).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RetailerSettings {
    /// "Auto-Prompt for Serial Number for Applicable Products": pop up the serial prompt when a
    /// REQUIRED product is added (see [`crate::indicator::should_auto_prompt`]). Default off.
    pub auto_prompt_serial_number: bool,
    /// "Display Serial Number on Invoice". Default off.
    pub display_serial_number_on_invoice: bool,
    /// "POS Aggregate Duplicate Order Items": adding a DISABLED product already on the sale
    /// raises its line's quantity instead of adding a line. Serial-tracked products are never
    /// aggregated, whatever this says. Default on.
    pub aggregate_duplicate_order_items: bool,
}

impl Default for RetailerSettings {
    fn default() -> Self {
        Self {
            auto_prompt_serial_number: false,
            display_serial_number_on_invoice: false,
            aggregate_duplicate_order_items: true,
        }
    }
}

/// Change some of the settings; `None` leaves a setting as it is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ChangeSettings {
    /// New value of "Auto-Prompt for Serial Number for Applicable Products".
    pub auto_prompt_serial_number: Option<bool>,
    /// New value of "Display Serial Number on Invoice".
    pub display_serial_number_on_invoice: Option<bool>,
    /// New value of "POS Aggregate Duplicate Order Items".
    pub aggregate_duplicate_order_items: Option<bool>,
}

/// Why a settings command is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SettingsError {
    /// The command names no setting. API code `VALIDATION`.
    #[error("settings: give at least one setting to change")]
    NothingToChange,
}

impl SettingsError {
    /// The stable API code.
    pub fn code(&self) -> &'static str {
        match self {
            SettingsError::NothingToChange => "VALIDATION",
        }
    }
}

/// The retailer-settings decider.
#[derive(Debug, Clone, Copy, Default)]
pub struct SettingsDecider;

impl Decider for SettingsDecider {
    type State = RetailerSettings;
    type Command = ChangeSettings;
    type Error = SettingsError;

    /// Records the settings as they stand after the change; records nothing when the values
    /// given are the current ones.
    fn decide(
        state: &RetailerSettings,
        command: ChangeSettings,
    ) -> Result<Vec<LedgerEvent>, SettingsError> {
        if command == ChangeSettings::default() {
            return Err(SettingsError::NothingToChange);
        }
        let next = RetailerSettings {
            auto_prompt_serial_number: command
                .auto_prompt_serial_number
                .unwrap_or(state.auto_prompt_serial_number),
            display_serial_number_on_invoice: command
                .display_serial_number_on_invoice
                .unwrap_or(state.display_serial_number_on_invoice),
            aggregate_duplicate_order_items: command
                .aggregate_duplicate_order_items
                .unwrap_or(state.aggregate_duplicate_order_items),
        };
        if next == *state {
            return Ok(Vec::new());
        }
        Ok(vec![
            RetailerSettingsChanged {
                auto_prompt_serial_number: next.auto_prompt_serial_number,
                display_serial_number_on_invoice: next.display_serial_number_on_invoice,
                aggregate_duplicate_order_items: next.aggregate_duplicate_order_items,
            }
            .into(),
        ])
    }

    fn evolve(state: RetailerSettings, event: &LedgerEvent) -> RetailerSettings {
        match event {
            LedgerEvent::RetailerSettingsChanged(changed) => RetailerSettings {
                auto_prompt_serial_number: changed.auto_prompt_serial_number,
                display_serial_number_on_invoice: changed.display_serial_number_on_invoice,
                aggregate_duplicate_order_items: changed.aggregate_duplicate_order_items,
            },
            _ => state,
        }
    }
}
