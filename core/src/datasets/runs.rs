//! Training runs of a dataset: sessions a training client reports with an
//! API key, their rounds and metrics, logs, and model artifacts.
//!
//! ```text
//! ds/{id}/runs/{run}.json                     the session: name, params, status, rounds (metrics, artifacts)
//! ds/{id}/runs/{run}.beat                     its heartbeat: the object's time is the last sign of life
//! ds/{id}/runs/{run}/log/{ms}-{node}-{n}.txt  log chunks, one per accepted request, in key order
//! ds/{id}/models/{run}/{round}/{file}         artifacts, uploaded like dataset files
//! ```
//!
//! The session record changes by compare-and-swap (If-Match, retried), so
//! reports from a client and its heartbeats never overwrite each other. A log
//! append is acknowledged once its chunk is stored; watchers on this node get
//! it at once, watchers on other nodes within a poll of storage.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use agora_model::files::{DownloadLink, UploadTicket};
use agora_model::runs::{
    normalize_name, validate_artifact_name, validate_lines, validate_params, validate_round, ArtifactUpload, ArtifactView, LogAccepted,
    NewRun, RoundReport, RoundView, RunEnd, RunStatus, RunView, KEY_MAX_CHARS, REASON_MAX_CHARS,
};
use agora_model::ApiError;
use bytes::Bytes;
use futures::StreamExt;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::uploads::ArtifactOf;
use super::{DatasetError, Datasets};
use crate::accounts::unix_now;
use crate::auth::access::{authorize, Need};
use crate::auth::caller::Caller;
use crate::index::{Op, RunDoc};
use crate::storage::{ListOptions, ObjectInfo, PutOptions, StorageError, WriteCondition};

/// Unless configured: a running session with no sign of life for this long is stale.
pub const DEFAULT_STALE_AFTER: Duration = Duration::from_secs(300);
/// Unless configured: bytes of log one session keeps.
pub const DEFAULT_LOG_MAX_BYTES: u64 = 64 * 1024 * 1024;
/// Heartbeats implied by log appends are written at most this often.
const BEAT_EVERY: Duration = Duration::from_secs(5);
/// Lines a watcher gets when it connects (the rest: download the log).
pub const TAIL_LINES: usize = 2000;
const CAS_TRIES: usize = 8;
const CONCURRENCY: usize = 16;

fn runs_prefix(id: &str) -> String {
    format!("ds/{id}/runs/")
}

fn run_key(id: &str, run: &str) -> String {
    format!("ds/{id}/runs/{run}.json")
}

fn beat_key(id: &str, run: &str) -> String {
    format!("ds/{id}/runs/{run}.beat")
}

fn log_prefix(id: &str, run: &str) -> String {
    format!("ds/{id}/runs/{run}/log/")
}

pub(super) fn artifact_key(id: &str, run: &str, round: i64, name: &str) -> String {
    format!("{}{run}/{round}/{name}", artifacts_prefix(id))
}

/// Where every run's model artifacts are (they count toward the quota).
pub(super) fn artifacts_prefix(id: &str) -> String {
    format!("ds/{id}/models/")
}

