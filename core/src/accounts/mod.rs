//! User accounts in the bucket.
//!
//! ```text
//! sys/users/{user_id}.json     the record: profile, argon2id hash, role, token version
//! sys/names/{username}         -> user_id, created once (If-None-Match: *)
//! sys/emails/{sha256(email)}   -> user_id, created once
//! sys/admin-claimed            exists once the hub has had an administrator
//! sys/jobs/{job_id}.json       a background job, e.g. an account deletion
//! ```
//!
//! Unique names are claimed with create-once writes, so two nodes racing to
//! register the same name cannot both win. Records change by read-modify-write
//! with `If-Match`.

pub mod api_keys;
pub mod deletion;
mod error;
pub mod profile;
pub mod setup;
pub mod verification;

pub use agora_model::accounts::Role;
use agora_model::accounts::{normalize_email, normalize_username, validate_password, Preferences, UserView};
use bytes::Bytes;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::auth::password;
use crate::secret::Secret;
use crate::storage::{PutOptions, Storage, StorageError, WriteCondition};
pub use error::AccountError;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserRecord {
    pub id: String,
    pub username: String,
    pub email: String,
    pub email_verified: bool,
    /// argon2id PHC string.
    pub password_hash: String,
    pub role: Role,
    /// Bumped by logout-everywhere and password changes: older tokens die.
    pub token_version: u32,
    pub disabled: bool,
    /// Unix seconds.
    pub created_at: i64,
    #[serde(default)]
    pub preferences: Preferences,
    /// A new address waiting for its verification link to be opened; the
    /// current one stays in use until then.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending_email: Option<String>,
    /// Set once deletion was asked for: the account is gone for every purpose
    /// while the job removes what it owned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deletion_job: Option<String>,
}

impl UserRecord {
    pub fn view(&self) -> UserView {
        UserView {
            id: self.id.clone(),
            username: self.username.clone(),
            email: self.email.clone(),
            email_verified: self.email_verified,
            pending_email: self.pending_email.clone(),
            role: self.role,
            disabled: self.disabled,
            created_at: self.created_at,
            preferences: self.preferences,
        }
    }

    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }

    /// Whether the account may act at all (log in, use its tokens and keys).
    pub fn check_active(&self) -> Result<(), AccountError> {
        if self.deletion_job.is_some() {
            return Err(AccountError::Deleted);
        }
        if self.disabled {
            return Err(AccountError::Disabled);
        }
        Ok(())
    }
}

/// What registration needs.
pub struct Registration {
    pub username: String,
    pub email: String,
    pub password: Secret<String>,
    /// Make this the hub's first administrator (the caller checked the
    /// setup code). Refused with `Conflict` on `setup_code` once the hub
    /// has had one.
    pub first_admin: bool,
}

fn user_key(id: &str) -> String {
    format!("sys/users/{id}.json")
}

fn name_key(username: &str) -> String {
    format!("sys/names/{username}")
}

fn email_key(email: &str) -> String {
    format!("sys/emails/{}", hex::encode(Sha256::digest(email.to_lowercase().as_bytes())))
}

const ADMIN_CLAIM: &str = "sys/admin-claimed";

/// User metadata on a claim: when it was made (Unix seconds).
const CLAIMED_AT: &str = "claimed-at";
/// A claim without a user record this old was left by a registration that
/// died half-way; it may be taken over.
const ORPHAN_CLAIM_SECS: i64 = 15 * 60;

