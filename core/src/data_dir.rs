//! The data directory: where the embedded S3 endpoint keeps objects and where
//! the search index lives. Everything in it but the bucket is rebuildable.

use std::io;
use std::path::{Path, PathBuf};

/// A data directory that exists and is a directory.
#[derive(Debug, Clone)]
pub struct DataDir {
    root: PathBuf,
}

impl DataDir {
    /// Creates the directory (and parents) if needed, and makes it private
    /// to Agora's user (`0700`): it holds every user's bytes, the session
    /// secret and the embedded endpoint's keys. Blocking: call it at
    /// start-up or from `spawn_blocking`.
    pub fn open(root: impl Into<PathBuf>) -> io::Result<Self> {
        let root = root.into();
        std::fs::create_dir_all(&root)?;
        let root = root.canonicalize()?;
        if !root.is_dir() {
            return Err(io::Error::new(io::ErrorKind::NotADirectory, format!("{} is not a directory", root.display())));
        }
        make_private(&root);
        Ok(Self { root })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Proves the directory is writable right now: writes, fsyncs and removes
    /// a small probe file. Blocking.
    pub fn check_writable(&self) -> io::Result<()> {
        use std::io::Write;
        let probe = self.root.join(".agora-write-probe");
        let mut file = std::fs::File::create(&probe)?;
        file.write_all(b"ok")?;
        file.sync_all()?;
        drop(file);
        std::fs::remove_file(&probe)
    }
}

/// Writes `path` whole or not at all (a temp file renamed over it, both
/// fsynced), readable by Agora's user only (`0600`). Blocking.
pub fn write_private_file(path: &Path, bytes: &[u8]) -> io::Result<()> {
    use std::io::Write;
    let temporary = PathBuf::from(format!("{}.tmp", path.display()));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(&temporary)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    std::fs::rename(&temporary, path)?;
    if let Some(parent) = path.parent() {
        std::fs::File::open(parent)?.sync_all()?;
    }
    Ok(())
}

/// Removes group and other access from `root`. A directory Agora's user
/// cannot change (not its owner) is left as it is, with a warning.
fn make_private(root: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let Ok(mode) = std::fs::metadata(root).map(|m| m.permissions().mode()) else { return };
        if mode & 0o077 != 0 {
            if let Err(err) = std::fs::set_permissions(root, std::fs::Permissions::from_mode(mode & 0o700 | 0o700)) {
                tracing::warn!(dir = %root.display(), mode = format!("{:o}", mode & 0o777), error = %err, "the data directory is readable by other users and could not be made private; run chmod 700 on it");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_creates_nested_directories_and_they_are_writable() {
        let base = std::env::temp_dir().join(format!("agora-datadir-test-{}", std::process::id()));
        let dir = DataDir::open(base.join("a/b")).unwrap();
        assert!(dir.root().is_dir());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(dir.root()).unwrap().permissions().mode() & 0o777, 0o700, "private to Agora's user");
        }
        dir.check_writable().unwrap();
        std::fs::remove_dir_all(&base).unwrap();
    }

    #[test]
    fn open_refuses_a_file() {
        let file = std::env::temp_dir().join(format!("agora-datadir-file-{}", std::process::id()));
        std::fs::write(&file, b"x").unwrap();
        assert!(DataDir::open(&file).is_err());
        std::fs::remove_file(&file).unwrap();
    }
}
