//! Thin wrappers over the Linux calls stage1 makes, and the real `Syscalls`. Paths inside an app root
//! are always resolved with `openat2(RESOLVE_IN_ROOT)`: an absolute or `..` symlink in the image is
//! taken relative to the app root, the way the app itself will see it, and never reaches the host.

use crate::mounts::{RelPath, Source, Syscalls};
use std::ffi::{CString, OsStr};
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

pub fn cstr(s: impl AsRef<OsStr>) -> io::Result<CString> {
    CString::new(s.as_ref().as_bytes()).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))
}

pub fn check(r: libc::c_int) -> io::Result<libc::c_int> {
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

pub fn openat2(
    dirfd: RawFd,
    path: &str,
    flags: libc::c_int,
    mode: u32,
    resolve: u64,
) -> io::Result<OwnedFd> {
    let p = cstr(if path.is_empty() { "." } else { path })?;
    // SAFETY: open_how is plain data; zeroed is a valid value for all its fields.
    let mut how: libc::open_how = unsafe { std::mem::zeroed() };
    how.flags = (flags | libc::O_CLOEXEC) as u64;
    how.mode = if flags & libc::O_CREAT != 0 {
        mode as u64
    } else {
        0
    };
    how.resolve = resolve;
    // SAFETY: valid C string and open_how of the size passed.
    let fd = unsafe {
        libc::syscall(
            libc::SYS_openat2,
            dirfd,
            p.as_ptr(),
            &how as *const libc::open_how,
            std::mem::size_of::<libc::open_how>(),
        )
    };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: a fresh descriptor we own.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
}

const IN_ROOT: u64 = libc::RESOLVE_IN_ROOT | libc::RESOLVE_NO_MAGICLINKS;

pub fn open_dir(path: &Path) -> io::Result<OwnedFd> {
    let p = cstr(path)?;
    // SAFETY: valid C string.
    let fd = check(unsafe {
        libc::open(
            p.as_ptr(),
            libc::O_PATH | libc::O_DIRECTORY | libc::O_CLOEXEC,
        )
    })?;
    // SAFETY: a fresh descriptor we own.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Opens `rel` inside `root` as an O_PATH descriptor, following symlinks only within `root`.
pub fn open_in_root(root: &Path, rel: &RelPath, extra: libc::c_int) -> io::Result<OwnedFd> {
    let rootfd = open_dir(root)?;
    openat2(
        rootfd.as_raw_fd(),
        rel.as_str(),
        libc::O_PATH | extra,
        0,
        IN_ROOT,
    )
}

pub fn fd_path(fd: &OwnedFd) -> CString {
    CString::new(format!("/proc/self/fd/{}", fd.as_raw_fd())).expect("no NUL")
}

fn errno(e: &io::Error) -> i32 {
    e.raw_os_error().unwrap_or(0)
}

/// Creates `rel` and missing parents inside root, one component at a time, so each step is resolved
/// in the root again. Returns the directory.
/// `rel` with every symlink in it replaced by its target, evaluated as if `root` were `/` (an
/// absolute target restarts at the root, `..` stops there): rkt's EvaluateSymlinksInsideApp. Missing
/// components are kept as they are, so the result is where a mount target will be created.
pub fn resolve_in_root(rootfd: &OwnedFd, rel: &RelPath) -> io::Result<RelPath> {
    let mut todo: std::collections::VecDeque<String> =
        rel.components().map(str::to_string).collect();
    let mut done: Vec<String> = Vec::new();
    let mut links = 0;
    while let Some(c) = todo.pop_front() {
        match c.as_str() {
            "" | "." => continue,
            ".." => {
                done.pop();
                continue;
            }
            _ => {}
        }
        let parent = openat2(
            rootfd.as_raw_fd(),
            &done.join("/"),
            libc::O_PATH | libc::O_DIRECTORY,
            0,
            IN_ROOT,
        );
        let target = match parent {
            Ok(dir) => {
                let name = cstr(&c)?;
                let mut buf = vec![0u8; libc::PATH_MAX as usize];
                // SAFETY: valid dirfd, C string and buffer of the size passed.
                let n = unsafe {
                    libc::readlinkat(
                        dir.as_raw_fd(),
                        name.as_ptr(),
                        buf.as_mut_ptr().cast(),
                        buf.len(),
                    )
                };
                (n >= 0).then(|| {
                    buf.truncate(n as usize);
                    String::from_utf8_lossy(&buf).into_owned()
                })
            }
            // a missing parent: nothing below it can be a symlink yet
            Err(e) if errno(&e) == libc::ENOENT => None,
            Err(e) => return Err(e),
        };
        match target {
            Some(t) => {
                links += 1;
                if links > 40 {
                    return Err(io::Error::from_raw_os_error(libc::ELOOP));
                }
                if t.starts_with('/') {
                    done.clear();
                }
                for (i, part) in t.split('/').enumerate() {
                    todo.insert(i, part.to_string());
                }
            }
            None => done.push(c),
        }
    }
    RelPath::new(&done.join("/")).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))
}

