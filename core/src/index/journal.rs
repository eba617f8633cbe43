//! The change journal that lets several nodes share one bucket.
//!
//! ```text
//! journal/{unix ms, 13 digits}-{node}-{random}.json   {"node", "changes": [{"dataset", "path"?}]}
//! ```
//!
//! A node applies its own changes to its index at once and writes what
//! changed (not the documents) to the journal. The others list the journal
//! from where they stopped, and for each change re-read the truth from the
//! bucket (`datasets::sync`). Listing starts a few seconds before the cursor,
//! because another node's clock or a slow write may put an entry behind it;
//! keys seen in that window are remembered so nothing is applied twice.
//! Entries older than [`RETENTION`] are deleted; a node that was away longer
//! rebuilds its index.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use super::{Op, SearchIndex};
use crate::storage::{ListOptions, PutOptions, Storage};

pub const PREFIX: &str = "journal/";
/// How long entries stay.
pub const RETENTION: Duration = Duration::from_secs(24 * 3600);
/// Change notices a slow watcher may fall behind by.
const EVENTS: usize = 1024;
/// How far behind the cursor each pass looks again.
const OVERLAP_MS: u64 = 10_000;

/// One thing that changed: a dataset (its record), one of its files, or a
/// dashboard (`dashboard` set, `dataset` empty).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Change {
    #[serde(default)]
    pub dataset: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dashboard: Option<String>,
    /// A training run of `dataset`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run: Option<String>,
}

#[derive(Debug, Serialize, Deserialize)]
struct Entry {
    node: String,
    changes: Vec<Change>,
}

impl Change {
    fn of(op: &Op) -> Option<Change> {
        match op {
            Op::Dataset(d) => Some(Change { dataset: d.id.clone(), ..Default::default() }),
            Op::RemoveDataset(id) => Some(Change { dataset: id.clone(), ..Default::default() }),
            Op::File(f) => Some(Change { dataset: f.dataset.clone(), path: Some(f.path.clone()), ..Default::default() }),
            Op::RemoveFile { dataset, path } => Some(Change { dataset: dataset.clone(), path: Some(path.clone()), ..Default::default() }),
            Op::Run(r) => Some(Change { dataset: r.dataset.clone(), run: Some(r.id.clone()), ..Default::default() }),
            Op::RemoveRun { dataset, run } => Some(Change { dataset: dataset.clone(), run: Some(run.clone()), ..Default::default() }),
            Op::Dashboard(d) => Some(Change { dashboard: Some(d.id.clone()), ..Default::default() }),
            Op::RemoveDashboard(id) => Some(Change { dashboard: Some(id.clone()), ..Default::default() }),
            Op::Clear => None,
        }
    }
}

fn key_at(ms: u64) -> String {
    format!("{PREFIX}{ms:013}")
}

/// This node's index, and the journal its changes go to.
#[derive(Clone)]
pub struct Indexer {
    index: SearchIndex,
    journal: Option<Arc<Journal>>,
    /// Datasets changed lately (here or on other nodes), for the reconciler.
    active: Arc<Mutex<HashMap<String, Instant>>>,
    /// Ids of datasets as they change, for live pages (server-sent events).
    events: tokio::sync::broadcast::Sender<String>,
}

pub struct Journal {
    storage: Storage,
    node: String,
}

impl Indexer {
    /// An index no other node shares (tests, tools).
    pub fn local(index: SearchIndex) -> Self {
        Self { index, journal: None, active: Arc::default(), events: tokio::sync::broadcast::channel(EVENTS).0 }
    }

    /// An index whose changes are journalled for the other nodes on `storage`.
    pub fn shared(index: SearchIndex, storage: Storage) -> Self {
        let node = crate::accounts::random_id()[..8].to_owned();
        Self {
            index,
            journal: Some(Arc::new(Journal { storage, node })),
            active: Arc::default(),
            events: tokio::sync::broadcast::channel(EVENTS).0,
        }
    }

    pub fn search(&self) -> &SearchIndex {
        &self.index
    }

    pub fn journal(&self) -> Option<&Journal> {
        self.journal.as_deref()
    }

    /// Applies changes this node made (awaiting the commit, so the caller's
    /// next read sees them) and tells the other nodes.
    pub async fn changed(&self, ops: Vec<Op>) {
        let changes: Vec<Change> = ops.iter().filter_map(Change::of).collect();
        for change in changes.iter().filter(|c| c.dashboard.is_none()) {
            self.touch(&change.dataset);
        }
        self.index.apply_or_log(ops).await;
        if let (Some(journal), false) = (&self.journal, changes.is_empty()) {
            journal.write(changes).await;
        }
    }
}

impl Indexer {
    /// Notes that a dataset changed: for the reconciler, and for whoever
    /// watches it live.
    pub fn touch(&self, dataset: &str) {
        self.active.lock().unwrap().insert(dataset.to_owned(), Instant::now());
        let _ = self.events.send(dataset.to_owned());
    }

