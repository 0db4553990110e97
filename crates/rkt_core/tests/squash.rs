//! squash_layers: Docker/OCI layers (bottom first) squashed into one ACI with
//! whiteouts, opaque directories, shadowing, deferred hardlinks, and refusal of
//! layers that try to leave their root. Results are checked by importing the
//! ACI (the store's own validation) and extracting it.

mod common;

use std::fs;
use std::path::{Path, PathBuf};

use common::*;
use rkt_core::{extract_aci, import_aci, squash_layers, LayerInput};

fn layers(dir: &Path, tars: &[Vec<u8>]) -> Vec<LayerInput> {
    tars.iter()
        .enumerate()
        .map(|(i, t)| LayerInput { path: write(dir, &format!("layer{i}"), t), name: format!("sha256:layer{i}") })
        .collect()
}

struct Out {
    _d: tempfile::TempDir,
    rootfs: PathBuf,
}

fn squash_and_extract(tars: &[Vec<u8>]) -> Out {
    let d = tempfile::tempdir().unwrap();
    let tmp = d.path().join("tmp");
    fs::create_dir(&tmp).unwrap();
    let m = manifest("example.com/squashed");
    let s = squash_layers(&layers(d.path(), tars), &m, &tmp).unwrap();
    // The key is the SHA-512 of the tar, and the store's import accepts it.
    let bytes = fs::read(&s.tmp_path).unwrap();
    assert_eq!(s.key, key_of(&bytes));
    assert_eq!(s.size, bytes.len() as u64);
    assert_eq!(s.blob_digest, blake3::hash(&bytes).to_hex().as_str());
    let imp = import_aci(&s.tmp_path, &tmp, None).unwrap();
    assert_eq!(imp.key, s.key);
    assert_eq!(imp.blob_digest, s.blob_digest, "the same tar gives the same digest either way");
    assert_eq!(imp.manifest, m);
    let dest = d.path().join("out");
    extract_aci(&s.tmp_path, &dest, false).unwrap();
    Out { rootfs: dest.join("rootfs"), _d: d }
}

fn err_of(tars: &[Vec<u8>]) -> (&'static str, String) {
    let d = tempfile::tempdir().unwrap();
    let tmp = d.path().join("tmp");
    fs::create_dir(&tmp).unwrap();
    let r = squash_layers(&layers(d.path(), tars), &manifest("example.com/x"), &tmp);
    assert!(dir_is_empty(&tmp), "temp file left behind");
    code(r)
}

#[test]
fn whiteouts_and_opaque_dirs_hide_lower_layers() {
    let mut base = Tar::new();
    base.dir("etc").file("etc/a", b"a").file("etc/b", b"old").dir("d").file("d/x", b"x").file("d/y", b"y");
    base.dir("gone").file("gone/deep", b"z");
    let mut top = Tar::new();
    top.file("etc/.wh.a", b"").file("etc/b", b"new").dir("d").file("d/.wh..wh..opq", b"").file("d/z", b"z");
    top.file(".wh.gone", b"");
    let o = squash_and_extract(&[gzip(&base.bytes()), top.bytes()]);
    let r = &o.rootfs;
    assert!(!r.join("etc/a").exists());
    assert_eq!(read(&r.join("etc/b")), "new");
    assert!(!r.join("d/x").exists() && !r.join("d/y").exists());
    assert_eq!(read(&r.join("d/z")), "z");
    assert!(!r.join("gone").exists());
    // Whiteout markers themselves never reach the image.
    assert!(!r.join("etc/.wh.a").exists() && !r.join("d/.wh..wh..opq").exists());
}

#[test]
fn whiteout_applies_only_below_its_own_layer() {
    let mut l0 = Tar::new();
    l0.file("f", b"0");
    let mut l1 = Tar::new();
    l1.file(".wh.f", b"");
    let mut l2 = Tar::new();
    l2.file("f", b"2");
    let o = squash_and_extract(&[l0.bytes(), l1.bytes(), l2.bytes()]);
    assert_eq!(read(&o.rootfs.join("f")), "2");
}