fn mkdir_in_root(rootfd: &OwnedFd, rel: &RelPath, mode: u32) -> io::Result<OwnedFd> {
    // Most targets exist already (an image's /proc, /dev, /tmp): one lookup, resolved inside the
    // root by the kernel just as the walk below resolves it. Anything else takes the walk.
    if !rel.is_root() {
        if let Ok(fd) = openat2(rootfd.as_raw_fd(), rel.as_str(), libc::O_PATH | libc::O_DIRECTORY, 0, IN_ROOT) {
            return Ok(fd);
        }
    }
    let rel = &resolve_in_root(rootfd, rel)?;
    let mut cur = openat2(
        rootfd.as_raw_fd(),
        "",
        libc::O_PATH | libc::O_DIRECTORY,
        0,
        IN_ROOT,
    )?;
    let mut prefix = String::new();
    for comp in rel.components() {
        if !prefix.is_empty() {
            prefix.push('/');
        }
        prefix.push_str(comp);
        match openat2(
            rootfd.as_raw_fd(),
            &prefix,
            libc::O_PATH | libc::O_DIRECTORY,
            0,
            IN_ROOT,
        ) {
            Ok(fd) => cur = fd,
            Err(e) if errno(&e) == libc::ENOENT => {
                let c = cstr(comp)?;
                // SAFETY: valid dirfd and C string.
                let r = unsafe { libc::mkdirat(cur.as_raw_fd(), c.as_ptr(), mode) };
                if r != 0 {
                    let e = io::Error::last_os_error();
                    if errno(&e) != libc::EEXIST {
                        return Err(e);
                    }
                }
                // A dangling symlink made mkdirat fail with EEXIST; this open then fails and says so.
                cur = openat2(
                    rootfd.as_raw_fd(),
                    &prefix,
                    libc::O_PATH | libc::O_DIRECTORY,
                    0,
                    IN_ROOT,
                )?;
            }
            Err(e) => return Err(e),
        }
    }
    Ok(cur)
}

/// Mount flags of the filesystem holding `fd`, in MS_* terms, for a remount that must keep them.
fn mount_flags(fd: &OwnedFd) -> io::Result<u64> {
    // SAFETY: statvfs is plain data, filled by the call.
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: valid fd and out pointer.
    check(unsafe { libc::fstatvfs(fd.as_raw_fd(), &mut st) })?;
    let f = st.f_flag;
    let mut ms = 0u64;
    for (st_flag, ms_flag) in [
        (libc::ST_NOSUID, libc::MS_NOSUID),
        (libc::ST_NODEV, libc::MS_NODEV),
        (libc::ST_NOEXEC, libc::MS_NOEXEC),
        (libc::ST_NOATIME, libc::MS_NOATIME),
        (libc::ST_NODIRATIME, libc::MS_NODIRATIME),
        (libc::ST_RELATIME, libc::MS_RELATIME),
    ] {
        if f & st_flag != 0 {
            ms |= ms_flag;
        }
    }
    Ok(ms)
}

pub fn mount(
    source: Option<&CString>,
    target: &CString,
    fstype: Option<&str>,
    flags: u64,
    data: Option<&str>,
) -> io::Result<()> {
    let fstype = fstype.map(cstr).transpose()?;
    let data = data.map(cstr).transpose()?;
    // SAFETY: all pointers are valid C strings or null.
    check(unsafe {
        libc::mount(
            source.map_or(std::ptr::null(), |s| s.as_ptr()),
            target.as_ptr(),
            fstype.as_ref().map_or(std::ptr::null(), |s| s.as_ptr()),
            flags as libc::c_ulong,
            data.as_ref()
                .map_or(std::ptr::null(), |s| s.as_ptr() as *const libc::c_void),
        )
    })?;
    Ok(())
}

/// The plan's steps are all relative to one app root, so its descriptor is kept between them
/// (reopening it was two of the few syscalls each step makes). A mount on the root itself hides the
/// directory that descriptor holds: such a mount drops it, and the next step opens the root anew.
#[derive(Default)]
pub struct LinuxSyscalls {
    root: std::cell::RefCell<Option<(std::path::PathBuf, std::rc::Rc<OwnedFd>)>>,
}

impl LinuxSyscalls {
    fn root_fd(&self, root: &Path) -> io::Result<std::rc::Rc<OwnedFd>> {
        let mut cached = self.root.borrow_mut();
        if let Some((p, fd)) = cached.as_ref() {
            if p == root {
                return Ok(fd.clone());
            }
        }
        let fd = std::rc::Rc::new(open_dir(root)?);
        *cached = Some((root.to_path_buf(), fd.clone()));
        Ok(fd)
    }

    fn open_in(&self, root: &Path, rel: &RelPath, extra: libc::c_int) -> io::Result<OwnedFd> {
        openat2(self.root_fd(root)?.as_raw_fd(), rel.as_str(), libc::O_PATH | extra, 0, IN_ROOT)
    }
}

impl Syscalls for LinuxSyscalls {
    fn exists(&self, root: &Path, p: &RelPath) -> io::Result<bool> {
        match self.open_in(root, p, libc::O_NOFOLLOW) {
            Ok(_) => Ok(true),
            Err(e) if errno(&e) == libc::ENOENT => Ok(false),
            Err(e) => Err(e),
        }
    }

    fn mkdir(&self, root: &Path, p: &RelPath, mode: u32) -> io::Result<()> {
        mkdir_in_root(&*self.root_fd(root)?, p, mode).map(drop)
    }

    fn create_file(&self, root: &Path, p: &RelPath) -> io::Result<()> {
        let rootfd = self.root_fd(root)?;
        match openat2(rootfd.as_raw_fd(), p.as_str(), libc::O_PATH, 0, IN_ROOT) {
            Ok(_) => return Ok(()),
            Err(e) if errno(&e) == libc::ENOENT => {}
            Err(e) => return Err(e),
        }
        let p = &resolve_in_root(&rootfd, p)?;
        if let Some((parent, _)) = p.split_last() {
            mkdir_in_root(&rootfd, &parent, 0o755)?;
        }
        // Through a dangling symlink this creates its target, still resolved inside the root.
        openat2(
            rootfd.as_raw_fd(),
            p.as_str(),
            libc::O_CREAT | libc::O_WRONLY | libc::O_NOCTTY | libc::O_NONBLOCK,
            0o644,
            IN_ROOT,
        )
        .map(drop)
    }

