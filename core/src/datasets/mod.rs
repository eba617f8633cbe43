//! Datasets: a manifest in the bucket, members with roles, visibility, and
//! deletion as a background job.
//!
//! ```text
//! ds/{id}/dataset.json            the manifest: name, description, owner, members, visibility
//! ds/{id}/files/{path}            the data (labels are the objects' tags)
//! sys/user-datasets/{user}/{id}   marker: a dataset the user owns or is a member of
//! sys/public-datasets/{id}        marker: a public dataset
//! sys/transfer-offers/{user}/{id} marker: the dataset's owner offered it to the user
//! ```
//!
//! The markers make "the datasets I can see" a prefix listing until the
//! search index answers it. A manifest changes by read-modify-write with
//! `If-Match`; markers follow the manifest and are repaired by the next
//! change if a crash falls in between.

pub mod activity;
mod completions;
mod error;
pub mod files;
pub mod runs;
mod sync;
pub mod thumbs;
mod transfer;
mod uploads;

use agora_model::datasets::{
    normalize_dataset_name, validate_description, DatasetChange, DatasetView, MemberView, NewDataset, Permission, ShareRequest,
};
use agora_model::sharing::{Member, MemberRole, Visibility};
use agora_model::ApiError;
use bytes::Bytes;
use serde::{Deserialize, Serialize};

use crate::accounts::{unix_now, AccountError, Accounts};
use crate::auth::access::{allowed, authorize, Kind, Need, Resource};
use crate::auth::caller::{Caller, Identity};
use crate::index::journal::Indexer;
use crate::index::Op;
use crate::jobs::{JobRecord, Jobs};
use crate::storage::{PutOptions, Storage, StorageError, WriteCondition};
pub use error::DatasetError;

pub const DELETE_JOB: &str = "delete-dataset";

fn manifest_key(id: &str) -> String {
    format!("ds/{id}/dataset.json")
}

fn member_marker(user: &str, id: &str) -> String {
    format!("sys/user-datasets/{user}/{id}")
}

fn public_marker(id: &str) -> String {
    format!("sys/public-datasets/{id}")
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DatasetRecord {
    pub id: String,
    pub name: String,
    pub description: String,
    pub owner: String,
    /// Everyone but the owner.
    pub members: Vec<Member>,
    pub visibility: Visibility,
    pub created_at: i64,
    pub updated_at: i64,
    /// Set once deletion was asked for: the dataset is gone for every purpose.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deletion_job: Option<String>,
    /// The owner offered the dataset to this person; it is theirs once they
    /// accept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offered_to: Option<Offer>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Offer {
    pub user_id: String,
    /// Unix seconds.
    pub at: i64,
}

impl DatasetRecord {
    pub fn resource(&self) -> Resource<'_> {
        Resource { kind: Kind::Dataset, id: &self.id, owner: &self.owner, members: &self.members, visibility: self.visibility }
    }

    /// The record as the search index keeps it.
    pub fn index_doc(&self) -> crate::index::DatasetDoc {
        let mut readers: Vec<String> = self.people().map(str::to_owned).collect();
        if self.visibility == Visibility::Public {
            readers.push(crate::index::schema::PUBLIC.to_owned());
        }
        crate::index::DatasetDoc {
            id: self.id.clone(),
            name: self.name.clone(),
            description: self.description.clone(),
            owner: self.owner.clone(),
            readers,
            updated_at: self.updated_at,
        }
    }

    /// Everyone with a role, owner included.
    fn people(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.owner.as_str()).chain(self.members.iter().map(|m| m.user_id.as_str()))
    }
}

/// Configurable limits.
#[derive(Debug, Clone, Copy)]
pub struct DatasetLimits {
    /// Datasets one user may own.
    pub per_user: usize,
    /// Bytes one dataset may hold.
    pub max_bytes: u64,
    /// Lifetime of presigned upload and download URLs.
    pub presign_expiry: std::time::Duration,
    /// Files this large (bytes) are uploaded in parts.
    pub multipart_threshold: u64,
    /// A running training session with no sign of life for this long is stale.
    pub run_stale_after: std::time::Duration,
    /// Bytes of log one training session keeps.
    pub run_log_max_bytes: u64,
}

