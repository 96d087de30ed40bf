//! Read models folded from the event log. The read models themselves arrive with the
//! projections issue; this crate exists now so the workspace has its final shape and the
//! dependency direction (store <- projections <- api, replay) is fixed from the start.

#![forbid(unsafe_code)]
#![warn(missing_docs)]