    /// Says that a dataset changed in a way the index does not hold (its
    /// activity log), here and to the other nodes.
    pub async fn notify(&self, dataset: &str) {
        self.touch(dataset);
        if let Some(journal) = &self.journal {
            journal.write(vec![Change { dataset: dataset.to_owned(), ..Default::default() }]).await;
        }
    }

    /// Dataset ids as they change.
    pub fn subscribe(&self) -> tokio::sync::broadcast::Receiver<String> {
        self.events.subscribe()
    }

    /// Datasets changed within `window`; older ones are forgotten.
    pub fn recently_active(&self, window: Duration) -> Vec<String> {
        let mut active = self.active.lock().unwrap();
        active.retain(|_, at| at.elapsed() < window);
        active.keys().cloned().collect()
    }
}

impl Journal {
    pub fn node(&self) -> &str {
        &self.node
    }

    async fn write(&self, changes: Vec<Change>) {
        let key =
            format!("{}-{}-{}.json", key_at(crate::accounts::unix_now_ms().max(0) as u64), self.node, &crate::accounts::random_id()[..6]);
        let entry = Entry { node: self.node.clone(), changes };
        let body = Bytes::from(serde_json::to_vec(&entry).unwrap_or_default());
        let options = PutOptions { content_type: Some("application/json".into()), ..Default::default() };
        if let Err(err) = self.storage.put(&key, body, options).await {
            tracing::warn!(error = %err, "could not journal an index change; other nodes see it after their next reconcile");
        }
    }

    /// Deletes entries older than [`RETENTION`].
    pub async fn expire(&self) -> Result<usize, crate::storage::StorageError> {
        let cutoff = key_at((crate::accounts::unix_now_ms().max(0) as u64).saturating_sub(RETENTION.as_millis() as u64));
        let mut old = Vec::new();
        let mut token = None;
        'pages: loop {
            let page = self
                .storage
                .list(&ListOptions { prefix: PREFIX.into(), continuation_token: token, max_keys: Some(1000), ..Default::default() })
                .await?;
            for object in page.objects {
                if object.key >= cutoff {
                    break 'pages;
                }
                old.push(object.key);
            }
            match page.next_continuation_token {
                Some(next) => token = Some(next),
                None => break,
            }
        }
        self.storage.delete_many(&old).await?;
        Ok(old.len())
    }
}

/// Where a node stands in the journal.
pub struct Cursor {
    /// Unix ms of the newest entry applied.
    pub at_ms: u64,
    seen: HashSet<String>,
}

impl Cursor {
    pub fn new(at_ms: u64) -> Self {
        Self { at_ms, seen: HashSet::new() }
    }

    pub fn now() -> Self {
        Self::new(crate::accounts::unix_now_ms().max(0) as u64)
    }

    /// Too old to catch up from the journal: entries may have expired.
    pub fn expired(&self) -> bool {
        (crate::accounts::unix_now_ms().max(0) as u64).saturating_sub(self.at_ms) > RETENTION.as_millis() as u64 - 3_600_000
    }
}

impl Journal {
    /// Other nodes' changes since the cursor, oldest first; moves the cursor.
    pub async fn read(&self, cursor: &mut Cursor) -> Result<Vec<Change>, crate::storage::StorageError> {
        let from = cursor.at_ms.saturating_sub(OVERLAP_MS);
        let mut changes = Vec::new();
        let mut keys = Vec::new();
        let options = ListOptions { prefix: PREFIX.into(), start_after: Some(key_at(from)), max_keys: Some(1000), ..Default::default() };
        keys.extend(self.storage.list_every(&options).await?.objects.into_iter().map(|o| o.key));
        for key in keys {
            if cursor.seen.contains(&key) {
                continue;
            }
            let ms: u64 = key.strip_prefix(PREFIX).and_then(|k| k.get(..13)).and_then(|t| t.parse().ok()).unwrap_or_default();
            let mine = key.split('-').nth(1) == Some(self.node.as_str());
            if !mine {
                match self.storage.get(&key, None).await {
                    Ok(object) => {
                        if let Ok(entry) = serde_json::from_slice::<Entry>(&object.body) {
                            changes.extend(entry.changes);
                        }
                    }
                    // Expired meanwhile: a reconcile or rebuild covers it.
                    Err(crate::storage::StorageError::NotFound) => {}
                    Err(other) => return Err(other),
                }
            }
            cursor.at_ms = cursor.at_ms.max(ms);
            cursor.seen.insert(key);
        }
        let horizon = key_at(cursor.at_ms.saturating_sub(OVERLAP_MS));
        cursor.seen.retain(|k| *k >= horizon);
        let mut unique = HashSet::new();
        changes.retain(|c| unique.insert(c.clone()));
        Ok(changes)
    }
}
