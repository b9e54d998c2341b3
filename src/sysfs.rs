//! Reading the kernel's small text files (`/sys`, `/proc`): one value per file, trimmed. Every reader of
//! machine facts (host facts, the clock source, NIC and RDMA ports) goes through here, under a root path
//! (normally `/`) that tests point at a fixture tree.

use std::path::Path;

/// The file's content without surrounding whitespace; `None` when it cannot be read or is empty.
pub fn read_trimmed(path: &Path) -> Option<String> {
    std::fs::read_to_string(path)
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_trimmed_and_empty_is_none() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("v"), " performance\n").unwrap();
        std::fs::write(dir.path().join("e"), "\n").unwrap();
        assert_eq!(
            read_trimmed(&dir.path().join("v")).as_deref(),
            Some("performance")
        );
        assert_eq!(read_trimmed(&dir.path().join("e")), None);
        assert_eq!(read_trimmed(&dir.path().join("missing")), None);
    }
}
