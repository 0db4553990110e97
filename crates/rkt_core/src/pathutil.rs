//! Byte-string path helpers shared by the scanner and the writers. Tar names are
//! bytes, not UTF-8, so everything here works on `&[u8]`.

/// Go's `path.Clean`: the lexical shortest equivalent, "." for empty.
pub(crate) fn clean(p: &[u8]) -> Vec<u8> {
    if p.is_empty() {
        return b".".to_vec();
    }
    let rooted = p[0] == b'/';
    let n = p.len();
    let mut out: Vec<u8> = Vec::with_capacity(n);
    let (mut r, mut dotdot) = (0usize, 0usize);
    if rooted {
        out.push(b'/');
        r = 1;
        dotdot = 1;
    }
    while r < n {
        if p[r] == b'/' || (p[r] == b'.' && (r + 1 == n || p[r + 1] == b'/')) {
            // empty or "." element
            r += 1;
        } else if p[r] == b'.' && p[r + 1] == b'.' && (r + 2 == n || p[r + 2] == b'/') {
            r += 2;
            if out.len() > dotdot {
                out.pop();
                while out.len() > dotdot && out[out.len() - 1] != b'/' {
                    out.pop();
                }
                // Drop the separator left behind, unless it is the root.
                if out.len() > dotdot && out[out.len() - 1] == b'/' {
                    out.pop();
                }
            } else if !rooted {
                if !out.is_empty() {
                    out.push(b'/');
                }
                out.extend_from_slice(b"..");
                dotdot = out.len();
            }
        } else {
            if (rooted && out.len() != 1) || (!rooted && !out.is_empty()) {
                out.push(b'/');
            }
            while r < n && p[r] != b'/' {
                out.push(p[r]);
                r += 1;
            }
        }
    }
    if out.is_empty() {
        return b".".to_vec();
    }
    out
}

pub(crate) fn is_absolute(p: &[u8]) -> bool {
    p.first() == Some(&b'/')
}

pub(crate) fn has_dotdot(p: &[u8]) -> bool {
    p.split(|&c| c == b'/').any(|c| c == b"..")
}

/// A name that could leave the root it is extracted into.
pub(crate) fn is_unsafe(p: &[u8]) -> bool {
    is_absolute(p) || has_dotdot(p)
}

/// The parent of a cleaned relative path ("" for a top-level name).
pub(crate) fn parent(p: &[u8]) -> &[u8] {
    match p.iter().rposition(|&c| c == b'/') {
        Some(i) => &p[..i],
        None => b"",
    }
}

/// Quotes a name for an error message, like Go's %q.
pub(crate) fn q(p: &[u8]) -> String {
    format!("{:?}", String::from_utf8_lossy(p))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(s: &str) -> String {
        String::from_utf8(clean(s.as_bytes())).unwrap()
    }

    #[test]
    fn clean_matches_go() {
        let cases = [
            ("", "."),
            (".", "."),
            ("./", "."),
            ("./rootfs/a", "rootfs/a"),
            ("rootfs/", "rootfs"),
            ("rootfs//a///b/", "rootfs/a/b"),
            ("rootfs/a/../b", "rootfs/b"),
            ("rootfs/../../etc", "../etc"),
            ("/etc/../x", "/x"),
            ("/..", "/"),
            ("/", "/"),
            ("a/b/c/../..", "a"),
            ("..", ".."),
            ("../../a", "../../a"),
            ("a/..", "."),
            ("abc/def/../../..", ".."),
        ];
        for (i, o) in cases {
            assert_eq!(c(i), o, "clean({i:?})");
        }
    }

    #[test]
    fn unsafe_names() {
        assert!(is_unsafe(b"/etc/passwd"));
        assert!(is_unsafe(b"rootfs/../x"));
        assert!(is_unsafe(b".."));
        assert!(!is_unsafe(b"rootfs/..a/b.."));
        assert!(!is_unsafe(b"./rootfs/a"));
    }
}
