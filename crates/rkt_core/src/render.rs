//! Rendering an image with its dependencies into a tree (appc acirenderer) and
//! plain extraction of one ACI.
//!
//! appc selects files in a first pass over every image and extracts them in a
//! second. The selection of an entry depends only on what earlier images and
//! earlier entries provided, so deciding and extracting in the same pass, in
//! the same order (top image first), gives the same tree from one read of each
//! blob. A second thread computes the content digests of the tree hash as the
//! bytes go by, so that the hash comes out of the render itself (see
//! treehash.rs) instead of a second walk; each unverified blob's own hash is
//! checked by a thread of its own.

use std::collections::{HashMap, HashSet};
use std::fs;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::mpsc::{sync_channel, SyncSender};
use std::sync::Arc;
use std::thread;

use crate::aci_scan::check_entry_names;
use crate::cas::KEY_HEX_LEN;
use crate::error::{CoreError, Result};
use crate::file_writer::{self, FileOp, WriterState};
use crate::hashwork::{self, Seg, Work};
use crate::pathutil::{clean, parent, q};
use crate::safe_fs::SafeWriter;
use crate::tar_stream::{Entry, Kind, Sink, TarParser};
use crate::treehash::{tree_hash, NONE};

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
    /// The caller hashed this blob itself and knows it matches `key` (it was
    /// imported by this process just now): skip re-hashing it.
    pub verified: bool,
    /// The BLAKE3 of the blob's bytes recorded when it was imported (ImportedAci::blob_digest),
    /// if known: an unverified blob is checked against it, and against `key` only when it
    /// differs (the record can be stale: a crash between a re-import's rename and its row).
    pub blob_digest: Option<String>,
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
    render_tree_hashed(images, dest).map(|(s, _)| s)
}

/// `render_tree`, also returning the tree hash of what it rendered (equal to
/// `tree_hash(dest)` of the result, computed without reading it back).
pub fn render_tree_hashed(images: &[RenderImage], dest: &Path) -> Result<(RenderStats, String)> {
    render_tree_checked(images, dest).map(|r| (r.stats, r.hash))
}

/// What `render_tree_checked` did.
#[derive(Debug, Clone)]
pub struct Rendered {
    pub stats: RenderStats,
    /// The tree hash (see `render_tree_hashed`).
    pub hash: String,
    /// (key, BLAKE3 of the blob's bytes) for each blob checked against its key because its
    /// `blob_digest` was missing or stale: the digest of the bytes just verified, for the caller
    /// to record so that the next render checks it instead.
    pub new_digests: Vec<(String, String)>,
}

