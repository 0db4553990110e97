//! flock(2) on file descriptors owned by the caller (Node opens the files; the lock lives with the fd).
//! rkt coordinates processes with BSD flock on directories and key-lock files, never fcntl locks,
//! because flock locks survive execve with the fd and are released when the last fd closes.
use crate::error::CoreError;
use std::fs::OpenOptions;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::Path;

fn op(exclusive: bool, nonblocking: bool) -> libc::c_int {
    let mut op = if exclusive { libc::LOCK_EX } else { libc::LOCK_SH };
    if nonblocking {
        op |= libc::LOCK_NB;
    }
    op
}

/// Blocks until the lock is granted (retrying on EINTR).
pub fn lock(fd: i32, exclusive: bool) -> Result<(), CoreError> {
    loop {
        // SAFETY: flock only reads the integer fd; an invalid fd yields EBADF.
        let rc = unsafe { libc::flock(fd, op(exclusive, false)) };
        if rc == 0 {
            return Ok(());
        }
        let err = std::io::Error::last_os_error();
        if err.raw_os_error() != Some(libc::EINTR) {
            return Err(CoreError::Io(format!("flock of fd {fd}: {err}")));
        }
    }
}

/// Returns false when another holder has a conflicting lock.
pub fn try_lock(fd: i32, exclusive: bool) -> Result<bool, CoreError> {
    // SAFETY: as above.
    let rc = unsafe { libc::flock(fd, op(exclusive, true)) };
    if rc == 0 {
        return Ok(true);
    }
    let err = std::io::Error::last_os_error();
    match err.raw_os_error() {
        Some(libc::EWOULDBLOCK) => Ok(false),
        _ => Err(CoreError::Io(format!("flock of fd {fd}: {err}"))),
    }
}

/// A per-key lock file (`<dir>/<key>`) opened, created if missing (its directory too, 0777 less the
/// umask), and flocked without waiting, in one call: the common case of a free lock, which from
/// Node took a mkdir, an open, a flock and two stats, each with its own argument handling and Stats
/// object (three such locks per `rkt run`). The lock counts only if the path still names the locked
/// file afterwards (gc may delete key lock files), so a replaced file is opened again, at most 10
/// times. Ok(None): another holder has a conflicting lock (the caller waits its own way).
pub fn try_lock_key_file(path: &Path, exclusive: bool) -> Result<Option<OwnedFd>, CoreError> {
    let open = || OpenOptions::new().read(true).write(false).create(false).custom_flags(libc::O_CREAT | libc::O_CLOEXEC).mode(0o660).open(path);
    let err = |what: &str, e: std::io::Error| CoreError::Io(format!("cannot {what} {}: {e}", path.display()));
    for _ in 0..10 {
        let file = match open() {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                if let Some(dir) = path.parent() {
                    std::fs::DirBuilder::new().recursive(true).create(dir).map_err(|e| err("create the directory of", e))?;
                }
                open().map_err(|e| err("open", e))?
            }
            Err(e) => return Err(err("open", e)),
        };
        if !try_lock(file.as_raw_fd(), exclusive)? {
            return Ok(None);
        }
        let held = file.metadata().map_err(|e| err("stat", e))?;
        match std::fs::metadata(path) {
            Ok(now) if now.dev() == held.dev() && now.ino() == held.ino() => return Ok(Some(file.into())),
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(err("stat", e)),
        }
        // replaced or removed while we locked it: this lock guards nothing
    }
    Err(CoreError::Io(format!("cannot lock {}: lock file keeps changing", path.display())))
}

/// A directory opened (read-only, O_DIRECTORY, close-on-exec) and flocked without waiting, in one
/// call: the store's lock and a new pod's in `rkt run`. Ok(None): another holder has a
/// conflicting lock (the caller waits its own way).
pub fn try_lock_dir(path: &Path, exclusive: bool) -> Result<Option<OwnedFd>, CoreError> {
    let dir = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_DIRECTORY | libc::O_CLOEXEC)
        .open(path)
        .map_err(|e| CoreError::io(format!("cannot open {}", path.display()), e))?;
    if !try_lock(dir.as_raw_fd(), exclusive)? {
        return Ok(None);
    }
    Ok(Some(dir.into()))
}

