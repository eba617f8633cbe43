//! Agora's own endpoint performance: every request recorded, buffered, and
//! written to the bucket in compact time-partitioned segments that every
//! node reads for statistics.
//!
//! ```text
//! mon/agora/{YYYY-MM-DD}/{unix ms}-{node}.agm   one flush of one node (format: [`segment`])
//! mon/{source}/{YYYY-MM-DD}/{from s}-{to s}.agm   one fetched window of a remote source
//! ```
//!
//! A flush happens every few seconds and when the server stops, so a crash
//! loses at most the last interval; segments older than the retention are
//! deleted day by day. Remote sources ([`sources`]) are fetched into the
//! same kind of segments, so one set of statistics serves them all.

pub mod fmd;
pub mod remote;
pub mod rollup;
pub mod segment;
pub mod sources;
pub mod stats;

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use agora_model::monitoring::Call;
use bytes::Bytes;
use serde::{Deserialize, Serialize};

use crate::storage::{ListOptions, PutOptions, Storage};

const PREFIX: &str = "mon/";
pub const DAY_MS: i64 = 86_400_000;
/// Calls waiting to be written; beyond this a burst drops (and says so).
const QUEUE: usize = 1 << 20;
/// Segments whose parsed calls are kept in memory for queries.
const CACHED_SEGMENTS: usize = 512;

/// What is recorded of one request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecordedCall {
    /// Unix milliseconds.
    #[serde(rename = "t")]
    pub at: i64,
    /// `GET /api/v1/datasets/{id}`: the method and the route template.
    #[serde(rename = "e")]
    pub endpoint: String,
    #[serde(rename = "s")]
    pub status: u16,
    /// Microseconds.
    #[serde(rename = "d")]
    pub duration_us: u64,
    #[serde(rename = "i")]
    pub ip: String,
    #[serde(rename = "u", default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    #[serde(rename = "v")]
    pub version: std::borrow::Cow<'static, str>,
}

impl RecordedCall {
    pub fn call(&self) -> Call {
        Call { at: self.at, endpoint: self.endpoint.clone(), duration: self.duration_us as f64 / 1000.0, ip: self.ip.clone() }
    }
}

/// Where the request's caller is written once it is known (the middleware
/// puts one in the request; the caller extractor fills it).
#[derive(Debug, Clone, Default)]
pub struct CallerSlot(pub Arc<OnceLock<String>>);

#[derive(Debug, Clone, Copy)]
pub struct MonitorSettings {
    pub flush_every: Duration,
    pub retention: Duration,
    /// Keep only the network part of addresses (/24 for IPv4, /48 for IPv6).
    pub anonymize_ips: bool,
    /// Record requests at all.
    pub enabled: bool,
    /// Between fetches of a remote source (and checks of alert rules).
    pub fetch_every: Duration,
}

impl Default for MonitorSettings {
    fn default() -> Self {
        Self {
            flush_every: Duration::from_secs(5),
            retention: Duration::from_secs(30 * 86_400),
            anonymize_ips: false,
            enabled: true,
            fetch_every: Duration::from_secs(60),
        }
    }
}

/// Endpoint names by route, then method.
type EndpointNames = HashMap<String, Vec<(String, Arc<str>)>>;

/// The recorder: cheap to clone, shared by the middleware and the queries.
#[derive(Clone)]
pub struct Monitor(Arc<Inner>);

struct Inner {
    storage: Storage,
    node: String,
    settings: MonitorSettings,
    /// Requests recorded since the last flush. A request only pushes here:
    /// nothing is allocated or woken per request.
    pending: Mutex<Vec<Hit>>,
    /// `GET /x` made once per method and route.
    endpoints: std::sync::RwLock<EndpointNames>,
    dropped: std::sync::atomic::AtomicU64,
    segments: Mutex<HashMap<String, Arc<Vec<RecordedCall>>>>,
    rollups: Mutex<HashMap<String, (std::time::Instant, Arc<rollup::DayRollup>)>>,
}

pub fn anonymize(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, c, _] = v4.octets();
            IpAddr::from([a, b, c, 0])
        }
        IpAddr::V6(v6) => {
            let s = v6.segments();
            IpAddr::from([s[0], s[1], s[2], 0, 0, 0, 0, 0])
        }
    }
}

fn source_prefix(source: &str) -> String {
    format!("{PREFIX}{source}/")
}

fn day_of(ms: i64) -> String {
    let (y, m, d) = agora_model::time::civil_from_days(ms.div_euclid(DAY_MS));
    format!("{y:04}-{m:02}-{d:02}")
}

impl Monitor {
    pub fn new(storage: Storage, node: String, settings: MonitorSettings) -> Self {
        Monitor(Arc::new(Inner {
            storage,
            node,
            settings,
            pending: Default::default(),
            endpoints: Default::default(),
            dropped: Default::default(),
            segments: Default::default(),
            rollups: Default::default(),
        }))
    }

    pub fn settings(&self) -> MonitorSettings {
        self.0.settings
    }

    /// This node's name (in segment names and source leases).
    pub fn node(&self) -> &str {
        &self.0.node
    }

