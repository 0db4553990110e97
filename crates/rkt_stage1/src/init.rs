//! The `run` entrypoint (`/init`): from a prepared pod directory to running apps and back to an
//! exit code.
//!
//! Process shape: the original process (rkt's pid, holding the pod lock) forks the pod's PID 1 into
//! a new PID namespace and stays in the host's namespaces, so it can always write `pid` and forward
//! signals. PID 1 makes its own mount, UTS and IPC namespaces, mounts every app's filesystems,
//! pivots into `stage1/rootfs`, starts the apps chrooted in `/opt/stage2/<app>/rootfs` and reaps.

use crate::app::{self, AppSpec, Role, SpecInputs};
use crate::args::{self, IpcMode, RunArgs};
use crate::linux::{self, LinuxSyscalls};
use crate::mounts::{self, AppMountSpec, VolumeBind};
use crate::pod::{PodManifest, RuntimeApp};
use crate::reaper::{self, Effects, Pod};
use crate::{caps, cgroups, enter, env, layout, pivot, podfiles, userns, volumes};
use std::io;
use std::os::fd::RawFd;
use std::path::{Path, PathBuf};
use std::time::Instant;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum InitError {
    #[error(transparent)]
    Args(#[from] args::ArgsError),
    #[error(transparent)]
    Pod(#[from] crate::pod::PodError),
    #[error(transparent)]
    Spec(#[from] app::SpecError),
    #[error("app {app:?}: {err}")]
    Volume {
        app: String,
        err: volumes::VolumeError,
    },
    #[error(transparent)]
    Mount(#[from] mounts::MountError),
    #[error("{0}")]
    Msg(String),
    #[error("{what}: {err}")]
    Io { what: String, err: io::Error },
}

fn io_err(what: impl Into<String>) -> impl FnOnce(io::Error) -> InitError {
    let what = what.into();
    move |err| InitError::Io { what, err }
}

struct Log {
    debug: bool,
    start: Instant,
}

impl Log {
    fn debug(&self, msg: &str) {
        if self.debug {
            eprintln!(
                "stage1: [{:>8.3} ms] {msg}",
                self.start.elapsed().as_secs_f64() * 1000.0
            );
        }
    }
}

pub fn main(argv: &[String]) -> i32 {
    match run(argv) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("stage1: {e}");
            // Cgroups made before the failure would otherwise wait for gc.
            if let Err(e) = cgroups::remove(Path::new(".")) {
                eprintln!("stage1: {e}");
            }
            254
        }
    }
}

fn lock_fd() -> Result<RawFd, InitError> {
    let v = std::env::var("RKT_LOCK_FD")
        .map_err(|_| InitError::Msg("unable to get rkt lock fd: RKT_LOCK_FD is not set".into()))?;
    let fd: RawFd = v.trim().parse().map_err(|_| {
        InitError::Msg(format!(
            "unable to get rkt lock fd: invalid RKT_LOCK_FD {v:?}"
        ))
    })?;
    // The lock must outlive the pod in this process but never reach an app.
    linux::set_cloexec(fd).map_err(io_err(format!("unable to get rkt lock fd {fd}")))?;
    Ok(fd)
}

/// The terminal stage1 was started on, if any: it becomes the apps' /dev/console.
fn console_tty() -> Option<PathBuf> {
    (0..3).find_map(|fd| {
        // SAFETY: isatty on a possibly closed fd just returns 0.
        if unsafe { libc::isatty(fd) } != 1 {
            return None;
        }
        std::fs::read_link(format!("/proc/self/fd/{fd}"))
            .ok()
            .filter(|p| p.starts_with("/dev/"))
    })
}

fn write_etc(pod: &Path, a: &RunArgs, hostname: &str) -> Result<(), InitError> {
    let etc = layout::stage1_etc(pod);
    std::fs::create_dir_all(&etc).map_err(io_err(format!("failed to create {}", etc.display())))?;
    // Both only read by PID 1, to bind them into the apps: written in place.
    let p = etc.join("hostname");
    linux::write_in_place(&p, format!("{hostname}\n").as_bytes(), 0o644)
        .map_err(io_err(format!("failed to write {}", p.display())))?;
    let p = etc.join("hosts-fallback");
    let text = match std::fs::read_to_string(&p) {
        Ok(t) => podfiles::add_hosts_entry(&t, hostname),
        Err(_) => podfiles::hosts_fallback(hostname),
    };
    linux::write_in_place(&p, text.as_bytes(), 0o644)
        .map_err(io_err(format!("failed to write {}", p.display())))?;
    if a.stage0_wrote_hosts() {
        let p = etc.join("rkt-hosts");
        if let Ok(t) = std::fs::read_to_string(&p) {
            linux::write_atomic(
                &p,
                podfiles::add_hosts_entry(&t, hostname).as_bytes(),
                0o644,
            )
            .map_err(io_err(format!("failed to write {}", p.display())))?;
        }
    }
    Ok(())
}

fn prepare_volumes(
    manifest: &PodManifest,
    ra: &RuntimeApp,
    pod: &Path,
    shift: u32,
) -> Result<Vec<VolumeBind>, InitError> {
    let verr = |err| InitError::Volume {
        app: ra.name.clone(),
        err,
    };
    let (resolved, warnings) = volumes::resolve(manifest, ra, pod).map_err(verr)?;
    // read only for an implicit volume made fresh: most pods have none
    let docker = std::cell::OnceCell::new();
    let is_docker = || {
        *docker.get_or_init(|| {
            let image_manifest = layout::stage1_rootfs(pod).join("opt/stage2").join(&ra.name).join("manifest");
            std::fs::read(image_manifest).is_ok_and(|b| volumes::is_docker_image(&b))
        })
    };
    for w in warnings {
        eprintln!("stage1: {w}");
    }
    let mut out = Vec::with_capacity(resolved.len());
    for m in resolved {
        let source_is_dir = match m.backing {
            volumes::Backing::Host => std::fs::metadata(&m.source)
                .map_err(io_err(format!(
                    "app {:?}: volume {}: cannot use source {}",
                    ra.name,
                    m.volume,
                    m.source.display()
                )))?
                .is_dir(),
            volumes::Backing::Empty { mode, uid, gid } => {
                let fresh = !m.source.is_dir();
                // Owners are the app's view: with --private-users, uid 0 in the pod is `shift` here.
                create_empty_volume(&m.source, mode, uid + shift, gid + shift).map_err(io_err(format!(
                    "failed to create volume {}",
                    m.source.display()
                )))?;
                if fresh && m.implicit && is_docker() {
                    init_from_image(pod, &ra.name, &m).map_err(io_err(format!(
                        "failed to initialise volume {} from the image",
                        m.source.display()
                    )))?;
                }
                true
            }
        };
        out.push(VolumeBind {
            source: m.source,
            target: m.target,
            source_is_dir,
            read_only: m.read_only,
            recursive: m.recursive,
        });
    }
    Ok(out)
}

/// Docker semantics: the image's content at the mount point seeds the implicit volume.
fn init_from_image(pod: &Path, app: &str, m: &volumes::ResolvedMount) -> io::Result<()> {
    let root = layout::app_rootfs(pod, app);
    let fd = match linux::open_in_root(&root, &m.target, libc::O_DIRECTORY) {
        Ok(fd) => fd,
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => return Ok(()),
        Err(e) => return Err(e),
    };
    let src = PathBuf::from(linux::fd_path(&fd).to_str().unwrap_or_default());
    volumes::copy_contents(&src, &m.source)
}

fn create_empty_volume(dir: &Path, mode: u32, uid: u32, gid: u32) -> io::Result<()> {
    use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
    if dir.is_dir() {
        return Ok(());
    }
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o755)
        .create(dir)?;
    std::os::unix::fs::chown(dir, Some(uid), Some(gid))?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(mode))
}

