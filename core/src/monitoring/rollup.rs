//! Day rollups: what a year of calls needs to answer in milliseconds.
//!
//! ```text
//! monroll/{source}/{YYYY-MM-DD}.json.gz   one complete day: a Summary per endpoint
//! ```
//!
//! A rollup is built the first time a query needs a complete day (a past
//! day whose calls can no longer change: for Agora, a few minutes after
//! midnight; for a remote source, once its fetches have passed the day's
//! end), stored, and kept in memory. Counts, sums, extremes, errors and
//! addresses in it are exact; percentiles come from its sketch (within 1 %).
//! A segment written late into a past day drops that day's rollup (other
//! nodes re-read their cached rollups after [`CACHE_FOR`]).

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::sync::Arc;

use agora_model::monitoring::Summary;
use bytes::Bytes;

use super::{day_of, Monitor, DAY_MS};
use crate::storage::{PutOptions, StorageError};

const PREFIX: &str = "monroll/";
/// Rollups kept in memory…
const CACHED: usize = 8_192;
/// …for this long before they are read from the bucket again.
pub const CACHE_FOR: std::time::Duration = std::time::Duration::from_secs(300);

/// A day's calls summarised by endpoint.
pub type DayRollup = BTreeMap<String, Summary>;

fn key(source: &str, day: i64) -> String {
    format!("{PREFIX}{source}/{}.json.gz", day_of(day))
}

pub(super) fn source_prefix(source: &str) -> String {
    format!("{PREFIX}{source}/")
}

/// Where a day's addresses are kept: apart, since only unique visitors
/// and visits per IP need them and they are most of a rollup's size.
fn ips_key(source: &str, day: i64) -> String {
    format!("{PREFIX}{source}/{}.ips.json.gz", day_of(day))
}

/// A rollup's addresses by endpoint.
type DayAddresses = BTreeMap<String, std::collections::HashMap<String, u64>>;

impl Monitor {
    /// The rollup of the complete day starting at `day` (Unix ms, midnight
    /// UTC), with its addresses only when asked (they are read apart).
    pub async fn day_rollup(&self, source: &str, day: i64, with_ips: bool) -> Result<Arc<DayRollup>, StorageError> {
        let cache_key = if with_ips { ips_key(source, day) } else { key(source, day) };
        if let Some((read, found)) = self.0.rollups.lock().unwrap().get(&cache_key) {
            if read.elapsed() < CACHE_FOR {
                return Ok(found.clone());
            }
        }
        let mut rollup = match self.read(&key(source, day)).await? {
            Some(rollup) => rollup,
            None => self.build_rollup(source, day).await?,
        };
        if with_ips && rollup.values().all(|s| s.ips.is_empty()) {
            let addresses: DayAddresses = match self.read(&ips_key(source, day)).await? {
                Some(addresses) => addresses,
                None => self.build_rollup(source, day).await?.into_iter().map(|(e, s)| (e, s.ips)).collect(),
            };
            for (endpoint, ips) in addresses {
                if let Some(summary) = rollup.get_mut(&endpoint) {
                    summary.ips = ips;
                }
            }
        }
        let rollup = Arc::new(rollup);
        let mut cache = self.0.rollups.lock().unwrap();
        if cache.len() >= CACHED {
            cache.clear();
        }
        cache.insert(cache_key, (std::time::Instant::now(), rollup.clone()));
        Ok(rollup)
    }

    /// A stored rollup part; `None` when it is missing or unreadable (it is
    /// built again).
    async fn read<T: serde::de::DeserializeOwned>(&self, key: &str) -> Result<Option<T>, StorageError> {
        match self.0.storage.get(key, None).await {
            Ok(object) => match decode(&object.body) {
                Ok(value) => Ok(Some(value)),
                Err(err) => {
                    tracing::warn!(key, error = %err, "a monitoring rollup is unreadable; building it again");
                    Ok(None)
                }
            },
            Err(StorageError::NotFound) => Ok(None),
            Err(err) => Err(err),
        }
    }