impl Default for DatasetLimits {
    fn default() -> Self {
        Self {
            per_user: 100,
            max_bytes: 1 << 40,
            presign_expiry: crate::storage::DEFAULT_PRESIGN_EXPIRY,
            multipart_threshold: agora_model::files::DEFAULT_MULTIPART_THRESHOLD,
            run_stale_after: runs::DEFAULT_STALE_AFTER,
            run_log_max_bytes: runs::DEFAULT_LOG_MAX_BYTES,
        }
    }
}

#[derive(Clone)]
pub struct Datasets {
    storage: Storage,
    accounts: Accounts,
    jobs: Jobs,
    limits: DatasetLimits,
    index: Indexer,
    feeds: std::sync::Arc<runs::RunFeeds>,
    /// This node's completions of one dataset take turns at its claims.
    ledger_turns: std::sync::Arc<completions::LedgerTurns>,
}

fn new_id() -> String {
    crate::accounts::random_id()[..16].to_owned()
}

impl Datasets {
    pub fn new(storage: Storage, accounts: Accounts, limits: DatasetLimits, index: Indexer) -> Self {
        Self {
            jobs: Jobs::new(storage.clone()),
            storage,
            accounts,
            limits,
            index,
            feeds: Default::default(),
            ledger_turns: Default::default(),
        }
    }

    pub fn index(&self) -> &Indexer {
        &self.index
    }

    /// Creates a dataset owned by the caller. A session may; an API key may
    /// if it reaches all of its owner's datasets read-write.
    pub async fn create(&self, caller: &Caller, request: NewDataset) -> Result<DatasetRecord, DatasetError> {
        let owner = caller.require_user().map_err(DatasetError::Api)?;
        if let Identity::ApiKey { key, .. } = &caller.identity {
            let may = key
                .scopes
                .iter()
                .any(|s| matches!(s, agora_model::accounts::Scope::AllDatasets { access: agora_model::accounts::Access::ReadWrite }));
            if !may {
                return Err(DatasetError::Api(ApiError::forbidden(
                    "this API key may not create datasets; it needs read-write access to all datasets",
                )));
            }
        }
        let name = normalize_dataset_name(&request.name).map_err(DatasetError::Api)?;
        validate_description(&request.description).map_err(DatasetError::Api)?;
        if let Some(owned) = self.at_owned_limit(&owner.id).await? {
            return Err(DatasetError::Api(ApiError::forbidden(format!(
                "you own {owned} datasets, the most allowed per person (AGORA_MAX_DATASETS_PER_USER); delete one or ask an administrator"
            ))));
        }
        let now = unix_now();
        let record = DatasetRecord {
            id: new_id(),
            name,
            description: request.description.trim().to_owned(),
            owner: owner.id.clone(),
            members: Vec::new(),
            visibility: request.visibility,
            created_at: now,
            updated_at: now,
            deletion_job: None,
            offered_to: None,
        };
        let json = serde_json::to_vec(&record)?;
        let create =
            PutOptions { condition: Some(WriteCondition::Create), content_type: Some("application/json".into()), ..Default::default() };
        self.storage.put(&manifest_key(&record.id), Bytes::from(json), create).await?;
        self.sync_markers(None, &record).await?;
        self.record(caller, &record.id, format!("created the dataset “{}”", record.name)).await;
        tracing::info!(dataset = %record.id, owner = %owner.username, "dataset created");
        Ok(record)
    }

    /// The dataset, if the caller may read it ("not found" otherwise).
    pub async fn get(&self, caller: &Caller, id: &str) -> Result<DatasetRecord, DatasetError> {
        let record = self.load(id).await?;
        authorize(caller, &record.resource(), Need::Read).map_err(DatasetError::Api)?;
        Ok(record)
    }

