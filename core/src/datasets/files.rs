//! Getting files out of a dataset (presigned GETs, manifests), listing them,
//! and their labels (the objects' S3 tags). Uploads are in `uploads`.

use agora_model::files::{
    human_bytes, normalize_file_path, normalize_folder, numbered_copy, DownloadLink, FileEntry, FilePage, FileView, Manifest,
    ManifestEntry, MANIFEST_MAX_FILES,
};
use agora_model::tags::validate_tag_set;
use agora_model::ApiError;
use futures::StreamExt;

use super::{DatasetError, Datasets};
use crate::auth::access::{authorize, Need};
use crate::auth::caller::Caller;
use crate::storage::{ListOptions, PresignExpiry, StorageError};

pub(super) fn file_key(id: &str, path: &str) -> String {
    format!("ds/{id}/files/{path}")
}

/// Copies tried for a free name with `keep_both`.
const MAX_COPIES: u32 = 1000;

pub(super) fn invalid(field: &str, message: impl Into<String>) -> DatasetError {
    DatasetError::Api(ApiError::invalid(field, message))
}

impl Datasets {
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
    pub(super) async fn check_quota(&self, record: &super::DatasetRecord, adding: u64, replacing: u64) -> Result<(), DatasetError> {
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

    pub(super) async fn size_of(&self, key: &str) -> Result<u64, DatasetError> {
        match self.storage.head(key).await {
            Ok(info) => Ok(info.size),
            Err(StorageError::NotFound) => Ok(0),
            Err(other) => Err(other.into()),
        }
    }

    pub(super) async fn exists(&self, key: &str) -> Result<bool, DatasetError> {
        match self.storage.head(key).await {
            Ok(_) => Ok(true),
            Err(StorageError::NotFound) => Ok(false),
            Err(other) => Err(other.into()),
        }
    }

    pub(super) async fn free_name(&self, id: &str, path: &str) -> Result<String, DatasetError> {
        for n in 1..=MAX_COPIES {
            let candidate = numbered_copy(path, n);
            if !self.exists(&file_key(id, &candidate)).await? {
                return normalize_file_path(&candidate).map_err(DatasetError::Api);
            }
        }
        Err(DatasetError::Api(ApiError::conflict("path", format!("{MAX_COPIES} copies of {path} exist; choose another name"))))
    }

    pub(super) fn presign_expiry(&self) -> PresignExpiry {
        PresignExpiry::new(self.limits.presign_expiry).unwrap_or_default()
    }
}
