//! End-to-end runs of the static stage1 binary on real pod directories (no overlay: each app rootfs
//! is a plain directory holding the static `rkt_inspect` as `/inspect`). Needs root, as CI has.

use std::io::Read;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

const TRIPLE: &str = "x86_64-unknown-linux-gnu";
const LOCK_FD: i32 = 9;

struct Bins {
    stage1: PathBuf,
    inspect: PathBuf,
}

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target"))
}

/// The static builds, made (or brought up to date) once per test run.
fn bins() -> &'static Bins {
    static BINS: OnceLock<Bins> = OnceLock::new();
    BINS.get_or_init(|| {
        // SAFETY: plain getter.
        assert_eq!(
            unsafe { libc::geteuid() },
            0,
            "these tests create namespaces and mounts: run them as root"
        );
        let dir = target_dir().join(TRIPLE).join("release");
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let st = Command::new(cargo)
            .args([
                "build",
                "--release",
                "--target",
                TRIPLE,
                "-p",
                "rkt_stage1",
                "-p",
                "rkt_inspect",
            ])
            .env("RUSTFLAGS", "-C target-feature=+crt-static")
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .status()
            .expect("run cargo");
        assert!(
            st.success(),
            "static build of rkt_stage1/rkt_inspect failed"
        );
        let b = Bins {
            stage1: dir.join("rkt_stage1"),
            inspect: dir.join("rkt_inspect"),
        };
        assert!(
            b.stage1.is_file() && b.inspect.is_file(),
            "static binaries missing in {}",
            dir.display()
        );
        b
    })
}

const UUID: &str = "6b0ac3e2-5f1d-4c7a-9e2b-1d3c5a7f9e01";

struct App<'a> {
    name: &'a str,
    exec: Vec<&'a str>,
    user: &'a str,
    group: &'a str,
    extra: &'a str,
    /// Keys of the RuntimeApp itself (mounts, readOnlyRootFS).
    ra_extra: String,
}

