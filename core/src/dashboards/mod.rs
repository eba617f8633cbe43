//! Dashboards in the bucket (issue 7, first step: the records).
//!
//! ```text
//! db/{id}.json   the dashboard: title, description, owner, members, visibility, panels
//! ```
//!
//! Flags (whitelisted, protected) are the object's tags, so an administrator
//! can set them without rewriting (or racing) the document. Saves are
//! optimistic: a change names the version (ETag) it was made from and fails
//! with a conflict if someone saved in between; nothing is overwritten
//! silently.

use agora_model::dashboards::{normalize_title, validate_description, validate_panels, Panel};
use agora_model::sharing::{Member, Visibility};
use agora_model::tags::Tag;
use agora_model::{ApiError, ErrorKind};
use bytes::Bytes;
use serde::{Deserialize, Serialize};

use crate::accounts::unix_now;
use crate::auth::access::{authorize, Kind, Need, Resource};
use crate::auth::caller::Caller;
use crate::storage::{PutOptions, Storage, StorageError, WriteCondition};

/// A dashboard's size limit unless configured (bytes of its JSON).
pub const DEFAULT_MAX_BYTES: u64 = 10 * 1024 * 1024;

fn key(id: &str) -> String {
    format!("db/{id}.json")
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DashboardRecord {
    pub id: String,
    pub title: String,
    pub description: String,
    pub owner: String,
    pub members: Vec<Member>,
    /// `Public`: anyone with the link reads it.
    pub visibility: Visibility,
    pub panels: Vec<Panel>,
    pub created_at: i64,
    pub updated_at: i64,
}

impl DashboardRecord {
    pub fn resource(&self) -> Resource<'_> {
        Resource { kind: Kind::Dashboard, id: &self.id, owner: &self.owner, members: &self.members, visibility: self.visibility }
    }
}

/// A stored dashboard: the record, its version (ETag) and its flags.
#[derive(Debug, Clone, PartialEq)]
pub struct Stored {
    pub record: DashboardRecord,
    pub version: String,
    pub whitelisted: bool,
    pub protected: bool,
    pub bytes: u64,
}

impl Stored {
    /// The wire view for `caller`.
    pub fn view(&self, caller: &Caller) -> agora_model::dashboards::DashboardView {
        let r = &self.record;
        let editable = !self.protected && crate::auth::access::allowed(caller, &r.resource()) >= Some(Need::Write);
        agora_model::dashboards::DashboardView {
            id: r.id.clone(),
            title: r.title.clone(),
            description: r.description.clone(),
            owner: r.owner.clone(),
            visibility: r.visibility,
            panels: r.panels.clone(),
            created_at: r.created_at,
            updated_at: r.updated_at,
            version: self.version.clone(),
            whitelisted: self.whitelisted,
            protected: self.protected,
            bytes: self.bytes,
            editable,
        }
    }
}

/// What a save changes; `version` is the one it was made from.
#[derive(Debug, Clone, Default)]
pub struct Change {
    pub title: Option<String>,
    pub description: Option<String>,
    pub panels: Option<Vec<Panel>>,
    pub visibility: Option<Visibility>,
    pub version: String,
}

fn stored_error(err: StorageError) -> ApiError {
    if err.kind() == ErrorKind::Unavailable {
        return ApiError::new(ErrorKind::Unavailable, "storage is unavailable right now; try again shortly");
    }
    tracing::error!(error = %err, "dashboard storage failed");
    ApiError::internal()
}

#[derive(Clone)]
pub struct Dashboards {
    storage: Storage,
    max_bytes: u64,
}

impl Dashboards {
    pub fn new(storage: Storage, max_bytes: u64) -> Self {
        Self { storage, max_bytes }
    }

    fn encode(&self, record: &DashboardRecord) -> Result<Bytes, ApiError> {
        let json = serde_json::to_vec(record).map_err(|e| stored_error(StorageError::Other(e.to_string())))?;
        if json.len() as u64 > self.max_bytes {
            return Err(ApiError::new(
                ErrorKind::TooLarge,
                format!("this dashboard would take {} bytes; the limit is {} (AGORA_MAX_DASHBOARD_BYTES)", json.len(), self.max_bytes),
            ));
        }
        Ok(Bytes::from(json))
    }

