//! The file store's folder, held to ssh's standard for `~/.ssh`: it must
//! belong to this user and be writable by nobody else, and no file in it is
//! opened through a symbolic link. Another user who could write there could
//! swap records or lock files under us (a record they forge does not
//! authenticate, but they could delete ours, hold our locks, or point a
//! link at a file of ours to have us overwrite it).
//!
//! Everything here blocks: callers run it on Tokio's blocking pool.

use crate::hex::random_hex;
use std::fs::{self, File, OpenOptions};
use std::io::{Error, ErrorKind, Read, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt};
use std::path::Path;

/// Makes the folder (0700) if it is missing, and refuses one that another
/// user owns or that others can write (group or world).
pub fn ensure_private(dir: &Path) -> std::io::Result<()> {
    if !dir.exists() {
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)?;
    }
    let meta = fs::metadata(dir)?;
    // SAFETY: geteuid has no preconditions and cannot fail.
    let me = unsafe { libc::geteuid() };
    if !meta.is_dir() || meta.uid() != me || meta.mode() & 0o022 != 0 {
        return Err(Error::new(
            ErrorKind::PermissionDenied,
            "store folder is not private to this user",
        ));
    }
    Ok(())
}

/// Options that refuse to open a symbolic link in the last component.
fn no_follow() -> OpenOptions {
    let mut options = OpenOptions::new();
    options.custom_flags(libc::O_NOFOLLOW);
    options
}

/// The file's bytes (up to one past `limit`, so an oversized file shows),
/// or None when there is none.
pub fn read_small(path: &Path, limit: u64) -> std::io::Result<Option<Vec<u8>>> {
    let file = match no_follow().read(true).open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    let mut bytes = Vec::new();
    file.take(limit + 1).read_to_end(&mut bytes)?;
    Ok(Some(bytes))
}

/// Writes `bytes` to `path` atomically: a new private temporary file
/// beside it (`create_new` never follows a link), then a rename over it
/// (which replaces a link rather than writing through it).
pub fn write_atomically(dir: &Path, path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    ensure_private(dir)?;
    let temp = dir.join(format!(".{}.tmp", random_hex(12)));
    let result = (|| {
        let mut file = no_follow()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&temp)?;
        file.write_all(bytes)?;
        fs::rename(&temp, path)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&temp);
    }
    result
}

/// Opens (or makes, 0600) a file that only carries locks.
pub fn open_lock_file(dir: &Path, path: &Path) -> std::io::Result<File> {
    ensure_private(dir)?;
    no_follow()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(path)
}

/// Opens (or makes, 0600) a file for appending.
pub fn open_append(dir: &Path, path: &Path) -> std::io::Result<File> {
    ensure_private(dir)?;
    no_follow().append(true).create(true).mode(0o600).open(path)
}
