//! One app: everything decided before the pod's namespaces exist (`AppSpec`, so errors surface as
//! `stage1: …` with exit 254 before anything runs), and the fork/exec that starts its processes.

use crate::caps::{self, CapSet};
use crate::env::{self, Env};
use crate::mounts::{AppMountSpec, MountPlan};
use crate::pod::{Isolator, RuntimeApp};
use crate::user::{self, RootfsDb};
use std::ffi::CString;
use std::path::PathBuf;
use thiserror::Error;

pub const NO_NEW_PRIVILEGES: &str = "os/linux/no-new-privileges";
pub const OOM_SCORE_ADJ: &str = "os/linux/oom-score-adj";

#[derive(Debug, Clone, PartialEq)]
pub struct AppSpec {
    pub name: String,
    /// Inside stage1's root, once PID 1 has pivoted into it.
    pub root: PathBuf,
    pub exec: Vec<String>,
    pub working_dir: String,
    pub env: Env,
    pub uid: u32,
    pub gid: u32,
    pub supplementary_gids: Vec<u32>,
    pub caps: CapSet,
    pub no_new_privs: bool,
    pub oom_score_adj: Option<i32>,
    pub pre_start: Option<Vec<String>>,
    pub post_stop: Option<Vec<String>>,
    pub mounts: MountPlan,
    /// Open `cgroup.procs` descriptors of cgroup v1 hierarchies, which the app's processes join
    /// before exec (see `cgroups`).
    pub cgroup_procs: Vec<std::os::fd::RawFd>,
    /// The app's cgroup in the unified hierarchy: its directory, which processes are cloned into
    /// (CLONE_INTO_CGROUP: no migration, which costs a ~15 ms RCU wait here), and its
    /// `cgroup.procs`, written instead where clone3 cannot do it (old kernel, user namespace).
    pub cgroup_unified: Option<(std::os::fd::RawFd, std::os::fd::RawFd)>,
    /// None with --insecure-options=seccomp.
    pub seccomp: Option<crate::seccomp::Filter>,
}

#[derive(Debug, Error)]
pub enum SpecError {
    #[error(transparent)]
    User(#[from] user::UserError),
    #[error("app {app:?}: {err}")]
    Caps { app: String, err: caps::CapsError },
    #[error("app {app:?}: invalid value for isolator {name}")]
    Isolator { app: String, name: String },
    #[error("app {app:?}: {err}")]
    Seccomp {
        app: String,
        err: crate::seccomp::SeccompError,
    },
    #[error("app {app:?}: workingDirectory must be an absolute path")]
    WorkingDir { app: String },
}

/// The isolators this stage1 applies; others are reported once and ignored (appc allows that
/// when the user is told).
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Isolators {
    pub no_new_privs: bool,
    pub oom_score_adj: Option<i32>,
    pub ignored: Vec<String>,
}

pub fn parse_isolators(
    app: &str,
    isolators: &[Isolator],
    _disable_seccomp: bool, // seccomp isolators are decided by crate::seccomp::filter_for
) -> Result<Isolators, SpecError> {
    let bad = |name: &str| SpecError::Isolator {
        app: app.into(),
        name: name.into(),
    };
    let mut out = Isolators::default();
    for iso in isolators {
        match iso.name.as_str() {
            NO_NEW_PRIVILEGES => {
                out.no_new_privs = iso.value.as_bool().ok_or_else(|| bad(&iso.name))?
            }
            OOM_SCORE_ADJ => {
                let v = iso
                    .value
                    .as_i64()
                    .filter(|v| (-1000..=1000).contains(v))
                    .ok_or_else(|| bad(&iso.name))?;
                out.oom_score_adj = Some(v as i32);
            }
            caps::RETAIN_SET | caps::REMOVE_SET => {}
            // Applied through cgroups (crate::cgroups).
            "resource/memory" | "resource/cpu" | "os/linux/cpu-shares" => {}
            // Applied by crate::seccomp.
            crate::seccomp::RETAIN_SET | crate::seccomp::REMOVE_SET => {}
            n => out.ignored.push(n.to_string()),
        }
    }
    Ok(out)
}

pub struct SpecInputs<'a> {
    pub ra: &'a RuntimeApp,
    pub db: &'a dyn RootfsDb,
    pub disable_caps: bool,
    pub disable_seccomp: bool,
    pub last_cap: u32,
    pub mount_spec: AppMountSpec,
    pub facts: crate::mounts::RootFacts,
}

