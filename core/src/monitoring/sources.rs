//! Monitored sources: their records, the background fetch of remote ones,
//! and the evaluation of alert rules.
//!
//! ```text
//! monsrc/{id}.json   a source: name, address, sealed credentials, fetch state, switched-off endpoints, alert rules
//! ```
//!
//! Credentials are sealed ([`crate::sealing`]) with the source's id as
//! context before the record is written; a record written before sealing
//! existed is sealed at its next write (and at start-up).
//!
//! Every node runs the same loop; a node takes a due source by writing a
//! lease into its record (compare-and-swap), so one node fetches it at a
//! time. A fetch reads from where the last one stopped (`fetched_until`) to
//! a few seconds ago; failures back off (doubling, up to an hour) and are
//! shown on the source. Agora's own record (`monsrc/agora.json`) exists once
//! someone switches an endpoint off or adds a rule.

use agora_model::monitoring::{
    format_iso8601, AlertRule, CheckedSource, Credentials, NewAlertRule, Protocol, SourceView, MAX_ALERT_RULES, SELF_SOURCE,
};
use agora_model::{ApiError, ErrorKind};
use bytes::Bytes;
use serde::{Deserialize, Serialize};

use super::remote::{Peer, Remote};
use super::Monitor;
use crate::egress::Egress;
use crate::sealing::{Sealed, SealingKeys};
use crate::storage::{PutOptions, Storage, StorageError, WriteCondition};
use std::sync::Arc;

const PREFIX: &str = "monsrc/";
/// Calls are fetched up to this long ago (the service writes a call when
/// it has answered).
const LAG_SECS: i64 = 5;
/// One request reads at most a day of calls.
const CHUNK_SECS: i64 = 86_400;
/// How long a node may hold a source while fetching it.
const LEASE_MS: i64 = 5 * 60_000;
/// The longest wait after failures.
const MAX_BACKOFF_MS: i64 = 3_600_000;
const CAS_TRIES: usize = 8;
/// Remote sources one account may add.
pub const MAX_SOURCES_PER_USER: usize = 20;
/// The longest one fetch of one source may take; what it got by then is
/// kept, and the rest waits for the next fetch.
pub const FETCH_BUDGET: std::time::Duration = std::time::Duration::from_secs(60);

/// A source (with its credentials: never sent to anyone, stored sealed).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct SourceRecord {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub url: String,
    /// `None`: Agora itself.
    #[serde(default)]
    pub protocol: Option<Protocol>,
    /// Opened from `sealed_credentials` (or read from a record written
    /// before sealing); never written.
    #[serde(default, skip_serializing)]
    pub credentials: Option<Credentials>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sealed_credentials: Option<Sealed>,
    /// Why the credentials did not open, if they did not.
    #[serde(skip)]
    pub unsealing_error: Option<String>,
    /// The user who added it.
    #[serde(default)]
    pub owner: String,
    #[serde(default)]
    pub created_at: i64,
    /// Unix seconds: calls up to here are stored.
    #[serde(default)]
    pub fetched_until: Option<i64>,
    /// Unix ms.
    #[serde(default)]
    pub last_attempt_at: Option<i64>,
    #[serde(default)]
    pub last_success_at: Option<i64>,
    #[serde(default)]
    pub last_error: Option<String>,
    #[serde(default)]
    pub failures: u32,
    /// Unix ms: the next fetch (and rule check) is due.
    #[serde(default)]
    pub next_at: i64,
    #[serde(default)]
    pub lease_until: i64,
    #[serde(default)]
    pub lease_node: String,
    #[serde(default)]
    pub disabled_endpoints: Vec<String>,
    #[serde(default)]
    pub rules: Vec<AlertRule>,
}

impl SourceRecord {
    fn self_source() -> SourceRecord {
        SourceRecord { id: SELF_SOURCE.into(), name: "Agora (this hub)".into(), ..Default::default() }
    }

    pub fn is_self(&self) -> bool {
        self.protocol.is_none()
    }

