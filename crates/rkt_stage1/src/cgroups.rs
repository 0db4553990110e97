//! Resource isolators through cgroups: `resource/memory` (limit → memory.limit_in_bytes or
//! memory.max), `resource/cpu` (limit in millicores → a CFS quota per 100 ms period) and
//! `os/linux/cpu-shares` (cpu.shares, or cpu.weight on the unified hierarchy).
//!
//! Each app gets `rkt-<uuid>/<app>` in every hierarchy it needs, plus one in the unified hierarchy
//! (if mounted) so the pod's processes can be found. A controller is taken from a v1 hierarchy when
//! one has it, else from the unified one; when neither has it, rkt's warning is printed and the
//! isolator skipped. `plan` is pure (mountinfo and /proc/self/cgroup text in, directories and writes
//! out); the directories made are listed in the pod's `cgroups` file so that both the run
//! entrypoint (at exit) and the gc entrypoint (after a crash) can remove them.

use crate::pod::Isolator;
use std::io;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use thiserror::Error;

#[derive(Debug, Error, PartialEq, Eq)]
pub enum CgroupError {
    #[error("app {app:?}: invalid value for isolator {name}")]
    Isolator { app: String, name: String },
}

/// Limits of one app, from its isolators.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Limits {
    pub memory_bytes: Option<u64>,
    pub cpu_millis: Option<u64>,
    pub cpu_shares: Option<u64>,
}

impl Limits {
    pub fn is_empty(&self) -> bool {
        *self == Limits::default()
    }
}

/// A Kubernetes-style quantity in thousandths of its unit ("500m" = 500, "42Mi" = 42·2²⁰·1000).
pub fn parse_quantity_milli(s: &str) -> Option<u128> {
    let s = s.trim();
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (num, suffix) = s.split_at(split);
    let exp = suffix
        .strip_prefix(['e', 'E'])
        .filter(|e| !e.is_empty() && e.len() <= 2 && e.bytes().all(|b| b.is_ascii_digit()));
    let mult: u128 = match suffix {
        _ if exp.is_some() => 1000 * 10u128.pow(exp?.parse().ok()?),
        "" => 1000,
        "m" => 1,
        "k" => 1000 * 1000,
        "M" => 1000 * 1_000_000,
        "G" => 1000 * 1_000_000_000,
        "T" => 1000 * 1_000_000_000_000,
        "Ki" => 1000 << 10,
        "Mi" => 1000 << 20,
        "Gi" => 1000 << 30,
        "Ti" => 1000 << 40,
        _ => return None,
    };
    let (int, frac) = num.split_once('.').unwrap_or((num, ""));
    if int.is_empty() && frac.is_empty() || frac.len() > 9 {
        return None;
    }
    let int: u128 = if int.is_empty() { 0 } else { int.parse().ok()? };
    let frac_v: u128 = if frac.is_empty() { 0 } else { frac.parse().ok()? };
    let scale = 10u128.pow(frac.len() as u32);
    Some(int * mult + frac_v * mult / scale)
}

fn limit_of(iso: &Isolator) -> Option<Option<u128>> {
    let v = iso.value.get("limit")?;
    if v.is_null() {
        return Some(None);
    }
    let s = match v {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Number(n) => n.to_string(),
        _ => return None,
    };
    Some(Some(parse_quantity_milli(&s)?))
}

pub fn limits(app: &str, isolators: &[Isolator]) -> Result<Limits, CgroupError> {
    let bad = |n: &str| CgroupError::Isolator {
        app: app.into(),
        name: n.into(),
    };
    let mut l = Limits::default();
    for iso in isolators {
        match iso.name.as_str() {
            "resource/memory" => {
                l.memory_bytes = limit_of(iso)
                    .ok_or_else(|| bad(&iso.name))?
                    .map(|m| (m / 1000) as u64)
            }
            "resource/cpu" => {
                l.cpu_millis = limit_of(iso)
                    .ok_or_else(|| bad(&iso.name))?
                    .map(|m| m as u64)
            }
            "os/linux/cpu-shares" => {
                l.cpu_shares = Some(
                    iso.value
                        .as_u64()
                        .filter(|v| (2..=262144).contains(v))
                        .ok_or_else(|| bad(&iso.name))?,
                )
            }
            _ => {}
        }
    }
    Ok(l)
}

/// The hierarchies of this machine as stage1 sees them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Hierarchies {
    /// (mount point, controllers) of each cgroup v1 mount, with our own path in it.
    pub v1: Vec<(PathBuf, Vec<String>, String)>,
    /// (mount point, enabled controllers at its root, our path) of the cgroup2 mount.
    pub v2: Option<(PathBuf, Vec<String>, String)>,
}