fn build_specs(
    manifest: &PodManifest,
    a: &RunArgs,
    pod: &Path,
    last_cap: u32,
) -> Result<Vec<AppSpec>, InitError> {
    let etc = layout::stage1_etc(pod);
    let existing = |name: &str| Some(etc.join(name)).filter(|p| p.exists());
    let console = console_tty();
    let mut specs = Vec::with_capacity(manifest.apps.len());
    for ra in &manifest.apps {
        let root = layout::app_rootfs(pod, &ra.name);
        if !root.is_dir() {
            return Err(InitError::Msg(format!(
                "app {:?}: rootfs {} does not exist",
                ra.name,
                root.display()
            )));
        }
        let facts = mounts::probe(&LinuxSyscalls::default(), &root)
            .map_err(io_err(format!("failed to inspect {}", root.display())))?;
        let mount_spec = AppMountSpec {
            hostname_file: etc.join("hostname"),
            stage0_hosts: existing("rkt-hosts"),
            hosts_fallback: etc.join("hosts-fallback"),
            resolv: existing("rkt-resolv.conf"),
            console: console.clone(),
            disable_paths: a.disable_paths,
            read_only_rootfs: ra.read_only_root_fs,
            volumes: prepare_volumes(manifest, ra, pod, a.private_users.map_or(0, |p| p.0))?,
            device_nodes: a.private_users.is_none(),
        };
        let (spec, warnings) = app::build_spec(SpecInputs {
            ra,
            db: &linux::RootfsFiles(&root),
            disable_caps: a.disable_capabilities_restriction,
            disable_seccomp: a.disable_seccomp,
            last_cap,
            mount_spec,
            facts,
        })?;
        for w in warnings {
            eprintln!("stage1: {w}");
        }
        specs.push(spec);
    }
    Ok(specs)
}

