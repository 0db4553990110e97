//! Rendering an image with its dependencies into a tree (appc acirenderer) and
//! plain extraction of one ACI.
//!
//! appc selects files in a first pass over every image and extracts them in a
//! second. The selection of an entry depends only on what earlier images and
//! earlier entries provided, so deciding and extracting in the same pass, in
//! the same order (top image first), gives the same tree from one read of each
//! blob. The blob's hash is checked on a second thread as the bytes go by.

use std::collections::{HashMap, HashSet, VecDeque};
use std::fs::{self, File};
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::mpsc::sync_channel;
use std::sync::Arc;
use std::thread;

use crate::aci_scan::check_entry_names;
use crate::cas::KEY_HEX_LEN;
use crate::digest::Sha512;
use crate::error::{CoreError, Result};
use crate::pathutil::{clean, parent, q};
use crate::safe_fs::SafeWriter;
use crate::tar_stream::{Entry, Kind, Sink, TarParser};

const CHUNK: usize = 1 << 20;
const QUEUE: usize = 4;

#[derive(Debug, Clone)]
pub struct RenderImage {
    pub blob_path: PathBuf,
    /// "sha512-" + 64 hex; the blob must hash to it.
    pub key: String,
    /// Depth in the dependency tree (0 = the image being rendered).
    pub level: u32,
    /// The image manifest's pathWhitelist (absolute paths inside rootfs).
    pub path_whitelist: Vec<String>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RenderStats {
    /// Entries created (directories, files, links, fifos; not device nodes).
    pub files: u64,
    /// Bytes of regular-file data written.
    pub bytes: u64,
}

/// Renders `images` (dependency-list order, index 0 = the top image) into
/// `dest`: the top image's `manifest` and the merged `rootfs/`. On error the
/// destination is left partial; the caller removes it.
pub fn render_tree(images: &[RenderImage], dest: &Path) -> Result<RenderStats> {
    if images.is_empty() {
        return Err(CoreError::format("image list empty"));
    }
    fs::create_dir_all(dest).map_err(|e| CoreError::io(format!("create {}", dest.display()), e))?;
    let mut w = SafeWriter::open(dest)?;
    // One image without a whitelist: nothing can be shadowed, skip the bookkeeping.
    let track = images.len() > 1 || images.iter().any(|i| !i.path_whitelist.is_empty());
    let mut provided: HashMap<Vec<u8>, bool> = HashMap::new();
    let mut stats = RenderStats::default();
    for (i, img) in images.iter().enumerate() {
        let select = Select::Render {
            first: i == 0,
            own_pwl: pwl_set(&img.path_whitelist),
            upper_pwl: upper_pwl(images, i),
            track,
        };
        let mut sink = ExtractSink {
            w: &mut w,
            select,
            provided: &mut provided,
            stats: &mut stats,
            writing: false,
        };
        let mut parser = TarParser::new();
        stream_blob(&img.blob_path, Some(&img.key), |chunk| match chunk {
            Some(c) => parser.push(c, &mut sink),
            None => parser.finish(),
        })?;
    }
    w.finish()?;
    Ok(stats)
}

/// Untars one ACI into `dest` (`manifest` and `rootfs/`), or with
/// `rootfs_only` the contents of its rootfs directly into `dest`.
pub fn extract_aci(blob_path: &Path, dest: &Path, rootfs_only: bool) -> Result<()> {
    fs::create_dir_all(dest).map_err(|e| CoreError::io(format!("create {}", dest.display()), e))?;
    let mut w = SafeWriter::open(dest)?;
    let mut provided = HashMap::new();
    let mut stats = RenderStats::default();
    let mut sink = ExtractSink {
        w: &mut w,
        select: Select::Extract { rootfs_only },
        provided: &mut provided,
        stats: &mut stats,
        writing: false,
    };
    let mut parser = TarParser::new();
    stream_blob(blob_path, None, |chunk| match chunk {
        Some(c) => parser.push(c, &mut sink),
        None => parser.finish(),
    })?;
    w.finish()
}

/// appc's getUpperPWLM: the whitelist of the highest ancestor of `pos` (on
/// its branch of the dependency list) that has one. Walking back, an image is
/// an ancestor when its level is below every level seen so far. (appc's code
/// compares with the previous element instead, which lets a sibling subtree's
/// whitelist leak onto a later sibling; the spec's intent is followed here.)
fn upper_pwl(images: &[RenderImage], pos: usize) -> Option<HashSet<Vec<u8>>> {
    let mut pwl = None;
    let mut cur = images[pos].level;
    for img in images[..pos].iter().rev() {
        if img.level < cur {
            if !img.path_whitelist.is_empty() {
                pwl = pwl_set(&img.path_whitelist);
            }
            cur = img.level;
        }
    }
    pwl
}

/// Whitelist paths as tar names: filepath.Join("rootfs", p).
fn pwl_set(pwl: &[String]) -> Option<HashSet<Vec<u8>>> {
    if pwl.is_empty() {
        return None;
    }
    Some(
        pwl.iter()
            .map(|p| {
                let mut s = b"rootfs/".to_vec();
                s.extend_from_slice(p.as_bytes());
                clean(&s)
            })
            .collect(),
    )
}

enum Select {
    Render {
        first: bool,
        own_pwl: Option<HashSet<Vec<u8>>>,
        upper_pwl: Option<HashSet<Vec<u8>>>,
        track: bool,
    },
    Extract {
        rootfs_only: bool,
    },
}

struct ExtractSink<'a> {
    w: &'a mut SafeWriter,
    select: Select,
    /// appc's allFiles: every selected name, and whether it is a directory.
    provided: &'a mut HashMap<Vec<u8>, bool>,
    stats: &'a mut RenderStats,
    writing: bool,
}

