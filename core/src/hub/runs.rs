//! Training runs as a caller performs them, in the wire types.

use std::sync::Arc;

use agora_model::dashboards::{DashboardView, NewDashboard, Panel, PanelContent};
use agora_model::files::{DownloadLink, UploadTicket};
use agora_model::runs::{ArtifactUpload, LogAccepted, NewRun, RoundReport, RunEnd, RunView};
use agora_model::ApiError;

use super::Hub;
use crate::auth::caller::Caller;
use crate::datasets::runs::LogChunk;
use crate::live::StreamPermit;

/// What a log watcher starts from.
pub struct LogWatch {
    pub tail: Vec<String>,
    pub last_chunk: Option<String>,
    pub live: tokio::sync::broadcast::Receiver<Arc<LogChunk>>,
    /// The watcher's place among the node's live streams.
    pub permit: StreamPermit,
}

impl Hub {
    pub async fn start_run(&self, caller: &Caller, id: &str, request: NewRun) -> Result<RunView, ApiError> {
        self.datasets().start_run(caller, id, request).await.map_err(|e| e.to_api())
    }

    pub async fn runs(&self, caller: &Caller, id: &str) -> Result<Vec<RunView>, ApiError> {
        self.datasets().runs(caller, id).await.map_err(|e| e.to_api())
    }

    pub async fn run(&self, caller: &Caller, id: &str, run: &str) -> Result<RunView, ApiError> {
        self.datasets().run(caller, id, run).await.map_err(|e| e.to_api())
    }

    pub async fn heartbeat(&self, caller: &Caller, id: &str, run: &str) -> Result<RunView, ApiError> {
        self.datasets().heartbeat(caller, id, run).await.map_err(|e| e.to_api())
    }

    pub async fn report_round(&self, caller: &Caller, id: &str, run: &str, report: RoundReport) -> Result<RunView, ApiError> {
        self.datasets().report_round(caller, id, run, report).await.map_err(|e| e.to_api())
    }

    pub async fn end_run(&self, caller: &Caller, id: &str, run: &str, end: RunEnd) -> Result<RunView, ApiError> {
        self.datasets().end_run(caller, id, run, end).await.map_err(|e| e.to_api())
    }

    pub async fn append_log(&self, caller: &Caller, id: &str, run: &str, lines: Vec<String>) -> Result<LogAccepted, ApiError> {
        self.datasets().append_log(caller, id, run, lines).await.map_err(|e| e.to_api())
    }

    /// The log's bytes, chunk by chunk. A chunk that cannot be read ends
    /// the body early (logged), so a download is never silently short.
    pub async fn run_log(
        &self,
        caller: &Caller,
        id: &str,
        run: &str,
    ) -> Result<impl futures::Stream<Item = Result<bytes::Bytes, std::io::Error>> + Send + 'static, ApiError> {
        let chunks = self.datasets().log_text(caller, id, run).await.map_err(|e| e.to_api())?;
        Ok(futures::StreamExt::map(chunks, |chunk| {
            chunk.map_err(|err| {
                tracing::warn!(error = %err, "a log download ended early: a chunk could not be read");
                std::io::Error::other("a log chunk could not be read")
            })
        }))
    }

    pub async fn watch_log(&self, caller: &Caller, id: &str, run: &str) -> Result<LogWatch, ApiError> {
        let (tail, last_chunk, live) = self.datasets().watch_log(caller, id, run).await.map_err(|e| e.to_api())?;
        let permit = self.live().admit(caller)?;
        Ok(LogWatch { tail, last_chunk, live, permit })
    }

    /// Log chunks stored after `after` (by any node).
    pub async fn log_chunks_after(&self, id: &str, run: &str, after: Option<&str>) -> Result<Vec<LogChunk>, ApiError> {
        self.datasets().log_chunks(id, run, after).await.map_err(|e| e.to_api())
    }

    pub async fn start_artifact_upload(
        &self,
        caller: &Caller,
        id: &str,
        run: &str,
        round: i64,
        upload: ArtifactUpload,
    ) -> Result<UploadTicket, ApiError> {
        self.datasets().start_artifact_upload(caller, id, run, round, upload).await.map_err(|e| e.to_api())
    }

    pub async fn artifact_download(&self, caller: &Caller, id: &str, run: &str, round: i64, name: &str) -> Result<DownloadLink, ApiError> {
        self.datasets().artifact_download(caller, id, run, round, name).await.map_err(|e| e.to_api())
    }

    /// A dashboard of the session's metric charts (one figure per metric,
    /// the other `compare` sessions of the dataset overlaid).
    pub async fn run_dashboard(&self, caller: &Caller, id: &str, run: &str, compare: Vec<String>) -> Result<DashboardView, ApiError> {
        let main = self.run(caller, id, run).await?;
        let mut runs = vec![main.clone()];
        for other in compare.iter().filter(|o| **o != run).take(20) {
            runs.push(self.run(caller, id, other).await?);
        }
        let panels: Vec<Panel> = main
            .metric_names()
            .into_iter()
            .take(agora_model::dashboards::MAX_PANELS)
            .enumerate()
            .map(|(n, metric)| Panel {
                title: metric.clone(),
                x: (n as u32 % 2) * 6,
                y: (n as u32 / 2) * 5,
                w: 6,
                h: 5,
                content: PanelContent::Figure { figure: agora_model::runs::metric_figure(&runs, &metric) },
            })
            .collect();
        let request = NewDashboard {
            title: format!("{} — metrics", main.name).chars().take(agora_model::dashboards::TITLE_MAX_CHARS).collect(),
            description: format!("Metric charts of the training session {} ({}).", main.name, main.id),
            panels,
        };
        self.create_dashboard(caller, request).await
    }
}
