//! Single objects: put (streamed, conditional), read (ranged, streamed),
//! delete, copy, tags.

use std::ops::Range;
use std::path::PathBuf;
use std::sync::Arc;

use agora_model::tags::{validate_tag_set, Tag};
use bytes::Bytes;
use futures::{Stream, StreamExt, TryStreamExt};
use md5::{Digest, Md5};
use time::OffsetDateTime;
use tokio::io::{AsyncReadExt, AsyncSeekExt};

use super::checksum::{Checksum, ChecksumRequest};
use super::fsutil::{self, random_id, TempFile};
use super::group_sync::GroupSync;
use super::leases::Lease;
use super::{blocking, validate_key, BlobRef, Bucket, ObjectHeaders, ObjectMeta, Store, StoreError, StoreResult};

/// Size of the write buffer between the network and the disk.
const WRITE_BUFFER: usize = 1 << 20;
/// Received chunks waiting for the writer thread (each is typically 16–64 KiB).
const WRITER_QUEUE: usize = 8;
/// Size of the chunks a read streams.
const READ_CHUNK: usize = 256 * 1024;

/// A precondition on the object currently stored under a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Condition {
    /// `If-None-Match: *` — only if nothing is stored under the key.
    NoneExists,
    /// `If-Match: *` — only if something is.
    Exists,
    /// `If-Match: "etag"` — only if the stored ETag is this one.
    ETagIs(String),
    /// `If-None-Match: "etag"` — only if the stored ETag is not this one.
    ETagIsNot(String),
}

impl Condition {
    pub(crate) fn check(&self, current: Option<&ObjectMeta>) -> StoreResult<()> {
        let ok = match (self, current) {
            (Condition::NoneExists, current) => current.is_none(),
            (Condition::Exists, current) => current.is_some(),
            (Condition::ETagIs(_), None) => return Err(StoreError::NoSuchKey),
            (Condition::ETagIs(etag), Some(meta)) => meta.etag == *etag,
            (Condition::ETagIsNot(_), None) => true,
            (Condition::ETagIsNot(etag), Some(meta)) => meta.etag != *etag,
        };
        if ok {
            Ok(())
        } else {
            Err(StoreError::PreconditionFailed)
        }
    }
}

/// Everything a PUT carries besides its bytes.
#[derive(Debug, Clone, Default)]
pub struct PutRequest {
    pub key: String,
    pub headers: ObjectHeaders,
    pub tags: Vec<Tag>,
    /// `Content-Length`, when the client declared it.
    pub content_length: Option<u64>,
    /// `Content-MD5`, when the client declared it: a body with another MD5
    /// is refused and never stored.
    pub content_md5: Option<[u8; 16]>,
    /// An additional checksum to compute, store and check (`x-amz-checksum-*`).
    pub checksum: Option<ChecksumRequest>,
    pub conditions: Vec<Condition>,
}

/// A ranged read of an object: its metadata and a stream of its bytes.
pub struct ObjectBody {
    pub meta: Arc<ObjectMeta>,
    pub range: Range<u64>,
    pub stream: std::pin::Pin<Box<dyn Stream<Item = std::io::Result<Bytes>> + Send>>,
}

/// A blob written to `tmp/` and fsynced, not yet part of any object.
pub(crate) struct TempBlob {
    pub(crate) file: TempFile,
    pub(crate) size: u64,
    pub(crate) md5: [u8; 16],
    pub(crate) checksum: Option<Checksum>,
}

/// A body that failed while it was read. s3s reports a chunk or trailer
/// signature that does not match only in its error's text (the type is
/// private): that one is the client's signing error, `403`, as AWS answers.
fn body_error(err: impl std::fmt::Display) -> StoreError {
    let text = err.to_string();
    if text.contains("SignatureMismatch") {
        StoreError::SignatureDoesNotMatch
    } else {
        StoreError::IncompleteBody(text)
    }
}