    /// Records a request (never waits: a full queue drops the call).
    pub fn record(&self, method: &str, route: &str, status: u16, duration: Duration, ip: Option<IpAddr>, user: Option<String>) {
        if !self.0.settings.enabled {
            return;
        }
        let hit = Hit {
            at: crate::accounts::unix_now_ms(),
            endpoint: self.endpoint(method, route),
            status,
            duration_us: duration.as_micros().min(u64::MAX as u128) as u64,
            ip: ip.map(|ip| if self.0.settings.anonymize_ips { anonymize(ip) } else { ip }),
            user,
        };
        let mut pending = self.0.pending.lock().unwrap();
        if pending.len() < QUEUE {
            pending.push(hit);
        } else {
            self.0.dropped.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
    }

    /// `{method} {route}`, made once (routes are templates: a few hundred).
    fn endpoint(&self, method: &str, route: &str) -> Arc<str> {
        let known = self.0.endpoints.read().unwrap().get(route).and_then(|m| m.iter().find(|(k, _)| k == method).map(|(_, e)| e.clone()));
        if let Some(endpoint) = known {
            return endpoint;
        }
        let endpoint: Arc<str> = format!("{method} {route}").into();
        let mut endpoints = self.0.endpoints.write().unwrap();
        if endpoints.len() < 10_000 {
            endpoints.entry(route.to_owned()).or_default().push((method.to_owned(), endpoint.clone()));
        }
        endpoint
    }

    /// Writes buffered calls every `flush_every`, and the rest once `stop`
    /// resolves; deletes expired days hourly. Returns when the last flush is
    /// done.
    pub async fn run(&self, stop: impl std::future::Future<Output = ()>) {
        tokio::pin!(stop);
        let mut tick = tokio::time::interval(self.0.settings.flush_every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut last_sweep = std::time::Instant::now() - Duration::from_secs(3600);
        loop {
            tokio::select! {
                _ = tick.tick() => {
                    self.flush().await;
                    if last_sweep.elapsed() > Duration::from_secs(3600) {
                        last_sweep = std::time::Instant::now();
                        self.sweep_all().await;
                    }
                }
                _ = &mut stop => break,
            }
        }
        self.flush().await;
    }

    async fn flush(&self) {
        let dropped = self.0.dropped.swap(0, std::sync::atomic::Ordering::Relaxed);
        if dropped > 0 {
            tracing::warn!(dropped, "request records dropped: the monitoring queue was full");
        }
        let hits = std::mem::take(&mut *self.0.pending.lock().unwrap());
        if hits.is_empty() {
            return;
        }
        let name = format!("{:013}-{}", hits[0].at, self.0.node);
        if let Err(err) = self.store_segments(agora_model::monitoring::SELF_SOURCE, hits, |h| h.at, Hit::as_ref, &name).await {
            tracing::warn!(error = %err, "could not write request records; they are lost");
        }
    }

    /// Writes a source's calls as segments named `name`, one per day so a
    /// day's prefix holds all of its calls (the same name again replaces
    /// them: a window fetched twice is stored once).
    pub async fn write(&self, source: &str, calls: Vec<RecordedCall>, name: &str) -> Result<(), crate::storage::StorageError> {
        self.store_segments(source, calls, |c| c.at, |c| segment::CallRef::from(c), name).await
    }

    /// Encodes `items` (off the executor), one segment per day, and stores
    /// them.
    async fn store_segments<T: Send + Sync + 'static>(
        &self,
        source: &str,
        items: Vec<T>,
        at: fn(&T) -> i64,
        view: for<'a> fn(&'a T) -> segment::CallRef<'a>,
        name: &str,
    ) -> Result<(), crate::storage::StorageError> {
        let days = tokio::task::spawn_blocking(move || encode_by_day(&items, at, view))
            .await
            .map_err(|e| crate::storage::StorageError::Other(format!("encoding request records: {e}")))?;
        let today = crate::accounts::unix_now_ms().div_euclid(DAY_MS) * DAY_MS;
        for (day, body) in days {
            let key = format!("{}{}/{name}.agm", source_prefix(source), day_of(day));
            self.0.storage.put(&key, Bytes::from(body), PutOptions::default()).await?;
            self.0.segments.lock().unwrap().remove(&key);
            if day < today {
                // Late calls for a past day: its rollup no longer holds.
                self.drop_rollup(source, day).await;
            }
        }
        Ok(())
    }

    /// Deletes every source's days older than the retention.
    async fn sweep_all(&self) {
        let options = ListOptions { prefix: PREFIX.into(), delimiter: Some("/".into()), ..Default::default() };
        let sources = match self.0.storage.list_every(&options).await {
            Ok(listed) => listed.common_prefixes,
            Err(err) => return tracing::warn!(error = %err, "could not list monitored sources to delete expired segments"),
        };
        for prefix in sources {
            let source = prefix.trim_start_matches(PREFIX).trim_end_matches('/');
            if let Err(err) = self.sweep(source, false).await {
                tracing::warn!(source, error = %err, "could not delete expired monitoring segments");
            }
        }
    }

