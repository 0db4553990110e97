//! `--private-users`: the pod's user namespace. PID 1 makes it after every mount is in place and it
//! has pivoted (so the mount, UTS, IPC and PID namespaces stay owned by the host's user namespace and
//! nothing in the pod can mount), then the original process, still privileged on the host, writes
//! the maps `0 <shift> <count>` for it; a pair of pipes orders the two steps.

use crate::linux;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

pub struct Pipe {
    pub read: OwnedFd,
    pub write: OwnedFd,
}

pub fn pipe() -> io::Result<Pipe> {
    let mut fds = [0 as RawFd; 2];
    // SAFETY: valid out array of two descriptors.
    linux::check(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) })?;
    // SAFETY: fresh descriptors we own.
    Ok(unsafe {
        Pipe {
            read: OwnedFd::from_raw_fd(fds[0]),
            write: OwnedFd::from_raw_fd(fds[1]),
        }
    })
}

fn send(fd: &OwnedFd) -> io::Result<()> {
    // SAFETY: one byte from a valid buffer.
    if unsafe { libc::write(fd.as_raw_fd(), b"1".as_ptr().cast(), 1) } == 1 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

fn wait(fd: &OwnedFd) -> io::Result<()> {
    let mut b = [0u8; 1];
    loop {
        // SAFETY: one byte into a valid buffer.
        let n = unsafe { libc::read(fd.as_raw_fd(), b.as_mut_ptr().cast(), 1) };
        if n == 1 {
            return Ok(());
        }
        let e = io::Error::last_os_error();
        if n < 0 && e.raw_os_error() == Some(libc::EINTR) {
            continue;
        }
        return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "the other side of the pod's user namespace setup is gone"));
    }
}

/// The map line for both uid_map and gid_map.
pub fn map_line(shift: u32, count: u32) -> String {
    format!("0 {shift} {count}\n")
}

/// In PID 1: enter a new user namespace, let the parent map it, become its root.
pub fn enter_new(to_parent: &OwnedFd, from_parent: &OwnedFd) -> io::Result<()> {
    linux::unshare(libc::CLONE_NEWUSER)?;
    send(to_parent)?;
    wait(from_parent)?;
    // SAFETY: plain id setters; 0 is mapped now, and the parent wrote gid_map with privilege, so
    // setgroups stays allowed.
    unsafe {
        linux::check(libc::setgroups(0, std::ptr::null()))?;
        linux::check(libc::setresgid(0, 0, 0))?;
        linux::check(libc::setresuid(0, 0, 0))?;
    }
    Ok(())
}

/// In the original process: wait for PID 1's namespace, write its maps, let it go on.
pub fn map_child(pid: libc::pid_t, shift: u32, count: u32, from_child: &OwnedFd, to_child: &OwnedFd) -> io::Result<()> {
    wait(from_child)?;
    let line = map_line(shift, count);
    for f in ["uid_map", "gid_map"] {
        let p = format!("/proc/{pid}/{f}");
        std::fs::write(&p, &line).map_err(|e| io::Error::new(e.kind(), format!("failed to write {p}: {e}")))?;
    }
    send(to_child)
}

#[cfg(test)]
mod tests {
    #[test]
    fn map() {
        assert_eq!(super::map_line(65536, 65536), "0 65536 65536\n");
    }
}
