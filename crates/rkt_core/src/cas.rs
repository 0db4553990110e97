//! Importing an ACI into the content-addressed store: one streaming pass that
//! decompresses, hashes, stores and validates, so an image is read once however
//! large it is.

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufReader, Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::thread;

use crate::aci_scan::AciScanner;
use crate::detect::{detect, FileType, DETECT_LEN};
use crate::digest::Sha512;
use crate::error::{CoreError, Result};
use crate::flusher::{FlushOutcome, Flusher};
use crate::hashwork::{self, Work};
use crate::render::{StreamTree, StreamedTree};

/// Size of the pieces passed between the stages. 256 KiB measured ~20%
/// faster than 1 MiB here (chunks stay in cache between stages).
pub(crate) const CHUNK: usize = 256 << 10;
/// Chunks queued per channel; with two channels and the buffer pool the
/// pipeline holds about 10 MiB whatever the image size.
pub(crate) const QUEUE: usize = 16;
/// Length of a store key's hex part (rkt keeps half of the SHA-512).
pub const KEY_HEX_LEN: usize = 64;

#[derive(Debug, Clone)]
pub struct ImportedAci {
    /// "sha512-" + the first 64 hex digits of the SHA-512 of the tar.
    pub key: String,
    /// All 128 hex digits.
    pub hash_hex: String,
    /// The blob, fsynced, in the temp dir; pass it to `commit_blob`. For a
    /// gzip source it is the source's bytes, otherwise the tar (see blob.rs).
    pub tmp_path: PathBuf,
    /// `tmp_path` is the caller's `SourceCopy` file (its path, not a temp of ours).
    pub blob_is_source: bool,
    /// BLAKE3 (64 hex) of the blob's bytes as stored, computed from the same bytes that were
    /// hashed to `key`: a later read can check the blob against it at several times the speed
    /// of SHA-512 (render.rs).
    pub blob_digest: String,
    /// Uncompressed tar bytes.
    pub size: u64,
    /// Raw bytes of the `manifest` entry.
    pub manifest: Vec<u8>,
    pub file_type: FileType,
    /// With `render`: the image rendered alone (no dependencies, no
    /// whitelist applied) into a temp dir beside the blob, with its tree hash.
    pub tree: Option<StreamedTree>,
    /// With `render`, when there is no tree: why the render stopped.
    pub tree_error: Option<String>,
}

pub fn key_from_hex(hash_hex: &str) -> String {
    format!("sha512-{}", &hash_hex[..KEY_HEX_LEN.min(hash_hex.len())])
}

/// Imports `src` (an ACI, plain or gzip/bzip2/xz-compressed) into a new temp
/// file in `tmp_dir`. `progress`, if given, is called on the calling thread
/// after each chunk with the number of source (compressed) bytes read so far.
/// On any error the temp file is gone before this returns.
pub fn import_aci(
    src: &Path,
    tmp_dir: &Path,
    progress: Option<&(dyn Fn(u64) + Sync)>,
) -> Result<ImportedAci> {
    import_aci_with(src, tmp_dir, progress, false)
}

/// `import_aci`, rendering the image's tree in the same pass when `render`.
pub fn import_aci_with(
    src: &Path,
    tmp_dir: &Path,
    progress: Option<&(dyn Fn(u64) + Sync)>,
    render: bool,
) -> Result<ImportedAci> {
    let file =
        File::open(src).map_err(|e| CoreError::io(format!("open {}", src.display()), e))?;
    import_from(file, src, tmp_dir, progress, render, None)
}

/// A streamed source's copy on disk, kept by the caller across attempts (a
/// download's partial file, for resuming): the import writes every source
/// byte after the first `have` (already in the file) to it, and cuts the file
/// to `have` first. For a gzip source that copy becomes the blob
/// (`ImportedAci::blob_is_source`), so the bytes are written once.
#[derive(Debug, Clone)]
pub struct SourceCopy {
    pub path: PathBuf,
    pub have: u64,
}

