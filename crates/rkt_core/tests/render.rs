//! render_tree / extract_aci: appc selection rules, hash verification, and the
//! safe writer's defences on blobs that never went through the import scan.

mod common;

use std::fs;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::Path;

use common::*;
use rkt_core::{extract_aci, render_tree, render_tree_checked, RenderImage, RenderStats};

fn image(name: &str, files: &[(&str, &str)]) -> Vec<u8> {
    let mut t = Tar::new();
    t.file("manifest", &manifest(name)).dir("rootfs");
    for (p, c) in files {
        t.file(p, c.as_bytes());
    }
    t.bytes()
}

#[test]
fn single_image_render() {
    let d = tempfile::tempdir().unwrap();
    let mut t = Tar::aci();
    t.dir("rootfs/etc").file("rootfs/etc/hostname", b"box\n");
    t.symlink("rootfs/etc/link", "/etc/hostname")
        .hardlink("rootfs/hard", "rootfs/etc/hostname");
    t.node("rootfs/fifo", b'6', (0, 0));
    let img = blob(d.path(), "a", &t.bytes(), 0, &[]);
    let dest = d.path().join("tree");
    let stats = render_tree(&[img], &dest).unwrap();
    assert_eq!(
        stats,
        RenderStats {
            files: 7,
            bytes: 4 + manifest("example.com/test").len() as u64
        }
    );
    assert_eq!(
        fs::read(dest.join("manifest")).unwrap(),
        manifest("example.com/test")
    );
    assert_eq!(read(&dest.join("rootfs/etc/hostname")), "box\n");
    assert_eq!(
        fs::read_link(dest.join("rootfs/etc/link")).unwrap(),
        Path::new("/etc/hostname")
    );
    let a = fs::metadata(dest.join("rootfs/hard")).unwrap();
    let b = fs::metadata(dest.join("rootfs/etc/hostname")).unwrap();
    assert_eq!((a.dev(), a.ino()), (b.dev(), b.ino()));
    assert!(fs::symlink_metadata(dest.join("rootfs/fifo"))
        .unwrap()
        .file_type()
        .is_fifo());
}

/// appc's example: A -> [B, C], C -> [D], list A(0), C(1), D(2), B(1);
/// override order B, D, C, A (A wins).
#[test]
fn dependency_order_earlier_image_wins() {
    let d = tempfile::tempdir().unwrap();
    let a = image("a", &[("rootfs/all", "A"), ("rootfs/a_only", "A")]);
    let c = image(
        "c",
        &[
            ("rootfs/all", "C"),
            ("rootfs/cd", "C"),
            ("rootfs/cb", "C"),
            ("rootfs/cdb", "C"),
        ],
    );
    let dd = image(
        "d",
        &[
            ("rootfs/all", "D"),
            ("rootfs/cd", "D"),
            ("rootfs/db", "D"),
            ("rootfs/cdb", "D"),
        ],
    );
    let b = image(
        "b",
        &[
            ("rootfs/all", "B"),
            ("rootfs/cb", "B"),
            ("rootfs/db", "B"),
            ("rootfs/cdb", "B"),
            ("rootfs/b_only", "B"),
        ],
    );
    let list = [
        blob(d.path(), "A", &a, 0, &[]),
        blob(d.path(), "C", &c, 1, &[]),
        blob(d.path(), "D", &dd, 2, &[]),
        blob(d.path(), "B", &b, 1, &[]),
    ];
    let dest = d.path().join("tree");
    render_tree(&list, &dest).unwrap();
    let r = |p: &str| read(&dest.join("rootfs").join(p));
    assert_eq!(r("all"), "A");
    assert_eq!(r("a_only"), "A");
    assert_eq!(r("cd"), "C");
    assert_eq!(r("cb"), "C");
    assert_eq!(r("cdb"), "C");
    assert_eq!(r("db"), "D");
    assert_eq!(r("b_only"), "B");
    // Only the top image's manifest.
    assert_eq!(fs::read(dest.join("manifest")).unwrap(), manifest("a"));
}