    /// What the caller may see: their own, those shared with them, public ones.
    /// Which datasets the caller may see comes from the index (the same
    /// access decision as everywhere); while it is being rebuilt, from the
    /// markers. The records themselves are read from the bucket.
    pub async fn list(&self, caller: &Caller) -> Result<Vec<DatasetRecord>, DatasetError> {
        let ids = match self.index.search().rebuilding() {
            None => {
                let who = caller.clone();
                let readable =
                    self.index.search().read(move |searcher, fields| crate::index::search::readable(searcher, fields, &who)).await?;
                readable.into_keys().collect()
            }
            Some(_) => self.ids_from_markers(caller).await?,
        };
        let loaded = futures::future::join_all(ids.iter().map(|id| self.load(id))).await;
        let mut visible: Vec<DatasetRecord> =
            loaded.into_iter().filter_map(|r| r.ok()).filter(|record| allowed(caller, &record.resource()).is_some()).collect();
        visible.sort_by(|a, b| b.updated_at.cmp(&a.updated_at).then_with(|| a.name.cmp(&b.name)));
        Ok(visible)
    }

    async fn ids_from_markers(&self, caller: &Caller) -> Result<Vec<String>, DatasetError> {
        let mut ids: Vec<String> = Vec::new();
        if let Some(user) = caller.user() {
            for marker in self.storage.list_all(&format!("sys/user-datasets/{}/", user.id)).await? {
                ids.extend(marker.key.rsplit('/').next().map(str::to_owned));
            }
        }
        for marker in self.storage.list_all("sys/public-datasets/").await? {
            ids.extend(marker.key.rsplit('/').next().map(str::to_owned));
        }
        ids.sort();
        ids.dedup();
        Ok(ids)
    }

    /// Renames, describes (editors) or changes visibility (owner).
    pub async fn update(&self, caller: &Caller, id: &str, change: DatasetChange) -> Result<DatasetRecord, DatasetError> {
        let name = change.name.as_deref().map(normalize_dataset_name).transpose().map_err(DatasetError::Api)?;
        if let Some(description) = &change.description {
            validate_description(description).map_err(DatasetError::Api)?;
        }
        let need = if change.visibility.is_some() { Need::Manage } else { Need::Write };
        let updated = self
            .modify(caller, id, need, |record| {
                if let Some(name) = &name {
                    record.name = name.clone();
                }
                if let Some(description) = &change.description {
                    record.description = description.trim().to_owned();
                }
                if let Some(visibility) = change.visibility {
                    record.visibility = visibility;
                }
                Ok(())
            })
            .await?;
        let visibility = match updated.visibility {
            Visibility::Public => "public",
            Visibility::Private => "private",
        };
        self.record(caller, id, format!("updated the settings (name “{}”, {visibility})", updated.name)).await;
        Ok(updated)
    }

    /// Gives someone a role, changes it, or (role `None`) removes them.
    pub async fn share(&self, caller: &Caller, id: &str, request: ShareRequest) -> Result<DatasetRecord, DatasetError> {
        if request.role == Some(MemberRole::Owner) {
            return Err(DatasetError::Api(ApiError::invalid("role", "there is one owner; transfer ownership instead")));
        }
        let user = self.find_user(&request.username).await?;
        let shared = self
            .modify(caller, id, Need::Manage, |record| {
                if user.id == record.owner {
                    return Err(ApiError::invalid("username", "this is the owner; transfer ownership to someone else first"));
                }
                record.members.retain(|m| m.user_id != user.id);
                if let Some(role) = request.role {
                    record.members.push(Member { user_id: user.id.clone(), role });
                }
                Ok(())
            })
            .await?;
        let what = match request.role {
            Some(MemberRole::Editor) => format!("gave {} edit access", user.username),
            Some(_) => format!("gave {} view access", user.username),
            None => format!("removed {}", user.username),
        };
        self.record(caller, id, what).await;
        Ok(shared)
    }