impl SourceCopy {
    pub(crate) fn open(&self) -> Result<File> {
        let ctx = || format!("open {}", self.path.display());
        let f = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o640)
            .open(&self.path)
            .map_err(|e| CoreError::io(ctx(), e))?;
        f.set_len(self.have).map_err(|e| CoreError::io(ctx(), e))?;
        let mut f = f;
        io::Seek::seek(&mut f, io::SeekFrom::Start(self.have)).map_err(|e| CoreError::io(ctx(), e))?;
        Ok(f)
    }
}

/// The import of any byte source (a file, or a download as it arrives);
/// `src` names it in messages.
pub(crate) fn import_from<R: Read + Send>(
    mut input: R,
    src: &Path,
    tmp_dir: &Path,
    progress: Option<&(dyn Fn(u64) + Sync)>,
    render: bool,
    copy: Option<(SourceCopy, File)>,
) -> Result<ImportedAci> {
    let mut head = vec![0u8; DETECT_LEN];
    let n = read_full(&mut input, &mut head)
        .map_err(|e| CoreError::io(format!("read {}", src.display()), e))?;
    if n == 0 {
        return Err(CoreError::format("image file is empty"));
    }
    head.truncate(n);
    let file_type = detect(&head);
    match file_type {
        FileType::Text => return Err(CoreError::format("unknown image filetype (text file)")),
        FileType::Unknown => return Err(CoreError::format("unknown image filetype")),
        _ => {}
    }
    let input = io::Cursor::new(head).chain(input);

    let (copy, copy_file) = match copy {
        Some((c, f)) => (Some(c), Some(f)),
        None => (None, None),
    };
    let copy = copy.as_ref();
    let blob_is_source = copy.is_some() && file_type == FileType::Gzip;
    // A gzip source is stored as it comes (blob.rs); anything else as the tar.
    let tmp = if blob_is_source { None } else { Some(TempBlob::create(tmp_dir)?) };
    // The blob is flushed as it is written (flusher.rs); a non-gzip source's copy is only a
    // download's partial file, which needs no durability.
    // Whichever stage writes the blob also takes its BLAKE3.
    let mut outcome: Option<FlushOutcome> = None;
    let blob_b3 = Mutex::new(blake3::Hasher::new());
    let mut blob_writer = |f: &File, have: u64| {
        let fl = Flusher::start(f, have);
        outcome = Some(fl.outcome());
        BlobOut { flusher: fl, b3: &blob_b3 }
    };
    let raw_out = match (&copy_file, &tmp) {
        (Some(f), _) => {
            let have = copy.map_or(0, |c| c.have);
            let blob = if blob_is_source { Some(blob_writer(f, have)) } else { None };
            Some(Tee::new(f, have, blob))
        }
        (None, Some(t)) if file_type == FileType::Gzip => Some(Tee::new(&t.file, 0, Some(blob_writer(&t.file, 0)))),
        _ => None,
    };
    let tar_out = match &tmp {
        Some(t) if file_type != FileType::Gzip => Some((&t.file, blob_writer(&t.file, 0))),
        _ => None,
    };
    let mut tree_error = None;
    let mut tree = None;
    if render {
        let dir = tmp_dir.join(format!("render-{}-{:016x}", std::process::id(), random_u64()));
        match StreamTree::create(dir) {
            Ok(t) => tree = Some(t),
            Err(e) => tree_error = Some(e.to_string()),
        }
    }
    let piped = pipeline(input, file_type, raw_out, tar_out, progress, src, &mut tree);
    let (out, size, scanner) = match piped.and_then(|(o, n, sc)| Ok((o, n, sc.finish()?))) {
        Ok(v) => v,
        Err(e) => {
            if let Some(t) = tree.take() {
                t.discard();
            }
            return Err(e);
        }
    };
    let tree = match tree.map(|t| t.finish(&out.contents)) {
        Some(Ok(t)) => Some(t),
        Some(Err(e)) => {
            tree_error = Some(e.to_string());
            None
        }
        None => None,
    };
    let (blob_file, blob_path) = match (&tmp, &copy_file, copy) {
        (Some(t), _, _) => (&t.file, t.path.clone()),
        (None, Some(f), Some(c)) => (f, c.path.clone()),
        _ => unreachable!("a blob is always written somewhere"),
    };
    // The pipeline's threads are joined, so the flusher has stopped and its error (if any) is in.
    let synced = outcome
        .map_or(Ok(()), |o| o.take())
        .and_then(|()| blob_file.sync_data())
        .map_err(|e| CoreError::io(format!("fsync {}", blob_path.display()), e));
    if let Err(e) = synced {
        if let Some(t) = &tree {
            let _ = fs::remove_dir_all(&t.dir);
        }
        return Err(e);
    }
    let hash_hex = out.blobs.into_iter().next().unwrap_or_default();
    let blob_digest = blob_b3.into_inner().unwrap_or_default().finalize().to_hex().to_string();
    Ok(ImportedAci {
        key: key_from_hex(&hash_hex),
        hash_hex,
        blob_digest,
        tmp_path: match tmp {
            Some(t) => t.keep(),
            None => blob_path,
        },
        blob_is_source,
        size,
        manifest: scanner.manifest,
        file_type,
        tree,
        tree_error,
    })
}

