//! The JSON schema every dashboard is checked against: the one shipped in
//! `schemas/dashboard.schema.json`, or an operator's own
//! (`AGORA_DASHBOARD_SCHEMA`).

use std::path::Path;
use std::sync::Arc;

use agora_model::ApiError;
use serde_json::Value;

/// The schema shipped in the repository.
pub const SHIPPED: &str = include_str!("../../../schemas/dashboard.schema.json");

#[derive(Clone)]
pub struct DocumentSchema(Arc<jsonschema::Validator>);

impl std::fmt::Debug for DocumentSchema {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DocumentSchema")
    }
}

impl Default for DocumentSchema {
    fn default() -> Self {
        Self::parse(SHIPPED).expect("the shipped dashboard schema is valid")
    }
}

impl DocumentSchema {
    pub fn parse(text: &str) -> Result<Self, String> {
        let schema: Value = serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
        let validator = jsonschema::validator_for(&schema).map_err(|e| format!("not a valid JSON schema: {e}"))?;
        Ok(Self(Arc::new(validator)))
    }

    /// The shipped schema, or the one at `path`.
    pub fn load(path: Option<&Path>) -> Result<Self, String> {
        match path {
            None => Ok(Self::default()),
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|e| format!("could not read {}: {e}", path.display()))?;
                Self::parse(&text).map_err(|e| format!("{}: {e}", path.display()))
            }
        }
    }

    /// Checks a dashboard (`{title, description, panels}`); the first
    /// violation is the error, named by where it is (`panels[2].figure.data`).
    pub fn check(&self, document: &Value) -> Result<(), ApiError> {
        let Some(error) = self.0.iter_errors(document).next() else { return Ok(()) };
        let field = field_name(&error.instance_path().to_string());
        let message = format!("does not match the dashboard schema: {}", error.masked());
        Err(ApiError::invalid(if field.is_empty() { "dashboard".to_owned() } else { field }, message))
    }
}

/// `/panels/0/figure/data` → `panels[0].figure.data`.
fn field_name(pointer: &str) -> String {
    let mut field = String::new();
    for segment in pointer.split('/').filter(|s| !s.is_empty()) {
        let segment = segment.replace("~1", "/").replace("~0", "~");
        if segment.bytes().all(|b| b.is_ascii_digit()) {
            field.push_str(&format!("[{segment}]"));
        } else {
            if !field.is_empty() {
                field.push('.');
            }
            field.push_str(&segment);
        }
    }
    field
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn violations_are_named_by_where_they_are() {
        let schema = DocumentSchema::default();
        let ok = json!({"title": "t", "panels": [{"kind": "figure", "x": 0, "y": 0, "w": 6, "h": 4, "figure": {"data": []}}]});
        assert!(schema.check(&ok).is_ok());
        let bad = json!({"title": "t", "panels": [{"kind": "figure", "x": 0, "y": 0, "w": 6, "h": 4, "figure": {"data": [1]}}]});
        let err = schema.check(&bad).unwrap_err();
        assert_eq!(err.field.as_deref(), Some("panels[0].figure.data[0]"), "{}", err.message);
        assert!(err.message.contains("object"), "{}", err.message);
    }

    #[test]
    fn an_operator_schema_can_be_stricter() {
        let strict = DocumentSchema::parse(r#"{"properties": {"title": {"maxLength": 3}}}"#).unwrap();
        assert_eq!(strict.check(&json!({"title": "long title"})).unwrap_err().field.as_deref(), Some("title"));
        assert!(DocumentSchema::parse("{").is_err());
        assert!(DocumentSchema::parse(r#"{"type": 12}"#).is_err());
    }
}
