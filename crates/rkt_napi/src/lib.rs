//! Thin napi-rs binding over `rkt_core`: it converts types and schedules blocking work on the libuv
//! pool (AsyncTask) so the JS thread never waits on disk or CPU-heavy hashing. Errors cross the
//! boundary as `"<CODE>: <message>"`; `src/native.ts` turns them back into typed RktErrors.
#![deny(clippy::all)]

use std::path::PathBuf;

use napi::bindgen_prelude::*;
use napi_derive::napi;
use rkt_core::error::CoreError;

fn to_napi(e: CoreError) -> Error {
    Error::new(Status::GenericFailure, format!("{}: {}", e.code(), e))
}

#[napi(object)]
pub struct ImportResult {
    /// `sha512-` + first 64 hex of the SHA-512 of the uncompressed tar (rkt's store key).
    pub key: String,
    pub hash_hex: String,
    pub tmp_path: String,
    /// `tmpPath` is the stream's source copy (a gzip download's partial file), not a temp of ours.
    pub blob_is_source: bool,
    /// BLAKE3 (64 hex) of the blob's bytes as stored, taken from the bytes hashed to `key`.
    pub blob_digest: String,
    pub size: f64,
    pub manifest: Buffer,
    pub file_type: String,
    /// With `render`: the image's tree, rendered alone in the same pass, in a temp dir.
    pub tree: Option<StreamedTree>,
    /// With `render` and no tree: why the render stopped.
    pub tree_error: Option<String>,
}

#[napi(object)]
pub struct StreamedTree {
    pub dir: String,
    pub files: f64,
    pub bytes: f64,
    pub hash: String,
}

fn import_result(out: rkt_core::cas::ImportedAci) -> ImportResult {
    ImportResult {
        key: out.key,
        hash_hex: out.hash_hex,
        tmp_path: out.tmp_path.to_string_lossy().into_owned(),
        blob_is_source: out.blob_is_source,
        blob_digest: out.blob_digest,
        size: out.size as f64,
        manifest: out.manifest.into(),
        file_type: format!("{:?}", out.file_type).to_lowercase(),
        tree: out.tree.map(|t| StreamedTree {
            dir: t.dir.to_string_lossy().into_owned(),
            files: t.stats.files as f64,
            bytes: t.stats.bytes as f64,
            hash: t.hash,
        }),
        tree_error: out.tree_error,
    }
}

pub struct ImportTask {
    src: PathBuf,
    tmp_dir: PathBuf,
    render: bool,
}

impl Task for ImportTask {
    type Output = rkt_core::cas::ImportedAci;
    type JsValue = ImportResult;

    fn compute(&mut self) -> Result<Self::Output> {
        rkt_core::cas::import_aci_with(&self.src, &self.tmp_dir, None, self.render).map_err(to_napi)
    }

    fn resolve(&mut self, _env: Env, out: Self::Output) -> Result<Self::JsValue> {
        Ok(import_result(out))
    }
}

/// Decompresses, hashes and writes an ACI into a temp file under `tmpDir`, validating its layout;
/// with `render`, also renders its tree in the same pass.
#[napi]
pub fn import_aci(src: String, tmp_dir: String, render: Option<bool>) -> AsyncTask<ImportTask> {
    AsyncTask::new(ImportTask { src: src.into(), tmp_dir: tmp_dir.into(), render: render.unwrap_or(false) })
}

/// An import fed chunk by chunk (a download as it arrives): `push` until it returns false, then
/// `waitRoom`; `finish` gives what `importAci` gives; `abort` leaves nothing behind.
#[napi]
pub struct AciStream {
    inner: Option<rkt_core::StreamImport>,
}

pub struct StreamFinish(Option<rkt_core::StreamImport>);

impl Task for StreamFinish {
    type Output = rkt_core::cas::ImportedAci;
    type JsValue = ImportResult;

    fn compute(&mut self) -> Result<Self::Output> {
        let s = self.0.take().ok_or_else(|| Error::from_reason("EIO: import already finished"))?;
        s.finish().map_err(to_napi)
    }

    fn resolve(&mut self, _env: Env, out: Self::Output) -> Result<Self::JsValue> {
        Ok(import_result(out))
    }
}