    fn symlink(&self, root: &Path, p: &RelPath, target: &str) -> io::Result<()> {
        let (parent, name) = p
            .split_last()
            .ok_or_else(|| io::Error::from_raw_os_error(libc::EEXIST))?;
        let dir = mkdir_in_root(&*self.root_fd(root)?, &parent, 0o755)?;
        let (t, n) = (cstr(target)?, cstr(name)?);
        // SAFETY: valid C strings and dirfd.
        check(unsafe { libc::symlinkat(t.as_ptr(), dir.as_raw_fd(), n.as_ptr()) })?;
        Ok(())
    }

    fn mknod(&self, root: &Path, p: &RelPath, major: u32, minor: u32) -> io::Result<()> {
        let (parent, name) = p
            .split_last()
            .ok_or_else(|| io::Error::from_raw_os_error(libc::EEXIST))?;
        let dir = mkdir_in_root(&*self.root_fd(root)?, &parent, 0o755)?;
        let n = cstr(name)?;
        // SAFETY: valid C string and dirfd.
        check(unsafe {
            libc::mknodat(dir.as_raw_fd(), n.as_ptr(), libc::S_IFCHR | 0o666, libc::makedev(major, minor))
        })?;
        // the umask took bits off; the node was just made in the pod's own /dev, nothing swapped it
        // SAFETY: as above.
        check(unsafe { libc::fchmodat(dir.as_raw_fd(), n.as_ptr(), 0o666, 0) })?;
        Ok(())
    }

    fn mount(
        &self,
        source: &Source,
        root: &Path,
        target: &RelPath,
        fstype: Option<&str>,
        flags: u64,
        data: Option<&str>,
    ) -> io::Result<()> {
        let target_fd = self.open_in(root, target, 0)?;
        // Kept open until the mount is done: the /proc/self/fd path is only valid while it is.
        let mut source_fd = None;
        let src = match source {
            Source::Fs(t) => cstr(t)?,
            Source::Host(p) => cstr(p)?,
            Source::InRoot(p) => {
                let fd = self.open_in(root, p, 0)?;
                let s = fd_path(&fd);
                source_fd = Some(fd);
                s
            }
        };
        let r = mount(Some(&src), &fd_path(&target_fd), fstype, flags, data);
        drop(source_fd);
        if target.is_root() {
            *self.root.borrow_mut() = None;
        }
        r
    }

    fn remount_read_only(&self, root: &Path, target: &RelPath) -> io::Result<()> {
        let fd = self.open_in(root, target, 0)?;
        let keep = mount_flags(&fd)?;
        mount(
            None,
            &fd_path(&fd),
            None,
            libc::MS_BIND | libc::MS_REMOUNT | libc::MS_RDONLY | keep,
            None,
        )
    }
}

/// The app rootfs as the user resolver needs it, read without leaving the root.
pub struct RootfsFiles<'a>(pub &'a Path);

impl RootfsFiles<'_> {
    fn read(&self, p: &str) -> Option<String> {
        let rel = RelPath::new(p).ok()?;
        let rootfd = open_dir(self.0).ok()?;
        let fd = openat2(
            rootfd.as_raw_fd(),
            rel.as_str(),
            libc::O_RDONLY | libc::O_NOCTTY | libc::O_NONBLOCK,
            0,
            IN_ROOT,
        )
        .ok()?;
        let mut s = String::new();
        io::Read::read_to_string(&mut std::fs::File::from(fd), &mut s).ok()?;
        Some(s)
    }
}

impl crate::user::RootfsDb for RootfsFiles<'_> {
    fn passwd(&self) -> Option<String> {
        self.read("etc/passwd")
    }
    fn group(&self) -> Option<String> {
        self.read("etc/group")
    }
    fn owner(&self, path: &str) -> Option<(u32, u32)> {
        let fd = open_in_root(self.0, &RelPath::new(path).ok()?, 0).ok()?;
        // SAFETY: stat is plain data, filled by the call.
        let mut st: libc::stat = unsafe { std::mem::zeroed() };
        // SAFETY: valid fd and out pointer; O_PATH descriptors support fstat.
        check(unsafe { libc::fstat(fd.as_raw_fd(), &mut st) }).ok()?;
        Some((st.st_uid, st.st_gid))
    }
}

/// fork(2), straight into the cgroup v2 directory `cgroup` when given (clone3 with
/// CLONE_INTO_CGROUP). Returns the pid (0 in the child) and whether the child is in that cgroup;
/// where the kernel refuses (no clone3, or no permission from a user namespace) it is a plain fork.
pub fn fork_into_cgroup(cgroup: Option<RawFd>) -> io::Result<(libc::pid_t, bool)> {
    if let Some(dir) = cgroup {
        #[repr(C)]
        #[derive(Default)]
        struct CloneArgs {
            flags: u64,
            pidfd: u64,
            child_tid: u64,
            parent_tid: u64,
            exit_signal: u64,
            stack: u64,
            stack_size: u64,
            tls: u64,
            set_tid: u64,
            set_tid_size: u64,
            cgroup: u64,
        }
        const CLONE_INTO_CGROUP: u64 = 0x2_0000_0000;
        let args = CloneArgs {
            flags: CLONE_INTO_CGROUP,
            exit_signal: libc::SIGCHLD as u64,
            cgroup: dir as u64,
            ..CloneArgs::default()
        };
        // SAFETY: with no stack and no CLONE_VM this is fork(2): the child runs on a copy of this
        // process, and only calls async-signal-safe functions before exec. (PID 1's only other
        // thread, pivot.rs's, holds no lock and never allocates.)
        let r = unsafe {
            libc::syscall(
                libc::SYS_clone3,
                &args as *const CloneArgs,
                std::mem::size_of::<CloneArgs>(),
            )
        };
        if r >= 0 {
            return Ok((r as libc::pid_t, true));
        }
        let e = io::Error::last_os_error();
        match e.raw_os_error() {
            Some(libc::ENOSYS) | Some(libc::EINVAL) | Some(libc::E2BIG) | Some(libc::EPERM) | Some(libc::EACCES) => {}
            _ => return Err(e),
        }
    }
    fork().map(|pid| (pid, false))
}