/// From /proc/self/mountinfo, /proc/self/cgroup and the unified root's `cgroup.controllers`.
pub fn hierarchies(mountinfo: &str, self_cgroup: &str, v2_controllers: &str) -> Hierarchies {
    let own = |pred: &dyn Fn(&str) -> bool| -> String {
        self_cgroup
            .lines()
            .filter_map(|l| {
                let mut p = l.splitn(3, ':');
                let (_, ctrls, path) = (p.next()?, p.next()?, p.next()?);
                pred(ctrls).then(|| path.to_string())
            })
            .next()
            .unwrap_or_else(|| "/".into())
    };
    let mut h = Hierarchies::default();
    for line in mountinfo.lines() {
        let Some((pre, post)) = line.split_once(" - ") else {
            continue;
        };
        let mount = pre.split(' ').nth(4).unwrap_or_default();
        let mut post = post.split(' ');
        let fstype = post.next().unwrap_or_default();
        let _source = post.next();
        let opts = post.next().unwrap_or_default();
        match fstype {
            "cgroup" => {
                let ctrls: Vec<String> = opts
                    .split(',')
                    .filter(|o| {
                        matches!(
                            *o,
                            "memory" | "cpu" | "cpuacct" | "pids" | "cpuset" | "blkio" | "devices" | "freezer"
                        )
                    })
                    .map(str::to_string)
                    .collect();
                if ctrls.is_empty() {
                    continue;
                }
                let path = own(&|c: &str| c.split(',').any(|x| ctrls.iter().any(|k| k == x)));
                h.v1.push((PathBuf::from(mount), ctrls, path));
            }
            "cgroup2" if h.v2.is_none() => {
                let path = own(&|c: &str| c.is_empty());
                h.v2 = Some((
                    PathBuf::from(mount),
                    v2_controllers.split_whitespace().map(str::to_string).collect(),
                    path,
                ));
            }
            _ => {}
        }
    }
    h
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    /// Created in order (parents first).
    pub dirs: Vec<PathBuf>,
    /// (file, content), after the dirs.
    pub writes: Vec<(PathBuf, String)>,
    /// For each app, the cgroup.procs files its process joins.
    pub procs: Vec<Vec<PathBuf>>,
    pub warnings: Vec<String>,
}

fn join_cg(mount: &Path, own: &str, rest: &str) -> PathBuf {
    let mut p = mount.to_path_buf();
    for c in own.split('/').chain(rest.split('/')).filter(|c| !c.is_empty()) {
        p.push(c);
    }
    p
}

/// v2 cpu.weight from v1 cpu.shares (the conversion runc and systemd use).
pub fn shares_to_weight(shares: u64) -> u64 {
    1 + ((shares.clamp(2, 262144) - 2) * 9999) / 262142
}