fn app<'a>(name: &'a str, exec: &[&'a str]) -> App<'a> {
    App {
        name,
        exec: exec.to_vec(),
        user: "0",
        group: "0",
        extra: "",
        ra_extra: String::new(),
    }
}

struct PodDir {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
    lock: PathBuf,
}

impl PodDir {
    fn new(apps: &[App]) -> Self {
        Self::with_volumes(apps, "null")
    }

    fn with_volumes(apps: &[App], volumes: &str) -> Self {
        let b = bins();
        let tmp = tempfile::Builder::new()
            .prefix("rkt-stage1-test")
            .tempdir()
            .unwrap();
        let dir = tmp.path().join("pods/run").join(UUID);
        let s1 = dir.join("stage1/rootfs");
        std::fs::create_dir_all(&s1).unwrap();
        std::fs::copy(&b.stage1, s1.join("init")).unwrap();
        let mut json_apps = Vec::new();
        for a in apps {
            let root = s1.join("opt/stage2").join(a.name).join("rootfs");
            std::fs::create_dir_all(root.join("etc")).unwrap();
            std::fs::create_dir_all(root.join("home/user1")).unwrap();
            std::fs::copy(&b.inspect, root.join("inspect")).unwrap();
            std::fs::write(
                root.join("etc/passwd"),
                "root:x:0:0:root:/root:/bin/sh\nuser1:x:1000:100:User One:/home/user1:/bin/sh\n",
            )
            .unwrap();
            std::fs::write(root.join("etc/group"), "root:x:0:\ngroup1:x:100:user1\n").unwrap();
            std::fs::write(s1.join("opt/stage2").join(a.name).join("manifest"), "{}").unwrap();
            let exec: Vec<String> = a.exec.iter().map(|e| format!("{e:?}")).collect();
            json_apps.push(format!(
                r#"{{"name":"{}","image":{{"name":"coreos.com/rkt-inspect","id":"sha512-0"}},"app":{{"exec":[{}],"user":"{}","group":"{}"{}}},"annotations":[]{}}}"#,
                a.name,
                exec.join(","),
                a.user,
                a.group,
                a.extra,
                a.ra_extra
            ));
        }
        let manifest = format!(
            r#"{{"acVersion":"1.30.0","acKind":"PodManifest","apps":[{}],"volumes":{},"isolators":null,"annotations":null,"ports":null}}"#,
            json_apps.join(","),
            volumes
        );
        std::fs::write(dir.join("pod"), manifest).unwrap();
        let lock = tmp.path().join("pod.lock");
        PodDir {
            _tmp: tmp,
            dir,
            lock,
        }
    }

    fn rootfs(&self, app: &str) -> PathBuf {
        self.dir
            .join("stage1/rootfs/opt/stage2")
            .join(app)
            .join("rootfs")
    }

    fn status(&self, app: &str) -> Option<String> {
        std::fs::read_to_string(self.dir.join("stage1/rootfs/rkt/status").join(app)).ok()
    }

    /// stage1 as stage0 starts it: cwd = pod dir, argv[0] = init, an exclusive flock on RKT_LOCK_FD.
    /// Drop the returned descriptor once spawned, so only stage1 holds the lock.
    fn command(&self, extra_args: &[&str]) -> (Command, OwnedFd) {
        let f = std::fs::File::create(&self.lock).unwrap();
        // SAFETY: flock on a descriptor we own.
        assert_eq!(unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX) }, 0);
        let mut c = Command::new(self.dir.join("stage1/rootfs/init"));
        c.arg0("init")
            .current_dir(&self.dir)
            .env("RKT_LOCK_FD", LOCK_FD.to_string());
        c.arg("--net=host").args(extra_args).arg(UUID);
        c.stdin(Stdio::null());
        let fd = f.as_raw_fd();
        // SAFETY: dup2 is async-signal-safe; the copy has no FD_CLOEXEC, like rkt's lock fd.
        unsafe {
            c.pre_exec(move || {
                // dup2 onto itself keeps FD_CLOEXEC: the test thread may have been given fd 9.
                if fd == LOCK_FD {
                    if libc::fcntl(fd, libc::F_SETFD, 0) < 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                } else if libc::dup2(fd, LOCK_FD) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        (c, f.into())
    }

    fn spawn(&self, extra_args: &[&str]) -> std::process::Child {
        let (mut c, lock) = self.command(extra_args);
        let child = c
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("exec stage1");
        drop(lock);
        child
    }

    fn run(&self, extra_args: &[&str]) -> Output {
        let out = self.spawn(extra_args).wait_with_output().unwrap();
        assert_no_leftover_mounts(self._tmp.path());
        out
    }
}

fn assert_no_leftover_mounts(tmp: &Path) {
    let mounts = std::fs::read_to_string("/proc/self/mounts").unwrap();
    let t = tmp.to_str().unwrap();
    let left: Vec<&str> = mounts.lines().filter(|l| l.contains(t)).collect();
    assert!(
        left.is_empty(),
        "mounts of the pod left on the host: {left:#?}"
    );
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}
fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn field<'a>(out: &'a str, key: &str) -> &'a str {
    out.lines()
        .find_map(|l| l.strip_prefix(&format!("{key}=")))
        .unwrap_or_else(|| panic!("no {key}= in output:\n{out}"))
}

#[test]
fn one_app_sees_its_pod() {
    let pod = PodDir::new(&[app(
        "hello",
        &[
            "/inspect",
            "--print-msg=HelloWorld",
            "--print-hostname",
            "--print-user",
            "--print-env=AC_APP_NAME",
            "--print-ns",
            "--print-caps",
            "--print-pid",
            "--print-env=USER",
            "--print-env=PATH",
        ],
    )]);
    let o = pod.run(&[]);
    let out = stdout(&o);
    assert_eq!(
        o.status.code(),
        Some(0),
        "stdout:\n{out}\nstderr:\n{}",
        stderr(&o)
    );
    assert!(out.starts_with("HelloWorld\n"));
    assert_eq!(field(&out, "hostname"), format!("rkt-{UUID}"));
    assert_eq!(
        out.lines().find(|l| l.starts_with("uid=")),
        Some("uid=0 gid=0 euid=0")
    );
    assert_eq!(field(&out, "AC_APP_NAME"), "hello");
    assert_eq!(field(&out, "USER"), "root");
    assert_eq!(
        field(&out, "PATH"),
        "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
    );
    let host_ns = |ns: &str| {
        std::fs::read_link(format!("/proc/self/ns/{ns}"))
            .unwrap()
            .display()
            .to_string()
    };
    for ns in ["pid", "mnt", "uts", "ipc"] {
        assert_ne!(
            field(&out, &format!("ns-{ns}")),
            host_ns(ns),
            "{ns} namespace must be the pod's own"
        );
    }
    assert_eq!(field(&out, "ns-net"), host_ns("net"), "--net=host");
    let pid: u32 = field(&out, "pid").parse().unwrap();
    assert!(pid > 1, "the app is not the pod's PID 1 (got {pid})");
    // The 14 default capabilities, nothing more, for a root app.
    for k in ["CapBnd", "CapEff", "CapPrm"] {
        assert_eq!(field(&out, k), "00000000a80425fb", "{k}");
    }
    assert_eq!(pod.status("hello").as_deref(), Some("0"));
    let env_file = std::fs::read_to_string(pod.dir.join("stage1/rootfs/rkt/env/hello")).unwrap();
    assert!(
        env_file.ends_with("HOME=/root\nAC_APP_NAME=hello\n"),
        "{env_file}"
    );
    assert_eq!(
        std::fs::read_to_string(pod.dir.join("stage1/rootfs/etc/hostname")).unwrap(),
        format!("rkt-{UUID}\n")
    );
    let pid_file = std::fs::read_to_string(pod.dir.join("pid")).unwrap();
    assert!(
        pid_file.parse::<u32>().is_ok_and(|p| p > 1),
        "pid file {pid_file:?}"
    );
}