/// Moves a finished temp blob to its place in the store and makes the rename
/// durable.
pub fn commit_blob(tmp_path: &Path, dest: &Path) -> Result<()> {
    let parent = match dest.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    fs::create_dir_all(parent)
        .map_err(|e| CoreError::io(format!("create {}", parent.display()), e))?;
    fs::rename(tmp_path, dest).map_err(|e| {
        CoreError::io(
            format!("rename {} to {}", tmp_path.display(), dest.display()),
            e,
        )
    })?;
    File::open(parent)
        .and_then(|d| d.sync_all())
        .map_err(|e| CoreError::io(format!("fsync {}", parent.display()), e))
}

/// Full SHA-512 (128 hex digits) of a file's bytes.
pub fn hash_file(path: &Path) -> Result<String> {
    let ctx = || format!("read {}", path.display());
    let mut f = File::open(path).map_err(|e| CoreError::io(ctx(), e))?;
    let mut h = Sha512::new();
    let mut buf = vec![0u8; CHUNK];
    loop {
        match f.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => h.update(&buf[..n]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(CoreError::io(ctx(), e)),
        }
    }
    Ok(h.finish_hex())
}

/// Three stages run at once on chunks flowing through bounded channels:
/// decompression (its own thread), validation + writing + the tree render
/// (this thread), and hashing (its own thread: the blob's SHA-512 and the
/// tree's content digests), which hands the buffers back for reuse. Their
/// costs are similar, so on two cores the import takes about half their sum.
fn pipeline<R: Read + Send>(
    input: R,
    ft: FileType,
    raw_out: Option<Tee<'_>>,
    tar_out: Option<(&File, BlobOut<'_>)>,
    progress: Option<&(dyn Fn(u64) + Sync)>,
    src: &Path,
    tree: &mut Option<StreamTree>,
) -> Result<(hashwork::HashOut, u64, AciScanner)> {
    let read_bytes = AtomicU64::new(0);
    let (tx, rx) = sync_channel::<Vec<u8>>(QUEUE);
    let (hash_tx, hash_rx) = sync_channel::<Work>(QUEUE);
    let (pool_tx, pool_rx) = sync_channel::<Vec<u8>>(2 * QUEUE + 4);
    thread::scope(|s| {
        let producer = s.spawn(|| produce(input, ft, &read_bytes, tx, pool_rx, src, raw_out));
        let hasher = s.spawn(move || hashwork::run(hash_rx, Some(pool_tx)));
        // Returning drops `rx` and `hash_tx`, which stops the other two
        // stages if we fail early.
        let consumed = consume(rx, hash_tx, tar_out, progress, &read_bytes, tree);
        let produced = producer
            .join()
            .unwrap_or_else(|_| Err(CoreError::Io("decompression thread panicked".into())));
        let hashed = hasher
            .join()
            .map_err(|_| CoreError::Io("hash thread panicked".into()));
        // A consumer error is about data that decompressed fine, so it comes
        // first; otherwise a decompression (or blob write) error explains any
        // short archive.
        let (size, scanner) = consumed?;
        produced?;
        Ok((hashed?, size, scanner))
    })
}

/// Decompresses `file` into chunks sent to `tx`. With `raw_out`, the source
/// bytes read are also written there, with writeback started as it goes.
pub(crate) fn produce<R: Read>(
    file: R,
    ft: FileType,
    counter: &AtomicU64,
    tx: SyncSender<Vec<u8>>,
    pool: Receiver<Vec<u8>>,
    src: &Path,
    raw_out: Option<Tee<'_>>,
) -> Result<()> {
    let write_failed = Mutex::new(None);
    let tee = raw_out.map(|t| Tee { failed: Some(&write_failed), ..t });
    let input = BufReader::with_capacity(
        256 << 10,
        Counting {
            inner: file,
            n: counter,
            tee,
        },
    );
    let mut reader: Box<dyn Read> = match ft {
        FileType::Gzip => crate::inflate::gzip_reader(input),
        FileType::Bzip2 => Box::new(bzip2::bufread::MultiBzDecoder::new(input)),
        FileType::Xz => Box::new(liblzma::bufread::XzDecoder::new_multi_decoder(input)),
        _ => Box::new(input),
    };
    let failed = |e: io::Error| match write_failed.lock().ok().and_then(|mut w| w.take()) {
        Some(w) => CoreError::io("write temp file", w),
        None => stream_error(ft, src, e),
    };
    loop {
        let mut buf = pool.try_recv().unwrap_or_default();
        buf.resize(CHUNK, 0);
        let n = read_full(&mut reader, &mut buf).map_err(failed)?;
        if n == 0 {
            return Ok(());
        }
        buf.truncate(n);
        if tx.send(buf).is_err() {
            return Ok(()); // the consumer failed and reports why
        }
        if n < CHUNK {
            return Ok(());
        }
    }
}

fn consume(
    rx: Receiver<Vec<u8>>,
    hash_tx: SyncSender<Work>,
    mut out: Option<(&File, BlobOut<'_>)>,
    progress: Option<&(dyn Fn(u64) + Sync)>,
    counter: &AtomicU64,
    tree: &mut Option<StreamTree>,
) -> Result<(u64, AciScanner)> {
    let mut scanner = AciScanner::new();
    let mut size = 0u64;
    for buf in rx.iter() {
        if size == 0 && out.is_some() && buf.starts_with(&crate::blob::GZIP_MAGIC) {
            // Stored, it would read back as a gzip blob (blob.rs).
            return Err(CoreError::format("image tar starts with the gzip magic bytes"));
        }
        scanner.push(&buf)?;
        let mut segs = Vec::new();
        if let Some(t) = tree.as_mut() {
            t.push(&buf, &mut segs);
        }
        size += buf.len() as u64;
        if let Some((mut f, blob)) = out.as_mut() {
            f.write_all(&buf)
                .map_err(|e| CoreError::io("write temp file", e))?;
            blob.wrote(&buf, buf.len());
        }
        if let Some(p) = progress {
            p(counter.load(Ordering::Relaxed));
        }
        if hash_tx.send(Work::Chunk { buf, segs, blob: true }).is_err() {
            return Err(CoreError::Io("hash thread stopped".into()));
        }
    }
    let _ = hash_tx.send(Work::EndBlob);
    Ok((size, scanner))
}

fn stream_error(ft: FileType, src: &Path, e: io::Error) -> CoreError {
    // Decoders report bad data without an errno; real read errors have one.
    if e.raw_os_error().is_some() {
        return CoreError::io(format!("read {}", src.display()), e);
    }
    let kind = ft.as_str();
    if e.kind() == io::ErrorKind::UnexpectedEof {
        CoreError::format(format!("truncated {kind} stream"))
    } else {
        CoreError::format(format!("corrupt {kind} stream: {e}"))
    }
}

pub(crate) fn read_full(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
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

struct Counting<'a, R> {
    inner: R,
    n: &'a AtomicU64,
    tee: Option<Tee<'a>>,
}

/// Where a source's bytes are stored as they are read: from file offset
/// `skip` on (the bytes before it are already there).
pub(crate) struct Tee<'a> {
    file: &'a File,
    /// Source bytes seen so far (= the file offset they belong at).
    seen: u64,
    skip: u64,
    /// When this file is the blob.
    blob: Option<BlobOut<'a>>,
    /// The write error, for `produce` to report instead of a decoder error.
    failed: Option<&'a Mutex<Option<io::Error>>>,
}

impl<'a> Tee<'a> {
    fn new(file: &'a File, skip: u64, blob: Option<BlobOut<'a>>) -> Self {
        Tee { file, seen: 0, skip, blob, failed: None }
    }

    fn write(&mut self, b: &[u8]) -> io::Result<()> {
        let start = self.seen;
        self.seen += b.len() as u64;
        if self.seen <= self.skip {
            // Already in the file, but part of the blob's digest all the same.
            if let Some(blob) = self.blob.as_mut() {
                blob.wrote(b, 0);
            }
            return Ok(());
        }
        let from = self.skip.saturating_sub(start) as usize;
        let mut f = self.file;
        f.write_all(&b[from..])?;
        if let Some(blob) = self.blob.as_mut() {
            blob.wrote(b, b.len() - from);
        }
        Ok(())
    }
}

impl<R: Read> Read for Counting<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let k = self.inner.read(buf)?;
        if let Some(t) = self.tee.as_mut() {
            if let Err(e) = t.write(&buf[..k]) {
                if let Some(Ok(mut slot)) = t.failed.map(|m| m.lock()) {
                    *slot = Some(e);
                }
                return Err(io::Error::other("temp blob write failed"));
            }
        }
        self.n.fetch_add(k as u64, Ordering::Relaxed);
        Ok(k)
    }
}