pub fn build_spec(i: SpecInputs) -> Result<(AppSpec, Vec<String>), SpecError> {
    let ra = i.ra;
    let app = ra
        .app
        .as_ref()
        .expect("validated: every app has an app section");
    let uid = user::resolve_uid(&app.user, i.db)?;
    let gid = user::resolve_gid(&app.group, i.db)?;
    let entry = user::passwd_entry_for(uid, i.db);
    let app_env: Vec<(String, String)> = app
        .environment
        .iter()
        .map(|e| (e.name.clone(), e.value.clone()))
        .collect();
    let caps = caps::app_caps(&app.isolators, i.disable_caps, i.last_cap).map_err(|err| {
        SpecError::Caps {
            app: ra.name.clone(),
            err,
        }
    })?;
    let iso = parse_isolators(&ra.name, &app.isolators, i.disable_seccomp)?;
    let seccomp = crate::seccomp::filter_for(&app.isolators, i.disable_seccomp).map_err(|err| SpecError::Seccomp {
        app: ra.name.clone(),
        err,
    })?;
    let working_dir = if app.working_directory.is_empty() {
        "/".to_string()
    } else {
        app.working_directory.clone()
    };
    if !working_dir.starts_with('/') {
        return Err(SpecError::WorkingDir {
            app: ra.name.clone(),
        });
    }
    let warnings = iso
        .ignored
        .iter()
        .map(|n| {
            format!(
                "warning: app {:?}: isolator {n} is not supported by this stage1, ignoring",
                ra.name
            )
        })
        .collect();
    let spec = AppSpec {
        name: ra.name.clone(),
        root: PathBuf::from(format!("/opt/stage2/{}/rootfs", ra.name)),
        exec: app.exec.clone(),
        working_dir,
        env: env::app_env(&ra.name, &app_env, entry.as_ref()),
        uid,
        gid,
        supplementary_gids: app.supplementary_gids.clone(),
        caps,
        no_new_privs: iso.no_new_privs,
        oom_score_adj: iso.oom_score_adj,
        pre_start: app.event_handler("pre-start").map(<[String]>::to_vec),
        post_stop: app.event_handler("post-stop").map(<[String]>::to_vec),
        mounts: crate::mounts::plan_app(&i.mount_spec, &i.facts),
        cgroup_procs: Vec::new(),
        cgroup_unified: None,
        seccomp,
    };
    Ok((spec, warnings))
}

/// Which process of the app to start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Main,
    /// pre-start / post-stop: as root with stage1's full privileges (rkt runs them privileged).
    Handler,
}

/// Exit code of an app that could not be started (rkt's appexec uses 254 too).
pub const EXEC_FAILED: i32 = 254;

fn fail(msg: String) -> ! {
    eprintln!("{msg}");
    // SAFETY: leaving the forked child without running the parent's destructors or atexit hooks.
    unsafe { libc::_exit(EXEC_FAILED) }
}

fn os_err() -> std::io::Error {
    std::io::Error::last_os_error()
}

