//! The export format of flask-monitoring-dashboard ≤ 2.0 (read by
//! [`super::remote`]).
//!
//! `/dashboard/get_json_data/<from>/<to>` (Unix seconds) answers an HS256
//! JWT signed with the service's security token; its `data` claim is a JSON
//! *string* holding a list of calls:
//! `{"endpoint_id", "duration" (ms), "time_requested" ("YYYY-MM-DD HH:MM:SS.ffffff", UTC),
//! "version_requested", "group_by", "ip"}`. `get_json_monitor_rules` lists
//! the endpoints (`{"name", "endpoint_id"?…}`) the same way.

use jsonwebtoken::{decode, Algorithm, DecodingKey, Validation};
use serde::Deserialize;

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ExportError {
    #[error("the export is not signed with this security token (or is not a flask-monitoring-dashboard export)")]
    BadSignature,
    #[error("the export's content is not what flask-monitoring-dashboard writes: {0}")]
    Malformed(String),
}

#[derive(Deserialize)]
struct Claims {
    data: String,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ExportedCall {
    pub endpoint_id: i64,
    /// Milliseconds.
    pub duration: f64,
    pub time_requested: String,
    #[serde(default)]
    pub ip: Option<String>,
    #[serde(default)]
    pub version_requested: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ExportedEndpoint {
    pub name: String,
    #[serde(default, alias = "id")]
    pub endpoint_id: Option<i64>,
}

/// The `data` claim of a token-signed export, verified.
fn claims(token: &str, secret: &str) -> Result<String, ExportError> {
    let mut validation = Validation::new(Algorithm::HS256);
    // The exports carry no registered claims (no exp, aud or iss).
    validation.required_spec_claims.clear();
    validation.validate_exp = false;
    let decoded =
        decode::<Claims>(token.trim(), &DecodingKey::from_secret(secret.as_bytes()), &validation).map_err(|err| match err.kind() {
            jsonwebtoken::errors::ErrorKind::InvalidSignature => ExportError::BadSignature,
            _ => ExportError::Malformed(err.to_string()),
        })?;
    Ok(decoded.claims.data)
}

pub fn decode_calls(token: &str, secret: &str) -> Result<Vec<ExportedCall>, ExportError> {
    serde_json::from_str(&claims(token, secret)?).map_err(|e| ExportError::Malformed(e.to_string()))
}

pub fn decode_endpoints(token: &str, secret: &str) -> Result<Vec<ExportedEndpoint>, ExportError> {
    serde_json::from_str(&claims(token, secret)?).map_err(|e| ExportError::Malformed(e.to_string()))
}

/// `2026-11-23 16:53:11.387238` (UTC) → Unix milliseconds.
pub fn parse_time(text: &str) -> Option<i64> {
    agora_model::monitoring::parse_iso8601(&text.replacen(' ', "T", 1))
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::{encode, EncodingKey, Header};

    /// As flask-monitoring-dashboard 2.0 signs it: `jwt.encode({'data': json.dumps(data)}, token, 'HS256')`.
    fn signed(data: &str, secret: &str) -> String {
        #[derive(serde::Serialize)]
        struct Data<'a> {
            data: &'a str,
        }
        encode(&Header::new(Algorithm::HS256), &Data { data }, &EncodingKey::from_secret(secret.as_bytes())).unwrap()
    }

    #[test]
    fn token_signed_exports_are_verified_and_read() {
        let data = r#"[{"duration": 12.5, "endpoint_id": 1, "group_by": "None", "ip": "127.0.0.1", "time_requested": "2026-11-23 16:53:11.387238", "version_requested": "1.0"}]"#;
        let token = signed(data, "s3cret-token");
        let calls = decode_calls(&token, "s3cret-token").unwrap();
        assert_eq!(calls[0].duration, 12.5);
        assert_eq!(decode_calls(&token, "another token"), Err(ExportError::BadSignature));
        assert!(matches!(decode_calls("not a jwt", "s3cret-token"), Err(ExportError::Malformed(_))));
        assert_eq!(calls[0].version_requested.as_deref(), Some("1.0"));
        assert_eq!(parse_time(&calls[0].time_requested), agora_model::monitoring::parse_iso8601("2026-11-23T16:53:11.387Z"));
        assert_eq!(parse_time("2026-11-23 16:53:11"), agora_model::monitoring::parse_iso8601("2026-11-23T16:53:11Z"));
        let rules = signed(r#"[{"name": "hello", "endpoint_id": 1, "monitor_level": 1}]"#, "k");
        assert_eq!(decode_endpoints(&rules, "k").unwrap()[0].name, "hello");
    }
}
