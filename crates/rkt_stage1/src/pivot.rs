//! Entering the pod's root. `pivot_root(".", ".")` stacks the host's root on the new one, and
//! detaching it (`umount2(".", MNT_DETACH)`) leaves only stage1's tree. Until then "/.." leads
//! out of the pod into the host, so no app may start before the detach.
//!
//! umount2 returns only after an RCU grace period has passed since the detach (the kernel's
//! namespace_unlock): ~0.1 ms on an idle machine, up to 2 ms while the other CPU frees Node's
//! address space (stage0's memory holder, rkt_core's handoff.rs). The pod needs the detach, not
//! the grace period. So a bare thread (raw clone, its own small stack, raw system calls only:
//! no allocation, no locks, no errno) makes the call, and PID 1 waits only for the mount table
//! to change (`/proc/self/mounts` reports POLLPRI on every change, and umount_tree makes it
//! before the grace period) and checks that "/.." no longer leads anywhere but "/".
use crate::linux::{self, check};
use std::ffi::CStr;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};

/// Pivots into `new_root` (a mount point) and detaches the old root. `wait_for_grace` makes the
/// unmount synchronous: a process about to unshare its user namespace must have no other thread.
pub fn pivot_into(new_root: &CStr, wait_for_grace: bool) -> io::Result<()> {
    // SAFETY: valid C string.
    check(unsafe { libc::chdir(new_root.as_ptr()) })?;
    // Opened before the pivot, while the host's /proc is still reachable; the pivot's own change
    // is consumed by the first poll.
    let mounts = if wait_for_grace { None } else { open_mounts() };
    let dot = linux::cstr(".")?;
    linux::pivot_root(&dot, &dot)?;
    match mounts {
        Some(m) if detach_in_thread(&m)? => {}
        _ => {
            // SAFETY: valid C string.
            check(unsafe { libc::umount2(dot.as_ptr(), libc::MNT_DETACH) })?;
        }
    }
    // (a kernel without statx's mount id, before 5.8, has only umount2's word for it)
    if let Ok(false) = old_root_gone() {
        return Err(io::Error::other("the host's root is still reachable from the pod's root"));
    }
    // SAFETY: valid C string.
    check(unsafe { libc::chdir(c"/".as_ptr()) })?;
    Ok(())
}

fn open_mounts() -> Option<OwnedFd> {
    // SAFETY: valid C string; the descriptor is owned from here on.
    let fd = unsafe { libc::open(c"/proc/self/mounts".as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC) };
    // SAFETY: a descriptor just opened and owned by nobody else.
    (fd >= 0).then(|| unsafe { OwnedFd::from_raw_fd(fd) })
}

fn mount_id(path: &CStr) -> io::Result<u64> {
    // SAFETY: valid C string and out pointer.
    let mut sx: libc::statx = unsafe { std::mem::zeroed() };
    check(unsafe { libc::statx(libc::AT_FDCWD, path.as_ptr(), 0, libc::STATX_MNT_ID, &mut sx) })?;
    if sx.stx_mask & libc::STATX_MNT_ID == 0 {
        return Err(io::Error::from_raw_os_error(libc::ENOSYS));
    }
    Ok(sx.stx_mnt_id)
}

/// After the pivot, "/.." is the old root stacked on "/"; detached, it is "/" itself.
fn old_root_gone() -> io::Result<bool> {
    Ok(mount_id(c"/..")? == mount_id(c"/")?)
}

const PENDING: i64 = i64::MIN;
/// The thread's umount2 result (0 or -errno), PENDING until it returns.
static RESULT: AtomicI64 = AtomicI64::new(PENDING);
static STARTED: AtomicBool = AtomicBool::new(false);

#[repr(C, align(16))]
struct Stack([u8; 16 * 1024]);
static mut STACK: Stack = Stack([0; 16 * 1024]);

/// Ok(false): no thread could be started (or not on this architecture); the caller unmounts.
fn detach_in_thread(mounts: &OwnedFd) -> io::Result<bool> {
    // the wait below needs the mount ids; without them the caller waits for umount2 itself
    if !raw::SUPPORTED || old_root_gone().is_err() || STARTED.swap(true, Ordering::SeqCst) {
        return Ok(false);
    }
    let mut pfd = libc::pollfd {
        fd: mounts.as_raw_fd(),
        events: libc::POLLPRI,
        revents: 0,
    };
    // SAFETY: one valid pollfd; consumes the event the pivot made.
    unsafe { libc::poll(&mut pfd, 1, 0) };
    let flags = libc::CLONE_VM
        | libc::CLONE_FS
        | libc::CLONE_FILES
        | libc::CLONE_SIGHAND
        | libc::CLONE_THREAD
        | libc::CLONE_SYSVSEM;
    // SAFETY: the thread runs `detach` on a static stack used by nothing else (STARTED makes this
    // happen once per process), touches only RESULT and makes raw system calls; glibc's clone
    // ends it with exit(2), which ends only that thread.
    let tid = unsafe {
        let top = (std::ptr::addr_of_mut!(STACK) as *mut u8).add(std::mem::size_of::<Stack>());
        libc::clone(detach, top as *mut libc::c_void, flags, std::ptr::null_mut())
    };
    if tid < 0 {
        return Ok(false);
    }
    loop {
        if old_root_gone()? {
            return Ok(true);
        }
        match RESULT.load(Ordering::Acquire) {
            PENDING => {}
            0 if old_root_gone()? => return Ok(true),
            0 => return Err(io::Error::other("the host's root is still reachable after its unmount")),
            e => return Err(io::Error::from_raw_os_error((-e) as i32)),
        }
        pfd.revents = 0;
        // SAFETY: one valid pollfd. Woken by the detach; the timeout only bounds how late a failed
        // unmount (no change to the table) is noticed.
        unsafe { libc::poll(&mut pfd, 1, 2) };
    }
}