    /// Creates a dashboard owned by the caller (a session: keys do not make dashboards).
    pub async fn create(&self, caller: &Caller, title: &str, description: &str, panels: Vec<Panel>) -> Result<Stored, ApiError> {
        let owner = caller.require_session()?;
        let title = normalize_title(title)?;
        validate_description(description)?;
        validate_panels(&panels)?;
        let now = unix_now();
        let record = DashboardRecord {
            id: crate::accounts::random_id()[..16].to_owned(),
            title,
            description: description.trim().to_owned(),
            owner: owner.id.clone(),
            members: Vec::new(),
            visibility: Visibility::Private,
            panels,
            created_at: now,
            updated_at: now,
        };
        let body = self.encode(&record)?;
        let bytes = body.len() as u64;
        let options =
            PutOptions { condition: Some(WriteCondition::Create), content_type: Some("application/json".into()), ..Default::default() };
        let version = self.storage.put(&key(&record.id), body, options).await.map_err(stored_error)?;
        tracing::info!(dashboard = %record.id, "dashboard created");
        Ok(Stored { record, version, whitelisted: false, protected: false, bytes })
    }

    async fn load(&self, id: &str) -> Result<Stored, ApiError> {
        if id.len() != 16 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(ApiError::not_found("no such dashboard"));
        }
        let key = key(id);
        let (object, tags) = futures::join!(self.storage.get(&key, None), self.storage.get_tags(&key));
        let object = match object {
            Ok(object) => object,
            Err(StorageError::NotFound) => return Err(ApiError::not_found("no such dashboard")),
            Err(other) => return Err(stored_error(other)),
        };
        let tags = tags.unwrap_or_default();
        let flag = |name: &str| tags.iter().any(|t| t.key == name && t.value == "true");
        let record = serde_json::from_slice(&object.body).map_err(|e| stored_error(StorageError::Other(e.to_string())))?;
        Ok(Stored {
            record,
            version: object.info.etag,
            whitelisted: flag("whitelisted"),
            protected: flag("protected"),
            bytes: object.info.size,
        })
    }

    /// A dashboard the caller may read ("not found" otherwise).
    pub async fn get(&self, caller: &Caller, id: &str) -> Result<Stored, ApiError> {
        let stored = self.load(id).await?;
        authorize(caller, &stored.record.resource(), Need::Read)?;
        Ok(stored)
    }

    /// Saves a change made from `change.version`. A dashboard saved by
    /// someone else meanwhile is a conflict; a protected one refuses.
    pub async fn update(&self, caller: &Caller, id: &str, change: Change) -> Result<Stored, ApiError> {
        let stored = self.load(id).await?;
        let need = if change.visibility.is_some() { Need::Manage } else { Need::Write };
        authorize(caller, &stored.record.resource(), need)?;
        if stored.protected {
            return Err(ApiError::forbidden(
                "this dashboard is protected: it is read-only for everyone until an administrator unprotects it",
            ));
        }
        if stored.version != change.version {
            return Err(stale());
        }
        let mut record = stored.record.clone();
        if let Some(title) = &change.title {
            record.title = normalize_title(title)?;
        }
        if let Some(description) = &change.description {
            validate_description(description)?;
            record.description = description.trim().to_owned();
        }
        if let Some(panels) = change.panels {
            validate_panels(&panels)?;
            record.panels = panels;
        }
        if let Some(visibility) = change.visibility {
            record.visibility = visibility;
        }
        record.updated_at = unix_now();
        let body = self.encode(&record)?;
        let bytes = body.len() as u64;
        let options = PutOptions {
            condition: Some(WriteCondition::Match(stored.version.clone())),
            content_type: Some("application/json".into()),
            tags: flag_tags(&stored),
            ..Default::default()
        };
        let version = match self.storage.put(&key(id), body, options).await {
            Ok(version) => version,
            Err(StorageError::PreconditionFailed) => return Err(stale()),
            Err(other) => return Err(stored_error(other)),
        };
        Ok(Stored { record, version, bytes, ..stored })
    }

    /// Deletes a dashboard (owner; never a protected one).
    pub async fn delete(&self, caller: &Caller, id: &str) -> Result<(), ApiError> {
        let stored = self.load(id).await?;
        authorize(caller, &stored.record.resource(), Need::Manage)?;
        if stored.protected {
            return Err(ApiError::forbidden("this dashboard is protected and cannot be deleted"));
        }
        self.storage.delete(&key(id)).await.map_err(stored_error)?;
        tracing::info!(dashboard = %id, "dashboard deleted");
        Ok(())
    }

    /// Sets the administrator's flags (as the object's tags). Protecting
    /// implies whitelisting; unprotecting leaves whitelisting as it is.
    pub async fn set_flags(
        &self,
        caller: &Caller,
        id: &str,
        whitelisted: Option<bool>,
        protected: Option<bool>,
    ) -> Result<Stored, ApiError> {
        caller.require_admin()?;
        let mut stored = self.load(id).await?;
        if let Some(on) = protected {
            stored.protected = on;
            stored.whitelisted |= on;
        }
        if let Some(on) = whitelisted {
            stored.whitelisted = on || stored.protected;
        }
        let flags: Vec<Tag> = [("whitelisted", stored.whitelisted), ("protected", stored.protected)]
            .into_iter()
            .map(|(name, on)| Tag::new(name, if on { "true" } else { "false" }))
            .collect();
        self.storage.put_tags(&key(id), &flags).await.map_err(stored_error)?;
        tracing::info!(dashboard = %id, whitelisted = stored.whitelisted, protected = stored.protected, "dashboard flags set");
        Ok(stored)
    }
}

