//! Accounts as both sides of the wire see them: the input rules (checked
//! inline by forms, enforced by the server) and the request and response
//! types of the account pages, server functions and REST API.

mod rules;
mod views;

pub use rules::*;
pub use views::*;
