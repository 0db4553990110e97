//! Reading stored blobs. A blob holds an image's tar in one of two forms:
//! the uncompressed tar (rkt's form), or, for images that arrived
//! gzip-compressed, the gzip stream exactly as it arrived. Keeping the gzip
//! bytes halves (or better) what an import writes and fsyncs, and the disk, not
//! the CPU, is what bounds an import here; ISA-L inflates a blob back at
//! ~1.5 GB/s when it is read. The key is always the SHA-512 of the tar, so
//! every reader goes through `open_blob` and every check is on the tar.
//!
//! The two forms are told apart by the gzip magic. A stored tar can never
//! start with it: an import detects its input's type by the same magic, and
//! refuses a bzip2 or xz image whose tar starts with those bytes.

use std::fs::File;
use std::io::{self, BufReader, Read, Write};
use std::path::Path;

use crate::digest::Sha512;
use crate::error::{CoreError, Result};

pub(crate) const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// A reader of the tar stored in the blob at `path`, whichever form it has.
pub fn open_blob(path: &Path) -> io::Result<Box<dyn Read>> {
    blob_reader(File::open(path)?)
}

/// `open_blob` over the blob's raw bytes as `file` reads them.
fn blob_reader(mut file: impl Read + 'static) -> io::Result<Box<dyn Read>> {
    let mut head = [0u8; 2];
    let n = crate::cas::read_full(&mut file, &mut head)?;
    let head = io::Cursor::new(head[..n].to_vec());
    if n == 2 && head.get_ref()[..] == GZIP_MAGIC {
        let input = BufReader::with_capacity(256 << 10, head.chain(file));
        return Ok(Box::new(Inflated(crate::inflate::gzip_reader(input))));
    }
    Ok(Box::new(head.chain(file)))
}

/// Whether the blob at `path` is stored gzip-compressed.
pub fn is_compressed(path: &Path) -> io::Result<bool> {
    let mut head = [0u8; 2];
    let n = crate::cas::read_full(&mut File::open(path)?, &mut head)?;
    Ok(n == 2 && head == GZIP_MAGIC)
}

/// Names gzip errors of a stored blob as damage to the blob, not to an image
/// the user is importing.
struct Inflated<R>(R);

impl<R: Read> Read for Inflated<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.read(buf).map_err(|e| {
            if e.raw_os_error().is_some() {
                e
            } else {
                io::Error::new(e.kind(), format!("damaged gzip blob: {e}"))
            }
        })
    }
}

/// The full SHA-512 (128 hex digits) of the tar in a blob.
pub fn hash_blob(path: &Path) -> Result<String> {
    copy_tar(path, &mut io::sink())
}

/// The BLAKE3 (64 hex) of the blob file's bytes as stored (see ImportedAci::blob_digest).
pub fn digest_bytes(path: &Path) -> Result<String> {
    let ctx = || format!("read {}", path.display());
    let mut f = File::open(path).map_err(|e| CoreError::io(ctx(), e))?;
    let mut h = blake3::Hasher::new();
    // 64 KiB reads stay in this core's cache between the copy and the hash.
    let mut buf = vec![0u8; 64 << 10];
    loop {
        match f.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => h.update(&buf[..n]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(CoreError::io(ctx(), e)),
        };
    }
    Ok(h.finalize().to_hex().to_string())
}

/// The full SHA-512 of the tar in a blob and the BLAKE3 of its bytes as stored, from one read:
/// the digest of the very bytes that were checked, for a store row that has none (or a stale one).
pub fn hash_blob_and_digest(path: &Path) -> Result<(String, String)> {
    use std::cell::RefCell;
    use std::rc::Rc;
    struct Digesting {
        file: File,
        b3: Rc<RefCell<blake3::Hasher>>,
    }
    impl Read for Digesting {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = self.file.read(buf)?;
            self.b3.borrow_mut().update(&buf[..n]);
            Ok(n)
        }
    }
    let ctx = || format!("read {}", path.display());
    let file = File::open(path).map_err(|e| CoreError::io(ctx(), e))?;
    let rest = file.try_clone().map_err(|e| CoreError::io(ctx(), e))?;
    let b3 = Rc::new(RefCell::new(blake3::Hasher::new()));
    let r = blob_reader(Digesting { file, b3: b3.clone() }).map_err(|e| CoreError::io(ctx(), e))?;
    let sha = copy_from(r, path, &mut io::sink())?;
    // The inflater may stop at the end of the gzip stream: the digest covers the whole file. (The
    // clone shares the file offset, so it reads on from where the inflater stopped.)
    let mut d = Digesting { file: rest, b3: b3.clone() };
    io::copy(&mut d, &mut io::sink()).map_err(|e| CoreError::io(ctx(), e))?;
    drop(d);
    let b3 = Rc::try_unwrap(b3).map_err(|_| CoreError::Io("blob digest still shared".into()))?;
    Ok((sha, b3.into_inner().finalize().to_hex().to_string()))
}