/// `render_tree_hashed`, also giving the blob digests to record.
pub fn render_tree_checked(images: &[RenderImage], dest: &Path) -> Result<Rendered> {
    if images.is_empty() {
        return Err(CoreError::format("image list empty"));
    }
    let wants: Vec<Option<String>> = images
        .iter()
        .map(|i| if i.verified { Ok(None) } else { key_hex(&i.key).map(Some) })
        .collect::<Result<_>>()?;
    fs::create_dir_all(dest).map_err(|e| CoreError::io(format!("create {}", dest.display()), e))?;
    let mut w = SafeWriter::open(dest)?;
    w.record();
    let writer_state = Arc::new(WriterState::default());
    w.defer_files(writer_state.clone());
    // One image without a whitelist: nothing can be shadowed, skip the bookkeeping.
    let track = images.len() > 1 || images.iter().any(|i| !i.path_whitelist.is_empty());
    let mut provided: HashMap<Vec<u8>, bool> = HashMap::new();
    let mut stats = RenderStats::default();
    thread::scope(|s| {
        // Each unverified blob is hashed by a thread of its own reading the blob itself (from the
        // page cache), not from the chunks the render has parsed: an image's small files make the
        // render slow and its large ones make the hash slow, so a hash that followed the render
        // could not work ahead and the two took turns (a 200 MiB image rendered ~35% slower).
        let blob_hashes: Vec<_> = images
            .iter()
            .filter(|i| !i.verified)
            .map(|i| s.spawn(|| check_blob(i)))
            .collect();
        // The chunks go from this thread (parsing, creating entries) to the file writer (data and
        // metadata of regular files) to the hash thread (content digests), which recycles them.
        let (tx, wrx) = sync_channel::<(Work, Vec<FileOp>)>(QUEUE);
        let (wtx, rx) = sync_channel::<Work>(QUEUE);
        let (pool_tx, pool_rx) = sync_channel::<Vec<u8>>(2 * QUEUE + 4);
        let root_shown = dest.display().to_string();
        let is_root = rustix::process::geteuid().is_root();
        let ws = writer_state.clone();
        let writer = s.spawn(move || file_writer::run(wrx, wtx, ws, root_shown, is_root));
        let hasher = s.spawn(move || hashwork::run(rx, Some(pool_tx)));
        let mut result = Ok(());
        let mut read_err = None;
        for (i, img) in images.iter().enumerate() {
            let select = Select::Render {
                first: i == 0,
                own_pwl: pwl_set(&img.path_whitelist),
                upper_pwl: upper_pwl(images, i),
                track,
            };
            let mut sink = ExtractSink::new(&mut w, select, &mut provided, &mut stats);
            let mut parser = TarParser::new();
            let r = feed_blob(&img.blob_path, &tx, &pool_rx, &writer_state, |chunk, segs, ops| match chunk {
                Some(c) => {
                    sink.begin_chunk(c);
                    let r = parser.push(c, &mut sink);
                    segs.append(&mut sink.segs);
                    ops.append(&mut sink.w.take_ops());
                    r
                }
                None => {
                    let r = parser.finish();
                    ops.append(&mut sink.w.take_ops());
                    r
                }
            });
            match r {
                Ok(Ok(())) => {}
                Ok(Err(e)) => {
                    result = Err(e);
                    break;
                }
                Err(e) => {
                    read_err = Some(CoreError::io(format!("read {}", img.blob_path.display()), e));
                    break;
                }
            }
        }
        if result.is_ok() && read_err.is_none() {
            result = w.finish_entry();
        }
        let rest = w.take_ops();
        if !rest.is_empty() {
            let _ = tx.send((Work::Chunk { buf: Vec::new(), segs: Vec::new(), blob: false }, rest));
        }
        drop(tx);
        let written = writer
            .join()
            .map_err(|_| CoreError::Io("file writer thread panicked".into()))?;
        let out = hasher
            .join()
            .map_err(|_| CoreError::Io("hash thread panicked".into()))?;
        let got: Vec<Result<Option<(String, String)>>> = blob_hashes
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|_| Err(CoreError::Io("blob hash thread panicked".into()))))
            .collect();
        // A tampered blob explains whatever else went wrong: it wins.
        let unverified = images.iter().zip(&wants).filter_map(|(i, w)| w.as_ref().map(|w| (i, w)));
        let mut new_digests = Vec::new();
        for ((img, want), got) in unverified.zip(&got) {
            let Ok(Some((got, digest))) = got else { continue };
            if !got.starts_with(want.as_str()) {
                return Err(CoreError::HashMismatch(format!(
                    "{}: image hash does not match expected (sha512-{} != {})",
                    img.blob_path.display(),
                    &got[..KEY_HEX_LEN],
                    img.key
                )));
            }
            new_digests.push((img.key.clone(), digest.clone()));
        }
        if let Some(e) = read_err {
            return Err(e);
        }
        if let Some(Err(e)) = got.into_iter().find(|g| g.is_err()) {
            return Err(e);
        }
        result?;
        if let Some(e) = written {
            return Err(e);
        }
        let recorded = w.records().and_then(|r| r.finish(&out.contents));
        w.finish()?;
        let hash = match recorded {
            Some(h) => h,
            None => tree_hash(dest)?,
        };
        Ok(Rendered { stats, hash, new_digests })
    })
}

