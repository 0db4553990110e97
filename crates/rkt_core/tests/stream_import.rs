//! Imports fed chunk by chunk (StreamImport) and imports that render the
//! tree in the same pass: the same blob, key and manifest as a file import,
//! a tree equal to a render of the stored blob, and nothing left on failure.

mod common;

use std::fs;
use std::path::Path;

use common::*;
use rkt_core::treehash::tree_hash;
use rkt_core::blob::hash_blob;
use rkt_core::{import_aci, import_aci_with, render_tree_hashed, CoreError, ImportedAci, SourceCopy, StreamImport};

fn image() -> Vec<u8> {
    let mut t = Tar::aci();
    t.dir("rootfs/etc").file("rootfs/etc/hostname", b"box\n");
    let big: Vec<u8> = (0..2_500_000u32).map(|i| (i % 253) as u8).collect();
    t.file("rootfs/big", &big).file("rootfs/empty", b"");
    t.file_owned("rootfs/bin", b"\x7fELF", 0o4755, 0, 0);
    t.symlink("rootfs/link", "/etc/hostname")
        .hardlink("rootfs/hard", "rootfs/etc/hostname");
    t.file("rootfs/late/f", b"parent made implicitly").dir_mode("rootfs/late", 0o700);
    t.bytes()
}

/// Feeds `data` in chunks of varying sizes, waiting for room when told to.
fn stream(data: &[u8], tmp: &Path, render: bool) -> Result<ImportedAci, CoreError> {
    stream_from(data, 0, tmp, render, None)
}

/// `stream` of `data[from..]` with a source copy (which the caller filled up to `have`).
fn stream_from(data: &[u8], from: usize, tmp: &Path, render: bool, copy: Option<SourceCopy>) -> Result<ImportedAci, CoreError> {
    let s = StreamImport::start(tmp, render, copy).unwrap();
    let data = &data[from..];
    let sizes = [1usize, 511, 4096, 65536, 7, 300_000];
    let (mut off, mut i) = (0, 0);
    while off < data.len() {
        let n = sizes[i % sizes.len()].min(data.len() - off);
        if !s.push(data[off..off + n].to_vec()) {
            s.waiter().wait();
        }
        off += n;
        i += 1;
    }
    s.finish()
}

fn tmpdir(d: &Path, name: &str) -> std::path::PathBuf {
    let p = d.join(name);
    fs::create_dir(&p).unwrap();
    p
}

#[test]
fn streamed_import_equals_file_import_for_every_compression() {
    let tar = image();
    for data in [tar.clone(), gzip(&tar), bzip2(&tar), xz(&tar)] {
        let d = tempfile::tempdir().unwrap();
        let src = write(d.path(), "img.aci", &data);
        let a = import_aci(&src, &tmpdir(d.path(), "a"), None).unwrap();
        let b = stream(&data, &tmpdir(d.path(), "b"), true).unwrap();
        assert_eq!((&a.key, a.size, &a.manifest), (&b.key, b.size, &b.manifest));
        assert_eq!(fs::read(&a.tmp_path).unwrap(), fs::read(&b.tmp_path).unwrap());
        assert_eq!(a.key, key_of(&tar));

        // The tree rendered on the way equals a render of the stored blob.
        let t = b.tree.expect("a tree");
        assert_eq!(t.hash, tree_hash(&t.dir).unwrap());
        let mut img = blob(d.path(), "blob", &tar, 0, &[]);
        img.blob_path = a.tmp_path.clone();
        let (stats, h) = render_tree_hashed(&[img], &d.path().join("rendered")).unwrap();
        assert_eq!((t.hash.as_str(), t.stats), (h.as_str(), stats));
        assert_eq!(fs::read(t.dir.join("manifest")).unwrap(), a.manifest);
    }
}

#[test]
fn file_import_can_render_in_the_same_pass() {
    let d = tempfile::tempdir().unwrap();
    let src = write(d.path(), "img.aci", &gzip(&image()));
    let tmp = tmpdir(d.path(), "tmp");
    let a = import_aci_with(&src, &tmp, None, true).unwrap();
    let t = a.tree.expect("a tree");
    assert!(t.dir.starts_with(&tmp));
    assert_eq!(t.hash, tree_hash(&t.dir).unwrap());
    assert_eq!(fs::read(t.dir.join("rootfs/etc/hostname")).unwrap(), b"box\n");
    let plain = import_aci(&src, &tmpdir(d.path(), "tmp2"), None).unwrap();
    assert!(plain.tree.is_none() && plain.tree_error.is_none());
}

