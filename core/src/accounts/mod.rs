//! User accounts in the bucket.
//!
//! ```text
//! sys/users/{user_id}.json     the record: profile, argon2id hash, role, token version
//! sys/names/{username}         -> user_id, created once (If-None-Match: *)
//! sys/emails/{sha256(email)}   -> user_id, created once
//! sys/admin-claimed            exists once the first account became admin
//! ```
//!
//! Unique names are claimed with create-once writes, so two nodes racing to
//! register the same name cannot both win. Records change by read-modify-write
//! with `If-Match`.

pub mod api_keys;
mod error;
pub mod verification;

use agora_model::accounts::{normalize_email, normalize_username, validate_password};
use bytes::Bytes;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::auth::password;
use crate::secret::Secret;
use crate::storage::{PutOptions, Storage, StorageError, WriteCondition};
pub use error::AccountError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    User,
    Admin,
}

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
}

/// What registration needs.
pub struct Registration {
    pub username: String,
    pub email: String,
    pub password: Secret<String>,
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

#[derive(Clone)]
pub struct Accounts {
    storage: Storage,
}

impl Accounts {
    pub fn new(storage: Storage) -> Self {
        Self { storage }
    }

    /// Registers an account (unverified). The first account on an empty hub
    /// becomes admin. Fails with `Conflict` naming the field when the
    /// username or email is taken; a failure leaves no claim behind.
    pub async fn register(&self, registration: Registration) -> Result<UserRecord, AccountError> {
        let username = normalize_username(&registration.username).map_err(AccountError::Invalid)?;
        let email = normalize_email(&registration.email).map_err(AccountError::Invalid)?;
        validate_password(registration.password.expose(), &username).map_err(AccountError::Invalid)?;
        let password_hash = password::hash(registration.password).await.map_err(|e| AccountError::Internal(e.to_string()))?;
        let id = random_id();

        self.claim(&name_key(&username), &id).await.map_err(|e| e.taken("username", "this username is taken"))?;
        if let Err(err) = self.claim(&email_key(&email), &id).await {
            self.release(&name_key(&username)).await;
            return Err(err.taken("email", "an account with this email address already exists"));
        }
        let first = match self.claim(ADMIN_CLAIM, &id).await {
            Ok(()) => true,
            Err(AccountError::Taken) => false,
            Err(other) => {
                self.release(&name_key(&username)).await;
                self.release(&email_key(&email)).await;
                return Err(other);
            }
        };
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

    pub async fn get(&self, id: &str) -> Result<UserRecord, AccountError> {
        if !id.bytes().all(|b| b.is_ascii_hexdigit()) || id.len() != 32 {
            return Err(AccountError::NotFound);
        }
        let object = self.storage.get(&user_key(id), None).await.map_err(AccountError::from_storage)?;
        serde_json::from_slice(&object.body).map_err(|e| AccountError::Internal(format!("user record {id} is unreadable: {e}")))
    }

    pub async fn find_by_username(&self, username: &str) -> Result<UserRecord, AccountError> {
        let username = normalize_username(username).map_err(|_| AccountError::NotFound)?;
        let id = self.storage.get(&name_key(&username), None).await.map_err(AccountError::from_storage)?;
        let id = String::from_utf8(id.body.to_vec()).map_err(|_| AccountError::Internal("a name claim is not UTF-8".into()))?;
        self.get(&id).await
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
        if user.disabled {
            return Err(AccountError::Disabled);
        }
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

    /// Marks the email verified.
    pub async fn mark_verified(&self, id: &str) -> Result<UserRecord, AccountError> {
        self.update(id, |u| {
            u.email_verified = true;
            Ok(())
        })
        .await
    }

    /// Invalidates every session token issued so far.
    pub async fn log_out_everywhere(&self, id: &str) -> Result<UserRecord, AccountError> {
        self.update(id, |u| {
            u.token_version += 1;
            Ok(())
        })
        .await
    }

    /// Changes the password after checking the current one; older sessions end.
    pub async fn change_password(&self, id: &str, current: Secret<String>, new: Secret<String>) -> Result<UserRecord, AccountError> {
        let user = self.get(id).await?;
        if !password::verify(current, Some(user.password_hash.clone())).await {
            return Err(AccountError::Invalid(agora_model::ApiError::invalid("current_password", "is not your current password")));
        }
        validate_password(new.expose(), &user.username).map_err(AccountError::Invalid)?;
        let hash = password::hash(new).await.map_err(|e| AccountError::Internal(e.to_string()))?;
        self.update(id, move |u| {
            u.password_hash = hash.clone();
            u.token_version += 1;
            Ok(())
        })
        .await
    }

    async fn claim(&self, key: &str, id: &str) -> Result<(), AccountError> {
        let create = PutOptions { condition: Some(WriteCondition::Create), ..Default::default() };
        match self.storage.put(key, Bytes::from(id.to_owned()), create).await {
            Ok(_) => Ok(()),
            Err(StorageError::PreconditionFailed) => Err(AccountError::Taken),
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
pub(crate) fn unix_now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

fn random_id() -> String {
    use rand::RngCore;
    let mut bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}