impl Dashboards {
    /// For a deleted account: deletes the dashboards it owned — except
    /// protected ones, which an administrator chose to keep — and takes it
    /// out of the others' members. Resumable: running it again finds what is
    /// left. Returns how many dashboards it touched.
    pub async fn remove_user(&self, user_id: &str) -> Result<u64, ApiError> {
        let mut touched = 0;
        for object in self.storage.list_all("db/").await.map_err(stored_error)? {
            let Some(id) = object.key.strip_prefix("db/").and_then(|k| k.strip_suffix(".json")) else { continue };
            let stored = match self.load(id).await {
                Ok(stored) => stored,
                Err(err) if err.kind == ErrorKind::NotFound => continue,
                Err(err) => return Err(err),
            };
            if stored.record.owner == user_id && !stored.protected {
                self.storage.delete(&key(id)).await.map_err(stored_error)?;
                touched += 1;
            } else if stored.record.members.iter().any(|m| m.user_id == user_id) {
                let mut record = stored.record.clone();
                record.members.retain(|m| m.user_id != user_id);
                let options = PutOptions {
                    condition: Some(WriteCondition::Match(stored.version.clone())),
                    content_type: Some("application/json".into()),
                    tags: flag_tags(&stored),
                    ..Default::default()
                };
                match self.storage.put(&key(id), self.encode(&record)?, options).await {
                    // Saved meanwhile: the next run of the job takes it out.
                    Ok(_) | Err(StorageError::PreconditionFailed) => touched += 1,
                    Err(other) => return Err(stored_error(other)),
                }
            }
        }
        Ok(touched)
    }
}

fn flag_tags(stored: &Stored) -> Vec<Tag> {
    [("whitelisted", stored.whitelisted), ("protected", stored.protected)]
        .into_iter()
        .filter(|(_, on)| *on)
        .map(|(name, _)| Tag::new(name, "true"))
        .collect()
}

fn stale() -> ApiError {
    ApiError::conflict("version", "someone saved this dashboard after you opened it; reload to see their changes, then apply yours again")
}
