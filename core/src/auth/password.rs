//! Passwords are hashed with argon2id at OWASP's minimum parameters
//! (19 MiB, 2 passes, 1 lane) and a random salt, stored as a PHC string.
//! Hashing takes tens of milliseconds of CPU: callers use the async
//! functions, which run it off the executor.

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{self, ParamsString, PasswordHash, PasswordVerifier, Salt, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use std::sync::{Mutex, OnceLock};

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
    with_memory(|blocks| compute(password.expose().as_bytes(), salt.as_salt(), blocks).map(|hash| hash.to_string()))
        .map_err(|e| PasswordError::Hash(e.to_string()))
}

/// Whether `password` matches the stored PHC string (blocking; prefer
/// [`verify`]). A malformed stored hash never matches. Hashes made with
/// other parameters (older settings) still verify, the slower way.
pub fn verify_blocking(password: &Secret<String>, stored: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(stored) else { return false };
    let ours = ParamsString::try_from(argon2().params()).ok();
    let same_settings = parsed.algorithm == Algorithm::Argon2id.ident()
        && parsed.version == Some(Version::V0x13.into())
        && ours.is_some_and(|ours| ours == parsed.params);
    match (same_settings, parsed.salt, &parsed.hash) {
        (true, Some(salt), Some(expected)) => with_memory(|blocks| compute(password.expose().as_bytes(), salt, blocks))
            // `Output` compares in constant time.
            .is_ok_and(|computed| computed.hash.as_ref() == Some(expected)),
        _ => argon2().verify_password(password.expose().as_bytes(), &parsed).is_ok(),
    }
}

/// argon2id of `password` with `salt` in the given working memory, as a PHC
/// hash (what `PasswordHasher::hash_password` does, minus its allocation).
fn compute<'a>(password: &[u8], salt: Salt<'a>, blocks: &mut [Block]) -> password_hash::Result<PasswordHash<'a>> {
    let argon2 = argon2();
    let mut salt_bytes = [0u8; 64];
    let salt_raw = salt.decode_b64(&mut salt_bytes)?;
    let output = password_hash::Output::init_with(Params::DEFAULT_OUTPUT_LEN, |out| {
        argon2.hash_password_into_with_memory(password, salt_raw, out, &mut *blocks).map_err(|_| password_hash::Error::Password)
    })?;
    Ok(PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(argon2.params())?,
        salt: Some(salt),
        hash: Some(output),
    })
}

/// Runs `work` with argon2's 19 MiB of working memory, taken from a pool
/// that keeps at most one buffer per hashing slot. Reusing the buffers keeps
/// the process's memory flat: allocating 19 MiB per login made glibc's heap
/// grow by about that much per login under load (its adaptive mmap
/// threshold), to gigabytes in a burst.
fn with_memory<T>(work: impl FnOnce(&mut [Block]) -> T) -> T {
    static POOL: Mutex<Vec<Vec<Block>>> = Mutex::new(Vec::new());
    let pooled = POOL.lock().unwrap_or_else(|e| e.into_inner()).pop();
    let mut blocks = pooled.unwrap_or_else(|| vec![Block::default(); argon2().params().block_count()]);
    let result = work(&mut blocks);
    let mut pool = POOL.lock().unwrap_or_else(|e| e.into_inner());
    if pool.len() < max_concurrent_hashes() {
        pool.push(blocks);
    }
    result
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

    #[test]
    fn hashes_from_the_standard_hasher_verify_and_vice_versa() {
        use argon2::password_hash::PasswordHasher;
        let standard = argon2().hash_password(b"correct horse battery", &SaltString::generate(&mut OsRng)).unwrap().to_string();
        assert!(verify_blocking(&secret("correct horse battery"), &standard));
        let ours = hash_blocking(&secret("correct horse battery")).unwrap();
        let parsed = PasswordHash::new(&ours).unwrap();
        assert!(argon2().verify_password(b"correct horse battery", &parsed).is_ok());
        // Other parameters (a hash from older settings) still verify.
        let older = Argon2::new(Algorithm::Argon2id, Version::V0x13, Params::new(8 * 1024, 3, 1, None).unwrap())
            .hash_password(b"correct horse battery", &SaltString::generate(&mut OsRng))
            .unwrap()
            .to_string();
        assert!(verify_blocking(&secret("correct horse battery"), &older));
        assert!(!verify_blocking(&secret("wrong horse battery"), &older));
    }

    #[tokio::test]
    async fn unknown_users_never_verify() {
        assert!(!verify(secret("whatever"), None).await);
        let stored = hash(secret("s3cret-passw0rd")).await.unwrap();
        assert!(verify(secret("s3cret-passw0rd"), Some(stored)).await);
    }
}