    /// Deletes the dataset: gone from every list at once, its objects removed
    /// by a background job ([`Self::run_deletion`]). Returns the job.
    pub async fn delete(&self, caller: &Caller, id: &str) -> Result<JobRecord, DatasetError> {
        self.mark_deleted(id, |record| authorize(caller, &record.resource(), Need::Manage)).await
    }

    async fn mark_deleted(&self, id: &str, check: impl Fn(&DatasetRecord) -> Result<(), ApiError>) -> Result<JobRecord, DatasetError> {
        let job = self.jobs.create(DELETE_JOB, id).await?;
        let job_id = job.id.clone();
        let marked = self
            .modify_checked(id, check, |record| {
                if record.deletion_job.is_none() {
                    record.deletion_job = Some(job_id.clone());
                }
                Ok(())
            })
            .await;
        let marked = match marked {
            Ok(record) => record,
            Err(err) => {
                self.jobs.discard(&job.id).await;
                return Err(err);
            }
        };
        let winner = marked.deletion_job.clone().unwrap_or_default();
        if winner != job.id {
            self.jobs.discard(&job.id).await;
        }
        self.remove_markers(&marked).await?;
        tracing::info!(dataset = %id, job = %winner, "dataset deletion asked for");
        Ok(self.jobs.load(&winner).await?)
    }

    /// For a deleted account: deletes the datasets it owned (to the end) and
    /// takes it out of the others. Returns how many datasets it touched.
    pub async fn remove_user(&self, user_id: &str) -> Result<u64, DatasetError> {
        let mut touched = 0;
        for marker in self.storage.list_all(&format!("sys/user-datasets/{user_id}/")).await? {
            let Some(id) = marker.key.rsplit('/').next() else { continue };
            match self.load(id).await {
                Ok(record) if record.owner == user_id => {
                    let job = self.mark_deleted(id, |_| Ok(())).await?;
                    self.run_deletion(&job.id).await?;
                }
                Ok(_) => {
                    self.modify_checked(
                        id,
                        |_| Ok(()),
                        |record| {
                            record.members.retain(|m| m.user_id != user_id);
                            Ok(())
                        },
                    )
                    .await?;
                }
                Err(DatasetError::Api(_)) => {}
                Err(other) => return Err(other),
            }
            self.storage.delete(&marker.key).await?;
            touched += 1;
        }
        self.drop_offers_to(user_id).await?;
        Ok(touched)
    }

    /// Removes a deleted dataset's objects, then its manifest.
    pub async fn run_deletion(&self, job_id: &str) -> Result<JobRecord, DatasetError> {
        let mut job = self.jobs.load(job_id).await?;
        if job.state == agora_model::accounts::JobState::Done {
            return Ok(job);
        }
        let id = job.subject.clone();
        let manifest = manifest_key(&id);
        if let Ok(record) = self.load_any(&id).await {
            self.remove_markers(&record).await?;
        }
        self.jobs.set_step(&mut job, "stopping unfinished uploads").await?;
        self.abort_all_uploads(&id).await?;
        self.jobs.set_step(&mut job, "removing files").await?;
        self.jobs.delete_prefix(&mut job, &format!("ds/{id}/"), |_| Vec::new(), Some(&manifest)).await?;
        match self.storage.delete(&manifest).await {
            Ok(()) | Err(StorageError::NotFound) => {}
            Err(other) => return Err(other.into()),
        }
        job.done += 1;
        self.jobs.finish(&mut job).await?;
        tracing::info!(dataset = %id, removed = job.done, "dataset deletion finished");
        Ok(job)
    }

    /// Resumes unfinished dataset deletions (at start-up).
    pub async fn resume_deletions(&self) -> Result<usize, DatasetError> {
        let running = self.jobs.running(DELETE_JOB).await?;
        for job in &running {
            self.run_deletion(&job.id).await?;
        }
        Ok(running.len())
    }