pub fn fork() -> io::Result<libc::pid_t> {
    // SAFETY: stage1 is single-threaded, so the child may do anything the parent could.
    check(unsafe { libc::fork() })
}

/// Switches this process between SCHED_IDLE and SCHED_OTHER; true if the switch was made.
pub fn set_idle_priority(idle: bool) -> bool {
    let policy = if idle { libc::SCHED_IDLE } else { libc::SCHED_OTHER };
    let param = libc::sched_param { sched_priority: 0 };
    // SAFETY: valid out-of-line parameter; pid 0 is this process.
    unsafe { libc::sched_setscheduler(0, policy, &param) == 0 }
}

/// The CPUs this process could run on when stage1 started, while it is pinned (see `pin_to_this_cpu`).
static ORIGINAL_CPUS: std::sync::OnceLock<libc::cpu_set_t> = std::sync::OnceLock::new();

/// Keeps stage1's set-up on the CPU it was exec'd on, until `unpin` (each app unpins itself
/// before its exec). The set-up is a chain of processes that each wait for the next (fork, the
/// detach thread, the apps): on one CPU each wake-up is local, where a task forked onto the other
/// CPU waited behind stage0's memory holder (freeing Node's memory there) or for that vCPU to
/// wake from idle: 1.0 to 1.3 ms per run on average in traces (single waits up to 2.4 ms).
/// Best effort: false (nothing pinned) when the process may use only one CPU anyway or a call
/// fails.
pub fn pin_to_this_cpu() -> bool {
    // SAFETY: cpu_set_t is plain data; the calls get valid pointers and its size.
    unsafe {
        let size = std::mem::size_of::<libc::cpu_set_t>();
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        let cpu = libc::sched_getcpu();
        if cpu < 0 || libc::sched_getaffinity(0, size, &mut set) != 0 || libc::CPU_COUNT(&set) < 2 {
            return false;
        }
        let mut one: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(cpu as usize, &mut one);
        ORIGINAL_CPUS.set(set).is_ok() && libc::sched_setaffinity(0, size, &one) == 0
    }
}

/// Gives this process the CPUs it had before `pin_to_this_cpu` again (nothing if it was not
/// pinned). Only a system call on data set before any fork: safe in a forked child.
pub fn unpin() {
    if let Some(set) = ORIGINAL_CPUS.get() {
        // SAFETY: a valid cpu_set_t and its size. A failure leaves the process on one CPU, which
        // only slows it: there is nobody to report it to in an app's child before its exec.
        unsafe { libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), set) };
    }
}

pub fn unshare(flags: libc::c_int) -> io::Result<()> {
    // SAFETY: integer argument only.
    check(unsafe { libc::unshare(flags) }).map(drop)
}

pub fn sethostname(name: &str) -> io::Result<()> {
    // SAFETY: pointer and length of a valid byte string.
    check(unsafe { libc::sethostname(name.as_ptr() as *const libc::c_char, name.len()) }).map(drop)
}

pub fn pivot_root(new_root: &CString, put_old: &CString) -> io::Result<()> {
    // SAFETY: valid C strings.
    check(
        unsafe { libc::syscall(libc::SYS_pivot_root, new_root.as_ptr(), put_old.as_ptr()) }
            as libc::c_int,
    )
    .map(drop)
}

pub fn kill(pid: libc::pid_t, sig: libc::c_int) {
    // SAFETY: integer arguments; a vanished pid is harmless (ESRCH).
    unsafe { libc::kill(pid, sig) };
}

/// Marks every descriptor from `from` up close-on-exec, so nothing stage1 inherited or opened
/// reaches an app.
pub fn cloexec_from(from: u32) {
    // SAFETY: integer arguments only.
    let r = unsafe {
        libc::syscall(
            libc::SYS_close_range,
            from,
            u32::MAX,
            libc::CLOSE_RANGE_CLOEXEC,
        )
    };
    if r != 0 {
        for fd in from as RawFd..1024 {
            // SAFETY: fcntl on a possibly closed fd only fails with EBADF.
            unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) };
        }
    }
}

pub fn close_from(from: u32) {
    // SAFETY: integer arguments only.
    let r = unsafe { libc::syscall(libc::SYS_close_range, from, u32::MAX, 0) };
    if r != 0 {
        for fd in from as RawFd..1024 {
            // SAFETY: closing a descriptor nothing in this process uses any more.
            unsafe { libc::close(fd) };
        }
    }
}

pub fn set_cloexec(fd: RawFd) -> io::Result<()> {
    // SAFETY: fcntl with integer arguments.
    let flags = check(unsafe { libc::fcntl(fd, libc::F_GETFD) })?;
    // SAFETY: as above.
    check(unsafe { libc::fcntl(fd, libc::F_SETFD, flags | libc::FD_CLOEXEC) }).map(drop)
}

/// Wait status as an exit code the way shells and rkt report it: the code, or 128 + signal.
pub fn exit_code_of(status: libc::c_int) -> i32 {
    if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else if libc::WIFSIGNALED(status) {
        128 + libc::WTERMSIG(status)
    } else {
        255
    }
}

pub fn sigset(sigs: &[libc::c_int]) -> libc::sigset_t {
    // SAFETY: sigset_t is plain data; sigemptyset initialises it.
    let mut set: libc::sigset_t = unsafe { std::mem::zeroed() };
    // SAFETY: valid pointer to a sigset_t.
    unsafe {
        libc::sigemptyset(&mut set);
        for s in sigs {
            libc::sigaddset(&mut set, *s);
        }
    }
    set
}

pub fn sigprocmask(how: libc::c_int, set: &libc::sigset_t) {
    // SAFETY: valid set pointer; the old mask is not needed.
    unsafe { libc::sigprocmask(how, set, std::ptr::null_mut()) };
}