/// Creates the pod's cgroups with the apps' resource limits and opens each app's cgroup.procs.
fn setup_cgroups(
    manifest: &PodManifest,
    a: &RunArgs,
    pod: &Path,
    specs: &mut [AppSpec],
) -> Result<Vec<std::os::fd::OwnedFd>, InitError> {
    use std::os::fd::AsRawFd;
    let mut apps = Vec::with_capacity(manifest.apps.len());
    for ra in &manifest.apps {
        let iso = ra.app.as_ref().map(|x| x.isolators.as_slice()).unwrap_or(&[]);
        let l = cgroups::limits(&ra.name, iso).map_err(|e| InitError::Msg(e.to_string()))?;
        apps.push((ra.name.clone(), l));
    }
    let plan = cgroups::plan(&cgroups::detect(), &a.uuid, &apps);
    for w in &plan.warnings {
        eprintln!("stage1: {w}");
    }
    cgroups::apply(pod, &plan).map_err(io_err("failed to set up the pod's cgroups"))?;
    let mut all = Vec::new();
    for (spec, files) in specs.iter_mut().zip(&plan.procs) {
        let (v1, unified): (Vec<PathBuf>, Vec<PathBuf>) = files.iter().cloned().partition(|f| !cgroups::is_unified(f));
        let fds = cgroups::open_procs(&v1).map_err(io_err("failed to set up the pod's cgroups"))?;
        spec.cgroup_procs = fds.iter().map(|f| f.as_raw_fd()).collect();
        all.extend(fds);
        if let Some(procs) = unified.first() {
            let dir = cgroups::open_dir(procs).map_err(io_err("failed to set up the pod's cgroups"))?;
            let mut p = cgroups::open_procs(std::slice::from_ref(procs)).map_err(io_err("failed to set up the pod's cgroups"))?;
            let p = p.pop().expect("one file opened");
            spec.cgroup_unified = Some((dir.as_raw_fd(), p.as_raw_fd()));
            all.extend([dir, p]);
        }
    }
    Ok(all)
}