/// strerror text without Rust's " (os error N)" suffix, for messages in rkt's style.
fn strerror(e: &std::io::Error) -> String {
    let s = e.to_string();
    match s.find(" (os error") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

fn is_file(p: &str) -> bool {
    std::fs::metadata(p).is_ok()
}

fn is_exec(p: &str) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// Forks and starts `argv` for `spec` in the app's root. Returns the child's pid.
pub fn spawn(
    spec: &AppSpec,
    role: Role,
    argv: &[String],
    interactive: bool,
    last_cap: u32,
) -> std::io::Result<libc::pid_t> {
    // Everything that allocates is prepared here; the child only makes system calls and formats errors.
    let root = crate::linux::cstr(&spec.root)?;
    let wd = crate::linux::cstr(&spec.working_dir)?;
    let envp: Vec<CString> = spec
        .env
        .iter()
        .filter_map(|(k, v)| CString::new(format!("{k}={v}")).ok())
        .collect();
    let args: Vec<CString> = argv
        .iter()
        .map(crate::linux::cstr)
        .collect::<Result<_, _>>()?;
    let (pid, joined) = crate::linux::fork_into_cgroup(spec.cgroup_unified.map(|(dir, _)| dir))?;
    if pid != 0 {
        return Ok(pid);
    }
    child(spec, role, &root, &wd, &args, &envp, interactive, last_cap, joined)
}

#[allow(clippy::too_many_arguments)]
fn child(
    spec: &AppSpec,
    role: Role,
    root: &CString,
    wd: &CString,
    args: &[CString],
    envp: &[CString],
    interactive: bool,
    last_cap: u32,
    joined_unified: bool,
) -> ! {
    crate::linux::reset_signals();
    let unified = spec.cgroup_unified.filter(|_| !joined_unified).map(|(_, procs)| procs);
    for fd in spec.cgroup_procs.iter().chain(unified.iter()) {
        // SAFETY: writing "0" (the writing process) to an open cgroup.procs; done as root before
        // any privilege is dropped.
        if unsafe { libc::write(*fd, b"0".as_ptr().cast(), 1) } != 1 {
            fail(format!(
                "Error: Unable to join the cgroups of app {:?}: {}",
                spec.name,
                strerror(&os_err())
            ));
        }
    }
    // SAFETY: umask only changes this process's creation mask.
    unsafe { libc::umask(0o022) };
    // SAFETY: chdir/chroot with valid C strings.
    if unsafe { libc::chdir(root.as_ptr()) } != 0 || unsafe { libc::chroot(c".".as_ptr()) } != 0 {
        fail(format!(
            "Error: Unable to enter the root of app {:?}: {}",
            spec.name,
            strerror(&os_err())
        ));
    }
    if !interactive {
        // SAFETY: open/dup2 of /dev/null (the one bound into the app).
        unsafe {
            let fd = libc::open(c"/dev/null".as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC);
            if fd >= 0 {
                libc::dup2(fd, 0);
            }
        }
    }
    // SAFETY: valid C string.
    if unsafe { libc::chdir(wd.as_ptr()) } != 0 {
        fail(format!(
            "Error: Unable to change to working directory {:?}: {}",
            spec.working_dir,
            strerror(&os_err())
        ));
    }
    if role == Role::Main {
        if let Some(adj) = spec.oom_score_adj {
            if let Err(e) = std::fs::write("/proc/self/oom_score_adj", adj.to_string()) {
                fail(format!(
                    "Error: Unable to set oom_score_adj: {}",
                    strerror(&e)
                ));
            }
        }
        if let Err(e) = drop_privileges(spec, last_cap) {
            fail(format!(
                "Error: Unable to set user and capabilities of app {:?}: {}",
                spec.name,
                strerror(&e)
            ));
        }
        // SAFETY: prctl with integer arguments.
        if spec.no_new_privs && unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) } != 0 {
            fail(format!(
                "Error: Unable to set no_new_privs: {}",
                strerror(&os_err())
            ));
        }
    }
    let exec0 = args[0].to_str().unwrap_or_default();
    let path = crate::env::lookup(&spec.env, "PATH");
    let Some(bin) = crate::exec_path::resolve(exec0, &spec.working_dir, path, &is_file, &is_exec)
    else {
        fail(format!(
            "Error: Unable to open {exec0:?}: No such file or directory"
        ));
    };
    let bin_c = crate::linux::cstr(&bin).unwrap_or_default();
    let mut argv: Vec<*const libc::c_char> = args.iter().map(|a| a.as_ptr()).collect();
    argv.push(std::ptr::null());
    let mut env: Vec<*const libc::c_char> = envp.iter().map(|e| e.as_ptr()).collect();
    env.push(std::ptr::null());
    crate::linux::cloexec_from(3);
    // every CPU stage1 was given, not the one its set-up ran on
    crate::linux::unpin();
    // Last, so that nothing stage1 still does here (path lookup, descriptors) meets the filter.
    if role == Role::Main {
        if let Some(f) = &spec.seccomp {
            // Without CAP_SYS_ADMIN the kernel takes a filter only under no_new_privs (systemd
            // implies NoNewPrivileges= the same way for SystemCallFilter=).
            const CAP_SYS_ADMIN: u32 = 21;
            // SAFETY: prctl with integer arguments.
            if !spec.caps.contains(CAP_SYS_ADMIN) || spec.uid != 0 {
                unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) };
            }
            if let Err(e) = crate::seccomp::install(f) {
                fail(format!(
                    "Error: Unable to install the seccomp filter of app {:?}: {}",
                    spec.name,
                    strerror(&e)
                ));
            }
        }
    }
    // SAFETY: NUL-terminated arrays of valid C strings that outlive the call.
    unsafe { libc::execve(bin_c.as_ptr(), argv.as_ptr(), env.as_ptr()) };
    fail(format!(
        "Error: Unable to exec {bin:?}: {}",
        strerror(&os_err())
    ))
}

