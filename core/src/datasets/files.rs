//! Getting files out of a dataset (presigned GETs, manifests), listing them,
//! and their labels (the objects' S3 tags). Uploads are in `uploads`.

use agora_model::files::{
    inline_content_type, normalize_file_path, normalize_folder, numbered_copy, BulkLabelsRequest, BulkLabelsResult, DownloadLink,
    FileFailure, FilePage, FileQuery, FileView, Manifest, ManifestEntry, MANIFEST_MAX_FILES, MAX_BULK_PATHS,
};
use agora_model::tags::{validate_tag_set, Tag, MAX_TAGS};
use agora_model::ApiError;
use futures::StreamExt;

use super::{DatasetError, Datasets};
use crate::auth::access::{authorize, Need};
use crate::auth::caller::Caller;
use crate::index::Op;
use crate::storage::{Delivery, PresignExpiry, StorageError};

/// The object key of a dataset's file.
pub fn file_key(id: &str, path: &str) -> String {
    format!("ds/{id}/files/{path}")
}

/// Files a bulk label change works on at once.
const BULK_CONCURRENCY: usize = 16;

/// Copies tried for a free name with `keep_both`.
const MAX_COPIES: u32 = 1000;

pub(super) fn invalid(field: &str, message: impl Into<String>) -> DatasetError {
    DatasetError::Api(ApiError::invalid(field, message))
}

impl Datasets {
    /// A presigned GET that saves under the file's own name.
    /// `attachment`: browsers save it under the file's own name; otherwise
    /// they may show it (previews read ranges of it).
    pub async fn download(&self, caller: &Caller, id: &str, path: &str, attachment: bool) -> Result<DownloadLink, DatasetError> {
        let record = self.load(id).await?;
        authorize(caller, &record.resource(), Need::Read).map_err(DatasetError::Api)?;
        let path = normalize_file_path(path).map_err(DatasetError::Api)?;
        let key = file_key(id, &path);
        if !self.exists(&key).await? {
            return Err(DatasetError::Api(ApiError::not_found("no such file")));
        }
        let name = path.rsplit('/').next().unwrap_or(&path);
        let delivery = match inline_content_type(&path) {
            Some(content_type) if !attachment => Delivery::Inline { content_type },
            _ => Delivery::Attachment { filename: name },
        };
        let presigned = self.storage.presign_get(&key, delivery, self.presign_expiry()).await?;
        Ok(DownloadLink { path, url: presigned.url, expires_at: presigned.expires_at })
    }

