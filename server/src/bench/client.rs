//! A benchmark's REST client: Agora's base URL and a bearer token.

use anyhow::bail;
use reqwest::Method;
use serde_json::Value;

/// Attempts of a request Agora answers `503`.
const RETRIES: u64 = 20;

pub struct Api {
    pub client: reqwest::Client,
    /// `http://host:port/api/v1` (or the root, as the caller builds paths).
    pub base: String,
    pub token: String,
}

impl Api {
    /// POSTs JSON and returns the answer; anything but a success is an error
    /// with the status and the body.
    pub async fn post(&self, path: &str, body: Value) -> anyhow::Result<Value> {
        self.call(Method::POST, path, &[], Some(body)).await
    }

    /// PUTs JSON, as [`Api::post`].
    pub async fn put(&self, path: &str, body: Value) -> anyhow::Result<Value> {
        self.call(Method::PUT, path, &[], Some(body)).await
    }

    /// GETs `path` with `query`, as [`Api::post`].
    pub async fn get(&self, path: &str, query: &[(&str, &str)]) -> anyhow::Result<Value> {
        self.call(Method::GET, path, query, None).await
    }

    /// Sends the request; a `503` (Agora shedding load, e.g. too many
    /// completions at once) is retried after a pause, as a client should.
    async fn call(&self, method: Method, path: &str, query: &[(&str, &str)], body: Option<Value>) -> anyhow::Result<Value> {
        for attempt in 1u64.. {
            let mut request = self.client.request(method.clone(), format!("{}{path}", self.base)).query(query).bearer_auth(&self.token);
            if let Some(body) = &body {
                request = request.json(body);
            }
            let response = request.send().await?;
            let status = response.status();
            let value: Value = response.json().await.unwrap_or(Value::Null);
            if status == reqwest::StatusCode::SERVICE_UNAVAILABLE && attempt < RETRIES {
                tokio::time::sleep(std::time::Duration::from_millis(50 * attempt)).await;
                continue;
            }
            if !status.is_success() {
                bail!("{method} {path} answered {status}: {value}");
            }
            return Ok(value);
        }
        unreachable!("the loop returns")
    }
}
