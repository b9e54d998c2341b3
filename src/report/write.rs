//! Writing a report (or any output file: a comparison, a summary) so that a reader never sees half of it
//! and nobody else's file is touched.
//!
//! A destination that does not exist or is a regular file gets a new file: the bytes go to a temporary
//! file created exclusively (`O_CREAT | O_EXCL`, which never follows a symlink) under an unpredictable
//! name in the same directory, are flushed to disk, and the file is renamed over the destination (a
//! symlink at the destination is replaced, not followed). A character device or a FIFO (`/dev/null`,
//! `/dev/stdout` on a pipe, a named pipe a collector reads) is written in place and never replaced, as
//! `cat > DEST` would. A directory, a block device or a socket is refused.

use crate::report::Report;
use std::io::Write;
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use thiserror::Error;

/// The report could not be written.
#[derive(Debug, Error)]
pub enum WriteError {
    #[error("cannot write report {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot write report {path}: it is {kind}; give a file name (or a character device or FIFO)")]
    Unsuitable { path: PathBuf, kind: &'static str },
    #[error(
        "cannot write report {path}: directory {dir} does not exist; create it or choose another"
    )]
    DirectoryMissing { path: PathBuf, dir: PathBuf },
    #[error("cannot write report {path}: directory {dir} cannot be written ({source}); choose a writable directory or fix its permissions")]
    DirectoryNotWritable {
        path: PathBuf,
        dir: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot serialise the report: {0}")]
    Json(#[from] serde_json::Error),
}

/// Writes `report` as pretty JSON to `path` atomically (temporary file + rename).
pub fn write_report_atomically(report: &Report, path: &Path) -> Result<(), WriteError> {
    let json = serde_json::to_vec_pretty(report)?;
    write_bytes_atomically(&json, path)
}

/// Where the bytes for `path` go.
enum Destination {
    /// A new regular file renamed over `path`, created in this directory.
    Replace(PathBuf),
    /// `path` is a character device or FIFO (possibly behind a symlink): written in place.
    InPlace,
}

fn destination(path: &Path) -> Result<Destination, WriteError> {
    let unsuitable = |kind| WriteError::Unsuitable {
        path: path.to_path_buf(),
        kind,
    };
    // What the path itself is, and what it finally names when it is a symlink.
    let target = match std::fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => std::fs::metadata(path).ok(),
        Ok(m) => Some(m),
        Err(_) => None,
    };
    if let Some(t) = target.map(|m| m.file_type()) {
        if t.is_char_device() || t.is_fifo() {
            return Ok(Destination::InPlace);
        }
        if !t.is_file() {
            return Err(unsuitable(crate::files::kind_of(t)));
        }
    }
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    if path.file_name().is_none() {
        return Err(unsuitable("not a file name"));
    }
    Ok(Destination::Replace(dir))
}

/// A new, exclusively created, unpredictably named temporary file in `dir`, named after `path`.
fn temporary_in(dir: &Path, path: &Path) -> std::io::Result<tempfile::NamedTempFile> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "report".into());
    tempfile::Builder::new()
        .prefix(&format!(".{name}."))
        .suffix(".tmp")
        .rand_bytes(12)
        // 0666 less the umask, as a file created by `>` would be (tempfile's default is 0600).
        .permissions(std::fs::Permissions::from_mode(0o666))
        .tempfile_in(dir)
        // tempfile appends the random name to its errors; the directory is what the user can act on.
        .map_err(|e| match e.raw_os_error() {
            Some(code) => std::io::Error::from_raw_os_error(code),
            None => e,
        })
}

/// Writes bytes and a final newline to `path`: atomically for a file, in place for a device or FIFO.
pub fn write_bytes_atomically(bytes: &[u8], path: &Path) -> Result<(), WriteError> {
    let io_err = |source| WriteError::Io {
        path: path.to_path_buf(),
        source,
    };
    match destination(path)? {
        Destination::InPlace => write_in_place(bytes, path).map_err(io_err),
        Destination::Replace(dir) => {
            let mut tmp = temporary_in(&dir, path).map_err(io_err)?;
            tmp.write_all(bytes).map_err(io_err)?;
            tmp.write_all(b"\n").map_err(io_err)?;
            tmp.as_file().sync_all().map_err(io_err)?;
            // On failure the temporary file is dropped, which removes it.
            tmp.persist(path).map(drop).map_err(|e| io_err(e.error))
        }
    }
}

