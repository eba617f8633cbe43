//! Multipart uploads: parts are streamed to their own files; completing an
//! upload moves those files under the object (no copy), so a 1 GiB upload
//! costs one write of 1 GiB.

use std::sync::Arc;

use agora_model::tags::{validate_tag_set, Tag};
use bytes::Bytes;
use futures::Stream;
use md5::{Digest, Md5};
use time::OffsetDateTime;

use super::checksum::{Algorithm, Checksum, ChecksumRequest, ChecksumType, Declared};
use super::fsutil::{self, random_id, TempFile};
use super::objects::Condition;
use super::{blocking, validate_key, BlobRef, Bucket, ObjectHeaders, ObjectMeta, PartMeta, Store, StoreError, StoreResult, UploadMeta};

/// S3's part numbers run from 1 to 10,000.
pub const MAX_PART_NUMBER: i32 = 10_000;
/// Every part but the last must be at least 5 MiB (S3's rule).
pub const MIN_PART_SIZE: u64 = 5 * 1024 * 1024;

/// Part files linked into `tmp/`, each with the blob id it will take.
type StagedBlobs = Vec<(TempFile, String)>;

/// A part as the client lists it when completing.
#[derive(Debug, Clone)]
pub struct CompletedPartRef {
    pub part_number: i32,
    /// The part's ETag, quotes removed.
    pub etag: String,
    /// The part's checksum as the client lists it (base64), if it does.
    pub checksum: Option<(Algorithm, String)>,
}

fn upload_id_is_well_formed(id: &str) -> bool {
    id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit())
}

fn check_part_number(part_number: i32) -> StoreResult<()> {
    if (1..=MAX_PART_NUMBER).contains(&part_number) {
        Ok(())
    } else {
        Err(StoreError::InvalidArgument(format!("part numbers run from 1 to {MAX_PART_NUMBER}; got {part_number}")))
    }
}

fn part_record(part_number: i32) -> String {
    format!("part-{part_number:05}.json")
}

/// An upload's directory is gone when it was completed, aborted or its
/// bucket deleted: file work in it then fails with `NotFound`.
fn upload_gone(err: std::io::Error) -> StoreError {
    if err.kind() == std::io::ErrorKind::NotFound {
        StoreError::NoSuchUpload
    } else {
        StoreError::io("writing a part", err)
    }
}

impl Bucket {
    fn upload_dir(&self, upload_id: &str) -> StoreResult<std::path::PathBuf> {
        // The id becomes a directory name: only ids this store issued pass.
        if !upload_id_is_well_formed(upload_id) {
            return Err(StoreError::NoSuchUpload);
        }
        Ok(self.uploads_dir().join(upload_id))
    }
}

impl Store {
    /// Starts an upload; with `checksum`, every part gets that algorithm's
    /// checksum and the object one of that type.
    pub async fn create_upload(
        &self,
        bucket: &str,
        key: String,
        headers: ObjectHeaders,
        tags: Vec<Tag>,
        checksum: Option<(Algorithm, ChecksumType)>,
    ) -> StoreResult<UploadMeta> {
        validate_key(&key)?;
        validate_tag_set(&tags).map_err(|e| StoreError::InvalidTag(e.message))?;
        let bucket = self.bucket(bucket)?;
        let upload = UploadMeta { upload_id: random_id(), key, initiated: OffsetDateTime::now_utc(), headers, tags, checksum };
        let json = serde_json::to_vec(&upload).map_err(std::io::Error::other)?;
        let (dir, tmp) = (bucket.upload_dir(&upload.upload_id)?, self.tmp_dir().to_path_buf());
        blocking(move || -> StoreResult<()> {
            fsutil::create_dir(&dir)
                .map_err(|e| if e.kind() == std::io::ErrorKind::NotFound { StoreError::NoSuchBucket } else { e.into() })?;
            fsutil::atomic_write(&tmp, &dir.join("upload.json"), &json)?;
            Ok(())
        })
        .await?;
        Ok(upload)
    }