#[test]
fn exit_codes_and_statuses_of_three_apps() {
    // rkt's tests/rkt_exit_test.go: 0, 5, 6 → rkt exits 5; the app still running when app 1 failed
    // is stopped and recorded as 0.
    let pod = PodDir::new(&[
        app("hello0", &["/inspect", "--exit-code=0"]),
        app("hello1", &["/inspect", "--sleep=300", "--exit-code=5"]),
        app("hello2", &["/inspect", "--sleep=20000", "--exit-code=6"]),
    ]);
    let t = Instant::now();
    let o = pod.run(&[]);
    assert_eq!(o.status.code(), Some(5), "stderr:\n{}", stderr(&o));
    assert!(
        t.elapsed() < Duration::from_secs(8),
        "the sleeping app was stopped, not waited for"
    );
    assert_eq!(pod.status("hello0").as_deref(), Some("0"));
    assert_eq!(pod.status("hello1").as_deref(), Some("5"));
    assert_eq!(pod.status("hello2").as_deref(), Some("0"));
}

#[test]
fn single_app_exit_code_propagates() {
    let pod = PodDir::new(&[app("two", &["/inspect", "--exit-code=2"])]);
    let o = pod.run(&[]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(pod.status("two").as_deref(), Some("2"));
}

#[test]
fn missing_exec_diagnostic() {
    let pod = PodDir::new(&[app("missing", &["/foo-not-there"])]);
    let o = pod.run(&[]);
    assert!(
        stderr(&o).contains("Error: Unable to open \"/foo-not-there\": No such file or directory"),
        "stderr:\n{}",
        stderr(&o)
    );
    assert_eq!(o.status.code(), Some(254));
    assert_eq!(pod.status("missing").as_deref(), Some("254"));
}

#[test]
fn user_and_group_by_name_from_image() {
    let mut a = app(
        "named",
        &[
            "/inspect",
            "--print-user",
            "--print-groups",
            "--print-env=USER",
            "--print-env=HOME",
            "--print-caps",
        ],
    );
    a.user = "user1";
    a.group = "group1";
    a.extra = r#","supplementaryGIDs":[4242]"#;
    let pod = PodDir::new(&[a]);
    let o = pod.run(&[]);
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(0), "{out}{}", stderr(&o));
    assert!(out.contains("uid=1000 gid=100 euid=1000"), "{out}");
    assert_eq!(field(&out, "groups"), "4242");
    assert_eq!(field(&out, "USER"), "user1");
    assert_eq!(field(&out, "HOME"), "/home/user1");
    // An unprivileged app keeps no capabilities; the bounding set is still the pod's.
    assert_eq!(field(&out, "CapEff"), "0000000000000000");
    assert_eq!(field(&out, "CapBnd"), "00000000a80425fb");
}