#[test]
fn upper_symlink_shadows_a_lower_directory() {
    let mut base = Tar::new();
    base.dir("lib").file("lib/x", b"x").dir("usr").dir("usr/lib").file("usr/lib/y", b"y");
    let mut top = Tar::new();
    top.symlink("lib", "usr/lib");
    let o = squash_and_extract(&[base.bytes(), top.bytes()]);
    assert_eq!(fs::read_link(o.rootfs.join("lib")).unwrap(), Path::new("usr/lib"));
    assert_eq!(read(&o.rootfs.join("usr/lib/y")), "y");
}

#[test]
fn absolute_symlinks_are_kept_and_hardlinks_to_lower_layers_work() {
    let mut base = Tar::new();
    base.dir("bin").file("bin/busybox", b"#!bb");
    let mut top = Tar::new();
    top.symlink("bin/sh", "/bin/busybox").hardlink("bin/ls", "/bin/busybox");
    let o = squash_and_extract(&[bzip2(&base.bytes()), xz(&top.bytes())]);
    assert_eq!(fs::read_link(o.rootfs.join("bin/sh")).unwrap(), Path::new("/bin/busybox"));
    assert_eq!(read(&o.rootfs.join("bin/ls")), "#!bb");
}

#[test]
fn long_names_survive() {
    let long = format!("{}/file", "dir".repeat(50));
    let mut l = Tar::new();
    l.gnu_long(&long, b"data");
    let o = squash_and_extract(&[l.bytes()]);
    assert_eq!(read(&o.rootfs.join(&long)), "data");
}

#[test]
fn names_climbing_out_are_refused() {
    let mut l = Tar::new();
    l.file("../evil", b"x");
    let (c, m) = err_of(&[l.bytes()]);
    assert_eq!(c, "EUNSAFE_PATH", "{m}");
    assert!(m.contains("escapes the image root"), "{m}");
}

#[test]
fn hardlinks_out_of_the_root_are_refused() {
    let mut l = Tar::new();
    l.hardlink("passwd", "../../etc/passwd");
    let (c, m) = err_of(&[l.bytes()]);
    assert_eq!(c, "EUNSAFE_PATH", "{m}");
}

#[test]
fn writing_through_a_symlink_of_the_same_layer_is_refused() {
    let mut l = Tar::new();
    l.symlink("x", "/").file("x/etc/passwd", b"root::0:0::/:/bin/sh");
    let (c, m) = err_of(&[l.bytes()]);
    assert_eq!(c, "EUNSAFE_PATH", "{m}");
    assert!(m.contains("under the symlink"), "{m}");
}

#[test]
fn truncated_and_foreign_layers_fail() {
    let mut l = Tar::new();
    l.file("big", &vec![7u8; 100_000]);
    let gz = gzip(&l.bytes());
    let (c, m) = err_of(&[gz[..gz.len() / 2].to_vec()]);
    assert_eq!(c, "EIMAGE_FORMAT", "{m}");
    assert!(m.contains("sha256:layer0") && m.contains("truncated"), "{m}");
    let (c, m) = err_of(&[b"just some text\n".to_vec()]);
    assert_eq!(c, "EIMAGE_FORMAT", "{m}");
}

#[test]
fn hardlink_to_nothing_fails() {
    let mut l = Tar::new();
    l.hardlink("a", "missing");
    let (c, m) = err_of(&[l.bytes()]);
    assert_eq!(c, "EIMAGE_FORMAT", "{m}");
    assert!(m.contains("no layer provides"), "{m}");
}

#[test]
fn directories_implied_by_an_upper_layer_keep_lower_metadata_and_shadow_lower_files() {
    let mut base = Tar::new();
    base.dir_mode("etc", 0o750).file("etc/a", b"a").file("x", b"lower file where a dir will be");
    let mut top = Tar::new();
    top.file("etc/b", b"b").file("x/inner", b"inner");
    let o = squash_and_extract(&[base.bytes(), top.bytes()]);
    assert_eq!(mode_of(&o.rootfs.join("etc")), 0o750, "the base layer's directory entry still applies");
    assert_eq!(read(&o.rootfs.join("etc/a")), "a");
    assert_eq!(read(&o.rootfs.join("etc/b")), "b");
    assert_eq!(read(&o.rootfs.join("x/inner")), "inner");
}
