//! The `enter` entrypoint (`/enter --pid=<pid> --appname=<app> -- CMD [ARGS...]`, run in the pod
//! directory): joins the IPC, UTS, PID and mount namespaces of the pod's PID 1 (and its user
//! namespace with --private-users), chroots into `/opt/stage2/<app>/rootfs` and runs CMD with the
//! app's environment, user, groups, capabilities and no_new_privs, as the app itself was started.
//!
//! What the app was started with is read from `rkt/enter/<app>` (written by the run entrypoint,
//! which alone knows the flags such as --insecure-options=capabilities) and `rkt/env/<app>`.

use crate::app::AppSpec;
use crate::caps::{self, CapSet};
use crate::env::Env;
use crate::{cgroups, layout, linux};
use std::ffi::CString;
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use thiserror::Error;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnterArgs {
    pub pid: libc::pid_t,
    pub app: String,
    pub cmd: Vec<String>,
}

#[derive(Debug, Error)]
pub enum EnterError {
    #[error("usage: enter --pid=PID --appname=APP -- CMD [ARGS...]")]
    Usage,
    #[error("invalid value {0:?} for flag --pid")]
    Pid(String),
    #[error("invalid app name {0:?}")]
    App(String),
    #[error("app {app:?}: cannot read {path}: {err}")]
    Read {
        app: String,
        path: PathBuf,
        err: std::io::Error,
    },
    #[error("invalid app file {0}: {1}")]
    Format(PathBuf, String),
    #[error("failed to join the pod's {ns} namespace: {err}")]
    Setns { ns: &'static str, err: std::io::Error },
    #[error("{what}: {err}")]
    Io {
        what: String,
        err: std::io::Error,
    },
}

pub fn parse<S: AsRef<str>>(argv: &[S]) -> Result<EnterArgs, EnterError> {
    let argv: Vec<&str> = argv.iter().map(AsRef::as_ref).collect();
    let (mut pid, mut app, mut cmd) = (None, None, Vec::new());
    let mut i = 0;
    while i < argv.len() {
        let a = argv[i];
        i += 1;
        if a == "--" {
            cmd = argv[i..].iter().map(|s| s.to_string()).collect();
            break;
        }
        let body = a.trim_start_matches('-');
        let (name, inline) = match body.split_once('=') {
            Some((n, v)) => (n, Some(v.to_string())),
            None => (body, None),
        };
        let value = match inline {
            Some(v) => v,
            None => {
                let v = argv.get(i).ok_or(EnterError::Usage)?;
                i += 1;
                v.to_string()
            }
        };
        match name {
            "pid" => pid = Some(value.parse::<libc::pid_t>().map_err(|_| EnterError::Pid(value))?),
            "appname" => app = Some(value),
            _ => return Err(EnterError::Usage),
        }
    }
    let (Some(pid), Some(app)) = (pid, app) else {
        return Err(EnterError::Usage);
    };
    if pid <= 0 {
        return Err(EnterError::Pid(pid.to_string()));
    }
    if !crate::pod::valid_ac_name(&app) {
        return Err(EnterError::App(app));
    }
    if cmd.is_empty() {
        return Err(EnterError::Usage);
    }
    Ok(EnterArgs { pid, app, cmd })
}

/// How the app runs, as far as a process entering it must match.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnterSpec {
    pub uid: u32,
    pub gid: u32,
    pub groups: Vec<u32>,
    pub caps: CapSet,
    pub no_new_privs: bool,
    pub working_dir: String,
}

impl EnterSpec {
    pub fn of(spec: &AppSpec) -> Self {
        EnterSpec {
            uid: spec.uid,
            gid: spec.gid,
            groups: spec.supplementary_gids.clone(),
            caps: spec.caps,
            no_new_privs: spec.no_new_privs,
            working_dir: spec.working_dir.clone(),
        }
    }

    pub fn render(&self) -> String {
        let groups: Vec<String> = self.groups.iter().map(u32::to_string).collect();
        format!(
            "uid={}\ngid={}\ngroups={}\ncaps={:x}\nno_new_privs={}\nworking_dir={}\n",
            self.uid,
            self.gid,
            groups.join(","),
            self.caps.0,
            self.no_new_privs as u8,
            self.working_dir
        )
    }

    pub fn parse(text: &str) -> Result<Self, String> {
        let get = |k: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(k)?.strip_prefix('='))
                .ok_or_else(|| format!("missing {k}"))
        };
        let num = |k: &str| get(k)?.parse::<u32>().map_err(|_| format!("bad {k}"));
        let groups = get("groups")?;
        Ok(EnterSpec {
            uid: num("uid")?,
            gid: num("gid")?,
            groups: if groups.is_empty() {
                vec![]
            } else {
                groups
                    .split(',')
                    .map(|g| g.parse().map_err(|_| "bad groups".to_string()))
                    .collect::<Result<_, _>>()?
            },
            caps: CapSet(u64::from_str_radix(get("caps")?, 16).map_err(|_| "bad caps")?),
            no_new_privs: get("no_new_privs")? == "1",
            working_dir: get("working_dir")?.to_string(),
        })
    }
}

