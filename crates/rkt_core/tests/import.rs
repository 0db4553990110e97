//! import_aci: detection, decompression, hashing, validation, cleanup.

mod common;

use std::fs;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

use common::*;
use rkt_core::blob::hash_blob;
use rkt_core::{commit_blob, detect, hash_file, import_aci, CoreError, FileType, ImportedAci};

/// Imports `data` from a file; on error also checks the temp dir was cleaned.
fn import(data: &[u8]) -> Result<ImportedAci, CoreError> {
    let d = tempfile::tempdir().unwrap();
    let tmp = d.path().join("tmp");
    fs::create_dir(&tmp).unwrap();
    let src = write(d.path(), "img.aci", data);
    let r = import_aci(&src, &tmp, None);
    match &r {
        Ok(a) => {
            assert!(a.tmp_path.starts_with(&tmp));
            // A gzip source is stored as it came; anything else as the tar.
            let stored = if detect(data) == FileType::Gzip { data.to_vec() } else { decompressed(data) };
            assert_eq!(fs::read(&a.tmp_path).unwrap(), stored);
            assert_eq!(a.blob_digest, blake3::hash(&stored).to_hex().as_str(), "digest of the blob as stored");
            assert_eq!(hash_blob(&a.tmp_path).unwrap(), a.hash_hex, "the blob reads back as the tar");
            fs::remove_file(&a.tmp_path).unwrap();
        }
        Err(_) => assert!(dir_is_empty(&tmp), "temp file left behind after error"),
    }
    r
}

fn decompressed(data: &[u8]) -> Vec<u8> {
    use std::io::Read;
    let mut out = Vec::new();
    match detect(data) {
        FileType::Gzip => {
            flate2::read::MultiGzDecoder::new(data)
                .read_to_end(&mut out)
                .unwrap();
        }
        FileType::Bzip2 => {
            bzip2::read::MultiBzDecoder::new(data)
                .read_to_end(&mut out)
                .unwrap();
        }
        FileType::Xz => {
            liblzma::read::XzDecoder::new_multi_decoder(data)
                .read_to_end(&mut out)
                .unwrap();
        }
        _ => out = data.to_vec(),
    }
    out
}

fn sample() -> Vec<u8> {
    let mut t = Tar::aci();
    t.dir("rootfs/etc").file("rootfs/etc/hostname", b"box\n");
    t.file("rootfs/big", &vec![7u8; 300_000]);
    t.symlink("rootfs/link", "/etc/hostname")
        .hardlink("rootfs/hard", "rootfs/etc/hostname");
    t.bytes()
}

#[test]
fn detect_by_magic() {
    assert_eq!(detect(&[0x1f, 0x8b, 8, 0]), FileType::Gzip);
    assert_eq!(detect(b"BZh91AY&SY"), FileType::Bzip2);
    assert_eq!(detect(&[0xfd, b'7', b'z', b'X', b'Z', 0, 0]), FileType::Xz);
    assert_eq!(detect(&Tar::aci().bytes()), FileType::Tar);
    assert_eq!(detect(b"hello world\n"), FileType::Text);
    assert_eq!(detect(&[0u8, 1, 2, 3, 200]), FileType::Unknown);
    // "ustar" must be at offset 257, a short buffer is not a tar.
    assert_eq!(detect(&[0u8; 200]), FileType::Unknown);
}

#[test]
fn all_compressions_give_the_same_key() {
    let tar = sample();
    let want = key_of(&tar);
    let cases = [
        (tar.clone(), FileType::Tar),
        (gzip(&tar), FileType::Gzip),
        (bzip2(&tar), FileType::Bzip2),
        (xz(&tar), FileType::Xz),
    ];
    for (data, ft) in cases {
        let a = import(&data).unwrap();
        assert_eq!(a.key, want, "{ft:?}");
        assert_eq!(a.hash_hex, sha512_hex(&tar));
        assert_eq!(a.key.len(), 71);
        assert_eq!(a.size, tar.len() as u64);
        assert_eq!(a.file_type, ft);
        assert_eq!(a.manifest, manifest("example.com/test"));
    }
}

#[test]
fn multi_member_gzip_is_one_stream() {
    let tar = sample();
    let (a, b) = tar.split_at(5000);
    let mut gz = gzip(a);
    gz.extend(gzip(b));
    let r = import(&gz).unwrap();
    assert_eq!(r.key, key_of(&tar));
}