/// Checks an unverified blob: None when its bytes have the digest recorded at import, else the
/// full SHA-512 of its tar for the caller to compare with the key, and the digest of its bytes.
fn check_blob(img: &RenderImage) -> Result<Option<(String, String)>> {
    if let Some(want) = img.blob_digest.as_deref().filter(|d| !d.is_empty()) {
        if crate::blob::digest_bytes(&img.blob_path)? == want {
            return Ok(None);
        }
    }
    crate::blob::hash_blob_and_digest(&img.blob_path).map(Some)
}

/// Reads a blob chunk by chunk into pooled buffers, calls `f` on each (then
/// with None at the end) and passes the chunk on to the file writer with the
/// file-data segments and writer ops `f` found; stops at `f`'s first error, or
/// when the writer failed (it reports why). Outer error: reading failed; inner:
/// what `f` said. (The blob's own hash is taken apart, see render_tree_hashed.)
fn feed_blob(
    path: &Path,
    tx: &SyncSender<(Work, Vec<FileOp>)>,
    pool: &std::sync::mpsc::Receiver<Vec<u8>>,
    writer: &WriterState,
    mut f: impl FnMut(Option<&[u8]>, &mut Vec<Seg>, &mut Vec<FileOp>) -> Result<()>,
) -> io::Result<Result<()>> {
    let mut file = crate::blob::open_blob(path)?;
    loop {
        if writer.failed.load(Ordering::Relaxed) {
            return Ok(Ok(()));
        }
        let mut buf = pool.try_recv().unwrap_or_default();
        buf.resize(CHUNK, 0);
        let n = read_full(&mut file, &mut buf)?;
        if n == 0 {
            break;
        }
        buf.truncate(n);
        let mut segs = Vec::new();
        let mut ops = Vec::new();
        let result = f(Some(&buf), &mut segs, &mut ops);
        // Even on error: the writer must get the fds (it closes them).
        if tx.send((Work::Chunk { buf, segs, blob: false }, ops)).is_err() || result.is_err() {
            return Ok(result);
        }
    }
    let mut ops = Vec::new();
    let result = f(None, &mut Vec::new(), &mut ops);
    if !ops.is_empty() {
        let _ = tx.send((Work::Chunk { buf: Vec::new(), segs: Vec::new(), blob: false }, ops));
    }
    Ok(result)
}

/// Untars one ACI into `dest` (`manifest` and `rootfs/`), or with
/// `rootfs_only` the contents of its rootfs directly into `dest`.
pub fn extract_aci(blob_path: &Path, dest: &Path, rootfs_only: bool) -> Result<()> {
    fs::create_dir_all(dest).map_err(|e| CoreError::io(format!("create {}", dest.display()), e))?;
    let mut w = SafeWriter::open(dest)?;
    let mut provided = HashMap::new();
    let mut stats = RenderStats::default();
    let mut sink = ExtractSink::new(&mut w, Select::Extract { rootfs_only }, &mut provided, &mut stats);
    let mut parser = TarParser::new();
    let ctx = || format!("read {}", blob_path.display());
    let mut file = crate::blob::open_blob(blob_path).map_err(|e| CoreError::io(ctx(), e))?;
    let mut buf = vec![0u8; CHUNK];
    loop {
        let n = read_full(&mut file, &mut buf).map_err(|e| CoreError::io(ctx(), e))?;
        if n == 0 {
            break;
        }
        sink.begin_chunk(&buf[..n]);
        parser.push(&buf[..n], &mut sink)?;
    }
    parser.finish()?;
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
    /// Where the chunk being parsed starts, to locate file data in it.
    base: usize,
    base_len: usize,
    /// File data found in the current chunk, for the hash thread.
    segs: Vec<Seg>,
}

impl<'a> ExtractSink<'a> {
    fn new(
        w: &'a mut SafeWriter,
        select: Select,
        provided: &'a mut HashMap<Vec<u8>, bool>,
        stats: &'a mut RenderStats,
    ) -> Self {
        ExtractSink { w, select, provided, stats, base: 0, base_len: 0, segs: Vec::new() }
    }