/// Writes to an existing character device or FIFO without creating, truncating or replacing anything.
/// A FIFO blocks here until a reader opens it, as it would for `cat > FIFO`.
fn write_in_place(bytes: &[u8], path: &Path) -> std::io::Result<()> {
    let mut file = std::fs::File::options()
        .write(true)
        .custom_flags(libc::O_NOCTTY)
        .open(path)?;
    let t = file.metadata()?.file_type();
    if !(t.is_char_device() || t.is_fifo()) {
        return Err(std::io::Error::other(
            "it changed from a device or FIFO into something else while being opened; try again",
        ));
    }
    file.write_all(bytes)?;
    file.write_all(b"\n")?;
    file.flush()
}

/// Checks before a long run that `path` will be writable at its end: a device or FIFO must be writable
/// as it is; for a file, a temporary file is created exclusively in its directory and removed again
/// (permission bits do not tell: root ignores them, and a read-only mount refuses root too).
pub fn check_writable(path: &Path) -> Result<(), WriteError> {
    match destination(path)? {
        Destination::InPlace => {
            // Opening a FIFO for writing would block until a reader comes; it is written at the end.
            let is_fifo = std::fs::metadata(path).is_ok_and(|m| m.file_type().is_fifo());
            if is_fifo {
                return Ok(());
            }
            std::fs::File::options()
                .write(true)
                .custom_flags(libc::O_NOCTTY)
                .open(path)
                .map(drop)
                .map_err(|source| WriteError::Io {
                    path: path.to_path_buf(),
                    source,
                })
        }
        Destination::Replace(dir) => {
            let not_writable = |source| WriteError::DirectoryNotWritable {
                path: path.to_path_buf(),
                dir: dir.clone(),
                source,
            };
            if !dir.is_dir() {
                return Err(WriteError::DirectoryMissing {
                    path: path.to_path_buf(),
                    dir,
                });
            }
            temporary_in(&dir, path)
                .map_err(not_writable)?
                .close()
                .map_err(not_writable)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(dir: &Path) -> Vec<std::ffi::OsString> {
        std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect()
    }

    #[test]
    fn writes_replace_the_file_whole_and_leave_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.json");
        std::fs::write(&path, "old").unwrap();
        write_bytes_atomically(b"{\"new\":true}", &path).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "{\"new\":true}\n");
        assert_eq!(names(dir.path()).len(), 1);
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode();
        let plain = dir.path().join("plain");
        std::fs::File::create(&plain).unwrap();
        assert_eq!(mode(&path), mode(&plain), "the mode `>` would give");
    }

    #[test]
    fn a_symlink_at_the_destination_is_replaced_not_followed() {
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim");
        std::fs::write(&victim, "precious").unwrap();
        let path = dir.path().join("r.json");
        std::os::unix::fs::symlink(&victim, &path).unwrap();
        write_bytes_atomically(b"{}", &path).unwrap();
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
        assert!(std::fs::symlink_metadata(&path).unwrap().is_file());
    }

    #[test]
    fn a_character_device_is_written_in_place() {
        write_bytes_atomically(b"{}", Path::new("/dev/null")).unwrap();
        assert!(std::fs::metadata("/dev/null")
            .unwrap()
            .file_type()
            .is_char_device());
        let err = write_bytes_atomically(b"{}", Path::new("/dev/full")).unwrap_err();
        assert!(err.to_string().contains("/dev/full"), "{err}");
    }

    #[test]
    fn a_directory_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let err = write_bytes_atomically(b"{}", dir.path()).unwrap_err();
        assert!(err.to_string().contains("a directory"), "{err}");
        assert!(check_writable(dir.path()).is_err());
    }

    #[test]
    fn an_unwritable_directory_is_a_clear_error() {
        let err = write_bytes_atomically(b"x", Path::new("/nonexistent-dir/r.json")).unwrap_err();
        assert!(err.to_string().contains("/nonexistent-dir/r.json"), "{err}");
        let err = check_writable(Path::new("/nonexistent-dir/r.json")).unwrap_err();
        assert!(err.to_string().contains("/nonexistent-dir"), "{err}");
    }

    #[test]
    fn checking_leaves_nothing_behind() {
        let dir = tempfile::tempdir().unwrap();
        check_writable(&dir.path().join("r.json")).unwrap();
        assert!(names(dir.path()).is_empty());
    }
}