#[test]
fn path_whitelists() {
    let d = tempfile::tempdir().unwrap();
    let a = image("a", &[("rootfs/a_file", "A")]);
    // C (level 1) has a whitelist: it filters C's own files (not dirs) and
    // everything below C (dirs included).
    let mut c = Tar::new();
    c.file("manifest", &manifest("c"))
        .dir("rootfs")
        .dir("rootfs/cdir");
    c.file("rootfs/c_in", b"C").file("rootfs/c_out", b"C");
    let mut dd = Tar::new();
    dd.file("manifest", &manifest("d"))
        .dir("rootfs")
        .dir("rootfs/ddir")
        .dir("rootfs/bin");
    dd.file("rootfs/bin/d_in", b"D")
        .file("rootfs/d_out", b"D")
        .file("rootfs/drop", b"D");
    // B is C's sibling: C's whitelist does not apply to it.
    let mut b = Tar::new();
    b.file("manifest", &manifest("b"))
        .dir("rootfs")
        .file("rootfs/b_file", b"B")
        .file("rootfs/drop", b"B");
    let list = [
        blob(d.path(), "A", &a, 0, &[]),
        blob(
            d.path(),
            "C",
            &c.bytes(),
            1,
            &["/c_in", "/bin", "/bin/d_in"],
        ),
        blob(d.path(), "D", &dd.bytes(), 2, &[]),
        blob(d.path(), "B", &b.bytes(), 1, &[]),
    ];
    let dest = d.path().join("tree");
    render_tree(&list, &dest).unwrap();
    let root = dest.join("rootfs");
    assert_eq!(read(&root.join("a_file")), "A");
    assert_eq!(read(&root.join("c_in")), "C");
    assert!(!root.join("c_out").exists(), "not in C's whitelist");
    assert!(
        root.join("cdir").is_dir(),
        "an image's own whitelist does not filter its dirs"
    );
    assert_eq!(read(&root.join("bin/d_in")), "D");
    assert!(
        !root.join("ddir").exists(),
        "dirs are filtered by the upper whitelist"
    );
    assert!(!root.join("d_out").exists());
    assert_eq!(
        read(&root.join("b_file")),
        "B",
        "a sibling's whitelist does not apply"
    );
    // D's "drop" is filtered by C's list, so B provides it.
    assert_eq!(read(&root.join("drop")), "B");
}

#[test]
fn upper_whitelist_without_own_list_and_deeper_chain() {
    // A(0, pwl) -> B(1, pwl) -> C(2): B and C are filtered by A's
    // whitelist, the highest one; A's own files too.
    let d = tempfile::tempdir().unwrap();
    let a = image("a", &[("rootfs/a_in", "A"), ("rootfs/a_out", "A")]);
    let b = image("b", &[("rootfs/b1", "B"), ("rootfs/b2", "B")]);
    let c = image("c", &[("rootfs/c1", "C"), ("rootfs/c2", "C")]);
    let list = [
        blob(d.path(), "A", &a, 0, &["/a_in", "/b1", "/c2"]),
        blob(d.path(), "B", &b, 1, &["/b1", "/b2", "/c1", "/c2"]),
        blob(d.path(), "C", &c, 2, &[]),
    ];
    let dest = d.path().join("t");
    render_tree(&list, &dest).unwrap();
    let root = dest.join("rootfs");
    assert!(root.join("a_in").exists() && !root.join("a_out").exists());
    assert!(root.join("b1").exists() && !root.join("b2").exists());
    assert!(root.join("c2").exists() && !root.join("c1").exists());
}

#[test]
fn entries_under_a_non_directory_from_an_earlier_image_are_skipped() {
    let d = tempfile::tempdir().unwrap();
    let mut a = Tar::aci();
    a.symlink("rootfs/lib", "lib64")
        .dir("rootfs/lib64")
        .file("rootfs/f", b"A");
    let mut b = Tar::aci();
    b.dir("rootfs/lib")
        .file("rootfs/lib/libc.so", b"B")
        .dir("rootfs/f")
        .file("rootfs/f/x", b"B");
    let list = [
        blob(d.path(), "A", &a.bytes(), 0, &[]),
        blob(d.path(), "B", &b.bytes(), 1, &[]),
    ];
    let dest = d.path().join("t");
    render_tree(&list, &dest).unwrap();
    let root = dest.join("rootfs");
    assert!(fs::symlink_metadata(root.join("lib"))
        .unwrap()
        .file_type()
        .is_symlink());
    assert!(!root.join("lib64/libc.so").exists());
    assert_eq!(read(&root.join("f")), "A");
}