    async fn load_upload(&self, bucket: &Bucket, key: &str, upload_id: &str) -> StoreResult<UploadMeta> {
        let path = bucket.upload_dir(upload_id)?.join("upload.json");
        let bytes = match tokio::fs::read(&path).await {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(StoreError::NoSuchUpload),
            Err(e) => return Err(StoreError::io("reading an upload", e)),
        };
        let upload: UploadMeta = serde_json::from_slice(&bytes).map_err(std::io::Error::other)?;
        if upload.key != key {
            return Err(StoreError::NoSuchUpload);
        }
        Ok(upload)
    }

    #[allow(clippy::too_many_arguments)]
    pub async fn upload_part<S, E>(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
        part_number: i32,
        content_length: Option<u64>,
        content_md5: Option<[u8; 16]>,
        checksum: Option<ChecksumRequest>,
        body: S,
    ) -> StoreResult<PartMeta>
    where
        S: Stream<Item = Result<Bytes, E>> + Send,
        E: std::fmt::Display,
    {
        check_part_number(part_number)?;
        let bucket = self.bucket(bucket)?;
        let upload = self.load_upload(&bucket, key, upload_id).await?;
        let checksum = part_checksum(&upload, checksum)?;
        let blob = self.write_temp(body, content_length, content_md5, checksum).await?;
        self.store_part(&bucket, upload_id, part_number, blob).await
    }

    /// UploadPartCopy: `range` of another object (all of it when `None`)
    /// becomes part `part_number`. The source is read from one version
    /// (leased), after `check_source` accepted it.
    #[allow(clippy::too_many_arguments)]
    pub async fn upload_part_copy(
        &self,
        (src_bucket, src_key): (&str, &str),
        range: Option<std::ops::Range<u64>>,
        bucket: &str,
        key: &str,
        upload_id: &str,
        part_number: i32,
        check_source: impl FnOnce(&ObjectMeta) -> StoreResult<()>,
    ) -> StoreResult<PartMeta> {
        check_part_number(part_number)?;
        let bucket = self.bucket(bucket)?;
        let upload = self.load_upload(&bucket, key, upload_id).await?;
        let checksum = part_checksum(&upload, None)?;
        let reader = self.reader(src_bucket, src_key)?;
        check_source(reader.meta())?;
        let size = reader.meta().size;
        if let Some(range) = &range {
            if range.start >= range.end || range.end > size {
                return Err(StoreError::InvalidArgument(format!(
                    "the copy source range {}-{} is outside the source's {size} bytes",
                    range.start,
                    range.end.saturating_sub(1)
                )));
            }
        }
        let source = reader.body(range).await?;
        let length = source.range.end - source.range.start;
        let blob = self.write_temp(source.stream, Some(length), None, checksum).await?;
        self.store_part(&bucket, upload_id, part_number, blob).await
    }

    /// Makes a written temp blob part `part_number` of an upload.
    async fn store_part(
        &self,
        bucket: &Bucket,
        upload_id: &str,
        part_number: i32,
        blob: super::objects::TempBlob,
    ) -> StoreResult<PartMeta> {
        // Each upload of a part has a file of its own, and the record names
        // it: two uploads of one part, or a crash between the two renames,
        // can never pair one upload's record with another's bytes.
        let part = PartMeta {
            part_number,
            size: blob.size,
            etag: hex::encode(blob.md5),
            last_modified: OffsetDateTime::now_utc(),
            file: Some(format!("part-{part_number:05}-{}", random_id())),
            checksum: blob.checksum,
        };
        let json = serde_json::to_vec(&part).map_err(std::io::Error::other)?;
        let (dir, tmp, file) = (bucket.upload_dir(upload_id)?, self.tmp_dir().to_path_buf(), part.file_name());
        blocking(move || -> StoreResult<()> {
            if !dir.join("upload.json").exists() {
                return Err(StoreError::NoSuchUpload);
            }
            // Bytes first, then the record that vouches for them.
            fsutil::durable_rename(blob.file.path(), &dir.join(&file)).map_err(upload_gone)?;
            blob.file.keep();
            fsutil::atomic_write(&tmp, &dir.join(part_record(part_number)), &json).map_err(upload_gone)?;
            Ok(())
        })
        .await?;
        Ok(part)
    }

    /// The parts uploaded so far, in part-number order.
    pub async fn list_parts(&self, bucket: &str, key: &str, upload_id: &str) -> StoreResult<(UploadMeta, Vec<PartMeta>)> {
        let bucket = self.bucket(bucket)?;
        let upload = self.load_upload(&bucket, key, upload_id).await?;
        let dir = bucket.upload_dir(upload_id)?;
        let parts = blocking(move || read_parts(&dir)).await?;
        Ok((upload, parts))
    }

