//! Secrets Agora keeps in order to use them later (the credentials of
//! monitored sources) are sealed before they reach the bucket, with a key
//! that is not in the bucket: whoever reads the bucket does not get them.
//!
//! - ChaCha20-Poly1305 (ring), a random 96-bit nonce per seal, and the
//!   record's id as associated data, so a sealed value moved to another
//!   record does not open.
//! - The keys come from `AGORA_SEALING_KEYS` (base64, comma-separated;
//!   every node of a shared bucket needs the same list) or else from the
//!   file `sealing-keys` in the data directory (0600, one key per line,
//!   made at the first start).
//! - The first key seals; every listed key opens. Rotating is putting a new
//!   key first (`agora sealing-key rotate`) and restarting: values sealed
//!   with an older key are sealed again with the new one at start-up, and
//!   the old key can go once the log says so.

use std::path::Path;

use base64::Engine;
use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, CHACHA20_POLY1305};
use serde::{Deserialize, Serialize};
use sha2::Digest;

use crate::secret::Secret;

const KEY_BYTES: usize = 32;
const NONCE_BYTES: usize = 12;
/// The keys file in the data directory.
pub const KEYS_FILE: &str = "sealing-keys";

/// A sealed value as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sealed {
    /// Which key sealed it (a fingerprint, not the key).
    pub key: String,
    /// Base64 of nonce ‖ ciphertext ‖ tag.
    pub data: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SealError {
    #[error("it was sealed with key {0}, which this node does not have (AGORA_SEALING_KEYS or the data directory's sealing-keys)")]
    UnknownKey(String),
    #[error("it does not open with its key: damaged, or moved from another record")]
    Damaged,
}

struct Key {
    id: String,
    key: LessSafeKey,
}

/// The sealing keys, the first of which seals.
pub struct SealingKeys {
    keys: Vec<Key>,
}

impl std::fmt::Debug for SealingKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SealingKeys").field("ids", &self.keys.iter().map(|k| &k.id).collect::<Vec<_>>()).finish()
    }
}

fn engine() -> base64::engine::GeneralPurpose {
    base64::engine::general_purpose::STANDARD
}

/// A new random key, base64.
pub fn new_key() -> Secret<String> {
    Secret::new(engine().encode(rand::random::<[u8; KEY_BYTES]>()))
}

impl SealingKeys {
    /// Keys from a list of base64 keys (comma- or line-separated).
    pub fn parse(list: &str) -> Result<SealingKeys, String> {
        let mut keys = Vec::new();
        for (at, text) in list.split([',', '\n']).map(str::trim).filter(|t| !t.is_empty()).enumerate() {
            let bytes = engine()
                .decode(text)
                .ok()
                .filter(|b| b.len() == KEY_BYTES)
                .ok_or_else(|| format!("key {} is not {KEY_BYTES} bytes in base64 (make one with `agora sealing-key new`)", at + 1))?;
            let id = hex::encode(&sha2::Sha256::digest(&bytes)[..4]);
            let key = LessSafeKey::new(UnboundKey::new(&CHACHA20_POLY1305, &bytes).map_err(|_| "unusable key".to_owned())?);
            keys.push(Key { id, key });
        }
        if keys.is_empty() {
            return Err("no key is listed".into());
        }
        Ok(SealingKeys { keys })
    }

    /// The configured keys, or else the data directory's file (made with
    /// one new key when missing). Blocking.
    pub fn load(configured: Option<&Secret<String>>, data_dir: &Path) -> Result<SealingKeys, String> {
        if let Some(list) = configured {
            return SealingKeys::parse(list.expose());
        }
        let path = data_dir.join(KEYS_FILE);
        if !path.exists() {
            write_keys_file(&path, &new_key()).map_err(|e| format!("could not create {}: {e}", path.display()))?;
        }
        let text = std::fs::read_to_string(&path).map_err(|e| format!("could not read {}: {e}", path.display()))?;
        SealingKeys::parse(&text).map_err(|e| format!("{}: {e}", path.display()))
    }

    /// The fingerprint of the key that seals.
    pub fn current(&self) -> &str {
        &self.keys[0].id
    }

    pub fn seal(&self, plaintext: &[u8], context: &str) -> Sealed {
        let key = &self.keys[0];
        let nonce_bytes = rand::random::<[u8; NONCE_BYTES]>();
        let mut data = plaintext.to_vec();
        key.key
            .seal_in_place_append_tag(Nonce::assume_unique_for_key(nonce_bytes), Aad::from(context.as_bytes()), &mut data)
            .expect("ChaCha20-Poly1305 seals any length Agora stores");
        let mut stored = nonce_bytes.to_vec();
        stored.extend_from_slice(&data);
        Sealed { key: key.id.clone(), data: engine().encode(stored) }
    }

