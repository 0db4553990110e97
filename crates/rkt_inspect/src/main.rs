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
