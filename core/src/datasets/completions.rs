//! Completions of one dataset take turns, on every node sharing the bucket.
//!
//! ```text
//! ds/{id}/completing.json   the claims of completions in flight (and just landed)
//! ```
//!
//! Checking the quota and "does this path exist yet?" and then putting the
//! file in place are separate storage calls, so two completions side by side
//! could each pass the checks and together break them: two uploads filling
//! the last free gigabyte twice, or two `replace: false` uploads to one path
//! both answering 200. So a completion first **claims** its bytes and path in
//! this object, changed only by read-modify-write with `If-Match`. A claim is
//! refused while another one in flight holds the same path (unless both
//! replace it), or when the bytes of every claim together would pass the
//! quota. The checks that follow the claim (does the path exist?) then see
//! every completion that claimed before it, landed or not.
//!
//! On one node, completions of a dataset also take turns at the claims
//! ([`LedgerTurns`]): they would otherwise all read one version, all but
//! one write would be refused, and each retry would back off. Only other
//! nodes' writes can then make an attempt start again.
//!
//! A landed claim stays for [`SETTLE`] when it landed on another node: that
//! node's index may not have reached this one yet, so its bytes count here
//! until it has. A claim whose node crashed mid-completion lapses after
//! [`LAPSE`].

use agora_model::files::human_bytes;
use agora_model::ApiError;
use bytes::Bytes;
use serde::{Deserialize, Serialize};

use super::{DatasetError, DatasetRecord, Datasets};
use crate::accounts::unix_now;
use crate::storage::{PutOptions, StorageError, WriteCondition};

/// How long a claim in flight holds (a completion copies at most 5 GiB
/// inside storage, which takes well under this).
const LAPSE: i64 = 15 * 60;

/// How long a landed claim keeps counting on the other nodes (their index
/// follows the journal every half second).
const SETTLE: i64 = 60;

/// Attempts at the read-modify-write before giving up (busy datasets).
const ATTEMPTS: u32 = 16;

/// One turn per dataset at a time for this node's claims.
#[derive(Default)]
pub(super) struct LedgerTurns(std::sync::Mutex<std::collections::HashMap<String, std::sync::Arc<tokio::sync::Mutex<()>>>>);

impl LedgerTurns {
    async fn take(&self, id: &str) -> tokio::sync::OwnedMutexGuard<()> {
        let turn = {
            let mut turns = self.0.lock().unwrap_or_else(|e| e.into_inner());
            // Datasets nobody is completing to any more are forgotten.
            turns.retain(|_, turn| std::sync::Arc::strong_count(turn) > 1);
            std::sync::Arc::clone(turns.entry(id.to_owned()).or_default())
        };
        turn.lock_owned().await
    }
}

