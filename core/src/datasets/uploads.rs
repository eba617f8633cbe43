//! Uploads, with the bytes going straight from the client to storage.
//!
//! ```text
//! ds/{id}/uploads/{upload_id}.json   a started upload: path, declared size and MD5, who, S3 upload id
//! ds/{id}/staging/{upload_id}        where a single presigned PUT lands
//! ds/{id}/upload-parts/{upload_id}/{part:05}.{md5 hex}
//!                                    an MD5 declared for a part (empty objects)
//! ds/{id}/files/{path}               the file, once the upload is completed
//! ```
//!
//! **A presigned URL grants exactly one write**: its key, its size
//! (`content-length` signed) and its bytes (the client declares their MD5,
//! which is signed as `content-md5`, so storage refuses any other body).
//! Completion trusts neither the client nor what storage says it holds: it
//! checks size and ETag against what was declared before the URL was made.
//! A store that ignored an added header (`x-amz-copy-source`, say) would
//! hold bytes whose MD5 nobody declared, and completion refuses them.
//!
//! **Small files** (below the multipart threshold) take one presigned PUT to
//! a key of their own; completing checks what arrived and copies it into
//! place inside storage, on the condition that it still has the checked ETag.
//! So a file never appears with other bytes, and the URL used again after
//! completion cannot overwrite it.
//!
//! **Large files** are S3 multipart uploads straight to the file's key: the
//! object only exists once the server completes the upload, after checking
//! every part's size and MD5, and the part URLs stop working at that moment
//! (the S3 upload id is gone). The record above keeps the S3 upload id, so
//! the uploader can resume from any device; storage itself says which parts
//! it holds (ListParts), checked against the MD5s declared for them.

use std::collections::HashMap;

use agora_model::files::{
    human_bytes, md5_base64, normalize_file_path, parse_md5, FileView, OnConflict, PartPlan, PartUrl, PartUrlsRequest, PresignedCall,
    UploadRequest, UploadTicket, MAX_FILE_BYTES, MAX_PART_URLS, SINGLE_PUT_MAX_BYTES,
};
use agora_model::tags::{validate_tag_set, Tag};
use agora_model::ApiError;
use bytes::Bytes;
use serde::{Deserialize, Serialize};

use super::completions::Wanted;
use super::files::{file_key, invalid};
use super::{DatasetError, DatasetRecord, Datasets};
use crate::accounts::unix_now;
use crate::auth::access::{authorize, Need};
use crate::auth::caller::Caller;
use crate::storage::{multipart_etag, BodyDigest, ObjectInfo, PartInfo, PresignedRequest, PutOptions, StorageError, WriteCondition};

fn pending_key(id: &str, upload: &str) -> String {
    format!("ds/{id}/uploads/{upload}.json")
}

fn pending_prefix(id: &str) -> String {
    format!("ds/{id}/uploads/")
}

fn staging_key(id: &str, upload: &str) -> String {
    format!("ds/{id}/staging/{upload}")
}

fn declared_parts_prefix(id: &str, upload: &str) -> String {
    format!("ds/{id}/upload-parts/{upload}/")
}

/// Where every upload's declared parts are (the sweep looks for orphans).
fn all_declared_parts_prefix(id: &str) -> String {
    format!("ds/{id}/upload-parts/")
}

