//! File type detection by magic bytes, as appc's `aci.DetectFileType` does it
//! over the first 512 bytes of a file.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileType {
    Gzip,
    Bzip2,
    Xz,
    Tar,
    Text,
    Unknown,
}

impl FileType {
    pub fn as_str(&self) -> &'static str {
        match self {
            FileType::Gzip => "gzip",
            FileType::Bzip2 => "bzip2",
            FileType::Xz => "xz",
            FileType::Tar => "tar",
            FileType::Text => "text",
            FileType::Unknown => "unknown",
        }
    }
}

/// How many leading bytes `detect` looks at; callers should pass at least this
/// many when the file has them.
pub const DETECT_LEN: usize = 512;

pub fn detect(head: &[u8]) -> FileType {
    let head = &head[..head.len().min(DETECT_LEN)];
    if head.starts_with(&[0x1f, 0x8b]) {
        FileType::Gzip
    } else if head.starts_with(b"BZh") {
        FileType::Bzip2
    } else if head.starts_with(&[0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]) {
        FileType::Xz
    } else if head.len() > 262 && &head[257..262] == b"ustar" {
        FileType::Tar
    } else if looks_like_text(head) {
        FileType::Text
    } else {
        FileType::Unknown
    }
}

/// The "no binary bytes" rule of Go's http.DetectContentType, which is what
/// appc uses to call a file text.
fn looks_like_text(b: &[u8]) -> bool {
    !b.iter()
        .any(|&c| matches!(c, 0x00..=0x08 | 0x0b | 0x0e..=0x1a | 0x1c..=0x1f))
}
