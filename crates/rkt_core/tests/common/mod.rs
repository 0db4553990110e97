//! Test helpers: hand-made tar archives (raw headers, so names the `tar`
//! crate refuses can be written), compression, and store-like blobs.
#![allow(dead_code)]

use std::fs;
use std::io::Write;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use rkt_core::{CoreError, RenderImage};
use sha2::{Digest, Sha512};

pub const MTIME: u64 = 1_600_000_000;

fn octal(field: &mut [u8], v: u64) {
    let w = field.len() - 1;
    let s = format!("{v:0w$o}\0");
    assert_eq!(s.len(), field.len(), "value {v} too large for field");
    field.copy_from_slice(s.as_bytes());
}

#[derive(Clone)]
pub struct H<'a> {
    pub name: &'a [u8],
    pub flag: u8,
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub size: u64,
    pub mtime: u64,
    pub link: &'a [u8],
    pub prefix: &'a [u8],
    pub dev: (u32, u32),
}

impl Default for H<'_> {
    fn default() -> Self {
        H {
            name: b"",
            flag: b'0',
            mode: 0o644,
            uid: 0,
            gid: 0,
            size: 0,
            mtime: MTIME,
            link: b"",
            prefix: b"",
            dev: (0, 0),
        }
    }
}

pub fn header(h: &H) -> [u8; 512] {
    let mut b = [0u8; 512];
    assert!(h.name.len() <= 100 && h.link.len() <= 100 && h.prefix.len() <= 155);
    b[..h.name.len()].copy_from_slice(h.name);
    octal(&mut b[100..108], h.mode as u64);
    octal(&mut b[108..116], h.uid as u64);
    octal(&mut b[116..124], h.gid as u64);
    octal(&mut b[124..136], h.size);
    octal(&mut b[136..148], h.mtime);
    b[156] = h.flag;
    b[157..157 + h.link.len()].copy_from_slice(h.link);
    b[257..263].copy_from_slice(b"ustar\0");
    b[263..265].copy_from_slice(b"00");
    b[265..269].copy_from_slice(b"root");
    b[297..301].copy_from_slice(b"root");
    octal(&mut b[329..337], h.dev.0 as u64);
    octal(&mut b[337..345], h.dev.1 as u64);
    b[345..345 + h.prefix.len()].copy_from_slice(h.prefix);
    b[148..156].copy_from_slice(b"        ");
    let sum: u64 = b.iter().map(|&c| c as u64).sum();
    let s = format!("{sum:06o}\0 ");
    b[148..156].copy_from_slice(s.as_bytes());
    b
}

#[derive(Default, Clone)]
pub struct Tar {
    pub buf: Vec<u8>,
}

impl Tar {
    pub fn new() -> Self {
        Tar::default()
    }

    /// A valid ACI start: manifest + rootfs dir.
    pub fn aci() -> Self {
        let mut t = Tar::new();
        t.file("manifest", &manifest("example.com/test"));
        t.dir("rootfs");
        t
    }

    pub fn raw(&mut self, h: &H, data: &[u8]) -> &mut Self {
        self.buf.extend_from_slice(&header(h));
        self.buf.extend_from_slice(data);
        let pad = (512 - data.len() % 512) % 512;
        self.buf.extend(std::iter::repeat_n(0u8, pad));
        self
    }

    pub fn file(&mut self, name: &str, data: &[u8]) -> &mut Self {
        self.raw(
            &H {
                name: name.as_bytes(),
                size: data.len() as u64,
                ..H::default()
            },
            data,
        )
    }

    pub fn file_owned(
        &mut self,
        name: &str,
        data: &[u8],
        mode: u32,
        uid: u32,
        gid: u32,
    ) -> &mut Self {
        self.raw(
            &H {
                name: name.as_bytes(),
                size: data.len() as u64,
                mode,
                uid,
                gid,
                ..H::default()
            },
            data,
        )
    }

    pub fn dir(&mut self, name: &str) -> &mut Self {
        self.raw(
            &H {
                name: name.as_bytes(),
                flag: b'5',
                mode: 0o755,
                ..H::default()
            },
            b"",
        )
    }

    pub fn dir_mode(&mut self, name: &str, mode: u32) -> &mut Self {
        self.raw(
            &H {
                name: name.as_bytes(),
                flag: b'5',
                mode,
                ..H::default()
            },
            b"",
        )
    }

