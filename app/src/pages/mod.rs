//! One module per page.

pub mod admin;
pub mod admin_dashboards;
pub mod api_keys;
pub mod dashboard;
pub mod dashboard_editor;
pub mod dashboards;
pub mod dataset;
pub mod dataset_files;
pub mod datasets;
pub mod email_links;
pub mod goodbye;
pub mod home;
pub mod login;
pub mod monitoring;
pub mod monitoring_source;
pub mod not_found;
pub mod preview;
pub mod register;
pub mod runs;
pub mod search;
pub mod settings;
pub mod transfers;
pub mod uploads;
