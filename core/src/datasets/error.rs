use agora_model::ApiError;

use crate::jobs::JobError;
use crate::storage::StorageError;

#[derive(Debug, thiserror::Error)]
pub enum DatasetError {
    /// A refusal the caller should read: invalid input, rights, not found.
    #[error("{0}")]
    Api(ApiError),
    #[error("storage: {0}")]
    Storage(#[from] StorageError),
    #[error("internal: {0}")]
    Internal(String),
}

impl From<JobError> for DatasetError {
    fn from(err: JobError) -> Self {
        match err {
            JobError::NotFound => DatasetError::Api(ApiError::not_found("no such job")),
            JobError::Storage(err) => DatasetError::Storage(err),
            other => DatasetError::Internal(other.to_string()),
        }
    }
}

/// The index is derived data: its failures are ours, not the caller's.
impl From<crate::index::IndexError> for DatasetError {
    fn from(err: crate::index::IndexError) -> Self {
        DatasetError::Internal(err.to_string())
    }
}

/// A stored record that does not parse is ours to fix, too.
impl From<serde_json::Error> for DatasetError {
    fn from(err: serde_json::Error) -> Self {
        DatasetError::Internal(err.to_string())
    }
}

impl DatasetError {
    /// The error as callers see it: internals stay in the log.
    pub fn to_api(&self) -> ApiError {
        match self {
            DatasetError::Api(api) => api.clone(),
            DatasetError::Storage(err) if err.kind() == agora_model::ErrorKind::Unavailable => {
                ApiError::new(agora_model::ErrorKind::Unavailable, "storage is unavailable right now; try again shortly")
            }
            other => {
                tracing::error!(error = %other, "dataset operation failed");
                ApiError::internal()
            }
        }
    }
}
