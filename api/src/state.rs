//! Everything a request needs, opened once at start-up and shared by every handler: the
//! [`Application`] and what only the HTTP adapters add to it (subscription and rate
//! limits).

use crate::rate_limit::RateLimit;
use crate::subscription_limits::SubscriptionLimits;
use application::Application;
use std::ops::{Deref, DerefMut};

/// The server's shared state: the application, and the limits of the HTTP adapters. Cheap
/// to clone (every part shares its pools). It dereferences to the [`Application`], so a
/// handler reaches the store, the read models and the services as `state.commands`,
/// `state.db`, ...
#[derive(Clone)]
pub struct AppState {
    /// The application layer.
    pub app: Application,
    /// How far a GraphQL subscription may run ahead of its client.
    pub subscription_limits: SubscriptionLimits,
    /// How many requests each token (or client address, without one) may send; read when
    /// the router is built ([`crate::server::app`]).
    pub rate_limit: RateLimit,
}

impl AppState {
    /// Opens the application ([`Application::open`]) with the default limits.
    pub async fn open(database_url: &str) -> Result<Self, application::OpenError> {
        Ok(Self::of(Application::open(database_url).await?))
    }

    /// The state serving `app`, with the default limits.
    pub fn of(app: Application) -> Self {
        Self {
            app,
            subscription_limits: Default::default(),
            rate_limit: Default::default(),
        }
    }
}

impl Deref for AppState {
    type Target = Application;

    fn deref(&self) -> &Application {
        &self.app
    }
}

impl DerefMut for AppState {
    fn deref_mut(&mut self) -> &mut Application {
        &mut self.app
    }
}
