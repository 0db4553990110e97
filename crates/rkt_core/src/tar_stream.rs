//! A push parser for tar streams. Bytes arrive in chunks of any size (from a
//! decompressor or a file read); the parser tracks 512-byte blocks across chunk
//! boundaries and hands entries and their data to a `Sink` without buffering
//! file contents. It follows Go's archive/tar, which is what rkt used, so an
//! archive means the same thing to every part of this crate: ustar/star
//! prefixes, GNU long names and links (L/K), PAX records (x; g is skipped),
//! base-256 numbers, data-less types ignore their size field.

use crate::error::{CoreError, Result};
use crate::pathutil::q;

pub(crate) const BLOCK: usize = 512;
/// GNU long names and PAX records are buffered whole, so they get a bound.
const MAX_EXT: u64 = 1 << 20;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Regular,
    Hardlink,
    Symlink,
    Char,
    Block,
    Dir,
    Fifo,
}

impl Kind {
    /// The tar typeflag, also used as the type in tree hash headers.
    pub(crate) fn typeflag(self) -> char {
        match self {
            Kind::Regular => '0',
            Kind::Hardlink => '1',
            Kind::Symlink => '2',
            Kind::Char => '3',
            Kind::Block => '4',
            Kind::Dir => '5',
            Kind::Fifo => '6',
        }
    }
}

/// One archive member after all extension headers have been applied.
#[derive(Clone, Debug)]
pub(crate) struct Entry {
    pub name: Vec<u8>,
    pub link: Vec<u8>,
    pub kind: Kind,
    /// Permission bits including setuid/setgid/sticky.
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    /// Data bytes that follow the header (0 for every non-regular kind).
    pub size: u64,
    pub mtime: i64,
    pub mtime_nsec: u32,
    pub devmajor: u32,
    pub devminor: u32,
    pub xattrs: Vec<(Vec<u8>, Vec<u8>)>,
}

impl Default for Entry {
    fn default() -> Self {
        Entry {
            name: Vec::new(),
            link: Vec::new(),
            kind: Kind::Regular,
            mode: 0,
            uid: 0,
            gid: 0,
            size: 0,
            mtime: 0,
            mtime_nsec: 0,
            devmajor: 0,
            devminor: 0,
            xattrs: Vec::new(),
        }
    }
}

pub(crate) trait Sink {
    /// A new entry; return true to be handed its data.
    fn entry(&mut self, e: &Entry) -> Result<bool>;
    fn data(&mut self, chunk: &[u8]) -> Result<()>;
    /// Called after the last data byte of every entry (data wanted or not).
    fn end_entry(&mut self) -> Result<()>;
}

#[derive(Clone, Copy, Debug)]
enum State {
    Header,
    /// One all-zero block seen; a second one ends the archive.
    Zero,
    Data {
        remaining: u64,
        pad: u64,
        deliver: bool,
    },
    Ext {
        flag: u8,
        remaining: u64,
        pad: u64,
    },
    End,
}

pub(crate) struct TarParser {
    state: State,
    blk: [u8; BLOCK],
    fill: usize,
    offset: u64,
    ext: Vec<u8>,
    long_name: Option<Vec<u8>>,
    long_link: Option<Vec<u8>>,
    pax: Option<Vec<(Vec<u8>, Vec<u8>)>>,
    entry: Entry,
    entries: u64,
}

fn padding(size: u64) -> u64 {
    (BLOCK as u64 - size % BLOCK as u64) % BLOCK as u64
}

impl Default for TarParser {
    fn default() -> Self {
        Self::new()
    }
}

impl TarParser {
    pub(crate) fn new() -> Self {
        TarParser {
            state: State::Header,
            blk: [0; BLOCK],
            fill: 0,
            offset: 0,
            ext: Vec::new(),
            long_name: None,
            long_link: None,
            pax: None,
            entry: Entry::default(),
            entries: 0,
        }
    }

    pub(crate) fn entries(&self) -> u64 {
        self.entries
    }

