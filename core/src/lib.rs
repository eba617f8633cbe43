//! Agora's domain: storage, index, auth, datasets, dashboards, monitoring.
//!
//! Plain async Rust with no web framework in it. The Leptos server functions
//! (in `agora-app`, `ssr` feature) and the REST handlers (in `agora-server`)
//! both call into this crate; neither holds business rules of its own.

pub mod accounts;
pub mod auth;
pub mod client_addr;
pub mod dashboards;
pub mod data_dir;
pub mod datasets;
pub mod egress;
pub mod generations;
pub mod hub;
pub mod index;
pub mod jobs;
pub mod live;
pub mod mail;
pub mod monitoring;
pub mod rate_limit;
pub mod readiness;
pub mod sealing;
pub mod secret;
pub mod storage;

pub use agora_model::{ApiError, ErrorKind};
