//! Passwords are hashed with argon2id at OWASP's minimum parameters
//! (19 MiB, 2 passes, 1 lane) and a random salt, stored as a PHC string.
//! Hashing takes tens of milliseconds of CPU: callers use the async
//! functions, which run it off the executor.

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use std::sync::OnceLock;

use crate::secret::Secret;

/// OWASP Password Storage Cheat Sheet: argon2id, m = 19 MiB, t = 2, p = 1.
const MEMORY_KIB: u32 = 19 * 1024;
const PASSES: u32 = 2;
const LANES: u32 = 1;

fn argon2() -> Argon2<'static> {
    let params = Params::new(MEMORY_KIB, PASSES, LANES, None).expect("constant argon2 parameters are valid");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    #[error("password hashing failed: {0}")]
    Hash(String),
    #[error("the hashing task did not finish")]
    Cancelled,
}

/// Hashes a password (blocking; prefer [`hash`]).
pub fn hash_blocking(password: &Secret<String>) -> Result<String, PasswordError> {
    let salt = SaltString::generate(&mut OsRng);
    argon2().hash_password(password.expose().as_bytes(), &salt).map(|hash| hash.to_string()).map_err(|e| PasswordError::Hash(e.to_string()))
}

/// Whether `password` matches the stored PHC string (blocking; prefer
/// [`verify`]). A malformed stored hash never matches.
pub fn verify_blocking(password: &Secret<String>, stored: &str) -> bool {
    match PasswordHash::new(stored) {
        Ok(parsed) => argon2().verify_password(password.expose().as_bytes(), &parsed).is_ok(),
        Err(_) => false,
    }
}

/// At most this many hashes run at once — one per core — so their memory
/// stays within `cores × 19 MiB` however many logins arrive together; the
/// rest wait their turn.
fn hashing_slots() -> &'static tokio::sync::Semaphore {
    static SLOTS: OnceLock<tokio::sync::Semaphore> = OnceLock::new();
    SLOTS.get_or_init(|| tokio::sync::Semaphore::new(max_concurrent_hashes()))
}

/// How many hashes may run at once (the cores available).
pub fn max_concurrent_hashes() -> usize {
    std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2)
}

/// The memory argon2 itself may use at once, in bytes.
pub fn memory_bound_bytes() -> u64 {
    max_concurrent_hashes() as u64 * u64::from(MEMORY_KIB) * 1024
}

/// Runs one hash or verification off the executor, within the slots.
async fn off_executor<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> Result<T, PasswordError> {
    let _slot = hashing_slots().acquire().await.map_err(|_| PasswordError::Cancelled)?;
    tokio::task::spawn_blocking(work).await.map_err(|_| PasswordError::Cancelled)
}

pub async fn hash(password: Secret<String>) -> Result<String, PasswordError> {
    off_executor(move || hash_blocking(&password)).await?
}

/// Checks a password; with `stored = None` (no such user) it still spends the
/// same work on a fixed hash and returns false, so timing does not reveal
/// whether the account exists.
pub async fn verify(password: Secret<String>, stored: Option<String>) -> bool {
    off_executor(move || match stored {
        Some(stored) => verify_blocking(&password, &stored),
        None => {
            verify_blocking(&password, dummy_hash());
            false
        }
    })
    .await
    .unwrap_or(false)
}

/// A hash of a random password, computed once, to verify against when the
/// user does not exist.
fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| {
        use argon2::password_hash::rand_core::RngCore;
        let mut bytes = [0u8; 32];
        OsRng.fill_bytes(&mut bytes);
        hash_blocking(&Secret::new(hex::encode(bytes))).unwrap_or_default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret(s: &str) -> Secret<String> {
        Secret::new(s.to_owned())
    }

    #[test]
    fn hashes_are_salted_argon2id_and_verify() {
        let a = hash_blocking(&secret("correct horse battery")).unwrap();
        let b = hash_blocking(&secret("correct horse battery")).unwrap();
        assert_ne!(a, b, "a random salt per hash");
        assert!(a.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{a}");
        assert!(verify_blocking(&secret("correct horse battery"), &a));
        assert!(!verify_blocking(&secret("correct horse batterY"), &a));
        assert!(!verify_blocking(&secret("anything"), "not a phc string"));
    }

    #[tokio::test]
    async fn unknown_users_never_verify() {
        assert!(!verify(secret("whatever"), None).await);
        let stored = hash(secret("s3cret-passw0rd")).await.unwrap();
        assert!(verify(secret("s3cret-passw0rd"), Some(stored)).await);
    }
}
