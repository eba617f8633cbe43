//! Training runs: sessions a training client reports to a dataset, their
//! rounds with metrics and model artifacts, and their logs.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::ApiError;

pub const NAME_MAX_CHARS: usize = 200;
/// Bytes of a session's parameters as JSON.
pub const PARAMS_MAX_BYTES: usize = 64 * 1024;
pub const MAX_METRICS: usize = 100;
pub const METRIC_NAME_MAX_CHARS: usize = 100;
pub const NOTES_MAX_CHARS: usize = 10_000;
pub const REASON_MAX_CHARS: usize = 2_000;
/// Bytes of one log line.
pub const LOG_LINE_MAX_BYTES: usize = 16 * 1024;
/// Lines one request may append.
pub const LOG_LINES_PER_REQUEST: usize = 10_000;
pub const MAX_ROUND: i64 = 1_000_000_000;
/// An idempotency key's length.
pub const KEY_MAX_CHARS: usize = 200;
/// Artifact file names: one path segment.
pub const ARTIFACT_NAME_MAX_CHARS: usize = 255;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    Running,
    Finished,
    Failed,
    /// Running, but no heartbeat (or other report) for longer than the
    /// hub's stale limit.
    Stale,
}

impl RunStatus {
    pub fn label(self) -> &'static str {
        match self {
            RunStatus::Running => "running",
            RunStatus::Finished => "finished",
            RunStatus::Failed => "failed",
            RunStatus::Stale => "stale",
        }
    }
}

/// Starts a session.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewRun {
    pub name: String,
    /// Hyper-parameters and anything else worth keeping, as JSON.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub params: serde_json::Value,
    /// A client that may retry sends the same key: the session is started
    /// once, and a retry gets the same session.
    #[serde(default)]
    pub idempotency_key: Option<String>,
}

/// Reports one round. Reporting a round again replaces it (a retry gives
/// one round).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RoundReport {
    pub round: i64,
    /// Metric name → a finite number.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub metrics: serde_json::Map<String, serde_json::Value>,
    #[serde(default)]
    pub notes: String,
}

