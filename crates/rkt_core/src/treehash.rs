//! The tree store's integrity hash (rkt `treestore.Hash`): a walk in lexical
//! order feeding, for each entry, a JSON header and then the file's bytes into
//! one SHA-512. Times are left out so that the hash only moves when content,
//! names, modes, owners or xattrs do.

use std::collections::HashMap;
use std::ffi::OsString;
use std::fs::{self, File, OpenOptions};
use std::io::Read;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt, OpenOptionsExt};
use std::path::Path;

use serde::Serialize;

use crate::cas::key_from_hex;
use crate::digest::Sha512;
use crate::error::{CoreError, Result};
use crate::tar_stream::Kind;

/// Files the tree store keeps next to `rootfs/`, not part of the image.
const SKIP_TOP: [&str; 5] = ["manifest", "hash", "rendered", "image", "stat"];

#[derive(Serialize)]
struct Header<'a> {
    name: &'a str,
    mode: u32,
    uid: u32,
    gid: u32,
    size: u64,
    typeflag: char,
    linkname: &'a str,
    devmajor: u32,
    devminor: u32,
    /// (name, hex value), sorted by name.
    xattrs: Vec<(String, String)>,
}

/// "sha512-" + 64 hex digits over the tree at `dir`.
pub fn tree_hash(dir: &Path) -> Result<String> {
    let mut w = Walker {
        hasher: Sha512::new(),
        inodes: HashMap::new(),
        buf: vec![0u8; 256 << 10],
        xattrs: XattrReader::new(),
    };
    w.walk(dir, "")?;
    Ok(key_from_hex(&w.hasher.finish_hex()))
}

struct Walker {
    hasher: Sha512,
    /// (dev, ino) of multiply-linked files already hashed, to their name.
    inodes: HashMap<(u64, u64), String>,
    buf: Vec<u8>,
    xattrs: XattrReader,
}

fn io_err<'a>(what: &str, p: &'a Path) -> impl FnOnce(std::io::Error) -> CoreError + 'a {
    let what = what.to_string();
    move |e| CoreError::io(format!("{what} {}", p.display()), e)
}

impl Walker {
    fn walk(&mut self, dir: &Path, rel: &str) -> Result<()> {
        let mut names: Vec<OsString> = fs::read_dir(dir)
            .map_err(io_err("read directory", dir))?
            .map(|e| e.map(|e| e.file_name()))
            .collect::<std::io::Result<_>>()
            .map_err(io_err("read directory", dir))?;
        names.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
        for n in names {
            let name = n.to_string_lossy();
            if rel.is_empty() && SKIP_TOP.contains(&name.as_ref()) {
                continue;
            }
            let path = dir.join(&n);
            let child = if rel.is_empty() {
                name.into_owned()
            } else {
                format!("{rel}/{name}")
            };
            self.entry(&path, &child)?;
        }
        Ok(())
    }

    fn entry(&mut self, path: &Path, rel: &str) -> Result<()> {
        let md = fs::symlink_metadata(path).map_err(io_err("stat", path))?;
        let ft = md.file_type();
        if ft.is_socket() {
            return Ok(());
        }
        let mut kind = if ft.is_dir() {
            Kind::Dir
        } else if ft.is_symlink() {
            Kind::Symlink
        } else if ft.is_char_device() {
            Kind::Char
        } else if ft.is_block_device() {
            Kind::Block
        } else if ft.is_fifo() {
            Kind::Fifo
        } else {
            Kind::Regular
        };
        let mut link = String::new();
        if kind == Kind::Symlink {
            let t = fs::read_link(path).map_err(io_err("readlink", path))?;
            link = t.to_string_lossy().into_owned();
        }
        if kind != Kind::Dir && md.nlink() > 1 {
            match self.inodes.get(&(md.dev(), md.ino())) {
                Some(first) => {
                    link = first.clone();
                    kind = Kind::Hardlink;
                }
                None => {
                    self.inodes.insert((md.dev(), md.ino()), rel.to_string());
                }
            }
        }
        let (devmajor, devminor) = if matches!(kind, Kind::Char | Kind::Block) {
            (rustix::fs::major(md.rdev()), rustix::fs::minor(md.rdev()))
        } else {
            (0, 0)
        };
        let name = if kind == Kind::Dir {
            format!("{rel}/")
        } else {
            rel.to_string()
        };
        let hdr = Header {
            name: &name,
            mode: md.mode() & 0o7777,
            uid: md.uid(),
            gid: md.gid(),
            size: if kind == Kind::Regular { md.len() } else { 0 },
            typeflag: kind.typeflag(),
            linkname: &link,
            devmajor,
            devminor,
            xattrs: self
                .xattrs
                .read(path)?
                .into_iter()
                .map(|(k, v)| (String::from_utf8_lossy(&k).into_owned(), hex::encode(v)))
                .collect(),
        };
        let json =
            serde_json::to_vec(&hdr).map_err(|e| CoreError::Io(format!("encode header: {e}")))?;
        self.hasher.update(&json);
        match kind {
            Kind::Regular => self.hash_file(path)?,
            Kind::Dir => self.walk(path, rel)?,
            _ => {}
        }
        Ok(())
    }

    fn hash_file(&mut self, path: &Path) -> Result<()> {
        let mut f: File = OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NOFOLLOW)
            .open(path)
            .map_err(io_err("open", path))?;
        loop {
            match f.read(&mut self.buf) {
                Ok(0) => return Ok(()),
                Ok(n) => self.hasher.update(&self.buf[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(CoreError::io(format!("read {}", path.display()), e)),
            }
        }
    }
}

/// Reads xattrs with buffers kept across calls (a list is at most 64 KiB).
pub(crate) struct XattrReader {
    list: Vec<u8>,
    val: Vec<u8>,
}

impl XattrReader {
    pub(crate) fn new() -> Self {
        XattrReader {
            list: vec![0u8; 64 << 10],
            val: vec![0u8; 64 << 10],
        }
    }

    /// All xattrs of `path` (not following a final symlink), sorted by name.
    pub(crate) fn read(&mut self, path: &Path) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        use rustix::io::Errno;
        let n = match rustix::fs::llistxattr(path, &mut self.list[..]) {
            Ok(n) => n,
            Err(Errno::NOTSUP) => return Ok(Vec::new()),
            Err(e) => {
                return Err(CoreError::errno(
                    format!("list xattrs of {}", path.display()),
                    e,
                ))
            }
        };
        let mut out = Vec::new();
        for name in self.list[..n].split(|&c| c == 0).filter(|s| !s.is_empty()) {
            match rustix::fs::lgetxattr(path, name, &mut self.val[..]) {
                Ok(len) => out.push((name.to_vec(), self.val[..len].to_vec())),
                // Removed between list and get: it is simply not there.
                Err(Errno::NODATA) => {}
                Err(e) => {
                    return Err(CoreError::errno(
                        format!("read xattr of {}", path.display()),
                        e,
                    ))
                }
            }
        }
        out.sort();
        Ok(out)
    }
}