#[test]
fn directory_from_lower_image_gets_upper_mode() {
    let d = tempfile::tempdir().unwrap();
    let mut a = Tar::aci();
    a.dir_mode("rootfs/a", 0o700);
    let mut b = Tar::aci();
    b.dir_mode("rootfs/a", 0o755).file("rootfs/a/file", b"B");
    let list = [
        blob(d.path(), "A", &a.bytes(), 0, &[]),
        blob(d.path(), "B", &b.bytes(), 1, &[]),
    ];
    let dest = d.path().join("t");
    render_tree(&list, &dest).unwrap();
    assert_eq!(mode_of(&dest.join("rootfs/a")), 0o700);
    assert_eq!(read(&dest.join("rootfs/a/file")), "B");
}

#[test]
fn tampered_blob_is_a_hash_mismatch() {
    let d = tempfile::tempdir().unwrap();
    let mut t = Tar::aci();
    t.file("rootfs/a", b"original");
    let mut img = blob(d.path(), "a", &t.bytes(), 0, &[]);
    let mut bytes = t.bytes();
    let pos = bytes.windows(8).position(|w| w == b"original").unwrap();
    bytes[pos] = b'O';
    fs::write(&img.blob_path, &bytes).unwrap();
    let (c, m) = code(render_tree(
        std::slice::from_ref(&img),
        &d.path().join("t1"),
    ));
    assert_eq!(c, "EHASH_MISMATCH", "{m}");
    // A tampered header (parse error) still reports the mismatch.
    bytes[1024 + 5] ^= 1;
    fs::write(&img.blob_path, &bytes).unwrap();
    let (c, _) = code(render_tree(
        std::slice::from_ref(&img),
        &d.path().join("t2"),
    ));
    assert_eq!(c, "EHASH_MISMATCH");
    // A malformed key is refused.
    img.key = "sha512-abc".into();
    let (c, _) = code(render_tree(&[img], &d.path().join("t3")));
    assert_eq!(c, "EIMAGE_FORMAT");
}

/// The BLAKE3 recorded at import stands for the key check: a blob with that digest is not hashed
/// again; one without it is, so a stale record cannot fail a sound blob, and a tampered blob
/// fails whatever digest it is given.
#[test]
fn a_recorded_blob_digest_replaces_the_sha512_check() {
    let d = tempfile::tempdir().unwrap();
    let mut t = Tar::aci();
    t.file("rootfs/a", b"original");
    let mut img = blob(d.path(), "a", &t.bytes(), 0, &[]);
    let digest = blake3::hash(&t.bytes()).to_hex().to_string();

    // The digest matches: the key is not checked (a wrong key shows it), nothing to record.
    let right_key = img.key.clone();
    img.key = key_of(b"something else");
    img.blob_digest = Some(digest.clone());
    let r = render_tree_checked(std::slice::from_ref(&img), &d.path().join("t1")).unwrap();
    assert_eq!(read(&d.path().join("t1/rootfs/a")), "original");
    assert!(r.new_digests.is_empty());

    // A stale digest (a re-import replaced the blob), or none (a row from before digests): the
    // SHA-512 decides, it matches, and the digest of the bytes it checked comes back to record.
    img.key = right_key;
    for (i, stale) in [Some("0".repeat(64)), None].into_iter().enumerate() {
        img.blob_digest = stale;
        let r = render_tree_checked(std::slice::from_ref(&img), &d.path().join(format!("t2-{i}"))).unwrap();
        assert_eq!(r.new_digests, vec![(img.key.clone(), digest.clone())]);
    }
    // Verified by the caller: neither check, nothing to record.
    img.verified = true;
    assert!(render_tree_checked(std::slice::from_ref(&img), &d.path().join("t2-v")).unwrap().new_digests.is_empty());
    img.verified = false;

    // A tampered blob: its digest no longer matches, nor does its SHA-512.
    let mut bytes = t.bytes();
    let pos = bytes.windows(8).position(|w| w == b"original").unwrap();
    bytes[pos] = b'O';
    fs::write(&img.blob_path, &bytes).unwrap();
    img.blob_digest = Some(digest);
    let (c, m) = code(render_tree(std::slice::from_ref(&img), &d.path().join("t3")));
    assert_eq!(c, "EHASH_MISMATCH", "{m}");
}

