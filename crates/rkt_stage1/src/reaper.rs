//! PID 1's supervision: `Pod` is rkt's exit-code rule as a pure state machine, `supervise` the loop
//! that feeds it wait statuses and signals.
//!
//! The rule (rkt with systemd ≥ 227, tests/rkt_exit_test.go): the first app to exit non-zero decides
//! the pod's exit code and stops the others (SIGTERM, SIGKILL after a grace period); whatever those
//! stopped apps report is recorded as 0. A stop asked from outside (SIGTERM/SIGINT to PID 1) is a
//! graceful stop: apps dying of the signal we sent them count as success.

use std::time::{Duration, Instant};

pub const KILL_GRACE: Duration = Duration::from_secs(10);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    Code(i32),
    Signal(i32),
}

impl Exit {
    pub fn from_wait_status(status: libc::c_int) -> Self {
        if libc::WIFSIGNALED(status) {
            Exit::Signal(libc::WTERMSIG(status))
        } else {
            Exit::Code(libc::WEXITSTATUS(status))
        }
    }

    /// As rkt records it: the code, or 128 + signal.
    pub fn code(self) -> i32 {
        match self {
            Exit::Code(c) => c,
            Exit::Signal(s) => 128 + s,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    WriteStatus {
        app: usize,
        code: i32,
    },
    RunPostStop {
        app: usize,
    },
    Signal {
        app: usize,
        sig: i32,
    },
    /// Start the grace period after which `kill_deadline` is due.
    ArmKill,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Slot {
    Running,
    Exited(i32),
}

#[derive(Debug, Clone)]
pub struct Pod {
    apps: Vec<Slot>,
    first_failure: Option<i32>,
    /// The signal of an outside stop request, once one came.
    stop_signal: Option<i32>,
    kill_armed: bool,
}

impl Pod {
    pub fn new(apps: usize) -> Self {
        Pod {
            apps: vec![Slot::Running; apps],
            first_failure: None,
            stop_signal: None,
            kill_armed: false,
        }
    }

    fn running(&self) -> impl Iterator<Item = usize> + '_ {
        self.apps
            .iter()
            .enumerate()
            .filter(|(_, s)| **s == Slot::Running)
            .map(|(i, _)| i)
    }

    fn signal_running(&mut self, sig: i32, out: &mut Vec<Action>) {
        let before = out.len();
        out.extend(self.running().map(|app| Action::Signal { app, sig }));
        if out.len() > before && !self.kill_armed && sig != libc::SIGKILL {
            self.kill_armed = true;
            out.push(Action::ArmKill);
        }
    }

    pub fn is_running(&self, app: usize) -> bool {
        self.apps.get(app) == Some(&Slot::Running)
    }

    pub fn app_exited(&mut self, app: usize, exit: Exit) -> Vec<Action> {
        let mut out = Vec::new();
        if !self.is_running(app) {
            return out;
        }
        let stopped_by_us = match (exit, self.stop_signal) {
            (Exit::Signal(s), Some(stop)) => s == stop || s == libc::SIGKILL,
            _ => false,
        };
        let recorded = if self.first_failure.is_some() || stopped_by_us {
            0
        } else {
            exit.code()
        };
        self.apps[app] = Slot::Exited(recorded);
        out.push(Action::WriteStatus {
            app,
            code: recorded,
        });
        out.push(Action::RunPostStop { app });
        if recorded != 0 && self.first_failure.is_none() {
            self.first_failure = Some(recorded);
            self.signal_running(libc::SIGTERM, &mut out);
        }
        out
    }

    /// SIGTERM or SIGINT to PID 1: pass it on to every app that still runs.
    pub fn stop(&mut self, sig: i32) -> Vec<Action> {
        let mut out = Vec::new();
        self.stop_signal.get_or_insert(sig);
        self.signal_running(sig, &mut out);
        out
    }

    /// Signals that mean something to apps but do not stop the pod (SIGHUP).
    pub fn forward(&self, sig: i32) -> Vec<Action> {
        self.running()
            .map(|app| Action::Signal { app, sig })
            .collect()
    }

    pub fn kill_deadline(&mut self) -> Vec<Action> {
        let mut out = Vec::new();
        self.signal_running(libc::SIGKILL, &mut out);
        out
    }

    pub fn all_exited(&self) -> bool {
        self.running().next().is_none()
    }

    pub fn exit_code(&self) -> i32 {
        self.first_failure.unwrap_or(0)
    }

    pub fn recorded(&self, app: usize) -> Option<i32> {
        match self.apps.get(app) {
            Some(Slot::Exited(c)) => Some(*c),
            _ => None,
        }
    }
}

/// What the loop needs from the rest of stage1.
pub trait Effects {
    fn write_status(&mut self, app: usize, code: i32);
    /// Starts the app's post-stop handler, if it has one.
    fn run_post_stop(&mut self, app: usize) -> Option<libc::pid_t>;
    fn debug(&self, msg: &str);
}

/// Signals PID 1 waits for; they must be blocked (and given a handler) before the apps start.
pub const SIGNALS: &[libc::c_int] = &[libc::SIGCHLD, libc::SIGTERM, libc::SIGINT, libc::SIGHUP];

/// Reaps every child (orphans included) until all apps and their post-stop handlers are done, and
/// returns the pod's exit code.
pub fn supervise(
    pod: &mut Pod,
    pids: &[libc::pid_t],
    fx: &mut dyn Effects,
    interactive: bool,
) -> i32 {
    let set = crate::linux::sigset(SIGNALS);
    let mut handlers: Vec<libc::pid_t> = Vec::new();
    let mut kill_at: Option<Instant> = None;
    loop {
        let mut actions = Vec::new();
        while let Some((pid, status)) = crate::linux::reap_any() {
            if let Some(app) = pids.iter().position(|p| *p == pid) {
                let exit = Exit::from_wait_status(status);
                fx.debug(&format!("app {app} (pid {pid}) exited: {exit:?}"));
                actions.extend(pod.app_exited(app, exit));
            } else if let Some(i) = handlers.iter().position(|p| *p == pid) {
                handlers.swap_remove(i);
                let code = crate::linux::exit_code_of(status);
                if code != 0 {
                    eprintln!("stage1: post-stop handler exited with code {code}");
                }
            }
        }
        for a in actions {
            match a {
                Action::WriteStatus { app, code } => fx.write_status(app, code),
                Action::RunPostStop { app } => handlers.extend(fx.run_post_stop(app)),
                Action::Signal { app, sig } => crate::linux::kill(pids[app], sig),
                Action::ArmKill => kill_at = kill_at.or(Some(Instant::now() + KILL_GRACE)),
            }
        }
        if pod.all_exited() && handlers.is_empty() {
            return pod.exit_code();
        }
        let timeout = kill_at.map(|t| t.saturating_duration_since(Instant::now()));
        let got = crate::linux::sigtimedwait(&set, timeout);
        let mut actions = Vec::new();
        match got {
            None => {
                if kill_at.is_some_and(|t| Instant::now() >= t) {
                    fx.debug("grace period over, killing the remaining apps");
                    kill_at = None;
                    actions = pod.kill_deadline();
                }
            }
            Some(si) if si.signo == libc::SIGCHLD => {}
            // With --interactive the terminal already signalled the app itself (same process group).
            Some(si) if interactive && si.code == libc::SI_KERNEL => {}
            Some(si) if si.signo == libc::SIGHUP => actions = pod.forward(si.signo),
            Some(si) => {
                fx.debug(&format!("signal {} received, stopping the apps", si.signo));
                actions = pod.stop(si.signo);
            }
        }
        for a in actions {
            match a {
                Action::Signal { app, sig } => crate::linux::kill(pids[app], sig),
                Action::ArmKill => kill_at = kill_at.or(Some(Instant::now() + KILL_GRACE)),
                _ => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use libc::{SIGINT, SIGKILL, SIGTERM};

    fn statuses(actions: &[Action]) -> Vec<(usize, i32)> {
        actions
            .iter()
            .filter_map(|a| match a {
                Action::WriteStatus { app, code } => Some((*app, *code)),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn all_zero() {
        let mut p = Pod::new(3);
        for i in [2, 0, 1] {
            let a = p.app_exited(i, Exit::Code(0));
            assert_eq!(
                a,
                vec![
                    Action::WriteStatus { app: i, code: 0 },
                    Action::RunPostStop { app: i }
                ]
            );
        }
        assert!(p.all_exited());
        assert_eq!(p.exit_code(), 0);
    }

    #[test]
    fn rkt_exit_test_0_5_6() {
        let mut p = Pod::new(3);
        assert_eq!(statuses(&p.app_exited(0, Exit::Code(0))), [(0, 0)]);
        let a = p.app_exited(1, Exit::Code(5));
        assert_eq!(statuses(&a), [(1, 5)]);
        // The failure stops the one still running and arms the kill timer.
        assert!(a.contains(&Action::Signal {
            app: 2,
            sig: SIGTERM
        }));
        assert!(!a.contains(&Action::Signal {
            app: 0,
            sig: SIGTERM
        }));
        assert!(a.contains(&Action::ArmKill));
        // App 2 exits 6 on its own (or dies of the SIGTERM): recorded 0 either way.
        assert_eq!(statuses(&p.app_exited(2, Exit::Code(6))), [(2, 0)]);
        assert_eq!(
            (p.recorded(0), p.recorded(1), p.recorded(2)),
            (Some(0), Some(5), Some(0))
        );
        assert_eq!(p.exit_code(), 5);
        assert!(p.all_exited());

        let mut q = Pod::new(3);
        q.app_exited(1, Exit::Code(5));
        assert_eq!(statuses(&q.app_exited(2, Exit::Signal(SIGTERM))), [(2, 0)]);
    }

    #[test]
    fn single_app_codes_and_signals() {
        let mut p = Pod::new(1);
        let a = p.app_exited(0, Exit::Code(2));
        assert_eq!(statuses(&a), [(0, 2)]);
        assert!(!a.contains(&Action::ArmKill), "nothing left to stop");
        assert_eq!(p.exit_code(), 2);

        let mut p = Pod::new(1);
        assert_eq!(
            statuses(&p.app_exited(0, Exit::Signal(libc::SIGSEGV))),
            [(0, 139)]
        );
        assert_eq!(p.exit_code(), 139);
    }

    #[test]
    fn outside_stop_is_graceful() {
        let mut p = Pod::new(2);
        let a = p.stop(SIGTERM);
        assert_eq!(
            a,
            vec![
                Action::Signal {
                    app: 0,
                    sig: SIGTERM
                },
                Action::Signal {
                    app: 1,
                    sig: SIGTERM
                },
                Action::ArmKill
            ]
        );
        assert_eq!(statuses(&p.app_exited(0, Exit::Signal(SIGTERM))), [(0, 0)]);
        // Past the grace period only the survivor is killed; that death is ours too.
        assert_eq!(
            p.kill_deadline(),
            vec![Action::Signal {
                app: 1,
                sig: SIGKILL
            }]
        );
        assert_eq!(statuses(&p.app_exited(1, Exit::Signal(SIGKILL))), [(1, 0)]);
        assert_eq!(p.exit_code(), 0);
    }

    #[test]
    fn stop_then_app_fails_on_its_own() {
        let mut p = Pod::new(2);
        p.stop(SIGINT);
        assert_eq!(statuses(&p.app_exited(0, Exit::Signal(SIGINT))), [(0, 0)]);
        // An app that turns the stop request into an error exit is still a failure.
        let a = p.app_exited(1, Exit::Code(3));
        assert_eq!(statuses(&a), [(1, 3)]);
        assert!(!a.contains(&Action::ArmKill), "already armed by the stop");
        assert_eq!(p.exit_code(), 3);
    }

    #[test]
    fn hup_is_forwarded_without_stopping() {
        let mut p = Pod::new(2);
        p.app_exited(0, Exit::Code(0));
        assert_eq!(
            p.forward(libc::SIGHUP),
            vec![Action::Signal {
                app: 1,
                sig: libc::SIGHUP
            }]
        );
        // A SIGHUP death is the app's own failure, not our stop.
        assert_eq!(
            statuses(&p.app_exited(1, Exit::Signal(libc::SIGHUP))),
            [(1, 129)]
        );
    }

    #[test]
    fn duplicate_exit_is_ignored() {
        let mut p = Pod::new(1);
        p.app_exited(0, Exit::Code(1));
        assert!(p.app_exited(0, Exit::Code(0)).is_empty());
        assert_eq!(p.exit_code(), 1);
    }

    #[test]
    fn wait_status_decoding() {
        assert_eq!(Exit::from_wait_status(5 << 8), Exit::Code(5));
        assert_eq!(Exit::from_wait_status(libc::SIGTERM), Exit::Signal(SIGTERM));
        assert_eq!(Exit::Signal(SIGKILL).code(), 137);
    }
}