    pub async fn abort_upload(&self, bucket: &str, key: &str, upload_id: &str) -> StoreResult<()> {
        let bucket = self.bucket(bucket)?;
        self.load_upload(&bucket, key, upload_id).await?;
        let (dir, tmp) = (bucket.upload_dir(upload_id)?, self.tmp_dir().to_path_buf());
        blocking(move || fsutil::remove_dir_durably(&tmp, &dir).map_err(upload_gone)).await?;
        Ok(())
    }

    /// Uploads in progress: (key, upload id, initiated), sorted by key then id.
    pub async fn list_uploads(&self, bucket: &str) -> StoreResult<Vec<UploadMeta>> {
        let bucket = self.bucket(bucket)?;
        let dir = bucket.uploads_dir();
        blocking(move || -> StoreResult<Vec<UploadMeta>> {
            let mut uploads = Vec::new();
            for entry in std::fs::read_dir(&dir)? {
                let path = entry?.path().join("upload.json");
                if let Ok(upload) =
                    std::fs::read(&path).map_err(|_| ()).and_then(|b| serde_json::from_slice::<UploadMeta>(&b).map_err(|_| ()))
                {
                    uploads.push(upload);
                }
            }
            uploads.sort_by(|a, b| (&a.key, &a.upload_id).cmp(&(&b.key, &b.upload_id)));
            Ok(uploads)
        })
        .await
    }

    /// Aborts every upload in every bucket started before `cutoff`.
    pub async fn sweep_uploads(&self, cutoff: OffsetDateTime) -> StoreResult<usize> {
        let mut swept = 0;
        for (name, _) in self.list_buckets() {
            for upload in self.list_uploads(&name).await? {
                if upload.initiated < cutoff {
                    match self.abort_upload(&name, &upload.key, &upload.upload_id).await {
                        Ok(()) | Err(StoreError::NoSuchUpload) => swept += 1,
                        Err(err) => return Err(err),
                    }
                }
            }
        }
        Ok(swept)
    }