    /// The record as the caller sees it: members by name, their permission.
    pub async fn view(&self, caller: &Caller, record: &DatasetRecord) -> DatasetView {
        self.views(caller, std::slice::from_ref(record)).await.remove(0)
    }

    /// Views of several records; each person's name is looked up once, however
    /// many of the datasets they belong to.
    pub async fn views(&self, caller: &Caller, records: &[DatasetRecord]) -> Vec<DatasetView> {
        let mut ids: Vec<&str> = records.iter().flat_map(|r| r.people().chain(r.offered_to.as_ref().map(|o| o.user_id.as_str()))).collect();
        ids.sort_unstable();
        ids.dedup();
        let looked_up = futures::future::join_all(ids.iter().map(|id| self.accounts.get(id))).await;
        let names: std::collections::HashMap<&str, String> = ids
            .iter()
            .zip(looked_up)
            .map(|(id, user)| (*id, user.map(|u| u.username).unwrap_or_else(|_| "(deleted account)".into())))
            .collect();
        records
            .iter()
            .map(|record| {
                let permission = match allowed(caller, &record.resource()) {
                    Some(Need::Manage) => Permission::Manage,
                    Some(Need::Write) => Permission::Write,
                    _ => Permission::Read,
                };
                let owner = std::iter::once((record.owner.as_str(), MemberRole::Owner));
                let mut members: Vec<MemberView> = owner
                    .chain(record.members.iter().map(|m| (m.user_id.as_str(), m.role)))
                    .map(|(user_id, role)| MemberView { user_id: user_id.to_owned(), username: names[user_id].clone(), role })
                    .collect();
                members[1..].sort_by(|a, b| a.username.cmp(&b.username));
                DatasetView {
                    id: record.id.clone(),
                    name: record.name.clone(),
                    description: record.description.clone(),
                    visibility: record.visibility,
                    members,
                    created_at: record.created_at,
                    updated_at: record.updated_at,
                    offered_to: record
                        .offered_to
                        .as_ref()
                        .filter(|_| permission == Permission::Manage)
                        .map(|o| names[o.user_id.as_str()].clone()),
                    permission,
                }
            })
            .collect()
    }

    /// Read-modify-write of the manifest after checking `need`; markers follow.
    async fn modify(
        &self,
        caller: &Caller,
        id: &str,
        need: Need,
        change: impl Fn(&mut DatasetRecord) -> Result<(), ApiError>,
    ) -> Result<DatasetRecord, DatasetError> {
        self.modify_checked(id, |record| authorize(caller, &record.resource(), need), change).await
    }

    async fn modify_checked(
        &self,
        id: &str,
        check: impl Fn(&DatasetRecord) -> Result<(), ApiError>,
        change: impl Fn(&mut DatasetRecord) -> Result<(), ApiError>,
    ) -> Result<DatasetRecord, DatasetError> {
        let mut before: Option<DatasetRecord> = None;
        let mut after: Option<DatasetRecord> = None;
        let mut refused: Option<ApiError> = None;
        let outcome = self
            .storage
            .update(&manifest_key(valid_id(id)?), 10, |current| {
                let current = current.ok_or(StorageError::NotFound)?;
                let mut record: DatasetRecord = serde_json::from_slice(current).map_err(|e| StorageError::Other(e.to_string()))?;
                let checked = if record.deletion_job.is_some() { Err(ApiError::not_found("no such dataset")) } else { check(&record) };
                before = Some(record.clone());
                if let Err(err) = checked.and_then(|()| change(&mut record)) {
                    refused = Some(err);
                    return Err(StorageError::Invalid("refused".into()));
                }
                record.updated_at = unix_now();
                let json = serde_json::to_vec(&record).map_err(|e| StorageError::Other(e.to_string()))?;
                after = Some(record);
                Ok(Bytes::from(json))
            })
            .await;
        if let Some(err) = refused {
            return Err(DatasetError::Api(err));
        }
        match outcome {
            Ok(_) => {}
            Err(StorageError::NotFound) => return Err(DatasetError::Api(ApiError::not_found("no such dataset"))),
            Err(other) => return Err(other.into()),
        }
        let after = after.ok_or_else(|| DatasetError::Internal("the update produced no record".into()))?;
        if after.deletion_job.is_none() {
            self.sync_markers(before.as_ref(), &after).await?;
        }
        Ok(after)
    }