    pub fn symlink(&mut self, name: &str, target: &str) -> &mut Self {
        self.raw(
            &H {
                name: name.as_bytes(),
                flag: b'2',
                mode: 0o777,
                link: target.as_bytes(),
                ..H::default()
            },
            b"",
        )
    }

    pub fn hardlink(&mut self, name: &str, target: &str) -> &mut Self {
        self.raw(
            &H {
                name: name.as_bytes(),
                flag: b'1',
                link: target.as_bytes(),
                ..H::default()
            },
            b"",
        )
    }

    pub fn node(&mut self, name: &str, flag: u8, dev: (u32, u32)) -> &mut Self {
        self.raw(
            &H {
                name: name.as_bytes(),
                flag,
                mode: 0o666,
                dev,
                ..H::default()
            },
            b"",
        )
    }

    /// A GNU long name ('L') followed by the real header.
    pub fn gnu_long(&mut self, name: &str, data: &[u8]) -> &mut Self {
        let mut n = name.as_bytes().to_vec();
        n.push(0);
        self.raw(
            &H {
                name: b"././@LongLink",
                flag: b'L',
                size: n.len() as u64,
                ..H::default()
            },
            &n,
        );
        let short = &name.as_bytes()[..100];
        self.raw(
            &H {
                name: short,
                size: data.len() as u64,
                ..H::default()
            },
            data,
        )
    }

    /// A PAX extended header ('x') followed by the real header.
    pub fn pax(&mut self, records: &[(&str, &[u8])], h: &H, data: &[u8]) -> &mut Self {
        let mut body = Vec::new();
        for (k, v) in records {
            let rest = 1 + k.len() + 1 + v.len() + 1; // " k=v\n"
            let mut n = rest + 1;
            while n != rest + n.to_string().len() {
                n = rest + n.to_string().len();
            }
            body.extend_from_slice(format!("{n} {k}=").as_bytes());
            body.extend_from_slice(v);
            body.push(b'\n');
        }
        self.raw(
            &H {
                name: b"PaxHeaders/x",
                flag: b'x',
                size: body.len() as u64,
                ..H::default()
            },
            &body,
        );
        self.raw(h, data)
    }

    pub fn bytes(&self) -> Vec<u8> {
        let mut b = self.buf.clone();
        b.extend(std::iter::repeat_n(0u8, 1024));
        b
    }
}

pub fn manifest(name: &str) -> Vec<u8> {
    format!(r#"{{"acKind":"ImageManifest","acVersion":"0.8.11","name":"{name}"}}"#).into_bytes()
}

pub fn gzip(b: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(b).unwrap();
    e.finish().unwrap()
}

pub fn bzip2(b: &[u8]) -> Vec<u8> {
    let mut e = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::fast());
    e.write_all(b).unwrap();
    e.finish().unwrap()
}

pub fn xz(b: &[u8]) -> Vec<u8> {
    let mut e = liblzma::write::XzEncoder::new(Vec::new(), 1);
    e.write_all(b).unwrap();
    e.finish().unwrap()
}

pub fn sha512_hex(b: &[u8]) -> String {
    hex::encode(Sha512::digest(b))
}

pub fn key_of(b: &[u8]) -> String {
    format!("sha512-{}", &sha512_hex(b)[..64])
}

pub fn write(dir: &Path, name: &str, data: &[u8]) -> PathBuf {
    let p = dir.join(name);
    fs::write(&p, data).unwrap();
    p
}

/// A blob as the store would hold it, bypassing the import scan (so the
/// renderer's own defences are what is tested).
pub fn blob(dir: &Path, name: &str, tar: &[u8], level: u32, pwl: &[&str]) -> RenderImage {
    RenderImage {
        blob_path: write(dir, name, tar),
        key: key_of(tar),
        level,
        path_whitelist: pwl.iter().map(|s| s.to_string()).collect(),
        verified: false,
        blob_digest: None,
    }
}

pub fn code(r: Result<impl std::fmt::Debug, CoreError>) -> (&'static str, String) {
    match r {
        Ok(v) => panic!("expected an error, got {v:?}"),
        Err(e) => (e.code(), e.to_string()),
    }
}

pub fn dir_is_empty(p: &Path) -> bool {
    fs::read_dir(p).unwrap().next().is_none()
}

pub fn mode_of(p: &Path) -> u32 {
    fs::symlink_metadata(p).unwrap().mode() & 0o7777
}

pub fn read(p: &Path) -> String {
    String::from_utf8(fs::read(p).unwrap()).unwrap()
}
