//! Squashing Docker/OCI layers into one ACI without extracting anything.
//!
//! docker2aci renders every layer to disk and tars the result. Here the layers
//! are read top layer first and each entry is decided on the spot: the first
//! (highest) layer to mention a path owns it, `.wh.NAME` whiteouts hide NAME
//! in the layers below, `.wh..wh..opq` hides everything below in that
//! directory, and a path under something an upper layer made a non-directory
//! is shadowed. Surviving entries are written straight into the ACI tar
//! (`manifest`, `rootfs`, `rootfs/...`) while it is hashed, so each layer is
//! decompressed once and the image is written once. The store key is the
//! SHA-512 of that tar, like any imported ACI.
//!
//! Nothing here touches the filesystem apart from the output file, but the
//! tar is later extracted, so a layer that tries to leave its root is refused
//! here with `UnsafePath`: names or hardlink targets climbing out with `..`,
//! and entries placed under a symlink of the same layer (the classic
//! `x -> /` then `x/etc/passwd`). Absolute symlink targets themselves are
//! normal in images (`/bin/sh -> /bin/busybox`) and are kept: they resolve
//! inside the pod's root, and the extractor never follows links.

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::io::{Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicU64;
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::thread;

use crate::cas::{key_from_hex, produce, TempBlob, CHUNK, QUEUE};
use crate::detect::{detect, FileType, DETECT_LEN};
use crate::digest::Sha512;
use crate::flusher::Flusher;
use crate::error::{CoreError, Result};
use crate::pathutil::{clean, parent, q};
use crate::tar_stream::{Entry, Kind, Sink, TarParser};
use crate::tar_write::{header_blocks, pad, TRAILER};

/// One layer blob as downloaded (compressed or not), with the name used in
/// error messages (its digest).
#[derive(Debug, Clone)]
pub struct LayerInput {
    pub path: PathBuf,
    pub name: String,
}

#[derive(Debug, Clone)]
pub struct SquashedAci {
    pub key: String,
    pub hash_hex: String,
    /// The ACI tar, fsynced, in the temp dir; pass it to `commit_blob`.
    pub tmp_path: PathBuf,
    /// BLAKE3 (64 hex) of the ACI tar (see ImportedAci::blob_digest).
    pub blob_digest: String,
    pub size: u64,
    pub files: u64,
}

const WHITEOUT: &[u8] = b".wh.";
const OPAQUE: &[u8] = b".wh..wh..opq";

/// Squashes `layers` (bottom layer first, as in the image manifest) under
/// `manifest` into a new ACI temp file in `tmp_dir`. On error the temp file is
/// gone before this returns.
pub fn squash_layers(layers: &[LayerInput], manifest: &[u8], tmp_dir: &Path) -> Result<SquashedAci> {
    let tmp = TempBlob::create(tmp_dir)?;
    let file = tmp
        .file
        .try_clone()
        .map_err(|e| CoreError::io("clone temp file handle", e))?;
    let (pool_tx, pool_rx) = sync_channel::<Vec<u8>>(QUEUE + 4);
    let (tx, rx) = sync_channel::<Vec<u8>>(QUEUE);
    let (files, written) = thread::scope(|s| {
        let writer = s.spawn(move || write_hashed(file, rx, pool_tx));
        let mut out = Out { buf: Vec::with_capacity(CHUNK), tx: Some(tx), pool: pool_rx };
        let res = emit_all(layers, manifest, &mut out);
        let res = res.and_then(|files| out.flush().map(|_| files));
        drop(out); // closes the channel so the writer ends
        let written = writer
            .join()
            .unwrap_or_else(|_| Err(CoreError::Io("writer thread panicked".into())));
        // The writer's error (disk full...) explains a closed channel.
        let written = written?;
        Ok::<_, CoreError>((res?, written))
    })?;
    let (hasher, b3, size) = written;
    tmp.file
        .sync_data()
        .map_err(|e| CoreError::io(format!("fsync {}", tmp.path.display()), e))?;
    let hash_hex = hasher.finish_hex();
    let blob_digest = b3.finalize().to_hex().to_string();
    Ok(SquashedAci { key: key_from_hex(&hash_hex), hash_hex, tmp_path: tmp.keep(), blob_digest, size, files })
}

fn emit_all(layers: &[LayerInput], manifest: &[u8], out: &mut Out) -> Result<u64> {
    let mut hdr = Vec::with_capacity(1024);
    let m = Entry { name: b"manifest".to_vec(), mode: 0o644, size: manifest.len() as u64, ..Entry::default() };
    header_blocks(&m, b"manifest", b"", &mut hdr);
    out.write(&hdr)?;
    out.write(manifest)?;
    out.write(&vec![0u8; pad(manifest.len() as u64) as usize])?;
    hdr.clear();
    let root = Entry { name: b"rootfs".to_vec(), kind: Kind::Dir, mode: 0o755, ..Entry::default() };
    header_blocks(&root, b"rootfs", b"", &mut hdr);
    out.write(&hdr)?;

    let mut sq = Squasher::default();
    for (idx, layer) in layers.iter().enumerate().rev() {
        sq.layer = idx;
        sq.checked_parents.clear();
        let mut sink = LayerSink { sq: &mut sq, out, layer: &layer.name, emitting: false, remaining_pad: 0 };
        stream_layer(layer, &mut sink)?;
        sq.end_layer();
    }
    sq.emit_deferred(out)?;
    out.write(&TRAILER)?;
    Ok(sq.files)
}

/// What the layers above have decided about a path.
#[derive(Clone, Copy, PartialEq, Eq)]
struct Owner {
    layer: usize,
    kind: Kind,
    /// A directory that only exists as the parent of an upper layer's entry: lower layers may
    /// still set its metadata (their directory entry), but nothing else may take its place.
    implicit: bool,
}

#[derive(Default)]
struct Squasher {
    layer: usize,
    /// Every path emitted (or deferred), with the layer that owns it.
    owned: HashMap<Vec<u8>, Owner>,
    /// Paths whited out by upper layers: the path itself and all below it.
    hidden: HashSet<Vec<u8>>,
    /// Opaque directories of upper layers: everything below them.
    opaque: HashSet<Vec<u8>>,
    /// This layer's whiteouts, applied to the layers below once it ends.
    pending_hidden: Vec<Vec<u8>>,
    pending_opaque: Vec<Vec<u8>>,
    /// Hardlinks whose target lives in a lower layer, so it is not in the
    /// output yet: written at the end, after every target.
    deferred: Vec<(Entry, Vec<u8>, Vec<u8>)>,
    /// Parent directories already found visible in this layer.
    checked_parents: HashSet<Vec<u8>>,
    files: u64,
}

enum Decision {
    Skip,
    Emit,
}

impl Squasher {
    fn end_layer(&mut self) {
        self.hidden.extend(self.pending_hidden.drain(..));
        self.opaque.extend(self.pending_opaque.drain(..));
    }

    /// Is `name` (cleaned, relative, not a whiteout) of kind `kind` visible from this layer?
    fn decide(&mut self, name: &[u8], kind: Kind, layer_name: &str) -> Result<Decision> {
        if self.hidden.contains(name) {
            return Ok(Decision::Skip);
        }
        if let Some(o) = self.owned.get(name) {
            // A later entry of the same layer replaces the earlier one, as
            // extracting the layer would; an upper layer's entry wins, except
            // that the first real entry of an implied directory gives it its
            // metadata.
            if o.layer != self.layer && !(o.implicit && kind == Kind::Dir) {
                return Ok(Decision::Skip);
            }
        }
        let p = parent(name);
        if p.is_empty() || self.checked_parents.contains(p) {
            return Ok(Decision::Emit);
        }
        let mut a = p;
        while !a.is_empty() {
            if self.hidden.contains(a) || self.opaque.contains(a) {
                return Ok(Decision::Skip);
            }
            if let Some(o) = self.owned.get(a) {
                if o.kind != Kind::Dir {
                    if o.layer != self.layer {
                        return Ok(Decision::Skip); // shadowed by an upper non-directory
                    }
                    return Err(if o.kind == Kind::Symlink {
                        CoreError::unsafe_path(format!(
                            "layer {layer_name}: {} is placed under the symlink {}",
                            q(name),
                            q(a)
                        ))
                    } else {
                        CoreError::format(format!(
                            "layer {layer_name}: {} is placed under the non-directory {}",
                            q(name),
                            q(a)
                        ))
                    });
                }
            }
            a = parent(a);
        }
        self.checked_parents.insert(p.to_vec());
        Ok(Decision::Emit)
    }

    /// Records `rel` as this layer's, and its missing ancestors as implied directories.
    fn own(&mut self, rel: &[u8], kind: Kind) {
        let layer = self.layer;
        self.owned.insert(rel.to_vec(), Owner { layer, kind, implicit: false });
        let mut p = parent(rel);
        while !p.is_empty() && !self.owned.contains_key(p) {
            self.owned.insert(p.to_vec(), Owner { layer, kind: Kind::Dir, implicit: true });
            p = parent(p);
        }
    }

    fn emit_deferred(&mut self, out: &mut Out) -> Result<()> {
        let mut hdr = Vec::with_capacity(1024);
        for (e, rel, target) in std::mem::take(&mut self.deferred) {
            let ok = self.owned.get(&target).is_some_and(|o| o.kind == Kind::Regular || o.kind == Kind::Hardlink);
            if !ok {
                return Err(CoreError::format(format!(
                    "hardlink {} points to {}, which no layer provides",
                    q(&rel),
                    q(&target)
                )));
            }
            hdr.clear();
            header_blocks(&e, &rooted(&rel), &rooted(&target), &mut hdr);
            out.write(&hdr)?;
            self.files += 1;
        }
        Ok(())
    }
}

/// "rootfs/" + a layer-relative path.
fn rooted(rel: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(rel.len() + 7);
    v.extend_from_slice(b"rootfs/");
    v.extend_from_slice(rel);
    v
}

/// A layer name made relative to the layer root the way Docker applies it
/// (leading `/` and `./` dropped, cleaned); climbing out is refused.
fn layer_rel(raw: &[u8], what: &str, layer: &str, entry: &[u8]) -> Result<Vec<u8>> {
    let mut s = raw;
    while let Some(r) = s.strip_prefix(b"/") {
        s = r;
    }
    let c = clean(s);
    if c == b".." || c.starts_with(b"../") {
        return Err(CoreError::unsafe_path(format!(
            "layer {layer}: {what} {} of {} escapes the image root",
            q(raw),
            q(entry)
        )));
    }
    Ok(if c == b"." { Vec::new() } else { c })
}

struct LayerSink<'a> {
    sq: &'a mut Squasher,
    out: &'a mut Out,
    layer: &'a str,
    emitting: bool,
    remaining_pad: u64,
}

