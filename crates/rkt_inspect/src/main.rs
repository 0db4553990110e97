//! A small checker that runs inside test images (like rkt's tests/inspect). Each flag prints one
//! fact as `KEY=value` so end-to-end tests can read what an app really sees.
use std::io::{Read, Write};

fn print_caps() {
    if let Ok(s) = std::fs::read_to_string("/proc/self/status") {
        for l in s.lines().filter(|l| l.starts_with("Cap")) {
            println!("{}", l.replace(":\t", "="));
        }
    }
}

fn status_field(name: &str) -> String {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{name}:")).map(|v| v.trim().to_string()))
        .unwrap_or_default()
}

extern "C" fn exit_on_sigterm(_: libc::c_int) {
    // SAFETY: async-signal-safe exit.
    unsafe { libc::_exit(0) };
}

/// Tries one system call with harmless arguments; `try:NAME=ok` or `try:NAME=errno N (text)`.
fn try_syscall(name: &str) -> String {
    let mut buf = [0u8; 512];
    // SAFETY: each call gets valid buffers or NULL paths the kernel rejects before touching memory.
    let r: libc::c_long = unsafe {
        match name {
            "getcwd" => libc::syscall(libc::SYS_getcwd, buf.as_mut_ptr(), buf.len()),
            "uname" => libc::syscall(libc::SYS_uname, buf.as_mut_ptr()),
            "getppid" => libc::syscall(libc::SYS_getppid),
            "sync" => libc::syscall(libc::SYS_sync),
            "umount2" => libc::syscall(libc::SYS_umount2, c"/nonexistent-mountpoint".as_ptr(), 0),
            "swapoff" => libc::syscall(libc::SYS_swapoff, c"/nonexistent-swap".as_ptr()),
            "kexec_load" => libc::syscall(libc::SYS_kexec_load, 0, 0, 0, 0),
            "chroot" => libc::syscall(libc::SYS_chroot, c"/nonexistent-dir".as_ptr()),
            "unshare" => libc::syscall(libc::SYS_unshare, 0),
            _ => return format!("try:{name}=unknown"),
        }
    };
    if r >= 0 {
        format!("try:{name}=ok")
    } else {
        let e = std::io::Error::last_os_error();
        format!("try:{name}=errno {}", e.raw_os_error().unwrap_or(0))
    }
}

