//! What `/readyz` and the home page's status card report.

use serde::{Deserialize, Serialize};

/// One component's state at the moment it was checked.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ComponentStatus {
    /// Short stable name, e.g. `storage`.
    pub name: String,
    pub ok: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub latency_ms: f64,
}

/// Readiness of the whole hub: ready when every component is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReadinessReport {
    pub ready: bool,
    pub version: String,
    pub components: Vec<ComponentStatus>,
}
