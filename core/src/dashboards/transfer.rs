//! `agora dashboards export` and `import`: every dashboard (or the
//! whitelisted ones) as one JSON file, and back, with ids, owners and flags
//! kept. Import checks the whole file before it writes anything and is
//! idempotent: a dashboard already stored as in the file is left alone.

use agora_model::{ApiError, ErrorKind};
use futures::StreamExt;
use serde::{Deserialize, Serialize};

use super::{flag_tags, ids, last_seen, load, valid_id, DashboardRecord, Dashboards, Stored};
use crate::index::Op;

pub const FORMAT: &str = "agora-dashboards";
pub const VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExportFile {
    pub format: String,
    pub version: u32,
    pub dashboards: Vec<Exported>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Exported {
    pub record: DashboardRecord,
    #[serde(default)]
    pub whitelisted: bool,
    #[serde(default)]
    pub protected: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Selection {
    All,
    Whitelisted,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportReport {
    pub created: u64,
    pub updated: u64,
    pub unchanged: u64,
}

impl Dashboards {
    /// The dashboards in the bucket, sorted by id.
    pub async fn export(&self, selection: Selection, progress: impl Fn(u64, u64)) -> Result<ExportFile, ApiError> {
        let ids = ids(&self.storage).await?;
        let total = ids.len() as u64;
        let mut loaded = futures::stream::iter(ids).map(|id| async move { load(&self.storage, &id).await }).buffered(super::CONCURRENCY);
        let mut dashboards = Vec::new();
        let mut done = 0;
        while let Some(stored) = loaded.next().await {
            done += 1;
            progress(done, total);
            let stored = match stored {
                Ok(stored) => stored,
                Err(err) if err.kind == ErrorKind::NotFound => continue,
                Err(err) => return Err(err),
            };
            if selection == Selection::Whitelisted && !stored.whitelisted {
                continue;
            }
            dashboards.push(Exported { record: stored.record, whitelisted: stored.whitelisted, protected: stored.protected });
        }
        dashboards.sort_by(|a, b| a.record.id.cmp(&b.record.id));
        Ok(ExportFile { format: FORMAT.into(), version: VERSION, dashboards })
    }

    /// Checks every dashboard in the file, then stores them.
    pub async fn import(&self, file: ExportFile, progress: impl Fn(u64, u64)) -> Result<ImportReport, ApiError> {
        if file.format != FORMAT || file.version != VERSION {
            return Err(ApiError::invalid(
                "format",
                format!("not an Agora dashboards export (expected format {FORMAT:?}, version {VERSION})"),
            ));
        }
        let mut seen = std::collections::HashSet::new();
        for (n, exported) in file.dashboards.iter().enumerate() {
            let r = &exported.record;
            let refuse = |why: String| {
                ApiError::invalid(format!("dashboards[{n}]"), format!("dashboard {} ({:?}) cannot be imported: {why}", r.id, r.title))
            };
            if !valid_id(&r.id) {
                return Err(refuse("its id must be 16 hex digits".into()));
            }
            if !seen.insert(r.id.clone()) {
                return Err(refuse("the file holds this id twice".into()));
            }
            self.check(&r.title, &r.description, &r.panels)
                .map_err(|e| refuse(format!("{}: {}", e.field.unwrap_or_default(), e.message)))?;
            self.encode(r).map_err(|e| refuse(e.message))?;
            match self.accounts.get(&r.owner).await {
                Ok(_) => {}
                Err(crate::accounts::AccountError::NotFound) => {
                    return Err(refuse(format!("its owner (user id {}) has no account on this hub", r.owner)));
                }
                Err(other) => return Err(other.to_api()),
            }
        }
        let mut report = ImportReport::default();
        let total = file.dashboards.len() as u64;
        for (done, exported) in file.dashboards.into_iter().enumerate() {
            let id = exported.record.id.clone();
            let existing = match load(&self.storage, &id).await {
                Ok(stored) => Some(stored),
                Err(err) if err.kind == ErrorKind::NotFound => None,
                Err(err) => return Err(err),
            };
            let same = existing
                .as_ref()
                .is_some_and(|s| s.record == exported.record && s.whitelisted == exported.whitelisted && s.protected == exported.protected);
            if same {
                report.unchanged += 1;
            } else {
                // Protected implies whitelisted, whatever the file says.
                let whitelisted = exported.whitelisted || exported.protected;
                let tags = flag_tags(whitelisted, exported.protected);
                let (version, bytes) = self.write(&exported.record, None, tags).await?;
                let stored = Stored { record: exported.record, version, whitelisted, protected: exported.protected, bytes };
                let last_used = last_seen(&self.storage, &id).await;
                self.index.changed(vec![Op::Dashboard(stored.index_doc(last_used))]).await;
                if existing.is_some() {
                    report.updated += 1;
                } else {
                    report.created += 1;
                }
            }
            progress(done as u64 + 1, total);
        }
        self.enforce_budget_or_log().await;
        Ok(report)
    }
}