fn main() {
    let mut exit_code = 0;
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.is_empty() {
        println!("rkt-inspect: hello from inside the image");
    }
    for a in &args {
        let (flag, val) = match a.split_once('=') {
            Some((f, v)) => (f, Some(v)),
            None => (a.as_str(), None),
        };
        let v = || val.unwrap_or_default();
        match flag {
            "--print-msg" => println!("{}", v()),
            "--exit-code" => exit_code = v().parse().unwrap_or(1),
            "--print-env" => println!("{}={}", v(), std::env::var(v()).unwrap_or_default()),
            "--print-all-env" => {
                for (k, val) in std::env::vars() {
                    println!("{k}={val}");
                }
            }
            "--print-cwd" => println!("cwd={}", std::env::current_dir().map(|p| p.display().to_string()).unwrap_or_default()),
            "--print-user" => {
                // SAFETY: plain getters without arguments.
                let (uid, gid, euid) = unsafe { (libc::getuid(), libc::getgid(), libc::geteuid()) };
                println!("uid={uid} gid={gid} euid={euid}");
            }
            "--print-groups" => {
                let mut groups = vec![0 as libc::gid_t; 256];
                // SAFETY: the buffer holds 256 entries, as passed.
                let n = unsafe { libc::getgroups(256, groups.as_mut_ptr()) };
                let list: Vec<String> = groups[..n.max(0) as usize].iter().map(|g| g.to_string()).collect();
                println!("groups={}", list.join(","));
            }
            "--print-hostname" => println!("hostname={}", std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default().trim()),
            "--print-caps" => print_caps(),
            "--print-pid" => println!("pid={}", std::process::id()),
            "--print-ns" => {
                for ns in ["mnt", "pid", "uts", "ipc", "net", "user"] {
                    let l = std::fs::read_link(format!("/proc/self/ns/{ns}")).map(|p| p.display().to_string()).unwrap_or_default();
                    println!("ns-{ns}={l}");
                }
            }
            "--print-mounts" => print!("{}", std::fs::read_to_string("/proc/self/mounts").unwrap_or_default()),
            "--read-file" => match std::fs::read_to_string(v()) {
                Ok(s) => println!("<<<{s}>>>"),
                Err(e) => {
                    println!("cannot read {}: {e}", v());
                    exit_code = 1;
                }
            },
            "--write-file" => {
                let (path, content) = v().split_once(':').unwrap_or((v(), ""));
                if let Err(e) = std::fs::write(path, content) {
                    println!("cannot write {path}: {e}");
                    exit_code = 1;
                }
            }
            "--read-stdin" => {
                print!("Enter text:\n");
                let _ = std::io::stdout().flush();
                let mut s = String::new();
                let _ = std::io::stdin().read_to_string(&mut s);
                println!("Received text: {}", s.trim_end());
            }
            // `stat:PATH=KIND MODE` (mode in octal, with the file-type bits dropped) or `missing`.
            "--stat" => {
                use std::os::unix::fs::{FileTypeExt, PermissionsExt};
                match std::fs::symlink_metadata(v()) {
                    Ok(m) => {
                        let t = m.file_type();
                        let kind = if t.is_symlink() { "symlink" } else if t.is_dir() { "dir" } else if t.is_char_device() { "char" } else if t.is_block_device() { "block" } else { "file" };
                        println!("stat:{}={kind} {:o}", v(), m.permissions().mode() & 0o7777);
                    }
                    Err(_) => println!("stat:{}=missing", v()),
                }
            }
            "--readlink" => println!("link:{}={}", v(), std::fs::read_link(v()).map(|p| p.display().to_string()).unwrap_or_default()),
            "--status" => println!("status:{}={}", v(), status_field(v())),
            "--stat-owner" => {
                use std::os::unix::fs::MetadataExt;
                match std::fs::symlink_metadata(v()) {
                    Ok(m) => println!("owner:{}={}:{}", v(), m.uid(), m.gid()),
                    Err(_) => println!("owner:{}=missing", v()),
                }
            }
            "--print-oom-score-adj" => println!("oom_score_adj={}", std::fs::read_to_string("/proc/self/oom_score_adj").unwrap_or_default().trim()),
            "--print-uid-map" => {
                for m in ["uid_map", "gid_map"] {
                    let t = std::fs::read_to_string(format!("/proc/self/{m}")).unwrap_or_default();
                    println!("{m}={}", t.split_whitespace().collect::<Vec<_>>().join(" "));
                }
            }
            "--print-cgroups" => {
                for l in std::fs::read_to_string("/proc/self/cgroup").unwrap_or_default().lines() {
                    println!("cgroup:{l}");
                }
            }
            "--check-tty" => {
                // SAFETY: isatty on the standard descriptors.
                let (i, o) = unsafe { (libc::isatty(0), libc::isatty(1)) };
                println!("stdin-tty={} stdout-tty={}", i == 1, o == 1);
            }
            "--try-syscall" => println!("{}", try_syscall(v())),
            // Ignore SIGTERM, so only a SIGKILL ends the app (tests of stop's timeout).
            "--ignore-sigterm" => {
                // SAFETY: setting a disposition.
                unsafe { libc::signal(libc::SIGTERM, libc::SIG_IGN) };
            }
            // Exit 0 on SIGTERM (rkt's inspect --silent-sigterm).
            "--silent-sigterm" => {
                // SAFETY: installing an async-signal-safe handler.
                unsafe { libc::signal(libc::SIGTERM, exit_on_sigterm as *const () as libc::sighandler_t) };
            }
            "--sleep" => std::thread::sleep(std::time::Duration::from_millis(v().parse().unwrap_or(1000))),
            _ => {
                eprintln!("rkt-inspect: unknown flag {a}");
                exit_code = 2;
            }
        }
    }
    let _ = std::io::stdout().flush();
    std::process::exit(exit_code);
}