    /// What people see; `calls_24h` is the caller's to fill.
    pub fn view(&self) -> SourceView {
        let health = match (&self.protocol, &self.last_error, self.last_success_at) {
            (None, _, _) => "recording",
            (Some(_), Some(_), _) => "failing",
            (Some(_), None, Some(_)) => "ok",
            (Some(_), None, None) => "waiting",
        };
        SourceView {
            id: self.id.clone(),
            name: self.name.clone(),
            kind: self.protocol.map(Protocol::name).unwrap_or("self").to_owned(),
            url: (!self.url.is_empty()).then(|| self.url.clone()),
            owner: (!self.owner.is_empty()).then(|| self.owner.clone()),
            health: health.to_owned(),
            calls_24h: 0,
            last_attempt_at: self.last_attempt_at.map(format_iso8601),
            last_success_at: self.last_success_at.map(format_iso8601),
            next_fetch_at: self.protocol.map(|_| format_iso8601(self.next_at)),
            fetched_until: self.fetched_until.map(|s| format_iso8601(s * 1000)),
            last_error: self.last_error.clone(),
            failures: self.failures,
            disabled_endpoints: self.disabled_endpoints.clone(),
        }
    }
}

/// An alert that started or ended, for its owner's mail.
#[derive(Debug, Clone)]
pub struct AlertChange {
    pub source: String,
    pub source_name: String,
    pub rule: AlertRule,
    /// Started (else: back to normal).
    pub firing: bool,
}

#[derive(Clone)]
pub struct Sources {
    storage: Storage,
    monitor: Monitor,
    remote: Remote,
    sealing: Arc<SealingKeys>,
}

fn key(id: &str) -> String {
    format!("{PREFIX}{id}.json")
}

fn valid_id(id: &str) -> bool {
    id == SELF_SOURCE || (id.len() == 13 && id.starts_with('r') && id[1..].bytes().all(|b| b.is_ascii_hexdigit()))
}

fn not_found() -> ApiError {
    ApiError::not_found("no such monitored source")
}

fn storage_failed(err: StorageError) -> ApiError {
    tracing::warn!(error = %err, "a monitored source could not be read or written");
    ApiError::new(ErrorKind::Unavailable, "the monitored sources cannot be reached right now; try again shortly")
}

impl Sources {
    pub fn new(storage: Storage, monitor: Monitor, egress: Egress, sealing: Arc<SealingKeys>) -> Self {
        Sources { storage, monitor, remote: Remote::new(egress), sealing }
    }

    /// Between fetches of a source (and checks of its rules).
    pub fn every(&self) -> std::time::Duration {
        self.monitor.settings().fetch_every
    }

    /// Calls up to this time (Unix ms) can no longer change: a remote
    /// source's are fetched; Agora's own are flushed by every node (with a
    /// margin for slow flushes).
    pub fn complete_until(&self, record: &SourceRecord) -> i64 {
        if record.is_self() {
            let settings = self.monitor.settings();
            crate::accounts::unix_now_ms() - settings.flush_every.as_millis() as i64 - 5 * 60_000
        } else {
            record.fetched_until.map_or(i64::MIN, |s| s * 1000)
        }
    }

    /// A source and its version (`None`: Agora's record, not written yet).
    pub async fn load(&self, id: &str) -> Result<(SourceRecord, Option<String>), ApiError> {
        if !valid_id(id) {
            return Err(not_found());
        }
        match self.storage.get(&key(id), None).await {
            Ok(object) => {
                let mut record: SourceRecord = serde_json::from_slice(&object.body).map_err(|e| {
                    tracing::warn!(source = id, error = %e, "a monitored source's record is unreadable");
                    ApiError::new(ErrorKind::Internal, "this source's record is unreadable")
                })?;
                self.unseal(&mut record);
                Ok((record, Some(object.info.etag)))
            }
            Err(StorageError::NotFound) if id == SELF_SOURCE => Ok((SourceRecord::self_source(), None)),
            Err(StorageError::NotFound) => Err(not_found()),
            Err(err) => Err(storage_failed(err)),
        }
    }