impl Sink for LayerSink<'_> {
    fn entry(&mut self, e: &Entry) -> Result<bool> {
        let rel = layer_rel(&e.name, "name", self.layer, &e.name)?;
        if rel.is_empty() {
            return Ok(false); // the layer root: the ACI has its own rootfs entry
        }
        let base = rel.rsplit(|&c| c == b'/').next().unwrap_or(&rel);
        if let Some(hidden) = base.strip_prefix(WHITEOUT) {
            let dir = parent(&rel);
            if base == OPAQUE {
                self.sq.pending_opaque.push(dir.to_vec());
            } else if !hidden.starts_with(WHITEOUT) {
                // (other `.wh..wh.*` names are aufs bookkeeping, ignored)
                let mut t = dir.to_vec();
                if !t.is_empty() {
                    t.push(b'/');
                }
                t.extend_from_slice(hidden);
                self.sq.pending_hidden.push(t);
            }
            return Ok(false);
        }
        if let Decision::Skip = self.sq.decide(&rel, e.kind, self.layer)? {
            return Ok(false);
        }
        let target = if e.kind == Kind::Hardlink {
            let t = layer_rel(&e.link, "hardlink target", self.layer, &e.name)?;
            if t.is_empty() {
                return Err(CoreError::format(format!("layer {}: hardlink {} has no target", self.layer, q(&e.name))));
            }
            Some(t)
        } else {
            None
        };
        self.sq.own(&rel, e.kind);
        if let Some(t) = target {
            if !self.sq.owned.contains_key(&t) {
                self.sq.deferred.push((e.clone(), rel, t));
                return Ok(false);
            }
            let mut hdr = Vec::with_capacity(1024);
            header_blocks(e, &rooted(&rel), &rooted(&t), &mut hdr);
            self.out.write(&hdr)?;
            self.sq.files += 1;
            return Ok(false);
        }
        let mut hdr = Vec::with_capacity(1024);
        header_blocks(e, &rooted(&rel), &e.link, &mut hdr);
        self.out.write(&hdr)?;
        self.sq.files += 1;
        self.emitting = e.kind == Kind::Regular && e.size > 0;
        self.remaining_pad = if self.emitting { pad(e.size) } else { 0 };
        Ok(self.emitting)
    }

    fn data(&mut self, chunk: &[u8]) -> Result<()> {
        self.out.write(chunk)
    }

    fn end_entry(&mut self) -> Result<()> {
        if std::mem::take(&mut self.emitting) {
            let n = std::mem::take(&mut self.remaining_pad) as usize;
            self.out.write(&[0u8; 512][..n])?;
        }
        Ok(())
    }
}

