//! A crash-safe object store on the local filesystem.
//!
//! Layout under the store's root:
//!
//! ```text
//! tmp/                                  temp files (same filesystem; emptied at open)
//! buckets/{bucket}/bucket.json          creation time
//! buckets/{bucket}/meta/{h2}/{h}.json   one object's ObjectMeta; h = sha256(key)
//! buckets/{bucket}/blobs/{id}           immutable data files
//! buckets/{bucket}/uploads/{id}/        a multipart upload: upload.json,
//!                                       part-NNNNN.json records and the part
//!                                       files they name
//! buckets/{bucket}/quarantine/          metadata files that could not be read
//! ```
//!
//! Object keys never become paths (only their SHA-256 does), so no key —
//! `..`, absolute, NUL-laden or 1 KiB long — can reach outside the root.
//! Bytes are streamed to a temp file and fsynced before an object's metadata
//! is swapped in with one atomic rename; a crash leaves the old or the new
//! object, and orphaned blobs and temp files are swept at the next open.
//! Writes to one bucket commit under one lock, which makes conditional
//! writes (`If-None-Match: *`, `If-Match`) exact under concurrency. A commit
//! runs as a task of its own: a client that hangs up mid-commit cannot stop
//! it halfway or release the lock early.

pub mod checksum;
mod error;
pub mod fsutil;
mod group_sync;
mod leases;
mod list;
pub mod meta;
mod multipart;
mod objects;
#[cfg(test)]
mod store_tests;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};

use sha2::{Digest, Sha256};
use time::OffsetDateTime;

pub use error::{StoreError, StoreResult};
pub use list::{ListPage, ListRequest, MAX_KEYS, MAX_KEYS_DEFAULT};
pub use meta::{BlobRef, ObjectHeaders, ObjectMeta, PartMeta, UploadMeta};
pub use multipart::{CompletedPartRef, MIN_PART_SIZE};
pub use objects::{Condition, ObjectBody, ObjectReader, PutRequest};

