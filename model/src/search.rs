//! Search across datasets and files: the request, the results, and the
//! query syntax people type.

use serde::{Deserialize, Serialize};

use crate::files::LabelCount;
use crate::tags::Tag;
use crate::ApiError;

/// Longest query accepted.
pub const MAX_QUERY_CHARS: usize = 500;
/// Hits one request may reach (offset + limit).
pub const MAX_SEARCH_WINDOW: usize = 1000;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum SearchSort {
    #[default]
    Relevance,
    Newest,
    Name,
    Size,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum HitKind {
    Dataset,
    File,
    Dashboard,
    /// A training run (session) of a dataset.
    Run,
}

/// A search. `q` takes words (typos of one letter forgiven in words of 4 or
/// more letters), `"exact phrases"`, `-excluded` words, `label:key=value`,
/// `label:key` and `type:image` (image, table, json, text, audio, video,
/// archive, model, other).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SearchRequest {
    #[serde(default)]
    pub q: String,
    /// Only this kind of result.
    #[serde(default)]
    pub kind: Option<HitKind>,
    /// Only this dataset (its id).
    #[serde(default)]
    pub dataset: Option<String>,
    /// Files of at least / at most this many bytes.
    #[serde(default)]
    pub size_min: Option<u64>,
    #[serde(default)]
    pub size_max: Option<u64>,
    /// Changed on or after / before this day (`YYYY-MM-DD`, UTC).
    #[serde(default)]
    pub modified_from: Option<String>,
    #[serde(default)]
    pub modified_to: Option<String>,
    #[serde(default)]
    pub sort: SearchSort,
    #[serde(default)]
    pub offset: usize,
    /// 1 to 100 [default: 20].
    #[serde(default)]
    pub limit: Option<usize>,
}

impl SearchRequest {
    pub fn validate(&self) -> Result<(), ApiError> {
        if self.q.chars().count() > MAX_QUERY_CHARS {
            return Err(ApiError::invalid("q", format!("must be at most {MAX_QUERY_CHARS} characters")));
        }
        if self.limit.is_some_and(|l| l == 0 || l > 100) {
            return Err(ApiError::invalid("limit", "must be 1 to 100"));
        }
        if self.offset + self.limit.unwrap_or(20) > MAX_SEARCH_WINDOW {
            return Err(ApiError::invalid("offset", format!("offset + limit must be at most {MAX_SEARCH_WINDOW}; narrow the search")));
        }
        if let (Some(min), Some(max)) = (self.size_min, self.size_max) {
            if min > max {
                return Err(ApiError::invalid("size_max", "must not be below size_min"));
            }
        }
        for (field, day) in [("modified_from", &self.modified_from), ("modified_to", &self.modified_to)] {
            if let Some(day) = day {
                parse_day(day).ok_or_else(|| ApiError::invalid(field, "must be a day as YYYY-MM-DD"))?;
            }
        }
        Ok(())
    }
}

/// `YYYY-MM-DD` → Unix seconds at 00:00 UTC.
pub fn parse_day(day: &str) -> Option<i64> {
    let mut parts = day.split('-');
    let (y, m, d) = (parts.next()?.parse::<i64>().ok()?, parts.next()?.parse::<i64>().ok()?, parts.next()?.parse::<i64>().ok()?);
    if parts.next().is_some() || !(1970..=9999).contains(&y) || !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    Some(crate::time::days_from_civil(y, m as u32, d as u32) * 86_400)
}

/// A piece of a highlighted title: `hit` pieces matched the query.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Fragment {
    pub text: String,
    pub hit: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SearchHit {
    pub kind: HitKind,
    /// The dataset (or dashboard) id.
    pub id: String,
    /// The dataset's name (for files: the dataset they are in).
    pub dataset_name: String,
    /// A file's path; a run's id.
    pub path: Option<String>,
    /// The name, with the matching words marked.
    pub title: Vec<Fragment>,
    pub description: String,
    pub size: u64,
    pub modified: i64,
    pub file_type: Option<String>,
    pub labels: Vec<Tag>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SearchResults {
    /// Hits of the asked kind (all kinds when none was asked).
    pub total: u64,
    /// Hits per kind, whatever kind was asked.
    pub datasets: u64,
    pub files: u64,
    pub dashboards: u64,
    #[serde(default)]
    pub runs: u64,
    pub hits: Vec<SearchHit>,
    /// Labels of the matching files, most frequent first.
    pub facets: Vec<LabelCount>,
    /// What the query parser did not take literally (an unbalanced quote…).
    pub notes: Vec<String>,
    /// While the index is being rebuilt results may be incomplete.
    pub indexing: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_are_unix_midnights() {
        assert_eq!(parse_day("1970-01-01"), Some(0));
        assert_eq!(parse_day("2026-11-23"), Some(1_795_392_000));
        assert_eq!(parse_day("2026-13-01"), None);
        assert_eq!(parse_day("yesterday"), None);
    }

    #[test]
    fn bad_requests_name_the_field() {
        let long = SearchRequest { q: "x".repeat(501), ..Default::default() };
        assert_eq!(long.validate().unwrap_err().field.as_deref(), Some("q"));
        let deep = SearchRequest { offset: 995, limit: Some(10), ..Default::default() };
        assert_eq!(deep.validate().unwrap_err().field.as_deref(), Some("offset"));
        let day = SearchRequest { modified_from: Some("11/23/2026".into()), ..Default::default() };
        assert_eq!(day.validate().unwrap_err().field.as_deref(), Some("modified_from"));
    }
}
