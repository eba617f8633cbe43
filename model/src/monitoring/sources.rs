//! Monitored sources (Agora itself and remote flask-monitoring-dashboard
//! services) and alert rules: what people send, its checks (every 400 names
//! its field), and what they get back. Credentials go in, never out.

use serde::{Deserialize, Serialize};

use super::Statistic;
use crate::ApiError;

/// The source every hub has: its own requests.
pub const SELF_SOURCE: &str = "agora";

/// How a remote service hands out its calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Protocol {
    /// flask-monitoring-dashboard ≤ 2.0: `get_json_data` signed with the
    /// service's security token (every call, as recorded).
    #[serde(rename = "fmd-token")]
    FmdToken,
    /// flask-monitoring-dashboard ≥ 3: its JSON API behind the dashboard's
    /// login (calls read window by window).
    #[serde(rename = "fmd-api")]
    FmdApi,
}

impl Protocol {
    pub fn parse(name: &str) -> Option<Protocol> {
        match name {
            "fmd-token" => Some(Protocol::FmdToken),
            "fmd-api" => Some(Protocol::FmdApi),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Protocol::FmdToken => "fmd-token",
            Protocol::FmdApi => "fmd-api",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Protocol::FmdToken => "flask-monitoring-dashboard ≤ 2.0 (security token)",
            Protocol::FmdApi => "flask-monitoring-dashboard ≥ 3 (login)",
        }
    }
}

/// What a person fills in to add a remote source.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewSource {
    pub name: String,
    /// The dashboard's address, e.g. `https://api.example.com/dashboard`.
    pub url: String,
    /// `fmd-token` (≤ 2.0) or `fmd-api` (≥ 3).
    pub protocol: String,
    /// The service's `SECURITY_TOKEN` (`fmd-token`).
    #[serde(default)]
    pub token: Option<String>,
    /// A dashboard user (`fmd-api`).
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub password: Option<String>,
}

/// How Agora proves itself to a remote service (its `Debug` hides the
/// secrets, so they never reach a log).
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Credentials {
    Token { token: String },
    Login { username: String, password: String },
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Credentials::Token { .. } => f.write_str("Token { token: <hidden> }"),
            Credentials::Login { username, .. } => write!(f, "Login {{ username: {username:?}, password: <hidden> }}"),
        }
    }
}

/// A new source that passed its checks.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckedSource {
    pub name: String,
    /// Without a trailing `/`.
    pub url: String,
    pub protocol: Protocol,
    pub credentials: Credentials,
}

pub const MAX_SOURCE_NAME: usize = 80;
const MAX_URL: usize = 2_000;
const MAX_SECRET: usize = 500;

fn required(field: &str, value: &Option<String>, what: &str) -> Result<String, ApiError> {
    match value.as_deref() {
        Some(v) if !v.is_empty() && v.len() <= MAX_SECRET => Ok(v.to_owned()),
        Some(v) if v.len() > MAX_SECRET => Err(ApiError::invalid(field, format!("{field} is longer than {MAX_SECRET} characters"))),
        _ => Err(ApiError::invalid(field, format!("{what} is required for this protocol"))),
    }
}

/// Checks a source name (1–80 characters, not blank).
pub fn check_source_name(name: &str) -> Result<String, ApiError> {
    let name = name.trim();
    if name.is_empty() {
        return Err(ApiError::invalid("name", "name must not be empty"));
    }
    if name.chars().count() > MAX_SOURCE_NAME {
        return Err(ApiError::invalid("name", format!("name must be at most {MAX_SOURCE_NAME} characters")));
    }
    Ok(name.to_owned())
}

impl NewSource {
    pub fn check(&self) -> Result<CheckedSource, ApiError> {
        let name = check_source_name(&self.name)?;
        let url = self.url.trim().trim_end_matches('/').to_owned();
        let rest = url
            .strip_prefix("http://")
            .or_else(|| url.strip_prefix("https://"))
            .ok_or_else(|| ApiError::invalid("url", "url must start with http:// or https://"))?;
        let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
        if host.is_empty() || host.contains(char::is_whitespace) || url.contains(char::is_whitespace) {
            return Err(ApiError::invalid("url", "url must name a host, without spaces"));
        }
        if url.contains(['?', '#']) {
            return Err(ApiError::invalid("url", "url must be the dashboard's address, without a query or fragment"));
        }
        if url.len() > MAX_URL {
            return Err(ApiError::invalid("url", format!("url is longer than {MAX_URL} characters")));
        }
        let protocol = Protocol::parse(&self.protocol).ok_or_else(|| {
            ApiError::invalid("protocol", "protocol must be fmd-token (flask-monitoring-dashboard ≤ 2.0) or fmd-api (≥ 3)")
        })?;
        let credentials = match protocol {
            Protocol::FmdToken => Credentials::Token { token: required("token", &self.token, "the service's security token")? },
            Protocol::FmdApi => Credentials::Login {
                username: required("username", &self.username, "a dashboard user name")?,
                password: required("password", &self.password, "the dashboard user's password")?,
            },
        };
        Ok(CheckedSource { name, url, protocol, credentials })
    }
}