pub fn plan(h: &Hierarchies, uuid: &str, apps: &[(String, Limits)]) -> Plan {
    let mut p = Plan {
        procs: vec![Vec::new(); apps.len()],
        ..Plan::default()
    };
    let pod_dir = format!("rkt-{uuid}");
    let v1_with = |c: &str| h.v1.iter().find(|(_, ctrls, _)| ctrls.iter().any(|x| x == c));
    let v2_with = |c: &str| h.v2.as_ref().filter(|(_, ctrls, _)| ctrls.iter().any(|x| x == c));
    // Which hierarchy each controller comes from.
    #[derive(Clone, Copy, PartialEq)]
    enum Where {
        V1(usize),
        V2,
    }
    let find = |c: &str| {
        v1_with(c)
            .map(|x| Where::V1(h.v1.iter().position(|y| y == x).unwrap()))
            .or_else(|| v2_with(c).map(|_| Where::V2))
    };
    let mut used: Vec<Where> = Vec::new();
    let mut v2_ctrls: Vec<&str> = Vec::new();
    let need = |w: Where, used: &mut Vec<Where>| {
        if !used.contains(&w) {
            used.push(w);
        }
    };
    for (name, l) in apps {
        let want = |set: bool, ctrl: &'static str, iso: &str, p: &mut Plan| {
            if !set {
                return None;
            }
            match find(ctrl) {
                Some(w) => Some(w),
                None => {
                    let msg = format!(
                        "resource/{iso} isolator set but support disabled in the kernel, skipping"
                    );
                    if !p.warnings.contains(&msg) {
                        p.warnings.push(msg);
                    }
                    let _ = name;
                    None
                }
            }
        };
        let mem = want(l.memory_bytes.is_some(), "memory", "memory", &mut p);
        let cpu = want(
            l.cpu_millis.is_some() || l.cpu_shares.is_some(),
            "cpu",
            "cpu",
            &mut p,
        );
        for (w, c) in [(mem, "memory"), (cpu, "cpu")] {
            if let Some(w) = w {
                need(w, &mut used);
                if w == Where::V2 && !v2_ctrls.contains(&c) {
                    v2_ctrls.push(c);
                }
            }
        }
    }
    // The unified hierarchy always, when mounted: it is where the pod's processes are tracked.
    if h.v2.is_some() {
        need(Where::V2, &mut used);
    }
    for w in &used {
        let (mount, own) = match w {
            Where::V1(i) => (&h.v1[*i].0, h.v1[*i].2.as_str()),
            Where::V2 => {
                let (m, _, _) = h.v2.as_ref().unwrap();
                // The unified root is the one cgroup exempt from "no internal processes": ours may
                // hold stage0's own processes, so pods hang below the root.
                (m, "/")
            }
        };
        let pod = join_cg(mount, own, &pod_dir);
        if *w == Where::V2 && !v2_ctrls.is_empty() {
            let enable: Vec<String> = v2_ctrls.iter().map(|c| format!("+{c}")).collect();
            p.writes.push((
                join_cg(mount, own, "cgroup.subtree_control"),
                enable.join(" "),
            ));
        }
        p.dirs.push(pod.clone());
        if *w == Where::V2 && !v2_ctrls.is_empty() {
            let enable: Vec<String> = v2_ctrls.iter().map(|c| format!("+{c}")).collect();
            p.writes.push((pod.join("cgroup.subtree_control"), enable.join(" ")));
        }
        for (i, (name, l)) in apps.iter().enumerate() {
            let dir = pod.join(name);
            p.dirs.push(dir.clone());
            p.procs[i].push(dir.join("cgroup.procs"));
            let has = |c: &str| match w {
                Where::V1(j) => h.v1[*j].1.iter().any(|x| x == c),
                Where::V2 => v2_ctrls.contains(&c) && find(c) == Some(Where::V2),
            };
            if let Some(m) = l.memory_bytes.filter(|_| has("memory")) {
                let f = if *w == Where::V2 { "memory.max" } else { "memory.limit_in_bytes" };
                p.writes.push((dir.join(f), m.to_string()));
            }
            if let Some(c) = l.cpu_millis.filter(|_| has("cpu")) {
                // millicores / 1000 of a 100 ms period
                let quota = (c * 100).max(1000);
                if *w == Where::V2 {
                    p.writes.push((dir.join("cpu.max"), format!("{quota} 100000")));
                } else {
                    p.writes.push((dir.join("cpu.cfs_period_us"), "100000".into()));
                    p.writes.push((dir.join("cpu.cfs_quota_us"), quota.to_string()));
                }
            }
            if let Some(s) = l.cpu_shares.filter(|_| has("cpu")) {
                if *w == Where::V2 {
                    p.writes.push((dir.join("cpu.weight"), shares_to_weight(s).to_string()));
                } else {
                    p.writes.push((dir.join("cpu.shares"), s.to_string()));
                }
            }
        }
    }
    p
}

/// Reads this machine's hierarchies.
pub fn detect() -> Hierarchies {
    let mi = crate::linux::read_kernel_file("/proc/self/mountinfo").unwrap_or_default();
    let sc = std::fs::read_to_string("/proc/self/cgroup").unwrap_or_default();
    let mut h = hierarchies(&mi, &sc, "");
    if let Some((m, ctrls, _)) = h.v2.as_mut() {
        *ctrls = std::fs::read_to_string(m.join("cgroup.controllers"))
            .unwrap_or_default()
            .split_whitespace()
            .map(str::to_string)
            .collect();
    }
    h
}

/// Creates the plan's cgroups, recording each directory in the pod's `cgroups` file first so that
/// a crash halfway still leaves gc a list to remove.
pub fn apply(pod: &Path, p: &Plan) -> io::Result<()> {
    let list: String = p
        .dirs
        .iter()
        .map(|d| format!("{}\n", d.display()))
        .collect();
    // In place: a kill before the write leaves an empty list, and no directory made yet.
    crate::linux::write_in_place(&crate::layout::cgroups_file(pod), list.as_bytes(), 0o640)?;
    // Enabling a v2 controller in a parent that already has children is allowed, so every
    // directory is made first and the writes (subtree_control before limits) follow in order.
    for d in &p.dirs {
        match std::fs::create_dir(d) {
            Err(e) if e.kind() != io::ErrorKind::AlreadyExists => {
                return Err(io::Error::new(e.kind(), format!("failed to create cgroup {}: {e}", d.display())))
            }
            _ => {}
        }
    }
    for (f, c) in &p.writes {
        write_cg(f, c)?;
    }
    Ok(())
}

