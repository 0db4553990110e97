//! A cheap stand-in for the tree hash on the hot path: a SHA-512 over what
//! lstat says of every entry of a tree (name, inode, type and mode, owner,
//! size, mtime and ctime, in nanoseconds), no file content read.
//!
//! The tree store records it after a full hash check has passed; while it
//! still matches, nothing in the tree was written, renamed, chmod'ed or
//! replaced since, because each of those moves the entry's or its parent
//! directory's ctime, which only the kernel sets. `rkt run` checks stage1's
//! tree on every pod: this turns that check from reading and hashing the
//! stage1 binary (~4 ms) into a few lstat calls. What it cannot see is data
//! changed under the filesystem (a bad disk); the full check still runs when
//! the signature is missing or differs.

use std::ffi::OsString;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use crate::digest::SmallSha512;
use crate::error::{CoreError, Result};

/// Top-level entries of a tree store directory that are part of the image.
const TOP: [&str; 2] = ["manifest", "rootfs"];

/// "statsig-" + 64 hex digits over the tree at `dir` (its `manifest` and `rootfs/`).
pub fn tree_stat_signature(dir: &Path) -> Result<String> {
    let mut h = SmallSha512::new();
    for name in TOP {
        let p = dir.join(name);
        match fs::symlink_metadata(&p) {
            Ok(md) => {
                record(&mut h, name.as_bytes(), &md);
                if md.is_dir() {
                    walk(&mut h, &p, name.as_bytes())?;
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => h.update(b"-\0"),
            Err(e) => return Err(CoreError::io(format!("stat {}", p.display()), e)),
        }
    }
    Ok(format!("statsig-{}", &h.finish_hex()[..64]))
}

fn walk(h: &mut SmallSha512, dir: &Path, rel: &[u8]) -> Result<()> {
    let ctx = || format!("read directory {}", dir.display());
    let mut names: Vec<OsString> = fs::read_dir(dir)
        .map_err(|e| CoreError::io(ctx(), e))?
        .map(|e| e.map(|e| e.file_name()))
        .collect::<std::io::Result<_>>()
        .map_err(|e| CoreError::io(ctx(), e))?;
    names.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
    for n in names {
        let p = dir.join(&n);
        let md = fs::symlink_metadata(&p).map_err(|e| CoreError::io(format!("stat {}", p.display()), e))?;
        let mut child = rel.to_vec();
        child.push(b'/');
        child.extend_from_slice(n.as_bytes());
        record(h, &child, &md);
        if md.is_dir() {
            walk(h, &p, &child)?;
        }
    }
    Ok(())
}

fn record(h: &mut SmallSha512, rel: &[u8], md: &fs::Metadata) {
    h.update(&(rel.len() as u64).to_le_bytes());
    h.update(rel);
    for v in [
        md.ino(),
        md.mode() as u64,
        md.uid() as u64,
        md.gid() as u64,
        md.size(),
        md.mtime() as u64,
        md.mtime_nsec() as u64,
        md.ctime() as u64,
        md.ctime_nsec() as u64,
    ] {
        h.update(&v.to_le_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn tree() -> tempfile::TempDir {
        let t = tempfile::tempdir().unwrap();
        fs::write(t.path().join("manifest"), b"{}").unwrap();
        fs::create_dir_all(t.path().join("rootfs/bin")).unwrap();
        fs::write(t.path().join("rootfs/bin/init"), b"binary").unwrap();
        std::os::unix::fs::symlink("init", t.path().join("rootfs/bin/sh")).unwrap();
        t
    }

    #[test]
    fn stable_while_nothing_changes_and_ignores_store_files() {
        let t = tree();
        let a = tree_stat_signature(t.path()).unwrap();
        fs::write(t.path().join("hash"), b"sha512-x").unwrap();
        fs::write(t.path().join("stat"), b"statsig-x").unwrap();
        let _ = fs::read(t.path().join("rootfs/bin/init")).unwrap();
        assert_eq!(a, tree_stat_signature(t.path()).unwrap());
        assert!(a.starts_with("statsig-") && a.len() == 8 + 64);
    }

    #[test]
    fn any_change_to_the_tree_moves_it() {
        type Change = fn(&Path);
        let changes: [(&str, Change); 7] = [
            ("rewrite same size", |d| fs::write(d.join("rootfs/bin/init"), b"BINARY").unwrap()),
            ("chmod", |d| fs::set_permissions(d.join("rootfs/bin/init"), fs::Permissions::from_mode(0o4755)).unwrap()),
            ("new file", |d| fs::write(d.join("rootfs/bin/extra"), b"").unwrap()),
            ("remove", |d| fs::remove_file(d.join("rootfs/bin/sh")).unwrap()),
            ("rename", |d| fs::rename(d.join("rootfs/bin/init"), d.join("rootfs/bin/init2")).unwrap()),
            ("manifest", |d| fs::write(d.join("manifest"), b"{ }").unwrap()),
            ("replace by a copy", |d| {
                fs::copy(d.join("rootfs/bin/init"), d.join("rootfs/bin/tmp")).unwrap();
                fs::rename(d.join("rootfs/bin/tmp"), d.join("rootfs/bin/init")).unwrap();
            }),
        ];
        for (what, change) in changes {
            let t = tree();
            let before = tree_stat_signature(t.path()).unwrap();
            // ctime has nanoseconds, but a coarse clock could still tick late: make sure it moves
            std::thread::sleep(std::time::Duration::from_millis(5));
            change(t.path());
            assert_ne!(before, tree_stat_signature(t.path()).unwrap(), "{what}");
        }
    }

    #[test]
    fn a_missing_rootfs_is_not_an_error() {
        let t = tempfile::tempdir().unwrap();
        assert!(tree_stat_signature(t.path()).unwrap().starts_with("statsig-"));
    }
}