/// Where monitored sources may be fetched from, as administrators see it
/// on the monitoring page.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DestinationPolicyView {
    /// Inside addresses an operator allowed (`AGORA_MONITOR_ALLOW`): CIDRs
    /// and host names.
    pub allowed: Vec<String>,
    /// Agora's own listeners, always refused.
    pub own_listeners: Vec<String>,
    /// What is refused unless allowed.
    pub inside: Vec<String>,
    /// What is refused whatever is allowed.
    pub never: Vec<String>,
    /// Most remote sources one account may add.
    pub max_sources_per_user: usize,
    /// Seconds one fetch of one source may take.
    pub fetch_budget_secs: u64,
}

/// A source as people see it (never with its credentials).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SourceView {
    pub id: String,
    pub name: String,
    /// `self` (Agora's own requests), `fmd-token` or `fmd-api`.
    pub kind: String,
    pub url: Option<String>,
    /// The account that added it.
    pub owner: Option<String>,
    /// `ok`, `failing` (the last fetch failed), `waiting` (not fetched yet)
    /// or `recording` (Agora itself).
    pub health: String,
    /// Calls recorded over the last 24 hours.
    pub calls_24h: u64,
    /// When the last fetch was tried, succeeded, and is due (ISO-8601).
    pub last_attempt_at: Option<String>,
    pub last_success_at: Option<String>,
    pub next_fetch_at: Option<String>,
    /// Calls up to here have been fetched.
    pub fetched_until: Option<String>,
    /// Why the last fetch failed.
    pub last_error: Option<String>,
    /// Failed fetches in a row (each doubles the wait, up to an hour).
    pub failures: u32,
    pub disabled_endpoints: Vec<String>,
}

/// Switches one endpoint of a source on or off for display.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EndpointToggle {
    pub endpoint: String,
    pub enabled: bool,
}

/// The statistics an alert rule can watch.
pub const ALERT_STATISTICS: [&str; 6] =
    ["percentile_99", "percentile_90", "median", "average_execution_time", "slowest_execution_time", "error_rate"];

/// An alert rule as a person writes it: "the p99 of `GET /hello` over the
/// last 5 minutes above 250 ms", or "the error rate above 5 %".
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewAlertRule {
    /// One endpoint, or every enabled endpoint when absent.
    #[serde(default)]
    pub endpoint: Option<String>,
    /// One of `percentile_99`, `percentile_90`, `median`,
    /// `average_execution_time`, `slowest_execution_time` (milliseconds) or
    /// `error_rate` (percent of calls answered 5xx).
    pub statistic: String,
    /// The window the statistic is computed over, in minutes (1–1440).
    pub window_minutes: u32,
    /// Milliseconds, or percent for `error_rate`.
    pub threshold: f64,
}

pub const MAX_ALERT_RULES: usize = 50;

impl NewAlertRule {
    pub fn check(&self) -> Result<NewAlertRule, ApiError> {
        let statistic = self.statistic.trim();
        if !ALERT_STATISTICS.contains(&statistic) {
            return Err(ApiError::invalid("statistic", format!("statistic must be one of {}", ALERT_STATISTICS.join(", "))));
        }
        if !(1..=1440).contains(&self.window_minutes) {
            return Err(ApiError::invalid("window_minutes", "window_minutes must be between 1 and 1440"));
        }
        if !self.threshold.is_finite() || self.threshold < 0.0 {
            return Err(ApiError::invalid("threshold", "threshold must be a number of at least 0"));
        }
        if statistic == "error_rate" && self.threshold > 100.0 {
            return Err(ApiError::invalid("threshold", "an error-rate threshold is a percentage: at most 100"));
        }
        let endpoint = self.endpoint.as_deref().map(str::trim).filter(|e| !e.is_empty()).map(str::to_owned);
        if endpoint.as_ref().is_some_and(|e| e.len() > 500) {
            return Err(ApiError::invalid("endpoint", "endpoint is longer than 500 characters"));
        }
        Ok(NewAlertRule { endpoint, statistic: statistic.to_owned(), window_minutes: self.window_minutes, threshold: self.threshold })
    }