    /// Deletes a source's days older than the retention (or all of them).
    pub async fn sweep(&self, source: &str, everything: bool) -> Result<usize, crate::storage::StorageError> {
        let oldest = day_of(crate::accounts::unix_now_ms() - self.0.settings.retention.as_millis() as i64);
        let prefix = source_prefix(source);
        let options = ListOptions { prefix: prefix.clone(), delimiter: Some("/".into()), ..Default::default() };
        let page = self.0.storage.list_every(&options).await?;
        let mut deleted = 0;
        for day_prefix in page.common_prefixes {
            let day = day_prefix.trim_start_matches(&prefix).trim_end_matches('/');
            if everything || day < oldest.as_str() {
                for object in self.0.storage.list_all(&day_prefix).await? {
                    self.0.storage.delete(&object.key).await?;
                    deleted += 1;
                }
            }
        }
        deleted += self.sweep_rollups(source, &oldest, everything).await?;
        if deleted > 0 {
            tracing::info!(source, deleted, "monitoring segments deleted");
        }
        Ok(deleted)
    }

    /// The calls of a source recorded (and flushed) from `start` to `end`
    /// (Unix ms, end exclusive), by every node.
    pub async fn calls(&self, source: &str, start: i64, end: i64) -> Result<Vec<Arc<Vec<RecordedCall>>>, crate::storage::StorageError> {
        let mut segments = Vec::new();
        let mut day = start.div_euclid(DAY_MS);
        while day * DAY_MS < end {
            let prefix = format!("{}{}/", source_prefix(source), day_of(day * DAY_MS));
            for object in self.0.storage.list_all(&prefix).await? {
                segments.push(self.segment(&object.key).await?);
            }
            day += 1;
            if segments.len() > 1_000_000 {
                break;
            }
        }
        Ok(segments)
    }

    /// The first day with records of a source (for "from the first
    /// recorded call").
    pub async fn first_day(&self, source: &str) -> Result<Option<i64>, crate::storage::StorageError> {
        let prefix = source_prefix(source);
        let options = ListOptions { prefix: prefix.clone(), delimiter: Some("/".into()), max_keys: Some(1), ..Default::default() };
        let page = self.0.storage.list(&options).await?;
        Ok(page
            .common_prefixes
            .first()
            .and_then(|p| agora_model::monitoring::parse_iso8601(p.trim_start_matches(&prefix).trim_end_matches('/'))))
    }

    async fn segment(&self, key: &str) -> Result<Arc<Vec<RecordedCall>>, crate::storage::StorageError> {
        if let Some(found) = self.0.segments.lock().unwrap().get(key) {
            return Ok(found.clone());
        }
        let body = self.0.storage.get(key, None).await?.body;
        let calls = Arc::new(segment::decode(&body).unwrap_or_else(|err| {
            tracing::warn!(key, error = %err, "a monitoring segment could not be read; skipped");
            Vec::new()
        }));
        let mut cache = self.0.segments.lock().unwrap();
        if cache.len() >= CACHED_SEGMENTS {
            cache.clear();
        }
        cache.insert(key.to_owned(), calls.clone());
        Ok(calls)
    }
}

/// A recorded request before it is written: no strings of its own.
struct Hit {
    at: i64,
    endpoint: Arc<str>,
    status: u16,
    duration_us: u64,
    ip: Option<IpAddr>,
    user: Option<String>,
}

impl Hit {
    fn as_ref(&self) -> segment::CallRef<'_> {
        segment::CallRef {
            at: self.at,
            endpoint: &self.endpoint,
            status: self.status,
            duration_us: self.duration_us,
            address: segment::Address::Parsed(self.ip),
            user: self.user.as_deref(),
            version: agora_model::VERSION,
        }
    }
}

/// One encoded segment per day the items fall on (CPU work: run it off
/// the executor).
fn encode_by_day<'a, T>(items: &'a [T], at: fn(&T) -> i64, view: fn(&'a T) -> segment::CallRef<'a>) -> Vec<(i64, Vec<u8>)> {
    let mut days: Vec<i64> = items.iter().map(|i| at(i).div_euclid(DAY_MS) * DAY_MS).collect();
    days.sort_unstable();
    days.dedup();
    days.into_iter()
        .map(|day| (day, segment::encode(items.iter().filter(|i| at(i).div_euclid(DAY_MS) * DAY_MS == day).map(view))))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_can_be_anonymised_and_days_named() {
        let call = RecordedCall {
            at: 1_795_428_000_000,
            endpoint: "GET /api/v1/datasets/{id}".into(),
            status: 200,
            duration_us: 1500,
            ip: "10.1.2.3".into(),
            user: Some("u1".into()),
            version: "0.1.0".into(),
        };
        assert_eq!(call.call().duration, 1.5);
        assert_eq!(anonymize("10.1.2.3".parse().unwrap()).to_string(), "10.1.2.0");
        assert_eq!(anonymize("2001:db8:1:2::5".parse().unwrap()).to_string(), "2001:db8:1::");
        assert_eq!(day_of(1_795_428_000_000), "2026-11-23");
    }
}