/// Writes the tar in the blob at `path` to `dest` (created or truncated) and
/// returns its full SHA-512, for `image export` to compare with the key.
pub fn export_blob(path: &Path, dest: &Path) -> Result<String> {
    let mut out = File::create(dest).map_err(|e| CoreError::io(format!("create {}", dest.display()), e))?;
    let hex = copy_tar(path, &mut out)?;
    out.flush().map_err(|e| CoreError::io(format!("write {}", dest.display()), e))?;
    Ok(hex)
}

fn copy_tar(path: &Path, out: &mut impl Write) -> Result<String> {
    let r = open_blob(path).map_err(|e| CoreError::io(format!("read {}", path.display()), e))?;
    copy_from(r, path, out)
}

fn copy_from(mut r: Box<dyn Read>, path: &Path, out: &mut impl Write) -> Result<String> {
    let ctx = || format!("read {}", path.display());
    let mut h = Sha512::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = match r.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(CoreError::io(ctx(), e)),
        };
        h.update(&buf[..n]);
        out.write_all(&buf[..n]).map_err(|e| CoreError::io("write exported tar", e))?;
    }
    Ok(h.finish_hex())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gz(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(6));
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    fn sha512_hex(d: &[u8]) -> String {
        let mut h = Sha512::new();
        h.update(d);
        h.finish_hex()
    }

    #[test]
    fn both_forms_read_back_as_the_tar() {
        let d = tempfile::tempdir().unwrap();
        let tar: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
        let plain = d.path().join("plain");
        let packed = d.path().join("packed");
        std::fs::write(&plain, &tar).unwrap();
        std::fs::write(&packed, gz(&tar)).unwrap();
        assert!(!is_compressed(&plain).unwrap());
        assert!(is_compressed(&packed).unwrap());
        for p in [&plain, &packed] {
            assert_eq!(hash_blob(p).unwrap(), sha512_hex(&tar));
            let out = d.path().join("out");
            assert_eq!(export_blob(p, &out).unwrap(), sha512_hex(&tar));
            assert_eq!(std::fs::read(&out).unwrap(), tar);
        }
    }

    #[test]
    fn hash_and_digest_in_one_pass_cover_every_byte() {
        let d = tempfile::tempdir().unwrap();
        let tar: Vec<u8> = (0..3_000_000u32).map(|i| (i.wrapping_mul(2654435761) >> 13) as u8).collect();
        let mut packed = gz(&tar);
        for (name, bytes) in [("plain", &tar), ("packed", &packed)] {
            let p = d.path().join(name);
            std::fs::write(&p, bytes).unwrap();
            let (sha, b3) = hash_blob_and_digest(&p).unwrap();
            assert_eq!(sha, hash_blob(&p).unwrap(), "{name}");
            assert_eq!(sha, sha512_hex(&tar), "{name}");
            assert_eq!(b3, blake3::hash(bytes).to_hex().as_str(), "{name}");
            assert_eq!(b3, digest_bytes(&p).unwrap(), "{name}");
        }
        // Bytes after the gzip stream, or a cut one: a damaged blob, no digest.
        let mut tailed = packed.clone();
        tailed.extend_from_slice(&[0u8; 1000]);
        packed.truncate(packed.len() / 2);
        for (name, bytes) in [("tailed", &tailed), ("cut", &packed)] {
            let p = d.path().join(name);
            std::fs::write(&p, bytes).unwrap();
            let e = hash_blob_and_digest(&p).unwrap_err().to_string();
            assert!(e.contains("damaged gzip blob"), "{name}: {e}");
        }
    }

    #[test]
    fn tiny_and_empty_blobs_are_plain() {
        let d = tempfile::tempdir().unwrap();
        for bytes in [&b""[..], &b"\x1f"[..]] {
            let p = d.path().join("b");
            std::fs::write(&p, bytes).unwrap();
            assert_eq!(hash_blob(&p).unwrap(), sha512_hex(bytes));
        }
    }

    #[test]
    fn a_damaged_gzip_blob_is_an_error_naming_it() {
        let d = tempfile::tempdir().unwrap();
        let mut g = gz(&vec![7u8; 100_000]);
        let n = g.len();
        g[n - 6] ^= 0xff; // the CRC
        let p = d.path().join("b");
        std::fs::write(&p, &g).unwrap();
        let e = hash_blob(&p).unwrap_err().to_string();
        assert!(e.contains("damaged gzip blob"), "{e}");
        g.truncate(n / 2);
        std::fs::write(&p, &g).unwrap();
        assert!(hash_blob(&p).unwrap_err().to_string().contains("damaged gzip blob"));
    }
}