#[napi]
impl AciStream {
    /// With `copyPath`, every pushed byte after the first `copyHave` is also written to that file
    /// (a download's partial file: see rkt_core::SourceCopy).
    #[napi(constructor)]
    pub fn new(tmp_dir: String, render: bool, copy_path: Option<String>, copy_have: Option<f64>) -> Result<Self> {
        let copy = copy_path.map(|p| rkt_core::SourceCopy { path: p.into(), have: copy_have.unwrap_or(0.0) as u64 });
        let s = rkt_core::StreamImport::start(tmp_dir.as_ref(), render, copy).map_err(to_napi)?;
        Ok(AciStream { inner: Some(s) })
    }

    /// Queues a copy of `chunks` (one piece: a call per network read costs more than the copy);
    /// false: wait for `waitRoom` before pushing more.
    #[napi]
    pub fn push(&self, chunks: Vec<Buffer>) -> bool {
        let Some(s) = &self.inner else { return true };
        let mut all = Vec::with_capacity(chunks.iter().map(|c| c.len()).sum());
        for c in &chunks {
            all.extend_from_slice(c);
        }
        s.push(all)
    }

    #[napi(ts_return_type = "Promise<void>")]
    pub fn wait_room(&self) -> AsyncTask<Blocking<(), ()>> {
        let w = self.inner.as_ref().map(|s| s.waiter());
        blocking(
            move || {
                if let Some(w) = w {
                    w.wait();
                }
                Ok(())
            },
            id,
        )
    }

    #[napi]
    pub fn finish(&mut self) -> AsyncTask<StreamFinish> {
        AsyncTask::new(StreamFinish(self.inner.take()))
    }

    #[napi(ts_return_type = "Promise<void>")]
    pub fn abort(&mut self) -> AsyncTask<Blocking<(), ()>> {
        let s = self.inner.take();
        blocking(
            move || {
                if let Some(s) = s {
                    s.abort();
                }
                Ok(())
            },
            id,
        )
    }
}

/// Atomically moves an imported temp file to its blob path (rename + fsync of the parent).
#[napi]
pub fn commit_blob(tmp_path: String, dest: String) -> Result<()> {
    rkt_core::cas::commit_blob(tmp_path.as_ref(), dest.as_ref()).map_err(to_napi)
}

/// Generic "run a closure on the pool" task: every other blocking call is one of these.
pub struct Blocking<T: Send + 'static, J> {
    job: Option<Box<dyn FnOnce() -> std::result::Result<T, CoreError> + Send>>,
    conv: fn(T) -> J,
}

impl<T: Send + 'static, J: ToNapiValue + TypeName + 'static> Task for Blocking<T, J> {
    type Output = T;
    type JsValue = J;

    fn compute(&mut self) -> Result<T> {
        let job = self.job.take().ok_or_else(|| Error::from_reason("task ran twice"))?;
        job().map_err(to_napi)
    }

    fn resolve(&mut self, _env: Env, out: T) -> Result<J> {
        Ok((self.conv)(out))
    }
}

fn blocking<T: Send + 'static, J>(
    job: impl FnOnce() -> std::result::Result<T, CoreError> + Send + 'static,
    conv: fn(T) -> J,
) -> AsyncTask<Blocking<T, J>>
where
    J: ToNapiValue + TypeName + 'static,
{
    AsyncTask::new(Blocking { job: Some(Box::new(job)), conv })
}

fn id<T>(t: T) -> T {
    t
}

/// Full 128-hex SHA-512 of a file.
#[napi(ts_return_type = "Promise<string>")]
pub fn hash_file(path: String) -> AsyncTask<Blocking<String, String>> {
    blocking(move || rkt_core::cas::hash_file(path.as_ref()), id)
}

/// Full 128-hex SHA-512 of the tar stored in a blob (plain or gzip, see
/// rkt_core::blob).
#[napi(ts_return_type = "Promise<string>")]
pub fn hash_blob(path: String) -> AsyncTask<Blocking<String, String>> {
    blocking(move || rkt_core::blob::hash_blob(path.as_ref()), id)
}

