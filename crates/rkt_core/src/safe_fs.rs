//! The only code that creates files from image content. Everything is created
//! relative to an open fd of the destination root with *at calls, one path
//! component at a time with O_NOFOLLOW, so nothing an archive says can make it
//! write outside the root: `..` and absolute names are refused, a symlink met
//! in a parent path is an error (never followed), hardlink targets are resolved
//! the same way and linked without following.
//!
//! Speed comes from keeping the open fds of the current parent path (tar
//! archives list a directory's entries together), so most entries cost one
//! create call plus the metadata calls, with no stat or readlink.

use std::fs::File;
use std::io::Write;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::Arc;

use rustix::fs::{self as rfs, AtFlags, Mode, OFlags, Timespec, Timestamps, XattrFlags};
use rustix::io::Errno;
use rustix::process::{Gid, Uid};

use crate::error::{CoreError, Result};
use crate::file_writer::{FileOp, WriterState, MAX_PENDING};
use crate::pathutil::q;
use crate::tar_stream::{Entry, Kind};
use crate::treehash::{keep_xattr, Record, TreeRecords, NONE};

type Xattrs = Vec<(Vec<u8>, Vec<u8>)>;

/// Files smaller than this are left to the final sync (a writeback request
/// per small file costs more than it saves).
const WRITEBACK_MIN: u64 = 1 << 20;

const DIR_OPEN: OFlags = OFlags::RDONLY
    .union(OFlags::DIRECTORY)
    .union(OFlags::NOFOLLOW)
    .union(OFlags::CLOEXEC);
const FILE_CREATE: OFlags = OFlags::WRONLY
    .union(OFlags::CREATE)
    .union(OFlags::EXCL)
    .union(OFlags::NOFOLLOW)
    .union(OFlags::CLOEXEC);

/// Ownership, mode, xattrs and mtime to apply once an entry's data is written.
struct Meta {
    uid: u32,
    gid: u32,
    mode: u32,
    mtime: i64,
    nsec: u32,
    xattrs: Vec<(Vec<u8>, Vec<u8>)>,
}

impl Meta {
    fn of(e: &Entry) -> Self {
        Meta {
            uid: e.uid,
            gid: e.gid,
            mode: e.mode & 0o7777,
            mtime: e.mtime,
            nsec: e.mtime_nsec,
            xattrs: e.xattrs.clone(),
        }
    }

    fn times(&self) -> Timestamps {
        let t = Timespec {
            tv_sec: self.mtime,
            tv_nsec: self.nsec as _,
        };
        Timestamps {
            last_access: t,
            last_modification: t,
        }
    }
}

struct OpenFile {
    /// None when the file was handed to the writer thread (file_writer.rs).
    file: Option<File>,
    rel: Vec<u8>,
    meta: Meta,
    /// Created with the right owner already (no chown needed).
    owned: bool,
    /// Created with its final mode already (no chmod needed).
    mode_set: bool,
    /// Content slot in the tree records, when recording.
    slot: u32,
    written: u64,
}

/// An open directory of the current parent path.
struct OpenDir {
    name: Vec<u8>,
    fd: OwnedFd,
    /// New entries inherit this directory's group instead of ours.
    setgid: bool,
}

pub(crate) struct SafeWriter {
    root: OwnedFd,
    root_setgid: bool,
    root_path: PathBuf,
    /// Open directories along the current parent path, relative to the root.
    stack: Vec<OpenDir>,
    /// Directory mtimes, applied last since creating children changes them.
    dir_times: Vec<(Vec<u8>, Meta)>,
    cur: Option<OpenFile>,
    is_root: bool,
    euid: u32,
    egid: u32,
    /// The process umask, read once: a file whose mode the umask cannot change
    /// is created with that mode, saving a chmod per file.
    umask: u32,
    /// What the tree hash needs to know of every entry created (render only).
    records: Option<TreeRecords>,
    /// Start writeback of each large file once written (see `start_writeback`).
    writeback: bool,
    /// Regular files' data and metadata go to a writer thread (see `defer_files`).
    defer: Option<Deferred>,
}