    pub(crate) fn push<S: Sink + ?Sized>(&mut self, mut buf: &[u8], sink: &mut S) -> Result<()> {
        while !buf.is_empty() {
            match self.state {
                State::End => return Ok(()),
                State::Header | State::Zero => {
                    let n = (BLOCK - self.fill).min(buf.len());
                    self.blk[self.fill..self.fill + n].copy_from_slice(&buf[..n]);
                    self.fill += n;
                    self.offset += n as u64;
                    buf = &buf[n..];
                    if self.fill == BLOCK {
                        self.fill = 0;
                        self.on_block(sink)?;
                    }
                }
                State::Data {
                    remaining,
                    pad,
                    deliver,
                } => {
                    if remaining > 0 {
                        let n = remaining.min(buf.len() as u64) as usize;
                        if deliver {
                            sink.data(&buf[..n])?;
                        }
                        buf = &buf[n..];
                        self.offset += n as u64;
                        let remaining = remaining - n as u64;
                        self.state = State::Data {
                            remaining,
                            pad,
                            deliver,
                        };
                        if remaining == 0 {
                            sink.end_entry()?;
                            if pad == 0 {
                                self.state = State::Header;
                            }
                        }
                    } else {
                        let n = pad.min(buf.len() as u64);
                        buf = &buf[n as usize..];
                        self.offset += n;
                        self.state = if pad == n {
                            State::Header
                        } else {
                            State::Data {
                                remaining: 0,
                                pad: pad - n,
                                deliver,
                            }
                        };
                    }
                }
                State::Ext {
                    flag,
                    remaining,
                    pad,
                } => {
                    if remaining > 0 {
                        let n = remaining.min(buf.len() as u64) as usize;
                        self.ext.extend_from_slice(&buf[..n]);
                        buf = &buf[n..];
                        self.offset += n as u64;
                        let remaining = remaining - n as u64;
                        self.state = State::Ext {
                            flag,
                            remaining,
                            pad,
                        };
                        if remaining == 0 {
                            self.finish_ext(flag)?;
                            if pad == 0 {
                                self.state = State::Header;
                            }
                        }
                    } else {
                        let n = pad.min(buf.len() as u64);
                        buf = &buf[n as usize..];
                        self.offset += n;
                        self.state = if pad == n {
                            State::Header
                        } else {
                            State::Ext {
                                flag,
                                remaining: 0,
                                pad: pad - n,
                            }
                        };
                    }
                }
            }
        }
        Ok(())
    }

    /// End of input: an archive may stop at any header boundary (Go accepts a
    /// missing end-of-archive marker and a missing last padding), never inside
    /// a header or inside an entry's data.
    pub(crate) fn finish(&mut self) -> Result<()> {
        let pending = self.pending_ext();
        match self.state {
            State::End => Ok(()),
            State::Header | State::Zero if self.fill == 0 && !pending => Ok(()),
            State::Header | State::Zero if self.fill == 0 => Err(CoreError::format(
                "truncated tar archive: extended header not followed by an entry",
            )),
            State::Header | State::Zero => Err(CoreError::format(format!(
                "truncated tar archive: partial header at offset {}{}",
                self.offset - self.fill as u64,
                self.after_entry()
            ))),
            State::Data { remaining: 0, .. } => Ok(()),
            State::Data { .. } => Err(CoreError::format(format!(
                "truncated tar archive in entry {}",
                q(&self.entry.name)
            ))),
            State::Ext { .. } => Err(CoreError::format(format!(
                "truncated tar archive in extended header at offset {}",
                self.offset
            ))),
        }
    }

    fn after_entry(&self) -> String {
        if self.entries > 0 {
            format!(" (after entry {})", q(&self.entry.name))
        } else {
            String::new()
        }
    }

    fn pending_ext(&self) -> bool {
        self.long_name.is_some() || self.long_link.is_some() || self.pax.is_some()
    }

    fn bad_header(&self, what: &str) -> CoreError {
        CoreError::format(format!(
            "invalid tar header at offset {}: {what}{}",
            self.offset - BLOCK as u64,
            self.after_entry()
        ))
    }

