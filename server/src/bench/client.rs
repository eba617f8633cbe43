//! A benchmark's REST client: Agora's base URL and a bearer token.

use anyhow::bail;
use serde_json::Value;

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
        let response = self.client.post(format!("{}{path}", self.base)).bearer_auth(&self.token).json(&body).send().await?;
        let status = response.status();
        let value: Value = response.json().await.unwrap_or(Value::Null);
        if !status.is_success() {
            bail!("POST {path} answered {status}: {value}");
        }
        Ok(value)
    }
}
