//! gzip decompression. Inflate is the slowest stage of an import (zlib-rs
//! ~460 MB/s here); Intel's ISA-L (igzip) inflates the same images at about
//! 1.5 GB/s on this machine, so with the `isal` feature it does the work and
//! zlib-rs (flate2) stays as the portable fallback. Both read multi-member
//! streams as one (as gzip(1) and Go do) and verify each member's CRC.

use std::io::{self, BufRead, Read};

/// A reader of the decompressed bytes of the gzip stream in `input`.
pub(crate) fn gzip_reader<'a, R: BufRead + 'a>(input: R) -> Box<dyn Read + 'a> {
    #[cfg(feature = "isal")]
    {
        Box::new(isal::GzipReader::new(input))
    }
    #[cfg(not(feature = "isal"))]
    {
        Box::new(flate2::bufread::MultiGzDecoder::new(input))
    }
}

#[cfg(feature = "isal")]
mod isal {
    use super::*;
    use isal_sys::igzip_lib as ffi;

    pub(crate) struct GzipReader<R> {
        inner: R,
        state: Box<ffi::inflate_state>,
        /// A member has started and not yet ended.
        in_member: bool,
        /// At least one member was read completely.
        any: bool,
    }

    impl<R: BufRead> GzipReader<R> {
        pub(crate) fn new(inner: R) -> Self {
            // SAFETY: inflate_state is plain C data; isal_inflate_init sets
            // every field it reads before use.
            let mut state: Box<ffi::inflate_state> = Box::new(unsafe { std::mem::zeroed() });
            unsafe { ffi::isal_inflate_init(&mut *state) };
            state.crc_flag = ffi::ISAL_GZIP;
            GzipReader {
                inner,
                state,
                in_member: false,
                any: false,
            }
        }

        fn finished(&self) -> bool {
            self.state.block_state == ffi::isal_block_state_ISAL_BLOCK_FINISH
        }
    }

    fn invalid(code: i32) -> io::Error {
        let what = match code {
            ffi::ISAL_INVALID_BLOCK => "invalid block",
            ffi::ISAL_INVALID_SYMBOL => "invalid symbol",
            ffi::ISAL_INVALID_LOOKBACK => "invalid distance too far back",
            ffi::ISAL_INVALID_WRAPPER => "invalid gzip header",
            ffi::ISAL_UNSUPPORTED_METHOD => "unsupported compression method",
            ffi::ISAL_INCORRECT_CHECKSUM => "checksum mismatch",
            _ => "invalid data",
        };
        io::Error::new(io::ErrorKind::InvalidData, format!("{what} (isa-l {code})"))
    }

    impl<R: BufRead> Read for GzipReader<R> {
        fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
            if out.is_empty() {
                return Ok(0);
            }
            loop {
                let input = self.inner.fill_buf()?;
                if input.is_empty() {
                    // The stream may end only between members.
                    if self.in_member && !self.finished() || !self.any && !self.in_member {
                        return Err(io::Error::new(
                            io::ErrorKind::UnexpectedEof,
                            "gzip stream ends early",
                        ));
                    }
                    return Ok(0);
                }
                let s = &mut *self.state;
                if self.in_member && s.block_state == ffi::isal_block_state_ISAL_BLOCK_FINISH {
                    // More bytes after a complete member: the next member.
                    unsafe { ffi::isal_inflate_reset(s) };
                    s.crc_flag = ffi::ISAL_GZIP;
                }
                self.in_member = true;
                s.next_in = input.as_ptr() as *mut u8;
                s.avail_in = input.len().min(u32::MAX as usize) as u32;
                s.next_out = out.as_mut_ptr();
                s.avail_out = out.len().min(u32::MAX as usize) as u32;
                let before_in = s.avail_in;
                let before_out = s.avail_out;
                // SAFETY: next_in/next_out point into live buffers of the
                // lengths given; ISA-L writes only within avail_out.
                let rc = unsafe { ffi::isal_inflate(s) };
                let consumed = (before_in - s.avail_in) as usize;
                let produced = (before_out - s.avail_out) as usize;
                s.next_in = std::ptr::null_mut();
                s.next_out = std::ptr::null_mut();
                let finished = s.block_state == ffi::isal_block_state_ISAL_BLOCK_FINISH;
                self.inner.consume(consumed);
                if rc < 0 {
                    return Err(invalid(rc));
                }
                if finished {
                    self.any = true;
                }
                if produced > 0 {
                    return Ok(produced);
                }
                if consumed == 0 && !finished {
                    return Err(io::Error::other("gzip decoder made no progress"));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn gz(data: &[u8], level: u32) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(level));
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    fn inflate(data: &[u8]) -> io::Result<Vec<u8>> {
        let mut out = Vec::new();
        // Small reads and a small input buffer cross every boundary.
        let mut r = gzip_reader(io::BufReader::with_capacity(777, data));
        let mut buf = [0u8; 1000];
        loop {
            match r.read(&mut buf)? {
                0 => return Ok(out),
                n => out.extend_from_slice(&buf[..n]),
            }
        }
    }

    fn sample() -> Vec<u8> {
        (0..400_000u32).map(|i| ((i * 31) ^ (i >> 7)) as u8).collect()
    }

    #[test]
    fn round_trips_single_and_multi_member() {
        let d = sample();
        for level in [0, 1, 6, 9] {
            assert_eq!(inflate(&gz(&d, level)).unwrap(), d, "level {level}");
        }
        let mut two = gz(&d[..1234], 6);
        two.extend(gz(&d[1234..], 1));
        assert_eq!(inflate(&two).unwrap(), d);
        assert_eq!(inflate(&gz(b"", 6)).unwrap(), b"");
    }

    #[test]
    fn truncation_and_corruption_are_errors() {
        let g = gz(&sample(), 6);
        for cut in [1, 10, g.len() / 2, g.len() - 4, g.len() - 1] {
            let e = inflate(&g[..cut]).unwrap_err();
            assert_eq!(e.kind(), io::ErrorKind::UnexpectedEof, "cut at {cut}: {e}");
        }
        let mut bad = g.clone();
        let n = bad.len();
        bad[n - 8] ^= 1; // the CRC
        assert_eq!(inflate(&bad).unwrap_err().kind(), io::ErrorKind::InvalidData);
        let mut bad = g.clone();
        bad[3] = 0xff; // reserved header flags
        assert!(inflate(&bad).is_err());
        let mut garbage = g.clone();
        garbage.extend_from_slice(b"not gzip");
        assert!(inflate(&garbage).is_err());
    }
}
