//! flock(2) on file descriptors owned by the caller (Node opens the files; the lock lives with the fd).
//! rkt coordinates processes with BSD flock on directories and key-lock files, never fcntl locks,
//! because flock locks survive execve with the fd and are released when the last fd closes.
use crate::error::CoreError;

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
    fn bad_fd_is_an_error() {
        assert!(try_lock(-1, true).is_err());
    }
}
