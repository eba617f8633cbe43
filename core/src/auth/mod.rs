//! Authentication and authorization: password hashing, session tokens and
//! cookies, who the caller is, what they may touch, and the abuse limits.

pub mod access;
pub mod caller;
pub mod cookie;
pub mod limits;
pub mod password;
pub mod session_secret;
pub mod token;