/// Decompresses one layer on its own thread and parses it on this one.
fn stream_layer(layer: &LayerInput, sink: &mut LayerSink) -> Result<()> {
    let ctx = |what: &str| format!("layer {}: {what} {}", layer.name, layer.path.display());
    let mut file = File::open(&layer.path).map_err(|e| CoreError::io(ctx("open"), e))?;
    let mut head = [0u8; DETECT_LEN];
    let n = crate::cas::read_full(&mut file, &mut head).map_err(|e| CoreError::io(ctx("read"), e))?;
    let ft = detect(&head[..n]);
    let ft = match ft {
        FileType::Gzip | FileType::Bzip2 | FileType::Xz => ft,
        _ if head[..n].starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) => {
            return Err(CoreError::format(format!(
                "layer {}: zstd-compressed layers are not supported",
                layer.name
            )))
        }
        // Plain tar; old v7 headers and all-zero (empty) archives have no magic,
        // and the parser rejects anything that is not tar by its checksums.
        FileType::Tar | FileType::Unknown => FileType::Tar,
        FileType::Text if n == 0 => FileType::Tar,
        FileType::Text => {
            return Err(CoreError::format(format!(
                "layer {}: not a tar archive (plain, gzip, bzip2 or xz)",
                layer.name
            )))
        }
    };
    file.seek(SeekFrom::Start(0)).map_err(|e| CoreError::io(ctx("seek"), e))?;
    let counter = AtomicU64::new(0);
    let (tx, rx) = sync_channel::<Vec<u8>>(QUEUE);
    let (pool_tx, pool_rx) = sync_channel::<Vec<u8>>(QUEUE + 4);
    let mut parser = TarParser::new();
    let tag = |e: CoreError| match e {
        CoreError::ImageFormat(m) => CoreError::ImageFormat(format!("layer {}: {m}", layer.name)),
        other => other,
    };
    thread::scope(|s| {
        let producer = s.spawn(|| produce(file, ft, &counter, tx, pool_rx, &layer.path, None));
        let mut res = Ok(());
        for buf in rx.iter() {
            res = parser.push(&buf, sink);
            let _ = pool_tx.try_send(buf);
            if res.is_err() {
                break;
            }
        }
        drop(rx); // stops the producer if we failed early
        let produced = producer
            .join()
            .unwrap_or_else(|_| Err(CoreError::Io("decompression thread panicked".into())));
        // A decompression error (truncated stream) explains a parse error.
        produced.map_err(tag)?;
        res?;
        parser.finish().map_err(tag)
    })
}