    fn on_block<S: Sink + ?Sized>(&mut self, sink: &mut S) -> Result<()> {
        if self.blk.iter().all(|&b| b == 0) {
            if self.pending_ext() {
                return Err(self.bad_header("extended header not followed by an entry"));
            }
            self.state = match self.state {
                State::Zero => State::End,
                _ => State::Zero,
            };
            return Ok(());
        }
        if matches!(self.state, State::Zero) {
            return Err(self.bad_header("data after an end-of-archive block"));
        }
        let h = &self.blk;
        let stored =
            parse_octal(&h[148..156]).ok_or_else(|| self.bad_header("bad checksum field"))?;
        let (unsigned, signed) = checksums(h);
        if stored != unsigned && stored != signed {
            return Err(self.bad_header("checksum mismatch"));
        }
        let flag = h[156];
        let size = self.num(124..136, "size")?;
        if size < 0 {
            return Err(self.bad_header("negative size"));
        }
        let size = size as u64;

        if matches!(flag, b'L' | b'K' | b'x' | b'g') {
            if size > MAX_EXT {
                return Err(self.bad_header(&format!("extended header too large ({size} bytes)")));
            }
            self.ext.clear();
            self.state = State::Ext {
                flag,
                remaining: size,
                pad: padding(size),
            };
            if size == 0 {
                self.finish_ext(flag)?;
                self.state = State::Header;
            }
            return Ok(());
        }

        let magic = &h[257..263];
        let ustar = magic == b"ustar\0";
        let star = ustar && &h[508..512] == b"tar\0";
        let gnu = magic == b"ustar " && &h[263..265] == b" \0";
        let mut name = cstr(&h[0..100]).to_vec();
        let prefix = if star {
            cstr(&h[345..476])
        } else if ustar {
            cstr(&h[345..500])
        } else {
            &[][..]
        };
        if !prefix.is_empty() {
            let mut full = prefix.to_vec();
            full.push(b'/');
            full.extend_from_slice(&name);
            name = full;
        }
        let mut e = Entry {
            name,
            link: cstr(&h[157..257]).to_vec(),
            mode: (self.num(100..108, "mode")? & 0o7777) as u32,
            uid: self.id(108..116, "uid")?,
            gid: self.id(116..124, "gid")?,
            size,
            mtime: self.num(136..148, "mtime")?,
            ..Entry::default()
        };
        if (ustar || gnu) && matches!(flag, b'3' | b'4') {
            e.devmajor = self.id(329..337, "devmajor")?;
            e.devminor = self.id(337..345, "devminor")?;
        }

        if let Some(recs) = self.pax.take() {
            self.apply_pax(&mut e, recs)?;
        }
        if let Some(n) = self.long_name.take() {
            e.name = n;
        }
        if let Some(l) = self.long_link.take() {
            e.link = l;
        }

        e.kind = match flag {
            b'0' | b'7' => Kind::Regular,
            b'\0' if e.name.ends_with(b"/") => Kind::Dir,
            b'\0' => Kind::Regular,
            b'1' => Kind::Hardlink,
            b'2' => Kind::Symlink,
            b'3' => Kind::Char,
            b'4' => Kind::Block,
            b'5' => Kind::Dir,
            b'6' => Kind::Fifo,
            b'S' => {
                return Err(CoreError::format(format!(
                    "unsupported sparse file in tar entry {}",
                    q(&e.name)
                )))
            }
            other => {
                return Err(CoreError::format(format!(
                    "unsupported tar entry type {:?} for {}",
                    other as char,
                    q(&e.name)
                )))
            }
        };
        if e.kind != Kind::Regular {
            e.size = 0;
        }
        self.entries += 1;
        let size = e.size;
        self.entry = e;
        let deliver = sink.entry(&self.entry)?;
        if size == 0 {
            sink.end_entry()?;
            self.state = State::Header;
        } else {
            self.state = State::Data {
                remaining: size,
                pad: padding(size),
                deliver,
            };
        }
        Ok(())
    }

