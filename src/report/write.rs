//! Writing a report so that a reader never sees half of it: the JSON goes to a temporary file in the
//! same directory, is flushed to disk, and is renamed over the destination.

use crate::report::Report;
use std::io::Write;
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
    #[error("cannot serialise the report: {0}")]
    Json(#[from] serde_json::Error),
}

/// Writes `report` as pretty JSON to `path` atomically (temporary file + rename).
pub fn write_report_atomically(report: &Report, path: &Path) -> Result<(), WriteError> {
    let json = serde_json::to_vec_pretty(report)?;
    write_bytes_atomically(&json, path)
}

/// Writes bytes to `path` atomically.
pub fn write_bytes_atomically(bytes: &[u8], path: &Path) -> Result<(), WriteError> {
    let io_err = |source| WriteError::Io {
        path: path.to_path_buf(),
        source,
    };
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "report".into());
    let tmp = dir.join(format!(".{name}.tmp.{}", std::process::id()));
    let result = (|| {
        let mut file = std::fs::File::create(&tmp)?;
        file.write_all(bytes)?;
        file.write_all(b"\n")?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.map_err(io_err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_replace_the_file_whole_and_leave_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.json");
        std::fs::write(&path, "old").unwrap();
        write_bytes_atomically(b"{\"new\":true}", &path).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "{\"new\":true}\n");
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 1);
    }

    #[test]
    fn an_unwritable_directory_is_a_clear_error() {
        let err = write_bytes_atomically(b"x", Path::new("/nonexistent-dir/r.json")).unwrap_err();
        assert!(err.to_string().contains("/nonexistent-dir/r.json"), "{err}");
    }
}
