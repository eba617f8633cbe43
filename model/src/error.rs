//! The one error vocabulary of Agora.
//!
//! Every domain error has a [`ErrorKind`]; the kind alone decides the HTTP
//! status ([`ErrorKind::http_status`]) and the stable machine-readable code
//! ([`ErrorKind::code`]). Messages are written for people: they name the field
//! and the rule that was broken. Internal details are logged by the server and
//! never sent.

use serde::{Deserialize, Serialize};
use std::fmt;

/// What went wrong, from the caller's point of view.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// The input broke a rule (400).
    Invalid,
    /// No valid credentials were presented (401).
    Unauthenticated,
    /// The caller is known but may not do this (403).
    Forbidden,
    /// The thing does not exist, or the caller may not know it exists (404).
    NotFound,
    /// The request conflicts with the current state: a name is taken, a
    /// document changed since it was read (409).
    Conflict,
    /// The body or a value is larger than a configured limit (413).
    TooLarge,
    /// Too many attempts; try again later (429).
    RateLimited,
    /// A dependency (storage, index) is not reachable right now (503).
    Unavailable,
    /// A bug or an unexpected failure; details are in the server log (500).
    Internal,
}

impl ErrorKind {
    /// The HTTP status for this kind. This is the only place that decides it.
    pub const fn http_status(self) -> u16 {
        match self {
            ErrorKind::Invalid => 400,
            ErrorKind::Unauthenticated => 401,
            ErrorKind::Forbidden => 403,
            ErrorKind::NotFound => 404,
            ErrorKind::Conflict => 409,
            ErrorKind::TooLarge => 413,
            ErrorKind::RateLimited => 429,
            ErrorKind::Unavailable => 503,
            ErrorKind::Internal => 500,
        }
    }

    /// The stable code used in JSON error bodies.
    pub const fn code(self) -> &'static str {
        match self {
            ErrorKind::Invalid => "invalid",
            ErrorKind::Unauthenticated => "unauthenticated",
            ErrorKind::Forbidden => "forbidden",
            ErrorKind::NotFound => "not_found",
            ErrorKind::Conflict => "conflict",
            ErrorKind::TooLarge => "too_large",
            ErrorKind::RateLimited => "rate_limited",
            ErrorKind::Unavailable => "unavailable",
            ErrorKind::Internal => "internal",
        }
    }

    /// The kind for an HTTP status, for clients that only see the status.
    pub const fn from_http_status(status: u16) -> ErrorKind {
        match status {
            400 | 422 => ErrorKind::Invalid,
            401 => ErrorKind::Unauthenticated,
            403 => ErrorKind::Forbidden,
            404 | 410 => ErrorKind::NotFound,
            409 | 412 => ErrorKind::Conflict,
            413 => ErrorKind::TooLarge,
            429 => ErrorKind::RateLimited,
            502..=504 => ErrorKind::Unavailable,
            _ => ErrorKind::Internal,
        }
    }
}

/// An error as it crosses the wire: the JSON body of REST errors and the
/// error type of every server function.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub struct ApiError {
    pub kind: ErrorKind,
    /// A message for people, naming the field and the rule where there is one.
    pub message: String,
    /// The input field at fault, when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// For `RateLimited`: seconds until a retry may succeed (`Retry-After`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after_secs: Option<u64>,
}

impl ApiError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self { kind, message: message.into(), field: None, retry_after_secs: None }
    }

    /// An invalid-input error naming the field at fault.
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self { kind: ErrorKind::Invalid, message: message.into(), field: Some(field.into()), retry_after_secs: None }
    }

    pub fn unauthenticated(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Unauthenticated, message)
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Forbidden, message)
    }

    pub fn conflict(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self { field: Some(field.into()), ..Self::new(ErrorKind::Conflict, message) }
    }

    /// Too many attempts; `retry_after` rounded up to whole seconds.
    pub fn rate_limited(retry_after: std::time::Duration) -> Self {
        let secs = retry_after.as_secs() + u64::from(retry_after.subsec_nanos() > 0);
        Self {
            retry_after_secs: Some(secs.max(1)),
            ..Self::new(ErrorKind::RateLimited, format!("too many attempts; try again in {}", human_wait(secs.max(1))))
        }
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::NotFound, message)
    }

    /// The message shown for failures whose details stay in the server log.
    pub fn internal() -> Self {
        Self::new(ErrorKind::Internal, "something went wrong on our side; the details are in the server log")
    }

    pub fn http_status(&self) -> u16 {
        self.kind.http_status()
    }
}

fn human_wait(secs: u64) -> String {
    match secs {
        1 => "1 second".into(),
        s if s < 120 => format!("{s} seconds"),
        s => format!("{} minutes", s.div_ceil(60)),
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.field {
            Some(field) => write!(f, "{field}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: [ErrorKind; 9] = [
        ErrorKind::Invalid,
        ErrorKind::Unauthenticated,
        ErrorKind::Forbidden,
        ErrorKind::NotFound,
        ErrorKind::Conflict,
        ErrorKind::TooLarge,
        ErrorKind::RateLimited,
        ErrorKind::Unavailable,
        ErrorKind::Internal,
    ];

    #[test]
    fn every_kind_round_trips_through_its_status() {
        for kind in ALL {
            assert_eq!(ErrorKind::from_http_status(kind.http_status()), kind, "{kind:?}");
        }
    }

    #[test]
    fn client_errors_are_4xx_and_server_errors_5xx() {
        for kind in ALL {
            let status = kind.http_status();
            let server_side = matches!(kind, ErrorKind::Unavailable | ErrorKind::Internal);
            assert_eq!(status >= 500, server_side, "{kind:?} -> {status}");
        }
    }

    #[test]
    fn json_shape_names_the_field_only_when_there_is_one() {
        let with = serde_json::to_value(ApiError::invalid("name", "must not be empty")).unwrap();
        assert_eq!(with["kind"], "invalid");
        assert_eq!(with["field"], "name");
        let without = serde_json::to_value(ApiError::not_found("no such dataset")).unwrap();
        assert!(without.get("field").is_none());
    }

    #[test]
    fn display_puts_the_field_first() {
        assert_eq!(ApiError::invalid("email", "must contain @").to_string(), "email: must contain @");
    }
}

#[cfg(feature = "server-fn")]
mod server_fn_error {
    use super::{ApiError, ErrorKind};
    use server_fn::codec::JsonEncoding;
    use server_fn::error::{FromServerFnError, ServerFnErrorErr};

    impl FromServerFnError for ApiError {
        type Encoder = JsonEncoding;

        /// Failures of the server-function plumbing itself: bad arguments are
        /// the caller's fault, a broken connection is "unavailable", the rest
        /// is internal.
        fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
            match value {
                ServerFnErrorErr::Args(msg) | ServerFnErrorErr::MissingArg(msg) => {
                    ApiError::new(ErrorKind::Invalid, format!("the request's arguments are not valid: {msg}"))
                }
                ServerFnErrorErr::Request(msg) | ServerFnErrorErr::Response(msg) => {
                    ApiError::new(ErrorKind::Unavailable, format!("could not reach the server: {msg}"))
                }
                ServerFnErrorErr::Deserialization(msg) => {
                    ApiError::new(ErrorKind::Internal, format!("could not read the server's answer: {msg}"))
                }
                _ => ApiError::internal(),
            }
        }
    }
}
