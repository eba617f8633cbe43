//! API keys for scripts: `agk_<id>_<secret>`, shown once, stored as the
//! SHA-256 of the secret (keys are random, so a fast hash is the right one),
//! scoped to datasets, optionally expiring, revocable.
//!
//! ```text
//! sys/keys/{id}.json              the key's record
//! sys/user-keys/{owner}/{id}      empty marker: lists a user's keys by prefix
//! ```

use bytes::Bytes;
use rand::distr::{Alphanumeric, SampleString};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{unix_now as now, AccountError, Accounts};
use crate::secret::Secret;
use crate::storage::{PutOptions, StorageError, WriteCondition};

pub const KEY_PREFIX: &str = "agk_";
const ID_LEN: usize = 12;
const SECRET_LEN: usize = 40;
pub const NAME_MAX: usize = 100;

use agora_model::accounts::ApiKeyView;
pub use agora_model::accounts::{Access, Scope};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApiKeyRecord {
    pub id: String,
    pub owner: String,
    pub name: String,
    pub scopes: Vec<Scope>,
    /// Hex SHA-256 of the secret part.
    pub secret_sha256: String,
    pub created_at: i64,
    pub expires_at: Option<i64>,
    pub last_used_at: Option<i64>,
    pub revoked: bool,
}

/// `last_used_at` is written at most this often per key.
const TOUCH_EVERY_SECS: i64 = 60;

impl ApiKeyRecord {
    pub fn view(&self) -> ApiKeyView {
        ApiKeyView {
            id: self.id.clone(),
            prefix: self.prefix(),
            name: self.name.clone(),
            scopes: self.scopes.clone(),
            created_at: self.created_at,
            expires_at: self.expires_at,
            last_used_at: self.last_used_at,
            revoked: self.revoked,
        }
    }

    /// The part people see in lists: enough to recognise, useless to use.
    pub fn prefix(&self) -> String {
        format!("{KEY_PREFIX}{}", self.id)
    }

    /// The strongest access this key grants to `dataset_id`.
    pub fn access_to(&self, dataset_id: &str) -> Option<Access> {
        self.scopes
            .iter()
            .filter_map(|scope| match scope {
                Scope::AllDatasets { access } => Some(*access),
                Scope::Dataset { dataset_id: id, access } if id == dataset_id => Some(*access),
                Scope::Dataset { .. } => None,
            })
            .max_by_key(|a| matches!(a, Access::ReadWrite))
    }
}

fn record_key(id: &str) -> String {
    format!("sys/keys/{id}.json")
}

fn owner_marker(owner: &str, id: &str) -> String {
    format!("sys/user-keys/{owner}/{id}")
}

fn sha256_hex(s: &str) -> String {
    hex::encode(Sha256::digest(s.as_bytes()))
}

/// Equal-length comparison whose time does not depend on where they differ.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Splits `agk_<id>_<secret>`; `None` for anything else.
fn parse(key: &str) -> Option<(&str, &str)> {
    let rest = key.strip_prefix(KEY_PREFIX)?;
    let (id, secret) = rest.split_once('_')?;
    let well_formed = id.len() == ID_LEN
        && id.bytes().all(|b| b.is_ascii_hexdigit())
        && secret.len() == SECRET_LEN
        && secret.bytes().all(|b| b.is_ascii_alphanumeric());
    well_formed.then_some((id, secret))
}

