//! Datasets as both sides of the wire see them, and their input rules.

use serde::{Deserialize, Serialize};

use crate::sharing::{MemberRole, Visibility};
use crate::ApiError;

pub const NAME_MAX_CHARS: usize = 100;
pub const DESCRIPTION_MAX_CHARS: usize = 5000;

/// A dataset name: 1–100 characters after trimming, no control characters.
pub fn normalize_dataset_name(raw: &str) -> Result<String, ApiError> {
    let name = raw.trim();
    let chars = name.chars().count();
    if chars == 0 || chars > NAME_MAX_CHARS {
        return Err(ApiError::invalid("name", format!("must be 1 to {NAME_MAX_CHARS} characters long; it has {chars}")));
    }
    if name.chars().any(char::is_control) {
        return Err(ApiError::invalid("name", "must not contain control characters (tabs, line breaks …)"));
    }
    // A name becomes a folder when a dataset is downloaded.
    if name.contains(['/', '\\']) || name.trim_matches('.').is_empty() {
        return Err(ApiError::invalid("name", "must not contain / or \\ and must not be only dots (it names a folder when downloaded)"));
    }
    Ok(name.to_owned())
}

pub fn validate_description(description: &str) -> Result<(), ApiError> {
    let chars = description.chars().count();
    if chars > DESCRIPTION_MAX_CHARS {
        return Err(ApiError::invalid("description", format!("must be at most {DESCRIPTION_MAX_CHARS} characters long; it has {chars}")));
    }
    Ok(())
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewDataset {
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub visibility: Visibility,
}

/// Fields left out stay as they are.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DatasetChange {
    pub name: Option<String>,
    pub description: Option<String>,
    pub visibility: Option<Visibility>,
}

/// Gives `username` a role (or changes it); `role: null` removes them.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ShareRequest {
    pub username: String,
    /// viewer or editor; none removes the member.
    pub role: Option<MemberRole>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TransferRequest {
    /// Who is offered the dataset. They become its owner when they accept
    /// (the old owner then stays as an editor).
    pub username: String,
}

/// A dataset someone offered to hand over to the caller.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TransferOffer {
    pub dataset_id: String,
    pub dataset_name: String,
    /// The owner who offered it (a username).
    pub from: String,
    /// Unix seconds.
    pub offered_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MemberView {
    pub user_id: String,
    pub username: String,
    pub role: MemberRole,
}

/// What the caller may do with a dataset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Permission {
    Read,
    Write,
    Manage,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DatasetView {
    pub id: String,
    pub name: String,
    pub description: String,
    pub visibility: Visibility,
    /// Owner first, then the other members by name.
    pub members: Vec<MemberView>,
    pub created_at: i64,
    pub updated_at: i64,
    /// What the caller may do with it.
    pub permission: Permission,
    /// Whom the owner offered the dataset to, until they accept or decline
    /// (a username; shown to those who manage the dataset).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offered_to: Option<String>,
}

/// One line of a dataset's activity log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ActivityEntry {
    /// Unix seconds.
    pub at: i64,
    /// Who did it (a username).
    pub who: String,
    /// What they did, in words: "uploaded train/cat.jpg (48.2 KiB)".
    pub what: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_bounded_and_printable() {
        assert_eq!(normalize_dataset_name("  Cats v2 ").unwrap(), "Cats v2");
        assert_eq!(normalize_dataset_name("").unwrap_err().field.as_deref(), Some("name"));
        assert!(normalize_dataset_name(&"x".repeat(101)).unwrap_err().message.contains("1 to 100"));
        assert!(normalize_dataset_name("a\tb").unwrap_err().message.contains("control"));
        for bad in [".", "..", " ... ", "a/b", "../x", "a\\b"] {
            assert_eq!(normalize_dataset_name(bad).unwrap_err().field.as_deref(), Some("name"), "{bad:?}");
        }
        assert_eq!(normalize_dataset_name("v1.2").unwrap(), "v1.2");
        assert!(validate_description(&"d".repeat(5001)).is_err());
    }
}
