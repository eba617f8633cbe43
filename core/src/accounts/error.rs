use agora_model::{ApiError, ErrorKind};

use crate::storage::StorageError;

#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error("{0}")]
    Invalid(ApiError),
    /// A create-once claim lost; turned into `Conflict` naming the field.
    #[error("already taken")]
    Taken,
    #[error("{1}")]
    Conflict(&'static str, &'static str),
    #[error("wrong username or password")]
    BadCredentials,
    #[error("this account's email address is not verified yet; use the link we sent, or ask for a new one")]
    Unverified,
    #[error("this account is disabled; ask an administrator")]
    Disabled,
    #[error("this account has been deleted")]
    Deleted,
    #[error("no such account")]
    NotFound,
    #[error("storage: {0}")]
    Storage(StorageError),
    #[error("internal: {0}")]
    Internal(String),
}

impl AccountError {
    pub(crate) fn from_storage(err: StorageError) -> Self {
        match err {
            StorageError::NotFound => AccountError::NotFound,
            other => AccountError::Storage(other),
        }
    }

    pub(crate) fn taken(self, field: &'static str, message: &'static str) -> Self {
        match self {
            AccountError::Taken => AccountError::Conflict(field, message),
            other => other,
        }
    }

    pub fn kind(&self) -> ErrorKind {
        match self {
            AccountError::Invalid(_) => ErrorKind::Invalid,
            AccountError::Taken | AccountError::Conflict(..) => ErrorKind::Conflict,
            AccountError::BadCredentials => ErrorKind::Unauthenticated,
            AccountError::Unverified | AccountError::Disabled | AccountError::Deleted => ErrorKind::Forbidden,
            AccountError::NotFound => ErrorKind::NotFound,
            AccountError::Storage(err) => err.kind(),
            AccountError::Internal(_) => ErrorKind::Internal,
        }
    }

    /// The error as callers see it: internals stay in the log.
    pub fn to_api(&self) -> ApiError {
        match self {
            AccountError::Invalid(api) => api.clone(),
            AccountError::Conflict(field, message) => ApiError::conflict(*field, *message),
            AccountError::Storage(_) | AccountError::Internal(_) => {
                tracing::error!(error = %self, "account operation failed");
                ApiError::new(
                    self.kind(),
                    if self.kind() == ErrorKind::Unavailable {
                        "storage is unavailable right now; try again shortly"
                    } else {
                        "something went wrong on our side; the details are in the server log"
                    },
                )
            }
            // Named, so the login page can offer to resend the link.
            AccountError::Unverified => ApiError { field: Some("email_verified".into()), ..ApiError::new(self.kind(), self.to_string()) },
            other => ApiError::new(other.kind(), other.to_string()),
        }
    }
}
