//! Getting files into and out of a dataset, with the bytes going straight
//! between the client and storage through presigned URLs.
//!
//! ```text
//! ds/{id}/uploads/{upload_id}.json   a started upload: path, declared size, who
//! ds/{id}/staging/{upload_id}        where its one presigned PUT lands
//! ds/{id}/files/{path}               the file, once the upload is completed
//! ```
//!
//! A single-PUT upload lands on a key of its own, and completing it checks
//! what arrived (size) and copies it into place inside storage. So a file
//! never appears half-sent or with the wrong size, and a presigned URL used
//! again after completion cannot overwrite the file.

use agora_model::files::{
    human_bytes, normalize_file_path, normalize_folder, numbered_copy, DownloadLink, FileEntry, FilePage, FileView, Manifest,
    ManifestEntry, OnConflict, UploadRequest, UploadTicket, MANIFEST_MAX_FILES, SINGLE_PUT_MAX_BYTES,
};
use agora_model::tags::validate_tag_set;
use agora_model::ApiError;
use bytes::Bytes;
use futures::StreamExt;
use serde::{Deserialize, Serialize};

use super::{DatasetError, Datasets};
use crate::accounts::unix_now;
use crate::auth::access::{authorize, Need};
use crate::auth::caller::Caller;
use crate::storage::{ListOptions, PresignExpiry, PutOptions, StorageError, WriteCondition};

fn file_key(id: &str, path: &str) -> String {
    format!("ds/{id}/files/{path}")
}

fn pending_key(id: &str, upload: &str) -> String {
    format!("ds/{id}/uploads/{upload}.json")
}

fn staging_key(id: &str, upload: &str) -> String {
    format!("ds/{id}/staging/{upload}")
}

/// Copies tried for a free name with `keep_both`.
const MAX_COPIES: u32 = 1000;

#[derive(Debug, Clone, Serialize, Deserialize)]
struct PendingUpload {
    path: String,
    size: u64,
    content_type: Option<String>,
    labels: Vec<agora_model::tags::Tag>,
    replace: bool,
    by: String,
    created_at: i64,
}

