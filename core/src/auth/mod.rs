//! Authentication primitives: password hashing and session tokens. Accounts
//! (users, API keys) build on these.

pub mod password;
pub mod session_secret;
pub mod token;