#[test]
fn temp_file_is_named_for_recognition_and_commit_moves_it() {
    let d = tempfile::tempdir().unwrap();
    let src = write(d.path(), "a.aci", &gzip(&sample()));
    let a = import_aci(&src, d.path(), None).unwrap();
    let name = a
        .tmp_path
        .file_name()
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        name.starts_with(&format!("import-{}-", std::process::id())),
        "{name}"
    );
    let dest = d.path().join("blob/sha512/aa").join(&a.key);
    commit_blob(&a.tmp_path, &dest).unwrap();
    assert!(!a.tmp_path.exists());
    assert_eq!(hash_blob(&dest).unwrap(), a.hash_hex);
    assert_eq!(hash_file(&dest).unwrap(), sha512_hex(&fs::read(&src).unwrap()), "the gzip bytes as they came");
}

#[test]
fn a_decompressed_tar_that_starts_with_gzip_magic_is_refused() {
    // Stored as a tar it would read back as a gzip blob.
    let mut tar = vec![0x1f, 0x8b];
    tar.extend_from_slice(&sample()[2..]);
    for data in [xz(&tar), bzip2(&tar)] {
        let (code, msg) = code(import(&data));
        assert_eq!(code, "EIMAGE_FORMAT");
        assert!(msg.contains("gzip magic"), "{msg}");
    }
}

#[test]
fn progress_reports_source_bytes() {
    let d = tempfile::tempdir().unwrap();
    let data = gzip(&sample());
    let src = write(d.path(), "a.aci", &data);
    let last = AtomicU64::new(0);
    let cb = |n: u64| {
        assert!(n >= last.load(Ordering::Relaxed));
        last.store(n, Ordering::Relaxed);
    };
    let a = import_aci(&src, d.path(), Some(&cb)).unwrap();
    fs::remove_file(a.tmp_path).unwrap();
    assert_eq!(last.load(Ordering::Relaxed), data.len() as u64);
}

#[test]
fn empty_text_and_unknown_files() {
    let (c, m) = code(import(b""));
    assert_eq!((c, m.as_str()), ("EIMAGE_FORMAT", "image file is empty"));
    let (c, m) = code(import(b"{\"acKind\": \"ImageManifest\"}\n"));
    assert_eq!(c, "EIMAGE_FORMAT");
    assert!(m.contains("unknown image filetype"), "{m}");
    let (c, m) = code(import(&[0x00, 0x01, 0x02, 0xff, 0x10]));
    assert_eq!((c, m.as_str()), ("EIMAGE_FORMAT", "unknown image filetype"));
    let (c, _) = code(import_aci(
        Path::new("/nonexistent/x.aci"),
        Path::new("/tmp"),
        None,
    ));
    assert_eq!(c, "ENOTFOUND");
}

#[test]
fn corrupt_gzip() {
    let mut gz = gzip(&sample());
    let mid = gz.len() / 2;
    for b in &mut gz[mid..mid + 64] {
        *b ^= 0x5a;
    }
    let (c, m) = code(import(&gz));
    assert_eq!(c, "EIMAGE_FORMAT");
    assert!(m.starts_with("corrupt gzip stream: "), "{m}");
}

#[test]
fn truncated_gzip() {
    let gz = gzip(&sample());
    for cut in [gz.len() / 2, gz.len() - 4] {
        let (c, m) = code(import(&gz[..cut]));
        assert_eq!(
            (c, m.as_str()),
            ("EIMAGE_FORMAT", "truncated gzip stream"),
            "cut at {cut}"
        );
    }
}

#[test]
fn corrupt_xz_and_bzip2() {
    for mut data in [xz(&sample()), bzip2(&sample())] {
        let mid = data.len() / 2;
        data.truncate(mid);
        let (c, _) = code(import(&data));
        assert_eq!(c, "EIMAGE_FORMAT");
    }
}

#[test]
fn truncated_tar() {
    let mut t = Tar::aci();
    t.file("rootfs/big", &vec![1u8; 10_000]);
    let full = t.bytes();
    // Cut inside rootfs/big's data.
    let cut = full.len() - 1024 - 512 * 10;
    let (c, m) = code(import(&full[..cut]));
    assert_eq!(
        (c, m.as_str()),
        (
            "EIMAGE_FORMAT",
            "truncated tar archive in entry \"rootfs/big\""
        )
    );
    // Cut inside a header.
    let (c, m) = code(import(&full[..512 + 512 + 100]));
    assert_eq!(c, "EIMAGE_FORMAT");
    assert!(m.contains("truncated tar archive"), "{m}");
    // The same through gzip.
    let (c, _) = code(import(&gzip(&full[..cut])));
    assert_eq!(c, "EIMAGE_FORMAT");
}

