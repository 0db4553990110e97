//! A data dir's fixed directories made sure of in one call: every command that opens the store
//! needs eight of them, and eight calls through Node's fs.mkdirSync (a mkdir and a stat each, plus
//! Node's argument handling) were most of a millisecond of every start.
use crate::error::CoreError;
use std::os::unix::fs::DirBuilderExt;
use std::path::Path;

/// Creates each directory that does not exist yet, parents included, with `mode` (less the umask),
/// as `mkdir -p` does; an existing directory is left as it is.
pub fn create_dirs(paths: &[&Path], mode: u32) -> Result<(), CoreError> {
    for p in paths {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(mode)
            .create(p)
            .map_err(|e| CoreError::Io(format!("cannot create {}: {e}", p.display())))?;
    }
    Ok(())
}

/// Creates one directory with `mode` (less the umask); an existing one is EEXIST, a missing
/// parent ENOTFOUND: for a directory that must be new (a pod's, named by a fresh UUID).
pub fn make_dir(path: &Path, mode: u32) -> Result<(), CoreError> {
    std::fs::DirBuilder::new().mode(mode).create(path).map_err(|e| CoreError::io(format!("cannot create {}", path.display()), e))
}

/// FS_TOPDIR_FL (`chattr +T`), from linux/fs.h.
const FS_TOPDIR_FL: libc::c_long = 0x0002_0000;

fn dir_flags(dir: &std::fs::File) -> Option<libc::c_long> {
    use std::os::fd::AsRawFd;
    let mut flags: libc::c_long = 0;
    // SAFETY: FS_IOC_GETFLAGS writes one long through a valid pointer on an open descriptor.
    (unsafe { libc::ioctl(dir.as_raw_fd(), libc::FS_IOC_GETFLAGS, &mut flags) } == 0).then_some(flags)
}

/// Marks `dir` as a top of unrelated directory trees (ext2/3/4's FS_TOPDIR_FL, `chattr +T`), so
/// that each directory made in it starts in a block group of its own (the Orlov allocator)
/// instead of its parent's. For the directory new pods are made in: a pod's ~50 files and
/// directories then share a group with no other pod. Without a journal, ext4 will not reuse an
/// inode freed in the last 60 seconds (6 minutes while its block is dirty) and looks at every
/// such free inode of the group on each allocation, so in a group where gc removed the pods
/// before, a mkdir took 60 µs and more instead of 8 (4 ms of every `rkt run` here). Best effort:
/// false when the filesystem has no such flag or the directory cannot be opened.
pub fn mark_top_dir(dir: &Path) -> bool {
    use std::os::fd::AsRawFd;
    let Ok(f) = std::fs::File::open(dir) else { return false };
    let Some(flags) = dir_flags(&f) else { return false };
    if flags & FS_TOPDIR_FL != 0 {
        return true;
    }
    let new = flags | FS_TOPDIR_FL;
    // SAFETY: FS_IOC_SETFLAGS reads one long through a valid pointer on an open descriptor.
    unsafe { libc::ioctl(f.as_raw_fd(), libc::FS_IOC_SETFLAGS, &new) == 0 }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn creates_missing_dirs_with_parents_and_keeps_existing_ones() {
        let t = tempfile::tempdir().unwrap();
        let (a, b) = (t.path().join("x/y/a"), t.path().join("b"));
        std::fs::create_dir(&b).unwrap();
        std::fs::set_permissions(&b, std::fs::Permissions::from_mode(0o700)).unwrap();
        create_dirs(&[&a, &b], 0o755).unwrap();
        assert!(a.is_dir());
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        // SAFETY: reading the umask requires setting it; it is put back at once.
        let umask = unsafe {
            let m = libc::umask(0o022);
            libc::umask(m);
            m as u32
        };
        assert_eq!(mode(&a), 0o755 & !umask);
        assert_eq!(mode(&b), 0o700, "an existing directory keeps its mode");
        create_dirs(&[&a, &b], 0o755).unwrap(); // again: nothing to do
    }

    #[test]
    fn a_file_in_the_way_is_an_error_naming_it() {
        let t = tempfile::tempdir().unwrap();
        let f = t.path().join("f");
        std::fs::write(&f, "").unwrap();
        let e = create_dirs(&[&f.join("sub")], 0o755).unwrap_err().to_string();
        assert!(e.contains(&f.join("sub").display().to_string()), "{e}");
    }

    #[test]
    fn a_directory_is_marked_top_where_the_filesystem_has_the_flag() {
        let t = tempfile::tempdir().unwrap();
        let d = t.path().join("embryo");
        std::fs::create_dir(&d).unwrap();
        let supported = dir_flags(&std::fs::File::open(&d).unwrap()).is_some();
        assert_eq!(mark_top_dir(&d), supported);
        if supported {
            let flags = dir_flags(&std::fs::File::open(&d).unwrap()).unwrap();
            assert_ne!(flags & FS_TOPDIR_FL, 0, "flags {flags:#x}");
            assert!(mark_top_dir(&d), "marking again is a no-op that succeeds");
        }
        assert!(!mark_top_dir(&t.path().join("missing")));
        // /proc has no such flag: refused, not an error
        assert!(!mark_top_dir(Path::new("/proc")));
    }

    #[test]
    fn make_dir_makes_a_new_one_only() {
        let t = tempfile::tempdir().unwrap();
        let d = t.path().join("pod");
        make_dir(&d, 0o750).unwrap();
        assert!(d.is_dir());
        assert_eq!(make_dir(&d, 0o750).unwrap_err().code(), "EEXIST");
        assert_eq!(make_dir(&t.path().join("no/parent"), 0o750).unwrap_err().code(), "ENOTFOUND");
    }
}