/// What a claim object stands for, so a stale one can be recognised.
#[derive(Clone, Copy)]
enum Claim<'a> {
    Username(&'a str),
    Email(&'a str),
    /// Never taken over (the first-admin marker).
    Permanent,
}

#[derive(Clone)]
pub struct Accounts {
    storage: Storage,
}

impl Accounts {
    pub fn new(storage: Storage) -> Self {
        Self { storage }
    }

    /// Registers an account (unverified), an administrator only when
    /// `first_admin` is asked for and the hub never had one (see [`setup`]).
    /// Fails with `Conflict` naming the field when the username or email is
    /// taken; a failure leaves no claim behind.
    pub async fn register(&self, registration: Registration) -> Result<UserRecord, AccountError> {
        let username = normalize_username(&registration.username).map_err(AccountError::Invalid)?;
        let email = normalize_email(&registration.email).map_err(AccountError::Invalid)?;
        validate_password(registration.password.expose(), &username).map_err(AccountError::Invalid)?;
        let password_hash = password::hash(registration.password).await.map_err(|e| AccountError::Internal(e.to_string()))?;
        let id = random_id();

        self.claim(&name_key(&username), &id, Claim::Username(&username))
            .await
            .map_err(|e| e.taken("username", "this username is taken"))?;
        if let Err(err) = self.claim(&email_key(&email), &id, Claim::Email(&email)).await {
            self.release(&name_key(&username)).await;
            return Err(err.taken("email", "an account with this email address already exists"));
        }
        let first = registration.first_admin;
        if first {
            if let Err(err) = self.claim(ADMIN_CLAIM, &id, Claim::Permanent).await {
                self.release(&name_key(&username)).await;
                self.release(&email_key(&email)).await;
                return Err(err.taken("setup_code", setup::ALREADY_SET_UP));
            }
        }
        let record = UserRecord {
            id: id.clone(),
            username: username.clone(),
            email: email.clone(),
            email_verified: false,
            password_hash,
            role: if first { Role::Admin } else { Role::User },
            token_version: 0,
            disabled: false,
            created_at: unix_now(),
            preferences: Preferences::default(),
            pending_email: None,
            deletion_job: None,
        };
        let json = serde_json::to_vec(&record).map_err(|e| AccountError::Internal(e.to_string()))?;
        let create =
            PutOptions { condition: Some(WriteCondition::Create), content_type: Some("application/json".into()), ..Default::default() };
        if let Err(err) = self.storage.put(&user_key(&id), Bytes::from(json), create).await {
            self.release(&name_key(&username)).await;
            self.release(&email_key(&email)).await;
            if first {
                self.release(ADMIN_CLAIM).await;
            }
            return Err(AccountError::Storage(err));
        }
        Ok(record)
    }

    /// Whether the hub has had an administrator (the setup code is dead).
    pub async fn has_had_admin(&self) -> Result<bool, AccountError> {
        match self.storage.head(ADMIN_CLAIM).await {
            Ok(_) => Ok(true),
            Err(StorageError::NotFound) => Ok(false),
            Err(other) => Err(AccountError::Storage(other)),
        }
    }

    /// Marks the hub as having had an administrator (when one is made
    /// other than with the setup code), so the code stops working.
    pub(crate) async fn mark_admin_made(&self, id: &str) -> Result<(), AccountError> {
        match self.claim(ADMIN_CLAIM, id, Claim::Permanent).await {
            Ok(()) | Err(AccountError::Taken) => Ok(()),
            Err(other) => Err(other),
        }
    }

    pub async fn get(&self, id: &str) -> Result<UserRecord, AccountError> {
        if !id.bytes().all(|b| b.is_ascii_hexdigit()) || id.len() != 32 {
            return Err(AccountError::NotFound);
        }
        let object = self.storage.get(&user_key(id), None).await.map_err(AccountError::from_storage)?;
        serde_json::from_slice(&object.body).map_err(|e| AccountError::Internal(format!("user record {id} is unreadable: {e}")))
    }

    /// The account holding this username now (a claim left behind by a
    /// rename that crashed half-way does not count).
    pub async fn find_by_username(&self, username: &str) -> Result<UserRecord, AccountError> {
        let username = normalize_username(username).map_err(|_| AccountError::NotFound)?;
        let user = self.claim_holder(&name_key(&username)).await?;
        if user.username != username {
            return Err(AccountError::NotFound);
        }
        Ok(user)
    }

    pub async fn find_by_email(&self, email: &str) -> Result<UserRecord, AccountError> {
        let email = normalize_email(email).map_err(|_| AccountError::NotFound)?;
        let user = self.claim_holder(&email_key(&email)).await?;
        if !user.email.eq_ignore_ascii_case(&email) {
            return Err(AccountError::NotFound);
        }
        Ok(user)
    }

    /// By username, or by email address when it contains `@`.
    pub async fn find(&self, account: &str) -> Result<UserRecord, AccountError> {
        if account.contains('@') {
            self.find_by_email(account).await
        } else {
            self.find_by_username(account).await
        }
    }

    async fn claim_holder(&self, key: &str) -> Result<UserRecord, AccountError> {
        let id = self.storage.get(key, None).await.map_err(AccountError::from_storage)?;
        let id = String::from_utf8(id.body.to_vec()).map_err(|_| AccountError::Internal("a claim is not UTF-8".into()))?;
        self.get(&id).await
    }

    /// Every account, by username (for the admin page).
    pub async fn list(&self) -> Result<Vec<UserRecord>, AccountError> {
        let listed = self.storage.list_all("sys/users/").await.map_err(AccountError::Storage)?;
        let ids: Vec<&str> = listed.iter().filter_map(|o| o.key.strip_prefix("sys/users/")?.strip_suffix(".json")).collect();
        let mut users = Vec::with_capacity(ids.len());
        for user in futures::future::join_all(ids.iter().map(|id| self.get(id))).await {
            match user {
                Ok(user) => users.push(user),
                Err(AccountError::NotFound) => {}
                Err(other) => return Err(other),
            }
        }
        users.sort_by(|a, b| a.username.cmp(&b.username));
        Ok(users)
    }

    /// Checks a username and password. Every failure to match — unknown
    /// user, wrong password — is the same `BadCredentials` and costs the same
    /// work. A disabled or unverified account is told apart only after the
    /// password matched.
    pub async fn authenticate(&self, username: &str, password: Secret<String>) -> Result<UserRecord, AccountError> {
        let user = match self.find_by_username(username).await {
            Ok(user) => Some(user),
            Err(AccountError::NotFound) => None,
            Err(other) => return Err(other),
        };
        let stored = user.as_ref().map(|u| u.password_hash.clone());
        if !password::verify(password, stored).await {
            return Err(AccountError::BadCredentials);
        }
        let user = user.ok_or(AccountError::BadCredentials)?;
        user.check_active()?;
        if !user.email_verified {
            return Err(AccountError::Unverified);
        }
        Ok(user)
    }

    /// Changes a record with optimistic concurrency; returns the new record.
    pub async fn update(&self, id: &str, change: impl Fn(&mut UserRecord) -> Result<(), AccountError>) -> Result<UserRecord, AccountError> {
        let mut result: Option<UserRecord> = None;
        let mut failure: Option<AccountError> = None;
        let outcome = self
            .storage
            .update(&user_key(id), 10, |current| {
                let Some(current) = current else {
                    failure = Some(AccountError::NotFound);
                    return Err(StorageError::NotFound);
                };
                let mut record: UserRecord = serde_json::from_slice(current).map_err(|e| StorageError::Other(e.to_string()))?;
                if let Err(err) = change(&mut record) {
                    failure = Some(err);
                    return Err(StorageError::Invalid("refused".into()));
                }
                let json = serde_json::to_vec(&record).map_err(|e| StorageError::Other(e.to_string()))?;
                result = Some(record);
                Ok(Bytes::from(json))
            })
            .await;
        match (outcome, failure, result) {
            (Ok(_), _, Some(record)) => Ok(record),
            (Err(_), Some(failure), _) => Err(failure),
            (Err(err), None, _) => Err(AccountError::from_storage(err)),
            (Ok(_), _, None) => Err(AccountError::Internal("the update produced no record".into())),
        }
    }

    /// Claims `key` for `id` with a create-once write. A claim whose holder
    /// no longer has that name or address (left by a rename or deletion that
    /// stopped half-way) is taken over, conditioned on its ETag.
    async fn claim(&self, key: &str, id: &str, what: Claim<'_>) -> Result<(), AccountError> {
        let stamped = |condition| PutOptions {
            condition: Some(condition),
            metadata: vec![(CLAIMED_AT.into(), unix_now().to_string())],
            ..Default::default()
        };
        match self.storage.put(key, Bytes::from(id.to_owned()), stamped(WriteCondition::Create)).await {
            Ok(_) => return Ok(()),
            Err(StorageError::PreconditionFailed) => {}
            Err(other) => return Err(AccountError::Storage(other)),
        }
        if matches!(what, Claim::Permanent) {
            return Err(AccountError::Taken);
        }
        let current = match self.storage.get(key, None).await {
            Ok(current) => current,
            Err(StorageError::NotFound) => return Box::pin(self.claim(key, id, what)).await,
            Err(other) => return Err(AccountError::Storage(other)),
        };
        let holder = String::from_utf8_lossy(&current.body).into_owned();
        let still_held = match self.get(&holder).await {
            Ok(user) => match what {
                Claim::Username(name) => user.username == name && user.deletion_job.is_none(),
                Claim::Email(email) => user.email.eq_ignore_ascii_case(email) && user.deletion_job.is_none(),
                Claim::Permanent => true,
            },
            // No record yet: a registration in progress, unless the claim
            // is old enough that its registration must have died.
            Err(AccountError::NotFound) => {
                let claimed_at = current.info.metadata.iter().find(|(k, _)| k == CLAIMED_AT).and_then(|(_, v)| v.parse::<i64>().ok());
                claimed_at.is_some_and(|at| unix_now() - at < ORPHAN_CLAIM_SECS)
            }
            Err(other) => return Err(other),
        };
        if still_held && holder != id {
            return Err(AccountError::Taken);
        }
        if holder == id {
            return Ok(());
        }
        match self.storage.put(key, Bytes::from(id.to_owned()), stamped(WriteCondition::Match(current.info.etag))).await {
            Ok(_) => Ok(()),
            Err(StorageError::PreconditionFailed) => Err(AccountError::Taken),
            Err(other) => Err(AccountError::Storage(other)),
        }
    }

    /// Removes a claim if `id` still holds it.
    async fn release_if_held(&self, key: &str, id: &str) -> Result<(), AccountError> {
        match self.storage.get(key, None).await {
            Ok(current) if current.body.as_ref() == id.as_bytes() => self.storage.delete(key).await.map_err(AccountError::Storage),
            Ok(_) | Err(StorageError::NotFound) => Ok(()),
            Err(other) => Err(AccountError::Storage(other)),
        }
    }

    /// Best-effort removal of a claim made by a registration that failed later.
    async fn release(&self, key: &str) {
        if let Err(err) = self.storage.delete(key).await {
            tracing::warn!(key, error = %err, "could not release a claim after a failed registration");
        }
    }
}

/// Now, in Unix seconds: the unit every account record and token uses.
pub fn unix_now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// Unix milliseconds.
pub fn unix_now_ms() -> i64 {
    (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64
}

pub(crate) fn random_id() -> String {
    use rand::RngCore;
    let mut bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}