extern "C" fn noop_handler(_: libc::c_int) {}

/// Installs a do-nothing handler: a pid namespace's init drops signals it has no handler for, and
/// the handler is reset by execve so apps start with default dispositions.
pub fn install_noop_handler(sig: libc::c_int) {
    // SAFETY: sigaction is plain data; the handler is async-signal-safe (it does nothing).
    unsafe {
        let mut sa: libc::sigaction = std::mem::zeroed();
        sa.sa_sigaction = noop_handler as *const () as usize;
        sa.sa_flags = libc::SA_RESTART;
        libc::sigemptyset(&mut sa.sa_mask);
        libc::sigaction(sig, &sa, std::ptr::null_mut());
    }
}

/// Back to the state a freshly exec'd program expects: default dispositions (Rust ignores SIGPIPE),
/// nothing blocked.
pub fn reset_signals() {
    for sig in 1..libc::SIGRTMAX() {
        if sig == libc::SIGKILL || sig == libc::SIGSTOP {
            continue;
        }
        // SAFETY: setting the default disposition; errors (reserved signals) are irrelevant.
        unsafe { libc::signal(sig, libc::SIG_DFL) };
    }
    sigprocmask(libc::SIG_SETMASK, &sigset(&[]));
}

pub struct SigInfo {
    pub signo: libc::c_int,
    pub code: libc::c_int,
}

/// Waits for one of `set` (which must be blocked) for at most `timeout`; None on timeout.
pub fn sigtimedwait(set: &libc::sigset_t, timeout: Option<std::time::Duration>) -> Option<SigInfo> {
    // SAFETY: siginfo_t is plain data filled by the call.
    let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
    let r = match timeout {
        Some(t) => {
            let ts = libc::timespec {
                tv_sec: t.as_secs() as libc::time_t,
                tv_nsec: t.subsec_nanos() as libc::c_long,
            };
            // SAFETY: valid pointers.
            unsafe { libc::sigtimedwait(set, &mut info, &ts) }
        }
        // SAFETY: valid pointers.
        None => unsafe { libc::sigwaitinfo(set, &mut info) },
    };
    (r > 0).then_some(SigInfo {
        signo: r,
        code: info.si_code,
    })
}

/// Reaps one child without blocking: Some((pid, raw status)), None when nothing is ready or left.
pub fn reap_any() -> Option<(libc::pid_t, libc::c_int)> {
    let mut status = 0;
    // SAFETY: valid out pointer.
    let pid = unsafe { libc::waitpid(-1, &mut status, libc::WNOHANG) };
    (pid > 0).then_some((pid, status))
}

pub fn wait_pid(pid: libc::pid_t) -> io::Result<libc::c_int> {
    let mut status = 0;
    loop {
        // SAFETY: valid out pointer.
        let r = unsafe { libc::waitpid(pid, &mut status, 0) };
        if r == pid {
            return Ok(status);
        }
        let e = io::Error::last_os_error();
        if errno(&e) != libc::EINTR {
            return Err(e);
        }
    }
}

/// Waits for every child left (none left: returns at once).
pub fn reap_all_children() {
    let mut status = 0;
    // SAFETY: valid out pointer; ECHILD ends the loop, EINTR retries.
    while unsafe { libc::waitpid(-1, &mut status, 0) } > 0 || errno(&io::Error::last_os_error()) == libc::EINTR {}
}

/// Waits for `pid`, reaping any other child that exits meanwhile: an entrypoint exec'd by stage0
/// has its memory holder as a child (rkt_core's handoff.rs), which would stay a zombie otherwise.
pub fn wait_pid_reaping_others(pid: libc::pid_t) -> io::Result<libc::c_int> {
    let mut status = 0;
    loop {
        // SAFETY: valid out pointer.
        let r = unsafe { libc::waitpid(-1, &mut status, 0) };
        if r == pid {
            return Ok(status);
        }
        if r < 0 {
            let e = io::Error::last_os_error();
            if errno(&e) != libc::EINTR {
                return Err(e);
            }
        }
    }
}