/// Writes the tar stored in a blob to `dest`; resolves to its full SHA-512.
#[napi(ts_return_type = "Promise<string>")]
pub fn export_blob(path: String, dest: String) -> AsyncTask<Blocking<String, String>> {
    blocking(move || rkt_core::blob::export_blob(path.as_ref(), dest.as_ref()), id)
}

#[napi(object)]
pub struct RenderImageInput {
    pub blob_path: String,
    pub key: String,
    pub level: u32,
    pub path_whitelist: Vec<String>,
    /// This process imported the blob and hashed it: skip re-checking it against `key`.
    pub verified: Option<bool>,
    /// BLAKE3 of the blob's bytes recorded at import (`ImportResult.blobDigest`): checked first,
    /// and the blob is hashed against `key` only when it differs.
    pub blob_digest: Option<String>,
}

#[napi(object)]
pub struct RenderStats {
    pub files: f64,
    pub bytes: f64,
    /// The tree hash of what was rendered (what `treeHash` of the tree gives).
    pub hash: String,
    /// Blobs that had no (or a stale) recorded digest and were checked against their key: the
    /// digest of the bytes checked, to record.
    pub new_digests: Vec<BlobDigest>,
}

#[napi(object)]
pub struct BlobDigest {
    pub key: String,
    pub digest: String,
}

/// Renders images (dependency-list order, top image first) into `dest` (rootfs/ + manifest).
#[napi(ts_return_type = "Promise<RenderStats>")]
pub fn render_tree(images: Vec<RenderImageInput>, dest: String) -> AsyncTask<Blocking<rkt_core::render::Rendered, RenderStats>> {
    let images: Vec<rkt_core::render::RenderImage> = images
        .into_iter()
        .map(|i| rkt_core::render::RenderImage {
            blob_path: i.blob_path.into(),
            key: i.key,
            level: i.level,
            path_whitelist: i.path_whitelist,
            verified: i.verified.unwrap_or(false),
            blob_digest: i.blob_digest,
        })
        .collect();
    blocking(
        move || rkt_core::render::render_tree_checked(&images, dest.as_ref()),
        |r| RenderStats {
            files: r.stats.files as f64,
            bytes: r.stats.bytes as f64,
            hash: r.hash,
            new_digests: r.new_digests.into_iter().map(|(key, digest)| BlobDigest { key, digest }).collect(),
        },
    )
}

/// Untars one ACI (no dependencies) into `dest`, or only its rootfs contents.
#[napi(ts_return_type = "Promise<void>")]
pub fn extract_aci(blob_path: String, dest: String, rootfs_only: bool) -> AsyncTask<Blocking<(), ()>> {
    blocking(move || rkt_core::render::extract_aci(blob_path.as_ref(), dest.as_ref(), rootfs_only), id)
}

/// rkt's tree-store hash of a rendered tree (`sha512-` + 64 hex).
#[napi(ts_return_type = "Promise<string>")]
pub fn tree_hash(dir: String) -> AsyncTask<Blocking<String, String>> {
    blocking(move || rkt_core::treehash::tree_hash(dir.as_ref()), id)
}

/// Copies a rendered tree, preserving owners, modes, times, links.
#[napi(ts_return_type = "Promise<void>")]
pub fn copy_tree(src: String, dst: String) -> AsyncTask<Blocking<(), ()>> {
    blocking(move || rkt_core::copytree::copy_tree(src.as_ref(), dst.as_ref()), id)
}

/// Blocking flock on a caller-owned fd, run off the JS thread.
#[napi(ts_return_type = "Promise<void>")]
pub fn flock(fd: i32, exclusive: bool) -> AsyncTask<Blocking<(), ()>> {
    blocking(move || rkt_core::lock::lock(fd, exclusive), id)
}

/// Non-blocking flock: false when someone else holds a conflicting lock.
#[napi]
pub fn try_flock(fd: i32, exclusive: bool) -> Result<bool> {
    rkt_core::lock::try_lock(fd, exclusive).map_err(to_napi)
}