    /// Every source, Agora first, then by name.
    pub async fn list(&self) -> Result<Vec<SourceRecord>, ApiError> {
        let listed = self.storage.list_all(PREFIX).await.map_err(storage_failed)?;
        let mut records = Vec::new();
        let mut has_self = false;
        for object in listed {
            let Some(id) = object.key.strip_prefix(PREFIX).and_then(|k| k.strip_suffix(".json")) else { continue };
            match self.load(id).await {
                Ok((record, _)) => {
                    has_self |= record.is_self();
                    records.push(record);
                }
                Err(err) if err.kind == ErrorKind::NotFound => {}
                Err(err) => return Err(err),
            }
        }
        if !has_self {
            records.push(SourceRecord::self_source());
        }
        records.sort_by(|a, b| b.is_self().cmp(&a.is_self()).then_with(|| a.name.to_lowercase().cmp(&b.name.to_lowercase())));
        Ok(records)
    }

    /// Changes a source by compare-and-swap, retried when someone wrote in
    /// between. `change` returns false to leave it as it is.
    pub async fn change<F>(&self, id: &str, mut change: F) -> Result<SourceRecord, ApiError>
    where
        F: FnMut(&mut SourceRecord) -> Result<bool, ApiError>,
    {
        for _ in 0..CAS_TRIES {
            let (mut record, etag) = self.load(id).await?;
            if !change(&mut record)? {
                return Ok(record);
            }
            let condition = Some(etag.map(WriteCondition::Match).unwrap_or(WriteCondition::Create));
            match self.put(&record, condition).await {
                Ok(()) => return Ok(record),
                Err(StorageError::PreconditionFailed) => continue,
                Err(err) => return Err(storage_failed(err)),
            }
        }
        Err(ApiError::conflict("source", "the source changed too often at once; try again"))
    }

    /// Opens the record's sealed credentials; a failure is kept on the
    /// record (shown as its error) and the sealed value is left as it is.
    fn unseal(&self, record: &mut SourceRecord) {
        let Some(sealed) = &record.sealed_credentials else { return };
        let opened = self.sealing.open(sealed, &record.id).map_err(|e| e.to_string()).and_then(|plain| {
            serde_json::from_slice::<Credentials>(&plain).map_err(|_| "the opened credentials are unreadable".to_owned())
        });
        match opened {
            Ok(credentials) => record.credentials = Some(credentials),
            Err(err) => {
                tracing::warn!(source = %record.id, error = %err, "a monitored source's credentials could not be opened");
                record.credentials = None;
                record.unsealing_error = Some(format!("its stored credentials could not be opened: {err}"));
            }
        }
    }

    async fn put(&self, record: &SourceRecord, condition: Option<WriteCondition>) -> Result<(), StorageError> {
        let mut stored = record.clone();
        if let Some(credentials) = &record.credentials {
            let plain = serde_json::to_vec(credentials).map_err(|e| StorageError::Other(e.to_string()))?;
            stored.sealed_credentials = Some(self.sealing.seal(&plain, &record.id));
        }
        let body = serde_json::to_vec(&stored).map_err(|e| StorageError::Other(e.to_string()))?;
        let options = PutOptions { condition, content_type: Some("application/json".into()), ..Default::default() };
        self.storage.put(&key(&record.id), Bytes::from(body), options).await.map(|_| ())
    }

    /// Checks the address and credentials against the service, then saves
    /// the source (nothing is saved when the check fails).
    ///
    /// The cap holds against concurrent adds, on one node or several: each
    /// add counts again after its record is written, and a record that finds
    /// more than the cap removes itself and is refused. The last writer to
    /// count sees every earlier one, so the cap is never exceeded; adds that
    /// race at the very limit may all be refused, and a retry succeeds.
    pub async fn add(&self, owner: &str, source: CheckedSource) -> Result<SourceRecord, ApiError> {
        let full =
            || ApiError::invalid("url", format!("an account can add at most {MAX_SOURCES_PER_USER} monitored sources; delete one first"));
        if self.owned_by(owner).await? >= MAX_SOURCES_PER_USER {
            return Err(full());
        }
        self.remote.check(Peer::from(&source)).await.map_err(|e| e.into_api())?;
        let now = crate::accounts::unix_now_ms();
        let record = SourceRecord {
            id: format!("r{}", &crate::accounts::random_id()[..12]),
            name: source.name,
            url: source.url,
            protocol: Some(source.protocol),
            credentials: Some(source.credentials),
            owner: owner.to_owned(),
            created_at: now,
            next_at: now,
            ..Default::default()
        };
        self.put(&record, Some(WriteCondition::Create)).await.map_err(storage_failed)?;
        if self.owned_by(owner).await? > MAX_SOURCES_PER_USER {
            self.storage.delete(&key(&record.id)).await.map_err(storage_failed)?;
            return Err(full());
        }
        tracing::info!(source = %record.id, url = %record.url, "monitored source added");
        Ok(record)
    }

