//! Reading a file a user named (a report to compare, a module EEPROM dump, a pre-shared key) without
//! trusting it: only a regular file is read (a FIFO would block forever, `/dev/zero` never ends), and at
//! most the largest size a valid file of its kind can have, so a wrong path costs one line, not the
//! machine's memory.
//!
//! The path is checked with `stat` (following symlinks) before it is opened, and opened with
//! `O_NONBLOCK | O_NOCTTY`, so that a FIFO swapped in between cannot block the open either; the open file
//! is checked again with `fstat` before anything is read.

use std::fs::{File, FileType};
use std::io::Read;
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use thiserror::Error;

/// What a file holds and the most bytes a valid one can have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    /// The most bytes a valid file holds.
    pub bytes: u64,
    /// What the file should be, for messages: "a linkbench report".
    pub what: &'static str,
}

/// Why a named file was not read.
#[derive(Debug, Error)]
pub enum FileProblem {
    #[error("cannot read: {0}")]
    Io(#[from] std::io::Error),
    #[error("not a regular file but {0}; give the path of a regular file")]
    NotRegular(&'static str),
    #[error("{size} bytes is more than {} can be ({limit} bytes at most); check that this is the right file", what)]
    TooLarge {
        /// Its size, or the first size found to be too large when it grows while being read.
        size: u64,
        limit: u64,
        what: &'static str,
    },
}

/// A named file could not be read: the path and the problem.
#[derive(Debug, Error)]
#[error("{}: {problem}", path.display())]
pub struct FileError {
    pub path: PathBuf,
    pub problem: FileProblem,
}

/// Describes a file type that is not a regular file: "a FIFO", "a character device", ...
pub fn kind_of(file_type: FileType) -> &'static str {
    if file_type.is_dir() {
        "a directory"
    } else if file_type.is_fifo() {
        "a FIFO"
    } else if file_type.is_char_device() {
        "a character device"
    } else if file_type.is_block_device() {
        "a block device"
    } else if file_type.is_socket() {
        "a socket"
    } else if file_type.is_symlink() {
        "a symbolic link"
    } else {
        "something else"
    }
}

/// Reads the whole of the regular file at `path` (symlinks followed), refusing anything else and any file
/// larger than `limit.bytes`.
pub fn read_regular(path: &Path, limit: Limit) -> Result<Vec<u8>, FileError> {
    let fail = |problem| FileError {
        path: path.to_path_buf(),
        problem,
    };
    let regular = |file_type: FileType| {
        if file_type.is_file() {
            Ok(())
        } else {
            Err(fail(FileProblem::NotRegular(kind_of(file_type))))
        }
    };
    let too_large = |size| {
        fail(FileProblem::TooLarge {
            size,
            limit: limit.bytes,
            what: limit.what,
        })
    };
    regular(
        std::fs::metadata(path)
            .map_err(|e| fail(e.into()))?
            .file_type(),
    )?;
    let file = File::options()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)
        .map_err(|e| fail(e.into()))?;
    let meta = file.metadata().map_err(|e| fail(e.into()))?;
    regular(meta.file_type())?;
    if meta.len() > limit.bytes {
        return Err(too_large(meta.len()));
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    file.take(limit.bytes + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| fail(e.into()))?;
    if bytes.len() as u64 > limit.bytes {
        return Err(too_large(bytes.len() as u64));
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SMALL: Limit = Limit {
        bytes: 8,
        what: "a test file",
    };

    #[test]
    fn reads_a_regular_file_up_to_the_limit() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, b"12345678").unwrap();
        assert_eq!(read_regular(&path, SMALL).unwrap(), b"12345678");
        std::fs::write(&path, b"123456789").unwrap();
        let err = read_regular(&path, SMALL).unwrap_err().to_string();
        assert!(
            err.contains("9 bytes is more than a test file can be (8 bytes at most)"),
            "{err}"
        );
    }

    #[test]
    fn devices_directories_and_missing_files_are_refused_by_name() {
        let err = read_regular(Path::new("/dev/zero"), SMALL)
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "/dev/zero: not a regular file but a character device; give the path of a regular file"
        );
        let dir = tempfile::tempdir().unwrap();
        let err = read_regular(dir.path(), SMALL).unwrap_err().to_string();
        assert!(err.contains("a directory"), "{err}");
        let err = read_regular(&dir.path().join("none"), SMALL)
            .unwrap_err()
            .to_string();
        assert!(err.contains("none: cannot read:"), "{err}");
    }

    #[test]
    fn a_fifo_is_refused_without_blocking() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(made.success());
        let err = read_regular(&fifo, SMALL).unwrap_err().to_string();
        assert!(err.contains("a FIFO"), "{err}");
    }
}