fn run(argv: &[String]) -> Result<i32, InitError> {
    let log = Log {
        debug: false,
        start: Instant::now(),
    };
    // Modes below are exact; app processes get the conventional 022 back (app::spawn).
    // SAFETY: umask only changes this process's creation mask.
    unsafe { libc::umask(0) };
    // Until the apps run; they and the processes here get every CPU back (linux.rs says why).
    linux::pin_to_this_cpu();
    let a = args::parse(argv.iter().skip(1))?;
    let log = Log {
        debug: a.debug,
        ..log
    };
    // Never closed here: the open descriptor is what holds the flock until this process exits.
    lock_fd()?;
    let pod = std::env::current_dir().map_err(io_err("cannot determine the pod directory"))?;
    let mp = layout::pod_manifest(&pod);
    let bytes =
        std::fs::read(&mp).map_err(io_err(format!("cannot read pod manifest {}", mp.display())))?;
    let manifest = PodManifest::parse(&bytes)?;
    if a.interactive && manifest.apps.len() != 1 {
        return Err(InitError::Msg(
            "--interactive is only supported with a single app".into(),
        ));
    }
    let hostname = a.hostname();
    write_etc(&pod, &a, &hostname)?;
    let last_cap = caps::last_cap();
    let specs = build_specs(&manifest, &a, &pod, last_cap)?;
    let status_dir = layout::status_dir(&pod);
    std::fs::create_dir_all(&status_dir)
        .map_err(io_err(format!("failed to create {}", status_dir.display())))?;
    let mut specs = specs;
    // Kept open in this process until the fork: PID 1 inherits them for the apps.
    let cgroup_fds = setup_cgroups(&manifest, &a, &pod, &mut specs)?;
    log.debug(&format!(
        "pod prepared: {} app(s), hostname {hostname}",
        specs.len()
    ));

    // PID 1 writes statuses and the ready link as the pod's root once in its user namespace.
    if let Some((shift, _)) = a.private_users {
        for d in [layout::stage1_rootfs(&pod).join("rkt"), layout::status_dir(&pod)] {
            std::os::unix::fs::chown(&d, Some(shift), Some(shift))
                .map_err(io_err(format!("failed to chown {}", d.display())))?;
        }
    }
    let sync = match a.private_users {
        Some(_) => Some((
            userns::pipe().map_err(io_err("pipe"))?,
            userns::pipe().map_err(io_err("pipe"))?,
        )),
        None => None,
    };
    for sig in reaper::SIGNALS {
        linux::install_noop_handler(*sig);
    }
    // Blocked before the fork, so neither process can lose a signal that arrives early.
    linux::sigprocmask(libc::SIG_BLOCK, &linux::sigset(reaper::SIGNALS));
    linux::unshare(libc::CLONE_NEWPID)
        .map_err(io_err("failed to create the pod's PID namespace"))?;
    let child = linux::fork().map_err(io_err("failed to start the pod's PID 1"))?;
    if child == 0 {
        // (to parent, from parent): the parent's ends are closed so a dead parent reads as EOF.
        let sync = sync.map(|(up, down)| {
            drop(up.read);
            drop(down.write);
            (up.write, down.read)
        });
        let code = match pid1(&a, &pod, &hostname, &specs, last_cap, &log, sync.as_ref()) {
            Ok(c) => c,
            Err(e) => {
                eprintln!("stage1: {e}");
                254
            }
        };
        std::process::exit(code);
    }
    // Written while PID 1 mounts the pod: what `rkt enter` reads, which it looks for only once
    // the pid file below is there (about 1 ms of creates in the overlay). PID 1 is what the pod
    // waits for and these files are not, but while stage0's memory holder frees Node's memory on
    // the other CPU both share one, and this process, already running, would go first: as an
    // idle-priority task it yields to PID 1 and writes whenever PID 1 waits.
    let idle = linux::set_idle_priority(true);
    if let Err(e) = write_enter_files(&pod, &specs) {
        linux::kill(child, libc::SIGKILL);
        let _ = linux::wait_pid(child);
        return Err(e);
    }
    if let Err(e) =
        linux::write_atomic(&layout::pid_file(&pod), child.to_string().as_bytes(), 0o640)
    {
        linux::kill(child, libc::SIGKILL);
        return Err(io_err("failed to write the pid file")(e));
    }
    if idle {
        // back to normal for what follows: forwarding signals and the pod's exit are urgent
        linux::set_idle_priority(false);
    }
    linux::unpin();
    if let (Some((up, down)), Some((shift, count))) = (sync, a.private_users) {
        drop(up.write);
        drop(down.read);
        if let Err(e) = userns::map_child(child, shift, count, &up.read, &down.write) {
            linux::kill(child, libc::SIGKILL);
            let _ = linux::wait_pid(child);
            return Err(io_err("failed to set up the pod's user namespace")(e));
        }
    }
    log.debug(&format!("pod PID 1 is host pid {child}"));
    drop(cgroup_fds);
    let code = wait_for_pod(child, a.interactive);
    // stage0's memory holder may still be freeing Node's memory: nothing of rkt may outlive it.
    linux::reap_all_children();
    log.debug(&format!("pod exited with code {code}"));
    if let Err(e) = cgroups::remove(&pod) {
        eprintln!("stage1: {e}");
    }
    Ok(code)
}

