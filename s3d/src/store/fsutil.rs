//! Crash-safe file primitives: write to a temp file in the same filesystem,
//! fsync, rename over the target, fsync the directory. A crash at any point
//! leaves the old or the new file, never a torn one.
//!
//! Nothing here creates a missing parent directory on its own: a write into
//! a bucket or upload that was deleted meanwhile fails with `NotFound`
//! instead of bringing its directory back. Files are created `0600` and
//! directories `0700`: the store holds every user's bytes and Agora's own
//! secrets.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use rand::RngCore;

/// A random 128-bit identifier as 32 hex digits.
pub fn random_id() -> String {
    let mut bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// Creates a new private file (`0600`) for writing; fails if it exists.
pub fn create_file(path: &Path) -> io::Result<File> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)
}

/// Creates one private directory (`0700`) whose parent exists, and makes its
/// entry durable. An existing directory is fine.
pub fn create_dir(path: &Path) -> io::Result<()> {
    let mut builder = fs::DirBuilder::new();
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    match builder.create(path) {
        Ok(()) => sync_parent(path),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists && path.is_dir() => Ok(()),
        Err(e) => Err(e),
    }
}

/// [`create_dir`] for `path` and every missing ancestor, each made durable.
pub fn create_dir_all(path: &Path) -> io::Result<()> {
    if path.is_dir() {
        return Ok(());
    }
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        create_dir_all(parent)?;
    }
    create_dir(path)
}

/// Creates the private file `path` holding `bytes`, fsynced (its directory
/// entry is not).
pub fn write_new_synced(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut file = create_file(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

/// Writes `bytes` to `target` atomically, using `tmp_dir` for the temp file.
/// `target`'s directory must exist.
pub fn atomic_write(tmp_dir: &Path, target: &Path, bytes: &[u8]) -> io::Result<()> {
    let tmp = tmp_dir.join(random_id());
    let result = (|| {
        write_new_synced(&tmp, bytes)?;
        fs::rename(&tmp, target)?;
        sync_parent(target)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// Moves a finished (already fsynced) file into place and makes the rename
/// durable. `to`'s directory must exist.
pub fn durable_rename(from: &Path, to: &Path) -> io::Result<()> {
    fs::rename(from, to)?;
    sync_parent(to)
}

/// Moves a directory out of the way into `tmp_dir` (one atomic, durable
/// rename) and then removes it; a crash before the removal leaves it in
/// `tmp/`, which is emptied at the next open.
pub fn remove_dir_durably(tmp_dir: &Path, dir: &Path) -> io::Result<()> {
    let graveyard = tmp_dir.join(random_id());
    fs::rename(dir, &graveyard)?;
    sync_parent(dir)?;
    fs::remove_dir_all(&graveyard)
}

/// fsyncs the directory holding `path`, so a rename into it survives a crash.
pub fn sync_parent(path: &Path) -> io::Result<()> {
    match path.parent() {
        Some(dir) => File::open(dir)?.sync_all(),
        None => Ok(()),
    }
}

/// Removes a temp file when dropped, unless [`TempFile::keep`] was called.
#[derive(Debug)]
pub struct TempFile {
    path: Option<PathBuf>,
}

impl TempFile {
    pub fn new(path: PathBuf) -> Self {
        Self { path: Some(path) }
    }

    pub fn path(&self) -> &Path {
        self.path.as_deref().expect("temp file already kept")
    }

    /// Stops the cleanup: the file has been moved into place.
    pub fn keep(mut self) -> PathBuf {
        self.path.take().expect("temp file already kept")
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if let Some(path) = self.path.take() {
            let _ = fs::remove_file(path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_write_replaces_and_leaves_no_temp_files() {
        let dir = tempfile::tempdir().unwrap();
        let tmp = dir.path().join("tmp");
        fs::create_dir(&tmp).unwrap();
        let target = dir.path().join("a/b/c.json");
        assert_eq!(atomic_write(&tmp, &target, b"one").unwrap_err().kind(), io::ErrorKind::NotFound, "no directory is created");
        assert_eq!(fs::read_dir(&tmp).unwrap().count(), 0);
        create_dir_all(target.parent().unwrap()).unwrap();
        atomic_write(&tmp, &target, b"one").unwrap();
        atomic_write(&tmp, &target, b"two").unwrap();
        assert_eq!(fs::read(&target).unwrap(), b"two");
        assert_eq!(fs::read_dir(&tmp).unwrap().count(), 0);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode(&target), 0o600);
            assert_eq!(mode(target.parent().unwrap()), 0o700);
            assert_eq!(mode(&dir.path().join("a")), 0o700);
        }
    }

    #[test]
    fn temp_file_is_removed_unless_kept() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a");
        fs::write(&a, b"x").unwrap();
        drop(TempFile::new(a.clone()));
        assert!(!a.exists());
        let b = dir.path().join("b");
        fs::write(&b, b"x").unwrap();
        let kept = TempFile::new(b.clone()).keep();
        assert!(kept.exists());
    }
}
