//! A file's bytes mapped read-only into memory, for text that lives as long as the process.
//!
//! bin/rkt compiles the CLI bundle (~400 KB) at every start. Read into a Buffer and then decoded
//! into a V8 string, its bytes are copied twice into freshly faulted pages, and the string fills
//! most of V8's young generation, which then needs a scavenge. Mapped, the pages are the page
//! cache's own (MAP_POPULATE maps them in one go) and V8 can use them in place as an external
//! string.
//!
//! The mapping is of the inode that was opened: a file replaced by rename (as the bundle's build
//! and npm do) leaves it intact. A file truncated in place under a mapping would fault on access;
//! the length is fixed when the mapping is made, so nothing past it is ever read.
use std::fs::File;
use std::os::fd::AsRawFd;
use std::path::Path;

use crate::error::CoreError;

pub struct MappedFile {
    ptr: *mut libc::c_void,
    len: usize,
}

// SAFETY: the mapping is read-only and owned by this value alone.
unsafe impl Send for MappedFile {}

impl MappedFile {
    /// Maps `path` whole. An empty file cannot be mapped and is an error, as is anything not a
    /// regular file.
    pub fn open(path: &Path) -> Result<MappedFile, CoreError> {
        let io = |e: std::io::Error| CoreError::Io(format!("{}: {e}", path.display()));
        let f = File::open(path).map_err(io)?;
        let meta = f.metadata().map_err(io)?;
        if !meta.is_file() {
            return Err(CoreError::Io(format!("{}: not a regular file", path.display())));
        }
        let len = usize::try_from(meta.len()).map_err(|_| CoreError::Io(format!("{}: too large to map", path.display())))?;
        if len == 0 {
            return Err(CoreError::Io(format!("{}: empty file", path.display())));
        }
        // SAFETY: a fresh read-only private mapping of an open fd; the fd may close after mmap.
        let ptr = unsafe { libc::mmap(std::ptr::null_mut(), len, libc::PROT_READ, libc::MAP_PRIVATE | libc::MAP_POPULATE, f.as_raw_fd(), 0) };
        if ptr == libc::MAP_FAILED {
            return Err(io(std::io::Error::last_os_error()));
        }
        Ok(MappedFile { ptr, len })
    }

    pub fn as_bytes(&self) -> &[u8] {
        // SAFETY: `len` bytes at `ptr` stay mapped until drop.
        unsafe { std::slice::from_raw_parts(self.ptr as *const u8, self.len) }
    }
}

impl Drop for MappedFile {
    fn drop(&mut self) {
        // SAFETY: unmaps exactly the mapping made in open.
        unsafe { libc::munmap(self.ptr, self.len) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_a_file_and_keeps_it_after_the_file_is_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("bundle.js");
        std::fs::write(&p, b"first text").unwrap();
        let m = MappedFile::open(&p).unwrap();
        // replaced by rename, as the build and npm replace files: the mapping keeps the old inode
        let tmp = dir.path().join("bundle.js.tmp");
        std::fs::write(&tmp, b"second, longer text").unwrap();
        std::fs::rename(&tmp, &p).unwrap();
        assert_eq!(m.as_bytes(), b"first text");
        drop(m);
        assert_eq!(MappedFile::open(&p).unwrap().as_bytes(), b"second, longer text");
    }

    #[test]
    fn empty_missing_and_non_files_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let empty = dir.path().join("empty");
        std::fs::write(&empty, b"").unwrap();
        for (p, want) in [(empty, "empty file"), (dir.path().join("missing"), "No such file"), (dir.path().to_path_buf(), "not a regular file")] {
            let err = MappedFile::open(&p).err().expect("an error").to_string();
            assert!(err.contains(want), "{err}");
        }
    }
}