/// Each app's environment and how it runs, for `rkt enter` (rkt/env/<app>, rkt/enter/<app>).
fn write_enter_files(pod: &Path, specs: &[AppSpec]) -> Result<(), InitError> {
    for dir in [layout::env_dir(pod), layout::enter_dir(pod)] {
        std::fs::create_dir_all(&dir)
            .map_err(io_err(format!("failed to create {}", dir.display())))?;
    }
    for s in specs {
        let p = layout::env_dir(pod).join(&s.name);
        linux::write_atomic(&p, env::render(&s.env).as_bytes(), 0o640)
            .map_err(io_err(format!("failed to write {}", p.display())))?;
        let p = layout::enter_dir(pod).join(&s.name);
        linux::write_atomic(&p, enter::EnterSpec::of(s).render().as_bytes(), 0o640)
            .map_err(io_err(format!("failed to write {}", p.display())))?;
    }
    Ok(())
}

/// The original process: forward stop signals to PID 1 and return its exit code.
fn wait_for_pod(child: libc::pid_t, interactive: bool) -> i32 {
    let set = linux::sigset(reaper::SIGNALS);
    loop {
        // Any child: besides PID 1 there may be stage0's memory holder (rkt_core's handoff.rs),
        // which exits just after the exec that made this process.
        loop {
            let mut status = 0;
            // SAFETY: valid out pointer.
            let pid = unsafe { libc::waitpid(-1, &mut status, libc::WNOHANG) };
            if pid == child {
                return linux::exit_code_of(status);
            }
            if pid <= 0 {
                break;
            }
        }
        match linux::sigtimedwait(&set, None) {
            Some(si) if si.signo == libc::SIGCHLD => {}
            // With --interactive the pod shares our process group: the terminal signalled it already.
            Some(si) if interactive && si.code == libc::SI_KERNEL => {}
            Some(si) => linux::kill(child, si.signo),
            None => {}
        }
    }
}

