//! The one error type of the crate. Every failure carries a stable code (for the
//! CLI and the JS side to branch on) and a one-line message naming the culprit.

use std::fmt::Display;
use std::io;

#[derive(Debug, thiserror::Error)]
pub enum CoreError {
    /// Not an image, a corrupt or truncated archive, or a bad layout.
    #[error("{0}")]
    ImageFormat(String),
    /// Missing, non-regular or oversized manifest.
    #[error("{0}")]
    Manifest(String),
    /// An entry would escape the destination root or write through a symlink.
    #[error("{0}")]
    UnsafePath(String),
    #[error("{0}")]
    HashMismatch(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Exists(String),
    #[error("{0}")]
    Io(String),
}

impl CoreError {
    pub fn code(&self) -> &'static str {
        match self {
            CoreError::ImageFormat(_) => "EIMAGE_FORMAT",
            CoreError::Manifest(_) => "EMANIFEST",
            CoreError::UnsafePath(_) => "EUNSAFE_PATH",
            CoreError::HashMismatch(_) => "EHASH_MISMATCH",
            CoreError::NotFound(_) => "ENOTFOUND",
            CoreError::Exists(_) => "EEXIST",
            CoreError::Io(_) => "EIO",
        }
    }

    /// Wraps an OS error with what we were doing; ENOENT/EEXIST keep their own
    /// codes because callers (e.g. "image not in store") act on them.
    pub(crate) fn io(ctx: impl Display, e: io::Error) -> Self {
        let msg = format!("{ctx}: {e}");
        match e.kind() {
            io::ErrorKind::NotFound => CoreError::NotFound(msg),
            io::ErrorKind::AlreadyExists => CoreError::Exists(msg),
            _ => CoreError::Io(msg),
        }
    }

    pub(crate) fn errno(ctx: impl Display, e: rustix::io::Errno) -> Self {
        Self::io(ctx, io::Error::from(e))
    }

    pub(crate) fn format(msg: impl Into<String>) -> Self {
        CoreError::ImageFormat(msg.into())
    }

    pub(crate) fn unsafe_path(msg: impl Into<String>) -> Self {
        CoreError::UnsafePath(msg.into())
    }
}

pub type Result<T> = std::result::Result<T, CoreError>;
