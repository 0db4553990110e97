//! The filesystem each app sees. `plan_app` computes a `MountPlan` of typed steps from plain inputs
//! (pure, so tests read it), `execute` carries it out through the `Syscalls` seam (a recording fake
//! in tests, `linux::LinuxSyscalls` for real).
//!
//! Every target is a `RelPath` below the app root: it cannot name anything outside by construction,
//! and the real executor resolves it with `openat2(RESOLVE_IN_ROOT)` so symlinks in the image cannot
//! lead outside either.

use std::io;
use std::path::{Path, PathBuf};
use thiserror::Error;

pub const MS_RDONLY: u64 = libc::MS_RDONLY;
pub const MS_NOSUID: u64 = libc::MS_NOSUID;
pub const MS_NODEV: u64 = libc::MS_NODEV;
pub const MS_NOEXEC: u64 = libc::MS_NOEXEC;
pub const MS_BIND: u64 = libc::MS_BIND;
pub const MS_REC: u64 = libc::MS_REC;
pub const MS_STRICTATIME: u64 = libc::MS_STRICTATIME;

/// A normalized path relative to an app root: no leading `/`, no `.`/`..`/empty components.
/// The empty path is the root itself.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RelPath(String);

impl RelPath {
    pub fn new(p: &str) -> Result<Self, MountError> {
        let mut parts = Vec::new();
        for c in p.split('/') {
            match c {
                "" | "." => {}
                // Within the root `..` is plain path arithmetic; above it the path would name
                // something outside, which a mount target never may.
                ".." => {
                    if parts.pop().is_none() {
                        return Err(MountError::BadPath(p.to_string()));
                    }
                }
                c if c.contains('\0') => return Err(MountError::BadPath(p.to_string())),
                c => parts.push(c),
            }
        }
        Ok(RelPath(parts.join("/")))
    }

    pub fn root() -> Self {
        RelPath(String::new())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn is_root(&self) -> bool {
        self.0.is_empty()
    }

    pub fn components(&self) -> impl Iterator<Item = &str> {
        self.0.split('/').filter(|c| !c.is_empty())
    }

    /// (parent, last component); None for the root.
    pub fn split_last(&self) -> Option<(RelPath, &str)> {
        if self.is_root() {
            return None;
        }
        Some(match self.0.rsplit_once('/') {
            Some((p, n)) => (RelPath(p.to_string()), n),
            None => (RelPath::root(), self.0.as_str()),
        })
    }

    /// The path joined under `root`, for messages and for host-side access.
    pub fn under(&self, root: &Path) -> PathBuf {
        if self.is_root() {
            root.to_path_buf()
        } else {
            root.join(&self.0)
        }
    }
}

fn rel(p: &str) -> RelPath {
    RelPath::new(p).expect("static path")
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A pseudo filesystem; the mount source string is its type.
    Fs(&'static str),
    /// A path in stage1's view (host devices, pod files, volume sources).
    Host(PathBuf),
    /// A path inside the app root (binding something over itself).
    InRoot(RelPath),
}

/// What to create at a mount target that does not exist yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Create {
    Nothing,
    Dir,
    File,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Creates the directory and missing parents (0755); an existing one keeps its mode.
    Mkdir {
        path: RelPath,
        mode: u32,
    },
    Mount {
        source: Source,
        target: RelPath,
        fstype: Option<&'static str>,
        flags: u64,
        data: Option<String>,
        create: Create,
        /// For paths a kernel may not have (/proc/kcore, /sys/hypervisor): absent means nothing to protect.
        skip_missing: bool,
    },
    /// A character device node, mode 0666 whatever the umask.
    Mknod {
        path: RelPath,
        major: u32,
        minor: u32,
    },
    /// Makes the mount at `target` read-only, keeping its other flags.
    RemountReadOnly {
        target: RelPath,
        skip_missing: bool,
    },
    Symlink {
        path: RelPath,
        target: String,
    },
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MountPlan {
    pub steps: Vec<Step>,
}

/// A volume bound into the app, resolved from the pod manifest by `volumes`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VolumeBind {
    pub source: PathBuf,
    pub target: RelPath,
    pub source_is_dir: bool,
    pub read_only: bool,
    pub recursive: bool,
}

/// Inputs of one app's plan, all decided by the caller from the pod directory.
#[derive(Debug, Clone)]
pub struct AppMountSpec {
    pub hostname_file: PathBuf,
    /// `etc/rkt-hosts` from stage0, bound over any /etc/hosts.
    pub stage0_hosts: Option<PathBuf>,
    /// `etc/hosts-fallback`, bound only where the image has no /etc/hosts.
    pub hosts_fallback: PathBuf,
    pub resolv: Option<PathBuf>,
    /// The terminal stage1 runs on, shown to the app as /dev/console.
    pub console: Option<PathBuf>,
    pub disable_paths: bool,
    pub read_only_rootfs: bool,
    pub volumes: Vec<VolumeBind>,
    /// The host devices are made as nodes in the app's /dev (as systemd-nspawn and runc do), which
    /// costs a fifth of binding each one and leaves six mounts fewer per app to copy and tear down.
    /// In a user namespace (--private-users) mknod is not allowed: the host's are bound instead.
    pub device_nodes: bool,
}

/// What the image already has, read before anything is created in it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RootFacts {
    pub has_etc: bool,
    pub has_etc_hosts: bool,
    pub has_etc_mtab: bool,
}