    /// How many remote sources `owner` has.
    async fn owned_by(&self, owner: &str) -> Result<usize, ApiError> {
        Ok(self.list().await?.iter().filter(|r| !r.is_self() && r.owner == owner).count())
    }

    /// Deletes a remote source and everything fetched from it; its fetches
    /// stop with it.
    pub async fn delete(&self, id: &str) -> Result<(), ApiError> {
        let (record, _) = self.load(id).await?;
        if record.is_self() {
            return Err(ApiError::invalid("source", "Agora's own monitoring cannot be deleted (AGORA_MONITOR_OFF stops it)"));
        }
        self.storage.delete(&key(id)).await.map_err(storage_failed)?;
        self.monitor.sweep(id, true).await.map_err(storage_failed)?;
        tracing::info!(source = id, "monitored source deleted");
        Ok(())
    }

    /// Seals again the credentials of every source that was sealed with an
    /// older key or not at all; returns how many were. Run at start-up.
    pub async fn reseal(&self) -> Result<usize, ApiError> {
        let mut resealed = 0;
        let stale = |record: &SourceRecord| {
            record.credentials.is_some() && record.sealed_credentials.as_ref().is_none_or(|s| s.key != self.sealing.current())
        };
        for record in self.list().await? {
            if !stale(&record) {
                continue;
            }
            let mut wrote = false;
            self.change(&record.id, |latest| {
                wrote = stale(latest);
                Ok(wrote)
            })
            .await?;
            resealed += usize::from(wrote);
        }
        Ok(resealed)
    }

    /// What a deleted account leaves behind: the sources it added (with
    /// what was fetched from them, and their stored credentials) and its
    /// alert rules on other sources. Safe to run again.
    pub async fn remove_user(&self, user: &str) -> Result<(), ApiError> {
        for record in self.list().await? {
            if !record.is_self() && record.owner == user {
                match self.delete(&record.id).await {
                    Err(err) if err.kind != ErrorKind::NotFound => return Err(err),
                    _ => continue,
                }
            }
            if record.rules.iter().any(|r| r.owner == user) {
                let removed = self
                    .change(&record.id, |record| {
                        let before = record.rules.len();
                        record.rules.retain(|r| r.owner != user);
                        Ok(record.rules.len() < before)
                    })
                    .await;
                match removed {
                    Err(err) if err.kind != ErrorKind::NotFound => return Err(err),
                    _ => {}
                }
            }
        }
        Ok(())
    }

    pub async fn set_endpoint(&self, id: &str, endpoint: &str, enabled: bool) -> Result<SourceRecord, ApiError> {
        if endpoint.is_empty() || endpoint.len() > 500 {
            return Err(ApiError::invalid("endpoint", "endpoint must be 1–500 characters"));
        }
        self.change(id, |record| {
            let listed = record.disabled_endpoints.iter().any(|e| e == endpoint);
            match (enabled, listed) {
                (true, true) => record.disabled_endpoints.retain(|e| e != endpoint),
                (false, false) => record.disabled_endpoints.push(endpoint.to_owned()),
                _ => return Ok(false),
            }
            record.disabled_endpoints.sort();
            Ok(true)
        })
        .await
    }

