//! Reading the reports to compare: each argument is a report file or a directory of them (its trials
//! pooled as one side). A report of an older minor schema version is read; a newer major version, a file
//! that is not JSON, or one that is not a linkbench report is refused with the file named, and so is
//! anything that is not a regular file or is larger than a report can be
//! ([`crate::report::MAX_REPORT_BYTES`]).

use crate::files::{read_regular, FileError};
use crate::report::{Report, REPORT_LIMIT, SCHEMA_VERSION};
use std::path::{Path, PathBuf};
use thiserror::Error;

/// Something the compare tool cannot use.
#[derive(Debug, Error)]
pub enum LoadError {
    #[error("{path}: cannot read: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    File(#[from] FileError),
    #[error("{path}: not valid JSON: {message}")]
    Json { path: PathBuf, message: String },
    #[error("{path}: not a linkbench report: {why}")]
    NotAReport { path: PathBuf, why: String },
    #[error("{path}: report schema version {found} is newer than this linkbench-compare reads ({supported}.x); upgrade linkbench")]
    NewerMajor {
        path: PathBuf,
        found: String,
        supported: u64,
    },
    #[error("{path}: no report files (*.json) in this directory")]
    EmptyDirectory { path: PathBuf },
}

/// The reports of one side of a comparison.
#[derive(Debug, Clone)]
pub struct Side {
    /// The argument as given.
    pub name: String,
    pub reports: Vec<(PathBuf, Report)>,
}

fn major(version: &str) -> Option<u64> {
    version.split('.').next()?.parse().ok()
}

/// Reads one report file.
pub fn read_report(path: &Path) -> Result<Report, LoadError> {
    let text = read_regular(path, REPORT_LIMIT)?;
    let value: serde_json::Value = serde_json::from_slice(&text).map_err(|e| LoadError::Json {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    let not_report = |why: &str| LoadError::NotAReport {
        path: path.to_path_buf(),
        why: why.to_string(),
    };
    let version = value
        .get("schema_version")
        .and_then(|v| v.as_str())
        .ok_or_else(|| not_report("it has no schema_version"))?;
    let supported = major(SCHEMA_VERSION).expect("our own version parses");
    match major(version) {
        None => {
            return Err(not_report(&format!(
                "schema_version '{version}' is not a version"
            )))
        }
        Some(m) if m > supported => {
            return Err(LoadError::NewerMajor {
                path: path.to_path_buf(),
                found: version.to_string(),
                supported,
            })
        }
        Some(m) if m < supported => {
            return Err(not_report(&format!(
                "schema version {version} predates linkbench 1.0 reports"
            )))
        }
        Some(_) => {}
    }
    if value
        .get("tool")
        .and_then(|t| t.get("name"))
        .and_then(|n| n.as_str())
        != Some("linkbench")
    {
        return Err(not_report("tool.name is not \"linkbench\""));
    }
    serde_json::from_value(value).map_err(|e| not_report(&e.to_string()))
}

/// Reads an argument: a report file, or every `*.json` in a directory (sorted by name).
pub fn read_side(arg: &Path) -> Result<Side, LoadError> {
    let name = arg.display().to_string();
    if arg.is_dir() {
        let mut files: Vec<PathBuf> = std::fs::read_dir(arg)
            .map_err(|source| LoadError::Read {
                path: arg.to_path_buf(),
                source,
            })?
            .filter_map(|e| e.ok().map(|e| e.path()))
            // Not `is_file()`: a FIFO or device named *.json is refused by name, never skipped.
            .filter(|p| p.extension().is_some_and(|x| x == "json") && !p.is_dir())
            .collect();
        files.sort();
        if files.is_empty() {
            return Err(LoadError::EmptyDirectory {
                path: arg.to_path_buf(),
            });
        }
        let reports = files
            .into_iter()
            .map(|p| read_report(&p).map(|r| (p, r)))
            .collect::<Result<_, _>>()?;
        return Ok(Side { name, reports });
    }
    Ok(Side {
        name,
        reports: vec![(arg.to_path_buf(), read_report(arg)?)],
    })
}