/// The host devices every app gets, with their fixed numbers (the kernel's devices.txt).
pub const HOST_DEVICES: &[(&str, u32, u32)] = &[
    ("null", 1, 3),
    ("zero", 1, 5),
    ("full", 1, 7),
    ("random", 1, 8),
    ("urandom", 1, 9),
    ("tty", 5, 0),
];

/// Under /proc only: /sys is mounted read-only as a whole (plan_app), so read-only binds of its
/// directories would only be 12 more mount calls (0.3 ms) to make and to undo at the pod's end.
pub const READ_ONLY_PATHS: &[&str] = &[
    "proc/bus",
    "proc/sys/kernel/core_pattern",
    "proc/sys/kernel/modprobe",
    "proc/sys/vm/panic_on_oom",
    "proc/sysrq-trigger",
];
pub const HIDDEN_DIRS: &[&str] = &[
    "sys/firmware",
    "sys/fs",
    "sys/hypervisor",
    "sys/module",
    "sys/power",
];
pub const HIDDEN_FILES: &[&str] = &[
    "proc/config.gz",
    "proc/kallsyms",
    "proc/sched_debug",
    "proc/kcore",
    "proc/kmem",
    "proc/mem",
];

pub fn probe(sys: &dyn Syscalls, root: &Path) -> io::Result<RootFacts> {
    Ok(RootFacts {
        has_etc: sys.exists(root, &rel("etc"))?,
        has_etc_hosts: sys.exists(root, &rel("etc/hosts"))?,
        has_etc_mtab: sys.exists(root, &rel("etc/mtab"))?,
    })
}

struct Builder(Vec<Step>);

impl Builder {
    fn mkdir(&mut self, p: &str, mode: u32) {
        self.0.push(Step::Mkdir { path: rel(p), mode });
    }
    fn fs(&mut self, fstype: &'static str, target: &str, flags: u64, data: Option<&str>) {
        self.0.push(Step::Mount {
            source: Source::Fs(fstype),
            target: rel(target),
            fstype: Some(fstype),
            flags,
            data: data.map(str::to_string),
            create: Create::Dir,
            skip_missing: false,
        });
    }
    fn bind(
        &mut self,
        source: Source,
        target: RelPath,
        flags: u64,
        create: Create,
        skip_missing: bool,
    ) {
        self.0.push(Step::Mount {
            source,
            target,
            fstype: None,
            flags: MS_BIND | flags,
            data: None,
            create,
            skip_missing,
        });
    }
    fn symlink(&mut self, p: &str, target: &str) {
        self.0.push(Step::Symlink {
            path: rel(p),
            target: target.to_string(),
        });
    }
}

