//! The `stop` entrypoint (`/stop [--force] <uuid>`, run in the pod directory).
//!
//! Graceful: SIGTERM to the pod's PID 1, whose supervisor passes it on to every app and kills what
//! is left after `reaper::KILL_GRACE`; apps ending that way are recorded as 0. `--force`: SIGKILL
//! to every app at once, which PID 1 records as 137 (128 + SIGKILL). Either way PID 1 writes the
//! statuses and exits, the pod lock is released and the pod is `exited`. This entrypoint waits for
//! that, and kills PID 1 itself (the whole PID namespace with it) if the supervisor does not finish.

use crate::{layout, linux, reaper};
use std::path::Path;
use std::time::{Duration, Instant};
use thiserror::Error;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StopArgs {
    pub force: bool,
    pub uuid: String,
}

#[derive(Debug, Error, PartialEq, Eq)]
pub enum StopError {
    #[error("usage: stop [--force] UUID")]
    Usage,
    #[error("unknown flag {0}")]
    UnknownFlag(String),
    #[error("pod {0} is not running: no pid file")]
    NoPid(String),
    #[error("failed to signal the pod's PID 1 ({pid}): {err}")]
    Signal { pid: i32, err: String },
    #[error("pod {0} did not stop")]
    Timeout(String),
}

pub fn parse<S: AsRef<str>>(argv: &[S]) -> Result<StopArgs, StopError> {
    let mut force = false;
    let mut pos = Vec::new();
    for a in argv.iter().map(AsRef::as_ref) {
        match a {
            "--force" | "-force" | "--force=true" => force = true,
            "--force=false" => force = false,
            f if f.starts_with('-') => return Err(StopError::UnknownFlag(f.into())),
            u => pos.push(u.to_string()),
        }
    }
    if pos.len() != 1 {
        return Err(StopError::Usage);
    }
    Ok(StopArgs {
        force,
        uuid: pos.remove(0),
    })
}

/// Grace after which PID 1 itself is killed: the supervisor's own kill deadline plus slack.
pub const STOP_TIMEOUT: Duration = Duration::from_secs(reaper::KILL_GRACE.as_secs() + 5);

pub fn main(argv: &[String]) -> i32 {
    match parse(&argv[1..]).and_then(|a| stop(&a, Path::new("."))) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("stop: {e}");
            254
        }
    }
}

fn wait_unlocked(pod: &Path, timeout: Duration) -> bool {
    let t0 = Instant::now();
    loop {
        // A pod dir that cannot be opened any more is gone: nothing runs there.
        if linux::dir_unlocked(pod).unwrap_or(true) {
            return true;
        }
        if t0.elapsed() >= timeout {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

pub fn stop(a: &StopArgs, pod: &Path) -> Result<(), StopError> {
    let pid: i32 = std::fs::read_to_string(layout::pid_file(pod))
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .ok_or_else(|| StopError::NoPid(a.uuid.clone()))?;
    if linux::dir_unlocked(pod).unwrap_or(true) {
        return Ok(()); // exited meanwhile
    }
    let Ok(pidfd) = linux::pidfd_open(pid) else {
        return Ok(()); // PID 1 is gone; the lock follows as its parent exits
    };
    let sig_err = |err: std::io::Error| StopError::Signal {
        pid,
        err: err.to_string(),
    };
    if a.force {
        for child in linux::children_of(pid) {
            linux::kill(child, libc::SIGKILL);
        }
    } else {
        match linux::pidfd_send_signal(&pidfd, libc::SIGTERM) {
            Err(e) if e.raw_os_error() == Some(libc::ESRCH) => {}
            r => r.map_err(sig_err)?,
        }
    }
    let timeout = if a.force {
        Duration::from_secs(5)
    } else {
        STOP_TIMEOUT
    };
    if wait_unlocked(pod, timeout) {
        return Ok(());
    }
    let _ = linux::pidfd_send_signal(&pidfd, libc::SIGKILL);
    if wait_unlocked(pod, Duration::from_secs(5)) {
        Ok(())
    } else {
        Err(StopError::Timeout(a.uuid.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn args() {
        assert_eq!(
            parse(&["--force", "u"]).unwrap(),
            StopArgs {
                force: true,
                uuid: "u".into()
            }
        );
        assert!(!parse(&["u"]).unwrap().force);
        assert_eq!(parse::<&str>(&[]).unwrap_err(), StopError::Usage);
        assert_eq!(parse(&["a", "b"]).unwrap_err(), StopError::Usage);
        assert_eq!(
            parse(&["--kill", "u"]).unwrap_err(),
            StopError::UnknownFlag("--kill".into())
        );
    }

    #[test]
    fn not_running_without_pid_file() {
        let d = tempfile::tempdir().unwrap();
        let a = parse(&["u"]).unwrap();
        assert_eq!(stop(&a, d.path()).unwrap_err(), StopError::NoPid("u".into()));
    }
}