    /// Builds a day's rollup from its segments and stores it (summaries and
    /// addresses apart); returns it with its addresses.
    async fn build_rollup(&self, source: &str, day: i64) -> Result<DayRollup, StorageError> {
        let segments = self.calls(source, day, day + DAY_MS).await?;
        // Summarising and encoding a busy day is CPU work: off the executor.
        let (rollup, addresses, bare) = tokio::task::spawn_blocking(move || {
            let mut rollup = DayRollup::new();
            for call in segments.iter().flat_map(|s| s.iter()).filter(|c| c.at >= day && c.at < day + DAY_MS) {
                rollup.entry(call.endpoint.clone()).or_default().add(&call.call(), call.status);
            }
            let addresses: DayAddresses = rollup.iter().map(|(e, s)| (e.clone(), s.ips.clone())).collect();
            let bare: DayRollup = rollup.iter().map(|(e, s)| (e.clone(), Summary { ips: Default::default(), ..s.clone() })).collect();
            (rollup, encode(&addresses), encode(&bare))
        })
        .await
        .map_err(|e| StorageError::Other(format!("summarising a day of calls: {e}")))?;
        // The addresses first: a summary without its addresses object would
        // read as a day without addresses.
        self.store(&ips_key(source, day), addresses).await;
        self.store(&key(source, day), bare).await;
        Ok(rollup)
    }

    async fn store(&self, key: &str, encoded: std::io::Result<Vec<u8>>) {
        match encoded {
            Ok(body) => {
                let options = PutOptions { content_type: Some("application/gzip".into()), ..Default::default() };
                if let Err(err) = self.0.storage.put(key, Bytes::from(body), options).await {
                    tracing::warn!(key, error = %err, "a monitoring rollup could not be stored; it is built again next time");
                }
            }
            Err(err) => tracing::warn!(key, error = %err, "a monitoring rollup could not be encoded"),
        }
    }

    /// Drops the rollup of a day that got calls after it was complete.
    pub(super) async fn drop_rollup(&self, source: &str, day: i64) {
        for key in [key(source, day), ips_key(source, day)] {
            self.0.rollups.lock().unwrap().remove(&key);
            match self.0.storage.delete(&key).await {
                Ok(()) | Err(StorageError::NotFound) => {}
                Err(err) => tracing::warn!(key, error = %err, "a stale monitoring rollup could not be deleted"),
            }
        }
    }

    /// Deletes a source's rollups of days before `oldest` (`YYYY-MM-DD`),
    /// or all of them.
    pub(super) async fn sweep_rollups(&self, source: &str, oldest: &str, everything: bool) -> Result<usize, StorageError> {
        let prefix = source_prefix(source);
        let mut deleted = 0;
        for object in self.0.storage.list_all(&prefix).await? {
            let day = object.key.trim_start_matches(&prefix).trim_end_matches(".json.gz");
            if everything || day < oldest {
                self.0.storage.delete(&object.key).await?;
                self.0.rollups.lock().unwrap().remove(&object.key);
                deleted += 1;
            }
        }
        Ok(deleted)
    }
}

fn encode<T: serde::Serialize>(value: &T) -> std::io::Result<Vec<u8>> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    serde_json::to_writer(&mut gz, value)?;
    gz.flush()?;
    gz.finish()
}

fn decode<T: serde::de::DeserializeOwned>(body: &[u8]) -> std::io::Result<T> {
    let mut text = String::new();
    flate2::read::GzDecoder::new(body).read_to_string(&mut text)?;
    Ok(serde_json::from_str(&text)?)
}

/// Merges the wanted endpoints of a day (one endpoint, or all not hidden),
/// with their addresses only when asked.
pub fn merged(rollup: &DayRollup, endpoint: Option<&str>, hidden: &[String], with_ips: bool) -> Summary {
    let mut summary = Summary::default();
    for (name, part) in rollup {
        let wanted = match endpoint {
            Some(e) => name == e,
            None => !hidden.iter().any(|h| h == name),
        };
        match (wanted, with_ips) {
            (true, true) => summary.merge(part),
            (true, false) => summary.merge_durations(part),
            _ => {}
        }
    }
    summary
}

/// Whole days inside `[from, to)` that end by `complete_until`, as their
/// midnights.
pub fn whole_complete_days(from: i64, to: i64, complete_until: i64) -> Vec<i64> {
    let first = from.div_euclid(DAY_MS) * DAY_MS + if from.rem_euclid(DAY_MS) == 0 { 0 } else { DAY_MS };
    let mut days = Vec::new();
    let mut day = first;
    while day + DAY_MS <= to && day + DAY_MS <= complete_until {
        days.push(day);
        day += DAY_MS;
    }
    days
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_complete_days_are_inside_the_range_and_complete() {
        let d = DAY_MS;
        assert_eq!(whole_complete_days(0, 3 * d, 10 * d), vec![0, d, 2 * d]);
        assert_eq!(whole_complete_days(1, 3 * d, 10 * d), vec![d, 2 * d]);
        assert_eq!(whole_complete_days(0, 3 * d - 1, 10 * d), vec![0, d]);
        assert_eq!(whole_complete_days(0, 3 * d, 2 * d + 5), vec![0, d]);
        assert!(whole_complete_days(5, 10, 10 * d).is_empty());
    }
}
