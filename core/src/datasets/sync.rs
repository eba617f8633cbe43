//! Keeping the search index in line with the bucket (the truth): a full
//! rebuild, other nodes' changes from the journal, and a reconciler that
//! compares recently active datasets with storage and repairs drift (an
//! upload whose completion never reached the index, a crash in between).

use std::collections::HashMap;
use std::time::Duration;

use futures::StreamExt;

use super::files::file_key;
use super::{manifest_key, DatasetError, DatasetRecord, Datasets};
use crate::index::journal::{Change, Cursor};
use crate::index::{FileDoc, Op, Rebuilding};
use crate::storage::{ListOptions, ObjectInfo, StorageError};

/// Files read from storage at once during a rebuild or reconcile.
const CONCURRENCY: usize = 32;
/// Documents per index commit during a rebuild.
const CHUNK: usize = 2000;

pub(super) fn file_doc(dataset: &str, path: &str, info: &ObjectInfo, labels: Vec<agora_model::tags::Tag>) -> FileDoc {
    FileDoc {
        dataset: dataset.to_owned(),
        path: path.to_owned(),
        size: info.size,
        modified: info.modified,
        content_type: info.content_type.clone(),
        labels,
    }
}

impl Datasets {
    /// The index operation that makes one file's document match storage.
    async fn file_op(&self, dataset: &str, path: &str) -> Result<Op, DatasetError> {
        let key = file_key(dataset, path);
        let (info, tags) = futures::join!(self.storage.head(&key), self.storage.get_tags(&key));
        match (info, tags) {
            (Ok(info), Ok(tags)) => Ok(Op::File(file_doc(dataset, path, &info, tags))),
            (Err(StorageError::NotFound), _) | (_, Err(StorageError::NotFound)) => {
                Ok(Op::RemoveFile { dataset: dataset.to_owned(), path: path.to_owned() })
            }
            (Err(e), _) | (_, Err(e)) => Err(e.into()),
        }
    }

    /// The operation that makes a dataset's document match its record.
    async fn dataset_op(&self, id: &str) -> Result<Op, DatasetError> {
        match self.storage.get(&manifest_key(id), None).await {
            Ok(object) => {
                let record: DatasetRecord = serde_json::from_slice(&object.body)?;
                Ok(if record.deletion_job.is_some() { Op::RemoveDataset(id.to_owned()) } else { Op::Dataset(record.index_doc()) })
            }
            Err(StorageError::NotFound) => Ok(Op::RemoveDataset(id.to_owned())),
            Err(other) => Err(other.into()),
        }
    }

    /// Applies other nodes' changes, re-reading each from storage.
    pub async fn apply_changes(&self, changes: Vec<Change>) -> Result<usize, DatasetError> {
        let count = changes.len();
        let ops: Vec<Result<Op, DatasetError>> = futures::stream::iter(changes)
            .map(|change| async move {
                match (&change.dashboard, &change.run, &change.path) {
                    (Some(id), _, _) => crate::dashboards::index_op(&self.storage, id).await.map_err(DatasetError::Api),
                    (None, Some(run), _) => self.run_op(&change.dataset, run).await,
                    (None, None, None) => self.dataset_op(&change.dataset).await,
                    (None, None, Some(path)) => self.file_op(&change.dataset, path).await,
                }
            })
            .buffered(CONCURRENCY)
            .collect()
            .await;
        let ops = ops.into_iter().collect::<Result<Vec<_>, _>>()?;
        self.index.search().apply(ops).await?;
        Ok(count)
    }

    /// Every dataset id in the bucket (deleted ones included).
    async fn dataset_ids(&self) -> Result<Vec<String>, DatasetError> {
        let options = ListOptions { prefix: "ds/".into(), delimiter: Some("/".into()), ..Default::default() };
        let page = self.storage.list_every(&options).await?;
        Ok(page.common_prefixes.iter().filter_map(|p| p.strip_prefix("ds/")?.strip_suffix('/').map(str::to_owned)).collect())
    }

    /// Rebuilds the index from the bucket: every dataset record, every file
    /// with its tags. Resumable: datasets finished before a crash are kept
    /// and skipped. Queries keep answering (from what is there) meanwhile.
    pub async fn rebuild_index(&self, progress: impl Fn(Rebuilding)) -> Result<Rebuilding, DatasetError> {
        let index = self.index.search();
        index.mark_incomplete();
        let mut finished = index.rebuilt_datasets();
        if finished.is_empty() {
            index.apply(vec![Op::Clear]).await?;
        }
        let ids = self.dataset_ids().await?;
        // The dashboards are the last step.
        let mut state = Rebuilding { done: 0, total: ids.len() as u64 + 1 };
        index.set_rebuilding(Some(state));
        progress(state);
        for id in ids {
            if !finished.contains(&id) {
                self.reindex_dataset(&id).await?;
                finished.push(id);
                index.save_rebuilt_datasets(&finished);
            }
            state.done += 1;
            index.set_rebuilding(Some(state));
            progress(state);
        }
        self.reindex_dashboards().await?;
        state.done += 1;
        progress(state);
        index.mark_complete();
        index.set_rebuilding(None);
        Ok(state)
    }

