//! The search and listing index (tantivy): derived from the bucket, so it can
//! always be rebuilt (`rebuild`).
//!
//! One writer thread owns the `IndexWriter`. Callers send changes over a
//! bounded channel and await the commit that contains them: the thread takes
//! whatever arrived within [`GROUP_WINDOW`] into one commit, reloads the
//! reader, then answers everyone in it. So a change is visible to the next
//! query (read-your-writes) while commits stay few under load. Queries run
//! on the blocking pool against one long-lived reader.

pub mod dashboards;
pub mod journal;
pub mod query;
pub mod rebuild;
pub mod schema;
pub mod search;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tantivy::directory::MmapDirectory;
use tantivy::{Index, IndexReader, IndexWriter, ReloadPolicy, Searcher, Term};
use tokio::sync::oneshot;

pub use schema::{DashboardDoc, DatasetDoc, Fields, FileDoc, RunDoc};

/// Changes arriving within this window share one commit.
pub const GROUP_WINDOW: Duration = Duration::from_millis(20);
const WRITER_MEMORY: usize = 64 * 1024 * 1024;
const QUEUE: usize = 1024;

#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    #[error("the search index failed: {0}")]
    Tantivy(String),
    #[error("the search index is shutting down")]
    Closed,
}

impl From<tantivy::TantivyError> for IndexError {
    fn from(e: tantivy::TantivyError) -> Self {
        IndexError::Tantivy(e.to_string())
    }
}

/// One change to the index.
#[derive(Debug, Clone)]
pub enum Op {
    /// Adds or replaces a dataset's document (not its files).
    Dataset(DatasetDoc),
    /// Removes a dataset's document and every file of it.
    RemoveDataset(String),
    File(FileDoc),
    RemoveFile {
        dataset: String,
        path: String,
    },
    /// Adds or replaces a training run's document.
    Run(RunDoc),
    RemoveRun {
        dataset: String,
        run: String,
    },
    /// Adds or replaces a dashboard's document.
    Dashboard(DashboardDoc),
    RemoveDashboard(String),
    /// Empties the index (a rebuild starts with this).
    Clear,
}

struct Batch {
    ops: Vec<Op>,
    done: oneshot::Sender<Result<(), IndexError>>,
}

/// Where a rebuild stands; `None` when the index is complete.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rebuilding {
    pub done: u64,
    pub total: u64,
}

#[derive(Clone)]
pub struct SearchIndex(Arc<Inner>);

struct Inner {
    reader: IndexReader,
    fields: Fields,
    sender: Mutex<Option<std::sync::mpsc::SyncSender<Batch>>>,
    thread: Mutex<Option<std::thread::JoinHandle<()>>>,
    /// Set while a rebuild runs: queries still answer from what is there.
    rebuilding: Mutex<Option<Rebuilding>>,
    dir: Option<PathBuf>,
    commits: AtomicU64,
    readable: Arc<Mutex<search::ReadableCache>>,
}

impl SearchIndex {
    /// An index in memory (tests, tools).
    pub fn in_memory() -> Self {
        let (schema, fields) = schema::build();
        Self::start(Index::create_in_ram(schema), fields, None).expect("an index in memory starts")
    }

    /// Opens the index under `data_dir`, or creates an empty one. The second
    /// value says whether it must be rebuilt from the bucket: it is new, of
    /// an older schema, or an earlier rebuild did not finish.
    pub fn open(data_dir: &Path) -> Result<(Self, bool), IndexError> {
        let dir = data_dir.join("index").join(format!("v{}", schema::SCHEMA_VERSION));
        std::fs::create_dir_all(&dir).map_err(|e| IndexError::Tantivy(format!("{}: {e}", dir.display())))?;
        let complete = dir.join("complete").exists();
        let (schema, fields) = schema::build();
        let directory = MmapDirectory::open(&dir).map_err(|e| IndexError::Tantivy(e.to_string()))?;
        let index = Index::open_or_create(directory, schema)?;
        // Older versions' folders are dropped: they are derived data.
        if let Ok(entries) = std::fs::read_dir(data_dir.join("index")) {
            for entry in entries.flatten() {
                if entry.path() != dir {
                    let _ = std::fs::remove_dir_all(entry.path());
                }
            }
        }
        Ok((Self::start(index, fields, Some(dir))?, !complete))
    }