fn declared_part_key(id: &str, upload: &str, part: u32, md5: &[u8; 16]) -> String {
    format!("{}{part:05}.{}", declared_parts_prefix(id, upload), hex::encode(md5))
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct PendingUpload {
    path: String,
    size: u64,
    content_type: Option<String>,
    labels: Vec<Tag>,
    replace: bool,
    by: String,
    created_at: i64,
    /// Set for a multipart upload.
    #[serde(default)]
    multipart: Option<Multipart>,
    /// Set for a training run's artifact (`path` is then its file name).
    #[serde(default)]
    artifact: Option<ArtifactOf>,
    /// The declared MD5 (hex) of a single-PUT upload's bytes.
    #[serde(default)]
    md5: Option<String>,
}

/// The round an artifact belongs to.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct ArtifactOf {
    pub session: String,
    pub round: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Multipart {
    /// Storage's id of the multipart upload (of the file's own key).
    s3_upload_id: String,
    part_size: u64,
}

impl PendingUpload {
    /// An artifact of a training round (it replaces one of the same name).
    pub(super) fn artifact(upload: agora_model::runs::ArtifactUpload, by: String, of: ArtifactOf) -> Result<Self, DatasetError> {
        let md5 = upload.md5.as_deref().map(|m| parse_md5("md5", m)).transpose().map_err(DatasetError::Api)?;
        Ok(Self {
            path: upload.name,
            size: upload.size,
            content_type: upload.content_type,
            labels: Vec::new(),
            replace: true,
            by,
            created_at: unix_now(),
            multipart: None,
            artifact: Some(of),
            md5: md5.map(hex::encode),
        })
    }

    /// Where the bytes end up: the file's key, or the artifact's.
    fn target(&self, id: &str) -> String {
        match &self.artifact {
            Some(a) => super::runs::artifact_key(id, &a.session, a.round, &self.path),
            None => file_key(id, &self.path),
        }
    }

    /// What the single PUT must carry (its declared size and MD5). An
    /// upload started before uploads declared their MD5 has none: it can
    /// only be started again.
    fn digest(&self) -> Result<BodyDigest, DatasetError> {
        let md5 = self.md5.as_deref().and_then(|m| hex::decode(m).ok()).and_then(|m| <[u8; 16]>::try_from(m).ok());
        let md5 = md5.ok_or_else(|| invalid("upload", "this upload declared no MD5 (it predates checked uploads); start it again"))?;
        Ok(BodyDigest { size: self.size, md5 })
    }

    fn plan(&self) -> Option<PartPlan> {
        self.multipart.as_ref().map(|m| PartPlan {
            part_size: m.part_size,
            part_count: self.size.div_ceil(m.part_size).max(1) as u32,
            done: Vec::new(),
        })
    }
}

/// How old a staging object or declared part no open upload claims must be
/// before the reconciler's sweep removes it (younger ones may belong to an
/// upload started while the sweep ran).
pub const ORPHANED_AFTER: std::time::Duration = std::time::Duration::from_secs(120);

/// After an attempt to put a file in place the upload is done with, unless
/// storage failed: that may pass, and the upload stays for another try.
async fn discard_unless_storage_failed<T, F: std::future::Future<Output = ()>>(
    outcome: &Result<T, DatasetError>,
    discard: &impl Fn() -> F,
) {
    if !matches!(outcome, Err(DatasetError::Storage(_))) {
        discard().await;
    }
}

/// Why a completion stopped before putting the file in place: with what
/// arrived discarded (it can never complete), or kept for another try.
enum Refused {
    Discard(DatasetError),
    Keep(DatasetError),
}

fn not_found_upload() -> DatasetError {
    DatasetError::Api(ApiError::not_found("no such upload: it was completed or cancelled already, or never started"))
}

fn call(presigned: PresignedRequest) -> PresignedCall {
    PresignedCall { method: presigned.method, url: presigned.url, headers: presigned.headers, expires_at: presigned.expires_at }
}

/// Parts of the plan that storage holds with the right size, and the problems
/// with the others (missing, or the wrong size).
fn check_parts(plan: &PartPlan, size: u64, stored: &[PartInfo]) -> (Vec<(i32, String)>, Vec<String>) {
    let mut good = Vec::new();
    let (mut missing, mut wrong) = (Vec::new(), Vec::new());
    for number in 1..=plan.part_count {
        let (start, end) = plan.range(size, number);
        match stored.iter().find(|p| p.part_number == number as i32) {
            None => missing.push(number.to_string()),
            Some(part) if part.size != end - start => {
                wrong.push(format!("part {number} has {} bytes but should have {}", part.size, end - start))
            }
            Some(part) => good.push((part.part_number, part.etag.clone())),
        }
    }
    if !missing.is_empty() {
        let list =
            if missing.len() > 10 { format!("{} and {} more", missing[..10].join(", "), missing.len() - 10) } else { missing.join(", ") };
        wrong.insert(0, format!("part(s) {list} have not arrived yet"));
    }
    (good, wrong)
}

impl Datasets {
    /// Checks rights, name, size and labels, and returns where to send the bytes.
    pub async fn start_upload(&self, caller: &Caller, id: &str, request: UploadRequest) -> Result<UploadTicket, DatasetError> {
        let record = self.load(id).await?;
        authorize(caller, &record.resource(), Need::Write).map_err(DatasetError::Api)?;
        let user = caller.require_user().map_err(DatasetError::Api)?;
        let mut path = normalize_file_path(&request.path).map_err(DatasetError::Api)?;
        if request.size == 0 {
            return Err(invalid("size", "the file is empty; empty files are not uploaded"));
        }
        if request.size > MAX_FILE_BYTES {
            return Err(invalid("size", format!("must be at most {} (the largest object S3 stores)", human_bytes(MAX_FILE_BYTES))));
        }
        validate_tag_set(&request.labels).map_err(|e| invalid("labels", e.message))?;
        let md5 = request.md5.as_deref().map(|m| parse_md5("md5", m)).transpose().map_err(DatasetError::Api)?;
        if let Some(content_type) = &request.content_type {
            let printable = content_type.len() <= 255 && content_type.bytes().all(|b| (0x20..0x7f).contains(&b));
            if !printable || !content_type.contains('/') {
                return Err(invalid("content_type", "must be a media type such as image/jpeg (printable ASCII, at most 255 characters)"));
            }
        }
        if self.exists(&file_key(id, &path)).await? {
            match request.on_conflict {
                None => {
                    return Err(DatasetError::Api(ApiError::conflict(
                        "path",
                        format!("{path} exists already; upload again with on_conflict replace or keep_both"),
                    )))
                }
                Some(OnConflict::Replace) => {}
                Some(OnConflict::KeepBoth) => path = self.free_name(id, &path).await?,
            }
        }
        let replace = request.on_conflict == Some(OnConflict::Replace);
        let replaced = if replace { self.size_of(&file_key(id, &path)).await? } else { 0 };
        self.check_quota(&record, request.size, replaced).await?;
        let pending = PendingUpload {
            path,
            size: request.size,
            content_type: request.content_type.clone(),
            labels: request.labels.clone(),
            replace,
            by: user.id.clone(),
            created_at: unix_now(),
            multipart: None,
            artifact: None,
            md5: md5.map(hex::encode),
        };
        self.begin_upload(id, pending).await
    }

    /// Writes the upload's record (after starting the multipart upload for
    /// a large one) and returns the ticket.
    pub(super) async fn begin_upload(&self, id: &str, mut pending: PendingUpload) -> Result<UploadTicket, DatasetError> {
        let upload_id = crate::accounts::random_id();
        let multipart = pending.size >= self.limits.multipart_threshold || pending.size > SINGLE_PUT_MAX_BYTES;
        if !multipart && pending.md5.is_none() {
            return Err(invalid(
                "md5",
                format!(
                    "is required for a file sent in one PUT (below {}): the base64 MD5 of its bytes, e.g. `openssl dgst -md5 -binary FILE | base64`",
                    human_bytes(self.limits.multipart_threshold.min(SINGLE_PUT_MAX_BYTES))
                ),
            ));
        }
        if multipart {
            let options = PutOptions { content_type: pending.content_type.clone(), tags: pending.labels.clone(), ..Default::default() };
            let s3_upload_id = self.storage.create_upload(&pending.target(id), options).await?;
            pending.multipart = Some(Multipart { s3_upload_id, part_size: PartPlan::for_size(pending.size).part_size });
        }
        let json = serde_json::to_vec(&pending)?;
        let create =
            PutOptions { condition: Some(WriteCondition::Create), content_type: Some("application/json".into()), ..Default::default() };
        if let Err(err) = self.storage.put(&pending_key(id, &upload_id), Bytes::from(json), create).await {
            if let Some(m) = &pending.multipart {
                let _ = self.storage.abort_upload(&pending.target(id), &m.s3_upload_id).await;
            }
            return Err(err.into());
        }
        tracing::info!(dataset = %id, size = pending.size, multipart, "upload started");
        self.ticket(id, &upload_id, &pending, Vec::new()).await
    }

    async fn ticket(&self, id: &str, upload_id: &str, pending: &PendingUpload, done: Vec<u32>) -> Result<UploadTicket, DatasetError> {
        let put = match pending.multipart {
            Some(_) => None,
            None => Some(call(
                self.storage
                    .presign_put(
                        &staging_key(id, upload_id),
                        pending.digest()?,
                        pending.content_type.as_deref(),
                        &pending.labels,
                        self.presign_expiry(),
                    )
                    .await?,
            )),
        };
        Ok(UploadTicket {
            upload_id: upload_id.to_owned(),
            path: pending.path.clone(),
            size: pending.size,
            started_at: pending.created_at,
            put,
            multipart: pending.plan().map(|plan| PartPlan { done, ..plan }),
        })
    }

    /// The caller's unfinished uploads to this dataset, oldest first, each
    /// with fresh URLs or the parts storage holds: what a client needs to
    /// resume after a reload or on another device.
    pub async fn pending_uploads(&self, caller: &Caller, id: &str) -> Result<Vec<UploadTicket>, DatasetError> {
        let record = self.load(id).await?;
        authorize(caller, &record.resource(), Need::Write).map_err(DatasetError::Api)?;
        let user = caller.require_user().map_err(DatasetError::Api)?;
        let mut tickets = Vec::new();
        for upload_id in self.upload_ids(id).await? {
            let upload_id = upload_id.as_str();
            let Some(pending) = self.read_pending(id, upload_id).await? else { continue };
            // Artifacts are resumed through their run, not the dataset's uploads.
            if pending.by != user.id || pending.artifact.is_some() {
                continue;
            }
            // A single PUT without a declared MD5 (started by an older
            // version) cannot get a URL any more; it is dropped.
            if pending.multipart.is_none() && pending.md5.is_none() {
                self.drop_upload(id, upload_id, &pending).await?;
                continue;
            }
            let done = match &pending.multipart {
                None => Vec::new(),
                Some(m) => match self.storage.list_parts(&pending.target(id), &m.s3_upload_id).await {
                    Ok(parts) => {
                        let plan = pending.plan().unwrap_or_else(|| PartPlan::for_size(pending.size));
                        let (good, _) = check_parts(&plan, pending.size, &parts);
                        good.iter().map(|(n, _)| *n as u32).collect()
                    }
                    // Storage dropped it (aborted, or expired by its lifecycle rule).
                    Err(StorageError::NotFound) => {
                        let _ = self.storage.delete(&pending_key(id, upload_id)).await;
                        continue;
                    }
                    Err(other) => return Err(other.into()),
                },
            };
            tickets.push(self.ticket(id, upload_id, &pending, done).await?);
        }
        tickets.sort_by(|a, b| a.started_at.cmp(&b.started_at).then_with(|| a.path.cmp(&b.path)));
        Ok(tickets)
    }

    /// Presigned URLs for parts of a multipart upload; asked for as they are
    /// needed, so they never expire while waiting. Each part's declared MD5
    /// is recorded before its URL is made, and signed into it.
    pub async fn part_urls(
        &self,
        caller: &Caller,
        id: &str,
        upload_id: &str,
        request: PartUrlsRequest,
    ) -> Result<Vec<PartUrl>, DatasetError> {
        let (_, pending) = self.own_upload(caller, id, upload_id).await?;
        let (Some(plan), Some(m)) = (pending.plan(), &pending.multipart) else {
            return Err(invalid("upload", "this upload is a single PUT and has no parts; send the file to its URL"));
        };
        if request.parts.is_empty() || request.parts.len() > MAX_PART_URLS {
            return Err(invalid("parts", format!("must list 1 to {MAX_PART_URLS} parts")));
        }
        let mut parts = Vec::with_capacity(request.parts.len());
        for part in &request.parts {
            let number = part.part_number;
            if number == 0 || number > plan.part_count {
                return Err(invalid("parts", format!("part {number} does not exist; this upload has parts 1 to {}", plan.part_count)));
            }
            let md5 = parse_md5("parts", &part.md5)
                .map_err(|e| invalid("parts", format!("part {number}: the md5 {}", e.message.trim_start_matches("must "))))?;
            let (start, end) = plan.range(pending.size, number);
            parts.push((number, BodyDigest { size: end - start, md5 }));
        }
        let declared = parts.iter().map(|(number, digest)| {
            let key = declared_part_key(id, upload_id, *number, &digest.md5);
            async move { self.storage.put(&key, Bytes::new(), PutOptions::default()).await }
        });
        futures::future::try_join_all(declared).await?;
        let key = pending.target(id);
        let mut urls = Vec::with_capacity(parts.len());
        for (number, digest) in parts {
            let presigned = self.storage.presign_upload_part(&key, &m.s3_upload_id, number as i32, digest, self.presign_expiry()).await?;
            urls.push(PartUrl { part_number: number, url: presigned.url, headers: presigned.headers, expires_at: presigned.expires_at });
        }
        Ok(urls)
    }

    /// The MD5s (hex) declared for each part of an upload.
    async fn declared_parts(&self, id: &str, upload_id: &str) -> Result<HashMap<u32, Vec<String>>, DatasetError> {
        let prefix = declared_parts_prefix(id, upload_id);
        let mut declared: HashMap<u32, Vec<String>> = HashMap::new();
        for object in self.storage.list_all(&prefix).await? {
            let name = object.key.strip_prefix(&prefix).unwrap_or_default();
            if let Some((number, md5)) = name.split_once('.').and_then(|(n, m)| Some((n.parse::<u32>().ok()?, m.to_owned()))) {
                declared.entry(number).or_default().push(md5);
            }
        }
        Ok(declared)
    }

    async fn forget_declared_parts(&self, id: &str, upload_id: &str) {
        if let Ok(objects) = self.storage.list_all(&declared_parts_prefix(id, upload_id)).await {
            let keys: Vec<String> = objects.into_iter().map(|o| o.key).collect();
            let _ = self.storage.delete_many(&keys).await;
        }
    }

    /// Checks what arrived for the upload and puts it in place. A size that
    /// differs from the declared one discards it and says so; missing parts
    /// of a multipart upload are named and can still be sent.
    pub async fn complete_upload(&self, caller: &Caller, id: &str, upload_id: &str) -> Result<FileView, DatasetError> {
        let (record, pending) = self.own_upload(caller, id, upload_id).await?;
        let file = match &pending.multipart {
            None => self.complete_single(&record, upload_id, &pending).await?,
            Some(m) => self.complete_multipart(&record, upload_id, &pending, m).await?,
        };
        self.record(caller, id, format!("uploaded {} ({})", pending.path, human_bytes(pending.size))).await;
        tracing::info!(dataset = %id, size = pending.size, multipart = pending.multipart.is_some(), "file uploaded");
        Ok(file)
    }

    async fn complete_single(&self, record: &DatasetRecord, upload_id: &str, pending: &PendingUpload) -> Result<FileView, DatasetError> {
        let id = &record.id;
        let staging = staging_key(id, upload_id);
        let declared = pending.digest()?;
        let arrived = match self.storage.head(&staging).await {
            Ok(info) => info,
            Err(StorageError::NotFound) => {
                return Err(invalid("upload", "nothing has arrived for this upload yet; send the file to its URL first"))
            }
            Err(other) => return Err(other.into()),
        };
        let discard = || async {
            let _ = self.storage.delete(&staging).await;
            let _ = self.storage.delete(&pending_key(id, upload_id)).await;
        };
        // What arrived is never described: its size or MD5 would tell
        // someone who made storage copy another object what to declare.
        if arrived.size != declared.size || arrived.etag != declared.etag() {
            discard().await;
            return Err(not_the_declared_bytes(&declared));
        }
        let target = pending.target(id);
        self.check_or_discard(record, upload_id, pending, &discard).await?;
        // Copied only while it still has the checked ETag: a write to the
        // staging key between the check and the copy cannot slip through.
        // The file gets the declared type and labels, whatever the PUT sent
        // (a store that ignored the signed headers might have kept others).
        let declared_headers =
            PutOptions { content_type: pending.content_type.clone(), tags: pending.labels.clone(), ..Default::default() };
        let copied = match self.storage.copy(&staging, &declared.etag(), &target, declared_headers).await {
            Ok(_) => self.check_in_place(&target, declared.size, Some(declared.etag())).await,
            Err(StorageError::PreconditionFailed) => Err(not_the_declared_bytes(&declared)),
            // Refused for what the object is (moto, for one, will not copy
            // one a PUT sent to GLACIER): it came with headers no URL grants.
            Err(StorageError::Invalid(_) | StorageError::AccessDenied(_) | StorageError::NotFound) => Err(invalid(
                "upload",
                "what arrived cannot be put in place: it was sent with other headers than its URL grants; the upload was discarded, start it again",
            )),
            Err(other) => Err(other.into()),
        };
        discard_unless_storage_failed(&copied, &discard).await;
        self.finish_completion(id, upload_id, pending, copied).await
    }

    async fn complete_multipart(
        &self,
        record: &DatasetRecord,
        upload_id: &str,
        pending: &PendingUpload,
        m: &Multipart,
    ) -> Result<FileView, DatasetError> {
        let id = &record.id;
        let key = pending.target(id);
        let discard = || async {
            let _ = self.storage.abort_upload(&key, &m.s3_upload_id).await;
            let _ = self.storage.delete(&pending_key(id, upload_id)).await;
            self.forget_declared_parts(id, upload_id).await;
        };
        let stored = match self.storage.list_parts(&key, &m.s3_upload_id).await {
            Ok(parts) => parts,
            Err(StorageError::NotFound) => {
                discard().await;
                return Err(not_found_upload());
            }
            Err(other) => return Err(other.into()),
        };
        let plan = pending.plan().unwrap_or_else(|| PartPlan::for_size(pending.size));
        let (parts, problems) = check_parts(&plan, pending.size, &stored);
        if !problems.is_empty() {
            return Err(invalid("parts", format!("{}; send them and complete again", problems.join("; "))));
        }
        let undeclared = undeclared_parts(&parts, &self.declared_parts(id, upload_id).await?);
        if !undeclared.is_empty() {
            return Err(invalid("parts", format!("{}; send those parts again with their URLs and complete again", undeclared.join("; "))));
        }
        self.check_or_discard(record, upload_id, pending, &discard).await?;
        let condition = (!pending.replace).then_some(WriteCondition::Create);
        let assembled = match self.storage.complete_upload(&key, &m.s3_upload_id, &parts, condition, &pending.labels).await {
            Ok(_) => self.check_in_place(&key, pending.size, multipart_etag(&parts)).await,
            Err(StorageError::PreconditionFailed) => Err(created_meanwhile(pending)),
            Err(StorageError::NotFound) => Err(not_found_upload()),
            Err(other) => Err(other.into()),
        };
        discard_unless_storage_failed(&assembled, &discard).await;
        self.finish_completion(id, upload_id, pending, assembled).await
    }

    /// The completion check ([`Self::check_completion`]); a refusal that can
    /// never pass discards the upload before it is returned.
    async fn check_or_discard<F: std::future::Future<Output = ()>>(
        &self,
        record: &DatasetRecord,
        upload_id: &str,
        pending: &PendingUpload,
        discard: &impl Fn() -> F,
    ) -> Result<(), DatasetError> {
        match self.check_completion(record, upload_id, pending).await {
            Ok(()) => Ok(()),
            Err(Refused::Discard(err)) => {
                discard().await;
                Err(err)
            }
            Err(Refused::Keep(err)) => Err(err),
        }
    }

    /// Indexes a file that is in place, then ends the completion's claim:
    /// in that order, so another completion's quota check finds its bytes
    /// in the claim or in this node's index, never in neither.
    async fn finish_completion(
        &self,
        id: &str,
        upload_id: &str,
        pending: &PendingUpload,
        in_place: Result<ObjectInfo, DatasetError>,
    ) -> Result<FileView, DatasetError> {
        let file = match in_place {
            Ok(stored) => Ok(self.landed(id, pending, &stored).await),
            Err(err) => Err(err),
        };
        // Artifacts are counted from storage, so their claim need not stay.
        self.release_completion(id, upload_id, file.is_ok() && pending.artifact.is_none()).await;
        file
    }

    /// What storage holds at `key` once the file was put there, checked
    /// again: the declared size and (where it can be computed) ETag, or the
    /// object is removed and the completion fails.
    async fn check_in_place(&self, key: &str, size: u64, etag: Option<String>) -> Result<ObjectInfo, DatasetError> {
        let stored = self.storage.head(key).await?;
        if stored.size == size && etag.as_ref().is_none_or(|e| *e == stored.etag) {
            return Ok(stored);
        }
        let _ = self.storage.delete(key).await;
        Err(DatasetError::Internal(format!(
            "storage holds {} bytes with ETag {} at {key} where {size} bytes with ETag {} were put; the object was removed",
            stored.size,
            stored.etag,
            etag.unwrap_or_default()
        )))
    }

    /// A file in place: indexed (awaiting the commit, so the next listing
    /// shows it) and described.
    async fn landed(&self, id: &str, pending: &PendingUpload, stored: &ObjectInfo) -> FileView {
        if let Some(artifact) = &pending.artifact {
            self.artifact_landed(id, artifact, &pending.path, stored).await;
            return FileView {
                path: pending.target(id),
                size: stored.size,
                etag: stored.etag.clone(),
                content_type: stored.content_type.clone(),
                labels: Vec::new(),
            };
        }
        let doc = super::sync::file_doc(id, &pending.path, stored, pending.labels.clone());
        self.index.changed(vec![crate::index::Op::File(doc)]).await;
        self.thumbnail_later(id, &pending.path, stored.size);
        FileView {
            path: pending.path.clone(),
            size: stored.size,
            etag: stored.etag.clone(),
            content_type: stored.content_type.clone(),
            labels: pending.labels.clone(),
        }
    }

    /// Quota and name, checked again at completion, under a claim (see
    /// `completions`): uploads started together each fit, together they may
    /// not; a file may have appeared meanwhile. On `Ok` the claim is held
    /// and the caller releases it.
    async fn check_completion(&self, record: &DatasetRecord, upload_id: &str, pending: &PendingUpload) -> Result<(), Refused> {
        let target = pending.target(&record.id);
        // Artifacts replace one of their own name; files as they were asked to.
        let replace = pending.replace || pending.artifact.is_some();
        let replaced = if replace { self.size_of(&target).await.map_err(Refused::Keep)? } else { 0 };
        let wanted = Wanted { upload: upload_id, path: &target, size: pending.size, replaced, exclusive: !replace };
        match self.claim_completion(record, wanted).await {
            Ok(()) => {}
            Err(err @ DatasetError::Api(ApiError { kind: agora_model::ErrorKind::TooLarge, .. })) => return Err(Refused::Discard(err)),
            Err(err) => return Err(Refused::Keep(err)),
        }
        match self.exists(&target).await {
            Ok(false) => Ok(()),
            Ok(true) if replace => Ok(()),
            outcome => {
                self.release_completion(&record.id, upload_id, false).await;
                match outcome {
                    Err(err) => Err(Refused::Keep(err)),
                    _ => Err(Refused::Discard(created_meanwhile(pending))),
                }
            }
        }
    }

    /// Stops an upload and drops what was sent of it.
    pub async fn cancel_upload(&self, caller: &Caller, id: &str, upload_id: &str) -> Result<(), DatasetError> {
        let (_, pending) = self.own_upload(caller, id, upload_id).await?;
        self.drop_upload(id, upload_id, &pending).await?;
        tracing::info!(dataset = %id, "upload cancelled");
        Ok(())
    }

    /// Drops uploads started more than `age` ago and never completed, and
    /// multipart uploads holding parts outside their plan (no URL of ours
    /// writes those: a store let something else through). Staging objects
    /// and declared parts no open upload claims go once they are
    /// `orphaned` old ([`ORPHANED_AFTER`] in the reconciler): what a URL
    /// wrote after its upload completed or was refused, or what a crash
    /// between a completion's deletions left. Returns how many went.
    pub async fn sweep_uploads(&self, id: &str, age: std::time::Duration, orphaned: std::time::Duration) -> Result<usize, DatasetError> {
        let cutoff = unix_now() - age.as_secs() as i64;
        let (mut swept, mut live) = (0, std::collections::HashSet::new());
        for upload_id in self.upload_ids(id).await? {
            let upload_id = upload_id.as_str();
            let Some(pending) = self.read_pending(id, upload_id).await? else { continue };
            if pending.created_at <= cutoff || self.past_its_plan(id, &pending).await? {
                self.drop_upload(id, upload_id, &pending).await?;
                swept += 1;
            } else {
                live.insert(upload_id.to_owned());
            }
        }
        // Recent orphans may be an upload started since it was listed above.
        let orphaned = unix_now() - orphaned.as_secs() as i64;
        let staging = staging_key(id, "");
        for object in self.storage.list_all(&staging).await? {
            let upload_id = object.key.strip_prefix(&staging).unwrap_or_default();
            if !live.contains(upload_id) && object.modified <= orphaned {
                self.storage.delete(&object.key).await?;
                swept += 1;
            }
        }
        let declared = all_declared_parts_prefix(id);
        let orphans: Vec<String> = self
            .storage
            .list_all(&declared)
            .await?
            .into_iter()
            .filter(|o| {
                let upload_id = o.key.strip_prefix(&declared).and_then(|rest| rest.split('/').next()).unwrap_or_default();
                !live.contains(upload_id) && o.modified <= orphaned
            })
            .map(|o| o.key)
            .collect();
        if !orphans.is_empty() {
            self.storage.delete_many(&orphans).await?;
        }
        if swept > 0 {
            tracing::info!(dataset = %id, swept, "abandoned uploads dropped");
        }
        Ok(swept)
    }

    /// Whether storage holds parts of a multipart upload that its plan has
    /// no room for: numbers past its last part, or parts of another size.
    async fn past_its_plan(&self, id: &str, pending: &PendingUpload) -> Result<bool, DatasetError> {
        let (Some(plan), Some(m)) = (pending.plan(), &pending.multipart) else { return Ok(false) };
        let parts = match self.storage.list_parts(&pending.target(id), &m.s3_upload_id).await {
            Ok(parts) => parts,
            Err(StorageError::NotFound) => return Ok(false),
            Err(other) => return Err(other.into()),
        };
        Ok(parts.iter().any(|part| {
            let number = part.part_number;
            if number < 1 || number as u32 > plan.part_count {
                return true;
            }
            let (start, end) = plan.range(pending.size, number as u32);
            part.size != end - start
        }))
    }

    async fn drop_upload(&self, id: &str, upload_id: &str, pending: &PendingUpload) -> Result<(), DatasetError> {
        match &pending.multipart {
            Some(m) => match self.storage.abort_upload(&pending.target(id), &m.s3_upload_id).await {
                Ok(()) | Err(StorageError::NotFound) => {}
                Err(other) => return Err(other.into()),
            },
            None => match self.storage.delete(&staging_key(id, upload_id)).await {
                Ok(()) | Err(StorageError::NotFound) => {}
                Err(other) => return Err(other.into()),
            },
        }
        self.forget_declared_parts(id, upload_id).await;
        self.storage.delete(&pending_key(id, upload_id)).await?;
        Ok(())
    }

    /// Aborts every multipart upload into the dataset (its deletion calls
    /// this before removing the objects; parts are not objects).
    pub(super) async fn abort_all_uploads(&self, id: &str) -> Result<(), DatasetError> {
        for upload_id in self.upload_ids(id).await? {
            let upload_id = upload_id.as_str();
            if let Some(pending @ PendingUpload { multipart: Some(_), .. }) = self.read_pending(id, upload_id).await? {
                let s3_upload_id = pending.multipart.as_ref().map(|m| m.s3_upload_id.clone()).unwrap_or_default();
                match self.storage.abort_upload(&pending.target(id), &s3_upload_id).await {
                    Ok(()) | Err(StorageError::NotFound) => {}
                    Err(other) => return Err(other.into()),
                }
            }
        }
        Ok(())
    }

    /// Ids of the dataset's started, unfinished uploads (from their records).
    async fn upload_ids(&self, id: &str) -> Result<Vec<String>, DatasetError> {
        let prefix = pending_prefix(id);
        let records = self.storage.list_all(&prefix).await?;
        Ok(records.iter().filter_map(|o| o.key.strip_prefix(&prefix)?.strip_suffix(".json").map(str::to_owned)).collect())
    }

    async fn read_pending(&self, id: &str, upload_id: &str) -> Result<Option<PendingUpload>, DatasetError> {
        match self.storage.get(&pending_key(id, upload_id), None).await {
            Ok(object) => Ok(Some(serde_json::from_slice(&object.body)?)),
            Err(StorageError::NotFound) => Ok(None),
            Err(other) => Err(other.into()),
        }
    }

    /// An upload the caller started (from any device or key), in a dataset
    /// they may still write. Others' uploads are "not found".
    async fn own_upload(&self, caller: &Caller, id: &str, upload_id: &str) -> Result<(DatasetRecord, PendingUpload), DatasetError> {
        let record = self.load(id).await?;
        authorize(caller, &record.resource(), Need::Write).map_err(DatasetError::Api)?;
        let user = caller.require_user().map_err(DatasetError::Api)?;
        if upload_id.len() != 32 || !upload_id.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(not_found_upload());
        }
        match self.read_pending(id, upload_id).await? {
            Some(pending) if pending.by == user.id => Ok((record, pending)),
            _ => Err(not_found_upload()),
        }
    }
}