    pub async fn add_rule(&self, id: &str, owner: &str, rule: NewAlertRule) -> Result<AlertRule, ApiError> {
        let rule = rule.check()?;
        let made = AlertRule { id: crate::accounts::random_id()[..12].to_owned(), rule, owner: owner.to_owned(), ..Default::default() };
        self.change(id, |record| {
            if record.rules.len() >= MAX_ALERT_RULES {
                return Err(ApiError::invalid("rules", format!("a source has at most {MAX_ALERT_RULES} alert rules")));
            }
            record.rules.push(made.clone());
            // Checked at the next round, not after a whole fetch interval.
            record.next_at = record.next_at.min(crate::accounts::unix_now_ms());
            Ok(true)
        })
        .await?;
        Ok(made)
    }

    pub async fn delete_rule(&self, id: &str, rule: &str) -> Result<(), ApiError> {
        let mut found = false;
        self.change(id, |record| {
            let before = record.rules.len();
            record.rules.retain(|r| r.id != rule);
            found = record.rules.len() < before;
            Ok(found)
        })
        .await?;
        if found {
            Ok(())
        } else {
            Err(ApiError::not_found("no such alert rule on this source"))
        }
    }

    /// The sources due for a fetch (or a check of their rules) that no
    /// node holds.
    pub async fn due(&self) -> Vec<SourceRecord> {
        let records = match self.list().await {
            Ok(records) => records,
            Err(err) => {
                tracing::warn!(error = %err.message, "could not list monitored sources");
                return Vec::new();
            }
        };
        let now = crate::accounts::unix_now_ms();
        // Agora's own source has work only when it has rules.
        records.into_iter().filter(|r| r.next_at <= now && r.lease_until <= now && !(r.is_self() && r.rules.is_empty())).collect()
    }

    /// Takes a due source for this node, fetches it (within
    /// [`FETCH_BUDGET`]) and checks its rules. Returns the alerts that
    /// started or ended; nothing when another node took it first.
    pub async fn take(&self, id: &str) -> Vec<AlertChange> {
        let now = crate::accounts::unix_now_ms();
        match self.claim(id, now).await {
            Some(claimed) => self.work(claimed).await,
            None => Vec::new(),
        }
    }

    /// Takes a due source for this node, or `None` when another node has.
    async fn claim(&self, id: &str, now: i64) -> Option<SourceRecord> {
        let mut claimed = false;
        let record = self
            .change(id, |record| {
                claimed = record.next_at <= now && record.lease_until <= now;
                if claimed {
                    record.lease_until = now + LEASE_MS;
                    record.lease_node = self.monitor.node().to_owned();
                }
                Ok(claimed)
            })
            .await
            .ok()?;
        claimed.then_some(record)
    }