    /// One page of a listing, answered by the search index: a folder's
    /// files and sub-folders, or every file matching label and name filters,
    /// sorted, with label counts.
    pub async fn list_files(&self, caller: &Caller, id: &str, query: FileQuery) -> Result<FilePage, DatasetError> {
        let record = self.load(id).await?;
        authorize(caller, &record.resource(), Need::Read).map_err(DatasetError::Api)?;
        query.validate().map_err(DatasetError::Api)?;
        let query = FileQuery { folder: normalize_folder(&query.folder).map_err(DatasetError::Api)?, ..query };
        let (dataset, asked) = (id.to_owned(), query.clone());
        let listing =
            self.index.search().read(move |searcher, fields| crate::index::query::list_files(searcher, fields, &dataset, &asked)).await?;
        Ok(FilePage {
            folder: query.folder,
            folders: listing.folders,
            files: listing.files,
            total: listing.total,
            offset: query.offset as u64,
            facets: listing.facets,
            indexing: self.index.search().rebuilding().is_some(),
        })
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
            let path = object.key.strip_prefix(&root).unwrap_or(&object.key).to_owned();
            let filename = path.rsplit('/').next().unwrap_or(&path);
            let presigned = self.storage.presign_get(&object.key, Delivery::Attachment { filename }, expiry).await?;
            expires_at = expires_at.min(presigned.expires_at);
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
        self.index.changed(vec![Op::File(super::sync::file_doc(id, &path, &info, labels.clone()))]).await;
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

    /// Deletes a file (and its thumbnail). Editors and owners may.
    pub async fn delete_file(&self, caller: &Caller, id: &str, path: &str) -> Result<(), DatasetError> {
        let record = self.load(id).await?;
        authorize(caller, &record.resource(), Need::Write).map_err(DatasetError::Api)?;
        let path = normalize_file_path(path).map_err(DatasetError::Api)?;
        let key = file_key(id, &path);
        if !self.exists(&key).await? {
            return Err(DatasetError::Api(ApiError::not_found("no such file")));
        }
        self.storage.delete_many(&[key, super::thumbs::thumb_key(id, &path)]).await?;
        self.index.changed(vec![Op::RemoveFile { dataset: id.to_owned(), path: path.clone() }]).await;
        self.record(caller, id, format!("deleted {path}")).await;
        tracing::info!(dataset = %id, "file deleted");
        Ok(())
    }

    /// Adds and removes labels on up to [`MAX_BULK_PATHS`] files, a few at a
    /// time. Each file succeeds or fails on its own (a file already at 10
    /// labels, a file deleted meanwhile); the failures are reported.
    pub async fn bulk_labels(&self, caller: &Caller, id: &str, request: BulkLabelsRequest) -> Result<BulkLabelsResult, DatasetError> {
        let record = self.load(id).await?;
        authorize(caller, &record.resource(), Need::Write).map_err(DatasetError::Api)?;
        if request.paths.is_empty() || request.paths.len() > MAX_BULK_PATHS {
            return Err(invalid("paths", format!("must list 1 to {MAX_BULK_PATHS} files; send several requests for more")));
        }
        if request.add.is_empty() && request.remove.is_empty() {
            return Err(invalid("add", "name labels to add or keys to remove"));
        }
        validate_tag_set(&request.add).map_err(|e| invalid("add", e.message))?;
        let paths = request.paths.iter().map(|p| normalize_file_path(p)).collect::<Result<Vec<_>, _>>().map_err(DatasetError::Api)?;
        let outcomes: Vec<(String, Result<Option<Op>, String>)> = futures::stream::iter(paths)
            .map(|path| async {
                let outcome = self.relabel(id, &path, &request.add, &request.remove).await;
                (path, outcome)
            })
            .buffer_unordered(BULK_CONCURRENCY)
            .collect()
            .await;
        let mut result = BulkLabelsResult::default();
        let mut ops = Vec::new();
        for (path, outcome) in outcomes {
            match outcome {
                Ok(Some(op)) => {
                    result.changed += 1;
                    ops.push(op);
                }
                Ok(None) => result.unchanged += 1,
                Err(reason) => result.failed.push(FileFailure { path, reason }),
            }
        }
        self.index.changed(ops).await;
        if result.changed > 0 {
            let mut what: Vec<String> = request.add.iter().map(|t| format!("+{}", crate::index::schema::label_term(t))).collect();
            what.extend(request.remove.iter().map(|k| format!("-{k}")));
            self.record(caller, id, format!("labelled {} file(s): {}", result.changed, what.join(", "))).await;
        }
        result.failed.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(result)
    }

    /// One file of a bulk change: `None` when nothing changes.
    async fn relabel(&self, id: &str, path: &str, add: &[Tag], remove: &[String]) -> Result<Option<Op>, String> {
        let key = file_key(id, path);
        let (info, current) = match futures::join!(self.storage.head(&key), self.storage.get_tags(&key)) {
            (Ok(info), Ok(tags)) => (info, tags),
            (Err(StorageError::NotFound), _) | (_, Err(StorageError::NotFound)) => return Err("no such file".into()),
            (Err(e), _) | (_, Err(e)) => return Err(e.to_string()),
        };
        let mut labels: Vec<Tag> =
            current.iter().filter(|t| !remove.contains(&t.key) && !add.iter().any(|a| a.key == t.key)).cloned().collect();
        labels.extend(add.iter().cloned());
        let (mut before, mut after) = (current.clone(), labels.clone());
        before.sort();
        after.sort();
        if before == after {
            return Ok(None);
        }
        if labels.len() > MAX_TAGS {
            return Err(format!("it has {} labels already; S3 allows {MAX_TAGS} per file", current.len()));
        }
        self.storage.put_tags(&key, &labels).await.map_err(|e| e.to_string())?;
        Ok(Some(Op::File(super::sync::file_doc(id, path, &info, labels))))
    }

    /// Refuses an upload that would take the dataset over its byte quota.
    /// Usage comes from the index; while it is being rebuilt, from a listing.
    pub(super) async fn check_quota(&self, record: &super::DatasetRecord, adding: u64, replacing: u64) -> Result<(), DatasetError> {
        let after = self.used_bytes(&record.id).await?.saturating_sub(replacing).saturating_add(adding);
        if after > self.limits.max_bytes {
            return Err(self.over_quota(record, after));
        }
        Ok(())
    }

    /// The bytes a dataset holds against its quota: its files (from the
    /// index, or storage while the index is rebuilt) and its training runs'
    /// model artifacts (from storage).
    pub(super) async fn used_bytes(&self, id: &str) -> Result<u64, DatasetError> {
        let index = self.index.search();
        let files = if index.rebuilding().is_none() {
            let dataset = id.to_owned();
            index.read(move |searcher, fields| crate::index::query::usage(searcher, fields, &dataset)).await?.0
        } else {
            self.storage.list_all(&file_key(id, "")).await?.iter().map(|o| o.size).sum()
        };
        let artifacts: u64 = self.storage.list_all(&super::runs::artifacts_prefix(id)).await?.iter().map(|o| o.size).sum();
        Ok(files.saturating_add(artifacts))
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