/// A /proc or /sys file's text. Such files report no size, so std's reader starts with 32-byte
/// reads and doubles; each read makes the kernel format the file again from where it stopped, and
/// for /proc/self/mountinfo that was 14 reads and about 1 ms. One page-sized buffer per read
/// (what seq_file hands out at a time) needs a read per page.
pub fn read_kernel_file(path: &str) -> io::Result<String> {
    use std::io::Read;
    let mut f = std::fs::File::open(path)?;
    let mut buf = vec![0u8; 16 * 1024];
    let mut len = 0;
    loop {
        if buf.len() - len < 4096 {
            buf.resize(buf.len() * 2, 0);
        }
        match f.read(&mut buf[len..]) {
            Ok(0) => break,
            Ok(n) => len += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    buf.truncate(len);
    String::from_utf8(buf).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
}

/// A file being written so that readers see either nothing or all of it: created under a dot
/// name in the same directory, renamed to its own name once complete.
pub struct PendingFile {
    file: std::fs::File,
    tmp: PathBuf,
    path: PathBuf,
}

impl PendingFile {
    /// Creates the temp file (the costly step on an overlay), leaving the content for later.
    pub fn create(path: &Path, mode: u32) -> io::Result<PendingFile> {
        use std::os::unix::fs::OpenOptionsExt;
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("file");
        let tmp = path.with_file_name(format!(".{name}.tmp"));
        let file = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(mode)
            .open(&tmp)?;
        Ok(PendingFile { file, tmp, path: path.to_path_buf() })
    }

    pub fn commit(mut self, content: &[u8]) -> io::Result<()> {
        use std::io::Write;
        self.file.write_all(content)?;
        drop(self.file);
        std::fs::rename(&self.tmp, &self.path)
    }
}

/// Writes a file so readers see either nothing or all of it.
pub fn write_atomic(path: &Path, content: &[u8], mode: u32) -> io::Result<()> {
    PendingFile::create(path, mode)?.commit(content)
}

/// Writes a file in place, with exactly `mode`: for files nothing reads while they are written
/// (a rename costs as much as the create on an overlay, and more than the write).
pub fn write_in_place(path: &Path, content: &[u8], mode: u32) -> io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let mut f = std::fs::OpenOptions::new().write(true).create(true).truncate(true).mode(mode).open(path)?;
    // an existing file keeps its mode through O_TRUNC, and the umask may have taken bits off
    if f.metadata()?.permissions().mode() & 0o7777 != mode {
        f.set_permissions(std::fs::Permissions::from_mode(mode))?;
    }
    f.write_all(content)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn a_kernel_file_is_read_whole() {
        // mountinfo is several pages here, and the same text as std's reader gives
        let ours = read_kernel_file("/proc/self/mountinfo").unwrap();
        let std = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
        assert!(ours.lines().count() > 3, "{ours}");
        assert_eq!(ours.lines().count(), std.lines().count());
        assert!(ours.ends_with('\n'));
        let big = "x".repeat(40_000) + "\n";
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("big");
        std::fs::write(&f, &big).unwrap();
        assert_eq!(read_kernel_file(f.to_str().unwrap()).unwrap(), big);
        assert!(read_kernel_file("/nonexistent/file").is_err());
    }

    fn rp(p: &str) -> RelPath {
        RelPath::new(p).unwrap()
    }

    #[test]
    fn creation_stays_inside_root_through_hostile_symlinks() {
        let outside = tempfile::tempdir().unwrap();
        let root = tempfile::tempdir().unwrap();
        let r = root.path();
        // An image whose /etc points at an absolute host path and whose /x climbs out with `..`.
        std::os::unix::fs::symlink(outside.path(), r.join("etc")).unwrap();
        std::os::unix::fs::symlink("../../../../../..", r.join("x")).unwrap();
        std::os::unix::fs::symlink("/no/such/dir", r.join("dangling")).unwrap();
        let sys = LinuxSyscalls::default();
        // A dangling symlink is followed inside the root (rkt's EvaluateSymlinksInsideApp): the
        // missing directories are made there, never on the host.
        sys.mkdir(r, &rp("dangling/sub"), 0o755).unwrap();
        assert!(r.join("no/such/dir/sub").is_dir());
        // `etc` resolves to <root><outside>, created inside the root.
        sys.create_file(r, &rp("etc/hosts"))
            .unwrap_or_else(|e| panic!("{e}"));
        sys.mkdir(r, &rp("x/tmp/deep"), 0o1777).unwrap();
        sys.symlink(r, &rp("x/link"), "/anything").unwrap();
        assert!(
            std::fs::read_dir(outside.path()).unwrap().next().is_none(),
            "nothing written outside the root"
        );
        // `etc` → <outside> resolves to <root><outside> inside the root.
        let inside = r.join(outside.path().strip_prefix("/").unwrap());
        assert!(inside.join("hosts").is_file());
        assert!(r.join("tmp/deep").is_dir());
        assert_eq!(
            std::fs::metadata(r.join("tmp/deep"))
                .unwrap()
                .permissions()
                .mode()
                & 0o7777,
            0o1777 & !umask()
        );
        assert!(r
            .join("link")
            .symlink_metadata()
            .unwrap()
            .file_type()
            .is_symlink());
    }

    fn umask() -> u32 {
        // SAFETY: reading the umask requires setting it; put it back at once.
        unsafe {
            let m = libc::umask(0o022);
            libc::umask(m);
            m as u32
        }
    }

    #[test]
    fn exists_does_not_follow_final_symlink() {
        let root = tempfile::tempdir().unwrap();
        let r = root.path();
        std::fs::create_dir(r.join("etc")).unwrap();
        std::os::unix::fs::symlink("/nowhere", r.join("etc/mtab")).unwrap();
        assert!(LinuxSyscalls::default().exists(r, &rp("etc/mtab")).unwrap());
        assert!(!LinuxSyscalls::default().exists(r, &rp("etc/hosts")).unwrap());
        // A dangling link is still created through, inside the root.
        LinuxSyscalls::default().create_file(r, &rp("etc/mtab")).unwrap();
        assert!(r.join("nowhere").is_file());
    }

    /// The exit code of `f` run in a forked child, for tests that change process-wide state
    /// (namespaces, waiting for any child) the other tests must not see.
    pub(crate) fn in_forked_child(f: impl FnOnce() -> i32) -> i32 {
        // SAFETY: the child runs f, which only makes syscalls, and leaves with _exit.
        let pid = unsafe { libc::fork() };
        assert!(pid >= 0);
        if pid == 0 {
            let code = f();
            // SAFETY: ends the forked child.
            unsafe { libc::_exit(code) };
        }
        let mut status = 0;
        // SAFETY: our child, valid out pointer.
        assert_eq!(unsafe { libc::waitpid(pid, &mut status, 0) }, pid);
        assert!(libc::WIFEXITED(status), "status {status:#x}");
        libc::WEXITSTATUS(status)
    }

    #[test]
    fn a_file_written_in_place_has_the_content_and_the_exact_mode() {
        let d = tempfile::tempdir().unwrap();
        let f = d.path().join("hostname");
        write_in_place(&f, b"first, longer content\n", 0o600).unwrap();
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o666)).unwrap();
        write_in_place(&f, b"second\n", 0o644).unwrap();
        assert_eq!(std::fs::read(&f).unwrap(), b"second\n", "truncated, not overwritten");
        assert_eq!(std::fs::metadata(&f).unwrap().permissions().mode() & 0o7777, 0o644);
        assert_eq!(std::fs::read_dir(d.path()).unwrap().count(), 1, "no temp file");
        assert!(write_in_place(&d.path().join("no/such/dir"), b"x", 0o644).is_err());
    }

    #[test]
    fn every_child_is_reaped() {
        let code = in_forked_child(|| {
            let mut kids = Vec::new();
            for ms in [0u64, 30, 60] {
                // SAFETY: the grandchild sleeps with a syscall and leaves with _exit.
                match unsafe { libc::fork() } {
                    0 => unsafe {
                        libc::usleep((ms * 1000) as u32);
                        libc::_exit(0)
                    },
                    pid => kids.push(pid),
                }
            }
            reap_all_children();
            // SAFETY: valid out pointer; no child may be left, exited or not.
            let mut st = 0;
            let left = unsafe { libc::waitpid(-1, &mut st, libc::WNOHANG) };
            if left == -1 && errno(&io::Error::last_os_error()) == libc::ECHILD { 0 } else { 1 }
        });
        assert_eq!(code, 0);
    }

    #[test]
    fn idle_priority_is_set_and_undone() {
        // in a forked child: the policy belongs to the thread, and the harness's must not change
        let code = in_forked_child(|| {
            // SAFETY: pid 0 is this process.
            let policy = || unsafe { libc::sched_getscheduler(0) };
            if policy() != libc::SCHED_OTHER || !set_idle_priority(true) || policy() != libc::SCHED_IDLE {
                return 1;
            }
            if !set_idle_priority(false) || policy() != libc::SCHED_OTHER {
                return 2;
            }
            0
        });
        assert_eq!(code, 0);
    }

    /// This thread's CPU set, and how many CPUs are in it.
    fn affinity() -> (libc::cpu_set_t, i32) {
        // SAFETY: plain data, a valid pointer and its size.
        unsafe {
            let mut set: libc::cpu_set_t = std::mem::zeroed();
            libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set);
            let n = libc::CPU_COUNT(&set);
            (set, n)
        }
    }

    #[test]
    fn pinned_to_one_cpu_then_given_all_back() {
        // in a forked child: affinity belongs to the thread, and the harness's must not change
        let code = in_forked_child(|| {
            let (before, n) = affinity();
            // SAFETY: no arguments
            let cpu = unsafe { libc::sched_getcpu() } as usize;
            if n < 2 {
                // one CPU: nothing to pin, and nothing changes
                return if !pin_to_this_cpu() && affinity().1 == n { 0 } else { 1 };
            }
            if !pin_to_this_cpu() {
                return 2;
            }
            let (pinned, one) = affinity();
            // SAFETY: reads a plain struct
            if one != 1 || !unsafe { libc::CPU_ISSET(cpu, &pinned) } {
                return 3;
            }
            // a child inherits the pin and unpins itself
            let child = in_forked_child(|| {
                if affinity().1 != 1 {
                    return 1;
                }
                unpin();
                if affinity().1 == n { 0 } else { 2 }
            });
            if child != 0 {
                return 10 + child;
            }
            unpin();
            // SAFETY: reads plain structs
            let same = (0..libc::CPU_SETSIZE as usize).all(|c| unsafe { libc::CPU_ISSET(c, &before) == libc::CPU_ISSET(c, &affinity().0) });
            if same { 0 } else { 4 }
        });
        assert_eq!(code, 0);
    }

    #[test]
    fn a_mount_on_the_root_is_seen_by_the_next_step() {
        // LinuxSyscalls keeps the root's descriptor: after a mount on the root itself the next step
        // must work in the new mount, not in the directory under it. In a forked child with its
        // own mount namespace, so nothing is left on the host whatever happens.
        let root = tempfile::tempdir().unwrap();
        let r = root.path().to_path_buf();
        let code = in_forked_child(|| {
            (|| -> Result<i32, io::Error> {
                unshare(libc::CLONE_NEWNS)?;
                mount(None, &cstr("/")?, None, libc::MS_REC | libc::MS_PRIVATE, None)?;
                let sys = LinuxSyscalls::default();
                sys.mkdir(&r, &rp("before"), 0o755)?;
                sys.mount(&Source::Fs("tmpfs".into()), &r, &RelPath::root(), Some("tmpfs"), 0, None)?;
                sys.mkdir(&r, &rp("after"), 0o755)?;
                let in_mount = r.join("after").is_dir() && !r.join("before").exists();
                drop(sys); // its descriptor of the tmpfs would keep it busy
                // SAFETY: a valid C string.
                check(unsafe { libc::umount2(cstr(&r)?.as_ptr(), 0) })?;
                let under = r.join("before").is_dir() && !r.join("after").exists();
                Ok(if in_mount && under { 0 } else { 1 })
            })()
            .unwrap_or_else(|e| {
                eprintln!("{e}");
                2
            })
        });
        assert_eq!(code, 0);
    }

    #[test]
    fn waiting_for_one_child_reaps_the_others() {
        // In a forked child: its waitpid(-1) must not reap other tests' children.
        let code = in_forked_child(|| {
            let spawn = |code: i32, ms: u64| {
                // SAFETY: the grandchild only sleeps and leaves with _exit.
                let p = unsafe { libc::fork() };
                if p == 0 {
                    std::thread::sleep(std::time::Duration::from_millis(ms));
                    // SAFETY: ends the grandchild.
                    unsafe { libc::_exit(code) };
                }
                p
            };
            let _early = spawn(3, 0);
            let late = spawn(7, 100);
            match wait_pid_reaping_others(late) {
                Ok(st) if exit_code_of(st) == 7 => {
                    let mut st = 0;
                    // SAFETY: valid out pointer; the early child must be gone, not a zombie
                    let r = unsafe { libc::waitpid(-1, &mut st, libc::WNOHANG) };
                    if r == -1 { 0 } else { 1 }
                }
                _ => 2,
            }
        });
        assert_eq!(code, 0);
    }

    #[test]
    fn mkdir_refuses_a_file_in_the_way() {
        let root = tempfile::tempdir().unwrap();
        std::fs::write(root.path().join("dev"), "").unwrap();
        assert!(LinuxSyscalls::default()
            .mkdir(root.path(), &rp("dev/pts"), 0o755)
            .is_err());
    }

    #[test]
    fn rootfs_db_reads_inside_root() {
        let root = tempfile::tempdir().unwrap();
        let r = root.path();
        std::fs::create_dir(r.join("etc")).unwrap();
        std::fs::write(r.join("etc/passwd.real"), "u:x:7:8::/h:/bin/sh\n").unwrap();
        // An absolute link is read relative to the app root, not the host's /etc.
        std::os::unix::fs::symlink("/etc/passwd.real", r.join("etc/passwd")).unwrap();
        let db = RootfsFiles(r);
        assert_eq!(crate::user::resolve_uid("u", &db), Ok(7));
        assert!(crate::user::RootfsDb::group(&db).is_none());
        let (uid, _) = crate::user::RootfsDb::owner(&db, "/etc/passwd.real").unwrap();
        // SAFETY: plain getter.
        assert_eq!(uid, unsafe { libc::getuid() });
    }

    #[test]
    fn atomic_write() {
        let d = tempfile::tempdir().unwrap();
        write_atomic(&d.path().join("pid"), b"42", 0o640).unwrap();
        assert_eq!(std::fs::read_to_string(d.path().join("pid")).unwrap(), "42");
        assert_eq!(std::fs::read_dir(d.path()).unwrap().count(), 1);
    }
}

