//! The hashing stage shared by import and render: one thread that takes each
//! chunk after the writer is done with it, updates the blob's SHA-512 (when
//! the blob is being verified or keyed) and the BLAKE3 digests of the
//! regular files whose data lie in that chunk, then hands the buffer back
//! for reuse. Keeping all hashing off the writing thread is what lets the
//! two cores overlap syscalls with hashing.

use std::sync::mpsc::{Receiver, SyncSender};

use crate::digest::Sha512;
use crate::treehash::Digest;

/// Part of a chunk that is file data: `chunk[start..end]` belongs to the file
/// with content slot `slot`. Segments of a file arrive in order.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Seg {
    pub slot: u32,
    pub start: u32,
    pub end: u32,
}

pub(crate) enum Work {
    Chunk {
        buf: Vec<u8>,
        segs: Vec<Seg>,
        /// Feed the whole chunk to the blob hash too.
        blob: bool,
    },
    /// The blob being hashed is complete: record its hex digest.
    EndBlob,
}

#[derive(Default)]
pub(crate) struct HashOut {
    /// One per EndBlob, in order.
    pub blobs: Vec<String>,
    /// By content slot; None for files that sent no data (empty files).
    pub contents: Vec<Option<Digest>>,
}

pub(crate) fn run(rx: Receiver<Work>, pool: Option<SyncSender<Vec<u8>>>) -> HashOut {
    let mut out = HashOut::default();
    let mut blob = Sha512::new();
    let mut cur: Option<(u32, blake3::Hasher)> = None;
    let finish = |out: &mut HashOut, cur: &mut Option<(u32, blake3::Hasher)>| {
        if let Some((slot, h)) = cur.take() {
            let slot = slot as usize;
            if out.contents.len() <= slot {
                out.contents.resize(slot + 1, None);
            }
            out.contents[slot] = Some(*h.finalize().as_bytes());
        }
    };
    for w in rx {
        match w {
            Work::Chunk { buf, segs, blob: b } => {
                if b {
                    blob.update(&buf);
                }
                for s in segs {
                    if cur.as_ref().map(|c| c.0) != Some(s.slot) {
                        finish(&mut out, &mut cur);
                        cur = Some((s.slot, blake3::Hasher::new()));
                    }
                    if let Some((_, h)) = cur.as_mut() {
                        h.update(&buf[s.start as usize..s.end as usize]);
                    }
                }
                if let Some(p) = &pool {
                    let _ = p.try_send(buf);
                }
            }
            Work::EndBlob => {
                let done = std::mem::replace(&mut blob, Sha512::new());
                out.blobs.push(done.finish_hex());
            }
        }
    }
    finish(&mut out, &mut cur);
    out
}
