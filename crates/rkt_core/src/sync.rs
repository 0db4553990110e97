//! Durability helpers: rkt calls syncfs(2) before writing markers that declare work complete
//! (tree `rendered`, pod `prepared`), so a crash can never leave a marker over unsynced data.
use crate::error::CoreError;
use std::os::fd::AsRawFd;
use std::path::Path;

pub fn syncfs(path: &Path) -> Result<(), CoreError> {
    let f = std::fs::File::open(path).map_err(|e| CoreError::Io(format!("open {}: {e}", path.display())))?;
    // SAFETY: syncfs takes a valid open fd, owned by `f` for the duration of the call.
    let rc = unsafe { libc::syncfs(f.as_raw_fd()) };
    if rc != 0 {
        return Err(CoreError::Io(format!("syncfs {}: {}", path.display(), std::io::Error::last_os_error())));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn syncfs_of_existing_and_missing_path() {
        let d = tempfile::tempdir().unwrap();
        super::syncfs(d.path()).unwrap();
        assert!(super::syncfs(&d.path().join("missing")).is_err());
    }
}