/// Closes a lock's fd, which drops its flock.
pub fn release(fd: i32) -> Result<(), CoreError> {
    // SAFETY: closing an integer fd the caller owns; nothing else is touched.
    let rc = unsafe { libc::close(fd) };
    if rc == 0 {
        Ok(())
    } else {
        Err(CoreError::Io(format!("close of fd {fd}: {}", std::io::Error::last_os_error())))
    }
}

pub fn unlock(fd: i32) -> Result<(), CoreError> {
    // SAFETY: as above.
    let rc = unsafe { libc::flock(fd, libc::LOCK_UN) };
    if rc == 0 {
        Ok(())
    } else {
        Err(CoreError::Io(format!("unlock of fd {fd}: {}", std::io::Error::last_os_error())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsRawFd;

    #[test]
    fn exclusive_lock_excludes_second_open_file_description() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("k");
        let a = std::fs::File::create(&p).unwrap();
        let b = std::fs::File::open(&p).unwrap();
        lock(a.as_raw_fd(), true).unwrap();
        assert!(!try_lock(b.as_raw_fd(), false).unwrap());
        unlock(a.as_raw_fd()).unwrap();
        assert!(try_lock(b.as_raw_fd(), false).unwrap());
        // shared locks coexist
        assert!(try_lock(a.as_raw_fd(), false).unwrap());
    }

    #[test]
    fn dir_lock_is_taken_when_free_and_reports_a_conflict() {
        let dir = tempfile::tempdir().unwrap();
        let a = try_lock_dir(dir.path(), true).unwrap().expect("a free lock is taken");
        assert!(try_lock_dir(dir.path(), false).unwrap().is_none(), "an exclusive holder excludes a reader");
        // SAFETY: F_GETFD on an fd this test owns.
        assert_ne!(unsafe { libc::fcntl(a.as_raw_fd(), libc::F_GETFD) } & libc::FD_CLOEXEC, 0, "close-on-exec");
        drop(a);
        let r1 = try_lock_dir(dir.path(), false).unwrap().expect("free again once the fd is closed");
        let r2 = try_lock_dir(dir.path(), false).unwrap().expect("shared locks coexist");
        assert!(try_lock_dir(dir.path(), true).unwrap().is_none());
        drop((r1, r2));
        use std::os::fd::IntoRawFd;
        let fd = try_lock_dir(dir.path(), true).unwrap().unwrap().into_raw_fd();
        release(fd).unwrap();
        assert!(try_lock_dir(dir.path(), true).unwrap().is_some(), "released by the close");
        assert!(release(fd).is_err(), "an fd closed already");
        let missing = try_lock_dir(&dir.path().join("missing"), true).unwrap_err();
        assert_eq!(missing.code(), "ENOTFOUND");
        std::fs::write(dir.path().join("f"), b"").unwrap();
        assert!(try_lock_dir(&dir.path().join("f"), true).is_err(), "a file is not a directory");
    }

    #[test]
    fn key_file_lock_creates_file_and_dir_and_reports_a_conflict() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("locks/sub/k");
        let a = try_lock_key_file(&p, true).unwrap().expect("a free lock is taken");
        assert!(p.is_file(), "the file and its directories are created");
        assert!(try_lock_key_file(&p, false).unwrap().is_none(), "an exclusive holder excludes a reader");
        drop(a);
        let r1 = try_lock_key_file(&p, false).unwrap().expect("free again once the fd is closed");
        let r2 = try_lock_key_file(&p, false).unwrap().expect("shared locks coexist");
        assert!(try_lock_key_file(&p, true).unwrap().is_none());
        drop((r1, r2));
        // the fd names the file the path names
        let fd = try_lock_key_file(&p, true).unwrap().unwrap();
        let held = std::fs::File::from(fd).metadata().unwrap();
        assert_eq!(held.ino(), std::fs::metadata(&p).unwrap().ino());
    }

    #[test]
    fn key_file_lock_refuses_what_it_cannot_open() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("plain");
        std::fs::write(&file, b"").unwrap();
        // a parent that is a file: neither the open nor the directory can be made
        assert!(try_lock_key_file(&file.join("k"), true).is_err());
        // a directory where the lock file should be
        std::fs::create_dir(dir.path().join("d")).unwrap();
        assert!(try_lock_key_file(&dir.path().join("d"), true).is_err());
    }

    #[test]
    fn bad_fd_is_an_error() {
        assert!(try_lock(-1, true).is_err());
    }
}