    fn start(index: Index, fields: Fields, dir: Option<PathBuf>) -> Result<Self, IndexError> {
        let writer: IndexWriter = index.writer_with_num_threads(1, WRITER_MEMORY)?;
        let reader = index.reader_builder().reload_policy(ReloadPolicy::Manual).try_into()?;
        let (sender, receiver) = std::sync::mpsc::sync_channel::<Batch>(QUEUE);
        let inner = Arc::new(Inner {
            reader: reader.clone(),
            fields,
            sender: Mutex::new(Some(sender)),
            thread: Mutex::new(None),
            rebuilding: Mutex::new(None),
            dir,
            commits: AtomicU64::new(0),
            readable: Arc::default(),
        });
        let weak = Arc::downgrade(&inner);
        let thread = std::thread::Builder::new()
            .name("agora-index-writer".into())
            .spawn(move || write_loop(writer, reader, fields, receiver, weak))
            .map_err(|e| IndexError::Tantivy(e.to_string()))?;
        *inner.thread.lock().unwrap() = Some(thread);
        Ok(Self(inner))
    }

    pub fn fields(&self) -> Fields {
        self.0.fields
    }

    /// Applies the changes and returns once a commit holds them.
    pub async fn apply(&self, ops: Vec<Op>) -> Result<(), IndexError> {
        if ops.is_empty() {
            return Ok(());
        }
        let (done, wait) = oneshot::channel();
        let sender = self.0.sender.lock().unwrap().clone().ok_or(IndexError::Closed)?;
        // A full queue blocks: off the executor.
        tokio::task::spawn_blocking(move || sender.send(Batch { ops, done }).map_err(|_| IndexError::Closed))
            .await
            .map_err(|_| IndexError::Closed)??;
        wait.await.map_err(|_| IndexError::Closed)?
    }

    /// Applies the changes, logging instead of failing: for callers whose
    /// real work (in the bucket) is done; the reconciler repairs a miss.
    pub async fn apply_or_log(&self, ops: Vec<Op>) {
        if let Err(err) = self.apply(ops).await {
            tracing::warn!(error = %err, "the index missed a change; the reconciler will repair it");
        }
    }

    /// Runs a query on the blocking pool with the current searcher.
    pub async fn read<R, F>(&self, query: F) -> Result<R, IndexError>
    where
        F: FnOnce(&Searcher, &Fields) -> Result<R, IndexError> + Send + 'static,
        R: Send + 'static,
    {
        let inner = self.0.clone();
        tokio::task::spawn_blocking(move || query(&inner.reader.searcher(), &inner.fields))
            .await
            .map_err(|e| IndexError::Tantivy(e.to_string()))?
    }

    /// Searches for `caller`, with the readable datasets of recent callers
    /// remembered until the next commit.
    pub async fn search(
        &self,
        caller: &crate::auth::caller::Caller,
        request: agora_model::search::SearchRequest,
    ) -> Result<agora_model::search::SearchResults, IndexError> {
        let (caller, cache) = (caller.clone(), self.0.readable.clone());
        self.read(move |searcher, fields| search::search_with(searcher, fields, &caller, &request, &cache)).await
    }

    pub fn rebuilding(&self) -> Option<Rebuilding> {
        *self.0.rebuilding.lock().unwrap()
    }

    pub(crate) fn set_rebuilding(&self, state: Option<Rebuilding>) {
        *self.0.rebuilding.lock().unwrap() = state;
    }

    /// Marks a full rebuild as finished, so a restart does not redo it.
    pub(crate) fn mark_complete(&self) {
        if let Some(dir) = &self.0.dir {
            if let Err(err) = std::fs::write(dir.join("complete"), b"") {
                tracing::warn!(error = %err, "could not mark the index complete; it will be rebuilt at the next start");
            }
            let _ = std::fs::remove_file(dir.join("rebuilt.json"));
        }
    }

    pub(crate) fn mark_incomplete(&self) {
        if let Some(dir) = &self.0.dir {
            let _ = std::fs::remove_file(dir.join("complete"));
        }
    }

    fn file_in_dir(&self, name: &str) -> Option<PathBuf> {
        self.0.dir.as_ref().map(|d| d.join(name))
    }

    /// Datasets a rebuild interrupted by a crash had finished.
    pub(crate) fn rebuilt_datasets(&self) -> Vec<String> {
        self.file_in_dir("rebuilt.json")
            .and_then(|p| std::fs::read(p).ok())
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default()
    }

