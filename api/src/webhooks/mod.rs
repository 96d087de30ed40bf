//! Webhooks: endpoints a retailer registers, and the dispatcher that delivers each ledger
//! event to them, signed, in order per stream, at least once.

use crate::state::AppState;

/// How the dispatcher delivers.
#[derive(Debug, Clone)]
pub struct WebhookOptions {}

impl Default for WebhookOptions {
    fn default() -> Self {
        Self {}
    }
}

/// The running dispatcher.
pub struct DispatcherHandle {}

impl DispatcherHandle {
    /// Stops the dispatcher after its current delivery.
    pub async fn stop(self) {}
}

/// Starts delivering to every registered endpoint.
pub fn spawn(_state: AppState) -> DispatcherHandle {
    DispatcherHandle {}
}