/// Ends a session.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RunEnd {
    /// `finished` or `failed`.
    pub status: RunStatus,
    #[serde(default)]
    pub reason: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LogAppend {
    pub lines: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LogAccepted {
    /// Lines stored.
    pub accepted: u64,
    /// The session's log reached its limit: these lines and later ones are
    /// dropped, and the log ends with a "truncated" marker.
    pub truncated: bool,
}

/// An artifact of a round to upload (`model.h5`…), any size: the answer is
/// an upload ticket, as for dataset files (one PUT, or parts).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ArtifactUpload {
    pub name: String,
    pub size: u64,
    #[serde(default)]
    pub content_type: Option<String>,
    /// The base64 MD5 of the artifact's bytes, as for a file upload
    /// (`UploadRequest::md5`): required when it goes in one PUT.
    #[serde(default)]
    pub md5: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ArtifactView {
    pub name: String,
    pub size: u64,
    pub etag: String,
    pub at: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RoundView {
    pub round: i64,
    pub metrics: BTreeMap<String, f64>,
    pub notes: String,
    pub at: i64,
    pub artifacts: Vec<ArtifactView>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RunView {
    pub id: String,
    pub dataset: String,
    pub name: String,
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub params: serde_json::Value,
    pub status: RunStatus,
    pub reason: String,
    /// Unix seconds.
    pub started_at: i64,
    pub ended_at: Option<i64>,
    /// The last heartbeat or report (Unix seconds).
    pub last_seen: i64,
    /// Who started it (username).
    pub by: String,
    pub rounds: Vec<RoundView>,
    pub log_bytes: u64,
    pub log_truncated: bool,
}

impl RunView {
    pub fn last_round(&self) -> Option<i64> {
        self.rounds.iter().map(|r| r.round).max()
    }

    /// Seconds from start to end (or to the last sign of life).
    pub fn duration(&self) -> i64 {
        self.ended_at.unwrap_or(self.last_seen).saturating_sub(self.started_at).max(0)
    }

    /// The best value of a metric over the rounds: lowest for names that
    /// read like losses and errors, highest otherwise.
    pub fn best(&self, metric: &str) -> Option<f64> {
        let values = self.rounds.iter().filter_map(|r| r.metrics.get(metric).copied());
        if lower_is_better(metric) {
            values.reduce(f64::min)
        } else {
            values.reduce(f64::max)
        }
    }

    /// Metric names over all rounds, sorted.
    pub fn metric_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.rounds.iter().flat_map(|r| r.metrics.keys().cloned()).collect();
        names.sort();
        names.dedup();
        names
    }
}

pub fn lower_is_better(metric: &str) -> bool {
    let m = metric.to_ascii_lowercase();
    ["loss", "error", "err", "mse", "mae", "rmse", "perplexity", "wer", "cer"].iter().any(|w| m.contains(w))
}

pub fn normalize_name(raw: &str) -> Result<String, ApiError> {
    let name = raw.trim();
    let chars = name.chars().count();
    if chars == 0 || chars > NAME_MAX_CHARS || name.chars().any(char::is_control) {
        return Err(ApiError::invalid("name", format!("must be 1 to {NAME_MAX_CHARS} characters, without control characters")));
    }
    Ok(name.to_owned())
}

pub fn validate_params(params: &serde_json::Value) -> Result<(), ApiError> {
    let bytes = serde_json::to_vec(params).map(|v| v.len()).unwrap_or(usize::MAX);
    if bytes > PARAMS_MAX_BYTES {
        return Err(ApiError::invalid("params", format!("must be at most {PARAMS_MAX_BYTES} bytes of JSON; these are {bytes}")));
    }
    Ok(())
}

/// Checks a round and returns its metrics as numbers.
pub fn validate_round(report: &RoundReport) -> Result<BTreeMap<String, f64>, ApiError> {
    if !(0..=MAX_ROUND).contains(&report.round) {
        return Err(ApiError::invalid("round", format!("must be a whole number from 0 to {MAX_ROUND}; it is {}", report.round)));
    }
    if report.metrics.len() > MAX_METRICS {
        return Err(ApiError::invalid("metrics", format!("at most {MAX_METRICS} metrics per round; there are {}", report.metrics.len())));
    }
    if report.notes.chars().count() > NOTES_MAX_CHARS {
        return Err(ApiError::invalid("notes", format!("must be at most {NOTES_MAX_CHARS} characters")));
    }
    let mut metrics = BTreeMap::new();
    for (name, value) in &report.metrics {
        if name.is_empty() || name.chars().count() > METRIC_NAME_MAX_CHARS || name.chars().any(char::is_control) {
            return Err(ApiError::invalid("metrics", format!("metric names must be 1 to {METRIC_NAME_MAX_CHARS} printable characters")));
        }
        let number = value.as_f64().filter(|n| n.is_finite());
        let Some(number) = number else {
            return Err(ApiError::invalid(format!("metrics.{name}"), format!("must be a finite number; it is {value}")));
        };
        metrics.insert(name.clone(), number);
    }
    Ok(metrics)
}

pub fn validate_lines(lines: &[String]) -> Result<(), ApiError> {
    if lines.len() > LOG_LINES_PER_REQUEST {
        return Err(ApiError::invalid("lines", format!("at most {LOG_LINES_PER_REQUEST} lines per request; send the rest in another")));
    }
    for (n, line) in lines.iter().enumerate() {
        if line.len() > LOG_LINE_MAX_BYTES {
            return Err(ApiError::invalid(
                format!("lines[{n}]"),
                format!("a line may take at most {LOG_LINE_MAX_BYTES} bytes; it takes {}", line.len()),
            ));
        }
    }
    Ok(())
}

/// An artifact's file name: one path segment of printable characters.
pub fn validate_artifact_name(name: &str) -> Result<(), ApiError> {
    let ok = !name.is_empty()
        && name.chars().count() <= ARTIFACT_NAME_MAX_CHARS
        && name != "."
        && name != ".."
        && !name.contains(['/', '\\'])
        && !name.chars().any(char::is_control);
    if !ok {
        return Err(ApiError::invalid("name", format!("must be a file name (no slashes), 1 to {ARTIFACT_NAME_MAX_CHARS} characters")));
    }
    Ok(())
}

/// One metric over the rounds of each session, as a Plotly figure (a line
/// per session): what the session page draws and "save as dashboard" keeps.
pub fn metric_figure(runs: &[RunView], metric: &str) -> serde_json::Value {
    let data: Vec<serde_json::Value> = runs
        .iter()
        .map(|run| {
            let (x, y): (Vec<i64>, Vec<f64>) = run.rounds.iter().filter_map(|r| r.metrics.get(metric).map(|v| (r.round, *v))).unzip();
            serde_json::json!({"type": "scatter", "mode": "lines+markers", "name": run.name, "x": x, "y": y})
        })
        .collect();
    serde_json::json!({
        "data": data,
        "layout": {
            "xaxis": {"title": {"text": "round"}},
            "yaxis": {"title": {"text": metric}},
            "showlegend": runs.len() > 1,
            "margin": {"t": 20}
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn report(value: serde_json::Value) -> RoundReport {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn rounds_take_finite_numbers_and_name_what_is_wrong() {
        let ok = validate_round(&report(json!({"round": 3, "metrics": {"loss": 0.25, "acc": 1}}))).unwrap();
        assert_eq!(ok["acc"], 1.0);
        let err = validate_round(&report(json!({"round": 1, "metrics": {"loss": "low"}}))).unwrap_err();
        assert_eq!(err.field.as_deref(), Some("metrics.loss"));
        assert_eq!(validate_round(&report(json!({"round": -1}))).unwrap_err().field.as_deref(), Some("round"));
        let long = vec!["x".repeat(LOG_LINE_MAX_BYTES + 1)];
        assert_eq!(validate_lines(&long).unwrap_err().field.as_deref(), Some("lines[0]"));
        assert!(validate_params(&json!({"blob": "x".repeat(PARAMS_MAX_BYTES)})).is_err());
        assert!(validate_artifact_name("../model.h5").is_err());
        assert!(validate_artifact_name("model.h5").is_ok());
    }

    #[test]
    fn the_best_metric_depends_on_its_name() {
        let round = |n, loss, acc| RoundView {
            round: n,
            metrics: BTreeMap::from([("val_loss".to_owned(), loss), ("accuracy".to_owned(), acc)]),
            notes: String::new(),
            at: 0,
            artifacts: vec![],
        };
        let run = RunView {
            id: String::new(),
            dataset: String::new(),
            name: String::new(),
            params: json!({}),
            status: RunStatus::Running,
            reason: String::new(),
            started_at: 10,
            ended_at: None,
            last_seen: 70,
            by: String::new(),
            rounds: vec![round(1, 0.9, 0.5), round(2, 0.4, 0.8), round(3, 0.6, 0.7)],
            log_bytes: 0,
            log_truncated: false,
        };
        assert_eq!((run.best("val_loss"), run.best("accuracy")), (Some(0.4), Some(0.8)));
        assert_eq!((run.duration(), run.last_round()), (60, Some(3)));
        assert_eq!(run.metric_names(), ["accuracy", "val_loss"]);
    }
}