fn write_cg(f: &Path, c: &str) -> io::Result<()> {
    std::fs::write(f, c).map_err(|e| io::Error::new(e.kind(), format!("failed to write {c:?} to {}: {e}", f.display())))
}

/// Whether a `cgroup.procs` file belongs to the unified (v2) hierarchy.
pub fn is_unified(procs: &Path) -> bool {
    const CGROUP2_SUPER_MAGIC: libc::c_long = 0x6367_7270;
    let Some(dir) = procs.parent() else { return false };
    let Ok(c) = crate::linux::cstr(dir) else { return false };
    // SAFETY: statfs with a valid C string and an out pointer to a zeroed struct.
    let mut st: libc::statfs = unsafe { std::mem::zeroed() };
    unsafe { libc::statfs(c.as_ptr(), &mut st) == 0 && st.f_type as libc::c_long == CGROUP2_SUPER_MAGIC }
}

/// The directory of a `cgroup.procs` file, opened for clone3's CLONE_INTO_CGROUP (O_CLOEXEC).
pub fn open_dir(procs: &Path) -> io::Result<OwnedFd> {
    let dir = procs.parent().unwrap_or(Path::new("/"));
    std::fs::File::open(dir)
        .map(OwnedFd::from)
        .map_err(|e| io::Error::new(e.kind(), format!("failed to open {}: {e}", dir.display())))
}

/// Opens the app's cgroup.procs files (O_CLOEXEC): the app process writes "0" to each before exec.
pub fn open_procs(files: &[PathBuf]) -> io::Result<Vec<OwnedFd>> {
    files
        .iter()
        .map(|f| {
            std::fs::OpenOptions::new()
                .write(true)
                .open(f)
                .map(OwnedFd::from)
                .map_err(|e| io::Error::new(e.kind(), format!("failed to open {}: {e}", f.display())))
        })
        .collect()
}

/// The cgroups of a running pod's app, for `enter` (processes entering the app join them too).
pub fn open_app_procs(pod: &Path, app: &str) -> Option<Vec<OwnedFd>> {
    let list = std::fs::read_to_string(crate::layout::cgroups_file(pod)).ok()?;
    let files: Vec<PathBuf> = list
        .lines()
        .map(PathBuf::from)
        .filter(|d| d.file_name().is_some_and(|n| n == app))
        .map(|d| d.join("cgroup.procs"))
        .collect();
    open_procs(&files).ok()
}