#[test]
fn invalid_user_fails_before_start() {
    let mut a = app("bad", &["/inspect"]);
    a.user = "nobody-here";
    let pod = PodDir::new(&[a]);
    let o = pod.run(&[]);
    assert_eq!(o.status.code(), Some(254));
    assert_eq!(
        stderr(&o).trim_end(),
        "stage1: invalid user \"nobody-here\""
    );
    assert!(!pod.dir.join("pid").exists());
}

#[test]
fn filesystem_view() {
    let pod = PodDir::new(&[app(
        "fs",
        &[
            "/inspect",
            "--read-file=/etc/hostname",
            "--read-file=/etc/hosts",
            "--read-file=/etc/resolv.conf",
            "--read-file=/proc/kallsyms",
            "--write-file=/proc/sys/kernel/core_pattern:x",
            "--print-mounts",
        ],
    )]);
    std::fs::create_dir_all(pod.dir.join("stage1/rootfs/etc")).unwrap();
    std::fs::write(
        pod.dir.join("stage1/rootfs/etc/rkt-resolv.conf"),
        "# Generated by rkt run\n\nnameserver 192.0.2.53\n",
    )
    .unwrap();
    let o = pod.run(&[]);
    let out = stdout(&o);
    assert!(out.contains(&format!("<<<rkt-{UUID}\n>>>")), "{out}");
    assert!(
        out.contains(&format!(
            "127.0.0.1 localhost localhost.domain localhost4 localhost4.localdomain4 rkt-{UUID}\n"
        )),
        "{out}"
    );
    assert!(out.contains("nameserver 192.0.2.53"), "{out}");
    assert!(
        out.contains("<<<>>>"),
        "/proc/kallsyms is hidden behind /dev/null: {out}"
    );
    assert!(
        out.contains("cannot write /proc/sys/kernel/core_pattern: Read-only file system"),
        "{out}"
    );
    for m in [
        " /proc proc ",
        " /sys sysfs ro,",
        " /dev tmpfs ",
        " /dev/pts devpts ",
        " /dev/shm tmpfs ",
    ] {
        assert!(out.contains(m), "missing mount {m:?} in:\n{out}");
    }
    // the host devices are nodes made in the pod's /dev, not binds of the host's
    assert!(!out.contains(" /dev/null "), "{out}");
    let root = pod.rootfs("fs");
    assert_eq!(
        std::fs::read_link(root.join("etc/mtab")).unwrap(),
        Path::new("../proc/self/mounts")
    );
    let tmp_mode = std::fs::metadata(root.join("tmp"))
        .map(|m| std::os::unix::fs::PermissionsExt::mode(&m.permissions()) & 0o7777)
        .unwrap();
    assert_eq!(tmp_mode, 0o1777);

    // --disable-paths lifts the protection.
    let o = pod.run(&["--disable-paths"]);
    let out = stdout(&o);
    assert!(!out.contains(" /proc/kallsyms "), "{out}");
}

#[test]
fn image_hosts_kept_and_lock_fd_not_leaked() {
    let pod = PodDir::new(&[app(
        "h",
        &[
            "/inspect",
            "--read-file=/etc/hosts",
            &format!("--read-file=/proc/self/fdinfo/{LOCK_FD}"),
        ],
    )]);
    std::fs::write(pod.rootfs("h").join("etc/hosts"), "10.1.2.3 mine\n").unwrap();
    let o = pod.run(&[]);
    let out = stdout(&o);
    assert!(out.contains("<<<10.1.2.3 mine\n>>>"), "{out}");
    assert!(
        out.contains(&format!("cannot read /proc/self/fdinfo/{LOCK_FD}")),
        "lock fd visible in the app: {out}"
    );
}

