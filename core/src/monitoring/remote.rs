//! Talking to remote flask-monitoring-dashboard services, in both protocols
//! found in the wild, and turning what they answer into Agora's records.
//!
//! - **≤ 2.0, `fmd-token`**: `{url}/get_json_monitor_rules` and
//!   `{url}/get_json_data/{from}/{to}` (Unix seconds, `from < t ≤ to`)
//!   answer HS256 JWTs signed with the service's security token ([`super::fmd`]).
//!   Every call comes as recorded: endpoint, duration, time, address. The
//!   rules export carries no endpoint ids; endpoints are numbered in the
//!   order it lists them, which is their id order (SQLite's row order).
//! - **≥ 3, `fmd-api`**: a form login at `{url}/login` gives a session
//!   cookie for the JSON API. It has no raw export, but its reporting call
//!   (`/api/reporting/make_report/intervals`) answers, per endpoint, the
//!   durations of the calls in any interval (`from < t ≤ to`, a random 500
//!   when there are more). Agora asks for windows small enough that every
//!   endpoint has fewer than 500 calls and that each call's time is known to
//!   within [`API_RESOLUTION_SECS`]; calls are spread evenly over their
//!   window. Calls answered with an error are listed, exactly, by the
//!   endpoint status summary (`/api/endpoint_status_code_summary/{id}`): each
//!   is matched to its call by duration and gets its status, address and
//!   exact time. Other calls' addresses are not told, so visits per IP count
//!   only the errors' for these sources.

use std::collections::HashMap;

use agora_model::monitoring::{CheckedSource, Credentials, Protocol};
use agora_model::ApiError;
use serde::Deserialize;

use super::fmd;
use super::RecordedCall;
use crate::egress::{read_capped, Egress, EgressError};

/// The reporting API's sample size: a window with this many calls of one
/// endpoint may hold more, and is split.
const API_SAMPLE: usize = 500;
/// Calls of an `fmd-api` source are placed within windows this long.
pub const API_RESOLUTION_SECS: i64 = 10;
/// Most requests one fetch of an `fmd-api` source makes (a busy backlog
/// continues at the next fetch; past it, calls keep no error status).
const API_REQUESTS_PER_FETCH: usize = 2_000;

#[derive(Debug, thiserror::Error, Clone, PartialEq)]
pub enum RemoteError {
    /// The address is wrong: unreachable, or no dashboard there.
    #[error("{0}")]
    Url(String),
    /// The dashboard is there but refuses these credentials.
    #[error("{message}")]
    Credentials { field: &'static str, message: String },
    /// It answered something this protocol does not explain.
    #[error("{0}")]
    Protocol(String),
}

impl RemoteError {
    /// As a 400 naming the field to correct (for the check before saving).
    pub fn into_api(self) -> ApiError {
        match self {
            RemoteError::Url(message) => ApiError::invalid("url", message),
            RemoteError::Credentials { field, message } => ApiError::invalid(field, message),
            RemoteError::Protocol(message) => ApiError::invalid("protocol", message),
        }
    }
}

/// Where and how to reach one remote service.
#[derive(Debug, Clone, Copy)]
pub struct Peer<'a> {
    pub url: &'a str,
    pub protocol: Protocol,
    pub credentials: &'a Credentials,
}

impl<'a> From<&'a CheckedSource> for Peer<'a> {
    fn from(source: &'a CheckedSource) -> Self {
        Peer { url: &source.url, protocol: source.protocol, credentials: &source.credentials }
    }
}

/// Talks to remote sources through the [`Egress`] client: the destination
/// policy is checked on every connection, no redirect is followed (a login
/// answers with one), and answers are read up to [`MAX_ANSWER_BYTES`].
#[derive(Clone)]
pub struct Remote {
    egress: Egress,
}

/// The largest answer read from a source (a day's export of a busy
/// service fits many times over).
pub const MAX_ANSWER_BYTES: usize = 32 << 20;

/// What went wrong on the way, said without describing the other side.
fn unreachable(url: &str, err: EgressError) -> RemoteError {
    RemoteError::Url(match err {
        EgressError::Refused(refused) => format!("{url} is {refused}"),
        EgressError::TimedOut => format!("{url} timed out"),
        EgressError::TooLarge(_) => not_a_dashboard(url),
        EgressError::Unreachable | EgressError::BadUrl(_) => format!("could not connect to {url}"),
    })
}