pub fn plan_app(spec: &AppMountSpec, facts: &RootFacts) -> MountPlan {
    let mut b = Builder(Vec::new());
    // A mount point of its own, so the root can be made read-only without touching the tree under it.
    b.bind(
        Source::InRoot(RelPath::root()),
        RelPath::root(),
        MS_REC,
        Create::Nothing,
        false,
    );
    b.mkdir("dev", 0o755);
    b.mkdir("proc", 0o755);
    b.mkdir("sys", 0o755);
    b.mkdir("tmp", 0o1777);
    b.mkdir("etc", 0o755);

    // The pod's own PID namespace: PID 1 mounts, so this procfs shows only the pod.
    b.fs("proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, None);
    b.fs(
        "sysfs",
        "sys",
        MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
        None,
    );

    b.fs(
        "tmpfs",
        "dev",
        MS_NOSUID | MS_STRICTATIME,
        Some("mode=0755,size=65536k"),
    );
    for &(d, major, minor) in HOST_DEVICES {
        let path = rel(&format!("dev/{d}"));
        if spec.device_nodes {
            b.0.push(Step::Mknod { path, major, minor });
        } else {
            b.bind(Source::Host(PathBuf::from(format!("/dev/{d}"))), path, 0, Create::File, false);
        }
    }
    b.mkdir("dev/pts", 0o755);
    b.fs(
        "devpts",
        "dev/pts",
        MS_NOSUID | MS_NOEXEC,
        Some("newinstance,ptmxmode=0666,mode=0620,gid=5"),
    );
    b.symlink("dev/ptmx", "pts/ptmx");
    b.mkdir("dev/shm", 0o1777);
    b.fs(
        "tmpfs",
        "dev/shm",
        MS_NOSUID | MS_NODEV | MS_NOEXEC,
        Some("mode=1777,size=65536k"),
    );
    if let Some(tty) = &spec.console {
        b.bind(
            Source::Host(tty.clone()),
            rel("dev/console"),
            0,
            Create::File,
            false,
        );
    }
    b.symlink("dev/fd", "/proc/self/fd");
    b.symlink("dev/stdin", "/proc/self/fd/0");
    b.symlink("dev/stdout", "/proc/self/fd/1");
    b.symlink("dev/stderr", "/proc/self/fd/2");

    b.bind(
        Source::Host(spec.hostname_file.clone()),
        rel("etc/hostname"),
        0,
        Create::File,
        false,
    );
    match &spec.stage0_hosts {
        Some(h) => b.bind(
            Source::Host(h.clone()),
            rel("etc/hosts"),
            0,
            Create::File,
            false,
        ),
        // An image's own /etc/hosts is left alone (appc: SHOULD NOT modify an existing one).
        None if !facts.has_etc_hosts => b.bind(
            Source::Host(spec.hosts_fallback.clone()),
            rel("etc/hosts"),
            0,
            Create::File,
            false,
        ),
        None => {}
    }
    if let Some(r) = &spec.resolv {
        b.bind(
            Source::Host(r.clone()),
            rel("etc/resolv.conf"),
            0,
            Create::File,
            false,
        );
    }
    if facts.has_etc && !facts.has_etc_mtab {
        b.symlink("etc/mtab", "../proc/self/mounts");
    }

    for v in &spec.volumes {
        let create = if v.source_is_dir {
            Create::Dir
        } else {
            Create::File
        };
        b.bind(
            Source::Host(v.source.clone()),
            v.target.clone(),
            if v.recursive { MS_REC } else { 0 },
            create,
            false,
        );
        if v.read_only {
            b.0.push(Step::RemountReadOnly {
                target: v.target.clone(),
                skip_missing: false,
            });
        }
    }

    if !spec.disable_paths {
        for p in READ_ONLY_PATHS {
            b.bind(
                Source::InRoot(rel(p)),
                rel(p),
                MS_REC,
                Create::Nothing,
                true,
            );
            b.0.push(Step::RemountReadOnly {
                target: rel(p),
                skip_missing: true,
            });
        }
        for p in HIDDEN_DIRS {
            b.0.push(Step::Mount {
                source: Source::Fs("tmpfs"),
                target: rel(p),
                fstype: Some("tmpfs"),
                flags: MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
                data: Some("mode=0755".into()),
                create: Create::Nothing,
                skip_missing: true,
            });
        }
        for p in HIDDEN_FILES {
            b.bind(
                Source::Host(PathBuf::from("/dev/null")),
                rel(p),
                0,
                Create::Nothing,
                true,
            );
        }
    }

    if spec.read_only_rootfs {
        b.0.push(Step::RemountReadOnly {
            target: RelPath::root(),
            skip_missing: false,
        });
    }
    MountPlan { steps: b.0 }
}

/// The operations a plan needs, all relative to an app root. Implementations must resolve `RelPath`s
/// inside `root` (symlinks included) and re-open `root` for every call: once something is mounted on
/// the root, only a fresh lookup sees the new mount rather than the directory under it.
pub trait Syscalls {
    /// Whether the path exists, without following a final symlink.
    fn exists(&self, root: &Path, p: &RelPath) -> io::Result<bool>;
    fn mkdir(&self, root: &Path, p: &RelPath, mode: u32) -> io::Result<()>;
    /// Creates an empty file (and missing parent directories) if nothing is there.
    fn create_file(&self, root: &Path, p: &RelPath) -> io::Result<()>;
    fn symlink(&self, root: &Path, p: &RelPath, target: &str) -> io::Result<()>;
    /// A character device node with mode 0666 (missing parents made 0755).
    fn mknod(&self, root: &Path, p: &RelPath, major: u32, minor: u32) -> io::Result<()>;
    fn mount(
        &self,
        source: &Source,
        root: &Path,
        target: &RelPath,
        fstype: Option<&str>,
        flags: u64,
        data: Option<&str>,
    ) -> io::Result<()>;
    fn remount_read_only(&self, root: &Path, target: &RelPath) -> io::Result<()>;
}

#[derive(Debug, Error)]
pub enum MountError {
    #[error("invalid path {0:?} for a mount target")]
    BadPath(String),
    #[error("failed to create {path}: {err}")]
    Create { path: PathBuf, err: io::Error },
    #[error("failed to mount {what} on {target}: {err}")]
    Mount {
        what: String,
        target: PathBuf,
        err: io::Error,
    },
    #[error("failed to make {target} read-only: {err}")]
    Remount { target: PathBuf, err: io::Error },
    #[error("failed to create symlink {path}: {err}")]
    Symlink { path: PathBuf, err: io::Error },
    #[error("failed to create device {path}: {err}")]
    Mknod { path: PathBuf, err: io::Error },
    #[error("failed to inspect {path}: {err}")]
    Probe { path: PathBuf, err: io::Error },
}

fn source_name(s: &Source, root: &Path) -> String {
    match s {
        Source::Fs(t) => t.to_string(),
        Source::Host(p) => p.display().to_string(),
        Source::InRoot(p) => p.under(root).display().to_string(),
    }
}

pub fn execute(sys: &dyn Syscalls, root: &Path, plan: &MountPlan) -> Result<(), MountError> {
    let probe_err = |p: &RelPath, err| MountError::Probe {
        path: p.under(root),
        err,
    };
    for step in &plan.steps {
        match step {
            Step::Mkdir { path, mode } => {
                sys.mkdir(root, path, *mode)
                    .map_err(|err| MountError::Create {
                        path: path.under(root),
                        err,
                    })?;
            }
            Step::Mount {
                source,
                target,
                fstype,
                flags,
                data,
                create,
                skip_missing,
            } => {
                if *skip_missing && !sys.exists(root, target).map_err(|e| probe_err(target, e))? {
                    continue;
                }
                let made = match create {
                    Create::Dir => sys.mkdir(root, target, 0o755),
                    Create::File => sys.create_file(root, target),
                    Create::Nothing => Ok(()),
                };
                made.map_err(|err| MountError::Create {
                    path: target.under(root),
                    err,
                })?;
                sys.mount(source, root, target, *fstype, *flags, data.as_deref())
                    .map_err(|err| MountError::Mount {
                        what: source_name(source, root),
                        target: target.under(root),
                        err,
                    })?;
            }
            Step::RemountReadOnly {
                target,
                skip_missing,
            } => {
                if *skip_missing && !sys.exists(root, target).map_err(|e| probe_err(target, e))? {
                    continue;
                }
                sys.remount_read_only(root, target)
                    .map_err(|err| MountError::Remount {
                        target: target.under(root),
                        err,
                    })?;
            }
            Step::Symlink { path, target } => {
                sys.symlink(root, path, target)
                    .map_err(|err| MountError::Symlink {
                        path: path.under(root),
                        err,
                    })?;
            }
            Step::Mknod { path, major, minor } => {
                sys.mknod(root, path, *major, *minor)
                    .map_err(|err| MountError::Mknod {
                        path: path.under(root),
                        err,
                    })?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::cell::RefCell;
    use std::collections::BTreeSet;

    #[derive(Debug, Clone, PartialEq, Eq)]
    pub enum Call {
        Mkdir(String, u32),
        CreateFile(String),
        Symlink(String, String),
        Mount {
            source: Source,
            target: String,
            fstype: Option<String>,
            flags: u64,
            data: Option<String>,
        },
        RemountRo(String),
        Mknod(String, u32, u32),
    }

    /// Records calls and keeps a set of existing paths, so `skip_missing` and `create` behave.
    pub struct Recorder {
        pub root: PathBuf,
        pub existing: RefCell<BTreeSet<String>>,
        pub calls: RefCell<Vec<Call>>,
    }

    impl Recorder {
        pub fn new(existing: &[&str]) -> Self {
            Recorder {
                root: PathBuf::from("/pod/stage1/rootfs/opt/stage2/app/rootfs"),
                existing: RefCell::new(existing.iter().map(|s| s.to_string()).collect()),
                calls: RefCell::new(Vec::new()),
            }
        }
        fn check_root(&self, root: &Path) {
            assert_eq!(root, self.root, "every call names the app root");
        }
        fn add_with_parents(&self, p: &RelPath) {
            let mut acc = String::new();
            for c in p.components() {
                if !acc.is_empty() {
                    acc.push('/');
                }
                acc.push_str(c);
                self.existing.borrow_mut().insert(acc.clone());
            }
        }
        pub fn mounts(&self) -> Vec<(Source, String, Option<String>, u64)> {
            self.calls
                .borrow()
                .iter()
                .filter_map(|c| match c {
                    Call::Mount {
                        source,
                        target,
                        fstype,
                        flags,
                        ..
                    } => Some((source.clone(), target.clone(), fstype.clone(), *flags)),
                    _ => None,
                })
                .collect()
        }
        pub fn mount_targets(&self) -> Vec<String> {
            self.mounts().into_iter().map(|m| m.1).collect()
        }
    }

    impl Syscalls for Recorder {
        fn exists(&self, root: &Path, p: &RelPath) -> io::Result<bool> {
            self.check_root(root);
            Ok(p.is_root() || self.existing.borrow().contains(p.as_str()))
        }
        fn mkdir(&self, root: &Path, p: &RelPath, mode: u32) -> io::Result<()> {
            self.check_root(root);
            self.calls
                .borrow_mut()
                .push(Call::Mkdir(p.as_str().into(), mode));
            self.add_with_parents(p);
            Ok(())
        }
        fn create_file(&self, root: &Path, p: &RelPath) -> io::Result<()> {
            self.check_root(root);
            self.calls
                .borrow_mut()
                .push(Call::CreateFile(p.as_str().into()));
            self.add_with_parents(p);
            Ok(())
        }
        fn symlink(&self, root: &Path, p: &RelPath, target: &str) -> io::Result<()> {
            self.check_root(root);
            self.calls
                .borrow_mut()
                .push(Call::Symlink(p.as_str().into(), target.into()));
            self.add_with_parents(p);
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
            self.check_root(root);
            self.calls.borrow_mut().push(Call::Mount {
                source: source.clone(),
                target: target.as_str().into(),
                fstype: fstype.map(str::to_string),
                flags,
                data: data.map(str::to_string),
            });
            Ok(())
        }
        fn remount_read_only(&self, root: &Path, target: &RelPath) -> io::Result<()> {
            self.check_root(root);
            self.calls
                .borrow_mut()
                .push(Call::RemountRo(target.as_str().into()));
            Ok(())
        }
        fn mknod(&self, root: &Path, p: &RelPath, major: u32, minor: u32) -> io::Result<()> {
            self.check_root(root);
            self.calls
                .borrow_mut()
                .push(Call::Mknod(p.as_str().into(), major, minor));
            self.add_with_parents(p);
            Ok(())
        }
    }

    fn spec() -> AppMountSpec {
        AppMountSpec {
            hostname_file: "/pod/stage1/rootfs/etc/hostname".into(),
            stage0_hosts: None,
            hosts_fallback: "/pod/stage1/rootfs/etc/hosts-fallback".into(),
            resolv: None,
            console: None,
            disable_paths: false,
            read_only_rootfs: false,
            volumes: vec![],
            device_nodes: true,
        }
    }

    /// A kernel's proc and sys as the fake sees them once mounted.
    const KERNEL_PATHS: &[&str] = &[
        "proc/bus",
        "proc/sys/kernel/core_pattern",
        "proc/sys/kernel/modprobe",
        "proc/sys/vm/panic_on_oom",
        "proc/sysrq-trigger",
        "proc/kallsyms",
        "proc/kcore",
        "proc/sched_debug",
        "sys/block",
        "sys/bus",
        "sys/class",
        "sys/dev",
        "sys/devices",
        "sys/kernel",
        "sys/firmware",
        "sys/fs",
        "sys/module",
        "sys/power",
    ];

    fn run(spec: &AppMountSpec, image: &[&str]) -> Recorder {
        let rec = Recorder::new(image);
        let facts = probe(&rec, &rec.root).unwrap();
        for p in KERNEL_PATHS {
            rec.existing.borrow_mut().insert(p.to_string());
        }
        execute(&rec, &rec.root.clone(), &plan_app(spec, &facts)).unwrap();
        rec
    }

    #[test]
    fn rel_paths() {
        assert_eq!(
            RelPath::new("/proc//sys/./kernel/").unwrap().as_str(),
            "proc/sys/kernel"
        );
        assert!(RelPath::new("/").unwrap().is_root());
        assert!(RelPath::new("a/../../etc").is_err());
        assert!(RelPath::new("..").is_err());
        assert_eq!(RelPath::new("/a/b/../c/./").unwrap().as_str(), "a/c");
        assert!(RelPath::new("/a/../..").is_err());
        let p = RelPath::new("etc/hosts").unwrap();
        let (parent, name) = p.split_last().unwrap();
        assert_eq!((parent.as_str(), name), ("etc", "hosts"));
        assert_eq!(
            RelPath::new("etc").unwrap().split_last().unwrap().0,
            RelPath::root()
        );
        assert_eq!(p.under(Path::new("/r")), PathBuf::from("/r/etc/hosts"));
    }

    #[test]
    fn every_target_is_inside_the_root_and_sources_are_known() {
        let mut s = spec();
        s.console = Some("/dev/pts/7".into());
        s.resolv = Some("/pod/stage1/rootfs/etc/rkt-resolv.conf".into());
        let rec = run(&s, &["etc"]);
        let allowed_host: BTreeSet<String> = HOST_DEVICES
            .iter()
            .map(|(d, ..)| format!("/dev/{d}"))
            .chain(
                [
                    "/dev/pts/7",
                    "/pod/stage1/rootfs/etc/hostname",
                    "/pod/stage1/rootfs/etc/hosts-fallback",
                    "/pod/stage1/rootfs/etc/rkt-resolv.conf",
                ]
                .map(String::from),
            )
            .collect();
        for c in rec.calls.borrow().iter() {
            let path = match c {
                Call::Mkdir(p, _)
                | Call::CreateFile(p)
                | Call::Symlink(p, _)
                | Call::Mknod(p, ..)
                | Call::RemountRo(p) => p,
                Call::Mount { source, target, .. } => {
                    match source {
                        Source::Host(h) => assert!(
                            allowed_host.contains(&h.display().to_string()),
                            "unexpected source {h:?}"
                        ),
                        Source::InRoot(p) => assert_eq!(
                            p.as_str(),
                            target,
                            "in-root sources only bind over themselves"
                        ),
                        Source::Fs(_) => {}
                    }
                    target
                }
            };
            assert!(
                !path.starts_with('/') && !path.split('/').any(|c| c == ".." || c == "."),
                "{path}"
            );
        }
    }

    #[test]
    fn order_and_basic_filesystems() {
        let rec = run(&spec(), &["etc", "etc/hosts"]);
        let targets = rec.mount_targets();
        let pos = |t: &str| {
            targets
                .iter()
                .position(|x| x == t)
                .unwrap_or_else(|| panic!("{t} not mounted"))
        };
        assert_eq!(pos(""), 0, "the root becomes a mount point first");
        assert!(pos("proc") < pos("proc/sysrq-trigger"));
        assert!(pos("dev") < pos("dev/pts") && pos("dev") < pos("dev/shm"));
        let calls = rec.calls.borrow();
        let at = |c: &Call| calls.iter().position(|x| x == c);
        let dev_mounted = at(&Call::Mount {
            source: Source::Fs("tmpfs"),
            target: "dev".into(),
            fstype: Some("tmpfs".into()),
            flags: MS_NOSUID | MS_STRICTATIME,
            data: Some("mode=0755,size=65536k".into()),
        })
        .expect("a tmpfs on /dev");
        for &(d, major, minor) in HOST_DEVICES {
            let made = at(&Call::Mknod(format!("dev/{d}"), major, minor)).unwrap_or_else(|| panic!("no node for {d}"));
            assert!(made > dev_mounted, "{d} is made in the new /dev");
            assert!(!targets.contains(&format!("dev/{d}")), "{d} is a node, not a bind");
        }
        drop(calls);
        let m = rec.mounts();
        let by_target = |t: &str| m.iter().find(|x| x.1 == t).unwrap().clone();
        assert_eq!(by_target("proc").2.as_deref(), Some("proc"));
        assert_ne!(by_target("sys").3 & MS_RDONLY, 0, "sysfs is read-only");
        assert_eq!(by_target("dev/pts").2.as_deref(), Some("devpts"));
        let calls = rec.calls.borrow();
        assert!(calls.contains(&Call::Mkdir("tmp".into(), 0o1777)));
        assert!(calls.contains(&Call::Symlink("dev/ptmx".into(), "pts/ptmx".into())));
        let devpts = calls.iter().find_map(|c| match c {
            Call::Mount { target, data, .. } if target == "dev/pts" => data.clone(),
            _ => None,
        });
        assert!(devpts.unwrap().contains("newinstance,ptmxmode=0666"));
        assert!(
            !targets.contains(&"dev/console".to_string()),
            "no tty, no console"
        );
    }

    #[test]
    fn host_devices_are_bound_where_mknod_is_not_allowed() {
        let mut s = spec();
        s.device_nodes = false;
        let rec = run(&s, &["etc"]);
        let m = rec.mounts();
        for &(d, ..) in HOST_DEVICES {
            let bind = m.iter().find(|x| x.1 == format!("dev/{d}")).unwrap_or_else(|| panic!("{d} not bound"));
            assert_eq!(bind.0, Source::Host(format!("/dev/{d}").into()));
            assert_ne!(bind.3 & MS_BIND, 0);
        }
        assert!(!rec.calls.borrow().iter().any(|c| matches!(c, Call::Mknod(..))));
    }

    #[test]
    fn protected_paths_present() {
        let rec = run(&spec(), &["etc"]);
        let calls = rec.calls.borrow();
        for p in READ_ONLY_PATHS {
            assert!(
                calls.contains(&Call::RemountRo(p.to_string())),
                "{p} read-only"
            );
        }
        let targets = rec.mount_targets();
        for p in [
            "sys/firmware",
            "sys/fs",
            "sys/module",
            "sys/power",
            "proc/kcore",
            "proc/kallsyms",
            "proc/sched_debug",
        ] {
            assert!(targets.contains(&p.to_string()), "{p} hidden");
        }
        // Paths this kernel lacks are skipped, not created.
        for p in ["sys/hypervisor", "proc/kmem", "proc/mem", "proc/config.gz"] {
            assert!(!targets.contains(&p.to_string()), "{p}");
        }
        assert!(!calls.iter().any(|c| matches!(c, Call::CreateFile(p) | Call::Mkdir(p, _) if p.starts_with("proc/") || p.starts_with("sys/"))));
        let kcore = rec
            .mounts()
            .into_iter()
            .find(|m| m.1 == "proc/kcore")
            .unwrap();
        assert_eq!(kcore.0, Source::Host("/dev/null".into()));
        // /sys is read-only as a whole: what is mounted under it only hides
        let sys = rec.mounts().into_iter().find(|m| m.1 == "sys").unwrap();
        assert_eq!(sys.2.as_deref(), Some("sysfs"));
        assert_ne!(sys.3 & MS_RDONLY, 0, "sysfs read-only");
        for m in rec.mounts().into_iter().filter(|m| m.1.starts_with("sys/")) {
            assert!(HIDDEN_DIRS.contains(&m.1.as_str()), "{} mounted under a read-only /sys", m.1);
            assert_eq!(m.2.as_deref(), Some("tmpfs"));
        }
    }

    #[test]
    fn protected_paths_absent_with_disable_paths() {
        let mut s = spec();
        s.disable_paths = true;
        let rec = run(&s, &["etc"]);
        let targets = rec.mount_targets();
        for p in READ_ONLY_PATHS
            .iter()
            .chain(HIDDEN_DIRS)
            .chain(HIDDEN_FILES)
        {
            assert!(!targets.contains(&p.to_string()), "{p}");
        }
        assert!(!rec
            .calls
            .borrow()
            .iter()
            .any(|c| matches!(c, Call::RemountRo(_))));
        assert!(targets.contains(&"proc".to_string()) && targets.contains(&"sys".to_string()));
    }

    #[test]
    fn hosts_rules() {
        let fallback = Source::Host("/pod/stage1/rootfs/etc/hosts-fallback".into());
        let stage0 = Source::Host("/pod/stage1/rootfs/etc/rkt-hosts".into());
        let hosts_src = |rec: &Recorder| {
            rec.mounts()
                .into_iter()
                .filter(|m| m.1 == "etc/hosts")
                .map(|m| m.0)
                .collect::<Vec<_>>()
        };

        // Image without /etc/hosts: the fallback.
        assert_eq!(hosts_src(&run(&spec(), &["etc"])), vec![fallback.clone()]);
        // Image with its own: left alone.
        assert!(hosts_src(&run(&spec(), &["etc", "etc/hosts"])).is_empty());
        // --hosts-entry: stage0's file wins over the image's.
        let mut s = spec();
        s.stage0_hosts = Some("/pod/stage1/rootfs/etc/rkt-hosts".into());
        assert_eq!(hosts_src(&run(&s, &["etc", "etc/hosts"])), vec![stage0]);
    }

    #[test]
    fn resolv_and_hostname_rules() {
        let rec = run(&spec(), &["etc"]);
        let targets = rec.mount_targets();
        assert!(
            !targets.contains(&"etc/resolv.conf".to_string()),
            "no --dns, no resolv.conf"
        );
        assert!(targets.contains(&"etc/hostname".to_string()));
        assert!(rec
            .calls
            .borrow()
            .contains(&Call::CreateFile("etc/hostname".into())));

        let mut s = spec();
        s.resolv = Some("/pod/stage1/rootfs/etc/rkt-resolv.conf".into());
        let rec = run(&s, &["etc", "etc/resolv.conf"]);
        let m = rec
            .mounts()
            .into_iter()
            .find(|m| m.1 == "etc/resolv.conf")
            .unwrap();
        assert_eq!(
            m.0,
            Source::Host("/pod/stage1/rootfs/etc/rkt-resolv.conf".into())
        );
    }

    #[test]
    fn mtab_rule() {
        let has_link = |rec: &Recorder| {
            rec.calls.borrow().contains(&Call::Symlink(
                "etc/mtab".into(),
                "../proc/self/mounts".into(),
            ))
        };
        assert!(has_link(&run(&spec(), &["etc"])));
        assert!(
            !has_link(&run(&spec(), &["etc", "etc/mtab"])),
            "existing mtab kept"
        );
        assert!(
            !has_link(&run(&spec(), &[])),
            "image without /etc gets none"
        );
    }

    #[test]
    fn console_volumes_and_read_only_root() {
        let mut s = spec();
        s.console = Some("/dev/pts/3".into());
        s.read_only_rootfs = true;
        s.volumes = vec![
            VolumeBind {
                source: "/host/data".into(),
                target: RelPath::new("/data").unwrap(),
                source_is_dir: true,
                read_only: true,
                recursive: true,
            },
            VolumeBind {
                source: "/host/f".into(),
                target: RelPath::new("/etc/f.conf").unwrap(),
                source_is_dir: false,
                read_only: false,
                recursive: false,
            },
        ];
        let rec = run(&s, &["etc"]);
        let calls = rec.calls.borrow();
        assert!(calls.contains(&Call::CreateFile("dev/console".into())));
        assert!(calls.contains(&Call::Mkdir("data".into(), 0o755)));
        assert!(calls.contains(&Call::CreateFile("etc/f.conf".into())));
        assert!(calls.contains(&Call::RemountRo("data".into())));
        assert!(!calls.contains(&Call::RemountRo("etc/f.conf".into())));
        let m = rec.mounts();
        let data = m.iter().find(|x| x.1 == "data").unwrap();
        assert_eq!(data.3, MS_BIND | MS_REC);
        assert_eq!(
            calls.last(),
            Some(&Call::RemountRo("".into())),
            "root made read-only last"
        );
    }
}
