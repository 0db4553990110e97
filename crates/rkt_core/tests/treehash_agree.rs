//! The hash a render computes as it writes must equal the hash of a later
//! walk of the same tree (tree_hash, used by `image verify`): every case
//! where the renderer replaces or re-applies an entry is here.

mod common;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use common::*;
use rkt_core::{render_tree_hashed, treehash::tree_hash, RenderImage};

fn agree(images: &[RenderImage], dest: &Path) -> String {
    let (_, h) = render_tree_hashed(images, dest).unwrap();
    assert!(h.starts_with("sha512-") && h.len() == 71, "{h}");
    assert_eq!(h, tree_hash(dest).unwrap(), "render and walk disagree");
    h
}

fn pax_file(t: &mut Tar, name: &str, recs: &[(&str, &[u8])], data: &[u8]) {
    t.pax(
        recs,
        &H {
            name: name.as_bytes(),
            size: data.len() as u64,
            ..H::default()
        },
        data,
    );
}

#[test]
fn every_kind_of_entry() {
    let d = tempfile::tempdir().unwrap();
    let mut t = Tar::aci();
    t.dir("rootfs/etc")
        .file("rootfs/etc/passwd", b"root:x:0:0::/root:/bin/sh\n")
        .file("rootfs/etc/empty", b"");
    t.file_owned("rootfs/etc/shadow", b"root:*:1::::::\n", 0o640, 0, 42);
    t.file_owned("rootfs/bin", b"\x7fELF", 0o4755, 0, 0);
    t.symlink("rootfs/etc/mtab", "/proc/mounts")
        .hardlink("rootfs/etc/pw2", "rootfs/etc/passwd")
        .hardlink("rootfs/etc/mtab2", "rootfs/etc/mtab");
    t.node("rootfs/fifo", b'6', (0, 0));
    t.node("rootfs/dev-null", b'3', (1, 3));
    // Data across the renderer's 1 MiB chunks, and a file ending exactly on one.
    let big: Vec<u8> = (0..3_000_000u32).map(|i| (i * 7 % 251) as u8).collect();
    t.file("rootfs/big", &big);
    pax_file(&mut t, "rootfs/x", &[("SCHILY.xattr.user.test", b"v1")], b"with xattr");
    agree(&[blob(d.path(), "img", &t.bytes(), 0, &[])], &d.path().join("tree"));
}

#[test]
fn duplicates_replace_earlier_entries() {
    let d = tempfile::tempdir().unwrap();
    let mut t = Tar::aci();
    // Parents made implicitly, then given their own mode by a later entry.
    t.file("rootfs/a/b/f", b"1");
    t.dir_mode("rootfs/a", 0o700).dir_mode("rootfs/a/b", 0o750);
    // A file replaced by a file, a file by a symlink, a symlink by a directory.
    t.file("rootfs/dup", b"first").file("rootfs/dup", b"second, longer");
    t.file("rootfs/s", b"x").symlink("rootfs/s", "dup");
    t.symlink("rootfs/d", "x").dir("rootfs/d");
    // The target of a hardlink replaced afterwards: the link keeps the old inode.
    t.file("rootfs/t", b"old").hardlink("rootfs/l", "rootfs/t").file("rootfs/t", b"new");
    t.dir_mode("rootfs", 0o711);
    let h = agree(&[blob(d.path(), "img", &t.bytes(), 0, &[])], &d.path().join("tree"));
    let m = fs::metadata(d.path().join("tree/rootfs/a")).unwrap();
    assert_eq!(m.permissions().mode() & 0o777, 0o700);
    assert_eq!(fs::read(d.path().join("tree/rootfs/l")).unwrap(), b"old");

    // The same tree written without the replaced entries hashes the same.
    let mut u = Tar::aci();
    u.dir_mode("rootfs/a", 0o700).dir_mode("rootfs/a/b", 0o750).file("rootfs/a/b/f", b"1");
    u.file("rootfs/dup", b"second, longer").symlink("rootfs/s", "dup").dir("rootfs/d");
    u.file("rootfs/l", b"old").file("rootfs/t", b"new").dir_mode("rootfs", 0o711);
    let d2 = tempfile::tempdir().unwrap();
    assert_eq!(agree(&[blob(d2.path(), "img", &u.bytes(), 0, &[])], &d2.path().join("tree")), h);
}

#[test]
fn dependencies_whitelists_and_links_into_upper_images() {
    let d = tempfile::tempdir().unwrap();
    let mut top = Tar::aci();
    top.file("rootfs/app/bin", b"top").file("rootfs/shared", b"from top");
    let mut dep = Tar::aci();
    dep.dir_mode("rootfs", 0o700)
        .dir_mode("rootfs/app", 0o711)
        .file("rootfs/app/bin", b"dep (shadowed)")
        .file("rootfs/lib", b"dep lib")
        .file("rootfs/junk", b"not whitelisted")
        // Links to a name the top image provided: the top image's file.
        .hardlink("rootfs/shared2", "rootfs/shared");
    let mut deeper = Tar::aci();
    deeper.file("rootfs/lib", b"deeper (shadowed)").file("rootfs/deep", b"deep");
    let list = [
        blob(d.path(), "top", &top.bytes(), 0, &[]),
        blob(d.path(), "dep", &dep.bytes(), 1, &["/lib", "/app/bin", "/shared2", "/deep"]),
        blob(d.path(), "deeper", &deeper.bytes(), 2, &[]),
    ];
    agree(&list, &d.path().join("tree"));
    assert!(!d.path().join("tree/rootfs/junk").exists());
    assert_eq!(fs::read(d.path().join("tree/rootfs/shared2")).unwrap(), b"from top");
}

#[test]
fn verified_blobs_are_not_rehashed_and_contents_count() {
    let d = tempfile::tempdir().unwrap();
    let mut t = Tar::aci();
    t.file("rootfs/f", b"one");
    let mut img = blob(d.path(), "img", &t.bytes(), 0, &[]);
    // A key that is wrong for the blob: only a verified image gets past it.
    img.key = format!("sha512-{}", "0".repeat(64));
    assert!(render_tree_hashed(std::slice::from_ref(&img), &d.path().join("t1")).is_err());
    img.verified = true;
    let h1 = agree(std::slice::from_ref(&img), &d.path().join("t2"));
    // One byte of content more or less is another tree.
    let mut u = Tar::aci();
    u.file("rootfs/f", b"onf");
    let h2 = agree(&[blob(d.path(), "img2", &u.bytes(), 0, &[])], &d.path().join("t3"));
    assert_ne!(h1, h2);
}

#[test]
fn setgid_directories_pass_their_group_on() {
    let d = tempfile::tempdir().unwrap();
    let mut t = Tar::aci();
    t.raw(
        &H {
            name: b"rootfs/shared",
            flag: b'5',
            mode: 0o2775,
            gid: 42,
            ..H::default()
        },
        b"",
    );
    // An implicit directory and a file inside the setgid one.
    t.file("rootfs/shared/sub/f", b"x").symlink("rootfs/shared/l", "f");
    agree(&[blob(d.path(), "img", &t.bytes(), 0, &[])], &d.path().join("tree"));
}