/// Runs blocking filesystem work off the async executor. A task that
/// panicked or was cancelled counts as an I/O failure.
pub(crate) async fn blocking<T, E>(work: impl FnOnce() -> Result<T, E> + Send + 'static) -> StoreResult<T>
where
    T: Send + 'static,
    E: Into<StoreError> + Send + 'static,
{
    tokio::task::spawn_blocking(work).await.map_err(|e| StoreError::Io(std::io::Error::other(e)))?.map_err(Into::into)
}

/// Longest object key S3 accepts, in bytes.
pub const MAX_KEY_BYTES: usize = 1024;

pub struct Store {
    root: PathBuf,
    tmp: PathBuf,
    buckets: RwLock<HashMap<String, Arc<Bucket>>>,
    /// Held while a bucket is created or deleted (their file work runs with
    /// it held, never with `buckets` locked).
    catalog: tokio::sync::Mutex<()>,
    /// Directory fsyncs shared by concurrent commits.
    sync: Arc<group_sync::GroupSync>,
    /// The least size of every part but the last ([`MIN_PART_SIZE`]).
    min_part_size: u64,
}

pub(crate) struct Bucket {
    pub(crate) name: String,
    pub(crate) dir: PathBuf,
    pub(crate) created: OffsetDateTime,
    /// Every object's metadata, sorted by key: listings and lookups.
    pub(crate) index: RwLock<BTreeMap<String, Arc<ObjectMeta>>>,
    /// Held while a write decides and commits. `true` once the bucket is
    /// deleted: a write that was waiting then fails with `NoSuchBucket`.
    pub(crate) commit: tokio::sync::Mutex<bool>,
    pub(crate) leases: Mutex<leases::LeaseTable>,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct BucketFile {
    #[serde(with = "time::serde::rfc3339")]
    created: OffsetDateTime,
}

impl Bucket {
    fn new(name: String, dir: PathBuf, created: OffsetDateTime, index: BTreeMap<String, Arc<ObjectMeta>>) -> Self {
        Bucket { name, dir, created, index: RwLock::new(index), commit: tokio::sync::Mutex::new(false), leases: Mutex::default() }
    }

    pub(crate) fn meta_path(&self, key: &str) -> PathBuf {
        let hash = hex::encode(Sha256::digest(key.as_bytes()));
        self.dir.join("meta").join(&hash[..2]).join(format!("{hash}.json"))
    }

    pub(crate) fn blob_path(&self, id: &str) -> PathBuf {
        self.dir.join("blobs").join(id)
    }

    pub(crate) fn uploads_dir(&self) -> PathBuf {
        self.dir.join("uploads")
    }

    pub(crate) fn get(&self, key: &str) -> Option<Arc<ObjectMeta>> {
        self.index.read().unwrap_or_else(|e| e.into_inner()).get(key).cloned()
    }

    /// Runs `work` as one commit of this bucket: off the executor, with the
    /// commit lock held from its first check to its index update, in a task
    /// of its own. When the caller is dropped (its client hung up), the
    /// commit still runs to its end with the lock held, so memory and disk
    /// never disagree. A deleted bucket refuses it with `NoSuchBucket`.
    pub(crate) async fn commit_with<T: Send + 'static>(
        self: &Arc<Self>,
        work: impl FnOnce(&Bucket) -> StoreResult<T> + Send + 'static,
    ) -> StoreResult<T> {
        let bucket = Arc::clone(self);
        let task = tokio::spawn(async move {
            let deleted = bucket.commit.lock().await;
            if *deleted {
                return Err(StoreError::NoSuchBucket);
            }
            let held = Arc::clone(&bucket);
            let outcome = blocking(move || work(&held)).await;
            drop(deleted);
            outcome
        });
        task.await.map_err(|e| StoreError::Io(std::io::Error::other(e)))?
    }

    pub(crate) fn set(&self, meta: Arc<ObjectMeta>) {
        self.index.write().unwrap_or_else(|e| e.into_inner()).insert(meta.key.clone(), meta);
    }

    pub(crate) fn unset(&self, key: &str) {
        self.index.write().unwrap_or_else(|e| e.into_inner()).remove(key);
    }
}

/// The bucket's directories below its own.
const BUCKET_SUBDIRS: [&str; 3] = ["meta", "blobs", "uploads"];

impl Store {
    /// Opens (creating if needed) a store at `root`: loads every bucket's
    /// metadata, empties `tmp/`, finishes what a crash interrupted and
    /// removes blobs no object refers to. Blocking; call it at start-up or
    /// from `spawn_blocking`.
    pub fn open(root: impl Into<PathBuf>) -> StoreResult<Store> {
        let root = root.into();
        let tmp = root.join("tmp");
        let buckets_dir = root.join("buckets");
        fsutil::create_dir_all(&buckets_dir).map_err(|e| StoreError::io("creating the store", e))?;
        make_private(&root).map_err(|e| StoreError::io("making the store private", e))?;
        if tmp.exists() {
            fs::remove_dir_all(&tmp).map_err(|e| StoreError::io("emptying tmp/", e))?;
        }
        fsutil::create_dir(&tmp).map_err(|e| StoreError::io("creating tmp/", e))?;

        let mut buckets = HashMap::new();
        for entry in fs::read_dir(&buckets_dir).map_err(|e| StoreError::io("listing buckets", e))? {
            let entry = entry?;
            let Some(name) = entry.file_name().to_str().map(str::to_owned) else { continue };
            if validate_bucket_name(&name).is_err() {
                tracing::warn!(dir = %entry.path().display(), "skipping a directory that is not a valid bucket name");
                continue;
            }
            let bucket = load_bucket(name.clone(), entry.path(), &tmp)?;
            buckets.insert(name, Arc::new(bucket));
        }
        Ok(Store {
            root,
            tmp,
            buckets: RwLock::new(buckets),
            catalog: tokio::sync::Mutex::new(()),
            sync: Arc::default(),
            min_part_size: MIN_PART_SIZE,
        })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub(crate) fn tmp_dir(&self) -> &Path {
        &self.tmp
    }

    pub(crate) fn bucket(&self, name: &str) -> StoreResult<Arc<Bucket>> {
        self.buckets.read().unwrap_or_else(|e| e.into_inner()).get(name).cloned().ok_or(StoreError::NoSuchBucket)
    }

    /// Creates a bucket; `BucketAlreadyExists` if it is there. The bucket's
    /// directory is built in `tmp/` and renamed into place whole, so a crash
    /// never leaves half a bucket.
    /// Lowers S3's 5 MiB minimum part size, so a benchmark can time a
    /// 10,000-part Complete without 50 GB of parts. Agora's endpoint never
    /// does this.
    pub fn with_min_part_size(mut self, bytes: u64) -> Store {
        self.min_part_size = bytes;
        self
    }

    pub async fn create_bucket(&self, name: &str) -> StoreResult<()> {
        validate_bucket_name(name)?;
        let _catalog = self.catalog.lock().await;
        if self.bucket_exists(name) {
            return Err(StoreError::BucketAlreadyExists);
        }
        let dir = self.root.join("buckets").join(name);
        let created = OffsetDateTime::now_utc();
        let file = serde_json::to_vec(&BucketFile { created }).map_err(std::io::Error::other)?;
        let (staging, target) = (self.tmp.join(fsutil::random_id()), dir.clone());
        blocking(move || -> std::io::Result<()> {
            fsutil::create_dir(&staging)?;
            for sub in BUCKET_SUBDIRS {
                fsutil::create_dir(&staging.join(sub))?;
            }
            let mut out = fsutil::create_file(&staging.join("bucket.json"))?;
            std::io::Write::write_all(&mut out, &file)?;
            out.sync_all()?;
            fsutil::sync_parent(&staging.join("bucket.json"))?;
            fsutil::durable_rename(&staging, &target)
        })
        .await?;
        let bucket = Bucket::new(name.to_owned(), dir, created, BTreeMap::new());
        self.buckets.write().unwrap_or_else(|e| e.into_inner()).insert(name.to_owned(), Arc::new(bucket));
        Ok(())
    }

    /// Deletes an empty bucket. It waits for writes in flight to commit; one
    /// that comes after fails with `NoSuchBucket` and cannot bring it back.
    pub async fn delete_bucket(&self, name: &str) -> StoreResult<()> {
        let _catalog = self.catalog.lock().await;
        let bucket = self.bucket(name)?;
        let mut deleted = bucket.commit.lock().await;
        if !bucket.index.read().unwrap_or_else(|e| e.into_inner()).is_empty() {
            return Err(StoreError::BucketNotEmpty);
        }
        let (dir, tmp) = (bucket.dir.clone(), self.tmp.clone());
        blocking(move || fsutil::remove_dir_durably(&tmp, &dir)).await?;
        *deleted = true;
        self.buckets.write().unwrap_or_else(|e| e.into_inner()).remove(name);
        Ok(())
    }

    /// Bucket names and creation times, sorted by name.
    pub fn list_buckets(&self) -> Vec<(String, OffsetDateTime)> {
        let buckets = self.buckets.read().unwrap_or_else(|e| e.into_inner());
        let mut out: Vec<_> = buckets.values().map(|b| (b.name.clone(), b.created)).collect();
        out.sort();
        out
    }

    pub fn bucket_exists(&self, name: &str) -> bool {
        self.bucket(name).is_ok()
    }

    /// Metadata of one object.
    pub fn head(&self, bucket: &str, key: &str) -> StoreResult<Arc<ObjectMeta>> {
        self.bucket(bucket)?.get(key).ok_or(StoreError::NoSuchKey)
    }
}

/// The store's root is readable by Agora's user only (`0700`).
fn make_private(root: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = fs::metadata(root)?.permissions().mode();
        if mode & 0o077 != 0 {
            fs::set_permissions(root, fs::Permissions::from_mode(mode & 0o700 | 0o700))?;
        }
    }
    Ok(())
}

/// S3 bucket naming rules: 3–63 characters of `a-z 0-9 . -`, starting and
/// ending with a letter or digit, no `..`, not an IP address.
pub fn validate_bucket_name(name: &str) -> StoreResult<()> {
    let bad = |why: &str| Err(StoreError::InvalidBucketName(format!("{name:?}: {why}")));
    if !(3..=63).contains(&name.len()) {
        return bad("must be 3 to 63 characters long");
    }
    if !name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-') {
        return bad("may contain only lowercase letters, digits, '.' and '-'");
    }
    let first_last = [name.as_bytes()[0], name.as_bytes()[name.len() - 1]];
    if !first_last.iter().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()) {
        return bad("must start and end with a letter or digit");
    }
    if name.contains("..") {
        return bad("must not contain '..'");
    }
    if name.parse::<std::net::Ipv4Addr>().is_ok() {
        return bad("must not look like an IP address");
    }
    Ok(())
}