    fn num(&self, r: std::ops::Range<usize>, what: &str) -> Result<i64> {
        parse_numeric(&self.blk[r]).ok_or_else(|| self.bad_header(&format!("invalid {what} field")))
    }

    fn id(&self, r: std::ops::Range<usize>, what: &str) -> Result<u32> {
        let v = self.num(r, what)?;
        u32::try_from(v).map_err(|_| self.bad_header(&format!("{what} out of range")))
    }

    fn finish_ext(&mut self, flag: u8) -> Result<()> {
        let data = std::mem::take(&mut self.ext);
        match flag {
            b'L' => self.long_name = Some(cstr(&data).to_vec()),
            b'K' => self.long_link = Some(cstr(&data).to_vec()),
            b'x' => {
                let recs = parse_pax(&data).ok_or_else(|| {
                    CoreError::format(format!("invalid PAX header at offset {}", self.offset))
                })?;
                self.pax = Some(recs);
            }
            // Global PAX headers are not applied (Go's reader doesn't either);
            // they are not entries of the image.
            _ => {}
        }
        self.ext = data;
        self.ext.clear();
        Ok(())
    }

    fn apply_pax(&self, e: &mut Entry, recs: Vec<(Vec<u8>, Vec<u8>)>) -> Result<()> {
        let bad = |k: &[u8]| {
            CoreError::format(format!(
                "invalid PAX record {} at offset {}",
                q(k),
                self.offset - BLOCK as u64
            ))
        };
        for (k, v) in recs {
            // An empty value unsets the keyword (POSIX): keep the header field.
            if v.is_empty() {
                continue;
            }
            match k.as_slice() {
                b"path" | b"linkpath" => {
                    if v.contains(&0) {
                        return Err(bad(&k));
                    }
                    if k == b"path" {
                        e.name = v;
                    } else {
                        e.link = v;
                    }
                }
                b"size" => e.size = parse_dec(&v).ok_or_else(|| bad(&k))?,
                b"uid" => {
                    e.uid = parse_dec(&v)
                        .and_then(|x| u32::try_from(x).ok())
                        .ok_or_else(|| bad(&k))?
                }
                b"gid" => {
                    e.gid = parse_dec(&v)
                        .and_then(|x| u32::try_from(x).ok())
                        .ok_or_else(|| bad(&k))?
                }
                b"mtime" => {
                    let (s, ns) = parse_pax_time(&v).ok_or_else(|| bad(&k))?;
                    e.mtime = s;
                    e.mtime_nsec = ns;
                }
                _ if k.starts_with(b"SCHILY.xattr.") => {
                    e.xattrs.push((k[b"SCHILY.xattr.".len()..].to_vec(), v));
                }
                _ if k.starts_with(b"GNU.sparse.") => {
                    return Err(CoreError::format(format!(
                        "unsupported sparse file in tar entry {}",
                        q(&e.name)
                    )))
                }
                _ => {}
            }
        }
        Ok(())
    }
}

/// Bytes up to the first NUL.
fn cstr(b: &[u8]) -> &[u8] {
    match b.iter().position(|&c| c == 0) {
        Some(i) => &b[..i],
        None => b,
    }
}

fn checksums(h: &[u8; BLOCK]) -> (i64, i64) {
    let (mut u, mut s) = (0i64, 0i64);
    for (i, &c) in h.iter().enumerate() {
        let c = if (148..156).contains(&i) { b' ' } else { c };
        u += c as i64;
        s += c as i8 as i64;
    }
    (u, s)
}

/// Go's parseNumeric: base-256 when the high bit is set, else octal.
fn parse_numeric(b: &[u8]) -> Option<i64> {
    if b.first().is_some_and(|&c| c & 0x80 != 0) {
        let inv = if b[0] & 0x40 != 0 { 0xff } else { 0 };
        let mut x: u64 = 0;
        for (i, &c) in b.iter().enumerate() {
            let mut c = c ^ inv;
            if i == 0 {
                c &= 0x7f;
            }
            if x >> 56 > 0 {
                return None;
            }
            x = x << 8 | c as u64;
        }
        if x >> 63 > 0 {
            return None;
        }
        return Some(if inv == 0xff { !(x as i64) } else { x as i64 });
    }
    parse_octal(b)
}