struct Deferred {
    /// What the writer must do, in order, with the chunk being parsed.
    ops: Vec<FileOp>,
    state: Arc<WriterState>,
}

/// The umask without changing it (umask(2) can only be read by setting it,
/// which would race with other threads of the host process).
fn current_umask() -> u32 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Umask:"))
                .and_then(|v| u32::from_str_radix(v.trim(), 8).ok())
        })
        .unwrap_or(0o777) // unknown: never trust the create mode
}

fn top<'a>(root: &'a OwnedFd, stack: &'a [OpenDir]) -> BorrowedFd<'a> {
    stack.last().map_or(root.as_fd(), |d| d.fd.as_fd())
}

fn is_setgid(fd: &OwnedFd) -> bool {
    rfs::fstat(fd).is_ok_and(|st| st.st_mode & 0o2000 != 0)
}

/// Splits a root-relative path, refusing anything that could climb out.
fn split_rel(rel: &[u8]) -> Result<Vec<&[u8]>> {
    if rel.first() == Some(&b'/') {
        return Err(CoreError::unsafe_path(format!(
            "path {} is absolute",
            q(rel)
        )));
    }
    let mut out = Vec::with_capacity(8);
    for c in rel.split(|&b| b == b'/') {
        match c {
            b"" | b"." => {}
            b".." => {
                return Err(CoreError::unsafe_path(format!(
                    "path {} escapes the destination root",
                    q(rel)
                )))
            }
            _ => out.push(c),
        }
    }
    Ok(out)
}

fn join(comps: &[&[u8]]) -> Vec<u8> {
    comps.join(&b'/')
}

