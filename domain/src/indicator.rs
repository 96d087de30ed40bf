//! What POS shows beside a line, derived purely from the line: the serial indicator and
//! whether to pop up the serial prompt when the line is added.

use crate::settings::RetailerSettings;
use event_schemas::SerialMode;

/// The coloured barcode POS shows below a line's fulfilment method icon.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SerialIndicator {
    /// Red barcode: a serial number is required and not yet entered.
    Red,
    /// Orange barcode: a serial number is optional and not yet entered.
    Orange,
    /// Blue barcode: a serial number has been recorded.
    Blue,
    /// No barcode: serial numbers are disabled for the line.
    None,
}

impl SerialIndicator {
    /// The stable code the APIs use (`RED`, `ORANGE`, `BLUE`, `NONE`).
    pub fn as_str(self) -> &'static str {
        match self {
            SerialIndicator::Red => "RED",
            SerialIndicator::Orange => "ORANGE",
            SerialIndicator::Blue => "BLUE",
            SerialIndicator::None => "NONE",
        }
    }
}

/// The indicator of a line with serial mode `mode` that has (or has not) a serial recorded.
///
/// A DISABLED line shows nothing whatever else is true (it can never hold a serial).
pub fn serial_indicator(mode: SerialMode, has_serial: bool) -> SerialIndicator {
    match (mode, has_serial) {
        (SerialMode::Disabled, _) => SerialIndicator::None,
        (_, true) => SerialIndicator::Blue,
        (SerialMode::Required, false) => SerialIndicator::Red,
        (SerialMode::Optional, false) => SerialIndicator::Orange,
    }
}

/// Whether POS pops up the serial prompt when a line of mode `mode` is added: only when the
/// retailer turned "Auto-Prompt for Serial Number for Applicable Products" on, and only for
/// REQUIRED lines (never for OPTIONAL or DISABLED ones).
pub fn should_auto_prompt(settings: &RetailerSettings, mode: SerialMode) -> bool {
    settings.auto_prompt_serial_number && mode == SerialMode::Required
}