#[test]
fn hash_of_a_dependency_is_checked_too() {
    let d = tempfile::tempdir().unwrap();
    let a = image("a", &[]);
    let b = image("b", &[("rootfs/x", "x")]);
    let mut lb = blob(d.path(), "B", &b, 1, &[]);
    lb.key = key_of(&a);
    let la = blob(d.path(), "A", &a, 0, &[]);
    let (c, _) = code(render_tree(&[la, lb], &d.path().join("t")));
    assert_eq!(c, "EHASH_MISMATCH");
}

/// Every escape attempt, on a blob that skipped the import scan: the render
/// fails with EUNSAFE_PATH or ignores the entry, and nothing lands outside.
#[test]
fn render_never_writes_outside_the_root() {
    let d = tempfile::tempdir().unwrap();
    let outside = d.path().join("outside");
    fs::create_dir(&outside).unwrap();
    let out_s = outside.to_str().unwrap().to_string();
    let depth = "../".repeat(12);
    let cases: Vec<(&str, Tar, bool)> = vec![
        (
            "dotdot",
            {
                let mut t = Tar::aci();
                t.file(&format!("rootfs/{depth}{}/x", &out_s[1..]), b"x");
                t
            },
            true,
        ),
        (
            "absolute",
            {
                let mut t = Tar::aci();
                t.file(&format!("{out_s}/x"), b"x");
                t
            },
            true,
        ),
        (
            "symlink abs then through",
            {
                let mut t = Tar::aci();
                t.symlink("rootfs/a", &out_s).file("rootfs/a/x", b"x");
                t
            },
            true,
        ),
        (
            "symlink rel then through",
            {
                let mut t = Tar::aci();
                t.symlink("rootfs/up", &format!("{depth}{}", &out_s[1..]))
                    .file("rootfs/up/x", b"x");
                t
            },
            true,
        ),
        (
            "symlink then dir through",
            {
                let mut t = Tar::aci();
                t.symlink("rootfs/a", &out_s).dir("rootfs/a/x");
                t
            },
            true,
        ),
        (
            "hardlink abs",
            {
                let mut t = Tar::aci();
                t.hardlink("rootfs/h", &format!("{out_s}/secret"));
                t
            },
            true,
        ),
        (
            "hardlink dotdot",
            {
                let mut t = Tar::aci();
                t.hardlink("rootfs/h", &format!("rootfs/{depth}{}/secret", &out_s[1..]));
                t
            },
            true,
        ),
        (
            "hardlink through symlink",
            {
                let mut t = Tar::aci();
                t.symlink("rootfs/s", &out_s)
                    .hardlink("rootfs/h", "rootfs/s/secret");
                t
            },
            true,
        ),
    ];
    fs::write(outside.join("secret"), b"s").unwrap();
    for (what, t, _) in cases {
        let img = blob(d.path(), "img", &t.bytes(), 0, &[]);
        let dest = d.path().join(format!("t-{}", what.replace(' ', "_")));
        let (c, m) = code(render_tree(std::slice::from_ref(&img), &dest));
        assert_eq!(c, "EUNSAFE_PATH", "{what}: {m}");
        let dest2 = d.path().join(format!("x-{}", what.replace(' ', "_")));
        let (c, m) = code(extract_aci(&img.blob_path, &dest2, false));
        assert_eq!(c, "EUNSAFE_PATH", "extract {what}: {m}");
        let names: Vec<_> = fs::read_dir(&outside)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(
            names,
            vec![std::ffi::OsString::from("secret")],
            "{what} wrote outside"
        );
        assert_eq!(
            fs::metadata(outside.join("secret")).unwrap().nlink(),
            1,
            "{what} linked the secret"
        );
    }
}