fn ledger_key(id: &str) -> String {
    format!("ds/{id}/completing.json")
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct Ledger {
    claims: Vec<Claim>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Claim {
    upload: String,
    path: String,
    /// Bytes the dataset gains when it lands (a replaced file's are taken off).
    delta: i64,
    /// `replace: false`: nothing else may complete to the path meanwhile.
    exclusive: bool,
    node: String,
    at: i64,
    #[serde(default)]
    landed_at: Option<i64>,
}

impl Claim {
    fn live(&self, now: i64) -> bool {
        match self.landed_at {
            None => now - self.at < LAPSE,
            Some(landed) => now - landed < SETTLE,
        }
    }

    /// Whether its bytes are not yet in this node's index.
    fn counts_on(&self, node: &str) -> bool {
        self.landed_at.is_none() || self.node != node
    }
}

/// What a completion wants to claim.
pub(super) struct Wanted<'a> {
    pub upload: &'a str,
    pub path: &'a str,
    pub size: u64,
    pub replaced: u64,
    pub exclusive: bool,
}

impl Datasets {
    fn node(&self) -> String {
        self.index.journal().map(|j| j.node().to_owned()).unwrap_or_else(|| "local".into())
    }

    /// Claims a completion's bytes and path, or says why not: another
    /// upload to the path is completing (409), or the claims together would
    /// pass the quota (413).
    ///
    /// Each attempt reads the claims, then the dataset's bytes from the
    /// index, then writes the claims back only if they did not change. A
    /// completion indexes its file before it ends its claim, so whatever
    /// ended before the claims were read is in the index read after them,
    /// and whatever ends later changes the claims and makes this attempt
    /// start again. A refusal is given only if the claims it was decided on
    /// are still the current ones.
    pub(super) async fn claim_completion(&self, record: &DatasetRecord, wanted: Wanted<'_>) -> Result<(), DatasetError> {
        let _turn = self.ledger_turns.take(&record.id).await;
        let node = self.node();
        let key = ledger_key(&record.id);
        let delta = wanted.size as i64 - wanted.replaced as i64;
        for attempt in 0..ATTEMPTS {
            if attempt > 0 {
                tokio::time::sleep(std::time::Duration::from_millis(5 << attempt.min(6))).await;
            }
            let (current, condition) = match self.storage.get(&key, None).await {
                Ok(object) => (Some(object.body), WriteCondition::Match(object.info.etag)),
                Err(StorageError::NotFound) => (None, WriteCondition::Create),
                Err(other) => return Err(other.into()),
            };
            let used = self.used_bytes(&record.id).await?;
            let now = unix_now();
            let mut ledger = read(current.as_ref());
            ledger.claims.retain(|c| c.live(now) && c.upload != wanted.upload);
            let busy = ledger.claims.iter().any(|c| c.landed_at.is_none() && c.path == wanted.path && (c.exclusive || wanted.exclusive));
            let others: i64 = ledger.claims.iter().filter(|c| c.counts_on(&node)).map(|c| c.delta).sum();
            let after = (used as i64 + others + delta).max(0) as u64;
            let refusal = if busy {
                Some(DatasetError::Api(ApiError::conflict(
                    "path",
                    format!("another upload to {} is being completed right now; complete this one again in a moment", wanted.path),
                )))
            } else if after > self.limits.max_bytes {
                Some(self.over_quota(record, after))
            } else {
                None
            };
            if let Some(refusal) = refusal {
                if self.unchanged(&key, &condition).await? {
                    return Err(refusal);
                }
                continue;
            }
            ledger.claims.push(Claim {
                upload: wanted.upload.to_owned(),
                path: wanted.path.to_owned(),
                delta,
                exclusive: wanted.exclusive,
                node: node.clone(),
                at: now,
                landed_at: None,
            });
            let options = PutOptions { condition: Some(condition), content_type: Some("application/json".into()), ..Default::default() };
            match self.storage.put(&key, write(&ledger)?, options).await {
                Ok(_) => return Ok(()),
                Err(StorageError::PreconditionFailed) => continue,
                Err(other) => return Err(other.into()),
            }
        }
        Err(DatasetError::Api(ApiError::new(
            agora_model::ErrorKind::Unavailable,
            "too many uploads to this dataset are being completed at once; complete again in a moment",
        )))
    }

    /// Whether the claims are still the version `read` was made on.
    async fn unchanged(&self, key: &str, read: &WriteCondition) -> Result<bool, DatasetError> {
        match (self.storage.head(key).await, read) {
            (Ok(info), WriteCondition::Match(etag)) => Ok(info.etag == *etag),
            (Err(StorageError::NotFound), WriteCondition::Create) => Ok(true),
            (Ok(_), _) | (Err(StorageError::NotFound), _) => Ok(false),
            (Err(other), _) => Err(other.into()),
        }
    }

    /// Ends a claim: kept for a while if it landed (see [`SETTLE`]), dropped
    /// if it did not. A failure only leaves the claim to lapse.
    pub(super) async fn release_completion(&self, id: &str, upload: &str, landed: bool) {
        let _turn = self.ledger_turns.take(id).await;
        let outcome = self
            .storage
            .update(&ledger_key(id), ATTEMPTS, |current| {
                let now = unix_now();
                let mut ledger = read(current);
                ledger.claims.retain(|c| c.live(now));
                match ledger.claims.iter_mut().position(|c| c.upload == upload) {
                    Some(at) if landed => ledger.claims[at].landed_at = Some(now),
                    Some(at) => {
                        ledger.claims.remove(at);
                    }
                    None => {}
                }
                write(&ledger)
            })
            .await;
        if let Err(err) = outcome {
            tracing::warn!(dataset = %id, error = %err, "could not end a completion's claim; it lapses by itself");
        }
    }

    /// The quota refusal: what the dataset would hold, and its quota.
    pub(super) fn over_quota(&self, record: &DatasetRecord, after: u64) -> DatasetError {
        DatasetError::Api(ApiError::new(
            agora_model::ErrorKind::TooLarge,
            format!(
                "this upload would bring “{}” to {}, over its quota of {} (AGORA_MAX_DATASET_BYTES); delete files or ask an administrator",
                record.name,
                human_bytes(after),
                human_bytes(self.limits.max_bytes)
            ),
        ))
    }
}

/// A ledger that cannot be read is started again: claims only ever guard
/// for minutes, and an unreadable one guards nothing.
fn read(current: Option<&Bytes>) -> Ledger {
    current.and_then(|bytes| serde_json::from_slice(bytes).ok()).unwrap_or_default()
}

fn write(ledger: &Ledger) -> Result<Bytes, StorageError> {
    serde_json::to_vec(ledger).map(Bytes::from).map_err(|e| StorageError::Other(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claim(node: &str, at: i64, landed_at: Option<i64>) -> Claim {
        Claim { upload: "u".into(), path: "p".into(), delta: 1, exclusive: true, node: node.into(), at, landed_at }
    }

    #[test]
    fn claims_lapse_and_landed_ones_count_only_elsewhere() {
        assert!(claim("a", 0, None).live(LAPSE - 1));
        assert!(!claim("a", 0, None).live(LAPSE));
        assert!(claim("a", 0, Some(10)).live(10 + SETTLE - 1));
        assert!(!claim("a", 0, Some(10)).live(10 + SETTLE));
        assert!(claim("a", 0, None).counts_on("a"), "in flight counts everywhere");
        assert!(!claim("a", 0, Some(1)).counts_on("a"), "landed here: this index has it");
        assert!(claim("a", 0, Some(1)).counts_on("b"), "landed elsewhere: this index may not have it yet");
    }
}