    /// The statistic in the monitoring vocabulary (`None` for the error rate).
    pub fn latency_statistic(&self) -> Option<Statistic> {
        Statistic::parse(&self.statistic)
    }

    /// "p99 of GET /hello over 5 min above 250 ms".
    pub fn describe(&self) -> String {
        let what = match self.statistic.as_str() {
            "percentile_99" => "p99",
            "percentile_90" => "p90",
            "average_execution_time" => "average",
            "slowest_execution_time" => "slowest",
            other => other,
        }
        .replace('_', " ");
        let of = self.endpoint.as_deref().unwrap_or("all endpoints");
        let unit = if self.statistic == "error_rate" { " %" } else { " ms" };
        format!("{what} of {of} over {} min above {}{unit}", self.window_minutes, self.threshold)
    }
}

/// An alert rule with its state.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AlertRule {
    pub id: String,
    #[serde(flatten)]
    pub rule: NewAlertRule,
    /// Who made it and gets its mail.
    pub owner: String,
    /// Above the threshold at the last check (mail goes out when it starts
    /// being, and again when it is back below).
    pub firing: bool,
    pub last_value: Option<f64>,
    pub last_checked_at: Option<String>,
    pub last_fired_at: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source(protocol: &str) -> NewSource {
        NewSource {
            name: " Shop API ".into(),
            url: "http://127.0.0.1:5000/dashboard/".into(),
            protocol: protocol.into(),
            token: Some("t0k".into()),
            username: Some("admin".into()),
            password: Some("pw".into()),
        }
    }

    fn field(result: Result<impl std::fmt::Debug, ApiError>) -> String {
        result.unwrap_err().field.unwrap_or_default()
    }

    #[test]
    fn sources_are_checked_field_by_field() {
        let checked = source("fmd-token").check().unwrap();
        assert_eq!((checked.name.as_str(), checked.url.as_str()), ("Shop API", "http://127.0.0.1:5000/dashboard"));
        assert_eq!(checked.credentials, Credentials::Token { token: "t0k".into() });
        let login = source("fmd-api").check().unwrap().credentials;
        assert!(matches!(login, Credentials::Login { .. }));
        assert!(!format!("{login:?}").contains("pw"), "secrets stay out of logs");
        assert_eq!(field(NewSource { name: "  ".into(), ..source("fmd-api") }.check()), "name");
        assert_eq!(field(NewSource { url: "ftp://x".into(), ..source("fmd-api") }.check()), "url");
        assert_eq!(field(NewSource { url: "http:///dashboard".into(), ..source("fmd-api") }.check()), "url");
        assert_eq!(field(NewSource { url: "http://x/d?a=1".into(), ..source("fmd-api") }.check()), "url");
        assert_eq!(field(source("graphite").check()), "protocol");
        assert_eq!(field(NewSource { token: None, ..source("fmd-token") }.check()), "token");
        assert_eq!(field(NewSource { password: Some(String::new()), ..source("fmd-api") }.check()), "password");
        assert_eq!(field(NewSource { username: None, ..source("fmd-api") }.check()), "username");
    }

    #[test]
    fn alert_rules_are_checked_field_by_field() {
        let rule =
            NewAlertRule { endpoint: Some(" hello ".into()), statistic: "percentile_99".into(), window_minutes: 5, threshold: 250.0 };
        let checked = rule.check().unwrap();
        assert_eq!(checked.endpoint.as_deref(), Some("hello"));
        assert_eq!(checked.describe(), "p99 of hello over 5 min above 250 ms");
        assert_eq!(checked.latency_statistic(), Some(Statistic::Percentile99));
        assert_eq!(field(NewAlertRule { statistic: "p99".into(), ..rule.clone() }.check()), "statistic");
        assert_eq!(field(NewAlertRule { window_minutes: 0, ..rule.clone() }.check()), "window_minutes");
        assert_eq!(field(NewAlertRule { threshold: f64::NAN, ..rule.clone() }.check()), "threshold");
        assert_eq!(field(NewAlertRule { statistic: "error_rate".into(), threshold: 120.0, ..rule.clone() }.check()), "threshold");
        let errors = NewAlertRule { statistic: "error_rate".into(), threshold: 5.0, endpoint: None, ..rule }.check().unwrap();
        assert_eq!(errors.latency_statistic(), None);
        assert_eq!(errors.describe(), "error rate of all endpoints over 5 min above 5 %");
    }
}
