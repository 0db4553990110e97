//! Serialises tar entries (the `Entry` the parser produces) back into ustar
//! blocks, with a PAX header when a field does not fit: long names or link
//! targets, xattrs, large sizes, ids or times. Our own parser reads all of it,
//! and so does Go's archive/tar, so squashed images round-trip exactly.

use crate::tar_stream::{Entry, Kind, BLOCK};

/// The 512-byte blocks for `e`'s header (PAX record block(s) first if needed),
/// with `name` and `link` replacing the entry's own.
pub(crate) fn header_blocks(e: &Entry, name: &[u8], link: &[u8], out: &mut Vec<u8>) {
    let mut pax: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
    if name.len() > 100 {
        pax.push((b"path".to_vec(), name.to_vec()));
    }
    if link.len() > 100 {
        pax.push((b"linkpath".to_vec(), link.to_vec()));
    }
    let size = if e.kind == Kind::Regular { e.size } else { 0 };
    if size > MAX_OCTAL_11 {
        pax.push((b"size".to_vec(), size.to_string().into_bytes()));
    }
    if u64::from(e.uid) > MAX_OCTAL_7 {
        pax.push((b"uid".to_vec(), e.uid.to_string().into_bytes()));
    }
    if u64::from(e.gid) > MAX_OCTAL_7 {
        pax.push((b"gid".to_vec(), e.gid.to_string().into_bytes()));
    }
    if e.mtime < 0 || e.mtime as u64 > MAX_OCTAL_11 {
        pax.push((b"mtime".to_vec(), e.mtime.to_string().into_bytes()));
    }
    for (k, v) in &e.xattrs {
        let mut key = b"SCHILY.xattr.".to_vec();
        key.extend_from_slice(k);
        pax.push((key, v.clone()));
    }
    if !pax.is_empty() {
        let body = pax_records(&pax);
        let mut h = [0u8; BLOCK];
        put(&mut h[0..100], b"PaxHeaders/entry");
        octal(&mut h[100..108], 0o644);
        octal(&mut h[108..116], 0);
        octal(&mut h[116..124], 0);
        octal(&mut h[124..136], body.len() as u64);
        octal(&mut h[136..148], 0);
        h[156] = b'x';
        finish_header(&mut h);
        out.extend_from_slice(&h);
        out.extend_from_slice(&body);
        out.resize(out.len() + pad(body.len() as u64) as usize, 0);
    }
    let mut h = [0u8; BLOCK];
    put(&mut h[0..100], &name[..name.len().min(100)]);
    octal(&mut h[100..108], u64::from(e.mode & 0o7777));
    octal(&mut h[108..116], u64::from(e.uid).min(MAX_OCTAL_7));
    octal(&mut h[116..124], u64::from(e.gid).min(MAX_OCTAL_7));
    octal(&mut h[124..136], size.min(MAX_OCTAL_11));
    octal(&mut h[136..148], (e.mtime.max(0) as u64).min(MAX_OCTAL_11));
    h[156] = e.kind.typeflag() as u8;
    put(&mut h[157..257], &link[..link.len().min(100)]);
    if matches!(e.kind, Kind::Char | Kind::Block) {
        octal(&mut h[329..337], u64::from(e.devmajor).min(MAX_OCTAL_7));
        octal(&mut h[337..345], u64::from(e.devminor).min(MAX_OCTAL_7));
    }
    finish_header(&mut h);
    out.extend_from_slice(&h);
}

/// Zero bytes that pad `size` bytes of data to a block boundary.
pub(crate) fn pad(size: u64) -> u64 {
    (BLOCK as u64 - size % BLOCK as u64) % BLOCK as u64
}

/// The end-of-archive marker.
pub(crate) const TRAILER: [u8; 2 * BLOCK] = [0; 2 * BLOCK];

const MAX_OCTAL_7: u64 = 0o7777777;
const MAX_OCTAL_11: u64 = 0o77777777777;

fn put(field: &mut [u8], v: &[u8]) {
    field[..v.len()].copy_from_slice(v);
}

fn octal(field: &mut [u8], v: u64) {
    let w = field.len() - 1;
    let s = format!("{v:0w$o}");
    field[..w].copy_from_slice(&s.as_bytes()[s.len() - w..]);
    field[w] = 0;
}

fn finish_header(h: &mut [u8; BLOCK]) {
    h[257..263].copy_from_slice(b"ustar\0");
    h[263..265].copy_from_slice(b"00");
    h[148..156].copy_from_slice(b"        ");
    let sum: u64 = h.iter().map(|&c| u64::from(c)).sum();
    let s = format!("{sum:06o}\0 ");
    h[148..156].copy_from_slice(s.as_bytes());
}

/// "<len> <key>=<value>\n" where len counts the whole record, itself included.
fn pax_records(recs: &[(Vec<u8>, Vec<u8>)]) -> Vec<u8> {
    let mut out = Vec::new();
    for (k, v) in recs {
        let base = k.len() + v.len() + 3; // ' ', '=', '\n'
        let mut len = base + 1;
        while base + len.to_string().len() != len {
            len = base + len.to_string().len();
        }
        out.extend_from_slice(len.to_string().as_bytes());
        out.push(b' ');
        out.extend_from_slice(k);
        out.push(b'=');
        out.extend_from_slice(v);
        out.push(b'\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tar_stream::{Sink, TarParser};

    struct Collect(Vec<Entry>, Vec<u8>);
    impl Sink for Collect {
        fn entry(&mut self, e: &Entry) -> crate::error::Result<bool> {
            self.0.push(e.clone());
            Ok(true)
        }
        fn data(&mut self, c: &[u8]) -> crate::error::Result<()> {
            self.1.extend_from_slice(c);
            Ok(())
        }
        fn end_entry(&mut self) -> crate::error::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn round_trips_long_names_xattrs_and_big_ids() {
        let long = "d/".repeat(80) + "file";
        let e = Entry {
            name: long.clone().into_bytes(),
            kind: Kind::Regular,
            mode: 0o4755,
            uid: 10_000_000,
            gid: 5,
            size: 3,
            mtime: 1_600_000_000,
            xattrs: vec![(b"user.k".to_vec(), b"v".to_vec())],
            ..Entry::default()
        };
        let mut out = Vec::new();
        header_blocks(&e, long.as_bytes(), b"", &mut out);
        out.extend_from_slice(b"abc");
        out.resize(out.len() + pad(3) as usize, 0);
        out.extend_from_slice(&TRAILER);
        let mut p = TarParser::new();
        let mut c = Collect(Vec::new(), Vec::new());
        p.push(&out, &mut c).unwrap();
        p.finish().unwrap();
        assert_eq!(c.0.len(), 1);
        let got = &c.0[0];
        assert_eq!(got.name, long.as_bytes());
        assert_eq!(got.uid, 10_000_000);
        assert_eq!(got.mode, 0o4755);
        assert_eq!(got.xattrs, e.xattrs);
        assert_eq!(c.1, b"abc");
    }

    #[test]
    fn pax_record_length_counts_itself() {
        let r = pax_records(&[(b"path".to_vec(), vec![b'a'; 93])]);
        // 3 digits + space + "path=" + 93 + newline = 103
        assert!(r.starts_with(b"103 path="));
        assert_eq!(r.len(), 103);
    }
}