/// Parts storage holds with bytes whose MD5 was never declared for them
/// (an MD5 declared in any URL request for the part counts: the client knew
/// those bytes). Only the declared values are named.
fn undeclared_parts(parts: &[(i32, String)], declared: &HashMap<u32, Vec<String>>) -> Vec<String> {
    parts
        .iter()
        .filter(|(number, etag)| !declared.get(&(*number as u32)).is_some_and(|md5s| md5s.iter().any(|m| m == etag)))
        .map(|(number, _)| {
            let said: Vec<String> = declared
                .get(&(*number as u32))
                .into_iter()
                .flatten()
                .filter_map(|m| hex::decode(m).ok().and_then(|b| <[u8; 16]>::try_from(b).ok()))
                .map(|m| md5_base64(&m))
                .collect();
            let said = if said.is_empty() {
                "no MD5 was declared for it".to_owned()
            } else {
                format!("its declared MD5 is {}", said.join(" or "))
            };
            format!("part {number} holds other bytes than declared ({said})")
        })
        .collect()
}

/// The upload's bytes are not the declared ones (the record is gone).
fn not_the_declared_bytes(declared: &BodyDigest) -> DatasetError {
    invalid(
        "md5",
        format!(
            "what arrived is not the declared file ({} bytes with MD5 {}); the upload was discarded, start it again",
            declared.size,
            md5_base64(&declared.md5)
        ),
    )
}

fn created_meanwhile(pending: &PendingUpload) -> DatasetError {
    DatasetError::Api(ApiError::conflict(
        "path",
        format!("{} was created meanwhile; upload again to replace it or keep both", pending.path),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_are_checked_against_the_plan() {
        let plan = PartPlan::for_size(20 * 1024 * 1024);
        let part = |n: i32, size: u64| PartInfo { part_number: n, size, etag: format!("{n:032x}") };
        let (good, problems) = check_parts(&plan, 20 << 20, &[part(1, 8 << 20), part(3, 4 << 20)]);
        assert_eq!(good.len(), 2);
        assert_eq!(problems, vec!["part(s) 2 have not arrived yet".to_string()]);
        let (_, problems) = check_parts(&plan, 20 << 20, &[part(1, 8 << 20), part(2, 8 << 20), part(3, 5)]);
        assert_eq!(problems, vec![format!("part 3 has 5 bytes but should have {}", 4 << 20)]);
    }
}