#[test]
fn missing_end_marker_is_accepted() {
    let mut t = Tar::aci();
    t.file("rootfs/a", b"x");
    let a = import(&t.buf).unwrap();
    assert_eq!(a.key, key_of(&t.buf));
}

#[test]
fn trailing_data_after_end_marker_is_hashed_but_ignored() {
    let mut data = sample();
    data.extend(std::iter::repeat_n(0u8, 8192));
    let a = import(&data).unwrap();
    assert_eq!(a.key, key_of(&data));
    assert_eq!(a.size, data.len() as u64);
}

#[test]
fn bad_checksum() {
    let mut data = sample();
    data[1024 + 5] ^= 1; // the name of the second header (rootfs)
    let (c, m) = code(import(&data));
    assert_eq!(c, "EIMAGE_FORMAT");
    assert!(m.contains("checksum"), "{m}");
}

#[test]
fn layout_errors() {
    let mut t = Tar::new();
    t.dir("rootfs").file("rootfs/a", b"a");
    let (c, m) = code(import(&t.bytes()));
    assert_eq!((c, m.as_str()), ("EMANIFEST", "missing manifest"));

    let mut t = Tar::new();
    t.file("manifest", &manifest("x"));
    let (c, m) = code(import(&t.bytes()));
    assert_eq!(
        (c, m.as_str()),
        ("EIMAGE_FORMAT", "no rootfs found in layout")
    );

    let mut t = Tar::aci();
    t.file("rootfs/a", b"1").file("./rootfs/a", b"2");
    let (c, m) = code(import(&t.bytes()));
    assert_eq!(
        (c, m.as_str()),
        (
            "EIMAGE_FORMAT",
            "duplicate file entry in archive: \"rootfs/a\""
        )
    );

    let mut t = Tar::aci();
    t.file("foo", b"1");
    let (c, m) = code(import(&t.bytes()));
    assert_eq!(
        (c, m.as_str()),
        ("EIMAGE_FORMAT", "unrecognized file path in layout: \"foo\"")
    );

    let mut t = Tar::new();
    t.file("manifest", &manifest("x"))
        .file("rootfs", b"not a dir");
    let (c, m) = code(import(&t.bytes()));
    assert_eq!(c, "EIMAGE_FORMAT");
    assert!(m.contains("rootfs is not a directory"), "{m}");

    let mut t = Tar::new();
    t.dir("manifest").dir("rootfs");
    let (c, _) = code(import(&t.bytes()));
    assert_eq!(c, "EMANIFEST");

    let mut t = Tar::new();
    t.file("manifest", &vec![b' '; (4 << 20) + 1]).dir("rootfs");
    let (c, m) = code(import(&t.bytes()));
    assert_eq!(c, "EMANIFEST");
    assert!(m.contains("too large"), "{m}");
}

#[test]
fn dot_slash_names_and_root_entry_are_fine() {
    let mut t = Tar::new();
    t.dir("./")
        .file("./manifest", &manifest("x"))
        .dir("./rootfs/")
        .file("./rootfs/a", b"a");
    let a = import(&t.bytes()).unwrap();
    assert_eq!(a.manifest, manifest("x"));
}