/// A key lock file opened (created, with its directory, if missing) and flocked without waiting
/// (rkt_core::lock::try_lock_key_file): its fd, which the caller then owns, or null when another
/// holder has a conflicting lock.
#[napi]
pub fn try_lock_key_file(path: String, exclusive: bool) -> Result<Option<i32>> {
    use std::os::fd::IntoRawFd;
    let fd = rkt_core::lock::try_lock_key_file(path.as_ref(), exclusive).map_err(to_napi)?;
    Ok(fd.map(IntoRawFd::into_raw_fd))
}

/// A directory opened and flocked without waiting (rkt_core::lock::try_lock_dir): its fd, which
/// the caller then owns, or null when another holder has a conflicting lock.
#[napi]
pub fn try_lock_dir(path: String, exclusive: bool) -> Result<Option<i32>> {
    use std::os::fd::IntoRawFd;
    let fd = rkt_core::lock::try_lock_dir(path.as_ref(), exclusive).map_err(to_napi)?;
    Ok(fd.map(IntoRawFd::into_raw_fd))
}

#[napi(object)]
pub struct PathStat {
    /// "file", "dir" or "other"
    pub kind: String,
    pub size: f64,
    pub mtime_ms: f64,
    pub dev: f64,
}

/// stat(2), following symlinks (rkt_core::stat): null when the path does not exist.
#[napi]
pub fn stat_path(path: String) -> Result<Option<PathStat>> {
    let s = rkt_core::stat::stat(std::path::Path::new(&path)).map_err(to_napi)?;
    Ok(s.map(|s| PathStat { kind: s.kind.to_string(), size: s.size as f64, mtime_ms: s.mtime_ms, dev: s.dev as f64 }))
}

/// Closes a lock's fd (rkt_core::lock::release), which drops its flock.
#[napi]
pub fn release_lock(fd: i32) -> Result<()> {
    rkt_core::lock::release(fd).map_err(to_napi)
}

#[napi]
pub fn funlock(fd: i32) -> Result<()> {
    rkt_core::lock::unlock(fd).map_err(to_napi)
}

/// The tree's lstat signature (rkt_core::treestat), synchronously: meant for small trees (stage1's).
#[napi]
pub fn tree_stat_signature(dir: String) -> Result<String> {
    rkt_core::treestat::tree_stat_signature(dir.as_ref()).map_err(to_napi)
}

/// All 128 hex digits of the SHA-512 of a string's UTF-8 bytes (tree store ids).
#[napi]
pub fn sha512_hex(data: String) -> String {
    rkt_core::ids::sha512_hex(data.as_bytes())
}

/// A random version 4 UUID (pod ids).
#[napi]
pub fn random_uuid() -> Result<String> {
    rkt_core::ids::random_uuid().map_err(to_napi)
}

/// Version of the Rust core, to check that JS and the addon come from the same build.
#[napi]
pub fn core_version() -> String {
    env!("CARGO_PKG_VERSION").to_string()
}

/// syncfs(2) of the filesystem holding `path`, off the JS thread.
#[napi(ts_return_type = "Promise<void>")]
pub fn syncfs(path: String) -> AsyncTask<Blocking<(), ()>> {
    blocking(move || rkt_core::sync::syncfs(path.as_ref()), id)
}

/// Mounts an overlay (lower dirs read-only, writes to upper) on `target`.
#[napi]
pub fn mount_overlay(lower: Vec<String>, upper: String, work: String, target: String) -> Result<()> {
    let lower: Vec<&std::path::Path> = lower.iter().map(|s| std::path::Path::new(s.as_str())).collect();
    rkt_core::mount::mount_overlay(&lower, upper.as_ref(), work.as_ref(), target.as_ref()).map_err(to_napi)
}

#[napi]
pub fn bind_mount(src: String, target: String) -> Result<()> {
    rkt_core::mount::bind(src.as_ref(), target.as_ref()).map_err(to_napi)
}

#[napi]
pub fn umount(target: String, lazy: bool) -> Result<()> {
    rkt_core::mount::umount(target.as_ref(), lazy).map_err(to_napi)
}

/// Tries a scratch overlay mount under `dir`.
#[napi]
pub fn overlay_supported(dir: String) -> bool {
    rkt_core::mount::overlay_supported(dir.as_ref())
}