impl Store {
    /// Streams `body` to a fsynced temp file, hashing it on the way; fails if
    /// it does not match the declared length or MD5 (the temp file is then
    /// removed with the returned error). The received chunks go to one
    /// blocking writer thread that hashes and writes them, so hashing and disk
    /// writes overlap with receiving; memory stays bounded by the channel and
    /// the write buffer whatever the size.
    pub(crate) async fn write_temp<S, E>(
        &self,
        body: S,
        declared: Option<u64>,
        declared_md5: Option<[u8; 16]>,
        checksum: Option<ChecksumRequest>,
    ) -> StoreResult<TempBlob>
    where
        S: Stream<Item = Result<Bytes, E>> + Send,
        E: std::fmt::Display,
    {
        let file = TempFile::new(self.tmp_dir().join(random_id()));
        let (chunks, mut received) = tokio::sync::mpsc::channel::<Bytes>(WRITER_QUEUE);
        let path = file.path().to_path_buf();
        let mut hasher = checksum.as_ref().map(|c| c.algorithm.hasher());
        let writer = tokio::task::spawn_blocking(move || -> std::io::Result<([u8; 16], Option<Vec<u8>>)> {
            use std::io::Write;
            let mut out = std::io::BufWriter::with_capacity(WRITE_BUFFER, fsutil::create_file(&path)?);
            let mut md5 = Md5::new();
            while let Some(chunk) = received.blocking_recv() {
                md5.update(&chunk);
                if let Some(hasher) = &mut hasher {
                    hasher.update(&chunk);
                }
                out.write_all(&chunk)?;
            }
            out.into_inner().map_err(|e| e.into_error())?.sync_all()?;
            Ok((md5.finalize().into(), hasher.map(|h| h.finalize_raw())))
        });

        let mut size = 0u64;
        let mut body = std::pin::pin!(body);
        let received: StoreResult<()> = async {
            while let Some(chunk) = body.next().await {
                let chunk = chunk.map_err(body_error)?;
                size += chunk.len() as u64;
                if declared.is_some_and(|declared| size > declared) {
                    return Err(StoreError::InvalidArgument("the body is longer than its Content-Length".into()));
                }
                if chunks.send(chunk).await.is_err() {
                    break; // the writer failed; its error is reported below
                }
            }
            Ok(())
        }
        .await;
        drop(chunks);
        let md5 = writer.await.map_err(|e| StoreError::Io(std::io::Error::other(e)))?;
        received?;
        let (md5, computed) = md5.map_err(|e| StoreError::io("writing a temp file", e))?;
        if let Some(declared) = declared.filter(|d| *d != size) {
            return Err(StoreError::IncompleteBody(format!("{size} of {declared} bytes arrived")));
        }
        if declared_md5.is_some_and(|declared| declared != md5) {
            return Err(StoreError::BadDigest);
        }
        let checksum = match (checksum, computed) {
            (Some(request), Some(raw)) => Some(request.verify(&raw)?),
            _ => None,
        };
        Ok(TempBlob { file, size, md5, checksum })
    }

    /// Stores an object: bytes first, then one atomic metadata swap.
    pub async fn put<S, E>(&self, bucket: &str, request: PutRequest, body: S) -> StoreResult<Arc<ObjectMeta>>
    where
        S: Stream<Item = Result<Bytes, E>> + Send,
        E: std::fmt::Display,
    {
        validate_key(&request.key)?;
        validate_tag_set(&request.tags).map_err(|e| StoreError::InvalidTag(e.message))?;
        let bucket = self.bucket(bucket)?;
        // Fail fast, before reading a large body, when the answer is already known.
        check_all(&request.conditions, bucket.get(&request.key).as_deref())?;
        let blob = self.write_temp(body, request.content_length, request.content_md5, request.checksum).await?;
        let id = random_id();
        let meta = ObjectMeta {
            key: request.key,
            size: blob.size,
            etag: hex::encode(blob.md5),
            last_modified: OffsetDateTime::now_utc(),
            headers: request.headers,
            tags: request.tags,
            blobs: vec![BlobRef { id: id.clone(), size: blob.size }],
            upload_id: None,
            checksum: blob.checksum,
        };
        self.commit(&bucket, meta, vec![(blob.file, id)], request.conditions, None).await
    }