    pub(crate) fn save_rebuilt_datasets(&self, ids: &[String]) {
        if let Some(path) = self.file_in_dir("rebuilt.json") {
            write_atomically(&path, &serde_json::to_vec(ids).unwrap_or_default());
        }
    }

    /// Where this node stands in the change journal (Unix ms), if known.
    pub fn cursor(&self) -> Option<u64> {
        self.file_in_dir("journal-cursor").and_then(|p| std::fs::read_to_string(p).ok()).and_then(|t| t.trim().parse().ok())
    }

    pub fn save_cursor(&self, at_ms: u64) {
        if let Some(path) = self.file_in_dir("journal-cursor") {
            write_atomically(&path, at_ms.to_string().as_bytes());
        }
    }

    /// Commits made so far (for tests and benchmarks).
    pub fn commits(&self) -> u64 {
        self.0.commits.load(Ordering::Relaxed)
    }

    /// Stops taking changes, commits what is queued and waits for the writer.
    pub fn shutdown(&self) {
        self.0.sender.lock().unwrap().take();
        if let Some(thread) = self.0.thread.lock().unwrap().take() {
            let _ = thread.join();
        }
    }
}

fn write_loop(
    mut writer: IndexWriter,
    reader: IndexReader,
    fields: Fields,
    receiver: std::sync::mpsc::Receiver<Batch>,
    inner: std::sync::Weak<Inner>,
) {
    while let Ok(first) = receiver.recv() {
        let mut batches = vec![first];
        let deadline = Instant::now() + GROUP_WINDOW;
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            match receiver.recv_timeout(left) {
                Ok(batch) => batches.push(batch),
                Err(_) => break,
            }
        }
        let result = commit(&mut writer, &reader, &fields, &batches);
        if let Some(inner) = inner.upgrade() {
            inner.commits.fetch_add(1, Ordering::Relaxed);
        }
        for batch in batches {
            let _ = batch.done.send(result.clone().map_err(IndexError::Tantivy));
        }
    }
    // The channel closed: everything sent was committed above.
    let _ = writer.wait_merging_threads();
}

fn commit(writer: &mut IndexWriter, reader: &IndexReader, f: &Fields, batches: &[Batch]) -> Result<(), String> {
    for op in batches.iter().flat_map(|b| &b.ops) {
        match op {
            Op::Dataset(d) => {
                writer.delete_term(Term::from_field_text(f.key, &schema::dataset_key(&d.id)));
                writer.add_document(schema::dataset_document(f, d)).map_err(|e| e.to_string())?;
            }
            Op::RemoveDataset(id) => {
                writer.delete_term(Term::from_field_text(f.dataset, id));
            }
            Op::File(file) => {
                writer.delete_term(Term::from_field_text(f.key, &schema::file_key(&file.dataset, &file.path)));
                writer.add_document(schema::file_document(f, file)).map_err(|e| e.to_string())?;
            }
            Op::RemoveFile { dataset, path } => {
                writer.delete_term(Term::from_field_text(f.key, &schema::file_key(dataset, path)));
            }
            Op::Run(r) => {
                writer.delete_term(Term::from_field_text(f.key, &schema::run_key(&r.dataset, &r.id)));
                writer.add_document(schema::run_document(f, r)).map_err(|e| e.to_string())?;
            }
            Op::RemoveRun { dataset, run } => {
                writer.delete_term(Term::from_field_text(f.key, &schema::run_key(dataset, run)));
            }
            Op::Dashboard(d) => {
                writer.delete_term(Term::from_field_text(f.key, &schema::dashboard_key(&d.id)));
                writer.add_document(schema::dashboard_document(f, d)).map_err(|e| e.to_string())?;
            }
            Op::RemoveDashboard(id) => {
                writer.delete_term(Term::from_field_text(f.key, &schema::dashboard_key(id)));
            }
            Op::Clear => {
                writer.delete_all_documents().map_err(|e| e.to_string())?;
            }
        }
    }
    writer.commit().map_err(|e| e.to_string())?;
    reader.reload().map_err(|e| e.to_string())
}

/// Temp file and rename: a crash leaves the old or the new content.
fn write_atomically(path: &Path, bytes: &[u8]) {
    let temp = path.with_extension("tmp");
    if let Err(err) = std::fs::write(&temp, bytes).and_then(|()| std::fs::rename(&temp, path)) {
        tracing::warn!(path = %path.display(), error = %err, "could not save index state");
    }
}