    async fn work(&self, claimed: SourceRecord) -> Vec<AlertChange> {
        let now = crate::accounts::unix_now_ms();
        let fetched = match (claimed.protocol, &claimed.credentials) {
            (Some(protocol), Some(credentials)) => {
                let peer = Peer { url: &claimed.url, protocol, credentials };
                let progress = std::sync::atomic::AtomicI64::new(i64::MIN);
                let fetched = tokio::time::timeout(FETCH_BUDGET, self.fetch(&claimed, peer, now, &progress)).await;
                Some(fetched.unwrap_or_else(|_| {
                    // Cut off: what was stored counts, if anything was.
                    match progress.load(std::sync::atomic::Ordering::Relaxed) {
                        i64::MIN => Err(format!("{} timed out (a fetch may take {} s)", claimed.url, FETCH_BUDGET.as_secs())),
                        reached => Ok(reached),
                    }
                }))
            }
            (Some(_), None) => claimed.unsealing_error.clone().map(Err),
            _ => None,
        };
        // Rules are checked on what is stored, after the fetch.
        let mut evaluated = Vec::new();
        for rule in &claimed.rules {
            match self.monitor.alert_value(&claimed.id, &claimed.disabled_endpoints, &rule.rule, now).await {
                Ok(value) => evaluated.push((rule.id.clone(), value)),
                Err(err) => tracing::warn!(source = %claimed.id, error = %err.message, "an alert rule could not be checked"),
            }
        }
        let every = self.every().as_millis() as i64;
        let mut changes = Vec::new();
        let result = self
            .change(&claimed.id, |record| {
                changes.clear();
                record.lease_until = 0;
                record.last_attempt_at = fetched.as_ref().map(|_| now).or(record.last_attempt_at);
                match &fetched {
                    Some(Ok(until)) => {
                        record.fetched_until = Some(*until);
                        record.last_success_at = Some(now);
                        record.last_error = None;
                        record.failures = 0;
                        record.next_at = now + every;
                    }
                    Some(Err(message)) => {
                        record.last_error = Some(message.clone());
                        record.failures = record.failures.saturating_add(1);
                        let backoff = every.saturating_mul(1 << record.failures.min(12)).min(MAX_BACKOFF_MS);
                        record.next_at = now + backoff.max(every);
                    }
                    None => record.next_at = now + every,
                }
                for rule in record.rules.iter_mut() {
                    let Some((_, value)) = evaluated.iter().find(|(id, _)| *id == rule.id) else { continue };
                    let firing = value.is_some_and(|v| v > rule.rule.threshold);
                    rule.last_value = *value;
                    rule.last_checked_at = Some(format_iso8601(now));
                    if firing != rule.firing {
                        rule.firing = firing;
                        if firing {
                            rule.last_fired_at = Some(format_iso8601(now));
                        }
                        changes.push(AlertChange {
                            source: record.id.clone(),
                            source_name: record.name.clone(),
                            rule: rule.clone(),
                            firing,
                        });
                    }
                }
                Ok(true)
            })
            .await;
        if let Err(err) = result {
            tracing::info!(source = %claimed.id, error = %err.message, "a fetched source could not be updated");
            if err.kind == ErrorKind::NotFound {
                // Deleted while it was fetched: what this fetch wrote goes too.
                if let Err(err) = self.monitor.sweep(&claimed.id, true).await {
                    tracing::warn!(source = %claimed.id, error = %err, "calls fetched for a deleted source could not be deleted");
                }
            }
            return Vec::new();
        }
        changes
    }

    /// Fetches from where the last fetch stopped to a few seconds ago, a
    /// day at most per request; returns how far it got, or why it failed
    /// (what it got before failing is kept and counted).
    ///
    /// `progress` holds how far the calls are stored, for a fetch cut off
    /// by its budget.
    async fn fetch(
        &self,
        record: &SourceRecord,
        peer: Peer<'_>,
        now_ms: i64,
        progress: &std::sync::atomic::AtomicI64,
    ) -> Result<i64, String> {
        let target = now_ms / 1000 - LAG_SECS;
        // A new source's history is read back as far as it is kept.
        let mut from = record.fetched_until.unwrap_or(target - self.monitor.settings().retention.as_secs() as i64);
        let mut stored = 0usize;
        while from < target {
            let to = (from + CHUNK_SECS).min(target);
            let (calls, reached) = match self.remote.fetch(peer, from, to).await {
                Ok(fetched) => fetched,
                Err(err) => {
                    tracing::warn!(source = %record.id, error = %err, "fetching a monitored source failed");
                    self.save_progress(&record.id, from).await;
                    return Err(err.to_string());
                }
            };
            stored += calls.len();
            if !calls.is_empty() {
                if let Err(err) = self.monitor.write(&record.id, calls, &format!("{from:010}-{reached:010}")).await {
                    tracing::warn!(source = %record.id, error = %err, "fetched calls could not be stored");
                    self.save_progress(&record.id, from).await;
                    return Err("the fetched calls could not be stored; retrying".into());
                }
            }
            progress.store(reached, std::sync::atomic::Ordering::Relaxed);
            if reached < to {
                // A busy backlog: the rest comes at the next fetch.
                from = reached;
                break;
            }
            from = to;
        }
        tracing::debug!(source = %record.id, calls = stored, until = from, "monitored source fetched");
        Ok(from)
    }

    /// Keeps the progress of a fetch that failed part-way.
    async fn save_progress(&self, id: &str, until: i64) {
        let _ = self
            .change(id, |record| {
                let further = record.fetched_until.is_none_or(|f| until > f);
                if further {
                    record.fetched_until = Some(until);
                }
                Ok(further)
            })
            .await;
    }
}
