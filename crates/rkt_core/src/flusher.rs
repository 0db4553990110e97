//! Making a file durable while it is still being written.
//!
//! On this kind of machine (a VM whose disk is a file on the host) writes land in the host's
//! cache at several hundred MB/s and the real cost comes at fsync, when the host must flush them:
//! a blob fsynced once at the end waits for all of it, after the CPU work is done. A `Flusher`
//! thread fdatasyncs the file each time the writer says another step has been written, so the
//! flushing overlaps the decompression and hashing, and the final fsync waits only for the tail.
//! The thread sleeps in the syscall: it costs the pipeline no CPU.

use std::fs::File;
use std::io;
use std::sync::mpsc::{sync_channel, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};

/// Bytes written between two background fdatasyncs.
pub(crate) const FLUSH_STEP: u64 = 32 << 20;

pub(crate) struct Flusher {
    tx: Option<SyncSender<()>>,
    thread: Option<JoinHandle<()>>,
    /// The first error a background fdatasync saw. The fd is a dup sharing the writer's open file
    /// description, so an error reported here is not reported again to the final fsync: it must
    /// be passed on by `finish`.
    error: Arc<Mutex<Option<io::Error>>>,
    /// Bytes written so far and at the last nudge.
    written: u64,
    nudged: u64,
}

impl Flusher {
    /// Starts the thread for `file`. When the fd cannot be duplicated or the thread cannot start,
    /// the flusher does nothing and the final fsync does all the work, as before.
    pub(crate) fn start(file: &File, already: u64) -> Flusher {
        let error = Arc::new(Mutex::new(None));
        let mut f = Flusher { tx: None, thread: None, error: error.clone(), written: already, nudged: already };
        let Ok(own) = file.try_clone() else { return f };
        // One pending nudge is enough: a sync started after it covers everything written before.
        let (tx, rx) = sync_channel::<()>(1);
        let spawned = thread::Builder::new().name("rkt-flush".into()).spawn(move || {
            for () in rx.iter() {
                if let Err(e) = own.sync_data() {
                    if let Ok(mut slot) = error.lock() {
                        slot.get_or_insert(e);
                    }
                    return;
                }
            }
        });
        if let Ok(h) = spawned {
            f.tx = Some(tx);
            f.thread = Some(h);
        }
        f
    }

    /// Records `n` more bytes written; every FLUSH_STEP bytes, asks for a background sync
    /// without ever blocking the writer.
    pub(crate) fn wrote(&mut self, n: u64) {
        self.written += n;
        if self.written - self.nudged < FLUSH_STEP {
            return;
        }
        self.nudged = self.written;
        if let Some(tx) = &self.tx {
            match tx.try_send(()) {
                Ok(()) | Err(TrySendError::Full(())) => {}
                Err(TrySendError::Disconnected(())) => self.tx = None,
            }
        }
    }

    /// Where the thread's error will be, for the owner of the file to check once the flusher is
    /// dropped (the writer may be on another thread).
    pub(crate) fn outcome(&self) -> FlushOutcome {
        FlushOutcome(self.error.clone())
    }

    /// Stops the thread (after the sync it may be in) and returns the error it saw, if any.
    #[cfg(test)]
    pub(crate) fn finish(mut self) -> io::Result<()> {
        self.stop();
        self.outcome().take()
    }

    fn stop(&mut self) {
        self.tx = None;
        if let Some(h) = self.thread.take() {
            let _ = h.join();
        }
    }
}

pub(crate) struct FlushOutcome(Arc<Mutex<Option<io::Error>>>);

impl FlushOutcome {
    /// The background error, if any; call after the flusher is dropped.
    pub(crate) fn take(&self) -> io::Result<()> {
        match self.0.lock().ok().and_then(|mut e| e.take()) {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}

impl Drop for Flusher {
    fn drop(&mut self) {
        self.stop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn flushes_in_the_background_and_stops() {
        let d = tempfile::tempdir().unwrap();
        let mut file = File::create(d.path().join("f")).unwrap();
        let mut fl = Flusher::start(&file, 0);
        assert!(fl.thread.is_some());
        let chunk = vec![7u8; 1 << 20];
        for _ in 0..(3 * FLUSH_STEP >> 20) {
            file.write_all(&chunk).unwrap();
            fl.wrote(chunk.len() as u64);
        }
        fl.finish().unwrap();
        assert_eq!(file.metadata().unwrap().len(), 3 * FLUSH_STEP);
    }

    #[test]
    fn counts_bytes_already_there() {
        let d = tempfile::tempdir().unwrap();
        let file = File::create(d.path().join("f")).unwrap();
        let mut fl = Flusher::start(&file, 100);
        fl.wrote(FLUSH_STEP - 1);
        assert_eq!(fl.nudged, 100, "not a whole step since the start");
        fl.wrote(1);
        assert_eq!(fl.nudged, FLUSH_STEP + 100);
        fl.finish().unwrap();
    }

    #[test]
    fn reports_a_background_error() {
        // fdatasync of a pipe fails with EINVAL: it stands in for a disk error.
        let (r, w) = nix_pipe();
        let mut fl = Flusher::start(&w, 0);
        fl.wrote(FLUSH_STEP);
        let err = fl.finish().unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::EINVAL));
        drop(r);
    }

    fn nix_pipe() -> (File, File) {
        use std::os::fd::FromRawFd;
        let mut fds = [0; 2];
        // SAFETY: pipe fills two new fds, each then owned by exactly one File.
        assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
        unsafe { (File::from_raw_fd(fds[0]), File::from_raw_fd(fds[1])) }
    }
}
