//! The stage0 → stage1 hand-off: replace this (Node) process with the stage1 binary. Node marks
//! fds 0-2 close-on-exec, may leave them non-blocking, ignores SIGPIPE/SIGXFSZ and blocks signals
//! in its threads' masks; a bare execve would give stage1 no stdio and odd signal dispositions.
//! So: clear FD_CLOEXEC on stdio and the lock fd, clear O_NONBLOCK on stdio, reset every signal to
//! its default and empty the mask, chdir, then execve. On success this never returns.
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
        libc::sigemptyset(&mut set);
        libc::pthread_sigmask(libc::SIG_SETMASK, &set, std::ptr::null_mut());
        libc::execve(cpath.as_ptr(), pargv.as_ptr(), penv.as_ptr());
    }
    Err(CoreError::Io(format!("cannot execute stage1 {path}: {}", std::io::Error::last_os_error())))
}