fn parse_octal(b: &[u8]) -> Option<i64> {
    let trim = |c: &u8| *c == b' ' || *c == 0;
    let start = b.iter().position(|c| !trim(c)).unwrap_or(b.len());
    let end = b.iter().rposition(|c| !trim(c)).map_or(start, |i| i + 1);
    let b = cstr(&b[start..end]);
    let mut x: u64 = 0;
    for &c in b {
        if !(b'0'..=b'7').contains(&c) {
            return None;
        }
        x = x.checked_mul(8)?.checked_add((c - b'0') as u64)?;
    }
    i64::try_from(x).ok()
}

fn parse_dec(b: &[u8]) -> Option<u64> {
    if b.is_empty() || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(b).ok()?.parse().ok()
}

/// "secs[.fraction]", possibly negative; the fraction is cut to nanoseconds.
fn parse_pax_time(b: &[u8]) -> Option<(i64, u32)> {
    let (neg, b) = match b.first() {
        Some(b'-') => (true, &b[1..]),
        _ => (false, b),
    };
    let (whole, frac) = match b.iter().position(|&c| c == b'.') {
        Some(i) => (&b[..i], &b[i + 1..]),
        None => (b, &[][..]),
    };
    let secs = parse_dec(whole)? as i64;
    if !frac.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let mut ns: u32 = 0;
    for i in 0..9 {
        ns = ns * 10 + frac.get(i).map_or(0, |c| (c - b'0') as u32);
    }
    if !neg {
        Some((secs, ns))
    } else if ns == 0 {
        Some((-secs, 0))
    } else {
        Some((-secs - 1, 1_000_000_000 - ns))
    }
}

/// "%d %s=%s\n" records, the length counting the whole record.
fn parse_pax(mut data: &[u8]) -> Option<Vec<(Vec<u8>, Vec<u8>)>> {
    let mut out = Vec::new();
    while !data.is_empty() {
        let sp = data.iter().position(|&c| c == b' ')?;
        let n = parse_dec(&data[..sp])? as usize;
        if n < 5 || n > data.len() || n <= sp + 1 {
            return None;
        }
        if data[n - 1] != b'\n' {
            return None;
        }
        let rec = &data[sp + 1..n - 1];
        let eq = rec.iter().position(|&c| c == b'=')?;
        out.push((rec[..eq].to_vec(), rec[eq + 1..].to_vec()));
        data = &data[n..];
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers() {
        assert_eq!(parse_numeric(b"0000644\0"), Some(0o644));
        assert_eq!(parse_numeric(b"  755 \0"), Some(0o755));
        assert_eq!(parse_numeric(b"\0\0\0\0"), Some(0));
        assert_eq!(parse_numeric(b"0009"), None);
        let mut big = [0u8; 12];
        big[0] = 0x80;
        big[11] = 0x05;
        big[10] = 0x01;
        assert_eq!(parse_numeric(&big), Some(0x105));
        assert_eq!(parse_numeric(&[0xff; 8]), Some(-1));
    }

    #[test]
    fn pax_records() {
        let recs = parse_pax(b"19 path=rootfs/abc\n10 uid=42\n").unwrap();
        assert_eq!(recs[0], (b"path".to_vec(), b"rootfs/abc".to_vec()));
        assert_eq!(recs[1], (b"uid".to_vec(), b"42".to_vec()));
        assert!(parse_pax(b"20 path=rootfs/abc\n").is_none());
        assert!(parse_pax(b"x path=a\n").is_none());
        assert_eq!(parse_pax_time(b"12.5"), Some((12, 500_000_000)));
        assert_eq!(parse_pax_time(b"-1.25"), Some((-2, 750_000_000)));
        assert_eq!(parse_pax_time(b"7"), Some((7, 0)));
    }
}