impl Accounts {
    /// Creates a key; returns its record and the full key, which is never
    /// stored and cannot be shown again.
    pub async fn create_api_key(
        &self,
        owner: &str,
        name: &str,
        scopes: Vec<Scope>,
        expires_at: Option<i64>,
    ) -> Result<(ApiKeyRecord, Secret<String>), AccountError> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > NAME_MAX {
            return Err(AccountError::Invalid(agora_model::ApiError::invalid("name", format!("must be 1 to {NAME_MAX} characters long"))));
        }
        for scope in &scopes {
            if let Scope::Dataset { dataset_id, .. } = scope {
                let well_formed =
                    (1..=64).contains(&dataset_id.len()) && dataset_id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
                if !well_formed {
                    return Err(AccountError::Invalid(agora_model::ApiError::invalid(
                        "scopes",
                        format!("{dataset_id:?} is not a dataset id (1 to 64 letters, digits, - or _)"),
                    )));
                }
            }
        }
        if scopes.is_empty() {
            return Err(AccountError::Invalid(agora_model::ApiError::invalid(
                "scopes",
                "choose at least one dataset, or all of your datasets",
            )));
        }
        if expires_at.is_some_and(|at| at <= now()) {
            return Err(AccountError::Invalid(agora_model::ApiError::invalid("expires_at", "must be in the future")));
        }
        self.get(owner).await?;
        let (id, secret) = {
            let mut rng = rand::rng();
            (hex::encode(rand::Rng::random::<[u8; ID_LEN / 2]>(&mut rng)), Alphanumeric.sample_string(&mut rng, SECRET_LEN))
        };
        let record = ApiKeyRecord {
            id: id.clone(),
            owner: owner.to_owned(),
            name: name.to_owned(),
            scopes,
            secret_sha256: sha256_hex(&secret),
            created_at: now(),
            expires_at,
            last_used_at: None,
            revoked: false,
        };
        let json = serde_json::to_vec(&record).map_err(|e| AccountError::Internal(e.to_string()))?;
        let create =
            PutOptions { condition: Some(WriteCondition::Create), content_type: Some("application/json".into()), ..Default::default() };
        self.storage.put(&record_key(&id), Bytes::from(json), create.clone()).await.map_err(AccountError::Storage)?;
        self.storage.put(&owner_marker(owner, &id), Bytes::new(), create).await.map_err(AccountError::Storage)?;
        Ok((record, Secret::new(format!("{KEY_PREFIX}{id}_{secret}"))))
    }

    /// The owner's keys, newest first (revoked ones included, marked).
    pub async fn list_api_keys(&self, owner: &str) -> Result<Vec<ApiKeyRecord>, AccountError> {
        let markers = self.storage.list_all(&format!("sys/user-keys/{owner}/")).await.map_err(AccountError::Storage)?;
        let mut keys = Vec::with_capacity(markers.len());
        for marker in &markers {
            let id = marker.key.rsplit('/').next().unwrap_or_default();
            match self.load_key(id).await {
                Ok(record) => keys.push(record),
                Err(AccountError::NotFound) => {}
                Err(other) => return Err(other),
            }
        }
        keys.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(a.id.cmp(&b.id)));
        Ok(keys)
    }

    /// Revokes one of the owner's keys. Another user's key is "not found".
    pub async fn revoke_api_key(&self, owner: &str, id: &str) -> Result<(), AccountError> {
        let record = self.load_key(id).await?;
        if record.owner != owner {
            return Err(AccountError::NotFound);
        }
        self.storage
            .update(&record_key(id), 10, |current| {
                let current = current.ok_or(StorageError::NotFound)?;
                let mut record: ApiKeyRecord = serde_json::from_slice(current).map_err(|e| StorageError::Other(e.to_string()))?;
                record.revoked = true;
                Ok(Bytes::from(serde_json::to_vec(&record).map_err(|e| StorageError::Other(e.to_string()))?))
            })
            .await
            .map_err(AccountError::from_storage)?;
        Ok(())
    }

    /// The key's record if `key` is a live key: well-formed, known, secret
    /// matching (in constant time), not revoked, not expired. Every failure
    /// is `BadCredentials`.
    pub async fn verify_api_key(&self, key: &str) -> Result<ApiKeyRecord, AccountError> {
        let (id, secret) = parse(key).ok_or(AccountError::BadCredentials)?;
        let record = match self.load_key(id).await {
            Ok(record) => record,
            Err(AccountError::NotFound) => return Err(AccountError::BadCredentials),
            Err(other) => return Err(other),
        };
        let matches = constant_time_eq(sha256_hex(secret).as_bytes(), record.secret_sha256.as_bytes());
        let live = !record.revoked && record.expires_at.is_none_or(|at| at > now());
        if !(matches && live) {
            return Err(AccountError::BadCredentials);
        }
        Ok(record)
    }

    /// The key's record as it stands now, if the key `record` was read
    /// from is still live: not revoked, not expired, not replaced.
    pub async fn recheck_api_key(&self, record: &ApiKeyRecord) -> Result<ApiKeyRecord, AccountError> {
        let current = match self.load_key(&record.id).await {
            Ok(current) => current,
            Err(AccountError::NotFound) => return Err(AccountError::BadCredentials),
            Err(other) => return Err(other),
        };
        let same = constant_time_eq(current.secret_sha256.as_bytes(), record.secret_sha256.as_bytes()) && current.owner == record.owner;
        let live = !current.revoked && current.expires_at.is_none_or(|at| at > now());
        if !(same && live) {
            return Err(AccountError::BadCredentials);
        }
        Ok(current)
    }

    /// Records that a key was used, at most once a minute per key; a
    /// failure is logged, never the caller's problem.
    pub async fn touch_api_key(&self, record: &ApiKeyRecord) {
        let now = now();
        if record.last_used_at.is_some_and(|at| now - at < TOUCH_EVERY_SECS) {
            return;
        }
        let touched = self
            .storage
            .update(&record_key(&record.id), 3, |current| {
                let current = current.ok_or(StorageError::NotFound)?;
                let mut record: ApiKeyRecord = serde_json::from_slice(current).map_err(|e| StorageError::Other(e.to_string()))?;
                record.last_used_at = Some(now);
                Ok(Bytes::from(serde_json::to_vec(&record).map_err(|e| StorageError::Other(e.to_string()))?))
            })
            .await;
        if let Err(err) = touched {
            tracing::debug!(key = %record.prefix(), error = %err, "could not record the key's last use");
        }
    }

    async fn load_key(&self, id: &str) -> Result<ApiKeyRecord, AccountError> {
        if id.len() != ID_LEN || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(AccountError::NotFound);
        }
        let object = self.storage.get(&record_key(id), None).await.map_err(AccountError::from_storage)?;
        serde_json::from_slice(&object.body).map_err(|e| AccountError::Internal(format!("key record {id} is unreadable: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_well_formed_keys_parse() {
        let secret = "a".repeat(SECRET_LEN);
        assert_eq!(parse(&format!("agk_0123456789ab_{secret}")), Some(("0123456789ab", secret.as_str())));
        for bad in [
            String::new(),
            "agk_".into(),
            format!("agk_0123456789ab_{}", "a".repeat(SECRET_LEN - 1)),
            format!("agk_0123456789aX_{secret}"),
            format!("agk_../../etc/x_{secret}"),
            format!("xyz_0123456789ab_{secret}"),
        ] {
            assert_eq!(parse(&bad), None, "{bad}");
        }
    }

    #[test]
    fn scopes_grant_the_strongest_matching_access() {
        let record = |scopes| ApiKeyRecord {
            id: "x".into(),
            owner: "o".into(),
            name: "n".into(),
            scopes,
            secret_sha256: String::new(),
            created_at: 0,
            expires_at: None,
            last_used_at: None,
            revoked: false,
        };
        let one = record(vec![Scope::Dataset { dataset_id: "d1".into(), access: Access::Read }]);
        assert_eq!(one.access_to("d1"), Some(Access::Read));
        assert_eq!(one.access_to("d2"), None);
        let mixed = record(vec![
            Scope::AllDatasets { access: Access::Read },
            Scope::Dataset { dataset_id: "d2".into(), access: Access::ReadWrite },
        ]);
        assert_eq!(mixed.access_to("d1"), Some(Access::Read));
        assert_eq!(mixed.access_to("d2"), Some(Access::ReadWrite));
    }

    #[test]
    fn constant_time_eq_is_equality() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }
}