    /// Makes `meta` the object under its key. Runs to its end in a task of
    /// its own even if the caller is dropped, in three steps:
    /// 1. without the bucket's lock: `blobs` move into `blobs/` and the
    ///    metadata is written to a temp file, all made durable (the
    ///    directory fsync is shared with concurrent commits: group commit);
    /// 2. under the lock ([`Bucket::commit_with`]): `conditions` are checked
    ///    and the metadata is renamed into place and indexed; with `upload`
    ///    (the directory of the upload being completed), the upload must
    ///    still exist;
    /// 3. without the lock: the metadata's directory is fsynced (shared
    ///    again), then the replaced object's blobs are retired and the
    ///    upload's directory removed, and only then is the write answered.
    ///
    /// The blobs are durable before any metadata names them, so a crash
    /// leaves the old object or the new one; blobs of a commit that failed
    /// or crashed are removed (at once, or by the sweep at the next open).
    pub(crate) async fn commit(
        &self,
        bucket: &Arc<Bucket>,
        meta: ObjectMeta,
        blobs: Vec<(TempFile, String)>,
        conditions: Vec<Condition>,
        upload: Option<std::path::PathBuf>,
    ) -> StoreResult<Arc<ObjectMeta>> {
        let (tmp, sync, bucket) = (self.tmp_dir().to_path_buf(), Arc::clone(&self.sync), Arc::clone(bucket));
        let task = tokio::spawn(async move {
            let json = serde_json::to_vec(&meta).map_err(std::io::Error::other)?;
            let staged = {
                let (b, sync, tmp) = (Arc::clone(&bucket), Arc::clone(&sync), tmp.clone());
                blocking(move || stage(&b, blobs, &json, &tmp, &sync)).await?
            };
            let (meta, previous, shard) = bucket
                .commit_with(move |b| {
                    let previous = b.get(&meta.key);
                    if let Some(upload_dir) = &upload {
                        // A Complete sent again after it succeeded answers as before.
                        if let Some(done) = previous.as_ref().filter(|p| meta.upload_id.as_deref().is_some_and(|id| p.completed_from(id))) {
                            return Ok((Arc::clone(done), None, None));
                        }
                        if !upload_dir.join("upload.json").try_exists()? {
                            return Err(StoreError::NoSuchUpload);
                        }
                    }
                    check_all(&conditions, previous.as_deref())?;
                    let path = b.meta_path(&meta.key);
                    let shard = path.parent().map(std::path::Path::to_path_buf).unwrap_or_else(|| b.dir.join("meta"));
                    fsutil::create_dir(&shard)?;
                    std::fs::rename(staged.meta.path(), &path)?;
                    staged.meta.keep();
                    staged.blobs.into_iter().for_each(|blob| drop(blob.keep()));
                    let meta = Arc::new(meta);
                    b.set(Arc::clone(&meta));
                    Ok((meta, Some((previous, upload)), Some(shard)))
                })
                .await?;
            let (Some((previous, upload)), Some(shard)) = (previous, shard) else { return Ok(meta) };
            let durable = Arc::clone(&meta);
            blocking(move || -> StoreResult<()> {
                sync.sync([shard])?;
                if let Some(previous) = previous {
                    bucket.retire(&previous.blobs, &durable.blobs);
                }
                // The object names its upload, so a crash before this
                // removal is finished at the next open.
                if let Some(upload_dir) = upload {
                    if let Err(err) = fsutil::remove_dir_durably(&tmp, &upload_dir) {
                        tracing::warn!(upload = %upload_dir.display(), error = %err, "could not remove a completed upload's directory");
                    }
                }
                Ok(())
            })
            .await?;
            Ok(meta)
        });
        task.await.map_err(|e| StoreError::Io(std::io::Error::other(e)))?
    }

    /// Deletes an object. Deleting a missing key succeeds, as in S3.
    pub async fn delete(&self, bucket: &str, key: &str) -> StoreResult<()> {
        self.delete_many(bucket, vec![key.to_owned()]).await?.pop().unwrap_or(Ok(()))
    }

    /// Deletes objects under one hold of the bucket's lock, with one fsync
    /// per metadata directory touched rather than one per key. Each key gets
    /// its own outcome, in order; the outer error is the bucket's.
    pub async fn delete_many(&self, bucket: &str, keys: Vec<String>) -> StoreResult<Vec<StoreResult<()>>> {
        self.bucket(bucket)?
            .commit_with(move |b| {
                let mut outcomes = Vec::with_capacity(keys.len());
                let mut dirs = std::collections::BTreeSet::new();
                let mut gone = Vec::new();
                for key in &keys {
                    let Some(previous) = b.get(key) else {
                        outcomes.push(Ok(()));
                        continue;
                    };
                    let path = b.meta_path(key);
                    match std::fs::remove_file(&path) {
                        Ok(()) => {
                            dirs.extend(path.parent().map(std::path::Path::to_path_buf));
                            b.unset(key);
                            gone.push(previous);
                            outcomes.push(Ok(()));
                        }
                        Err(e) => outcomes.push(Err(StoreError::io("deleting an object", e))),
                    }
                }
                // Acknowledged only once the removals are durable.
                for dir in dirs {
                    std::fs::File::open(&dir)?.sync_all()?;
                }
                for previous in gone {
                    b.retire(&previous.blobs, &[]);
                }
                Ok(outcomes)
            })
            .await
    }

