//! An import fed by the caller chunk by chunk (a download, as it arrives), so
//! that decompression, hashing, writing the blob and rendering the tree
//! overlap the network and the signature check instead of following them.
//! The import runs on its own thread (cas::import_from) reading from a
//! bounded queue: `push` never blocks, it says when the queue is full, and
//! `wait_room` blocks (off the caller's event loop) until it has drained.

use std::collections::VecDeque;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::{self, JoinHandle};

use crate::cas::{import_from, ImportedAci, SourceCopy};
use crate::error::{CoreError, Result};

/// Bytes queued before `push` asks the caller to wait.
const HIGH_WATER: usize = 8 << 20;
/// Bytes left in the queue when a waiting caller is let go again.
const LOW_WATER: usize = 2 << 20;

#[derive(Default)]
struct Queue {
    chunks: VecDeque<Vec<u8>>,
    bytes: usize,
    /// No more input (finish) or the caller gave up (abort).
    closed: bool,
    aborted: bool,
    /// The import thread stopped reading (done or failed).
    gone: bool,
    /// The import thread waits for data: only then is a wake-up needed.
    starving: bool,
}

#[derive(Default)]
struct Shared {
    q: Mutex<Queue>,
    /// Signalled when data arrives or the queue closes.
    data: Condvar,
    /// Signalled when the queue drains below LOW_WATER or the reader is gone.
    room: Condvar,
}

pub struct StreamImport {
    shared: Arc<Shared>,
    handle: Option<JoinHandle<Result<ImportedAci>>>,
}

struct QueueReader {
    shared: Arc<Shared>,
    cur: Vec<u8>,
    pos: usize,
}

impl Read for QueueReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.pos == self.cur.len() {
            let mut q = self.shared.q.lock().unwrap();
            loop {
                if q.aborted {
                    return Err(io::Error::other("import aborted"));
                }
                if let Some(c) = q.chunks.pop_front() {
                    q.bytes -= c.len();
                    if q.bytes < LOW_WATER {
                        self.shared.room.notify_all();
                    }
                    self.cur = c;
                    self.pos = 0;
                    break;
                }
                if q.closed {
                    return Ok(0);
                }
                q.starving = true;
                q = self.shared.data.wait(q).unwrap();
                q.starving = false;
            }
        }
        let n = buf.len().min(self.cur.len() - self.pos);
        buf[..n].copy_from_slice(&self.cur[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

impl Drop for QueueReader {
    fn drop(&mut self) {
        let mut q = self.shared.q.lock().unwrap();
        q.gone = true;
        q.chunks.clear();
        q.bytes = 0;
        self.shared.room.notify_all();
    }
}

impl StreamImport {
    /// Starts an import into `tmp_dir` (rendering the tree too when `render`),
    /// writing the source bytes to `copy` when given (see `SourceCopy`).
    pub fn start(tmp_dir: &Path, render: bool, copy: Option<SourceCopy>) -> Result<Self> {
        let shared = Arc::new(Shared::default());
        let reader = QueueReader { shared: shared.clone(), cur: Vec::new(), pos: 0 };
        let tmp: PathBuf = tmp_dir.to_path_buf();
        // Opened (and cut to `have`) now, not when the first bytes arrive: the caller may move the
        // file as soon as it has pushed them all.
        let copy = copy.map(|c| c.open().map(|f| (c, f))).transpose()?;
        let handle = thread::Builder::new()
            .name("rkt-import".into())
            .spawn(move || {
                let src = Path::new("the image stream");
                import_from(reader, src, &tmp, None, render, copy)
            })
            .map_err(|e| CoreError::io("start the import thread", e))?;
        Ok(StreamImport { shared, handle: Some(handle) })
    }

    /// Queues the next bytes. Returns false when the caller should
    /// `wait_room` before pushing more (the queue is full, or the import has
    /// already stopped, in which case the bytes are dropped and `finish`
    /// tells why).
    pub fn push(&self, chunk: Vec<u8>) -> bool {
        let mut q = self.shared.q.lock().unwrap();
        if q.gone || q.closed {
            return true;
        }
        q.bytes += chunk.len();
        q.chunks.push_back(chunk);
        if q.starving {
            self.shared.data.notify_one();
        }
        q.bytes < HIGH_WATER
    }

    /// A handle that can wait for room from another thread.
    pub fn waiter(&self) -> RoomWaiter {
        RoomWaiter { shared: self.shared.clone() }
    }

    /// No more input: the result of the import.
    pub fn finish(mut self) -> Result<ImportedAci> {
        self.close(false);
        self.join()
    }

    /// Gives up: the import stops and removes its temp file and tree.
    pub fn abort(mut self) {
        self.close(true);
        if let Ok(a) = self.join() {
            // It had finished before the abort arrived.
            let _ = std::fs::remove_file(&a.tmp_path);
            if let Some(t) = a.tree {
                let _ = std::fs::remove_dir_all(t.dir);
            }
        }
    }

    fn close(&self, abort: bool) {
        let mut q = self.shared.q.lock().unwrap();
        q.closed = true;
        q.aborted |= abort;
        self.shared.data.notify_all();
    }

    fn join(&mut self) -> Result<ImportedAci> {
        match self.handle.take().map(|h| h.join()) {
            Some(Ok(r)) => r,
            Some(Err(_)) => Err(CoreError::Io("import thread panicked".into())),
            None => Err(CoreError::Io("import already finished".into())),
        }
    }
}

impl Drop for StreamImport {
    fn drop(&mut self) {
        if self.handle.is_some() {
            self.close(true);
            let _ = self.join().map(|a| {
                let _ = std::fs::remove_file(&a.tmp_path);
                if let Some(t) = a.tree {
                    let _ = std::fs::remove_dir_all(t.dir);
                }
            });
        }
    }
}

pub struct RoomWaiter {
    shared: Arc<Shared>,
}

impl RoomWaiter {
    /// Blocks until the queue has drained below the low-water mark or the
    /// import no longer reads.
    pub fn wait(&self) {
        let mut q = self.shared.q.lock().unwrap();
        while q.bytes >= LOW_WATER && !q.gone && !q.closed {
            q = self.shared.room.wait(q).unwrap();
        }
    }
}