#[test]
fn event_handlers_and_working_directory() {
    let mut a = app("ev", &["/inspect", "--print-cwd", "--read-file=/pre"]);
    a.user = "user1";
    a.extra = r#","workingDirectory":"/home/user1","eventHandlers":[{"name":"pre-start","exec":["/inspect","--write-file=/pre:from-pre-start"]},{"name":"post-stop","exec":["/inspect","--write-file=/post:done"]}]"#;
    let pod = PodDir::new(&[a]);
    let o = pod.run(&[]);
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(0), "{out}{}", stderr(&o));
    assert_eq!(field(&out, "cwd"), "/home/user1");
    assert!(
        out.contains("<<<from-pre-start>>>"),
        "pre-start ran as root before the app: {out}"
    );
    assert_eq!(
        std::fs::read_to_string(pod.rootfs("ev").join("post")).unwrap(),
        "done"
    );
    let mode = |p: &str| {
        let m = std::fs::metadata(pod.rootfs("ev").join(p)).unwrap();
        std::os::unix::fs::PermissionsExt::mode(&m.permissions()) & 0o777
    };
    assert_eq!(
        (mode("pre"), mode("post")),
        (0o644, 0o644),
        "handlers run with umask 022"
    );

    let mut a = app("prefail", &["/inspect", "--print-msg=must-not-run"]);
    a.extra = r#","eventHandlers":[{"name":"pre-start","exec":["/inspect","--exit-code=3"]}]"#;
    let pod = PodDir::new(&[a]);
    let o = pod.run(&[]);
    assert_eq!(o.status.code(), Some(254));
    assert_eq!(
        stderr(&o),
        "stage1: app \"prefail\": pre-start handler failed with exit code 3\n"
    );
    assert!(!stdout(&o).contains("must-not-run"));

    let mut a = app("nowd", &["/inspect"]);
    a.extra = r#","workingDirectory":"/does/not/exist""#;
    let pod = PodDir::new(&[a]);
    let o = pod.run(&[]);
    assert_eq!(o.status.code(), Some(254));
    assert!(stderr(&o).contains("/does/not/exist"), "{}", stderr(&o));
}

#[test]
fn pid_file_lock_and_graceful_stop() {
    let pod = PodDir::new(&[
        app("sleeper", &["/inspect", "--sleep=30000"]),
        app("other", &["/inspect", "--sleep=30000"]),
    ]);
    let mut child = pod.spawn(&[]);
    let pid_path = pod.dir.join("pid");
    let t = Instant::now();
    while !pid_path.exists() {
        assert!(t.elapsed() < Duration::from_secs(5), "no pid file");
        std::thread::sleep(Duration::from_millis(5));
    }
    let pid: i32 = std::fs::read_to_string(&pid_path).unwrap().parse().unwrap();
    // Host pid of the pod's PID 1, which is 1 in its own namespace.
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let nspid = status.lines().find(|l| l.starts_with("NSpid:")).unwrap();
    assert_eq!(
        nspid.split_whitespace().collect::<Vec<_>>(),
        ["NSpid:", &pid.to_string(), "1"]
    );
    // While the pod runs, its lock is held by stage1 alone.
    let f = std::fs::File::open(&pod.lock).unwrap();
    // SAFETY: flock on a descriptor we own.
    assert_ne!(
        unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) },
        0,
        "lock not held"
    );
    let ready = pod.dir.join("stage1/rootfs/rkt/supervisor-status");
    while std::fs::read_link(&ready).is_err() {
        assert!(t.elapsed() < Duration::from_secs(5), "apps never started");
        std::thread::sleep(Duration::from_millis(5));
    }
    // SAFETY: signalling the stage1 process we spawned.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let st = child.wait().unwrap();
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert_eq!(st.code(), Some(0), "graceful stop exits 0: {err}");
    assert!(t.elapsed() < Duration::from_secs(8));
    assert_eq!(pod.status("sleeper").as_deref(), Some("0"));
    assert_eq!(pod.status("other").as_deref(), Some("0"));
    // SAFETY: as above.
    assert_eq!(
        unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) },
        0,
        "lock released with stage1"
    );
    assert_no_leftover_mounts(pod._tmp.path());
}

#[test]
fn bad_invocations() {
    let pod = PodDir::new(&[app("a", &["/inspect"])]);
    let o = pod.run(&["--net=default"]);
    assert_eq!(o.status.code(), Some(254));
    assert!(stderr(&o).starts_with("stage1: "), "{}", stderr(&o));
    let o = Command::new(&bins().stage1).arg0("gc").output().unwrap();
    assert_eq!(o.status.code(), Some(254));
    assert_eq!(stderr(&o), "gc: usage: gc [--debug] [--local-config=DIR] UUID\n");
    let o = Command::new(&bins().stage1)
        .arg0("stop")
        .arg(UUID)
        .current_dir(pod._tmp.path())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(254));
    assert!(stderr(&o).contains("is not running: no pid file"), "{}", stderr(&o));
}