    pub fn open(&self, sealed: &Sealed, context: &str) -> Result<Vec<u8>, SealError> {
        let key = self.keys.iter().find(|k| k.id == sealed.key).ok_or_else(|| SealError::UnknownKey(sealed.key.clone()))?;
        let mut stored = engine().decode(&sealed.data).map_err(|_| SealError::Damaged)?;
        if stored.len() < NONCE_BYTES {
            return Err(SealError::Damaged);
        }
        let mut data = stored.split_off(NONCE_BYTES);
        let nonce = Nonce::try_assume_unique_for_key(&stored).map_err(|_| SealError::Damaged)?;
        let opened = key.key.open_in_place(nonce, Aad::from(context.as_bytes()), &mut data).map_err(|_| SealError::Damaged)?;
        Ok(opened.to_vec())
    }
}

/// Puts a new key first in the data directory's keys file (made if
/// missing); returns its fingerprint. Blocking.
pub fn rotate_keys_file(data_dir: &Path) -> Result<String, String> {
    let path = data_dir.join(KEYS_FILE);
    let old = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(err) => return Err(format!("could not read {}: {err}", path.display())),
    };
    let key = new_key();
    let text = Secret::new(format!("{}\n{old}", key.expose()));
    let keys = SealingKeys::parse(text.expose()).map_err(|e| format!("{}: {e}", path.display()))?;
    write_keys_file(&path, &text).map_err(|e| format!("could not write {}: {e}", path.display()))?;
    Ok(keys.current().to_owned())
}

/// Writes the keys file atomically, readable by Agora's user only.
fn write_keys_file(path: &Path, text: &Secret<String>) -> std::io::Result<()> {
    let mut bytes = text.expose().as_bytes().to_vec();
    if !bytes.ends_with(b"\n") {
        bytes.push(b'\n');
    }
    crate::data_dir::write_private_file(path, &bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seals_and_opens_only_in_its_record() {
        let keys = SealingKeys::parse(new_key().expose()).unwrap();
        let sealed = keys.seal(b"hunter2", "monsrc/r1");
        assert!(!sealed.data.contains("hunter2"));
        assert_eq!(keys.open(&sealed, "monsrc/r1").unwrap(), b"hunter2");
        assert_eq!(keys.open(&sealed, "monsrc/r2"), Err(SealError::Damaged));
        let mut flipped = sealed.clone();
        flipped.data = engine().encode({
            let mut raw = engine().decode(&sealed.data).unwrap();
            raw[15] ^= 1;
            raw
        });
        assert_eq!(keys.open(&flipped, "monsrc/r1"), Err(SealError::Damaged));
        assert_ne!(keys.seal(b"hunter2", "monsrc/r1").data, sealed.data, "a fresh nonce each time");
    }

    #[test]
    fn the_first_key_seals_and_every_key_opens() {
        let (old, new) = (new_key(), new_key());
        let before = SealingKeys::parse(old.expose()).unwrap();
        let sealed = before.seal(b"token", "x");
        let after = SealingKeys::parse(&format!("{}, {}", new.expose(), old.expose())).unwrap();
        assert_eq!(after.open(&sealed, "x").unwrap(), b"token");
        assert_ne!(after.seal(b"token", "x").key, sealed.key);
        let other = SealingKeys::parse(new.expose()).unwrap();
        assert!(matches!(other.open(&sealed, "x"), Err(SealError::UnknownKey(_))));
        assert!(SealingKeys::parse("c2hvcnQ=").unwrap_err().contains("32 bytes"));
        assert!(SealingKeys::parse(" , ").is_err());
    }

    #[test]
    fn the_keys_file_is_private_and_rotates() {
        let dir = tempfile::tempdir().unwrap();
        let first = SealingKeys::load(None, dir.path()).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join(KEYS_FILE)).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let sealed = first.seal(b"pw", "r");
        let rotated = rotate_keys_file(dir.path()).unwrap();
        let second = SealingKeys::load(None, dir.path()).unwrap();
        assert_eq!(second.current(), rotated);
        assert_ne!(rotated, first.current());
        assert_eq!(second.open(&sealed, "r").unwrap(), b"pw");
    }
}
