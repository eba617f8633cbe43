use agora_model::ErrorKind;
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_types::error::display::DisplayErrorContext;

/// What a storage call can fail with, independent of which S3 answered.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("no such object")]
    NotFound,
    #[error("the object changed or already exists (precondition failed)")]
    PreconditionFailed,
    #[error("invalid tags: {0}")]
    InvalidTag(String),
    #[error("the storage service refused access: {0}")]
    AccessDenied(String),
    #[error("invalid request: {0}")]
    Invalid(String),
    #[error("the storage service is unavailable: {0}")]
    Unavailable(String),
    #[error("storage failed: {0}")]
    Other(String),
}

impl StorageError {
    pub fn kind(&self) -> ErrorKind {
        match self {
            StorageError::NotFound => ErrorKind::NotFound,
            StorageError::PreconditionFailed => ErrorKind::Conflict,
            StorageError::InvalidTag(_) | StorageError::Invalid(_) => ErrorKind::Invalid,
            StorageError::AccessDenied(_) => ErrorKind::Forbidden,
            StorageError::Unavailable(_) => ErrorKind::Unavailable,
            StorageError::Other(_) => ErrorKind::Internal,
        }
    }

    /// Classifies any SDK error by its S3 error code and HTTP status.
    pub(crate) fn from_sdk<E>(err: SdkError<E, HttpResponse>) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        if matches!(err, SdkError::TimeoutError(_) | SdkError::DispatchFailure(_)) {
            return StorageError::Unavailable(DisplayErrorContext(&err).to_string());
        }
        let status = err.raw_response().map(|r| r.status().as_u16());
        let code = err.code().map(str::to_owned);
        let message = err.message().map(str::to_owned).unwrap_or_else(|| DisplayErrorContext(&err).to_string());
        match (code.as_deref(), status) {
            (Some("NoSuchKey" | "NotFound" | "NoSuchUpload"), _) | (_, Some(404)) => StorageError::NotFound,
            (Some("PreconditionFailed" | "ConditionalRequestConflict"), _) | (_, Some(412)) => StorageError::PreconditionFailed,
            (Some("InvalidTag"), _) => StorageError::InvalidTag(message),
            (Some("AccessDenied" | "SignatureDoesNotMatch" | "InvalidAccessKeyId"), _) | (_, Some(403)) => {
                StorageError::AccessDenied(message)
            }
            (Some("SlowDown" | "ServiceUnavailable" | "InternalError"), _) | (_, Some(500..=599)) => StorageError::Unavailable(message),
            (_, Some(400..=499)) => StorageError::Invalid(format!("{}: {message}", code.unwrap_or_default())),
            _ => StorageError::Other(message),
        }
    }
}

pub type StorageResult<T> = Result<T, StorageError>;