    /// Replaces everything the index holds about one dataset with what
    /// storage holds.
    async fn reindex_dataset(&self, id: &str) -> Result<(), DatasetError> {
        let index = self.index.search();
        let head = self.dataset_op(id).await?;
        let live = matches!(head, Op::Dataset(_));
        index.apply(vec![Op::RemoveDataset(id.to_owned())]).await?;
        if !live {
            return Ok(());
        }
        let mut ops = vec![head];
        ops.extend(self.run_ops(id).await?);
        let root = file_key(id, "");
        let mut files = futures::stream::iter(self.storage.list_all(&root).await?)
            .map(|object| {
                let path = object.key.strip_prefix(&root).unwrap_or(&object.key).to_owned();
                async move { self.file_op(id, &path).await }
            })
            .buffered(CONCURRENCY);
        while let Some(op) = files.next().await {
            ops.push(op?);
            if ops.len() >= CHUNK {
                index.apply(std::mem::take(&mut ops)).await?;
            }
        }
        Ok(index.apply(ops).await?)
    }

    /// Indexes every dashboard in the bucket.
    async fn reindex_dashboards(&self) -> Result<(), DatasetError> {
        let ids = crate::dashboards::ids(&self.storage).await.map_err(DatasetError::Api)?;
        let storage = &self.storage;
        let mut ops =
            futures::stream::iter(ids).map(|id| async move { crate::dashboards::index_op(storage, &id).await }).buffered(CONCURRENCY);
        let mut batch = Vec::new();
        while let Some(op) = ops.next().await {
            batch.push(op.map_err(DatasetError::Api)?);
            if batch.len() >= CHUNK {
                self.index.search().apply(std::mem::take(&mut batch)).await?;
            }
        }
        Ok(self.index.search().apply(batch).await?)
    }

    /// Compares one dataset's files in storage with the index and repairs
    /// what differs (missing, extra, or another size or time), after
    /// dropping abandoned uploads. Returns the number of repairs.
    pub async fn reconcile(&self, id: &str) -> Result<usize, DatasetError> {
        let index = self.index.search();
        let head = self.dataset_op(id).await?;
        if !matches!(head, Op::Dataset(_)) {
            index.apply(vec![head]).await?;
            return Ok(0);
        }
        self.sweep_uploads(id, ABANDONED_AFTER, super::uploads::ORPHANED_AFTER).await?;
        let root = file_key(id, "");
        let stored: HashMap<String, (u64, i64)> = self
            .storage
            .list_all(&root)
            .await?
            .into_iter()
            .map(|o| (o.key.strip_prefix(&root).unwrap_or(&o.key).to_owned(), (o.size, o.modified)))
            .collect();
        let dataset = id.to_owned();
        let indexed = index.read(move |searcher, fields| crate::index::query::all_files(searcher, fields, &dataset)).await?;
        let mut stale: Vec<String> =
            stored.iter().filter(|(path, state)| indexed.get(*path) != Some(*state)).map(|(path, _)| path.clone()).collect();
        stale.extend(indexed.keys().filter(|path| !stored.contains_key(*path)).cloned());
        if stale.is_empty() {
            return Ok(0);
        }
        let repairs = stale.len();
        let ops: Vec<Result<Op, DatasetError>> =
            futures::stream::iter(stale).map(|path| async move { self.file_op(id, &path).await }).buffered(CONCURRENCY).collect().await;
        let mut ops = ops.into_iter().collect::<Result<Vec<_>, _>>()?;
        ops.push(head);
        index.apply(ops).await?;
        tracing::info!(dataset = %id, repairs, "the index was out of step with storage and is repaired");
        Ok(repairs)
    }

    /// Keeps the index in step in the background: other nodes' changes every
    /// `poll`, journal expiry hourly, a reconcile of recently active datasets
    /// every few minutes. Stops with `stop`.
    pub fn keep_index_in_step(&self, mut cursor: Cursor, poll: Duration, stop: impl std::future::Future<Output = ()> + Send + 'static) {
        let datasets = self.clone();
        tokio::spawn(async move {
            tokio::pin!(stop);
            let mut tick = tokio::time::interval(poll);
            let mut last_expiry = std::time::Instant::now();
            let mut last_reconcile = std::time::Instant::now();
            let mut saved: Option<u64> = None;
            loop {
                tokio::select! {
                    _ = tick.tick() => {}
                    _ = &mut stop => return,
                }
                if let Some(journal) = datasets.index.journal() {
                    match journal.read(&mut cursor).await {
                        Ok(changes) if !changes.is_empty() => {
                            for change in changes.iter().filter(|c| c.dashboard.is_none()) {
                                datasets.index.touch(&change.dataset);
                            }
                            if let Err(err) = datasets.apply_changes(changes).await {
                                tracing::warn!(error = %err, "could not apply other nodes' changes; retrying");
                            }
                        }
                        Ok(_) => {}
                        Err(err) => tracing::warn!(error = %err, "could not read the change journal"),
                    }
                    // Written when it moved (or first): this loop runs every poll.
                    if saved != Some(cursor.at_ms) {
                        datasets.index.search().save_cursor(cursor.at_ms);
                        saved = Some(cursor.at_ms);
                    }
                    if last_expiry.elapsed() > Duration::from_secs(3600) {
                        last_expiry = std::time::Instant::now();
                        if let Err(err) = journal.expire().await {
                            tracing::warn!(error = %err, "could not expire old journal entries");
                        }
                    }
                }
                if last_reconcile.elapsed() > RECONCILE_EVERY {
                    last_reconcile = std::time::Instant::now();
                    for id in datasets.index.recently_active(Duration::from_secs(3600)) {
                        if let Err(err) = datasets.reconcile(&id).await {
                            tracing::warn!(dataset = %id, error = %err, "reconciling the index failed");
                        }
                    }
                }
            }
        });
    }
}

/// Uploads not completed within this long are dropped by the reconciler
/// (the embedded endpoint's default for multipart uploads too).
pub const ABANDONED_AFTER: Duration = Duration::from_secs(7 * 24 * 3600);

/// How often recently active datasets are compared with storage.
pub const RECONCILE_EVERY: Duration = Duration::from_secs(300);