    /// Completes an upload: checks the listed parts, then commits the object
    /// with the part files as its blobs.
    pub async fn complete_upload(
        &self,
        bucket_name: &str,
        key: &str,
        upload_id: &str,
        listed: &[CompletedPartRef],
        conditions: &[Condition],
        expected: Option<(Algorithm, String)>,
    ) -> StoreResult<Arc<ObjectMeta>> {
        if listed.is_empty() {
            return Err(StoreError::InvalidPart("a multipart upload must list at least one part".into()));
        }
        if listed.windows(2).any(|w| w[0].part_number >= w[1].part_number) {
            return Err(StoreError::InvalidPartOrder);
        }
        let bucket = self.bucket(bucket_name)?;
        let (upload, stored) = match self.list_parts(bucket_name, key, upload_id).await {
            Ok(found) => found,
            // Completed already (the client retries after a lost answer):
            // the same answer again, as long as the object is still its.
            Err(StoreError::NoSuchUpload) => {
                return bucket.get(key).filter(|m| m.completed_from(upload_id)).ok_or(StoreError::NoSuchUpload);
            }
            Err(err) => return Err(err),
        };
        let dir = bucket.upload_dir(upload_id)?;

        let mut md5_of_md5s = Md5::new();
        let mut chosen = Vec::with_capacity(listed.len());
        let mut size = 0u64;
        for (i, wanted) in listed.iter().enumerate() {
            let part = stored
                .iter()
                .find(|p| p.part_number == wanted.part_number)
                .ok_or_else(|| StoreError::InvalidPart(format!("part {} was never uploaded", wanted.part_number)))?;
            if part.etag != wanted.etag {
                return Err(StoreError::InvalidPart(format!("part {}'s ETag does not match the uploaded part", wanted.part_number)));
            }
            if let Some((algorithm, value)) = &wanted.checksum {
                let stored = part.checksum.as_ref().filter(|c| c.algorithm == *algorithm);
                if stored.is_none_or(|c| c.value != value.trim()) {
                    return Err(StoreError::InvalidPart(format!(
                        "part {}'s {} does not match the uploaded part's",
                        wanted.part_number,
                        algorithm.header()
                    )));
                }
            }
            let is_last = i + 1 == listed.len();
            if !is_last && part.size < self.min_part_size {
                return Err(StoreError::EntityTooSmall { part: part.part_number, size: part.size, min: self.min_part_size });
            }
            md5_of_md5s.update(hex::decode(&part.etag).map_err(std::io::Error::other)?);
            size += part.size;
            chosen.push(part.clone());
        }
        let checksum = object_checksum(&upload, &chosen);
        if let Some((algorithm, value)) = expected {
            let matches = checksum.as_ref().is_some_and(|c| c.algorithm == algorithm && c.header_value() == value.trim());
            if !matches {
                return Err(StoreError::BadChecksum(algorithm));
            }
        }
        // Link the very files the checked records vouch for into tmp/; the
        // commit then moves them into blobs/.
        let (from_dir, tmp) = (dir.clone(), self.tmp_dir().to_path_buf());
        let (blobs, files) = blocking(move || -> StoreResult<(Vec<BlobRef>, StagedBlobs)> {
            let mut blobs = Vec::with_capacity(chosen.len());
            let mut files = Vec::with_capacity(chosen.len());
            for part in chosen {
                let staged = TempFile::new(tmp.join(random_id()));
                std::fs::hard_link(from_dir.join(part.file_name()), staged.path()).map_err(upload_gone)?;
                let id = random_id();
                blobs.push(BlobRef { id: id.clone(), size: part.size });
                files.push((staged, id));
            }
            Ok((blobs, files))
        })
        .await?;
        let meta = ObjectMeta {
            key: key.to_owned(),
            size,
            etag: format!("{}-{}", hex::encode(md5_of_md5s.finalize()), listed.len()),
            last_modified: OffsetDateTime::now_utc(),
            headers: upload.headers,
            tags: upload.tags,
            blobs,
            upload_id: Some(upload.upload_id),
            checksum,
        };
        self.commit(&bucket, meta, files, conditions.to_vec(), Some(dir)).await
    }
}

/// The checksum a part of `upload` gets: the upload's algorithm, checked
/// against what the part declares (a declaration of another algorithm is
/// refused, as AWS does); else whatever the part declares.
fn part_checksum(upload: &UploadMeta, declared: Option<ChecksumRequest>) -> StoreResult<Option<ChecksumRequest>> {
    match (upload.checksum, declared) {
        (Some((algorithm, _)), Some(declared)) if declared.algorithm != algorithm => Err(StoreError::InvalidRequest(format!(
            "Checksum Type mismatch occurred, expected checksum Type: {}, actual checksum Type: {}",
            algorithm.name().to_ascii_lowercase(),
            declared.algorithm.name().to_ascii_lowercase()
        ))),
        (_, Some(declared)) => Ok(Some(declared)),
        (Some((algorithm, _)), None) => Ok(Some(ChecksumRequest { algorithm, declared: Declared::Nothing })),
        (None, None) => Ok(None),
    }
}

/// A completed object's checksum: of the upload's algorithm and type, or —
/// for an upload that named none — of the algorithm every part carries.
fn object_checksum(upload: &UploadMeta, parts: &[PartMeta]) -> Option<Checksum> {
    let (algorithm, kind) = match upload.checksum {
        Some(chosen) => chosen,
        None => {
            let algorithm = parts.first()?.checksum.as_ref()?.algorithm;
            (algorithm, ChecksumType::check(None, algorithm).ok()?)
        }
    };
    let sized: Vec<(Option<&Checksum>, u64)> = parts.iter().map(|p| (p.checksum.as_ref(), p.size)).collect();
    Checksum::of_parts(algorithm, kind, &sized)
}

fn read_parts(dir: &std::path::Path) -> StoreResult<Vec<PartMeta>> {
    let mut parts = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        let is_part_record = path.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with("part-") && n.ends_with(".json"));
        if is_part_record {
            let part: PartMeta = serde_json::from_slice(&std::fs::read(&path)?).map_err(std::io::Error::other)?;
            parts.push(part);
        }
    }
    parts.sort_by_key(|p| p.part_number);
    Ok(parts)
}
