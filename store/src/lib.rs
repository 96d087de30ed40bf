//! The event store.

#![forbid(unsafe_code)]
#![warn(missing_docs)]