#[test]
fn rootfs_symlink_in_archive_is_not_followed() {
    let d = tempfile::tempdir().unwrap();
    let outside = d.path().join("outside");
    fs::create_dir(&outside).unwrap();
    let mut t = Tar::new();
    t.file("manifest", &manifest("x"))
        .symlink("rootfs", outside.to_str().unwrap())
        .file("rootfs/x", b"x");
    let img = blob(d.path(), "img", &t.bytes(), 0, &[]);
    let dest = d.path().join("t");
    render_tree(std::slice::from_ref(&img), &dest).unwrap();
    assert!(dir_is_empty(&outside));
    assert!(fs::symlink_metadata(dest.join("rootfs")).unwrap().is_dir());
    assert_eq!(read(&dest.join("rootfs/x")), "x");
    let x = d.path().join("x");
    extract_aci(&img.blob_path, &x, true).unwrap();
    assert!(dir_is_empty(&outside));
    assert_eq!(read(&x.join("x")), "x");
}

#[test]
fn existing_symlink_in_destination_is_replaced_not_followed() {
    let d = tempfile::tempdir().unwrap();
    let outside = d.path().join("outside");
    fs::create_dir(&outside).unwrap();
    let dest = d.path().join("t");
    fs::create_dir(&dest).unwrap();
    std::os::unix::fs::symlink(&outside, dest.join("rootfs")).unwrap();
    let mut t = Tar::aci();
    t.file("rootfs/x", b"x");
    let img = blob(d.path(), "img", &t.bytes(), 0, &[]);
    extract_aci(&img.blob_path, &dest, false).unwrap();
    assert!(dir_is_empty(&outside));
    assert!(fs::symlink_metadata(dest.join("rootfs")).unwrap().is_dir());
    // Without a rootfs dir entry, a symlinked parent is an error instead.
    let dest2 = d.path().join("t2");
    fs::create_dir(&dest2).unwrap();
    std::os::unix::fs::symlink(&outside, dest2.join("rootfs")).unwrap();
    let mut t = Tar::new();
    t.file("manifest", &manifest("x")).file("rootfs/x", b"x");
    let img = blob(d.path(), "img2", &t.bytes(), 0, &[]);
    let (c, _) = code(extract_aci(&img.blob_path, &dest2, false));
    assert_eq!(c, "EUNSAFE_PATH");
    assert!(dir_is_empty(&outside));
}

#[test]
fn device_nodes_are_skipped() {
    let d = tempfile::tempdir().unwrap();
    let mut t = Tar::aci();
    t.dir("rootfs/dev")
        .node("rootfs/dev/null", b'3', (1, 3))
        .node("rootfs/dev/sda", b'4', (8, 0))
        .node("rootfs/dev/p", b'6', (0, 0));
    let img = blob(d.path(), "img", &t.bytes(), 0, &[]);
    let dest = d.path().join("t");
    let stats = render_tree(&[img], &dest).unwrap();
    assert!(fs::symlink_metadata(dest.join("rootfs/dev/null")).is_err());
    assert!(fs::symlink_metadata(dest.join("rootfs/dev/sda")).is_err());
    assert!(fs::symlink_metadata(dest.join("rootfs/dev/p"))
        .unwrap()
        .file_type()
        .is_fifo());
    assert_eq!(stats.files, 4); // manifest, rootfs, dev, p
}