/// Creates the directories that do not exist yet (parents too) with `mode` less the umask.
#[napi]
pub fn create_dirs(paths: Vec<String>, mode: u32) -> Result<()> {
    let paths: Vec<&std::path::Path> = paths.iter().map(|p| std::path::Path::new(p.as_str())).collect();
    rkt_core::dirs::create_dirs(&paths, mode).map_err(to_napi)
}

/// Marks a directory as the top of unrelated trees, where the filesystem can (rkt_core::dirs).
#[napi]
pub fn mark_top_dir(dir: String) -> bool {
    rkt_core::dirs::mark_top_dir(dir.as_ref())
}

/// The whole file (rkt_core::small_files).
#[napi]
pub fn read_file(path: String) -> Result<Buffer> {
    rkt_core::small_files::read_file(std::path::Path::new(&path)).map(Buffer::from).map_err(to_napi)
}

/// Creates (with `mode` less the umask) or truncates `path` and writes `data` (a string as UTF-8).
#[napi]
pub fn write_file(path: String, data: Either<String, Buffer>, mode: u32) -> Result<()> {
    let bytes: &[u8] = match &data {
        Either::A(s) => s.as_bytes(),
        Either::B(b) => b,
    };
    rkt_core::small_files::write_file(std::path::Path::new(&path), bytes, mode).map_err(to_napi)
}

/// Appends `data` in one write under a shared flock and returns the file's size after it
/// (rkt_core::small_files::append_locked).
#[napi]
pub fn append_locked(path: String, data: String, mode: u32) -> Result<f64> {
    rkt_core::small_files::append_locked(std::path::Path::new(&path), data.as_bytes(), mode).map(|n| n as f64).map_err(to_napi)
}

/// rename(2) (rkt_core::small_files::rename).
#[napi]
pub fn rename_path(from: String, to: String) -> Result<()> {
    rkt_core::small_files::rename(std::path::Path::new(&from), std::path::Path::new(&to)).map_err(to_napi)
}

/// Creates one directory that must be new (EEXIST if it is not), with `mode` less the umask.
#[napi]
pub fn make_dir(path: String, mode: u32) -> Result<()> {
    rkt_core::dirs::make_dir(std::path::Path::new(&path), mode).map_err(to_napi)
}

/// dlopen()s the shared library at `path` on a thread of its own and returns at once (see
/// rkt_core::preload); a failure there only means the later load does the work itself.
#[napi]
pub fn preload_library(path: String) {
    drop(rkt_core::preload::load_in_background(&path));
}

/// Replaces this process with stage1 (keeps stdio and `keepFds` open across exec). Returns only
/// by throwing.
#[napi]
pub fn exec_stage1(path: String, argv: Vec<String>, env: Vec<String>, cwd: String, keep_fds: Vec<i32>) -> Result<()> {
    rkt_core::handoff::exec_stage1(&path, &argv, &env, &cwd, &keep_fds).map_err(to_napi)
}

#[napi(object)]
pub struct LayerInput {
    pub path: String,
    /// Used in error messages (the layer's digest).
    pub name: String,
}

#[napi(object)]
pub struct SquashResult {
    pub key: String,
    pub hash_hex: String,
    pub tmp_path: String,
    /// BLAKE3 (64 hex) of the ACI tar, as `ImportResult.blobDigest`.
    pub blob_digest: String,
    pub size: f64,
    pub files: f64,
}

/// Squashes Docker/OCI layers (bottom first) under `manifest` into one ACI temp file in `tmpDir`.
#[napi(ts_return_type = "Promise<SquashResult>")]
pub fn squash_layers(layers: Vec<LayerInput>, manifest: Buffer, tmp_dir: String) -> AsyncTask<Blocking<rkt_core::SquashedAci, SquashResult>> {
    let layers: Vec<rkt_core::LayerInput> =
        layers.into_iter().map(|l| rkt_core::LayerInput { path: l.path.into(), name: l.name }).collect();
    let manifest = manifest.to_vec();
    blocking(
        move || rkt_core::squash_layers(&layers, &manifest, tmp_dir.as_ref()),
        |s| SquashResult {
            key: s.key,
            hash_hex: s.hash_hex,
            tmp_path: s.tmp_path.to_string_lossy().into_owned(),
            blob_digest: s.blob_digest,
            size: s.size as f64,
            files: s.files as f64,
        },
    )
}