    /// Replaces an object's tags.
    pub async fn put_tags(&self, bucket: &str, key: &str, tags: Vec<Tag>) -> StoreResult<Arc<ObjectMeta>> {
        validate_tag_set(&tags).map_err(|e| StoreError::InvalidTag(e.message))?;
        self.rewrite_meta(bucket, key, |meta| meta.tags = tags).await
    }

    /// Rewrites an object's metadata in place (same bytes), atomically.
    async fn rewrite_meta(
        &self,
        bucket: &str,
        key: &str,
        change: impl FnOnce(&mut ObjectMeta) + Send + 'static,
    ) -> StoreResult<Arc<ObjectMeta>> {
        let (tmp, key) = (self.tmp_dir().to_path_buf(), key.to_owned());
        self.bucket(bucket)?
            .commit_with(move |b| {
                let mut meta = (*b.get(&key).ok_or(StoreError::NoSuchKey)?).clone();
                change(&mut meta);
                let meta = Arc::new(meta);
                write_meta(b, &tmp, &meta)?;
                b.set(Arc::clone(&meta));
                Ok(meta)
            })
            .await
    }

    /// Copies an object. The blobs are hard-linked, not copied: O(1) in size.
    pub async fn copy(
        &self,
        (src_bucket, src_key): (&str, &str),
        dst_bucket: &str,
        dst: PutRequest,
        replace_headers: bool,
        replace_tags: bool,
        check_source: impl FnOnce(&ObjectMeta) -> StoreResult<()>,
    ) -> StoreResult<Arc<ObjectMeta>> {
        validate_key(&dst.key)?;
        let src = self.bucket(src_bucket)?;
        // The lease keeps the source's blobs while they are linked, even if
        // it is replaced meanwhile.
        let (source, _lease) = src.lease(src_key).ok_or(StoreError::NoSuchKey)?;
        check_source(&source)?;
        let target = self.bucket(dst_bucket)?;
        let mut links = Vec::with_capacity(source.blobs.len());
        let mut blobs = Vec::with_capacity(source.blobs.len());
        for blob in &source.blobs {
            let file = TempFile::new(self.tmp_dir().join(random_id()));
            let from = src.blob_path(&blob.id);
            let to = file.path().to_path_buf();
            blocking(move || std::fs::hard_link(from, to).map_err(|e| StoreError::io("linking a blob for a copy", e))).await?;
            let id = random_id();
            blobs.push(BlobRef { id: id.clone(), size: blob.size });
            links.push((file, id));
        }
        let tags = if replace_tags { dst.tags } else { source.tags.clone() };
        validate_tag_set(&tags).map_err(|e| StoreError::InvalidTag(e.message))?;
        let meta = ObjectMeta {
            key: dst.key,
            size: source.size,
            etag: source.etag.clone(),
            last_modified: OffsetDateTime::now_utc(),
            headers: if replace_headers { dst.headers } else { source.headers.clone() },
            tags,
            blobs,
            upload_id: None,
            checksum: source.checksum.clone(),
        };
        self.commit(&target, meta, links, dst.conditions, None).await
    }

    /// Looks an object up for reading: its metadata, and a lease that keeps
    /// exactly this version readable to its last byte. Preconditions, the
    /// range and the body all come from this one lookup.
    pub fn reader(&self, bucket: &str, key: &str) -> StoreResult<ObjectReader> {
        let bucket = self.bucket(bucket)?;
        let (meta, lease) = bucket.lease(key).ok_or(StoreError::NoSuchKey)?;
        Ok(ObjectReader { bucket, meta, lease })
    }