#[test]
fn unsafe_names_are_rejected() {
    let cases: Vec<(&str, Tar)> = vec![
        ("dotdot", {
            let mut t = Tar::aci();
            t.file("rootfs/../../etc/x", b"x");
            t
        }),
        ("absolute", {
            let mut t = Tar::aci();
            t.file("/etc/x", b"x");
            t
        }),
        ("hardlink absolute", {
            let mut t = Tar::aci();
            t.hardlink("rootfs/h", "/etc/shadow");
            t
        }),
        ("hardlink dotdot", {
            let mut t = Tar::aci();
            t.file("rootfs/a", b"a")
                .hardlink("rootfs/h", "rootfs/../../etc/shadow");
            t
        }),
        ("hardlink to later entry", {
            let mut t = Tar::aci();
            t.hardlink("rootfs/h", "rootfs/later")
                .file("rootfs/later", b"x");
            t
        }),
        ("hardlink outside rootfs", {
            let mut t = Tar::aci();
            t.hardlink("rootfs/h", "manifest");
            t
        }),
        ("through symlink", {
            let mut t = Tar::aci();
            t.symlink("rootfs/a", "/etc")
                .file("rootfs/a/passwd", b"pwned");
            t
        }),
        ("through relative symlink", {
            let mut t = Tar::aci();
            t.symlink("rootfs/up", "../../..")
                .file("rootfs/up/escaped", b"x");
            t
        }),
        ("through hardlinked symlink", {
            let mut t = Tar::aci();
            t.symlink("rootfs/s", "/etc")
                .hardlink("rootfs/h", "rootfs/s")
                .file("rootfs/h/passwd", b"x");
            t
        }),
        ("dir through symlink", {
            let mut t = Tar::aci();
            t.symlink("rootfs/a", "/").dir("rootfs/a/b");
            t
        }),
    ];
    for (what, t) in cases {
        let r = import(&t.bytes());
        let (c, m) = code(r);
        assert_eq!(c, "EUNSAFE_PATH", "{what}: {m}");
    }
    let mut t = Tar::aci();
    t.file("rootfs/../../etc/x", b"x");
    let (_, m) = code(import(&t.bytes()));
    assert_eq!(m, "tar entry \"rootfs/../../etc/x\" escapes the image root");
}

#[test]
fn unsafe_entries_are_rejected_through_gzip_too() {
    let mut t = Tar::aci();
    t.symlink("rootfs/a", "/etc")
        .file("rootfs/a/passwd", b"pwned");
    let (c, _) = code(import(&gzip(&t.bytes())));
    assert_eq!(c, "EUNSAFE_PATH");
}

#[test]
fn long_names_gnu_pax_and_ustar_prefix() {
    let deep = format!("rootfs/{}/{}", "d".repeat(120), "f".repeat(90));
    let mut t = Tar::aci();
    t.gnu_long(&format!("{deep}-gnu"), b"gnu");
    let pax_name = format!("{deep}-pax");
    t.pax(
        &[("path", pax_name.as_bytes()), ("SCHILY.xattr.user.k", b"v")],
        &H {
            name: b"short",
            size: 3,
            ..H::default()
        },
        b"pax",
    );
    let prefix = format!("rootfs/{}", "p".repeat(120));
    t.raw(
        &H {
            name: b"ustar-name",
            prefix: prefix.as_bytes(),
            size: 5,
            ..H::default()
        },
        b"ustar",
    );
    // A duplicate that only shows once names are resolved.
    let ok = import(&t.bytes()).unwrap();
    assert_eq!(ok.manifest, manifest("example.com/test"));
    t.pax(
        &[("path", pax_name.as_bytes())],
        &H {
            name: b"other",
            ..H::default()
        },
        b"",
    );
    let (c, m) = code(import(&t.bytes()));
    assert_eq!(c, "EIMAGE_FORMAT");
    assert!(m.contains("duplicate") && m.contains("-pax"), "{m}");
}

#[test]
fn unsupported_entry_types_are_format_errors() {
    let mut t = Tar::aci();
    t.raw(
        &H {
            name: b"rootfs/s",
            flag: b'S',
            ..H::default()
        },
        b"",
    );
    let (c, _) = code(import(&t.bytes()));
    assert_eq!(c, "EIMAGE_FORMAT");
}

#[test]
fn hash_file_matches() {
    let d = tempfile::tempdir().unwrap();
    let data = vec![3u8; 3 << 20];
    let p = write(d.path(), "f", &data);
    assert_eq!(hash_file(&p).unwrap(), sha512_hex(&data));
    let (c, _) = code(hash_file(&d.path().join("missing")));
    assert_eq!(c, "ENOTFOUND");
}

#[test]
fn large_streaming_import_keeps_data_exact() {
    // Several chunks, with entries straddling chunk boundaries.
    let mut t = Tar::aci();
    for i in 0..40 {
        let data: Vec<u8> = (0..(97_000 + i * 7919))
            .map(|x| (x * 31 + i) as u8)
            .collect();
        t.file(&format!("rootfs/f{i}"), &data);
    }
    let tar = t.bytes();
    let a = import(&gzip(&tar)).unwrap();
    assert_eq!(a.key, key_of(&tar));
}
