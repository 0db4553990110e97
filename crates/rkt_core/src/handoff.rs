//! The stage0 → stage1 hand-off: replace this (Node) process with the stage1 binary. Node marks
//! fds 0-2 close-on-exec, may leave them non-blocking, ignores SIGPIPE/SIGXFSZ and blocks signals
//! in its threads' masks; a bare execve would give stage1 no stdio and odd signal dispositions.
//! So: clear FD_CLOEXEC on stdio and the lock fd, clear O_NONBLOCK on stdio, reset every signal to
//! its default and empty the mask, chdir, then execve. On success this never returns.
//!
//! The exec also frees Node's address space (tens of MiB of heap and code), which is most of an
//! execve's time out of Node. A process that shares that memory (clone with CLONE_VM) when the
//! exec happens takes that cost with it: the exec only drops a reference, and the holder, which
//! waits for the exec (its pipe's write end is close-on-exec) and then exits, frees the memory
//! on another CPU while stage1 starts. The holder is stage1's child afterwards, and stage1 reaps it.
use crate::error::CoreError;
use std::ffi::CString;

fn cstr(s: &str) -> Result<CString, CoreError> {
    CString::new(s).map_err(|_| CoreError::Io(format!("argument contains a NUL byte: {s:?}")))
}

fn clear_cloexec(fd: i32) -> Result<(), CoreError> {
    // SAFETY: fcntl on an integer fd; failures are reported, nothing is dereferenced.
    unsafe {
        let flags = libc::fcntl(fd, libc::F_GETFD);
        if flags < 0 || libc::fcntl(fd, libc::F_SETFD, flags & !libc::FD_CLOEXEC) < 0 {
            return Err(CoreError::Io(format!("fcntl fd {fd}: {}", std::io::Error::last_os_error())));
        }
    }
    Ok(())
}

fn clear_nonblock(fd: i32) {
    // SAFETY: as above; a closed stdio fd is simply skipped.
    unsafe {
        let fl = libc::fcntl(fd, libc::F_GETFL);
        if fl >= 0 {
            libc::fcntl(fd, libc::F_SETFL, fl & !libc::O_NONBLOCK);
        }
    }
}

/// The memory holder's body. It runs on its own small stack in this very address space, with
/// every signal blocked, so it makes raw syscalls only (no allocation, no locks, no TLS reads).
extern "C" fn hold_memory(arg: *mut libc::c_void) -> libc::c_int {
    let fds = arg as usize;
    let (read_end, write_end) = ((fds & 0xffff_ffff) as libc::c_long, (fds >> 32) as libc::c_long);
    let mut byte = 0u8;
    // SAFETY: close and read on integer fds into a byte on this stack.
    unsafe {
        libc::syscall(libc::SYS_close, write_end);
        // returns (EOF) once the exec closed the parent's write end, or exec_stage1 did after a failed exec
        libc::syscall(libc::SYS_read, read_end, &mut byte as *mut u8, 1usize);
    }
    0 // glibc's clone ends the child with exit(2)
}

const HOLDER_STACK: usize = 64 * 1024;

/// A process holding this address space across the exec; see the module comment.
struct MemoryHolder {
    pid: libc::pid_t,
    write_end: i32,
    read_end: i32,
    stack: *mut libc::c_void,
}

impl MemoryHolder {
    /// Best effort: None (and the exec frees the memory itself) if any step fails.
    /// The caller has blocked every signal, which the holder inherits.
    fn start() -> Option<MemoryHolder> {
        let mut fds = [0i32; 2];
        // SAFETY: pipe2 into a two-int array; mmap of a fresh anonymous stack; clone runs
        // hold_memory on that stack, which touches nothing else of this process.
        unsafe {
            if libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) != 0 {
                return None;
            }
            let stack = libc::mmap(
                std::ptr::null_mut(),
                HOLDER_STACK,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_STACK,
                -1,
                0,
            );
            if stack == libc::MAP_FAILED {
                libc::close(fds[0]);
                libc::close(fds[1]);
                return None;
            }
            let arg = (fds[0] as u32 as usize) | ((fds[1] as u32 as usize) << 32);
            let top = (stack as *mut u8).add(HOLDER_STACK) as *mut libc::c_void;
            let pid = libc::clone(hold_memory, top, libc::CLONE_VM | libc::SIGCHLD, arg as *mut libc::c_void);
            if pid < 0 {
                libc::munmap(stack, HOLDER_STACK);
                libc::close(fds[0]);
                libc::close(fds[1]);
                return None;
            }
            // Freeing the memory must not take stage1's CPU: the holder runs on the others, and
            // at idle priority, so that it yields at once to whatever of the pod the scheduler
            // puts there (an app's exec may move it to the least loaded CPU: traces showed it
            // waiting up to 1.3 ms behind the holder).
            let cpu = libc::sched_getcpu();
            let mut set: libc::cpu_set_t = std::mem::zeroed();
            let size = std::mem::size_of::<libc::cpu_set_t>();
            if cpu >= 0 && libc::sched_getaffinity(0, size, &mut set) == 0 && libc::CPU_COUNT(&set) > 1 {
                libc::CPU_CLR(cpu as usize, &mut set);
                libc::sched_setaffinity(pid, size, &set);
            }
            let idle = libc::sched_param { sched_priority: 0 };
            libc::sched_setscheduler(pid, libc::SCHED_IDLE, &idle);
            Some(MemoryHolder { pid, read_end: fds[0], write_end: fds[1], stack })
        }
    }

    /// After a failed exec: let the holder go, reap it, and free its stack.
    fn release(self) {
        // SAFETY: closing our own fds, waiting for our own child, unmapping the stack it no longer uses.
        unsafe {
            libc::close(self.write_end);
            let mut status = 0;
            while libc::waitpid(self.pid, &mut status, 0) < 0 && *libc::__errno_location() == libc::EINTR {}
            libc::close(self.read_end);
            libc::munmap(self.stack, HOLDER_STACK);
        }
    }
}