#[test]
fn ownership_and_special_mode_bits_are_exact() {
    let d = tempfile::tempdir().unwrap();
    let mut t = Tar::aci();
    t.file_owned("rootfs/suid", b"#!", 0o4755, 1000, 1001);
    t.file_owned("rootfs/sgid", b"#!", 0o2711, 0, 50);
    t.raw(
        &H {
            name: b"rootfs/tmp",
            flag: b'5',
            mode: 0o1777,
            uid: 0,
            gid: 0,
            ..H::default()
        },
        b"",
    );
    t.raw(
        &H {
            name: b"rootfs/gdir",
            flag: b'5',
            mode: 0o2770,
            uid: 7,
            gid: 8,
            ..H::default()
        },
        b"",
    );
    t.file_owned("rootfs/gdir/f", b"", 0o640, 9, 10);
    t.file_owned("rootfs/none", b"", 0o000, 0, 0);
    t.raw(
        &H {
            name: b"rootfs/ln",
            flag: b'2',
            link: b"suid",
            uid: 42,
            gid: 43,
            ..H::default()
        },
        b"",
    );
    let img = blob(d.path(), "img", &t.bytes(), 0, &[]);
    let dest = d.path().join("t");
    render_tree(&[img], &dest).unwrap();
    let r = dest.join("rootfs");
    let m = |p: &str| fs::symlink_metadata(r.join(p)).unwrap();
    assert_eq!(
        (m("suid").mode() & 0o7777, m("suid").uid(), m("suid").gid()),
        (0o4755, 1000, 1001)
    );
    assert_eq!((m("sgid").mode() & 0o7777, m("sgid").gid()), (0o2711, 50));
    assert_eq!(m("tmp").mode() & 0o7777, 0o1777);
    assert_eq!(
        (m("gdir").mode() & 0o7777, m("gdir").uid(), m("gdir").gid()),
        (0o2770, 7, 8)
    );
    assert_eq!(
        (
            m("gdir/f").mode() & 0o7777,
            m("gdir/f").uid(),
            m("gdir/f").gid()
        ),
        (0o640, 9, 10)
    );
    assert_eq!(m("none").mode() & 0o7777, 0);
    assert_eq!((m("ln").uid(), m("ln").gid()), (42, 43));
    assert_eq!(m("suid").mtime(), MTIME as i64);
    assert_eq!(
        m("gdir").mtime(),
        MTIME as i64,
        "dir mtime set after its children"
    );
    assert_eq!(m("ln").mtime(), MTIME as i64);
}

#[test]
fn pax_xattrs_and_mtime_are_applied() {
    let d = tempfile::tempdir().unwrap();
    let mut t = Tar::aci();
    t.pax(
        &[
            ("SCHILY.xattr.user.test", b"value"),
            ("mtime", b"1234567890.5"),
        ],
        &H {
            name: b"rootfs/x",
            size: 1,
            ..H::default()
        },
        b"x",
    );
    let img = blob(d.path(), "img", &t.bytes(), 0, &[]);
    let dest = d.path().join("t");
    render_tree(&[img], &dest).unwrap();
    let md = fs::metadata(dest.join("rootfs/x")).unwrap();
    assert_eq!((md.mtime(), md.mtime_nsec()), (1234567890, 500_000_000));
    let mut buf = [0u8; 64];
    match rustix::fs::getxattr(dest.join("rootfs/x").as_path(), "user.test", &mut buf[..]) {
        Ok(n) => assert_eq!(&buf[..n], b"value"),
        Err(e) if e == rustix::io::Errno::NOTSUP => {} // filesystem without user xattrs
        Err(e) => panic!("getxattr: {e}"),
    }
}

#[test]
fn extract_aci_full_and_rootfs_only() {
    let d = tempfile::tempdir().unwrap();
    let mut t = Tar::aci();
    t.dir("rootfs/etc")
        .file("rootfs/etc/os-release", b"ID=test\n")
        .hardlink("rootfs/etc/h", "rootfs/etc/os-release");
    let img = blob(d.path(), "img", &t.bytes(), 0, &[]);
    let full = d.path().join("full");
    extract_aci(&img.blob_path, &full, false).unwrap();
    assert_eq!(
        fs::read(full.join("manifest")).unwrap(),
        manifest("example.com/test")
    );
    assert_eq!(read(&full.join("rootfs/etc/os-release")), "ID=test\n");
    let only = d.path().join("only");
    extract_aci(&img.blob_path, &only, true).unwrap();
    assert!(!only.join("manifest").exists());
    assert!(!only.join("rootfs").exists());
    assert_eq!(read(&only.join("etc/os-release")), "ID=test\n");
    assert_eq!(fs::metadata(only.join("etc/h")).unwrap().nlink(), 2);
    assert_eq!(
        mode_of(&only),
        0o755,
        "rootfs entry's mode applies to the destination"
    );
    // Extracting again over the same directory replaces files.
    extract_aci(&img.blob_path, &only, true).unwrap();
    assert_eq!(read(&only.join("etc/os-release")), "ID=test\n");
}

