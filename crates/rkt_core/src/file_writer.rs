//! The second half of creating a regular file, on a thread of its own: writing its data, setting
//! its owner, mode and times, and closing it.
//!
//! Extracting an image of many small files is bound by the kernel's work per file, and one
//! thread doing all of it leaves the other core to the hashes. The render thread keeps every
//! step that resolves a path (creating the file with O_NOFOLLOW under a trusted directory fd,
//! directories, links), in archive order, so nothing here can change where anything lands; this
//! thread only acts on fds it is handed, in the order it is handed them. A file's steps all go
//! through here, so they keep their order; different files are different inodes, so nothing else
//! needs ordering (a hardlink made to a file whose data is still queued names the same inode and
//! sees the data once the render is done; a later entry replacing the file unlinks it first).

use std::fs::File;
use std::io::Write;
use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, SyncSender};
use std::sync::Arc;

use rustix::fs::{self as rfs, Mode, Timestamps};
use rustix::process::{Gid, Uid};

use crate::error::CoreError;
use crate::hashwork::Work;
use crate::pathutil::q;

/// Files handed over but not closed yet, above which the render thread finishes files itself:
/// it bounds the fds held open whatever the archive (a 1 MiB chunk can start 2,000 files).
pub(crate) const MAX_PENDING: usize = 512;

/// Large files get a writeback request when closed (as SafeWriter does itself).
const WRITEBACK_MIN: u64 = 1 << 20;

pub(crate) enum FileOp {
    /// The file created for the next entry; later ops apply to it.
    Open { fd: OwnedFd, rel: Vec<u8> },
    /// Bytes `start..end` of the chunk these ops came with.
    Write { start: u32, end: u32 },
    /// The file is complete: chown (None when created with the right owner), then chmod (None
    /// when created with its final mode; chown clears setuid bits, so it must come second), then
    /// times, then close.
    Close { owner: Option<(u32, u32)>, mode: Option<u32>, times: Timestamps, writeback: bool },
}

/// Shared between the render thread and the writer.
#[derive(Default)]
pub(crate) struct WriterState {
    /// Files opened by the render thread and not yet closed here.
    pub pending: AtomicUsize,
    /// The writer hit an error: the render should stop early (`run` returns the error).
    pub failed: AtomicBool,
}

/// Applies each chunk's ops, then passes the chunk on to the hash thread. Returns the first error
/// (after which ops are skipped, but chunks still flow so that nothing upstream blocks).
pub(crate) fn run(
    rx: Receiver<(Work, Vec<FileOp>)>,
    next: SyncSender<Work>,
    state: Arc<WriterState>,
    root: String,
    is_root: bool,
) -> Option<CoreError> {
    let mut w = Writer { cur: None, error: None, root, is_root, state: &state };
    for (work, ops) in rx {
        if let Work::Chunk { buf, .. } = &work {
            for op in ops {
                w.apply(op, buf);
            }
        }
        if next.send(work).is_err() {
            break;
        }
    }
    // An Open without its Close (the render stopped): the fd closes here.
    if w.cur.take().is_some() {
        state.pending.fetch_sub(1, Ordering::Relaxed);
    }
    w.error
}

struct Writer<'a> {
    cur: Option<(File, Vec<u8>, u64)>,
    error: Option<CoreError>,
    root: String,
    is_root: bool,
    state: &'a WriterState,
}

impl Writer<'_> {
    fn apply(&mut self, op: FileOp, buf: &[u8]) {
        match op {
            FileOp::Open { fd, rel } => {
                if self.cur.replace((File::from(fd), rel, 0)).is_some() {
                    self.state.pending.fetch_sub(1, Ordering::Relaxed);
                }
            }
            FileOp::Write { start, end } => {
                if self.error.is_some() {
                    return;
                }
                let Some((f, rel, written)) = self.cur.as_mut() else { return };
                let Some(data) = buf.get(start as usize..end as usize) else {
                    let e = CoreError::Io(format!("file data of {} outside its chunk", q(rel)));
                    return self.fail(e);
                };
                *written += data.len() as u64;
                if let Err(e) = f.write_all(data) {
                    let e = CoreError::io(format!("write {} in {}", q(rel), self.root), e);
                    self.fail(e);
                }
            }
            FileOp::Close { owner, mode, times, writeback } => {
                let Some((f, rel, written)) = self.cur.take() else { return };
                self.state.pending.fetch_sub(1, Ordering::Relaxed);
                if self.error.is_some() {
                    return;
                }
                if let Err(e) = self.finish(&f, owner, mode, &times, writeback && written >= WRITEBACK_MIN) {
                    let (what, e) = e;
                    let e = CoreError::errno(format!("{what} {} in {}", q(&rel), self.root), e);
                    self.fail(e);
                }
            }
        }
    }

    fn finish(
        &self,
        f: &File,
        owner: Option<(u32, u32)>,
        mode: Option<u32>,
        times: &Timestamps,
        writeback: bool,
    ) -> std::result::Result<(), (&'static str, rustix::io::Errno)> {
        if writeback {
            // SAFETY: a plain syscall on an fd we own; failure only loses the hint.
            unsafe { libc::sync_file_range(f.as_raw_fd(), 0, 0, libc::SYNC_FILE_RANGE_WRITE) };
        }
        if let Some((uid, gid)) = owner {
            match rfs::fchown(f, Some(Uid::from_raw(uid)), Some(Gid::from_raw(gid))) {
                Ok(()) => {}
                Err(rustix::io::Errno::PERM) if !self.is_root => {}
                Err(e) => return Err(("chown", e)),
            }
        }
        if let Some(m) = mode {
            rfs::fchmod(f, Mode::from_raw_mode(m)).map_err(|e| ("chmod", e))?;
        }
        rfs::futimens(f, times).map_err(|e| ("set times of", e))
    }

    fn fail(&mut self, e: CoreError) {
        self.error.get_or_insert(e);
        self.state.failed.store(true, Ordering::Relaxed);
    }
}
