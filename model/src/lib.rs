//! Agora's shared vocabulary.
//!
//! Everything here compiles for both the server and the browser (WASM): the
//! error kinds and their one mapping to HTTP statuses, the validation rules
//! that forms check inline and the server enforces, and the plain data types
//! that cross the wire.

pub mod accounts;
pub mod dashboards;
pub mod datasets;
pub mod error;
pub mod files;
pub mod health;
pub mod monitoring;
pub mod preview;
pub mod runs;
pub mod search;
pub mod sharing;
pub mod tags;
pub mod theme;
pub mod time;

pub use error::{ApiError, ErrorKind};

/// The Agora version, shown in the footer and reported by `/healthz`.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