pub fn exec_stage1(path: &str, argv: &[String], env: &[String], cwd: &str, keep_fds: &[i32]) -> Result<(), CoreError> {
    let cpath = cstr(path)?;
    let cargv: Vec<CString> = argv.iter().map(|a| cstr(a)).collect::<Result<_, _>>()?;
    let cenv: Vec<CString> = env.iter().map(|a| cstr(a)).collect::<Result<_, _>>()?;
    let ccwd = cstr(cwd)?;
    let mut pargv: Vec<*const libc::c_char> = cargv.iter().map(|c| c.as_ptr()).collect();
    pargv.push(std::ptr::null());
    let mut penv: Vec<*const libc::c_char> = cenv.iter().map(|c| c.as_ptr()).collect();
    penv.push(std::ptr::null());

    for fd in 0..3 {
        let _ = clear_cloexec(fd);
        clear_nonblock(fd);
    }
    for &fd in keep_fds {
        clear_cloexec(fd)?;
    }
    // SAFETY: plain libc calls with valid, NUL-terminated pointers that outlive the calls.
    unsafe {
        if libc::chdir(ccwd.as_ptr()) != 0 {
            return Err(CoreError::Io(format!("chdir {cwd}: {}", std::io::Error::last_os_error())));
        }
        for sig in 1..libc::SIGRTMAX() {
            if sig != libc::SIGKILL && sig != libc::SIGSTOP {
                libc::signal(sig, libc::SIG_DFL);
            }
        }
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigfillset(&mut set);
        libc::pthread_sigmask(libc::SIG_SETMASK, &set, std::ptr::null_mut());
        let holder = MemoryHolder::start();
        libc::sigemptyset(&mut set);
        libc::pthread_sigmask(libc::SIG_SETMASK, &set, std::ptr::null_mut());
        libc::execve(cpath.as_ptr(), pargv.as_ptr(), penv.as_ptr());
        let err = std::io::Error::last_os_error();
        if let Some(h) = holder {
            h.release();
        }
        Err(CoreError::Io(format!("cannot execute stage1 {path}: {err}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs `f` in a forked child (exec_stage1 resets this process's signals, and its success
    /// replaces the process) and returns the child's exit code.
    fn in_child(f: impl FnOnce() -> i32) -> i32 {
        // SAFETY: the child runs f and leaves with _exit, never returning into the test harness.
        unsafe {
            let pid = libc::fork();
            assert!(pid >= 0, "fork: {}", std::io::Error::last_os_error());
            if pid == 0 {
                let code = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).unwrap_or(101);
                libc::_exit(code);
            }
            let mut status = 0;
            assert_eq!(libc::waitpid(pid, &mut status, 0), pid);
            assert!(libc::WIFEXITED(status), "child status {status:#x}");
            libc::WEXITSTATUS(status)
        }
    }

    fn exec_in_child(argv: &[&str]) -> i32 {
        let argv: Vec<String> = argv.iter().map(|a| a.to_string()).collect();
        in_child(|| match exec_stage1(&argv[0], &argv, &["PATH=/usr/bin:/bin".to_string()], "/", &[]) {
            Ok(()) => 102,
            Err(e) => {
                eprintln!("{e}");
                103
            }
        })
    }

    #[test]
    fn the_exec_leaves_a_holder_that_exits_on_its_own() {
        // The exec'd program (python, which reaps no child it did not start) has one child, the
        // holder, which exits without being told: the exec closed its pipe. Its exit code is 0,
        // and it ran at idle priority (SCHED_IDLE, 5: stat's 41st field).
        let script = r#"
import os, sys, time
me = os.getpid()
for _ in range(200):
    kids = open(f"/proc/{me}/task/{me}/children").read().split()
    if len(kids) != 1:
        sys.exit(3)
    fields = open(f"/proc/{kids[0]}/stat").read().rsplit(")", 1)[1].split()
    state, policy = fields[0], fields[38]
    if policy != "5":
        sys.exit(6)
    if state == "Z":
        pid, status = os.waitpid(int(kids[0]), 0)
        sys.exit(0 if os.waitstatus_to_exitcode(status) == 0 else 4)
    time.sleep(0.01)
sys.exit(5)
"#;
        assert_eq!(exec_in_child(&["/usr/bin/python3", "-c", script]), 0);
    }

    #[test]
    fn the_exec_keeps_stdio_and_the_exit_code() {
        assert_eq!(exec_in_child(&["/bin/sh", "-c", "echo handed-off >/dev/null && exit 7"]), 7);
    }

    #[test]
    fn a_failed_exec_reaps_its_holder() {
        let code = in_child(|| {
            let argv = ["x".to_string()];
            let Err(e) = exec_stage1("/nonexistent/stage1", &argv, &[], "/", &[]) else { return 10 };
            if !e.to_string().contains("cannot execute stage1 /nonexistent/stage1") {
                return 11;
            }
            let mut status = 0;
            // SAFETY: valid out pointer; no child may be left, live or zombie.
            let r = unsafe { libc::waitpid(-1, &mut status, libc::WNOHANG | libc::__WALL) };
            let errno = std::io::Error::last_os_error().raw_os_error();
            if r == -1 && errno == Some(libc::ECHILD) { 0 } else { 12 }
        });
        assert_eq!(code, 0);
    }
}