#[test]
fn interactive_and_namespace_options() {
    let pod = PodDir::new(&[app(
        "i",
        &[
            "/inspect",
            "--read-stdin",
            "--print-ns",
            "--print-caps",
            "--print-hostname",
        ],
    )]);
    let (mut c, lock) = pod.command(&[
        "--interactive",
        "--ipc=parent",
        "--disable-capabilities-restriction",
        "--hostname=box",
    ]);
    let mut child = c
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(lock);
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), b"typed by the user\n").unwrap();
    let o = child.wait_with_output().unwrap();
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(0), "{out}{}", stderr(&o));
    assert!(out.contains("Received text: typed by the user"), "{out}");
    assert_eq!(field(&out, "hostname"), "box");
    let host_ipc = std::fs::read_link("/proc/self/ns/ipc")
        .unwrap()
        .display()
        .to_string();
    assert_eq!(
        field(&out, "ns-ipc"),
        host_ipc,
        "--ipc=parent keeps the host's IPC namespace"
    );
    // Everything stage1 itself had (the host may withhold some capabilities from root).
    let ours = std::fs::read_to_string("/proc/self/status").unwrap();
    let ours = field(&ours.replace(":\t", "="), "CapBnd").to_string();
    assert_eq!(field(&out, "CapBnd"), ours);
    assert_eq!(field(&out, "CapEff"), ours);
    assert_no_leftover_mounts(pod._tmp.path());

    // Only one app may own the terminal.
    let pod = PodDir::new(&[app("a", &["/inspect"]), app("b", &["/inspect"])]);
    let o = pod.run(&["--interactive"]);
    assert_eq!(o.status.code(), Some(254));
    assert!(stderr(&o).starts_with("stage1: "), "{}", stderr(&o));
}

#[test]
fn capability_isolators_and_no_new_privs() {
    let mut a = app(
        "c",
        &["/inspect", "--print-caps", "--read-file=/proc/self/status"],
    );
    a.extra = r#","isolators":[{"name":"os/linux/capabilities-retain-set","value":{"set":["CAP_NET_ADMIN","CAP_CHOWN"]}},{"name":"os/linux/no-new-privileges","value":true},{"name":"os/linux/oom-score-adj","value":500}]"#;
    let pod = PodDir::new(&[a]);
    let o = pod.run(&[]);
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(0), "{out}{}", stderr(&o));
    assert_eq!(field(&out, "CapBnd"), format!("{:016x}", (1u64 << 12) | 1));
    assert_eq!(field(&out, "CapEff"), format!("{:016x}", (1u64 << 12) | 1));
    assert!(out.lines().any(|l| l == "NoNewPrivs:\t1"), "{out}");
}

#[test]
fn volumes_host_and_empty() {
    let src = tempfile::tempdir().unwrap();
    std::fs::write(src.path().join("data.txt"), "from the host").unwrap();
    let mut a = app(
        "v",
        &[
            "/inspect",
            "--read-file=/data/data.txt",
            "--write-file=/data/new:x",
            "--write-file=/scratch/f:y",
            "--read-file=/scratch/f",
            "--write-file=/rootfile:z",
            "--write-file=/dev/shm/f:w",
        ],
    );
    a.extra = r#","mountPoints":[{"name":"data","path":"/data","readOnly":true}]"#;
    a.ra_extra =
        r#","readOnlyRootFS":true,"mounts":[{"volume":"data","path":"/data"},{"volume":"scratch","path":"/scratch"}]"#
            .to_string();
    let vols = format!(
        r#"[{{"name":"data","kind":"host","source":"{}"}},{{"name":"scratch","kind":"empty","mode":"0700"}}]"#,
        src.path().display()
    );
    let pod = PodDir::with_volumes(&[a], &vols);
    let o = pod.run(&[]);
    let out = stdout(&o);
    assert!(out.contains("<<<from the host>>>"), "{out}{}", stderr(&o));
    assert!(
        out.contains("cannot write /data/new: Read-only file system"),
        "{out}"
    );
    assert!(out.contains("<<<y>>>"), "{out}");
    assert!(
        out.contains("cannot write /rootfile: Read-only file system"),
        "readOnlyRootFS: {out}"
    );
    assert!(!out.contains("cannot write /dev/shm/f"), "{out}");
    assert_eq!(
        std::fs::read_to_string(pod.dir.join("sharedVolumes/scratch/f")).unwrap(),
        "y"
    );
    assert!(!src.path().join("new").exists());
}