/// The output stream: fills CHUNK-sized buffers and hands them to the writer.
struct Out {
    buf: Vec<u8>,
    tx: Option<SyncSender<Vec<u8>>>,
    pool: Receiver<Vec<u8>>,
}

impl Out {
    fn write(&mut self, mut data: &[u8]) -> Result<()> {
        while !data.is_empty() {
            let n = (CHUNK - self.buf.len()).min(data.len());
            self.buf.extend_from_slice(&data[..n]);
            data = &data[n..];
            if self.buf.len() == CHUNK {
                self.flush()?;
            }
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let mut next = self.pool.try_recv().unwrap_or_else(|_| Vec::with_capacity(CHUNK));
        next.clear();
        let full = std::mem::replace(&mut self.buf, next);
        match &self.tx {
            Some(tx) if tx.send(full).is_ok() => Ok(()),
            _ => Err(CoreError::Io("output writer stopped".into())),
        }
    }
}

/// Hashes and writes the output chunks (its own thread, so the parse and the
/// SHA-512 overlap), then hands the buffers back. The blob is flushed as it is
/// written (flusher.rs); the caller's fsync then finds little left.
fn write_hashed(mut f: File, rx: Receiver<Vec<u8>>, pool: SyncSender<Vec<u8>>) -> Result<(Sha512, blake3::Hasher, u64)> {
    let mut h = Sha512::new();
    let mut b3 = blake3::Hasher::new();
    let mut size = 0u64;
    let mut flusher = Flusher::start(&f, 0);
    for buf in rx {
        h.update(&buf);
        b3.update(&buf);
        f.write_all(&buf).map_err(|e| CoreError::io("write temp file", e))?;
        flusher.wrote(buf.len() as u64);
        size += buf.len() as u64;
        let _ = pool.try_send(buf);
    }
    let outcome = flusher.outcome();
    drop(flusher);
    outcome.take().map_err(|e| CoreError::io("fsync temp file", e))?;
    Ok((h, b3, size))
}