fn pid1(
    a: &RunArgs,
    pod: &Path,
    hostname: &str,
    specs: &[AppSpec],
    last_cap: u32,
    log: &Log,
    sync: Option<&(std::os::fd::OwnedFd, std::os::fd::OwnedFd)>,
) -> Result<i32, InitError> {
    use std::os::fd::AsRawFd;
    // If rkt's process dies (even by SIGKILL) the pod must not outlive the lock it held.
    // SAFETY: prctl with integer arguments.
    unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0) };
    let mut flags = libc::CLONE_NEWNS | libc::CLONE_NEWUTS;
    if a.ipc != IpcMode::Parent {
        flags |= libc::CLONE_NEWIPC;
    }
    linux::unshare(flags).map_err(io_err("failed to create the pod's namespaces"))?;
    // Nothing mounted for the pod may propagate back to the host.
    linux::mount(
        None,
        &linux::cstr("/").unwrap(),
        None,
        libc::MS_REC | libc::MS_PRIVATE,
        None,
    )
    .map_err(io_err("failed to make / private"))?;
    linux::sethostname(hostname).map_err(io_err(format!("failed to set hostname {hostname:?}")))?;
    if !a.interactive {
        // Out of the terminal's foreground group: a Ctrl-C reaches the original process, which
        // forwards it once, instead of every app twice.
        // SAFETY: integer arguments.
        unsafe { libc::setpgid(0, 0) };
    }
    let s1 = layout::stage1_rootfs(pod);
    let s1c = linux::cstr(&s1).map_err(io_err("bad path"))?;
    // Recursive, so each app rootfs (an overlay mounted by stage0) comes along.
    linux::mount(Some(&s1c), &s1c, None, libc::MS_BIND | libc::MS_REC, None)
        .map_err(io_err(format!("failed to bind {}", s1.display())))?;
    for s in specs {
        mounts::execute(&LinuxSyscalls::default(), &layout::app_rootfs(pod, &s.name), &s.mounts)?;
    }
    log.debug("app filesystems mounted");
    // With a user namespace to enter below, PID 1 must be single-threaded: the unmount waits.
    pivot::pivot_into(&s1c, sync.is_some()).map_err(io_err(format!("failed to pivot into {}", s1.display())))?;
    // The lock fd and anything else inherited point into the host; PID 1 needs none of them, and
    // non-dumpable keeps apps from reaching PID 1's descriptors through /proc/1/fd.
    let mut keep: Vec<RawFd> = specs
        .iter()
        .flat_map(|s| s.cgroup_procs.iter().copied().chain(s.cgroup_unified.into_iter().flat_map(|(d, p)| [d, p])))
        .collect();
    if let Some((up, down)) = sync {
        keep.extend([up.as_raw_fd(), down.as_raw_fd()]);
    }
    linux::close_from_except(3, &keep);
    if let Some((up, down)) = sync {
        userns::enter_new(up, down).map_err(io_err("failed to enter the pod's user namespace"))?;
    }
    // SAFETY: prctl with integer arguments.
    unsafe { libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0) };

    for s in specs {
        if let Some(h) = &s.pre_start {
            let pid = app::spawn(s, Role::Handler, h, a.interactive, last_cap).map_err(io_err(
                format!("app {:?}: failed to start pre-start handler", s.name),
            ))?;
            let status = linux::wait_pid(pid).map_err(io_err("waitpid"))?;
            let code = linux::exit_code_of(status);
            if code != 0 {
                return Err(InitError::Msg(format!(
                    "app {:?}: pre-start handler failed with exit code {code}",
                    s.name
                )));
            }
        }
    }
    let mut pids = Vec::with_capacity(specs.len());
    for s in specs {
        match app::spawn(s, Role::Main, &s.exec, a.interactive, last_cap) {
            Ok(pid) => pids.push(pid),
            Err(e) => {
                for p in &pids {
                    linux::kill(*p, libc::SIGKILL);
                }
                return Err(io_err(format!("app {:?}: failed to start", s.name))(e));
            }
        }
    }
    linux::unpin();
    log.debug(&format!("apps started: {pids:?}"));
    let ready = Path::new(layout::SUPERVISOR_STATUS_IN_STAGE1);
    let _ = std::fs::remove_file(ready);
    let _ = std::os::unix::fs::symlink("ready", ready);

    // Each status file is created now, while the apps run: after an exit only its write and
    // rename are left on the way out (a create in the overlay takes 0.25 ms and more).
    let statuses = specs
        .iter()
        .map(|s| linux::PendingFile::create(&Path::new(layout::STATUS_DIR_IN_STAGE1).join(&s.name), 0o640).ok())
        .collect();

    let mut pod_state = Pod::new(specs.len());
    let mut fx = RealEffects {
        specs,
        statuses,
        interactive: a.interactive,
        last_cap,
        log,
    };
    Ok(reaper::supervise(
        &mut pod_state,
        &pids,
        &mut fx,
        a.interactive,
    ))
}

struct RealEffects<'a> {
    specs: &'a [AppSpec],
    /// Each app's status file, created ahead (None once written, or if it could not be).
    statuses: Vec<Option<linux::PendingFile>>,
    interactive: bool,
    last_cap: u32,
    log: &'a Log,
}

impl Effects for RealEffects<'_> {
    fn write_status(&mut self, app: usize, code: i32) {
        let p = Path::new(layout::STATUS_DIR_IN_STAGE1).join(&self.specs[app].name);
        let content = code.to_string();
        let written = match self.statuses.get_mut(app).and_then(Option::take) {
            Some(pending) => pending.commit(content.as_bytes()),
            None => linux::write_atomic(&p, content.as_bytes(), 0o640),
        };
        if let Err(e) = written {
            eprintln!("stage1: failed to write {}: {e}", p.display());
        }
    }

    fn run_post_stop(&mut self, app: usize) -> Option<libc::pid_t> {
        let s = &self.specs[app];
        let h = s.post_stop.as_ref()?;
        match app::spawn(s, Role::Handler, h, self.interactive, self.last_cap) {
            Ok(pid) => Some(pid),
            Err(e) => {
                eprintln!(
                    "stage1: app {:?}: failed to start post-stop handler: {e}",
                    s.name
                );
                None
            }
        }
    }

    fn debug(&self, msg: &str) {
        self.log.debug(msg);
    }
}