/// Removes the pod's cgroups, deepest first. The kernel may report a cgroup busy for a moment
/// after its last process exited, hence the short retry.
pub fn remove(pod: &Path) -> io::Result<()> {
    let file = crate::layout::cgroups_file(pod);
    let list = match std::fs::read_to_string(&file) {
        Ok(l) => l,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    let mut dirs: Vec<PathBuf> = list.lines().filter(|l| !l.is_empty()).map(PathBuf::from).collect();
    dirs.sort_by_key(|d| std::cmp::Reverse(d.components().count()));
    let mut last_err = None;
    for d in &dirs {
        let mut tries = 0;
        loop {
            match std::fs::remove_dir(d) {
                Ok(()) => break,
                Err(e) if e.kind() == io::ErrorKind::NotFound => break,
                Err(e) if e.raw_os_error() == Some(libc::EBUSY) && tries < 50 => {
                    tries += 1;
                    std::thread::sleep(std::time::Duration::from_millis(20));
                }
                Err(e) => {
                    last_err = Some(io::Error::new(e.kind(), format!("failed to remove cgroup {}: {e}", d.display())));
                    break;
                }
            }
        }
    }
    match last_err {
        Some(e) => Err(e),
        None => {
            let _ = std::fs::remove_file(&file);
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const MOUNTINFO: &str = "\
30 25 0:26 / /sys/fs/cgroup ro,nosuid - tmpfs tmpfs ro,mode=755
31 30 0:27 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw
33 30 0:29 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory
34 30 0:30 / /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu
35 30 0:31 / /sys/fs/cgroup/systemd rw - cgroup cgroup rw,name=systemd
";
    const SELF: &str = "5:memory:/user\n4:cpu:/\n1:name=systemd:/\n0::/x\n";

    fn iso(n: &str, v: serde_json::Value) -> Isolator {
        Isolator { name: n.into(), value: v }
    }

    #[test]
    fn quantities() {
        assert_eq!(parse_quantity_milli("500m"), Some(500));
        assert_eq!(parse_quantity_milli("2"), Some(2000));
        assert_eq!(parse_quantity_milli("0.5"), Some(500));
        assert_eq!(parse_quantity_milli("42Mi"), Some(42_000 << 20));
        assert_eq!(parse_quantity_milli("1G"), Some(1_000_000_000_000));
        assert_eq!(parse_quantity_milli("1e3"), Some(1_000_000));
        for bad in ["", "x", "1X", "1..2", "-1"] {
            assert_eq!(parse_quantity_milli(bad), None, "{bad}");
        }
    }

    #[test]
    fn limits_from_isolators() {
        let l = limits(
            "a",
            &[
                iso("resource/memory", json!({"request": "1Mi", "limit": "42Mi"})),
                iso("resource/cpu", json!({"request": "50m", "limit": "800m"})),
                iso("os/linux/cpu-shares", json!(512)),
            ],
        )
        .unwrap();
        assert_eq!(l, Limits { memory_bytes: Some(42 << 20), cpu_millis: Some(800), cpu_shares: Some(512) });
        assert!(limits("a", &[iso("resource/memory", json!({"limit": "lots"}))]).is_err());
        assert!(limits("a", &[iso("os/linux/cpu-shares", json!(1))]).is_err());
    }

    #[test]
    fn v1_with_unified_tracking() {
        let h = hierarchies(MOUNTINFO, SELF, "");
        assert_eq!(h.v1.len(), 2, "name=systemd has no controller");
        assert_eq!(h.v1[0].2, "/user");
        let apps = vec![
            ("web".to_string(), Limits { memory_bytes: Some(1 << 20), cpu_millis: Some(900), cpu_shares: None }),
            ("db".to_string(), Limits::default()),
        ];
        let p = plan(&h, "u", &apps);
        assert!(p.warnings.is_empty());
        let dirs: Vec<String> = p.dirs.iter().map(|d| d.display().to_string()).collect();
        assert_eq!(
            dirs,
            [
                "/sys/fs/cgroup/memory/user/rkt-u",
                "/sys/fs/cgroup/memory/user/rkt-u/web",
                "/sys/fs/cgroup/memory/user/rkt-u/db",
                "/sys/fs/cgroup/cpu/rkt-u",
                "/sys/fs/cgroup/cpu/rkt-u/web",
                "/sys/fs/cgroup/cpu/rkt-u/db",
                "/sys/fs/cgroup/unified/rkt-u",
                "/sys/fs/cgroup/unified/rkt-u/web",
                "/sys/fs/cgroup/unified/rkt-u/db",
            ]
        );
        let writes: Vec<(String, String)> = p.writes.iter().map(|(f, c)| (f.display().to_string(), c.clone())).collect();
        assert_eq!(
            writes,
            [
                ("/sys/fs/cgroup/memory/user/rkt-u/web/memory.limit_in_bytes".into(), "1048576".into()),
                ("/sys/fs/cgroup/cpu/rkt-u/web/cpu.cfs_period_us".into(), "100000".into()),
                ("/sys/fs/cgroup/cpu/rkt-u/web/cpu.cfs_quota_us".into(), "90000".into()),
            ]
        );
        assert_eq!(p.procs[1].len(), 3);
    }

    #[test]
    fn unified_only_and_missing_controller() {
        let mi = "31 25 0:27 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n";
        let h = hierarchies(mi, "0::/session\n", "cpu io");
        let apps = vec![("a".to_string(), Limits { memory_bytes: Some(100), cpu_millis: None, cpu_shares: Some(1024) })];
        let p = plan(&h, "u", &apps);
        assert_eq!(p.warnings, ["resource/memory isolator set but support disabled in the kernel, skipping"]);
        let writes: Vec<(String, String)> = p.writes.iter().map(|(f, c)| (f.display().to_string(), c.clone())).collect();
        assert_eq!(
            writes,
            [
                ("/sys/fs/cgroup/cgroup.subtree_control".into(), "+cpu".into()),
                ("/sys/fs/cgroup/rkt-u/cgroup.subtree_control".into(), "+cpu".into()),
                ("/sys/fs/cgroup/rkt-u/a/cpu.weight".into(), "39".into()),
            ]
        );
    }
}
