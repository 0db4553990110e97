//! stat(2) of a path, following symlinks as fs.statSync does, with a missing path as None rather
//! than an error. `rkt run` stats some fourteen paths on its way (config dirs, the WAL, the image
//! argument as a file, the bundle): Node's statSync runs its own JS cold on its first call
//! (0.3 to 0.4 ms) and builds a Stats object on every one; here a call costs its syscall.
use crate::error::CoreError;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

#[derive(Debug, Clone, PartialEq)]
pub struct PathStat {
    /// "file", "dir" or "other"
    pub kind: &'static str,
    pub size: u64,
    /// as Node computes mtimeMs: seconds * 1e3 + nanoseconds / 1e6
    pub mtime_ms: f64,
    pub dev: u64,
}

pub fn stat(path: &Path) -> Result<Option<PathStat>, CoreError> {
    let m = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(CoreError::io(format!("cannot stat {}", path.display()), e)),
    };
    let kind = if m.is_file() {
        "file"
    } else if m.is_dir() {
        "dir"
    } else {
        "other"
    };
    Ok(Some(PathStat { kind, size: m.len(), mtime_ms: m.mtime() as f64 * 1e3 + m.mtime_nsec() as f64 / 1e6, dev: m.dev() }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_sizes_and_missing_paths() {
        let d = tempfile::tempdir().unwrap();
        let f = d.path().join("f");
        std::fs::write(&f, b"12345").unwrap();
        let s = stat(&f).unwrap().unwrap();
        assert_eq!((s.kind, s.size), ("file", 5));
        assert_eq!(s.dev, std::fs::metadata(d.path()).unwrap().dev());
        assert_eq!(stat(d.path()).unwrap().unwrap().kind, "dir");
        assert_eq!(stat(Path::new("/dev/null")).unwrap().unwrap().kind, "other");
        assert_eq!(stat(&d.path().join("missing")).unwrap(), None);
    }

    #[test]
    fn follows_symlinks_and_a_dangling_one_is_missing() {
        let d = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(d.path(), d.path().join("to-dir")).unwrap();
        std::os::unix::fs::symlink("nowhere", d.path().join("dangling")).unwrap();
        assert_eq!(stat(&d.path().join("to-dir")).unwrap().unwrap().kind, "dir");
        assert_eq!(stat(&d.path().join("dangling")).unwrap(), None);
    }

    #[test]
    fn a_file_used_as_a_directory_is_an_error_naming_the_path() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("f"), b"").unwrap();
        let e = stat(&d.path().join("f/x")).unwrap_err();
        assert!(e.to_string().contains("f/x"), "{e}");
    }

    #[test]
    fn mtime_is_nodes_mtime_ms() {
        let d = tempfile::tempdir().unwrap();
        let f = d.path().join("f");
        std::fs::write(&f, b"").unwrap();
        let m = std::fs::metadata(&f).unwrap();
        let s = stat(&f).unwrap().unwrap();
        assert_eq!(s.mtime_ms, m.mtime() as f64 * 1e3 + m.mtime_nsec() as f64 / 1e6);
        assert!(s.mtime_ms > 1.6e12, "milliseconds since the epoch: {}", s.mtime_ms);
    }
}
