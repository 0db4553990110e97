//! tree_hash and copy_tree.

mod common;

use std::fs;
use std::os::unix::fs::{symlink, MetadataExt, PermissionsExt};
use std::path::Path;

use common::*;
use rkt_core::{copy_tree, render_tree, tree_hash};

fn rendered(dir: &Path) -> std::path::PathBuf {
    let mut t = Tar::aci();
    t.dir("rootfs/etc")
        .file("rootfs/etc/passwd", b"root:x:0:0::/root:/bin/sh\n");
    t.file_owned("rootfs/etc/shadow", b"root:*:1::::::\n", 0o640, 0, 42);
    t.symlink("rootfs/etc/mtab", "/proc/mounts")
        .hardlink("rootfs/etc/pw2", "rootfs/etc/passwd");
    t.file_owned("rootfs/bin", b"\x7fELF", 0o4755, 0, 0);
    t.node("rootfs/fifo", b'6', (0, 0));
    let img = blob(dir, "img", &t.bytes(), 0, &[]);
    let dest = dir.join("tree");
    render_tree(&[img], &dest).unwrap();
    dest
}

#[test]
fn tree_hash_is_stable_and_ignores_store_files() {
    let d = tempfile::tempdir().unwrap();
    let t = rendered(d.path());
    let h1 = tree_hash(&t).unwrap();
    assert!(h1.starts_with("sha512-") && h1.len() == 71, "{h1}");
    assert_eq!(tree_hash(&t).unwrap(), h1);
    // Store bookkeeping files at the top level do not count.
    fs::write(t.join("hash"), h1.as_bytes()).unwrap();
    fs::write(t.join("rendered"), b"").unwrap();
    fs::write(t.join("image"), b"sha512-x").unwrap();
    fs::write(t.join("manifest"), b"{}").unwrap();
    assert_eq!(tree_hash(&t).unwrap(), h1);
    // Times do not count either.
    let f = fs::File::options()
        .write(true)
        .open(t.join("rootfs/etc/passwd"))
        .unwrap();
    f.set_modified(std::time::SystemTime::now()).unwrap();
    assert_eq!(tree_hash(&t).unwrap(), h1);
    // An identical render elsewhere hashes the same.
    let d2 = tempfile::tempdir().unwrap();
    assert_eq!(tree_hash(&rendered(d2.path())).unwrap(), h1);
}

#[test]
fn tree_hash_changes_with_content_mode_owner_name_and_deletion() {
    let d = tempfile::tempdir().unwrap();
    let t = rendered(d.path());
    let base = tree_hash(&t).unwrap();
    let mut seen = vec![base.clone()];
    let mut check = |what: &str| {
        let h = tree_hash(&t).unwrap();
        assert!(!seen.contains(&h), "{what} did not change the hash");
        seen.push(h);
    };
    fs::write(t.join("rootfs/etc/shadow"), b"root:!:1::::::\n").unwrap();
    check("content");
    fs::set_permissions(
        t.join("rootfs/etc/shadow"),
        fs::Permissions::from_mode(0o600),
    )
    .unwrap();
    check("mode");
    std::os::unix::fs::lchown(t.join("rootfs/etc/shadow"), Some(5), None).unwrap();
    check("owner");
    fs::rename(t.join("rootfs/etc/shadow"), t.join("rootfs/etc/shadow-")).unwrap();
    check("name");
    fs::remove_file(t.join("rootfs/etc/mtab")).unwrap();
    check("deleting a symlink");
    symlink("/elsewhere", t.join("rootfs/etc/mtab")).unwrap();
    check("symlink target");
    fs::remove_file(t.join("rootfs/fifo")).unwrap();
    check("deleting a fifo");
    fs::remove_file(t.join("rootfs/etc/pw2")).unwrap();
    check("deleting a hardlink");
}

#[test]
fn copy_tree_preserves_everything() {
    let d = tempfile::tempdir().unwrap();
    let t = rendered(d.path());
    let dst = d.path().join("copy");
    copy_tree(&t, &dst).unwrap();
    assert_eq!(tree_hash(&dst).unwrap(), tree_hash(&t).unwrap());
    let m = |p: &Path| fs::symlink_metadata(p).unwrap();
    let (a, b) = (m(&t.join("rootfs/bin")), m(&dst.join("rootfs/bin")));
    assert_eq!(b.mode() & 0o7777, 0o4755);
    assert_eq!((b.mtime(), b.mtime_nsec()), (a.mtime(), a.mtime_nsec()));
    assert_eq!(m(&dst.join("rootfs/etc/shadow")).gid(), 42);
    assert_eq!(
        fs::read_link(dst.join("rootfs/etc/mtab")).unwrap(),
        Path::new("/proc/mounts")
    );
    let (p1, p2) = (
        m(&dst.join("rootfs/etc/passwd")),
        m(&dst.join("rootfs/etc/pw2")),
    );
    assert_eq!(p1.ino(), p2.ino());
    assert_eq!(m(&dst.join("rootfs/etc")).mtime(), MTIME as i64);
    assert_eq!(
        fs::read(dst.join("manifest")).unwrap(),
        fs::read(t.join("manifest")).unwrap()
    );
}

#[test]
fn copy_tree_overwrites_and_never_follows_destination_symlinks() {
    let d = tempfile::tempdir().unwrap();
    let t = rendered(d.path());
    let outside = d.path().join("outside");
    fs::create_dir(&outside).unwrap();
    let dst = d.path().join("copy");
    fs::create_dir_all(dst.join("rootfs")).unwrap();
    // A symlink where the tree has a directory, and one where it has a file.
    symlink(&outside, dst.join("rootfs/etc")).unwrap();
    symlink(outside.join("bin"), dst.join("rootfs/bin")).unwrap();
    fs::write(dst.join("manifest"), b"old").unwrap();
    copy_tree(&t, &dst).unwrap();
    assert!(dir_is_empty(&outside));
    assert!(fs::symlink_metadata(dst.join("rootfs/etc"))
        .unwrap()
        .is_dir());
    assert_eq!(fs::read(dst.join("rootfs/bin")).unwrap(), b"\x7fELF");
    assert_ne!(fs::read(dst.join("manifest")).unwrap(), b"old");
    assert_eq!(tree_hash(&dst).unwrap(), tree_hash(&t).unwrap());
}