/// A process handle that cannot be confused with a later process reusing the pid.
pub fn pidfd_open(pid: libc::pid_t) -> io::Result<OwnedFd> {
    // SAFETY: integer arguments.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: a fresh descriptor we own.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
}

pub fn pidfd_send_signal(pidfd: &OwnedFd, sig: libc::c_int) -> io::Result<()> {
    // SAFETY: valid pidfd, no siginfo.
    let r = unsafe {
        libc::syscall(
            libc::SYS_pidfd_send_signal,
            pidfd.as_raw_fd(),
            sig,
            std::ptr::null::<libc::siginfo_t>(),
            0,
        )
    };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Whether the directory's flock can be taken shared right now: nobody holds it exclusively, so
/// the pod it belongs to is no longer running (rkt's liveness rule).
pub fn dir_unlocked(dir: &Path) -> io::Result<bool> {
    let p = cstr(dir)?;
    // SAFETY: valid C string.
    let fd = check(unsafe {
        libc::open(
            p.as_ptr(),
            libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC,
        )
    })?;
    // SAFETY: a fresh descriptor we own.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    // SAFETY: flock on a valid fd.
    let r = unsafe { libc::flock(fd.as_raw_fd(), libc::LOCK_SH | libc::LOCK_NB) };
    if r == 0 {
        return Ok(true);
    }
    let e = io::Error::last_os_error();
    if errno(&e) == libc::EWOULDBLOCK {
        Ok(false)
    } else {
        Err(e)
    }
}

pub fn setns(fd: &OwnedFd, nstype: libc::c_int) -> io::Result<()> {
    // SAFETY: valid fd.
    check(unsafe { libc::setns(fd.as_raw_fd(), nstype) }).map(drop)
}

/// The pids of `pid`'s direct children (Linux ≥ 3.5 with CONFIG_PROC_CHILDREN).
pub fn children_of(pid: libc::pid_t) -> Vec<libc::pid_t> {
    std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
        .unwrap_or_default()
        .split_whitespace()
        .filter_map(|s| s.parse().ok())
        .collect()
}

/// Opens any path read-only (namespace files, /proc/<pid>/root).
pub fn open_dir_any(path: &Path) -> io::Result<OwnedFd> {
    let p = cstr(path)?;
    // SAFETY: valid C string.
    let fd = check(unsafe { libc::open(p.as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC) })?;
    // SAFETY: a fresh descriptor we own.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Closes every descriptor from `from` up except those in `keep`.
pub fn close_from_except(from: u32, keep: &[RawFd]) {
    let mut keep: Vec<u32> = keep.iter().map(|k| *k as u32).filter(|k| *k >= from).collect();
    keep.sort_unstable();
    keep.dedup();
    let mut lo = from;
    for k in keep {
        if k > lo {
            // SAFETY: integer arguments only.
            unsafe { libc::syscall(libc::SYS_close_range, lo, k - 1, 0) };
        }
        lo = k + 1;
    }
    // SAFETY: integer arguments only.
    unsafe { libc::syscall(libc::SYS_close_range, lo, u32::MAX, 0) };
}

#[cfg(test)]
mod resolve_tests {
    use super::*;

    #[test]
    fn symlinks_resolve_inside_the_root() {
        let d = tempfile::tempdir().unwrap();
        let root = d.path();
        std::fs::create_dir_all(root.join("etc/real")).unwrap();
        std::os::unix::fs::symlink("/../../../etc/real", root.join("abs")).unwrap();
        std::os::unix::fs::symlink("../../../../x/y", root.join("etc/rel")).unwrap();
        std::os::unix::fs::symlink("loop", root.join("loop")).unwrap();
        let fd = open_dir(root).unwrap();
        let r = |p: &str| resolve_in_root(&fd, &RelPath::new(p).unwrap()).map(|r| r.as_str().to_string());
        assert_eq!(r("/abs/sub").unwrap(), "etc/real/sub");
        assert_eq!(r("/etc/rel/z").unwrap(), "x/y/z");
        assert_eq!(r("/missing/abs").unwrap(), "missing/abs");
        assert_eq!(r("/loop").unwrap_err().raw_os_error(), Some(libc::ELOOP));
    }
}
