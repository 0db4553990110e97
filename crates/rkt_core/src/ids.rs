//! Small identifiers the CLI makes on every pod run: pod UUIDs and the
//! SHA-512 names of tree store entries. Here rather than in Node's `crypto`,
//! whose first use costs a `rkt run` about 2 ms of start-up; the addon is
//! loaded anyway.

use crate::digest::SmallSha512;
use crate::error::{CoreError, Result};

/// All 128 hex digits of the SHA-512 of `data`.
pub fn sha512_hex(data: &[u8]) -> String {
    let mut h = SmallSha512::new();
    h.update(data);
    h.finish_hex()
}

/// A random (version 4, RFC 4122 variant) UUID in its lowercase hyphenated form.
pub fn random_uuid() -> Result<String> {
    let mut b = [0u8; 16];
    fill_random(&mut b)?;
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex::encode(b);
    Ok(format!("{}-{}-{}-{}-{}", &h[0..8], &h[8..12], &h[12..16], &h[16..20], &h[20..32]))
}

fn fill_random(buf: &mut [u8]) -> Result<()> {
    let mut done = 0;
    while done < buf.len() {
        // SAFETY: the pointer and length describe the unfilled part of buf.
        let n = unsafe { libc::getrandom(buf[done..].as_mut_ptr().cast(), buf.len() - done, 0) };
        if n < 0 {
            let e = std::io::Error::last_os_error();
            if e.kind() == std::io::ErrorKind::Interrupted {
                continue;
            }
            return Err(CoreError::io("getrandom", e));
        }
        done += n as usize;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn sha512_of_known_input() {
        assert_eq!(
            sha512_hex(b"abc"),
            "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a\
             2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f"
        );
    }

    #[test]
    fn uuids_are_v4_and_distinct() {
        let mut seen = HashSet::new();
        for _ in 0..1000 {
            let u = random_uuid().unwrap();
            assert_eq!(u.len(), 36);
            let parts: Vec<&str> = u.split('-').collect();
            assert_eq!(parts.iter().map(|p| p.len()).collect::<Vec<_>>(), vec![8, 4, 4, 4, 12]);
            assert!(parts[2].starts_with('4'), "version nibble in {u}");
            assert!("89ab".contains(&parts[3][..1]), "variant in {u}");
            assert!(u.chars().all(|c| c == '-' || c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
            assert!(seen.insert(u));
        }
    }
}