/// Object key rules: 1 to 1024 bytes of UTF-8 that XML 1.0 can carry (so
/// every key can be listed): no control characters but tab, CR and LF.
pub fn validate_key(key: &str) -> StoreResult<()> {
    if key.is_empty() {
        return Err(StoreError::InvalidKey("the object key must not be empty".into()));
    }
    if key.len() > MAX_KEY_BYTES {
        return Err(StoreError::KeyTooLong(key.len()));
    }
    if let Some(c) = key.chars().find(|c| (c.is_control() && !matches!(c, '\t' | '\n' | '\r')) || matches!(c, '\u{FFFE}' | '\u{FFFF}')) {
        return Err(StoreError::InvalidKey(format!("the object key contains the control character {c:?}")));
    }
    Ok(())
}

fn load_bucket(name: String, dir: PathBuf, tmp: &Path) -> StoreResult<Bucket> {
    let created = fs::read(dir.join("bucket.json"))
        .ok()
        .and_then(|b| serde_json::from_slice::<BucketFile>(&b).ok())
        .map(|f| f.created)
        .unwrap_or_else(OffsetDateTime::now_utc);
    for sub in BUCKET_SUBDIRS {
        fsutil::create_dir(&dir.join(sub))?;
    }

    let mut index = BTreeMap::new();
    // Metadata that cannot be read is never taken for "no object": the file
    // is set aside and nothing of this bucket is swept, so the bytes it
    // describes stay until someone looks.
    let mut unaccounted = 0usize;
    for shard in fs::read_dir(dir.join("meta"))? {
        let shard = shard?.path();
        if !shard.is_dir() {
            continue;
        }
        for file in fs::read_dir(&shard)? {
            let path = file?.path();
            match fs::read(&path) {
                Ok(bytes) => match serde_json::from_slice::<ObjectMeta>(&bytes) {
                    Ok(meta) => {
                        index.insert(meta.key.clone(), Arc::new(meta));
                    }
                    Err(err) => {
                        unaccounted += 1;
                        quarantine(&dir, &path, &err.to_string());
                    }
                },
                Err(err) => {
                    unaccounted += 1;
                    tracing::error!(bucket = %name, file = %path.display(), error = %err, "object metadata could not be read; the bucket's unreferenced blobs are kept");
                }
            }
        }
    }

    finish_completed_uploads(&name, &dir, tmp, &index);

    if unaccounted > 0 {
        tracing::error!(
            bucket = %name,
            files = unaccounted,
            quarantine = %dir.join("quarantine").display(),
            "metadata files could not be read: their objects are missing from listings, and no blob of this bucket was removed; inspect the quarantine directory"
        );
    } else {
        sweep_unreferenced_blobs(&name, &dir, &index)?;
    }
    tracing::debug!(bucket = %name, objects = index.len(), "bucket loaded");
    Ok(Bucket::new(name, dir, created, index))
}