extern "C" fn detach(_: *mut libc::c_void) -> libc::c_int {
    // SAFETY: a raw umount2 of the shared working directory (the new root, the old one on top).
    let r = unsafe { raw::umount2(c".".as_ptr(), libc::MNT_DETACH as i64) };
    RESULT.store(r, Ordering::Release);
    0
}

/// umount2 as a bare system call: glibc's wrapper would write errno, a thread-local this thread
/// (sharing PID 1's TLS pointer) must not touch.
mod raw {
    #[cfg(target_arch = "x86_64")]
    pub const SUPPORTED: bool = true;
    #[cfg(target_arch = "x86_64")]
    pub unsafe fn umount2(path: *const libc::c_char, flags: i64) -> i64 {
        let ret: i64;
        // SAFETY: the caller passes a valid C string; the syscall clobbers rcx and r11 only.
        unsafe {
            std::arch::asm!("syscall", inlateout("rax") libc::SYS_umount2 => ret, in("rdi") path,
                in("rsi") flags, lateout("rcx") _, lateout("r11") _, options(nostack));
        }
        ret
    }

    #[cfg(target_arch = "aarch64")]
    pub const SUPPORTED: bool = true;
    #[cfg(target_arch = "aarch64")]
    pub unsafe fn umount2(path: *const libc::c_char, flags: i64) -> i64 {
        let ret: i64;
        // SAFETY: as above; svc 0 with the number in x8.
        unsafe {
            std::arch::asm!("svc 0", in("x8") libc::SYS_umount2, inlateout("x0") path as i64 => ret,
                in("x1") flags, options(nostack));
        }
        ret
    }

    #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
    pub const SUPPORTED: bool = false;
    #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
    pub unsafe fn umount2(_: *const libc::c_char, _: i64) -> i64 {
        -(libc::ENOSYS as i64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::linux::tests::in_forked_child;

    /// In a forked child with its own mount namespace: bind a directory on itself, pivot into it.
    fn pivot_in_child(wait_for_grace: bool) -> i32 {
        let root = tempfile::tempdir().unwrap();
        std::fs::write(root.path().join("marker"), b"").unwrap();
        let r = linux::cstr(root.path().to_str().unwrap()).unwrap();
        in_forked_child(|| {
            (|| -> io::Result<i32> {
                linux::unshare(libc::CLONE_NEWNS)?;
                linux::mount(None, &linux::cstr("/")?, None, libc::MS_REC | libc::MS_PRIVATE, None)?;
                linux::mount(Some(&r), &r, None, libc::MS_BIND, None)?;
                pivot_into(&r, wait_for_grace)?;
                let threaded = !wait_for_grace && raw::SUPPORTED;
                let checks = [
                    std::path::Path::new("/marker").exists(),
                    // nothing of the host is left: not /proc, not the temp dir's parent
                    !std::path::Path::new("/proc/self").exists(),
                    std::fs::read_dir("/..").unwrap().count() == 1,
                    old_root_gone()?,
                    STARTED.load(Ordering::SeqCst) == threaded,
                ];
                if threaded {
                    // the thread finishes on its own, having unmounted without error
                    for _ in 0..5000 {
                        if RESULT.load(Ordering::Acquire) != PENDING {
                            break;
                        }
                        std::thread::sleep(std::time::Duration::from_millis(1));
                    }
                    if RESULT.load(Ordering::Acquire) != 0 {
                        return Ok(3);
                    }
                }
                Ok(checks.iter().position(|ok| !ok).map_or(0, |i| 10 + i as i32))
            })()
            .unwrap_or_else(|e| {
                eprintln!("{e}");
                2
            })
        })
    }

    #[test]
    fn the_old_root_is_detached_by_a_thread() {
        assert_eq!(pivot_in_child(false), 0);
    }

    #[test]
    fn the_old_root_is_detached_synchronously_when_asked() {
        assert_eq!(pivot_in_child(true), 0);
    }

    #[test]
    fn a_failed_unmount_in_the_thread_is_an_error() {
        // A tmpfs stacked on "/" makes "/.." differ from "/" as after a pivot, and the working
        // directory is no mount point: the thread's umount2 fails (EINVAL), and so must the wait.
        let dir = tempfile::tempdir().unwrap();
        let d = linux::cstr(dir.path().to_str().unwrap()).unwrap();
        let code = in_forked_child(|| {
            (|| -> io::Result<i32> {
                linux::unshare(libc::CLONE_NEWNS)?;
                let slash = linux::cstr("/")?;
                linux::mount(None, &slash, None, libc::MS_REC | libc::MS_PRIVATE, None)?;
                // SAFETY: valid C string.
                check(unsafe { libc::chdir(d.as_ptr()) })?;
                let m = open_mounts().expect("/proc/self/mounts");
                linux::mount(Some(&linux::cstr("tmpfs")?), &slash, Some("tmpfs"), 0, None)?;
                if old_root_gone()? {
                    return Ok(6);
                }
                match detach_in_thread(&m) {
                    Err(e) if e.raw_os_error() == Some(libc::EINVAL) => Ok(0),
                    Err(e) => {
                        eprintln!("{e}");
                        Ok(4)
                    }
                    Ok(_) => Ok(5),
                }
            })()
            .unwrap_or(2)
        });
        assert_eq!(code, 0);
    }
}