    /// Opens an object for reading `range` (the whole object when `None`).
    pub async fn read(&self, bucket: &str, key: &str, range: Option<Range<u64>>) -> StoreResult<ObjectBody> {
        self.reader(bucket, key)?.body(range).await
    }
}

/// One version of an object, held for reading (see [`Store::reader`]).
pub struct ObjectReader {
    bucket: Arc<Bucket>,
    meta: Arc<ObjectMeta>,
    lease: Lease,
}

impl ObjectReader {
    pub fn meta(&self) -> &Arc<ObjectMeta> {
        &self.meta
    }

    /// Streams `range` of this version (all of it when `None`). The first
    /// blob is opened before returning; the lease travels with the stream.
    pub async fn body(self, range: Option<Range<u64>>) -> StoreResult<ObjectBody> {
        let ObjectReader { bucket, meta, lease } = self;
        let range = range.unwrap_or(0..meta.size);
        let mut segments: Vec<(PathBuf, u64, u64)> = Vec::new();
        let mut offset = 0u64;
        for blob in &meta.blobs {
            let (start, end) = (offset, offset + blob.size);
            offset = end;
            let (from, to) = (range.start.max(start), range.end.min(end));
            if from < to {
                segments.push((bucket.blob_path(&blob.id), from - start, to - from));
            }
        }
        let mut segments = segments.into_iter();
        let first = match segments.next() {
            Some((path, skip, len)) => Some(open_segment(path, skip, len).await?),
            None => None,
        };
        let rest = futures::stream::iter(segments)
            .then(|(path, skip, len)| open_segment(path, skip, len))
            .map_err(|e| std::io::Error::other(e.to_string()))
            .try_flatten();
        let stream = futures::stream::iter(first).flatten().chain(rest).map(move |chunk| {
            let _held = &lease;
            chunk
        });
        Ok(ObjectBody { meta, range, stream: Box::pin(stream) })
    }
}

/// Writes an object's metadata file (creating its shard directory durably).
/// Blocking; call with the bucket's commit lock held.
/// A commit's files made durable before its lock is taken; dropped
/// unkept (the commit failed), they are removed.
struct Staged {
    blobs: Vec<TempFile>,
    meta: TempFile,
}

/// Moves `blobs` into the bucket's `blobs/` under their ids and writes the
/// metadata `json` to a temp file; returns once all of it is durable.
fn stage(bucket: &Bucket, blobs: Vec<(TempFile, String)>, json: &[u8], tmp: &std::path::Path, sync: &GroupSync) -> StoreResult<Staged> {
    let mut placed = Vec::with_capacity(blobs.len());
    for (file, id) in blobs {
        let to = bucket.blob_path(&id);
        // The bucket's directory is gone once it was deleted.
        std::fs::rename(file.path(), &to).map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                StoreError::NoSuchBucket
            } else {
                e.into()
            }
        })?;
        file.keep();
        placed.push(TempFile::new(to));
    }
    let meta = TempFile::new(tmp.join(random_id()));
    fsutil::write_new_synced(meta.path(), json)?;
    if !placed.is_empty() {
        sync.sync([bucket.dir.join("blobs")])?;
    }
    Ok(Staged { blobs: placed, meta })
}

pub(crate) fn write_meta(bucket: &Bucket, tmp: &std::path::Path, meta: &ObjectMeta) -> StoreResult<()> {
    let json = serde_json::to_vec(meta).map_err(std::io::Error::other)?;
    let path = bucket.meta_path(&meta.key);
    if let Some(shard) = path.parent() {
        fsutil::create_dir(shard)?;
    }
    fsutil::atomic_write(tmp, &path, &json)?;
    Ok(())
}

fn check_all(conditions: &[Condition], current: Option<&ObjectMeta>) -> StoreResult<()> {
    conditions.iter().try_for_each(|c| c.check(current))
}

async fn open_segment(path: PathBuf, skip: u64, len: u64) -> StoreResult<tokio_util::io::ReaderStream<tokio::io::Take<tokio::fs::File>>> {
    let mut file = tokio::fs::File::open(&path).await.map_err(|e| StoreError::io("opening a blob", e))?;
    if skip > 0 {
        file.seek(std::io::SeekFrom::Start(skip)).await?;
    }
    Ok(tokio_util::io::ReaderStream::with_capacity(file.take(len), READ_CHUNK))
}