/// Moves an unparseable metadata file to `quarantine/`, keeping its name.
fn quarantine(dir: &Path, path: &Path, why: &str) {
    let target = dir.join("quarantine").join(path.file_name().unwrap_or_default());
    let moved = fsutil::create_dir(&dir.join("quarantine")).and_then(|()| fsutil::durable_rename(path, &target));
    match moved {
        Ok(()) => {
            tracing::error!(file = %path.display(), moved_to = %target.display(), error = %why, "object metadata is corrupt; it was quarantined")
        }
        Err(err) => {
            tracing::error!(file = %path.display(), error = %why, move_error = %err, "object metadata is corrupt and could not be quarantined")
        }
    }
}

/// Blobs no object refers to were left by a crash between writing the bytes
/// and committing the metadata, or between a replace and its cleanup.
fn sweep_unreferenced_blobs(name: &str, dir: &Path, index: &BTreeMap<String, Arc<ObjectMeta>>) -> StoreResult<()> {
    let referenced: HashSet<&str> = index.values().flat_map(|m| m.blobs.iter().map(|b| b.id.as_str())).collect();
    let mut swept = 0usize;
    for blob in fs::read_dir(dir.join("blobs"))? {
        let blob = blob?;
        let id = blob.file_name();
        if !id.to_str().is_some_and(|id| referenced.contains(id)) {
            fs::remove_file(blob.path())?;
            swept += 1;
        }
    }
    if swept > 0 {
        tracing::info!(bucket = %name, swept, "removed blobs left behind by an interrupted write");
    }
    Ok(())
}

