//! The render's file writer thread (file_writer.rs): regular files created by the render thread
//! get their data, metadata and close there. These cases are where the split could go wrong:
//! more files in flight than the bound, a file replaced or hardlinked while its data is queued,
//! metadata order, and an error the writer meets.

mod common;

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::process::Command;

use common::*;
use rkt_core::treehash::tree_hash;
use rkt_core::render_tree_hashed;

fn open_fds() -> usize {
    fs::read_dir("/proc/self/fd").unwrap().count()
}

#[test]
fn more_files_in_one_chunk_than_may_be_in_flight() {
    let d = tempfile::tempdir().unwrap();
    let mut t = Tar::aci();
    t.dir("rootfs/many");
    // Empty and one-byte files: ~1,500 entries per 1 MiB chunk, above the writer's bound of 512.
    for i in 0..6000 {
        let data = if i % 2 == 0 { String::new() } else { format!("{}", i % 10) };
        t.file(&format!("rootfs/many/f{i}"), data.as_bytes());
    }
    let img = blob(d.path(), "a", &t.bytes(), 0, &[]);
    let dest = d.path().join("tree");
    let before = open_fds();
    let (stats, hash) = render_tree_hashed(&[img], &dest).unwrap();
    assert_eq!(open_fds(), before, "every file the writer was handed is closed");
    assert_eq!(stats.files, 6000 + 3);
    for i in (0..6000).step_by(7) {
        let want = if i % 2 == 0 { String::new() } else { format!("{}", i % 10) };
        let p = dest.join(format!("rootfs/many/f{i}"));
        assert_eq!(read(&p), want, "{}", p.display());
        assert_eq!(fs::metadata(&p).unwrap().mtime(), MTIME as i64);
    }
    assert_eq!(hash, tree_hash(&dest).unwrap(), "records made ahead of the writer match the files");
}

#[test]
fn a_file_replaced_or_hardlinked_while_its_data_is_queued() {
    let d = tempfile::tempdir().unwrap();
    let mut t = Tar::aci();
    t.file("rootfs/a", b"one").hardlink("rootfs/b", "rootfs/a").file("rootfs/a", b"two");
    t.file("rootfs/c", b"three").hardlink("rootfs/d", "rootfs/c");
    let img = blob(d.path(), "a", &t.bytes(), 0, &[]);
    let dest = d.path().join("tree");
    let (_, hash) = render_tree_hashed(&[img], &dest).unwrap();
    let r = dest.join("rootfs");
    // As GNU tar: the later entry replaces the name; the link keeps the first file.
    assert_eq!(read(&r.join("a")), "two");
    assert_eq!(read(&r.join("b")), "one");
    assert_eq!(read(&r.join("d")), "three");
    assert_eq!(fs::metadata(r.join("c")).unwrap().ino(), fs::metadata(r.join("d")).unwrap().ino());
    assert_eq!(hash, tree_hash(&dest).unwrap());
}

#[test]
fn owner_then_special_bits_then_times() {
    assert!(rustix::process::geteuid().is_root(), "render tests run as root (CI runs them as root)");
    let d = tempfile::tempdir().unwrap();
    let mut t = Tar::aci();
    let h = |name: &'static [u8], mode, uid, gid| H { name, mode, uid, gid, size: 4, mtime: MTIME + 5, ..H::default() };
    t.raw(&h(b"rootfs/suid", 0o4755, 1000, 1000), b"data");
    t.raw(&h(b"rootfs/sgid", 0o2711, 0, 50), b"data");
    t.raw(&h(b"rootfs/plain", 0o640, 7, 8), b"data");
    let img = blob(d.path(), "a", &t.bytes(), 0, &[]);
    let dest = d.path().join("tree");
    render_tree_hashed(&[img], &dest).unwrap();
    for (name, mode, uid, gid) in [("suid", 0o4755, 1000, 1000), ("sgid", 0o2711, 0, 50), ("plain", 0o640, 7, 8)] {
        let p = dest.join("rootfs").join(name);
        let m = fs::metadata(&p).unwrap();
        // chown clears setuid: a chmod before it would lose the bit.
        assert_eq!((mode_of(&p), m.uid(), m.gid()), (mode, uid, gid), "{name}");
        assert_eq!(m.mtime(), (MTIME + 5) as i64, "{name}: times come last");
        assert_eq!(fs::read(&p).unwrap(), b"data");
    }
}

/// A filesystem too small for the image: the writer's ENOSPC fails the render with the file's
/// name, and every fd it held is closed.
#[test]
fn a_write_error_fails_the_render_naming_the_file() {
    assert!(rustix::process::geteuid().is_root(), "mount tests run as root (CI runs them as root)");
    let d = tempfile::tempdir().unwrap();
    let small = d.path().join("small");
    fs::create_dir(&small).unwrap();
    let ok = Command::new("mount").args(["-t", "tmpfs", "-o", "size=256k", "tmpfs"]).arg(&small).status().unwrap();
    assert!(ok.success());
    struct Unmount<'a>(&'a Path);
    impl Drop for Unmount<'_> {
        fn drop(&mut self) {
            let _ = Command::new("umount").arg(self.0).status();
        }
    }
    let _guard = Unmount(&small);
    let mut t = Tar::aci();
    for i in 0..50 {
        t.file(&format!("rootfs/small{i}"), b"x");
    }
    t.file("rootfs/big", &vec![9u8; 1 << 20]);
    for i in 0..50 {
        t.file(&format!("rootfs/after{i}"), b"y");
    }
    let img = blob(d.path(), "a", &t.bytes(), 0, &[]);
    let before = open_fds();
    let (c, msg) = code(render_tree_hashed(&[img], &small.join("tree")));
    assert_eq!(open_fds(), before);
    assert_eq!(c, "EIO", "{msg}");
    assert!(msg.contains("write \"rootfs/big\""), "{msg}");
    assert!(msg.contains("No space left on device"), "{msg}");
}
