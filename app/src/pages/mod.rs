//! One module per page.

pub mod dashboards;
pub mod datasets;
pub mod home;
pub mod login;
pub mod monitoring;
pub mod not_found;
pub mod search;