/// The blob's writer's companions: the flusher, and the BLAKE3 of every byte of the blob.
pub(crate) struct BlobOut<'a> {
    flusher: Flusher,
    b3: &'a Mutex<blake3::Hasher>,
}

impl BlobOut<'_> {
    /// `bytes` are the blob's next bytes, of which the last `new` were written just now.
    fn wrote(&mut self, bytes: &[u8], new: usize) {
        if let Ok(mut h) = self.b3.lock() {
            h.update(bytes);
        }
        self.flusher.wrote(new as u64);
    }
}

/// A temp file that deletes itself unless kept, so every error path cleans up.
pub(crate) struct TempBlob {
    pub(crate) path: PathBuf,
    pub(crate) file: File,
    keep: bool,
}

impl TempBlob {
    pub(crate) fn create(dir: &Path) -> Result<Self> {
        let pid = std::process::id();
        let mut last = None;
        for _ in 0..16 {
            let path = dir.join(format!("import-{pid}-{:016x}", random_u64()));
            match OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o644)
                .open(&path)
            {
                Ok(file) => {
                    return Ok(TempBlob {
                        path,
                        file,
                        keep: false,
                    })
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => last = Some(e),
                Err(e) => {
                    return Err(CoreError::io(
                        format!("create temp file in {}", dir.display()),
                        e,
                    ))
                }
            }
        }
        Err(CoreError::io(
            format!("create temp file in {}", dir.display()),
            last.unwrap_or_else(|| io::Error::other("no unique name")),
        ))
    }

    pub(crate) fn keep(mut self) -> PathBuf {
        self.keep = true;
        std::mem::take(&mut self.path)
    }
}

impl Drop for TempBlob {
    fn drop(&mut self) {
        if !self.keep {
            let _ = fs::remove_file(&self.path);
        }
    }
}

fn random_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    // RandomState is seeded from the OS once per process and varied per call.
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    if let Ok(t) = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH) {
        h.write_u128(t.as_nanos());
    }
    h.finish()
}