/// `K=V` lines of `rkt/env/<app>` (the value is everything after the first `=`).
pub fn parse_env(text: &str) -> Env {
    text.lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

pub fn main(argv: &[String]) -> i32 {
    match parse(&argv[1..]).and_then(|a| enter(&a, Path::new("."))) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("enter: {e}");
            254
        }
    }
}

fn read(app: &str, path: PathBuf) -> Result<String, EnterError> {
    std::fs::read_to_string(&path).map_err(|err| EnterError::Read {
        app: app.into(),
        path,
        err,
    })
}

fn ns_fd(pid: libc::pid_t, ns: &str) -> std::io::Result<OwnedFd> {
    linux::open_dir_any(&PathBuf::from(format!("/proc/{pid}/ns/{ns}")))
}

fn same_ns(pid: libc::pid_t, ns: &str) -> bool {
    let theirs = std::fs::read_link(format!("/proc/{pid}/ns/{ns}"));
    let ours = std::fs::read_link(format!("/proc/self/ns/{ns}"));
    matches!((theirs, ours), (Ok(a), Ok(b)) if a == b)
}

pub fn enter(a: &EnterArgs, pod: &Path) -> Result<i32, EnterError> {
    let spec_path = layout::enter_dir(pod).join(&a.app);
    let spec = EnterSpec::parse(&read(&a.app, spec_path.clone())?)
        .map_err(|m| EnterError::Format(spec_path, m))?;
    let env = parse_env(&read(&a.app, layout::env_dir(pod).join(&a.app))?);
    let io = |what: String| move |err| EnterError::Io { what, err };
    // Opened before any setns: afterwards /proc is the pod's.
    let root = linux::open_dir_any(&PathBuf::from(format!("/proc/{}/root", a.pid)))
        .map_err(io(format!("cannot open the root of pid {}", a.pid)))?;
    let cgroup_procs = cgroups::open_app_procs(pod, &a.app);
    let mut joins: Vec<(&'static str, libc::c_int, OwnedFd)> = Vec::new();
    // The pod's other namespaces belong to the host's user namespace (PID 1 made them before its
    // own user namespace), so they are joined with our host privileges and the user namespace last.
    for (ns, flag) in [
        ("ipc", libc::CLONE_NEWIPC),
        ("uts", libc::CLONE_NEWUTS),
        ("net", libc::CLONE_NEWNET),
        ("pid", libc::CLONE_NEWPID),
        ("mnt", libc::CLONE_NEWNS),
        ("user", libc::CLONE_NEWUSER),
    ] {
        // Joining one's own user namespace is EINVAL; the others are skipped for the same reason
        // of meaning (the pod shares them with the host).
        if same_ns(a.pid, ns) {
            continue;
        }
        let fd = ns_fd(a.pid, ns).map_err(|err| EnterError::Setns { ns, err })?;
        joins.push((ns, flag, fd));
    }
    for (ns, flag, fd) in &joins {
        linux::setns(fd, *flag).map_err(|err| EnterError::Setns { ns, err })?;
    }
    // SAFETY: fchdir/chroot on a valid directory descriptor.
    linux::check(unsafe { libc::fchdir(root.as_raw_fd()) })
        .and_then(|_| linux::check(unsafe { libc::chroot(c".".as_ptr()) }))
        .map_err(io("cannot enter the pod's root".into()))?;
    drop(root);
    let app_root = format!("/opt/stage2/{}/rootfs", a.app);
    let args: Vec<CString> = a
        .cmd
        .iter()
        .map(linux::cstr)
        .collect::<Result<_, _>>()
        .map_err(io("invalid command".into()))?;
    let envp: Vec<CString> = env
        .iter()
        .filter_map(|(k, v)| CString::new(format!("{k}={v}")).ok())
        .collect();
    // Interactive shells get ^C; this process only waits.
    // SAFETY: setting dispositions.
    unsafe {
        libc::signal(libc::SIGINT, libc::SIG_IGN);
        libc::signal(libc::SIGQUIT, libc::SIG_IGN);
    }
    // A new PID namespace applies to children only.
    let child = linux::fork().map_err(io("fork".into()))?;
    if child == 0 {
        if let Some(fd) = &cgroup_procs {
            for f in fd {
                // SAFETY: writing "0" (this process) to an open cgroup.procs.
                unsafe { libc::write(f.as_raw_fd(), b"0".as_ptr().cast(), 1) };
            }
        }
        exec_child(&spec, &env, &app_root, &args, &envp);
    }
    drop(cgroup_procs);
    let status = linux::wait_pid_reaping_others(child).map_err(io("waitpid".into()))?;
    Ok(linux::exit_code_of(status))
}

fn die(msg: String) -> ! {
    eprintln!("enter: {msg}");
    // SAFETY: leaving the forked child.
    unsafe { libc::_exit(254) }
}

fn exec_child(spec: &EnterSpec, env: &Env, app_root: &str, args: &[CString], envp: &[CString]) -> ! {
    linux::reset_signals();
    let root = linux::cstr(app_root).unwrap_or_default();
    let wd = linux::cstr(&spec.working_dir).unwrap_or_default();
    // SAFETY: chdir/chroot with valid C strings.
    if unsafe { libc::chdir(root.as_ptr()) } != 0 || unsafe { libc::chroot(c".".as_ptr()) } != 0 {
        die(format!(
            "cannot enter {app_root}: {}",
            std::io::Error::last_os_error()
        ));
    }
    // SAFETY: valid C string; a missing working directory falls back to / as a login shell would.
    if unsafe { libc::chdir(wd.as_ptr()) } != 0 {
        // SAFETY: valid C string.
        unsafe { libc::chdir(c"/".as_ptr()) };
    }
    let last_cap = caps::last_cap();
    let r = (|| -> std::io::Result<()> {
        caps::drop_bounding(spec.caps, last_cap)?;
        // SAFETY: valid gid array; plain id setters.
        unsafe {
            linux::check(libc::setgroups(spec.groups.len(), spec.groups.as_ptr()))?;
            linux::check(libc::setgid(spec.gid))?;
            linux::check(libc::setuid(spec.uid))?;
        }
        caps::set_process_caps(if spec.uid == 0 { spec.caps } else { CapSet(0) })?;
        // SAFETY: prctl with integer arguments.
        if spec.no_new_privs && unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) } != 0
        {
            return Err(std::io::Error::last_os_error());
        }
        Ok(())
    })();
    if let Err(e) = r {
        die(format!("cannot take the app's user and capabilities: {e}"));
    }
    let exec0 = args[0].to_str().unwrap_or_default();
    let is_file = |p: &str| std::fs::metadata(p).is_ok();
    let is_exec = |p: &str| {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    };
    let path = crate::env::lookup(env, "PATH");
    let Some(bin) =
        crate::exec_path::resolve(exec0, &spec.working_dir, path, &is_file, &is_exec)
    else {
        die(format!("Unable to open {exec0:?}: No such file or directory"));
    };
    let bin_c = linux::cstr(&bin).unwrap_or_default();
    let mut argv: Vec<*const libc::c_char> = args.iter().map(|a| a.as_ptr()).collect();
    argv.push(std::ptr::null());
    let mut envv: Vec<*const libc::c_char> = envp.iter().map(|e| e.as_ptr()).collect();
    envv.push(std::ptr::null());
    linux::cloexec_from(3);
    // SAFETY: NUL-terminated arrays of valid C strings.
    unsafe { libc::execve(bin_c.as_ptr(), argv.as_ptr(), envv.as_ptr()) };
    die(format!(
        "cannot exec {bin}: {}",
        std::io::Error::last_os_error()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn args() {
        let a = parse(&["--pid=42", "--appname=web", "--", "/bin/sh", "-c", "true"]).unwrap();
        assert_eq!(a.pid, 42);
        assert_eq!(a.app, "web");
        assert_eq!(a.cmd, ["/bin/sh", "-c", "true"]);
        let a = parse(&["-pid", "7", "-appname", "a", "--", "x"]).unwrap();
        assert_eq!((a.pid, a.app.as_str()), (7, "a"));
        assert!(matches!(parse(&["--pid=x", "--appname=a", "--", "c"]), Err(EnterError::Pid(_))));
        assert!(matches!(parse(&["--pid=1", "--appname=../a", "--", "c"]), Err(EnterError::App(_))));
        assert!(matches!(parse(&["--pid=1", "--appname=a"]), Err(EnterError::Usage)));
        assert!(matches!(parse(&["--appname=a", "--", "c"]), Err(EnterError::Usage)));
    }

    #[test]
    fn spec_round_trip() {
        let s = EnterSpec {
            uid: 1000,
            gid: 100,
            groups: vec![5, 6],
            caps: CapSet(0x3fff),
            no_new_privs: true,
            working_dir: "/srv/x".into(),
        };
        assert_eq!(EnterSpec::parse(&s.render()).unwrap(), s);
        let s = EnterSpec {
            groups: vec![],
            ..s
        };
        assert_eq!(EnterSpec::parse(&s.render()).unwrap(), s);
        assert!(EnterSpec::parse("uid=1\n").is_err());
    }

    #[test]
    fn env_lines() {
        assert_eq!(
            parse_env("A=1\nB=x=y\n\nbad\n"),
            vec![("A".into(), "1".into()), ("B".into(), "x=y".into())]
        );
    }
}
