//! Copying a rendered tree to a user directory (`rkt image render`). The
//! destination side goes through the same safe writer as extraction, so a
//! symlink already in `dst` (or one the tree itself carries) is never
//! followed; `src` is read without following symlinks.

use std::collections::HashMap;
use std::ffi::OsString;
use std::fs::{self, Metadata, OpenOptions};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt, OpenOptionsExt};
use std::path::Path;

use crate::error::{CoreError, Result};
use crate::safe_fs::SafeWriter;
use crate::tar_stream::{Entry, Kind};
use crate::treehash::XattrReader;

/// Copies the tree at `src` into `dst` (created if missing; existing files
/// are replaced), keeping modes, owners, mtimes, symlinks, hardlinks and
/// xattrs. Sockets and device nodes are not copied.
pub fn copy_tree(src: &Path, dst: &Path) -> Result<()> {
    let md = fs::symlink_metadata(src)
        .map_err(|e| CoreError::io(format!("stat {}", src.display()), e))?;
    if !md.is_dir() {
        return Err(CoreError::Io(format!(
            "{} is not a directory",
            src.display()
        )));
    }
    fs::create_dir_all(dst).map_err(|e| CoreError::io(format!("create {}", dst.display()), e))?;
    let mut c = Copier {
        w: SafeWriter::open(dst)?,
        links: HashMap::new(),
        xattrs: XattrReader::new(),
    };
    let root = c.entry_of(src, &md, Vec::new(), Kind::Dir)?;
    c.w.create(b"", &root, b"")?;
    c.walk(src, &[])?;
    c.w.finish()
}

struct Copier {
    w: SafeWriter,
    /// (dev, ino) of multiply-linked files copied so far, to their new name.
    links: HashMap<(u64, u64), Vec<u8>>,
    xattrs: XattrReader,
}

impl Copier {
    fn entry_of(&mut self, path: &Path, md: &Metadata, name: Vec<u8>, kind: Kind) -> Result<Entry> {
        Ok(Entry {
            name,
            kind,
            mode: md.mode() & 0o7777,
            uid: md.uid(),
            gid: md.gid(),
            mtime: md.mtime(),
            mtime_nsec: md.mtime_nsec() as u32,
            xattrs: self.xattrs.read(path)?,
            ..Entry::default()
        })
    }

    fn walk(&mut self, dir: &Path, rel: &[u8]) -> Result<()> {
        let ctx = |e| CoreError::io(format!("read directory {}", dir.display()), e);
        let mut names: Vec<OsString> = fs::read_dir(dir)
            .map_err(ctx)?
            .map(|e| e.map(|e| e.file_name()))
            .collect::<std::io::Result<_>>()
            .map_err(ctx)?;
        names.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
        for n in names {
            let path = dir.join(&n);
            let mut child = rel.to_vec();
            if !child.is_empty() {
                child.push(b'/');
            }
            child.extend_from_slice(n.as_bytes());
            self.copy_one(&path, child)?;
        }
        Ok(())
    }

    fn copy_one(&mut self, path: &Path, rel: Vec<u8>) -> Result<()> {
        let md = fs::symlink_metadata(path)
            .map_err(|e| CoreError::io(format!("stat {}", path.display()), e))?;
        let ft = md.file_type();
        let kind = if ft.is_dir() {
            Kind::Dir
        } else if ft.is_symlink() {
            Kind::Symlink
        } else if ft.is_fifo() {
            Kind::Fifo
        } else if ft.is_file() {
            Kind::Regular
        } else {
            return Ok(()); // sockets, devices
        };
        if kind != Kind::Dir && md.nlink() > 1 {
            if let Some(first) = self.links.get(&(md.dev(), md.ino())) {
                let e = Entry {
                    name: rel.clone(),
                    kind: Kind::Hardlink,
                    ..Entry::default()
                };
                let first = first.clone();
                self.w.create(&rel, &e, &first)?;
                return Ok(());
            }
            self.links.insert((md.dev(), md.ino()), rel.clone());
        }
        let mut e = self.entry_of(path, &md, rel.clone(), kind)?;
        match kind {
            Kind::Symlink => {
                let t = fs::read_link(path)
                    .map_err(|e| CoreError::io(format!("readlink {}", path.display()), e))?;
                e.link = t.as_os_str().as_bytes().to_vec();
                self.w.create(&rel, &e, b"")?;
            }
            Kind::Regular => {
                let mut f = OpenOptions::new()
                    .read(true)
                    .custom_flags(libc::O_NOFOLLOW)
                    .open(path)
                    .map_err(|e| CoreError::io(format!("open {}", path.display()), e))?;
                if self.w.create(&rel, &e, b"")? {
                    self.w.write_from(&mut f)?;
                }
                self.w.finish_entry()?;
            }
            Kind::Dir => {
                self.w.create(&rel, &e, b"")?;
                self.walk(path, &rel)?;
            }
            _ => {
                self.w.create(&rel, &e, b"")?;
            }
        }
        Ok(())
    }
}