fn valid_run_id(run: &str) -> bool {
    run.len() == 16 && run.bytes().all(|b| b.is_ascii_hexdigit())
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    pub id: String,
    pub dataset: String,
    pub name: String,
    pub params: serde_json::Value,
    /// Running, finished or failed (stale is worked out when read).
    pub status: RunStatus,
    #[serde(default)]
    pub reason: String,
    pub started_at: i64,
    #[serde(default)]
    pub ended_at: Option<i64>,
    /// The user id behind the key or session that started it.
    pub by: String,
    #[serde(default)]
    pub rounds: Vec<RoundRecord>,
    #[serde(default)]
    pub log_truncated: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RoundRecord {
    pub round: i64,
    pub metrics: BTreeMap<String, f64>,
    #[serde(default)]
    pub notes: String,
    pub at: i64,
    #[serde(default)]
    pub artifacts: Vec<ArtifactView>,
}

impl RunRecord {
    /// Its search document: the name, parameters and metric names.
    pub fn index_doc(&self) -> RunDoc {
        let mut text = vec![flatten(&self.params)];
        let mut metrics: Vec<&String> = self.rounds.iter().flat_map(|r| r.metrics.keys()).collect();
        metrics.sort();
        metrics.dedup();
        text.extend(metrics.into_iter().cloned());
        RunDoc { dataset: self.dataset.clone(), id: self.id.clone(), name: self.name.clone(), text, started_at: self.started_at }
    }
}

/// `{"lr": 0.1, "opt": {"name": "adam"}}` → `lr 0.1 opt name adam`.
fn flatten(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::Object(map) => map.iter().map(|(k, v)| format!("{k} {}", flatten(v))).collect::<Vec<_>>().join(" "),
        serde_json::Value::Array(items) => items.iter().map(flatten).collect::<Vec<_>>().join(" "),
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// A stored log chunk: its key orders it.
#[derive(Debug, Clone, PartialEq)]
pub struct LogChunk {
    pub key: String,
    pub lines: Vec<String>,
}

/// Live state this node keeps per run: watchers, log size, last beat.
#[derive(Default)]
pub struct RunFeeds {
    feeds: Mutex<HashMap<String, tokio::sync::broadcast::Sender<Arc<LogChunk>>>>,
    log_bytes: tokio::sync::Mutex<HashMap<String, u64>>,
    beats: Mutex<HashMap<String, Instant>>,
    sequence: std::sync::atomic::AtomicU64,
}

fn ended() -> DatasetError {
    DatasetError::Api(ApiError::conflict("status", "this session has ended; start a new one"))
}

fn no_run() -> DatasetError {
    DatasetError::Api(ApiError::not_found("no such session in this dataset"))
}

impl Datasets {
    async fn load_run(&self, id: &str, run: &str) -> Result<(RunRecord, String), DatasetError> {
        if !valid_run_id(run) {
            return Err(no_run());
        }
        match self.storage.get(&run_key(id, run), None).await {
            Ok(object) => Ok((serde_json::from_slice(&object.body)?, object.info.etag)),
            Err(StorageError::NotFound) => Err(no_run()),
            Err(other) => Err(other.into()),
        }
    }

    /// Changes a run by compare-and-swap, retried when someone wrote between.
    async fn change_run<F>(&self, id: &str, run: &str, mut change: F) -> Result<RunRecord, DatasetError>
    where
        F: FnMut(&mut RunRecord) -> Result<bool, DatasetError>,
    {
        for _ in 0..CAS_TRIES {
            let (mut record, etag) = self.load_run(id, run).await?;
            if !change(&mut record)? {
                return Ok(record);
            }
            let options = PutOptions {
                condition: Some(WriteCondition::Match(etag)),
                content_type: Some("application/json".into()),
                ..Default::default()
            };
            match self.storage.put(&run_key(id, run), Bytes::from(serde_json::to_vec(&record)?), options).await {
                Ok(_) => {
                    self.index.changed(vec![Op::Run(record.index_doc())]).await;
                    return Ok(record);
                }
                Err(StorageError::PreconditionFailed) => continue,
                Err(other) => return Err(other.into()),
            }
        }
        Err(DatasetError::Api(ApiError::conflict("session", "the session changed too often at once; try again")))
    }

    /// Loads the dataset and checks the caller's right to it.
    async fn run_access(&self, caller: &Caller, id: &str, need: Need) -> Result<(), DatasetError> {
        let record = self.load(id).await?;
        authorize(caller, &record.resource(), need).map_err(DatasetError::Api)
    }

    /// Starts a session (a key with write access, or a person who may edit).
    pub async fn start_run(&self, caller: &Caller, id: &str, request: NewRun) -> Result<RunView, DatasetError> {
        self.run_access(caller, id, Need::Write).await?;
        let user = caller.require_user().map_err(DatasetError::Api)?;
        let name = normalize_name(&request.name).map_err(DatasetError::Api)?;
        validate_params(&request.params).map_err(DatasetError::Api)?;
        let run = match &request.idempotency_key {
            Some(key) if key.is_empty() || key.chars().count() > KEY_MAX_CHARS => {
                return Err(DatasetError::Api(ApiError::invalid("idempotency_key", format!("must be 1 to {KEY_MAX_CHARS} characters"))));
            }
            Some(key) => hex::encode(Sha256::digest(format!("{id}\n{}\n{key}", user.id)))[..16].to_owned(),
            None => crate::accounts::random_id()[..16].to_owned(),
        };
        let record = RunRecord {
            id: run.clone(),
            dataset: id.to_owned(),
            name,
            params: request.params,
            status: RunStatus::Running,
            reason: String::new(),
            started_at: unix_now(),
            ended_at: None,
            by: user.id.clone(),
            rounds: Vec::new(),
            log_truncated: false,
        };
        let options =
            PutOptions { condition: Some(WriteCondition::Create), content_type: Some("application/json".into()), ..Default::default() };
        match self.storage.put(&run_key(id, &run), Bytes::from(serde_json::to_vec(&record)?), options).await {
            Ok(_) => {}
            // The same idempotency key again: the session it started.
            Err(StorageError::PreconditionFailed) => return self.run(caller, id, &run).await,
            Err(other) => return Err(other.into()),
        }
        self.beat(id, &run).await?;
        self.index.changed(vec![Op::Run(record.index_doc())]).await;
        self.index.notify(id).await;
        tracing::info!(dataset = %id, run = %run, "training session started");
        self.run(caller, id, &run).await
    }

    async fn beat(&self, id: &str, run: &str) -> Result<(), DatasetError> {
        self.feeds.beats.lock().unwrap().insert(format!("{id}/{run}"), Instant::now());
        self.storage.put(&beat_key(id, run), Bytes::new(), PutOptions::default()).await?;
        Ok(())
    }

    /// A heartbeat: the session is alive.
    pub async fn heartbeat(&self, caller: &Caller, id: &str, run: &str) -> Result<RunView, DatasetError> {
        self.run_access(caller, id, Need::Write).await?;
        let (record, _) = self.load_run(id, run).await?;
        if record.status != RunStatus::Running {
            return Err(ended());
        }
        self.beat(id, run).await?;
        self.run(caller, id, run).await
    }

    /// Reports a round; the same round again replaces it (keeping its artifacts).
    pub async fn report_round(&self, caller: &Caller, id: &str, run: &str, report: RoundReport) -> Result<RunView, DatasetError> {
        self.run_access(caller, id, Need::Write).await?;
        let metrics = validate_round(&report).map_err(DatasetError::Api)?;
        self.change_run(id, run, |record| {
            if record.status != RunStatus::Running {
                return Err(ended());
            }
            let round = RoundRecord {
                round: report.round,
                metrics: metrics.clone(),
                notes: report.notes.clone(),
                at: unix_now(),
                artifacts: Vec::new(),
            };
            match record.rounds.iter_mut().find(|r| r.round == report.round) {
                Some(existing) if existing.metrics == round.metrics && existing.notes == round.notes => return Ok(false),
                Some(existing) => {
                    let artifacts = std::mem::take(&mut existing.artifacts);
                    *existing = RoundRecord { artifacts, ..round };
                }
                None => {
                    record.rounds.push(round);
                    record.rounds.sort_by_key(|r| r.round);
                }
            }
            Ok(true)
        })
        .await?;
        self.beat(id, run).await?;
        self.index.notify(id).await;
        self.run(caller, id, run).await
    }

    /// Ends a session as finished or failed (again with the same status: no change).
    pub async fn end_run(&self, caller: &Caller, id: &str, run: &str, end: RunEnd) -> Result<RunView, DatasetError> {
        self.run_access(caller, id, Need::Write).await?;
        if !matches!(end.status, RunStatus::Finished | RunStatus::Failed) {
            return Err(DatasetError::Api(ApiError::invalid("status", "must be finished or failed")));
        }
        if end.reason.chars().count() > REASON_MAX_CHARS {
            return Err(DatasetError::Api(ApiError::invalid("reason", format!("must be at most {REASON_MAX_CHARS} characters"))));
        }
        self.change_run(id, run, |record| {
            if record.status == end.status {
                return Ok(false);
            }
            if record.status != RunStatus::Running {
                return Err(ended());
            }
            record.status = end.status;
            record.reason = end.reason.trim().to_owned();
            record.ended_at = Some(unix_now());
            Ok(true)
        })
        .await?;
        self.index.notify(id).await;
        tracing::info!(dataset = %id, run = %run, status = end.status.label(), "training session ended");
        self.run(caller, id, run).await
    }

    /// The dataset's sessions, newest first.
    pub async fn runs(&self, caller: &Caller, id: &str) -> Result<Vec<RunView>, DatasetError> {
        self.run_access(caller, id, Need::Read).await?;
        let (records, beats) = self.run_listing(id).await?;
        let loaded: Vec<Result<(RunRecord, String), DatasetError>> =
            futures::stream::iter(records).map(|run| async move { self.load_run(id, &run).await }).buffered(CONCURRENCY).collect().await;
        let mut views = Vec::new();
        for result in loaded {
            match result {
                Ok((record, _)) => {
                    let beat = beats.get(&record.id).copied().unwrap_or_default();
                    views.push(self.run_view(record, beat).await);
                }
                Err(DatasetError::Api(err)) if err.kind == agora_model::ErrorKind::NotFound => {}
                Err(err) => return Err(err),
            }
        }
        views.sort_by(|a, b| b.started_at.cmp(&a.started_at).then_with(|| a.id.cmp(&b.id)));
        Ok(views)
    }

    /// The dataset's run ids (from their records) and their heartbeats' times.
    async fn run_listing(&self, id: &str) -> Result<(Vec<String>, HashMap<String, i64>), DatasetError> {
        let prefix = runs_prefix(id);
        let options = ListOptions { prefix: prefix.clone(), delimiter: Some("/".into()), ..Default::default() };
        let (mut records, mut beats) = (Vec::new(), HashMap::new());
        for object in self.storage.list_every(&options).await?.objects {
            let name = object.key.strip_prefix(&prefix).unwrap_or_default();
            if let Some(run) = name.strip_suffix(".json") {
                records.push(run.to_owned());
            } else if let Some(run) = name.strip_suffix(".beat") {
                beats.insert(run.to_owned(), object.modified);
            }
        }
        Ok((records, beats))
    }

    /// One session.
    pub async fn run(&self, caller: &Caller, id: &str, run: &str) -> Result<RunView, DatasetError> {
        self.run_access(caller, id, Need::Read).await?;
        let (record, _) = self.load_run(id, run).await?;
        let beat = match self.storage.head(&beat_key(id, run)).await {
            Ok(info) => info.modified,
            Err(_) => 0,
        };
        Ok(self.run_view(record, beat).await)
    }

    async fn run_view(&self, record: RunRecord, beat: i64) -> RunView {
        let last_seen = [beat, record.started_at].into_iter().chain(record.rounds.iter().map(|r| r.at)).max().unwrap_or_default();
        let status = match record.status {
            RunStatus::Running if unix_now() - last_seen > self.limits.run_stale_after.as_secs() as i64 => RunStatus::Stale,
            other => other,
        };
        let by = match self.accounts.get(&record.by).await {
            Ok(user) => user.username,
            Err(_) => "(deleted account)".into(),
        };
        let log_bytes = self.log_size(&record.dataset, &record.id).await.unwrap_or_default();
        RunView {
            id: record.id,
            dataset: record.dataset,
            name: record.name,
            params: record.params,
            status,
            reason: record.reason,
            started_at: record.started_at,
            ended_at: record.ended_at,
            last_seen,
            by,
            rounds: record
                .rounds
                .into_iter()
                .map(|r| RoundView { round: r.round, metrics: r.metrics, notes: r.notes, at: r.at, artifacts: r.artifacts })
                .collect(),
            log_bytes,
            log_truncated: record.log_truncated,
        }
    }

    /// Bytes of log a session holds (counted from storage once per node, then kept).
    async fn log_size(&self, id: &str, run: &str) -> Result<u64, DatasetError> {
        let key = format!("{id}/{run}");
        let mut sizes = self.feeds.log_bytes.lock().await;
        if let Some(size) = sizes.get(&key) {
            return Ok(*size);
        }
        let size = self.storage.list_all(&log_prefix(id, run)).await?.iter().map(|o| o.size).sum();
        sizes.insert(key, size);
        Ok(size)
    }

    /// Appends log lines: stored as one chunk before the answer, then sent
    /// to watchers. Past the session's limit lines are dropped and the log
    /// ends with a "truncated" marker.
    pub async fn append_log(&self, caller: &Caller, id: &str, run: &str, lines: Vec<String>) -> Result<LogAccepted, DatasetError> {
        self.run_access(caller, id, Need::Write).await?;
        validate_lines(&lines).map_err(DatasetError::Api)?;
        let (record, _) = self.load_run(id, run).await?;
        if record.status != RunStatus::Running {
            return Err(ended());
        }
        if lines.is_empty() {
            return Ok(LogAccepted::default());
        }
        let limit = self.limits.run_log_max_bytes;
        let key = format!("{id}/{run}");
        // One append at a time per node keeps the size honest and the chunk order.
        let size = self.log_size(id, run).await?;
        let mut sizes = self.feeds.log_bytes.lock().await;
        let mut used = *sizes.get(&key).unwrap_or(&size);
        if used >= limit {
            return Ok(LogAccepted { accepted: 0, truncated: true });
        }
        let mut kept = Vec::with_capacity(lines.len());
        let mut truncated = false;
        for line in lines {
            let cost = line.len() as u64 + 1;
            if used + cost > limit {
                truncated = true;
                break;
            }
            used += cost;
            kept.push(line);
        }
        let accepted = kept.len() as u64;
        if truncated {
            let marker = format!("[agora] log truncated: this session's log reached its limit of {limit} bytes; later lines were dropped");
            used = limit;
            kept.push(marker);
        }
        let sequence = self.feeds.sequence.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let node = self.index.journal().map(|j| j.node().to_owned()).unwrap_or_else(|| "local".into());
        let chunk_key = format!("{}{:013}-{node}-{sequence:010}.txt", log_prefix(id, run), (crate::accounts::unix_now_ms().max(0) as u64));
        let mut body = kept.join("\n");
        body.push('\n');
        let options = PutOptions { content_type: Some("text/plain; charset=utf-8".into()), ..Default::default() };
        self.storage.put(&chunk_key, Bytes::from(body), options).await?;
        sizes.insert(key.clone(), used);
        drop(sizes);
        if let Some(feed) = self.feeds.feeds.lock().unwrap().get(&key) {
            let _ = feed.send(Arc::new(LogChunk { key: chunk_key, lines: kept }));
        }
        if truncated {
            self.change_run(id, run, |record| Ok(!std::mem::replace(&mut record.log_truncated, true))).await?;
        }
        let beat_due = self.feeds.beats.lock().unwrap().get(&key).is_none_or(|at| at.elapsed() > BEAT_EVERY);
        if beat_due {
            self.beat(id, run).await?;
        }
        Ok(LogAccepted { accepted, truncated })
    }

    /// Chunks of the log stored after `after` (a chunk key), in order: for
    /// watchers, and for chunks other nodes stored.
    pub async fn log_chunks(&self, id: &str, run: &str, after: Option<&str>) -> Result<Vec<LogChunk>, DatasetError> {
        let keys = self.log_keys(id, run, after).await?;
        self.read_chunks(keys).await
    }

    /// The keys of the log's chunks after `after`, in order.
    async fn log_keys(&self, id: &str, run: &str, after: Option<&str>) -> Result<Vec<String>, DatasetError> {
        let options = ListOptions { prefix: log_prefix(id, run), start_after: after.map(str::to_owned), ..Default::default() };
        let mut keys: Vec<String> = self.storage.list_every(&options).await?.objects.into_iter().map(|o| o.key).collect();
        keys.sort();
        Ok(keys)
    }

    async fn read_chunks(&self, keys: Vec<String>) -> Result<Vec<LogChunk>, DatasetError> {
        let chunks: Vec<Result<LogChunk, DatasetError>> = futures::stream::iter(keys)
            .map(|key| async move {
                let body = self.storage.get(&key, None).await?.body;
                let text = String::from_utf8_lossy(&body);
                Ok(LogChunk { lines: text.lines().map(str::to_owned).collect(), key })
            })
            .buffered(CONCURRENCY)
            .collect()
            .await;
        chunks.into_iter().collect()
    }

    /// The whole log as text (the download), chunk by chunk as storage
    /// answers: a 64 MiB log is never held in memory whole.
    pub async fn log_text(
        &self,
        caller: &Caller,
        id: &str,
        run: &str,
    ) -> Result<impl futures::Stream<Item = Result<Bytes, DatasetError>> + Send + 'static, DatasetError> {
        self.check_run_read(caller, id, run).await?;
        let keys = self.log_keys(id, run, None).await?;
        let storage = self.storage.clone();
        Ok(futures::stream::iter(keys)
            .map(move |key| {
                let storage = storage.clone();
                async move { Ok::<_, DatasetError>(storage.get(&key, None).await?.body) }
            })
            .buffered(4))
    }

    /// Whether `caller` may read the session's log: the download, a new
    /// watcher, and a live stream's periodic check.
    pub async fn check_run_read(&self, caller: &Caller, id: &str, run: &str) -> Result<(), DatasetError> {
        self.run_access(caller, id, Need::Read).await?;
        self.load_run(id, run).await.map(drop)
    }

    /// For a watcher: the log so far (its last [`TAIL_LINES`] lines and the
    /// key of its last chunk) and a receiver of chunks appended on this node.
    pub async fn watch_log(
        &self,
        caller: &Caller,
        id: &str,
        run: &str,
    ) -> Result<(Vec<String>, Option<String>, tokio::sync::broadcast::Receiver<Arc<LogChunk>>), DatasetError> {
        self.check_run_read(caller, id, run).await?;
        let receiver = {
            let mut feeds = self.feeds.feeds.lock().unwrap();
            feeds.retain(|_, feed| feed.receiver_count() > 0);
            feeds.entry(format!("{id}/{run}")).or_insert_with(|| tokio::sync::broadcast::channel(4096).0).subscribe()
        };
        let keys = self.log_keys(id, run, None).await?;
        let last = keys.last().cloned();
        Ok((self.log_tail(keys, TAIL_LINES).await?, last, receiver))
    }

    /// The last `want` lines of the chunks at `keys`, reading from the end
    /// only as many chunks as hold them (1, 2, 4… at a time).
    async fn log_tail(&self, mut keys: Vec<String>, want: usize) -> Result<Vec<String>, DatasetError> {
        let mut newest_first: Vec<LogChunk> = Vec::new();
        let mut have = 0;
        let mut batch = 1;
        while have < want && !keys.is_empty() {
            let older = keys.split_off(keys.len().saturating_sub(batch));
            for chunk in self.read_chunks(older).await?.into_iter().rev() {
                have += chunk.lines.len();
                newest_first.push(chunk);
            }
            batch = (batch * 2).min(CONCURRENCY);
        }
        let mut lines: Vec<String> = newest_first.into_iter().rev().flat_map(|c| c.lines).collect();
        let skip = lines.len().saturating_sub(want);
        lines.drain(..skip);
        Ok(lines)
    }

    /// Starts uploading an artifact of a reported round (one PUT or parts,
    /// completed like a dataset upload).
    pub async fn start_artifact_upload(
        &self,
        caller: &Caller,
        id: &str,
        run: &str,
        round: i64,
        upload: ArtifactUpload,
    ) -> Result<UploadTicket, DatasetError> {
        self.run_access(caller, id, Need::Write).await?;
        let user = caller.require_user().map_err(DatasetError::Api)?;
        validate_artifact_name(&upload.name).map_err(DatasetError::Api)?;
        if upload.size == 0 || upload.size > agora_model::files::MAX_FILE_BYTES {
            return Err(DatasetError::Api(ApiError::invalid("size", "must be 1 byte to 5 TiB")));
        }
        let (record, _) = self.load_run(id, run).await?;
        if !record.rounds.iter().any(|r| r.round == round) {
            return Err(DatasetError::Api(ApiError::invalid("round", format!("report round {round} before uploading its artifacts"))));
        }
        let dataset = self.load(id).await?;
        let replaced = self.size_of(&artifact_key(id, run, round, &upload.name)).await?;
        self.check_quota(&dataset, upload.size, replaced).await?;
        let pending = super::uploads::PendingUpload::artifact(upload, user.id.clone(), ArtifactOf { session: run.to_owned(), round })?;
        self.begin_upload(id, pending).await
    }

    /// An upload completed: the artifact joins its round.
    pub(super) async fn artifact_landed(&self, id: &str, of: &ArtifactOf, name: &str, stored: &ObjectInfo) {
        let artifact = ArtifactView { name: name.to_owned(), size: stored.size, etag: stored.etag.clone(), at: unix_now() };
        let result = self
            .change_run(id, &of.session, |record| {
                let Some(round) = record.rounds.iter_mut().find(|r| r.round == of.round) else { return Ok(false) };
                round.artifacts.retain(|a| a.name != artifact.name);
                round.artifacts.push(artifact.clone());
                round.artifacts.sort_by(|a, b| a.name.cmp(&b.name));
                Ok(true)
            })
            .await;
        if let Err(err) = result {
            tracing::warn!(dataset = %id, run = %of.session, error = %err, "an artifact was stored but not recorded on its round");
        }
        self.index.notify(id).await;
    }

    /// A presigned download of an artifact.
    pub async fn artifact_download(
        &self,
        caller: &Caller,
        id: &str,
        run: &str,
        round: i64,
        name: &str,
    ) -> Result<DownloadLink, DatasetError> {
        self.run_access(caller, id, Need::Read).await?;
        let (record, _) = self.load_run(id, run).await?;
        let known = record.rounds.iter().any(|r| r.round == round && r.artifacts.iter().any(|a| a.name == name));
        if !known {
            return Err(DatasetError::Api(ApiError::not_found("no such artifact")));
        }
        let key = artifact_key(id, run, round, name);
        let presigned =
            self.storage.presign_get(&key, crate::storage::Delivery::Attachment { filename: name }, self.presign_expiry()).await?;
        Ok(DownloadLink { path: key, url: presigned.url, expires_at: presigned.expires_at })
    }

    /// The index operation that makes a run's document match storage.
    pub(super) async fn run_op(&self, id: &str, run: &str) -> Result<Op, DatasetError> {
        match self.load_run(id, run).await {
            Ok((record, _)) => Ok(Op::Run(record.index_doc())),
            Err(DatasetError::Api(err)) if err.kind == agora_model::ErrorKind::NotFound => {
                Ok(Op::RemoveRun { dataset: id.to_owned(), run: run.to_owned() })
            }
            Err(other) => Err(other),
        }
    }

    /// Every run of a dataset as index operations (rebuilds).
    pub(super) async fn run_ops(&self, id: &str) -> Result<Vec<Op>, DatasetError> {
        let mut ops = Vec::new();
        for run in self.run_listing(id).await?.0 {
            if let Ok((record, _)) = self.load_run(id, &run).await {
                ops.push(Op::Run(record.index_doc()));
            }
        }
        Ok(ops)
    }
}
