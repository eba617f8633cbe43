//! The secret that signs session tokens: from configuration, or created once
//! in the bucket (`sys/session-secret`) so every node sharing the bucket
//! agrees without coordination.

use bytes::Bytes;
use rand::RngCore;

use crate::secret::Secret;
use crate::storage::{PutOptions, Storage, StorageError, WriteCondition};

use super::token::MIN_SECRET_BYTES;

const KEY: &str = "sys/session-secret";
const GENERATED_BYTES: usize = 64;

/// The configured secret if there is one, else the bucket's (created on
/// first use; a node that loses the creation race reads the winner's).
pub async fn load_or_create(storage: &Storage, configured: Option<&Secret<String>>) -> Result<Secret<Vec<u8>>, StorageError> {
    if let Some(secret) = configured {
        let bytes = secret.expose().as_bytes().to_vec();
        if bytes.len() < MIN_SECRET_BYTES {
            return Err(StorageError::Invalid(format!("the session secret must be at least {MIN_SECRET_BYTES} bytes")));
        }
        return Ok(Secret::new(bytes));
    }
    match storage.get(KEY, None).await {
        Ok(object) => return Ok(Secret::new(object.body.to_vec())),
        Err(StorageError::NotFound) => {}
        Err(other) => return Err(other),
    }
    let mut fresh = vec![0u8; GENERATED_BYTES];
    rand::rng().fill_bytes(&mut fresh);
    let create = PutOptions { condition: Some(WriteCondition::Create), ..Default::default() };
    match storage.put(KEY, Bytes::from(fresh.clone()), create).await {
        Ok(_) => Ok(Secret::new(fresh)),
        Err(StorageError::PreconditionFailed) => Ok(Secret::new(storage.get(KEY, None).await?.body.to_vec())),
        Err(other) => Err(other),
    }
}
