//! The embedded endpoint's access key pair: generated once, stored with 0600
//! permissions in the data directory, never logged.

use std::fmt;
use std::io::{self, Write};
use std::path::Path;

use rand::distr::{Alphanumeric, SampleString};
use serde::{Deserialize, Serialize};

#[derive(Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Credentials {
    pub access_key_id: String,
    pub secret_access_key: String,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials").field("access_key_id", &self.access_key_id).field("secret_access_key", &"[redacted]").finish()
    }
}

impl Credentials {
    pub fn generate() -> Self {
        let mut rng = rand::rng();
        Credentials {
            access_key_id: format!("AGORA{}", Alphanumeric.sample_string(&mut rng, 15).to_ascii_uppercase()),
            secret_access_key: Alphanumeric.sample_string(&mut rng, 40),
        }
    }

    /// Reads the key pair at `path`, or creates it (mode 0600) if absent.
    /// Blocking.
    pub fn load_or_create(path: &Path) -> io::Result<Credentials> {
        match std::fs::read(path) {
            Ok(bytes) => {
                check_private(path)?;
                serde_json::from_slice(&bytes).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, format!("{}: {e}", path.display())))
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                let credentials = Credentials::generate();
                if let Some(dir) = path.parent() {
                    std::fs::create_dir_all(dir)?;
                }
                let mut options = std::fs::OpenOptions::new();
                options.write(true).create_new(true);
                #[cfg(unix)]
                std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
                let mut file = options.open(path)?;
                file.write_all(&serde_json::to_vec_pretty(&credentials).map_err(io::Error::other)?)?;
                file.sync_all()?;
                Ok(credentials)
            }
            Err(e) => Err(e),
        }
    }
}

/// Refuses a credentials file that others can read.
fn check_private(path: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path)?.permissions().mode();
        if mode & 0o077 != 0 {
            return Err(io::Error::new(
                io::ErrorKind::PermissionDenied,
                format!("{} is readable by other users (mode {:o}); run chmod 600 on it", path.display(), mode & 0o777),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn created_once_private_and_stable() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s3/credentials.json");
        let first = Credentials::load_or_create(&path).unwrap();
        let second = Credentials::load_or_create(&path).unwrap();
        assert_eq!(first, second);
        assert!(!format!("{first:?}").contains(&first.secret_access_key));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
            assert!(Credentials::load_or_create(&path).is_err(), "a world-readable key file is refused");
        }
    }
}