    fn begin_chunk(&mut self, c: &[u8]) {
        self.base = c.as_ptr() as usize;
        self.base_len = c.len();
    }
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
        Ok(want)
    }

    fn data(&mut self, chunk: &[u8]) -> Result<()> {
        self.stats.bytes += chunk.len() as u64;
        // The parser hands out pieces of the chunk it was given.
        let start = (chunk.as_ptr() as usize).wrapping_sub(self.base);
        if start > self.base_len || self.base_len - start < chunk.len() {
            return Err(CoreError::Io("file data outside the chunk being parsed".into()));
        }
        let slot = self.w.current_slot();
        if slot != NONE {
            self.segs.push(Seg { slot, start: start as u32, end: (start + chunk.len()) as u32 });
        }
        self.w.write(chunk, start)
    }

    fn end_entry(&mut self) -> Result<()> {
        // A no-op unless a file is open; the sink may be new since its data
        // began (a render fed during import makes one per chunk).
        self.w.finish_entry()
    }
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

/// A single-image render fed the tar as it is imported (cas.rs), so that a
/// fetched image is written to the tree store in the same pass that stores
/// its blob: no second read, and no second hash of the blob, whose bytes are
/// the ones being hashed for its key. A render error only stops the render
/// (the caller renders the stored blob instead and reports it then).
pub(crate) struct StreamTree {
    dir: PathBuf,
    w: SafeWriter,
    parser: TarParser,
    provided: HashMap<Vec<u8>, bool>,
    stats: RenderStats,
    error: Option<CoreError>,
}

/// What a render during import produced, in a temp dir the caller moves into
/// the tree store (or removes).
#[derive(Debug, Clone)]
pub struct StreamedTree {
    pub dir: PathBuf,
    pub stats: RenderStats,
    /// Tree hash, as `tree_hash(dir)` gives it.
    pub hash: String,
}

impl StreamTree {
    pub(crate) fn create(dir: PathBuf) -> Result<Self> {
        fs::create_dir(&dir).map_err(|e| CoreError::io(format!("create {}", dir.display()), e))?;
        let w = SafeWriter::open(&dir);
        let mut w = match w {
            Ok(w) => w,
            Err(e) => {
                let _ = fs::remove_dir_all(&dir);
                return Err(e);
            }
        };
        w.record();
        // The tree store syncs the filesystem before marking the tree rendered.
        w.start_writeback();
        Ok(StreamTree {
            dir,
            w,
            parser: TarParser::new(),
            provided: HashMap::new(),
            stats: RenderStats::default(),
            error: None,
        })
    }

    /// Renders what `buf` holds; appends where its file data lie to `segs`.
    pub(crate) fn push(&mut self, buf: &[u8], segs: &mut Vec<Seg>) {
        if self.error.is_some() {
            return;
        }
        let select = Select::Render { first: true, own_pwl: None, upper_pwl: None, track: false };
        let mut sink = ExtractSink::new(&mut self.w, select, &mut self.provided, &mut self.stats);
        sink.begin_chunk(buf);
        let r = self.parser.push(buf, &mut sink);
        let mut found = std::mem::take(&mut sink.segs);
        match r {
            Ok(()) => segs.append(&mut found),
            Err(e) => self.error = Some(e),
        }
    }

    /// The finished tree given the content digests, or why there is none
    /// (the temp dir is then gone).
    pub(crate) fn finish(self, digests: &[Option<crate::treehash::Digest>]) -> std::result::Result<StreamedTree, CoreError> {
        let dir = self.dir.clone();
        let r = self.finish_inner(digests);
        if r.is_err() {
            let _ = fs::remove_dir_all(&dir);
        }
        r
    }

    fn finish_inner(mut self, digests: &[Option<crate::treehash::Digest>]) -> Result<StreamedTree> {
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        self.parser.finish()?;
        let hash = self.w.records().and_then(|r| r.finish(digests));
        self.w.finish()?;
        let hash = match hash {
            Some(h) => h,
            None => tree_hash(&self.dir)?,
        };
        Ok(StreamedTree { dir: self.dir, stats: self.stats, hash })
    }

    /// Removes the partial tree.
    pub(crate) fn discard(self) {
        let _ = fs::remove_dir_all(&self.dir);
    }
}