fn invalid(field: &str, message: impl Into<String>) -> DatasetError {
    DatasetError::Api(ApiError::invalid(field, message))
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
        if request.size > SINGLE_PUT_MAX_BYTES {
            return Err(invalid("size", "files over 5 GiB need a multipart upload, which is not available yet"));
        }
        validate_tag_set(&request.labels).map_err(|e| invalid("labels", e.message))?;
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
        let replaced = if request.on_conflict == Some(OnConflict::Replace) { self.size_of(&file_key(id, &path)).await? } else { 0 };
        self.check_quota(&record, request.size, replaced).await?;
        let upload_id = crate::accounts::random_id();
        let pending = PendingUpload {
            path: path.clone(),
            size: request.size,
            content_type: request.content_type.clone(),
            labels: request.labels.clone(),
            replace: request.on_conflict == Some(OnConflict::Replace),
            by: user.id.clone(),
            created_at: unix_now(),
        };
        let json = serde_json::to_vec(&pending).map_err(|e| DatasetError::Internal(e.to_string()))?;
        let create =
            PutOptions { condition: Some(WriteCondition::Create), content_type: Some("application/json".into()), ..Default::default() };
        self.storage.put(&pending_key(id, &upload_id), Bytes::from(json), create).await?;
        let presigned = self
            .storage
            .presign_put(&staging_key(id, &upload_id), request.content_type.as_deref(), &request.labels, self.presign_expiry())
            .await?;
        Ok(UploadTicket {
            upload_id,
            path,
            method: presigned.method,
            url: presigned.url,
            headers: presigned.headers,
            expires_at: presigned.expires_at,
        })
    }

    /// Checks what arrived for the upload and puts it in place. A size that
    /// differs from the declared one discards it and says so.
    pub async fn complete_upload(&self, caller: &Caller, id: &str, upload_id: &str) -> Result<FileView, DatasetError> {
        let record = self.load(id).await?;
        authorize(caller, &record.resource(), Need::Write).map_err(DatasetError::Api)?;
        if upload_id.len() != 32 || !upload_id.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(DatasetError::Api(ApiError::not_found("no such upload")));
        }
        let pending: PendingUpload = match self.storage.get(&pending_key(id, upload_id), None).await {
            Ok(object) => serde_json::from_slice(&object.body).map_err(|e| DatasetError::Internal(e.to_string()))?,
            Err(StorageError::NotFound) => {
                return Err(DatasetError::Api(ApiError::not_found("no such upload: it was completed already, or never started")))
            }
            Err(other) => return Err(other.into()),
        };
        let staging = staging_key(id, upload_id);
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
        if arrived.size != pending.size {
            discard().await;
            return Err(invalid(
                "size",
                format!("{} bytes were declared but {} arrived; the upload was discarded", pending.size, arrived.size),
            ));
        }
        let target = file_key(id, &pending.path);
        // Uploads started together each fit; together they may not.
        let replaced = if pending.replace { self.size_of(&target).await? } else { 0 };
        if let Err(err) = self.check_quota(&record, arrived.size, replaced).await {
            discard().await;
            return Err(err);
        }
        if !pending.replace && self.exists(&target).await? {
            discard().await;
            return Err(DatasetError::Api(ApiError::conflict(
                "path",
                format!("{} was created meanwhile; upload again to replace it or keep both", pending.path),
            )));
        }
        let etag = self.storage.copy(&staging, &target).await?;
        discard().await;
        self.record(caller, id, format!("uploaded {} ({})", pending.path, human_bytes(pending.size))).await;
        tracing::info!(dataset = %id, path = %pending.path, size = pending.size, "file uploaded");
        Ok(FileView { path: pending.path, size: pending.size, etag, content_type: arrived.content_type, labels: pending.labels })
    }

    /// A presigned GET that saves under the file's own name.
    pub async fn download(&self, caller: &Caller, id: &str, path: &str) -> Result<DownloadLink, DatasetError> {
        let record = self.load(id).await?;
        authorize(caller, &record.resource(), Need::Read).map_err(DatasetError::Api)?;
        let path = normalize_file_path(path).map_err(DatasetError::Api)?;
        let key = file_key(id, &path);
        if !self.exists(&key).await? {
            return Err(DatasetError::Api(ApiError::not_found("no such file")));
        }
        let name = path.rsplit('/').next().unwrap_or(&path);
        let presigned = self.storage.presign_get(&key, Some(name), self.presign_expiry()).await?;
        Ok(DownloadLink { path, url: presigned.url, expires_at: presigned.expires_at })
    }

    /// One page of a folder: its sub-folders and files, by name. Read
    /// straight from storage until the search index lists datasets.
    pub async fn list_files(
        &self,
        caller: &Caller,
        id: &str,
        folder: &str,
        continuation: Option<String>,
        limit: usize,
    ) -> Result<FilePage, DatasetError> {
        let record = self.load(id).await?;
        authorize(caller, &record.resource(), Need::Read).map_err(DatasetError::Api)?;
        let folder = normalize_folder(folder).map_err(DatasetError::Api)?;
        let root = file_key(id, "");
        let options = ListOptions {
            prefix: format!("{root}{folder}"),
            delimiter: Some("/".into()),
            continuation_token: continuation.clone(),
            max_keys: Some(limit.clamp(1, 1000) as i32),
            ..Default::default()
        };
        let page = self.storage.list(&options).await.map_err(|e| match e {
            StorageError::Invalid(_) => invalid("continuation", "is not a token from an earlier page"),
            other => other.into(),
        })?;
        let strip = |key: &str| key.strip_prefix(&root).unwrap_or(key).to_owned();
        // Labels are tags, which listings do not carry: read them a few at a
        // time (the search index will answer this in one query).
        let keys: Vec<String> = page.objects.iter().map(|o| o.key.clone()).collect();
        let storage = self.storage.clone();
        let labels: Vec<Vec<agora_model::tags::Tag>> = futures::stream::iter(keys)
            .map(move |key| {
                let storage = storage.clone();
                async move { storage.get_tags(&key).await.unwrap_or_default() }
            })
            .buffered(16)
            .collect()
            .await;
        let files = page
            .objects
            .iter()
            .zip(labels)
            .map(|(o, labels)| {
                let path = strip(&o.key);
                FileEntry { name: path.rsplit('/').next().unwrap_or(&path).to_owned(), path, size: o.size, labels }
            })
            .collect();
        let folders = if continuation.is_none() { page.common_prefixes.iter().map(|p| strip(p)).collect() } else { Vec::new() };
        Ok(FilePage { folder, folders, files, next: page.next_continuation_token })
    }

    /// Presigned GETs for every file under `folder` (all of them when empty).
    pub async fn manifest(&self, caller: &Caller, id: &str, folder: &str) -> Result<Manifest, DatasetError> {
        let record = self.load(id).await?;
        authorize(caller, &record.resource(), Need::Read).map_err(DatasetError::Api)?;
        let folder = normalize_folder(folder).map_err(DatasetError::Api)?;
        let root = file_key(id, "");
        let objects = self.storage.list_all(&format!("{root}{folder}")).await?;
        if objects.len() > MANIFEST_MAX_FILES {
            return Err(DatasetError::Api(ApiError::new(
                agora_model::ErrorKind::TooLarge,
                format!("{} files are more than one manifest lists ({MANIFEST_MAX_FILES}); ask for one folder at a time", objects.len()),
            )));
        }
        let expiry = self.presign_expiry();
        let mut files = Vec::with_capacity(objects.len());
        let mut expires_at = u64::MAX;
        for object in objects {
            let presigned = self.storage.presign_get(&object.key, None, expiry).await?;
            expires_at = expires_at.min(presigned.expires_at);
            let path = object.key.strip_prefix(&root).unwrap_or(&object.key).to_owned();
            files.push(ManifestEntry { path, size: object.size, url: presigned.url });
        }
        if files.is_empty() {
            expires_at = 0;
        }
        Ok(Manifest { dataset: record.name.replace('/', "_"), folder, expires_at, files })
    }

    /// Replaces a file's labels (its S3 tags) with `labels`.
    pub async fn set_labels(
        &self,
        caller: &Caller,
        id: &str,
        path: &str,
        labels: Vec<agora_model::tags::Tag>,
    ) -> Result<FileView, DatasetError> {
        let record = self.load(id).await?;
        authorize(caller, &record.resource(), Need::Write).map_err(DatasetError::Api)?;
        let path = normalize_file_path(path).map_err(DatasetError::Api)?;
        validate_tag_set(&labels).map_err(|e| invalid("labels", e.message))?;
        let key = file_key(id, &path);
        let info = match self.storage.head(&key).await {
            Ok(info) => info,
            Err(StorageError::NotFound) => return Err(DatasetError::Api(ApiError::not_found("no such file"))),
            Err(other) => return Err(other.into()),
        };
        self.storage.put_tags(&key, &labels).await?;
        let described = if labels.is_empty() {
            "none".to_string()
        } else {
            labels
                .iter()
                .map(|t| if t.value.is_empty() { t.key.clone() } else { format!("{}={}", t.key, t.value) })
                .collect::<Vec<_>>()
                .join(", ")
        };
        self.record(caller, id, format!("labelled {path}: {described}")).await;
        tracing::info!(dataset = %id, labels = labels.len(), "file labels set");
        Ok(FileView { path, size: info.size, etag: info.etag, content_type: info.content_type, labels })
    }

    /// Refuses an upload that would take the dataset over its byte quota.
    /// Usage is summed from a listing until the index keeps it.
    async fn check_quota(&self, record: &super::DatasetRecord, adding: u64, replacing: u64) -> Result<(), DatasetError> {
        let used: u64 = self.storage.list_all(&file_key(&record.id, "")).await?.iter().map(|o| o.size).sum();
        let after = (used.saturating_sub(replacing)).saturating_add(adding);
        if after > self.limits.max_bytes {
            return Err(DatasetError::Api(ApiError::new(
                agora_model::ErrorKind::TooLarge,
                format!(
                    "this upload would bring “{}” to {}, over its quota of {} (AGORA_MAX_DATASET_BYTES); delete files or ask an administrator",
                    record.name,
                    human_bytes(after),
                    human_bytes(self.limits.max_bytes)
                ),
            )));
        }
        Ok(())
    }

    async fn size_of(&self, key: &str) -> Result<u64, DatasetError> {
        match self.storage.head(key).await {
            Ok(info) => Ok(info.size),
            Err(StorageError::NotFound) => Ok(0),
            Err(other) => Err(other.into()),
        }
    }

    async fn exists(&self, key: &str) -> Result<bool, DatasetError> {
        match self.storage.head(key).await {
            Ok(_) => Ok(true),
            Err(StorageError::NotFound) => Ok(false),
            Err(other) => Err(other.into()),
        }
    }

    async fn free_name(&self, id: &str, path: &str) -> Result<String, DatasetError> {
        for n in 1..=MAX_COPIES {
            let candidate = numbered_copy(path, n);
            if !self.exists(&file_key(id, &candidate)).await? {
                return normalize_file_path(&candidate).map_err(DatasetError::Api);
            }
        }
        Err(DatasetError::Api(ApiError::conflict("path", format!("{MAX_COPIES} copies of {path} exist; choose another name"))))
    }

    fn presign_expiry(&self) -> PresignExpiry {
        PresignExpiry::new(self.limits.presign_expiry).unwrap_or_default()
    }
}
