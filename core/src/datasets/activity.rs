//! A dataset's activity log: who uploaded, labelled, shared or changed what,
//! and when. Each entry is one small object, keyed so that a listing returns
//! the newest first:
//!
//! ```text
//! ds/{id}/events/{u64::MAX - nanoseconds, 20 digits}-{random}.json
//! ```
//!
//! Writing an entry never fails the action it records: a failure is logged.

use agora_model::datasets::ActivityEntry;
use bytes::Bytes;

use super::{DatasetError, Datasets};
use crate::auth::access::{authorize, Need};
use crate::auth::caller::{Caller, Identity};
use crate::storage::{ListOptions, PutOptions};

/// Entries shown on the dataset page.
pub const RECENT: usize = 50;

fn events_prefix(id: &str) -> String {
    format!("ds/{id}/events/")
}

/// How the log names the caller.
fn who(caller: &Caller) -> String {
    match &caller.identity {
        Identity::Session { user, .. } => user.username.clone(),
        Identity::ApiKey { user, key } => format!("{} (API key {})", user.username, key.name),
        Identity::Anonymous => "someone".into(),
    }
}

impl Datasets {
    /// Appends `what` to the dataset's log as done by the caller.
    pub(super) async fn record(&self, caller: &Caller, id: &str, what: String) {
        let now = time::OffsetDateTime::now_utc();
        let nanos = u64::try_from(now.unix_timestamp_nanos()).unwrap_or(0);
        let key = format!("{}{:020}-{}.json", events_prefix(id), u64::MAX - nanos, &crate::accounts::random_id()[..8]);
        let entry = ActivityEntry { at: now.unix_timestamp(), who: who(caller), what };
        let written = match serde_json::to_vec(&entry) {
            Ok(json) => self.storage.put(&key, Bytes::from(json), PutOptions::default()).await.map(drop).map_err(|e| e.to_string()),
            Err(err) => Err(err.to_string()),
        };
        if let Err(err) = written {
            tracing::warn!(dataset = %id, error = %err, "could not write an activity entry");
        }
        self.index.notify(id).await;
    }

    /// Notices (dataset ids) of changes to this dataset, for a live page.
    pub async fn watch(&self, caller: &Caller, id: &str) -> Result<tokio::sync::broadcast::Receiver<String>, DatasetError> {
        self.check_read(caller, id).await?;
        Ok(self.index.subscribe())
    }

    /// Whether `caller` may read the dataset (a live stream's periodic check).
    pub async fn check_read(&self, caller: &Caller, id: &str) -> Result<(), DatasetError> {
        let record = self.load(id).await?;
        authorize(caller, &record.resource(), Need::Read).map_err(DatasetError::Api)
    }

    /// The newest entries first, for whoever may read the dataset.
    pub async fn activity(&self, caller: &Caller, id: &str) -> Result<Vec<ActivityEntry>, DatasetError> {
        let record = self.load(id).await?;
        authorize(caller, &record.resource(), Need::Read).map_err(DatasetError::Api)?;
        let page =
            self.storage.list(&ListOptions { prefix: events_prefix(id), max_keys: Some(RECENT as i32), ..Default::default() }).await?;
        let mut entries = Vec::with_capacity(page.objects.len());
        for object in &page.objects {
            if let Ok(found) = self.storage.get(&object.key, None).await {
                if let Ok(entry) = serde_json::from_slice::<ActivityEntry>(&found.body) {
                    entries.push(entry);
                }
            }
        }
        Ok(entries)
    }
}