#[test]
fn bad_input_mid_stream_leaves_nothing() {
    let tar = image();
    let mut gz = gzip(&tar);
    let mid = gz.len() / 2;
    for b in &mut gz[mid..mid + 64] {
        *b ^= 0x5a;
    }
    let mut truncated_tar = tar.clone();
    truncated_tar.truncate(tar.len() / 2);
    for (data, want) in [(gz, "corrupt gzip stream"), (truncated_tar, "truncated tar archive")] {
        let d = tempfile::tempdir().unwrap();
        let tmp = tmpdir(d.path(), "tmp");
        let e = stream(&data, &tmp, true).unwrap_err();
        assert_eq!(e.code(), "EIMAGE_FORMAT");
        assert!(e.to_string().starts_with(want), "{e}");
        assert!(dir_is_empty(&tmp), "temp file or tree left behind");
    }
}

#[test]
fn abort_mid_stream_and_dropping_leave_nothing() {
    let data = gzip(&image());
    let d = tempfile::tempdir().unwrap();
    let tmp = tmpdir(d.path(), "tmp");
    let s = StreamImport::start(&tmp, true, None).unwrap();
    s.push(data[..data.len() / 2].to_vec());
    s.abort();
    assert!(dir_is_empty(&tmp));
    // All bytes in, never finished: dropping it cleans up as well.
    let s = StreamImport::start(&tmp, true, None).unwrap();
    s.push(data.clone());
    drop(s);
    assert!(dir_is_empty(&tmp));
    // Not an image at all.
    let e = stream(b"hello, world\n", &tmp, true).unwrap_err();
    assert_eq!(e.code(), "EIMAGE_FORMAT");
    assert!(dir_is_empty(&tmp));
}

#[test]
fn a_render_error_stops_only_the_tree() {
    // The scanner accepts a hardlink to an earlier device node; the renderer
    // creates no device nodes, so it cannot make the link.
    let d = tempfile::tempdir().unwrap();
    let tmp = tmpdir(d.path(), "tmp");
    let mut t = Tar::aci();
    t.file("rootfs/f", b"x").node("rootfs/null", b'3', (1, 3)).hardlink("rootfs/h", "rootfs/null");
    let a = stream(&t.bytes(), &tmp, true).unwrap();
    assert!(a.tree.is_none());
    let why = a.tree_error.unwrap();
    assert!(why.contains("not extracted"), "{why}");
    fs::remove_file(&a.tmp_path).unwrap();
    assert!(dir_is_empty(&tmp), "the failed tree was left behind");
}

/// A download's partial file as the source copy: every byte lands in it once
/// (after the `have` already there), and for gzip it is the blob itself.
#[test]
fn a_source_copy_gets_every_byte_and_is_the_blob_for_gzip() {
    let tar = image();
    for data in [gzip(&tar), xz(&tar)] {
        for have in [0usize, 1, data.len() / 2, data.len()] {
            let d = tempfile::tempdir().unwrap();
            let tmp = tmpdir(d.path(), "tmp");
            let part = d.path().join("dl-partial");
            // What an earlier, interrupted attempt left, plus stale bytes a
            // restart must not keep.
            let mut old = data[..have].to_vec();
            old.extend_from_slice(b"stale tail");
            fs::write(&part, &old).unwrap();
            // The caller feeds the bytes it has first, then the rest.
            let copy = SourceCopy { path: part.clone(), have: have as u64 };
            let a = stream_from(&data, 0, &tmp, false, Some(copy)).unwrap();
            assert_eq!(fs::read(&part).unwrap(), data, "have={have}");
            assert_eq!(a.key, key_of(&tar));
            let is_gzip = data[0] == 0x1f;
            assert_eq!(a.blob_is_source, is_gzip);
            if is_gzip {
                assert_eq!(a.tmp_path, part);
                assert!(dir_is_empty(&tmp), "no second copy of a gzip source");
            } else {
                assert!(a.tmp_path.starts_with(&tmp));
                assert_eq!(fs::read(&a.tmp_path).unwrap(), tar);
            }
            assert_eq!(hash_blob(&a.tmp_path).unwrap(), a.hash_hex);
            let stored = fs::read(&a.tmp_path).unwrap();
            assert_eq!(a.blob_digest, blake3::hash(&stored).to_hex().as_str(), "have={have}: the digest covers the bytes already there too");
        }
    }
}

#[test]
fn an_aborted_stream_leaves_a_prefix_in_its_source_copy() {
    let data = gzip(&image());
    let d = tempfile::tempdir().unwrap();
    let tmp = tmpdir(d.path(), "tmp");
    let part = d.path().join("dl-partial");
    let s = StreamImport::start(&tmp, true, Some(SourceCopy { path: part.clone(), have: 0 })).unwrap();
    s.push(data[..data.len() / 2].to_vec());
    s.abort();
    assert!(dir_is_empty(&tmp), "no temp blob or tree");
    // What was written before the abort is a prefix to resume from.
    let kept = fs::read(&part).unwrap_or_default();
    assert!(data.starts_with(&kept), "the copy is a prefix of the source");
}