/// Bounding set first (it needs CAP_SETPCAP), then groups and ids, then the process sets: a root app
/// keeps exactly its set, any other uid ends with none (as systemd's User= without ambient caps).
fn drop_privileges(spec: &AppSpec, last_cap: u32) -> std::io::Result<()> {
    caps::drop_bounding(spec.caps, last_cap)?;
    let groups: Vec<libc::gid_t> = spec.supplementary_gids.clone();
    // SAFETY: pointer and length of a valid gid array; plain id setters.
    unsafe {
        crate::linux::check(libc::setgroups(groups.len(), groups.as_ptr()))?;
        crate::linux::check(libc::setgid(spec.gid))?;
        crate::linux::check(libc::setuid(spec.uid))?;
    }
    caps::set_process_caps(if spec.uid == 0 { spec.caps } else { CapSet(0) })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn iso(name: &str, value: serde_json::Value) -> Isolator {
        Isolator {
            name: name.into(),
            value,
        }
    }

    #[test]
    fn isolators() {
        let i = parse_isolators(
            "a",
            &[
                iso(NO_NEW_PRIVILEGES, json!(true)),
                iso(OOM_SCORE_ADJ, json!(-500)),
                iso("resource/memory", json!({"limit": "1G"})),
                iso(caps::RETAIN_SET, json!({"set": ["CAP_CHOWN"]})),
                iso(
                    "os/linux/seccomp-remove-set",
                    json!({"set": ["@appc.io/all"]}),
                ),
            ],
            false,
        )
        .unwrap();
        assert!(i.no_new_privs);
        assert_eq!(i.oom_score_adj, Some(-500));
        assert!(i.ignored.is_empty());
        let i =
            parse_isolators("a", &[iso("os/linux/seccomp-retain-set", json!({}))], true).unwrap();
        assert!(i.ignored.is_empty(), "seccomp isolators are applied, not ignored");
        assert!(parse_isolators("a", &[iso(OOM_SCORE_ADJ, json!(5000))], false).is_err());
        assert!(parse_isolators("a", &[iso(NO_NEW_PRIVILEGES, json!("yes"))], false).is_err());
    }

    #[test]
    fn spec_from_runtime_app() {
        let pod = crate::pod::PodManifest::parse(
            br#"{"acKind":"PodManifest","apps":[{"name":"web","app":{"exec":["server","-v"],"user":"user1","group":"group1",
                "supplementaryGIDs":[5],"environment":[{"name":"A","value":"b"}],
                "eventHandlers":[{"name":"post-stop","exec":["/cleanup"]}],
                "isolators":[{"name":"os/linux/capabilities-remove-set","value":{"set":["CAP_KILL"]}}]}}]}"#,
        )
        .unwrap();
        let db = crate::user::tests::image_db();
        let ms = AppMountSpec {
            hostname_file: "/h".into(),
            stage0_hosts: None,
            hosts_fallback: "/f".into(),
            resolv: None,
            console: None,
            disable_paths: false,
            read_only_rootfs: false,
            volumes: vec![],
            device_nodes: true,
        };
        let (s, w) = build_spec(SpecInputs {
            ra: &pod.apps[0],
            db: &db,
            disable_caps: false,
            disable_seccomp: false,
            last_cap: 40,
            mount_spec: ms,
            facts: Default::default(),
        })
        .unwrap();
        assert!(w.is_empty());
        assert_eq!(
            (s.uid, s.gid, s.supplementary_gids.as_slice()),
            (1000, 100, &[5][..])
        );
        assert_eq!(s.root, PathBuf::from("/opt/stage2/web/rootfs"));
        assert_eq!(s.working_dir, "/");
        assert_eq!(env::lookup(&s.env, "USER"), Some("user1"));
        assert_eq!(env::lookup(&s.env, "AC_APP_NAME"), Some("web"));
        assert_eq!(s.caps.0.count_ones(), 13);
        assert_eq!(s.pre_start, None);
        assert_eq!(s.post_stop, Some(vec!["/cleanup".to_string()]));
        assert!(!s.mounts.steps.is_empty());
    }
}