impl ExtractSink<'_> {
    /// The destination-relative path for an entry, or None to skip it.
    fn choose(&mut self, name: Vec<u8>, e: &Entry) -> Option<Vec<u8>> {
        match &self.select {
            Select::Extract { rootfs_only } => match name.as_slice() {
                b"manifest" if !rootfs_only => Some(name),
                b"rootfs" if e.kind == Kind::Dir => {
                    Some(if *rootfs_only { Vec::new() } else { name })
                }
                n if n.starts_with(b"rootfs/") => Some(if *rootfs_only {
                    n[b"rootfs/".len()..].to_vec()
                } else {
                    name
                }),
                _ => None,
            },
            Select::Render {
                first,
                own_pwl,
                upper_pwl,
                track,
            } => {
                if name == b"manifest" {
                    return first.then_some(name);
                }
                if name == b"rootfs" && e.kind == Kind::Dir {
                    // Every image's rootfs entry is applied, so the last one
                    // in the list sets its metadata, as in rkt.
                    self.provided.insert(name.clone(), true);
                    return Some(name);
                }
                if !name.starts_with(b"rootfs/") {
                    return None;
                }
                if e.kind != Kind::Dir && own_pwl.as_ref().is_some_and(|p| !p.contains(&name)) {
                    return None;
                }
                if upper_pwl.as_ref().is_some_and(|p| !p.contains(&name)) {
                    return None;
                }
                if *track {
                    if self.provided.contains_key(&name) {
                        return None;
                    }
                    let mut p = parent(&name);
                    while !p.is_empty() {
                        if self.provided.get(p) == Some(&false) {
                            return None;
                        }
                        p = parent(p);
                    }
                    self.provided.insert(name.clone(), e.kind == Kind::Dir);
                }
                Some(name)
            }
        }
    }

    fn link_target(&self, e: &Entry, rel: &[u8]) -> Result<Vec<u8>> {
        let t = clean(&e.link);
        match self.select {
            Select::Extract { rootfs_only: true } => match t.strip_prefix(b"rootfs/") {
                Some(s) => Ok(s.to_vec()),
                None => Err(CoreError::unsafe_path(format!(
                    "hardlink {} points to {} outside rootfs",
                    q(rel),
                    q(&t)
                ))),
            },
            _ => Ok(t),
        }
    }
}