    /// Brings the markers in line with the manifest.
    async fn sync_markers(&self, before: Option<&DatasetRecord>, after: &DatasetRecord) -> Result<(), DatasetError> {
        for user in after.people() {
            self.storage.put(&member_marker(user, &after.id), Bytes::new(), PutOptions::default()).await?;
        }
        if let Some(before) = before {
            for gone in before.people().filter(|u| !after.people().any(|p| p == *u)) {
                self.storage.delete(&member_marker(gone, &after.id)).await?;
            }
        }
        match after.visibility {
            Visibility::Public => self.storage.put(&public_marker(&after.id), Bytes::new(), PutOptions::default()).await.map(drop)?,
            Visibility::Private => self.storage.delete(&public_marker(&after.id)).await?,
        }
        self.index.changed(vec![Op::Dataset(after.index_doc())]).await;
        Ok(())
    }

    async fn remove_markers(&self, record: &DatasetRecord) -> Result<(), DatasetError> {
        let mut keys: Vec<String> = record.people().map(|u| member_marker(u, &record.id)).collect();
        keys.push(public_marker(&record.id));
        self.storage.delete_many(&keys).await?;
        self.index.changed(vec![Op::RemoveDataset(record.id.clone())]).await;
        Ok(())
    }

    /// How many datasets `user` owns, when that is as many as one person
    /// may (`None` while they may own another).
    async fn at_owned_limit(&self, user: &str) -> Result<Option<usize>, DatasetError> {
        let owned = self.owned_count(user).await?;
        Ok((owned >= self.limits.per_user).then_some(owned))
    }

    async fn owned_count(&self, user: &str) -> Result<usize, DatasetError> {
        let markers = self.storage.list_all(&format!("sys/user-datasets/{user}/")).await?;
        let loaded = futures::future::join_all(markers.iter().filter_map(|m| m.key.rsplit('/').next()).map(|id| self.load(id))).await;
        Ok(loaded.into_iter().filter_map(|r| r.ok()).filter(|r| r.owner == user).count())
    }

    async fn find_user(&self, username: &str) -> Result<crate::accounts::UserRecord, DatasetError> {
        match self.accounts.find_by_username(username).await {
            Ok(user) if user.check_active().is_ok() => Ok(user),
            Ok(_) | Err(AccountError::NotFound) => {
                Err(DatasetError::Api(ApiError::invalid("username", format!("no account is called {username:?}"))))
            }
            Err(other) => Err(DatasetError::Api(other.to_api())),
        }
    }

    /// A live dataset's manifest (deleted ones are not found).
    async fn load(&self, id: &str) -> Result<DatasetRecord, DatasetError> {
        let record = self.load_any(id).await?;
        if record.deletion_job.is_some() {
            return Err(DatasetError::Api(ApiError::not_found("no such dataset")));
        }
        Ok(record)
    }

    async fn load_any(&self, id: &str) -> Result<DatasetRecord, DatasetError> {
        let object = self.storage.get(&manifest_key(valid_id(id)?), None).await.map_err(|e| match e {
            StorageError::NotFound => DatasetError::Api(ApiError::not_found("no such dataset")),
            other => DatasetError::Storage(other),
        })?;
        serde_json::from_slice(&object.body).map_err(|e| DatasetError::Internal(format!("dataset {id} has an unreadable manifest: {e}")))
    }
}

/// Dataset ids are 16 lowercase hex digits; anything else is not found
/// (and never reaches a storage key).
fn valid_id(id: &str) -> Result<&str, DatasetError> {
    if id.len() == 16 && id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        Ok(id)
    } else {
        Err(DatasetError::Api(ApiError::not_found("no such dataset")))
    }
}
