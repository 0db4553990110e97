//! Modes must not depend on the process umask. Its own test binary, since the
//! umask is process-wide and other tests run in parallel threads.

mod common;

use std::fs;

use common::*;
use rkt_core::{copy_tree, render_tree};

#[test]
fn modes_ignore_the_umask() {
    rustix::process::umask(rustix::fs::Mode::from_raw_mode(0o077));
    let d = tempfile::tempdir().unwrap();
    let mut t = Tar::new();
    t.file("manifest", &manifest("x"));
    // No rootfs/usr entry: the implied parent must be 0755 too.
    t.dir("rootfs")
        .file_owned("rootfs/usr/bin/tool", b"x", 0o775, 0, 0);
    t.dir_mode("rootfs/pub", 0o777)
        .node("rootfs/pub/fifo", b'6', (0, 0));
    let img = blob(d.path(), "img", &t.bytes(), 0, &[]);
    let dest = d.path().join("t");
    render_tree(&[img], &dest).unwrap();
    let r = dest.join("rootfs");
    assert_eq!(mode_of(&r.join("usr")), 0o755);
    assert_eq!(mode_of(&r.join("usr/bin")), 0o755);
    assert_eq!(mode_of(&r.join("usr/bin/tool")), 0o775);
    assert_eq!(mode_of(&r.join("pub")), 0o777);
    assert_eq!(mode_of(&r.join("pub/fifo")), 0o666);
    assert_eq!(mode_of(&dest.join("manifest")), 0o644);
    let copy = d.path().join("copy");
    copy_tree(&dest, &copy).unwrap();
    assert_eq!(mode_of(&copy.join("rootfs/usr/bin/tool")), 0o775);
    assert_eq!(mode_of(&copy.join("rootfs/pub")), 0o777);
    let _ = fs::remove_dir_all(d.path());
}