/// An upload whose object was committed before a crash stopped its
/// directory's removal is removed now. Nothing can have replaced the object
/// between the crash and this open, so the object naming the upload proves
/// it completed.
fn finish_completed_uploads(name: &str, dir: &Path, tmp: &Path, index: &BTreeMap<String, Arc<ObjectMeta>>) {
    let completed: HashSet<&str> = index.values().filter_map(|m| m.upload_id.as_deref()).collect();
    if completed.is_empty() {
        return;
    }
    let Ok(entries) = fs::read_dir(dir.join("uploads")) else { return };
    for entry in entries.flatten() {
        let id = entry.file_name();
        if id.to_str().is_some_and(|id| completed.contains(id)) {
            match fsutil::remove_dir_durably(tmp, &entry.path()) {
                Ok(()) => tracing::info!(bucket = %name, upload = ?id, "removed an upload that was completed before a crash"),
                Err(err) => tracing::warn!(bucket = %name, upload = ?id, error = %err, "could not remove a completed upload"),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_names_follow_s3_rules() {
        for ok in ["agora", "my-bucket.1", "abc"] {
            validate_bucket_name(ok).unwrap();
        }
        for bad in ["ab", "Agora", "-agora", "agora-", "a..b", "192.168.1.1", "a_b", &"a".repeat(64)] {
            assert!(validate_bucket_name(bad).is_err(), "{bad}");
        }
    }

    #[tokio::test]
    async fn keys_follow_s3_rules_and_never_become_paths() {
        for ok in ["a", "../../etc/passwd", "/abs/path", "dir/", "ünï cødé.txt", &"k".repeat(1024)] {
            validate_key(ok).unwrap();
        }
        assert!(matches!(validate_key(""), Err(StoreError::InvalidKey(_))));
        assert!(matches!(validate_key("nul\0byte"), Err(StoreError::InvalidKey(_))));
        assert!(matches!(validate_key(&"k".repeat(1025)), Err(StoreError::KeyTooLong(1025))));

        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        store.create_bucket("bkt").await.unwrap();
        let bucket = store.bucket("bkt").unwrap();
        for key in ["../../etc/passwd", "/abs", "a/../../b"] {
            let path = bucket.meta_path(key);
            assert!(path.starts_with(dir.path().join("buckets/bkt/meta")), "{key} -> {}", path.display());
        }
    }
}