#[test]
fn truncated_blob_fails_render() {
    let d = tempfile::tempdir().unwrap();
    let mut t = Tar::aci();
    t.file("rootfs/big", &vec![1u8; 5000]);
    let bytes = t.bytes();
    let cut = &bytes[..bytes.len() - 1024 - 2048];
    let img = RenderImage {
        blob_path: write(d.path(), "b", cut),
        key: key_of(cut),
        level: 0,
        path_whitelist: vec![],
        verified: false,
        blob_digest: None,
    };
    let (c, m) = code(render_tree(&[img], &d.path().join("t")));
    assert_eq!(
        (c, m.as_str()),
        (
            "EIMAGE_FORMAT",
            "truncated tar archive in entry \"rootfs/big\""
        )
    );
}

#[test]
fn many_files_across_chunks() {
    let d = tempfile::tempdir().unwrap();
    let mut t = Tar::aci();
    for i in 0..50 {
        t.dir(&format!("rootfs/d{i}"));
        for j in 0..20 {
            let data: Vec<u8> = (0..(i * 997 + j * 101) % 70_000)
                .map(|x| (x + i + j) as u8)
                .collect();
            t.file(&format!("rootfs/d{i}/f{j}"), &data);
        }
    }
    let bytes = t.bytes();
    let img = blob(d.path(), "b", &bytes, 0, &[]);
    let dest = d.path().join("t");
    render_tree(&[img], &dest).unwrap();
    for i in [0usize, 17, 49] {
        for j in [0usize, 19] {
            let data: Vec<u8> = (0..(i * 997 + j * 101) % 70_000)
                .map(|x| (x + i + j) as u8)
                .collect();
            assert_eq!(
                fs::read(dest.join(format!("rootfs/d{i}/f{j}"))).unwrap(),
                data
            );
        }
    }
}

/// A blob stored as the gzip stream an image came in renders, extracts and is
/// checked exactly as the same image stored as its tar.
#[test]
fn gzip_blobs_render_like_tar_blobs() {
    use rkt_core::treehash::tree_hash;
    let d = tempfile::tempdir().unwrap();
    let tar = image("example.com/gz", &[("rootfs/a", "alpha"), ("rootfs/b", "beta")]);
    let plain = blob(d.path(), "plain", &tar, 0, &[]);
    let mut packed = blob(d.path(), "packed", &tar, 0, &[]);
    packed.blob_path = write(d.path(), "packed", &gzip(&tar));
    render_tree(&[plain], &d.path().join("t1")).unwrap();
    render_tree(&[packed.clone()], &d.path().join("t2")).unwrap();
    assert_eq!(tree_hash(&d.path().join("t1")).unwrap(), tree_hash(&d.path().join("t2")).unwrap());
    extract_aci(&packed.blob_path, &d.path().join("x"), true).unwrap();
    assert_eq!(read(&d.path().join("x/b")), "beta");

    // A well-formed gzip of other bytes is caught by the tar's hash.
    let other = image("example.com/gz", &[("rootfs/a", "alpha"), ("rootfs/b", "BETA")]);
    let mut forged = packed.clone();
    forged.blob_path = write(d.path(), "forged", &gzip(&other));
    let (c, msg) = code(render_tree(&[forged], &d.path().join("t3")));
    assert_eq!(c, "EHASH_MISMATCH", "{msg}");
    // A corrupt one names the damage.
    let mut g = gzip(&tar);
    let n = g.len();
    g[n - 5] ^= 0x40;
    let mut broken = packed;
    broken.blob_path = write(d.path(), "broken", &g);
    let (_, msg) = code(render_tree(&[broken], &d.path().join("t4")));
    assert!(msg.contains("damaged gzip blob"), "{msg}");
}