/// A dashboard that sends the caller to its login page.
fn redirects_to_login(response: &reqwest::Response) -> bool {
    response.headers().get(reqwest::header::LOCATION).and_then(|l| l.to_str().ok()).is_some_and(|l| l.contains("/login"))
}

fn not_a_dashboard(url: &str) -> String {
    format!("{url} is not a flask-monitoring-dashboard (the address is usually the service's, followed by /dashboard)")
}

fn no_dashboard(url: &str) -> RemoteError {
    RemoteError::Url(not_a_dashboard(url))
}

#[derive(Deserialize)]
struct ApiEndpoint {
    /// A string in 5.x (`row2dict`), a number elsewhere.
    #[serde(default)]
    id: serde_json::Value,
    name: String,
}

impl ApiEndpoint {
    fn id(&self) -> Option<String> {
        match &self.id {
            serde_json::Value::String(id) => Some(id.clone()),
            serde_json::Value::Number(id) => Some(id.to_string()),
            _ => None,
        }
    }
}

#[derive(Deserialize)]
struct StatusSummary {
    #[serde(default)]
    error_requests: Vec<serde_json::Map<String, serde_json::Value>>,
}

/// A field of a `row2dict` row: every value is a string there.
fn row_field(row: &serde_json::Map<String, serde_json::Value>, name: &str) -> Option<String> {
    match row.get(name)? {
        serde_json::Value::String(text) => Some(text.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

#[derive(Deserialize)]
struct Report {
    summaries: Vec<Summary>,
}

#[derive(Deserialize)]
struct Summary {
    endpoint_name: String,
    answers: Vec<serde_json::Value>,
}

impl Summary {
    fn durations(&self) -> Vec<f64> {
        self.answers
            .iter()
            .find(|a| a.get("type").and_then(|t| t.as_str()) == Some("MEDIAN_LATENCY"))
            .and_then(|a| a.pointer("/latencies_samples/comparison"))
            .and_then(|c| c.as_array())
            .map(|values| values.iter().filter_map(|v| v.as_f64()).collect())
            .unwrap_or_default()
    }
}

impl Remote {
    pub fn new(egress: Egress) -> Self {
        Remote { egress }
    }

    fn request(&self, method: reqwest::Method, url: &str, path: &str) -> Result<reqwest::RequestBuilder, RemoteError> {
        self.egress.request(method, &format!("{url}{path}")).map_err(|e| unreachable(url, e))
    }

    async fn send(&self, url: &str, request: reqwest::RequestBuilder) -> Result<reqwest::Response, RemoteError> {
        self.egress.send(request).await.map_err(|e| unreachable(url, e))
    }

    async fn body(url: &str, response: reqwest::Response) -> Result<bytes::Bytes, RemoteError> {
        read_capped(response, MAX_ANSWER_BYTES).await.map_err(|e| unreachable(url, e))
    }

    /// Checks that the address and credentials work; returns the service's
    /// endpoints.
    pub async fn check(&self, peer: Peer<'_>) -> Result<Vec<String>, RemoteError> {
        match (peer.protocol, peer.credentials) {
            (Protocol::FmdToken, Credentials::Token { token }) => self.token_endpoints(peer.url, token).await,
            (Protocol::FmdApi, Credentials::Login { username, password }) => {
                let cookie = self.login(peer.url, username, password).await?;
                Ok(self.api_endpoints(peer.url, &cookie).await?.into_iter().map(|e| e.name).collect())
            }
            _ => Err(RemoteError::Protocol("the credentials do not fit the protocol".into())),
        }
    }

    /// The calls made from `from` (exclusive) to `to` (inclusive), Unix
    /// seconds. Returns how far it got: a busy `fmd-api` backlog may stop
    /// early, to continue at the next fetch.
    pub async fn fetch(&self, peer: Peer<'_>, from: i64, to: i64) -> Result<(Vec<RecordedCall>, i64), RemoteError> {
        match (peer.protocol, peer.credentials) {
            (Protocol::FmdToken, Credentials::Token { token }) => Ok((self.token_calls(peer.url, token, from, to).await?, to)),
            (Protocol::FmdApi, Credentials::Login { username, password }) => {
                let cookie = self.login(peer.url, username, password).await?;
                self.api_calls(peer.url, &cookie, from, to).await
            }
            _ => Err(RemoteError::Protocol("the credentials do not fit the protocol".into())),
        }
    }

    async fn token_get(&self, url: &str, path: &str) -> Result<String, RemoteError> {
        let response = self.send(url, self.request(reqwest::Method::GET, url, path)?).await?;
        let status = response.status();
        if status.is_redirection() && redirects_to_login(&response) {
            return Err(RemoteError::Url(format!(
                "{url} asks for a login: it is flask-monitoring-dashboard 3 or later; choose the login protocol"
            )));
        }
        if !status.is_success() {
            return Err(no_dashboard(url));
        }
        let body = Self::body(url, response).await?;
        let body = String::from_utf8(body.to_vec()).map_err(|_| no_dashboard(url))?;
        if body.starts_with("ValueError: ") {
            tracing::debug!(url, answer = %body.chars().take(200).collect::<String>(), "a source could not export");
            return Err(RemoteError::Protocol("the service answered that it could not export its calls".into()));
        }
        Ok(body)
    }

    fn token_error(err: fmd::ExportError) -> RemoteError {
        match err {
            fmd::ExportError::BadSignature => {
                RemoteError::Credentials { field: "token", message: "the service's export is not signed with this security token".into() }
            }
            fmd::ExportError::Malformed(why) => RemoteError::Url(format!(
                "the answer is not a flask-monitoring-dashboard ≤ 2.0 export ({why}); for 3.x and later choose the login protocol"
            )),
        }
    }

    async fn token_endpoints(&self, url: &str, token: &str) -> Result<Vec<String>, RemoteError> {
        let rules = self.token_get(url, "/get_json_monitor_rules").await?;
        Ok(fmd::decode_endpoints(&rules, token).map_err(Self::token_error)?.into_iter().map(|e| e.name).collect())
    }

    async fn token_calls(&self, url: &str, token: &str, from: i64, to: i64) -> Result<Vec<RecordedCall>, RemoteError> {
        let names: HashMap<i64, String> =
            self.token_endpoints(url, token).await?.into_iter().enumerate().map(|(at, name)| (at as i64 + 1, name)).collect();
        let data = self.token_get(url, &format!("/get_json_data/{from}/{to}")).await?;
        let exported = fmd::decode_calls(&data, token).map_err(Self::token_error)?;
        Ok(exported
            .iter()
            .filter_map(|c| {
                Some(RecordedCall {
                    at: fmd::parse_time(&c.time_requested)?,
                    endpoint: names.get(&c.endpoint_id).cloned().unwrap_or_else(|| format!("#{}", c.endpoint_id)),
                    status: 0,
                    duration_us: (c.duration.max(0.0) * 1000.0).round() as u64,
                    ip: c.ip.clone().unwrap_or_default(),
                    user: None,
                    version: c.version_requested.clone().unwrap_or_default().into(),
                })
            })
            .collect())
    }

    /// Logs in; returns the session cookie.
    async fn login(&self, url: &str, username: &str, password: &str) -> Result<String, RemoteError> {
        let login = self.request(reqwest::Method::POST, url, "/login")?.form(&[("name", username), ("password", password)]);
        let response = self.send(url, login).await?;
        let status = response.status();
        let cookie = response
            .headers()
            .get_all(reqwest::header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok()?.split(';').next().map(str::to_owned))
            .collect::<Vec<_>>()
            .join("; ");
        let into_login = redirects_to_login(&response);
        if status.is_redirection() && !into_login && !cookie.is_empty() {
            return Ok(cookie);
        }
        if status.is_success() {
            let body = Self::body(url, response).await.unwrap_or_default();
            let body = String::from_utf8_lossy(&body);
            if body.contains("name=\"password\"") || body.contains("name='password'") {
                return Err(RemoteError::Credentials {
                    field: "password",
                    message: "the dashboard refused this user name and password".into(),
                });
            }
        }
        Err(no_dashboard(url))
    }

    async fn api_get<T: serde::de::DeserializeOwned>(
        &self,
        url: &str,
        cookie: &str,
        request: reqwest::RequestBuilder,
    ) -> Result<T, RemoteError> {
        let response = self.send(url, request.header(reqwest::header::COOKIE, cookie)).await?;
        let status = response.status();
        if status.is_redirection() {
            return Err(RemoteError::Credentials { field: "password", message: "the dashboard ended the session at once".into() });
        }
        if !status.is_success() {
            return Err(no_dashboard(url));
        }
        let body = Self::body(url, response).await?;
        serde_json::from_slice(&body)
            .map_err(|_| RemoteError::Protocol(format!("{}: its JSON API answered something unexpected", not_a_dashboard(url))))
    }

    async fn api_endpoints(&self, url: &str, cookie: &str) -> Result<Vec<ApiEndpoint>, RemoteError> {
        self.api_get(url, cookie, self.request(reqwest::Method::GET, url, "/api/endpoints")?).await
    }

    /// The durations of each endpoint's calls in `(from, to]`.
    async fn api_window(&self, url: &str, cookie: &str, from: i64, to: i64) -> Result<Vec<(String, Vec<f64>)>, RemoteError> {
        // An empty baseline (`t > to ∧ t ≤ to`) keeps the service from
        // comparing the two.
        let body = serde_json::json!({
            "interval": {"from": from, "to": to},
            "baseline_interval": {"from": to, "to": to},
        });
        let report: Report = self
            .api_get(url, cookie, self.request(reqwest::Method::POST, url, "/api/reporting/make_report/intervals")?.json(&body))
            .await?;
        Ok(report.summaries.into_iter().map(|s| (s.endpoint_name.clone(), s.durations())).filter(|(_, d)| !d.is_empty()).collect())
    }

    async fn api_calls(&self, url: &str, cookie: &str, from: i64, to: i64) -> Result<(Vec<RecordedCall>, i64), RemoteError> {
        let mut calls = Vec::new();
        // Windows still to read, earliest last (a stack).
        let mut pending = vec![(from, to)];
        let mut requests = 0;
        while let Some((start, end)) = pending.pop() {
            if requests == API_REQUESTS_PER_FETCH {
                // Everything up to the start of this window has been read.
                return Ok((calls, start));
            }
            requests += 1;
            let window = self.api_window(url, cookie, start, end).await?;
            let full = window.iter().any(|(_, d)| d.len() >= API_SAMPLE);
            let span = end - start;
            if (full && span > 1) || (!window.is_empty() && span > API_RESOLUTION_SECS) {
                let middle = start + span / 2;
                pending.push((middle, end));
                pending.push((start, middle));
                continue;
            }
            for (endpoint, durations) in window {
                let n = durations.len() as i64;
                for (at, duration) in durations.into_iter().enumerate() {
                    calls.push(RecordedCall {
                        // Spread over the window, whose calls are after `start` and at most `end`.
                        at: start * 1000 + (span * 1000 * (2 * at as i64 + 1)) / (2 * n),
                        endpoint: endpoint.clone(),
                        status: 0,
                        duration_us: (duration.max(0.0) * 1000.0).round() as u64,
                        ip: String::new(),
                        user: None,
                        version: Default::default(),
                    });
                }
            }
        }
        self.api_errors(url, cookie, &mut calls, API_REQUESTS_PER_FETCH - requests).await?;
        Ok((calls, to))
    }

    /// Gives the calls that were answered with an error their status,
    /// address and exact time, from each endpoint's status summary (at most
    /// `requests` of them: past the fetch's budget, calls keep no status).
    async fn api_errors(&self, url: &str, cookie: &str, calls: &mut [RecordedCall], requests: usize) -> Result<(), RemoteError> {
        if calls.is_empty() || requests == 0 {
            return Ok(());
        }
        let endpoints = self.api_endpoints(url, cookie).await?;
        let with_calls: Vec<ApiEndpoint> =
            endpoints.into_iter().filter(|e| calls.iter().any(|c| c.endpoint == e.name)).take(requests - 1).collect();
        for endpoint in with_calls {
            let Some(id) = endpoint.id() else { continue };
            let summary: StatusSummary = self
                .api_get(url, cookie, self.request(reqwest::Method::GET, url, &format!("/api/endpoint_status_code_summary/{id}"))?)
                .await?;
            for row in &summary.error_requests {
                let (Some(status), Some(duration), Some(at)) = (
                    row_field(row, "status_code").and_then(|s| s.parse::<u16>().ok()),
                    row_field(row, "duration").and_then(|d| d.parse::<f64>().ok()),
                    row_field(row, "time_requested").and_then(|t| fmd::parse_time(&t)),
                ) else {
                    continue;
                };
                let duration_us = (duration.max(0.0) * 1000.0).round() as u64;
                let window = (API_RESOLUTION_SECS + 1) * 1000;
                let matched = calls
                    .iter_mut()
                    .find(|c| c.status == 0 && c.endpoint == endpoint.name && c.duration_us == duration_us && (c.at - at).abs() <= window);
                if let Some(call) = matched {
                    call.status = status;
                    call.at = at;
                    call.ip = row_field(row, "ip").unwrap_or_default();
                }
            }
        }
        Ok(())
    }
}
