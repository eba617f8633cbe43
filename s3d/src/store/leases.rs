//! Read leases: a GET keeps reading the version it looked up, to its last
//! byte, even when that object is replaced or deleted meanwhile.
//!
//! A reader looks an object up and registers its blobs in one step (under
//! the bucket's lease table). A replaced or deleted object's blobs are
//! *retired*: removed at once when nobody reads them, otherwise when the
//! last lease on them ends. A crash leaves retired blobs unreferenced, and
//! the next open sweeps them.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::Arc;

use super::{BlobRef, Bucket, ObjectMeta};

#[derive(Default)]
pub(crate) struct LeaseTable {
    /// How many leases hold each blob.
    readers: HashMap<String, usize>,
    /// Blobs no object refers to any more, waiting for their last reader.
    retired: HashSet<String>,
}

/// Keeps an object version's blobs on disk while it lives.
pub(crate) struct Lease {
    bucket: Arc<Bucket>,
    blobs: Vec<String>,
}

impl Bucket {
    fn leases(&self) -> std::sync::MutexGuard<'_, LeaseTable> {
        self.leases.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The object under `key` and a lease on its blobs, from one lookup.
    pub(crate) fn lease(self: &Arc<Self>, key: &str) -> Option<(Arc<ObjectMeta>, Lease)> {
        let mut table = self.leases();
        let meta = self.get(key)?;
        let blobs: Vec<String> = meta.blobs.iter().map(|b| b.id.clone()).collect();
        for id in &blobs {
            *table.readers.entry(id.clone()).or_default() += 1;
        }
        Some((meta, Lease { bucket: Arc::clone(self), blobs }))
    }

    /// Removes the blobs of `old` that `keep` does not use, now or when
    /// their last reader is done. Call it after the object stopped
    /// referring to them. Blocking.
    pub(crate) fn retire(&self, old: &[BlobRef], keep: &[BlobRef]) {
        let doomed: Vec<PathBuf> = {
            let mut table = self.leases();
            old.iter()
                .filter(|b| !keep.contains(b))
                .filter_map(|b| {
                    if table.readers.contains_key(&b.id) {
                        table.retired.insert(b.id.clone());
                        None
                    } else {
                        Some(self.blob_path(&b.id))
                    }
                })
                .collect()
        };
        remove(doomed);
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        let doomed: Vec<PathBuf> = {
            let mut table = self.bucket.leases();
            let mut doomed = Vec::new();
            for id in &self.blobs {
                let last = match table.readers.get_mut(id) {
                    Some(count) if *count > 1 => {
                        *count -= 1;
                        false
                    }
                    _ => true,
                };
                if last {
                    table.readers.remove(id);
                    if table.retired.remove(id) {
                        doomed.push(self.bucket.blob_path(id));
                    }
                }
            }
            doomed
        };
        if doomed.is_empty() {
            return;
        }
        // Unlinking is file I/O: off the async executor when there is one.
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => drop(runtime.spawn_blocking(move || remove(doomed))),
            Err(_) => remove(doomed),
        }
    }
}

fn remove(paths: Vec<PathBuf>) {
    for path in paths {
        if let Err(err) = std::fs::remove_file(&path) {
            if err.kind() != std::io::ErrorKind::NotFound {
                tracing::warn!(blob = %path.display(), error = %err, "could not remove a replaced blob; it will be swept at the next start");
            }
        }
    }
}