/// A file's text as a JS string backed by a read-only mapping of the file (rkt_core::mapped), for
/// bin/rkt's bundle: no copy into V8's heap. Where Node lacks external strings
/// (node_api_create_external_string_latin1, Node >= 20.4), or V8 declines, the text is copied.
/// Latin-1: the caller's file must be ASCII for the string to equal its UTF-8 reading.
#[napi(ts_return_type = "string")]
pub fn read_source_latin1(path: String) -> Result<ExternalSource> {
    rkt_core::mapped::MappedFile::open(std::path::Path::new(&path)).map(ExternalSource).map_err(to_napi)
}

pub struct ExternalSource(rkt_core::mapped::MappedFile);

type CreateExternalLatin1 = unsafe extern "C" fn(
    sys::napi_env,
    *const std::os::raw::c_char,
    isize,
    sys::napi_finalize,
    *mut std::ffi::c_void,
    *mut sys::napi_value,
    *mut bool,
) -> sys::napi_status;

/// The finalizer of a string or Buffer over a mapping: `hint` is the boxed MappedFile.
unsafe extern "C" fn drop_mapping(_env: sys::napi_env, _data: *mut std::ffi::c_void, hint: *mut std::ffi::c_void) {
    drop(Box::from_raw(hint as *mut rkt_core::mapped::MappedFile));
}

impl ToNapiValue for ExternalSource {
    unsafe fn to_napi_value(env: sys::napi_env, val: Self) -> Result<sys::napi_value> {
        let bytes = val.0.as_bytes();
        let (ptr, len) = (bytes.as_ptr() as *const std::os::raw::c_char, bytes.len() as isize);
        let mut out = std::ptr::null_mut();
        // looked up rather than linked: Node 20 before 20.4 has no such symbol
        let sym = libc::dlsym(libc::RTLD_DEFAULT, c"node_api_create_external_string_latin1".as_ptr());
        if !sym.is_null() {
            let create: CreateExternalLatin1 = std::mem::transmute(sym);
            let hint = Box::into_raw(Box::new(val.0));
            let mut copied = false;
            let status = create(env, ptr, len, Some(drop_mapping), hint as *mut std::ffi::c_void, &mut out, &mut copied);
            if status == sys::Status::napi_ok {
                // copied or not, V8 now owns the hint and runs drop_mapping (at once when it copied)
                return Ok(out);
            }
            drop(Box::from_raw(hint));
            return Err(Error::new(Status::GenericFailure, "EIO: cannot make an external string"));
        }
        let status = sys::napi_create_string_latin1(env, ptr, len, &mut out);
        if status != sys::Status::napi_ok {
            return Err(Error::new(Status::GenericFailure, "EIO: cannot make a string"));
        }
        Ok(out)
    }
}

/// A file's bytes as a Buffer over a read-only mapping of the file (rkt_core::mapped), for
/// bin/rkt's code caches: V8 reads them in place. The Buffer must never be written.
#[napi(ts_return_type = "Buffer")]
pub fn read_mapped(path: String) -> Result<MappedBuffer> {
    rkt_core::mapped::MappedFile::open(std::path::Path::new(&path)).map(MappedBuffer).map_err(to_napi)
}

pub struct MappedBuffer(rkt_core::mapped::MappedFile);

impl ToNapiValue for MappedBuffer {
    unsafe fn to_napi_value(env: sys::napi_env, val: Self) -> Result<sys::napi_value> {
        let bytes = val.0.as_bytes();
        let (ptr, len) = (bytes.as_ptr() as *mut std::ffi::c_void, bytes.len());
        let hint = Box::into_raw(Box::new(val.0));
        let mut out = std::ptr::null_mut();
        let status = sys::napi_create_external_buffer(env, len, ptr, Some(drop_mapping), hint as *mut std::ffi::c_void, &mut out);
        if status != sys::Status::napi_ok {
            drop(Box::from_raw(hint));
            return Err(Error::new(Status::GenericFailure, "EIO: cannot make an external buffer"));
        }
        Ok(out)
    }
}