impl Sink for ExtractSink<'_> {
    fn entry(&mut self, e: &Entry) -> Result<bool> {
        check_entry_names(e)?;
        let Some(rel) = self.choose(clean(&e.name), e) else {
            return Ok(false);
        };
        let target = if e.kind == Kind::Hardlink {
            self.link_target(e, &rel)?
        } else {
            Vec::new()
        };
        let want = self.w.create(&rel, e, &target)?;
        if !matches!(e.kind, Kind::Char | Kind::Block) {
            self.stats.files += 1;
        }
        self.writing = want;
        Ok(want)
    }

    fn data(&mut self, chunk: &[u8]) -> Result<()> {
        self.stats.bytes += chunk.len() as u64;
        self.w.write(chunk)
    }

    fn end_entry(&mut self) -> Result<()> {
        if std::mem::take(&mut self.writing) {
            self.w.finish_entry()?;
        }
        Ok(())
    }
}

/// Feeds a blob to `f` chunk by chunk (then `None` at the end). With a key,
/// a second thread hashes the same chunks; a mismatch wins over any error `f`
/// reported, because a tampered blob explains whatever went wrong.
fn stream_blob(
    path: &Path,
    key: Option<&str>,
    mut f: impl FnMut(Option<&[u8]>) -> Result<()>,
) -> Result<()> {
    let ctx = || format!("read {}", path.display());
    let mut file = File::open(path).map_err(|e| CoreError::io(ctx(), e))?;
    let Some(key) = key else {
        let mut buf = vec![0u8; CHUNK];
        loop {
            let n = read_full(&mut file, &mut buf).map_err(|e| CoreError::io(ctx(), e))?;
            if n == 0 {
                return f(None);
            }
            f(Some(&buf[..n]))?;
        }
    };
    let want = key_hex(key)?;

    thread::scope(|s| {
        let (tx, rx) = sync_channel::<Arc<Vec<u8>>>(QUEUE);
        let hasher = s.spawn(move || {
            let mut h = Sha512::new();
            for c in rx {
                h.update(&c[..]);
            }
            h.finish_hex()
        });
        let mut result = Ok(());
        let mut read_err = None;
        // Buffers come back once the hasher has dropped its reference.
        let mut inflight: VecDeque<Arc<Vec<u8>>> = VecDeque::new();
        loop {
            let mut buf = match inflight.front().map(Arc::strong_count) {
                Some(1) => Arc::try_unwrap(inflight.pop_front().unwrap()).unwrap_or_default(),
                _ => Vec::new(),
            };
            if inflight.len() > QUEUE + 2 {
                inflight.pop_front();
            }
            buf.resize(CHUNK, 0);
            let n = match read_full(&mut file, &mut buf) {
                Ok(n) => n,
                Err(e) => {
                    read_err = Some(e);
                    break;
                }
            };
            if n == 0 {
                break;
            }
            buf.truncate(n);
            let chunk = Arc::new(buf);
            if tx.send(chunk.clone()).is_err() {
                break;
            }
            if result.is_ok() {
                result = f(Some(&chunk[..]));
            }
            inflight.push_back(chunk);
        }
        if result.is_ok() && read_err.is_none() {
            result = f(None);
        }
        drop(tx);
        let got = hasher
            .join()
            .map_err(|_| CoreError::Io("hash thread panicked".into()))?;
        if let Some(e) = read_err {
            return Err(CoreError::io(ctx(), e));
        }
        if !got.starts_with(&want) {
            return Err(CoreError::HashMismatch(format!(
                "{}: image hash does not match expected (sha512-{} != {key})",
                path.display(),
                &got[..KEY_HEX_LEN]
            )));
        }
        result
    })
}

/// The hex part of a store key; at least the 64 digits rkt keeps.
fn key_hex(key: &str) -> Result<String> {
    let hex = key
        .strip_prefix("sha512-")
        .filter(|h| {
            (KEY_HEX_LEN..=128).contains(&h.len()) && h.bytes().all(|c| c.is_ascii_hexdigit())
        })
        .ok_or_else(|| CoreError::format(format!("invalid image key {key:?}")))?;
    Ok(hex.to_ascii_lowercase())
}

fn read_full(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}