impl SafeWriter {
    /// `root` must exist; it is trusted (opened normally), what goes in is not.
    pub(crate) fn open(root: &Path) -> Result<Self> {
        let fd = rfs::open(
            root,
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(|e| CoreError::errno(format!("open {}", root.display()), e))?;
        Ok(SafeWriter {
            root_setgid: is_setgid(&fd),
            root: fd,
            root_path: root.to_path_buf(),
            stack: Vec::new(),
            dir_times: Vec::new(),
            cur: None,
            is_root: rustix::process::geteuid().is_root(),
            euid: rustix::process::geteuid().as_raw(),
            egid: rustix::process::getegid().as_raw(),
            umask: current_umask(),
            records: None,
            writeback: false,
            defer: None,
        })
    }

    /// Have the kernel start writing each large file to disk as soon as it is
    /// complete, for a caller that will sync the filesystem afterwards: the
    /// disk then works while the rest is extracted, not all at the sync.
    pub(crate) fn start_writeback(&mut self) {
        self.writeback = true;
    }

    /// Hand the rest of each regular file's work (data, owner, mode, times, close) to a writer
    /// thread after creating it: `take_ops` gives what to send along with each chunk. Only as
    /// root and for files without xattrs, where what the file ends up with is known without
    /// asking (see `actual`), and while fewer than MAX_PENDING files are in flight.
    pub(crate) fn defer_files(&mut self, state: Arc<WriterState>) {
        self.defer = Some(Deferred { ops: Vec::new(), state });
    }

    /// The writer's ops for the chunk parsed since the last call.
    pub(crate) fn take_ops(&mut self) -> Vec<FileOp> {
        self.defer.as_mut().map(|d| std::mem::take(&mut d.ops)).unwrap_or_default()
    }

    /// Keep a tree-hash record of everything created from now on.
    pub(crate) fn record(&mut self) {
        self.records = Some(TreeRecords::default());
    }

    pub(crate) fn records(&self) -> Option<&TreeRecords> {
        self.records.as_ref()
    }

    /// Content slot of the file being written (NONE when not recording).
    pub(crate) fn current_slot(&self) -> u32 {
        self.cur.as_ref().map_or(NONE, |f| f.slot)
    }

    /// The owner and mode an entry ended up with. As root every call either
    /// succeeded or failed the render, so they are what the entry asked for
    /// (an ACL xattr can still rewrite the mode, hence the fstat then);
    /// otherwise chown may have been refused and the kernel may have dropped
    /// setgid, so ask.
    fn actual(&self, fd: BorrowedFd, m: &Meta) -> Result<(u32, u32, u32)> {
        if self.is_root && m.xattrs.is_empty() {
            return Ok((m.mode, m.uid, m.gid));
        }
        let st = rfs::fstat(fd).map_err(|e| CoreError::errno("fstat", e))?;
        Ok((st.st_mode & 0o7777, st.st_uid, st.st_gid))
    }

    fn rec(&self, kind: Kind, (mode, uid, gid): (u32, u32, u32), xattrs: Xattrs) -> Record {
        Record {
            kind,
            mode,
            uid,
            gid,
            size: 0,
            link: Vec::new(),
            rdev: (0, 0),
            xattrs: sorted_xattrs(xattrs),
            inode: NONE,
            content: NONE,
        }
    }

    /// Whether a freshly created entry in the current directory already has
    /// the owner `m` asks for, so the chown can be skipped.
    fn owned_as(&self, m: &Meta) -> bool {
        let setgid = self.stack.last().map_or(self.root_setgid, |d| d.setgid);
        m.uid == self.euid && m.gid == self.egid && !setgid
    }

    fn err(&self, what: &str, rel: &[u8], e: Errno) -> CoreError {
        CoreError::errno(
            format!("{what} {} in {}", q(rel), self.root_path.display()),
            e,
        )
    }

    /// Creates `rel` as described by `e`. Returns true when the entry is a
    /// regular file waiting for its data (`write`, then `finish_entry`).
    /// `link_target` is the root-relative target of a hardlink. Device nodes
    /// are not created (the runtime provides /dev) and return false.
    pub(crate) fn create(&mut self, rel: &[u8], e: &Entry, link_target: &[u8]) -> Result<bool> {
        debug_assert!(self.cur.is_none());
        let comps = split_rel(rel)?;
        let Some((&name, parents)) = comps.split_last() else {
            return self.create_root(e);
        };
        if matches!(e.kind, Kind::Char | Kind::Block) {
            return Ok(false);
        }
        // Resolve a hardlink's target before the stack moves to our parent;
        // the target's parent is usually ours, checked after.
        let target = if e.kind == Kind::Hardlink {
            let t = split_rel(link_target)?;
            if t.is_empty() {
                return Err(CoreError::format(format!(
                    "hardlink {} has no target",
                    q(rel)
                )));
            }
            Some(t)
        } else {
            None
        };
        self.ensure_parent(parents, rel)?;
        match e.kind {
            Kind::Regular => {
                let meta = Meta::of(e);
                let owned = self.owned_as(&meta);
                // Special bits must follow the chown (which clears them), and
                // the umask must not be able to alter the mode.
                let perm = meta.mode & 0o777;
                let mode_set = owned && meta.mode & 0o7000 == 0 && perm & !self.umask == perm;
                let fd = self.create_file(name, rel, if mode_set { perm } else { 0o600 })?;
                let slot = self.records.as_mut().map_or(NONE, |r| r.new_slot());
                let file = match self.defer.as_mut() {
                    Some(d)
                        if self.is_root
                            && meta.xattrs.is_empty()
                            && d.state.pending.load(Ordering::Relaxed) < MAX_PENDING =>
                    {
                        d.state.pending.fetch_add(1, Ordering::Relaxed);
                        d.ops.push(FileOp::Open { fd, rel: rel.to_vec() });
                        None
                    }
                    _ => Some(File::from(fd)),
                };
                self.cur = Some(OpenFile {
                    file,
                    rel: join(&comps),
                    meta,
                    owned,
                    mode_set,
                    slot,
                    written: 0,
                });
                Ok(true)
            }
            Kind::Dir => {
                let (fd, created) = self.make_dir(name, rel)?;
                let meta = Meta::of(e);
                let owned = created && self.owned_as(&meta);
                let set = self.apply_fd(&fd, &meta, rel, false, owned)?;
                if self.records.is_some() {
                    let r = self.rec(Kind::Dir, self.actual(fd.as_fd(), &meta)?, set);
                    if let Some(records) = self.records.as_mut() {
                        records.dir(join(&comps), r);
                    }
                }
                self.stack.push(OpenDir {
                    name: name.to_vec(),
                    fd,
                    setgid: meta.mode & 0o2000 != 0,
                });
                self.dir_times.push((rel.to_vec(), meta));
                Ok(false)
            }
            Kind::Symlink => {
                self.make_symlink(name, &e.link, rel)?;
                let meta = Meta::of(e);
                let owned = self.owned_as(&meta);
                let set = self.apply_at(name, &meta, rel, owned)?;
                if self.records.is_some() {
                    let (uid, gid) = if self.is_root {
                        (meta.uid, meta.gid)
                    } else {
                        let dir = top(&self.root, &self.stack);
                        let st = rfs::statat(dir, name, AtFlags::SYMLINK_NOFOLLOW)
                            .map_err(|e| self.err("stat", rel, e))?;
                        (st.st_uid, st.st_gid)
                    };
                    // Symlinks have no mode of their own on Linux.
                    let mut r = self.rec(Kind::Symlink, (0o777, uid, gid), set);
                    r.link = e.link.clone();
                    if let Some(records) = self.records.as_mut() {
                        records.node(join(&comps), r);
                    }
                }
                Ok(false)
            }
            Kind::Fifo => {
                let fd = self.make_fifo(name, rel)?;
                let meta = Meta::of(e);
                let owned = self.owned_as(&meta);
                let set = self.apply_fd(&fd, &meta, rel, true, owned)?;
                if self.records.is_some() {
                    let r = self.rec(Kind::Fifo, self.actual(fd.as_fd(), &meta)?, set);
                    if let Some(records) = self.records.as_mut() {
                        records.node(join(&comps), r);
                    }
                }
                Ok(false)
            }
            Kind::Hardlink => {
                let t = target.unwrap_or_default();
                self.make_hardlink(name, rel, &t, link_target)?;
                if let Some(r) = self.records.as_mut() {
                    r.hardlink(join(&comps), &join(&t));
                }
                Ok(false)
            }
            Kind::Char | Kind::Block => Ok(false),
        }
    }

    /// Writes `data` to the current file; `at` is where it lies in the chunk being parsed (for
    /// a file handed to the writer thread, which writes it from there).
    pub(crate) fn write(&mut self, data: &[u8], at: usize) -> Result<()> {
        let Some(f) = self.cur.as_mut() else {
            return Ok(());
        };
        f.written += data.len() as u64;
        let Some(file) = f.file.as_mut() else {
            let d = self.defer.as_mut().expect("a deferred file has a writer");
            d.ops.push(FileOp::Write { start: at as u32, end: (at + data.len()) as u32 });
            return Ok(());
        };
        file.write_all(data).map_err(|e| {
            CoreError::io(
                format!("write {} in {}", q(&f.rel), self.root_path.display()),
                e,
            )
        })
    }

    /// Copies the rest of `src` into the current file (copy_file_range when
    /// the kernel can), used by `copy_tree`.
    pub(crate) fn write_from(&mut self, src: &mut File) -> Result<u64> {
        let Some(f) = self.cur.as_mut() else {
            return Ok(0);
        };
        let Some(file) = f.file.as_mut() else {
            return Err(CoreError::Io("copy into a file handed to the writer thread".into()));
        };
        std::io::copy(src, file).map_err(|e| {
            CoreError::io(
                format!("copy {} in {}", q(&f.rel), self.root_path.display()),
                e,
            )
        })
    }

    /// Applies ownership, mode, xattrs and mtime to the file just written.
    pub(crate) fn finish_entry(&mut self) -> Result<()> {
        if let Some(f) = self.cur.take() {
            let Some(file) = f.file else {
                return self.finish_deferred(f);
            };
            if self.writeback && f.written >= WRITEBACK_MIN {
                // SAFETY: a plain syscall on an fd we own; failure only loses the hint.
                unsafe { libc::sync_file_range(file.as_raw_fd(), 0, 0, libc::SYNC_FILE_RANGE_WRITE) };
            }
            let fd: OwnedFd = file.into();
            let set = self.apply_fd_with(&fd, &f.meta, &f.rel, true, f.owned, !f.mode_set)?;
            if self.records.is_some() {
                let mut r = self.rec(Kind::Regular, self.actual(fd.as_fd(), &f.meta)?, set);
                r.size = f.written;
                r.content = f.slot;
                if let Some(records) = self.records.as_mut() {
                    records.node(f.rel, r);
                }
            }
        }
        Ok(())
    }

    /// finish_entry for a file the writer thread has: it gets the metadata calls, and the record
    /// is what the entry asked for (deferred files are root's, without xattrs: see `actual`).
    fn finish_deferred(&mut self, f: OpenFile) -> Result<()> {
        let m = &f.meta;
        let op = FileOp::Close {
            owner: (!f.owned).then_some((m.uid, m.gid)),
            mode: (!f.mode_set).then_some(m.mode),
            times: m.times(),
            writeback: self.writeback,
        };
        self.defer.as_mut().expect("a deferred file has a writer").ops.push(op);
        if self.records.is_some() {
            let mut r = self.rec(Kind::Regular, (m.mode, m.uid, m.gid), Vec::new());
            r.size = f.written;
            r.content = f.slot;
            if let Some(records) = self.records.as_mut() {
                records.node(f.rel, r);
            }
        }
        Ok(())
    }

    /// Sets the recorded directory mtimes, in archive order (a later entry
    /// for the same directory wins). Must be called once everything is in.
    pub(crate) fn finish(mut self) -> Result<()> {
        self.finish_entry()?;
        let times = std::mem::take(&mut self.dir_times);
        for (rel, meta) in &times {
            let comps = split_rel(rel)?;
            match comps.split_last() {
                None => rfs::futimens(&self.root, &meta.times())
                    .map_err(|e| self.err("set times of", rel, e))?,
                Some((&name, parents)) => {
                    self.ensure_parent(parents, rel)?;
                    let dir = top(&self.root, &self.stack);
                    rfs::utimensat(dir, name, &meta.times(), AtFlags::SYMLINK_NOFOLLOW)
                        .map_err(|e| self.err("set times of", rel, e))?;
                }
            }
        }
        Ok(())
    }

    /// An entry naming the root itself ("rootfs" when extracting only the
    /// rootfs, or "."): only a directory makes sense, and it sets the root's
    /// metadata.
    fn create_root(&mut self, e: &Entry) -> Result<bool> {
        if e.kind != Kind::Dir {
            return Err(CoreError::format(format!(
                "entry {} replaces the destination root with a non-directory",
                q(&e.name)
            )));
        }
        let meta = Meta::of(e);
        self.apply_fd(&self.root, &meta, b"", false, false)?;
        self.root_setgid = meta.mode & 0o2000 != 0;
        self.dir_times.push((Vec::new(), meta));
        Ok(false)
    }

    /// Makes the fd stack match `parents`, opening (or creating, 0755 like
    /// MkdirAll) each missing component without following symlinks.
    fn ensure_parent(&mut self, parents: &[&[u8]], rel: &[u8]) -> Result<()> {
        let common = self
            .stack
            .iter()
            .zip(parents)
            .take_while(|(s, p)| s.name.as_slice() == **p)
            .count();
        self.stack.truncate(common);
        for i in common..parents.len() {
            let comp = parents[i];
            let dir = top(&self.root, &self.stack);
            let mut setgid = None;
            let fd = match rfs::openat(dir, comp, DIR_OPEN, Mode::empty()) {
                Ok(fd) => fd,
                Err(Errno::NOENT) => {
                    setgid = Some(false);
                    match rfs::mkdirat(dir, comp, Mode::from_raw_mode(0o755)) {
                        Ok(()) | Err(Errno::EXIST) => {}
                        Err(e) => {
                            return Err(self.err("create directory", &join(&parents[..=i]), e))
                        }
                    }
                    let fd = rfs::openat(dir, comp, DIR_OPEN, Mode::empty())
                        .map_err(|e| self.err("open directory", &join(&parents[..=i]), e))?;
                    // mkdir is subject to the umask; MkdirAll's 0755 is meant.
                    rfs::fchmod(&fd, Mode::from_raw_mode(0o755))
                        .map_err(|e| self.err("chmod", &join(&parents[..=i]), e))?;
                    if self.records.is_some() {
                        // Owner and group come from us or a setgid parent: ask.
                        let st = rfs::fstat(&fd).map_err(|e| CoreError::errno("fstat", e))?;
                        let r = self.rec(Kind::Dir, (st.st_mode & 0o7777, st.st_uid, st.st_gid), Vec::new());
                        if let Some(records) = self.records.as_mut() {
                            records.dir(join(&parents[..=i]), r);
                        }
                    }
                    fd
                }
                Err(e @ (Errno::LOOP | Errno::NOTDIR)) => {
                    return Err(self.not_a_dir(dir, comp, &join(&parents[..=i]), rel, e))
                }
                Err(Errno::ACCESS) => {
                    rfs::openat(dir, comp, DIR_OPEN | OFlags::PATH, Mode::empty())
                        .map_err(|e| self.err("open directory", &join(&parents[..=i]), e))?
                }
                Err(e) => return Err(self.err("open directory", &join(&parents[..=i]), e)),
            };
            let setgid = setgid.unwrap_or_else(|| is_setgid(&fd));
            self.stack.push(OpenDir {
                name: comp.to_vec(),
                fd,
                setgid,
            });
        }
        Ok(())
    }

    fn not_a_dir(
        &self,
        dir: BorrowedFd,
        comp: &[u8],
        path: &[u8],
        rel: &[u8],
        e: Errno,
    ) -> CoreError {
        let is_link = e == Errno::LOOP
            || rfs::statat(dir, comp, AtFlags::SYMLINK_NOFOLLOW)
                .is_ok_and(|st| rfs::FileType::from_raw_mode(st.st_mode) == rfs::FileType::Symlink);
        if is_link {
            CoreError::unsafe_path(format!(
                "path component {} of {} is a symlink",
                q(path),
                q(rel)
            ))
        } else {
            CoreError::format(format!(
                "path component {} of {} is not a directory",
                q(path),
                q(rel)
            ))
        }
    }

    /// Removes whatever non-directory sits at `name` so an entry can replace it.
    fn remove_nondir(&self, name: &[u8], rel: &[u8]) -> Result<()> {
        let dir = top(&self.root, &self.stack);
        match rfs::unlinkat(dir, name, AtFlags::empty()) {
            Ok(()) | Err(Errno::NOENT) => Ok(()),
            Err(Errno::ISDIR) => Err(CoreError::format(format!(
                "cannot replace directory {} with a non-directory",
                q(rel)
            ))),
            Err(e) => Err(self.err("remove", rel, e)),
        }
    }

    fn create_file(&self, name: &[u8], rel: &[u8], mode: u32) -> Result<OwnedFd> {
        let dir = top(&self.root, &self.stack);
        let mode = Mode::from_raw_mode(mode);
        match rfs::openat(dir, name, FILE_CREATE, mode) {
            Ok(fd) => Ok(fd),
            Err(Errno::EXIST) => {
                self.remove_nondir(name, rel)?;
                rfs::openat(dir, name, FILE_CREATE, mode).map_err(|e| self.err("create", rel, e))
            }
            Err(e) => Err(self.err("create", rel, e)),
        }
    }

    /// Returns the directory and whether it was created now.
    fn make_dir(&self, name: &[u8], rel: &[u8]) -> Result<(OwnedFd, bool)> {
        let dir = top(&self.root, &self.stack);
        let created = match rfs::mkdirat(dir, name, Mode::from_raw_mode(0o700)) {
            Ok(()) => true,
            Err(Errno::EXIST) => false,
            Err(e) => return Err(self.err("create directory", rel, e)),
        };
        match rfs::openat(dir, name, DIR_OPEN, Mode::empty()) {
            Ok(fd) => Ok((fd, created)),
            // Something else is in the way (overwrite semantics): replace it.
            Err(Errno::LOOP | Errno::NOTDIR) => {
                self.remove_nondir(name, rel)?;
                rfs::mkdirat(dir, name, Mode::from_raw_mode(0o700))
                    .map_err(|e| self.err("create directory", rel, e))?;
                rfs::openat(dir, name, DIR_OPEN, Mode::empty())
                    .map(|fd| (fd, true))
                    .map_err(|e| self.err("open directory", rel, e))
            }
            Err(e) => Err(self.err("open directory", rel, e)),
        }
    }

    fn make_symlink(&self, name: &[u8], target: &[u8], rel: &[u8]) -> Result<()> {
        let dir = top(&self.root, &self.stack);
        match rfs::symlinkat(target, dir, name) {
            Ok(()) => Ok(()),
            Err(Errno::EXIST) => {
                self.remove_nondir(name, rel)?;
                rfs::symlinkat(target, dir, name).map_err(|e| self.err("create symlink", rel, e))
            }
            Err(e) => Err(self.err("create symlink", rel, e)),
        }
    }

    fn make_fifo(&self, name: &[u8], rel: &[u8]) -> Result<OwnedFd> {
        let dir = top(&self.root, &self.stack);
        let mk = || {
            rfs::mknodat(
                dir,
                name,
                rfs::FileType::Fifo,
                Mode::from_raw_mode(0o600),
                0,
            )
        };
        match mk() {
            Ok(()) => {}
            Err(Errno::EXIST) => {
                self.remove_nondir(name, rel)?;
                mk().map_err(|e| self.err("create fifo", rel, e))?;
            }
            Err(e) => return Err(self.err("create fifo", rel, e)),
        }
        // Non-blocking read open of a FIFO returns at once; the fd lets the
        // metadata calls act on exactly what we created.
        rfs::openat(
            dir,
            name,
            OFlags::RDONLY | OFlags::NONBLOCK | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(|e| self.err("open fifo", rel, e))
    }

    fn make_hardlink(
        &self,
        name: &[u8],
        rel: &[u8],
        target: &[&[u8]],
        target_rel: &[u8],
    ) -> Result<()> {
        let (&tname, tparents) = target.split_last().expect("non-empty target");
        let same_dir = tparents.len() == self.stack.len()
            && self
                .stack
                .iter()
                .zip(tparents)
                .all(|(s, t)| s.name.as_slice() == *t);
        let walked;
        let tdir = if same_dir {
            top(&self.root, &self.stack)
        } else {
            walked = self.walk_existing(tparents, target_rel)?;
            walked.as_fd()
        };
        let dir = top(&self.root, &self.stack);
        let link = || rfs::linkat(tdir, tname, dir, name, AtFlags::empty());
        let res = match link() {
            Err(Errno::EXIST) => {
                self.remove_nondir(name, rel)?;
                link()
            }
            r => r,
        };
        match res {
            Ok(()) => Ok(()),
            Err(Errno::NOENT) => Err(CoreError::format(format!(
                "hardlink {} points to {} which was not extracted",
                q(rel),
                q(target_rel)
            ))),
            Err(e) => Err(self.err("create hardlink", rel, e)),
        }
    }

    /// Opens an existing directory path from the root without following
    /// symlinks (for hardlink targets outside the current directory).
    fn walk_existing(&self, comps: &[&[u8]], rel: &[u8]) -> Result<OwnedFd> {
        let mut cur: Option<OwnedFd> = None;
        for (i, &c) in comps.iter().enumerate() {
            let dir = cur.as_ref().map_or(self.root.as_fd(), |f| f.as_fd());
            let fd = match rfs::openat(
                dir,
                c,
                OFlags::PATH | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                Mode::empty(),
            ) {
                Ok(fd) => fd,
                Err(e @ (Errno::LOOP | Errno::NOTDIR)) => {
                    return Err(self.not_a_dir(dir, c, &join(&comps[..=i]), rel, e))
                }
                Err(Errno::NOENT) => {
                    return Err(CoreError::format(format!(
                        "hardlink target {} was not extracted",
                        q(rel)
                    )))
                }
                Err(e) => return Err(self.err("open directory", &join(&comps[..=i]), e)),
            };
            cur = Some(fd);
        }
        match cur {
            Some(fd) => Ok(fd),
            None => self.root.try_clone().map_err(|e| CoreError::io("dup", e)),
        }
    }

    /// chown, then chmod (chown clears setuid/setgid), then xattrs (chown
    /// also drops security.capability), then times.
    /// Returns the xattrs that were set (a filesystem may not take some).
    fn apply_fd(&self, fd: &OwnedFd, m: &Meta, rel: &[u8], times: bool, owned: bool) -> Result<Xattrs> {
        self.apply_fd_with(fd, m, rel, times, owned, true)
    }

    fn apply_fd_with(&self, fd: &OwnedFd, m: &Meta, rel: &[u8], times: bool, owned: bool, chmod: bool) -> Result<Xattrs> {
        if !owned {
            match rfs::fchown(fd, Some(Uid::from_raw(m.uid)), Some(Gid::from_raw(m.gid))) {
                Ok(()) => {}
                Err(Errno::PERM) if !self.is_root => {}
                Err(e) => return Err(self.err("chown", rel, e)),
            }
        }
        if chmod {
            rfs::fchmod(fd, Mode::from_raw_mode(m.mode)).map_err(|e| self.err("chmod", rel, e))?;
        }
        let mut set = Vec::new();
        for (k, v) in &m.xattrs {
            match rfs::fsetxattr(fd, k.as_slice(), v, XattrFlags::empty()) {
                Ok(()) => set.push((k.clone(), v.clone())),
                Err(Errno::NOTSUP) => {}
                Err(Errno::PERM) if !self.is_root => {}
                Err(e) => return Err(self.err(&format!("set xattr {} on", q(k)), rel, e)),
            }
        }
        if times {
            rfs::futimens(fd, &m.times()).map_err(|e| self.err("set times of", rel, e))?;
        }
        Ok(set)
    }

    /// Metadata for a symlink, which cannot be opened: lchown, xattrs through
    /// the trusted parent fd, utimensat without following.
    fn apply_at(&self, name: &[u8], m: &Meta, rel: &[u8], owned: bool) -> Result<Xattrs> {
        let dir = top(&self.root, &self.stack);
        if !owned {
            let (u, g) = (Some(Uid::from_raw(m.uid)), Some(Gid::from_raw(m.gid)));
            match rfs::chownat(dir, name, u, g, AtFlags::SYMLINK_NOFOLLOW) {
                Ok(()) => {}
                Err(Errno::PERM) if !self.is_root => {}
                Err(e) => return Err(self.err("chown", rel, e)),
            }
        }
        let mut set = Vec::new();
        if !m.xattrs.is_empty() {
            let mut p = format!("/proc/self/fd/{}/", dir.as_raw_fd()).into_bytes();
            p.extend_from_slice(name);
            for (k, v) in &m.xattrs {
                match rfs::lsetxattr(p.as_slice(), k.as_slice(), v, XattrFlags::empty()) {
                    Ok(()) => set.push((k.clone(), v.clone())),
                    // user.* xattrs are not allowed on symlinks at all.
                    Err(Errno::NOTSUP) | Err(Errno::PERM) => {}
                    Err(e) => return Err(self.err(&format!("set xattr {} on", q(k)), rel, e)),
                }
            }
        }
        rfs::utimensat(dir, name, &m.times(), AtFlags::SYMLINK_NOFOLLOW)
            .map_err(|e| self.err("set times of", rel, e))?;
        Ok(set)
    }
}

/// Xattrs as the tree hash lists them: by name, the last value set for a
/// name, without the ones it ignores.
fn sorted_xattrs(mut x: Xattrs) -> Xattrs {
    if x.is_empty() {
        return x;
    }
    x.retain(|(k, _)| keep_xattr(k));
    let mut by: std::collections::BTreeMap<Vec<u8>, Vec<u8>> = Default::default();
    for (k, v) in x {
        by.insert(k, v);
    }
    by.into_iter().collect()
}
