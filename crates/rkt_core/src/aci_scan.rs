//! Validation of an ACI while it streams into the store: the layout rules of
//! appc's `aci.ValidateArchive` plus the safety rules that let the renderer
//! trust an imported blob. Only the manifest's bytes are kept; everything else
//! is checked from headers as they go by.

use std::collections::HashMap;

use crate::error::{CoreError, Result};
use crate::pathutil::{clean, is_absolute, is_unsafe, q};
use crate::tar_stream::{Entry, Kind, Sink, TarParser};

/// Manifests are small JSON documents; anything bigger is refused rather than
/// held in memory.
pub const MAX_MANIFEST: u64 = 4 << 20;

#[derive(Debug, Clone)]
pub struct ScanResult {
    /// Raw bytes of the `manifest` entry.
    pub manifest: Vec<u8>,
    /// Number of archive entries (extension headers not counted).
    pub entries: u64,
}

pub struct AciScanner {
    parser: TarParser,
    rules: Rules,
}

#[derive(Default)]
struct Rules {
    /// Every entry so far by cleaned name; hardlinks carry their target's kind
    /// so that a hardlink to a symlink counts as a symlink.
    seen: HashMap<Vec<u8>, Kind>,
    manifest: Option<Vec<u8>>,
    capturing: bool,
    rootfs: bool,
    /// The last parent directory that passed the ancestry check (entries come
    /// grouped by directory, so most checks are skipped).
    last_parent: Vec<u8>,
}

impl Default for AciScanner {
    fn default() -> Self {
        Self::new()
    }
}

impl AciScanner {
    pub fn new() -> Self {
        AciScanner {
            parser: TarParser::new(),
            rules: Rules::default(),
        }
    }

    pub fn push(&mut self, chunk: &[u8]) -> Result<()> {
        self.parser.push(chunk, &mut self.rules)
    }

    pub fn finish(mut self) -> Result<ScanResult> {
        self.parser.finish()?;
        let manifest = self
            .rules
            .manifest
            .take()
            .ok_or_else(|| CoreError::Manifest("missing manifest".into()))?;
        if !self.rules.rootfs {
            return Err(CoreError::format("no rootfs found in layout"));
        }
        Ok(ScanResult {
            manifest,
            entries: self.parser.entries(),
        })
    }
}

/// Rejects names that could leave the extraction root. Shared with the
/// renderer so a blob that skipped the import scan gets the same answer.
pub(crate) fn check_entry_names(e: &Entry) -> Result<()> {
    if is_absolute(&e.name) {
        return Err(CoreError::unsafe_path(format!(
            "tar entry {} has an absolute path",
            q(&e.name)
        )));
    }
    if is_unsafe(&e.name) {
        return Err(CoreError::unsafe_path(format!(
            "tar entry {} escapes the image root",
            q(&e.name)
        )));
    }
    if e.kind == Kind::Hardlink && is_unsafe(&e.link) {
        return Err(CoreError::unsafe_path(format!(
            "hardlink {} points to {} outside the image root",
            q(&e.name),
            q(&e.link)
        )));
    }
    Ok(())
}

impl Rules {
    fn check_ancestors(&mut self, name: &[u8]) -> Result<()> {
        let parent = crate::pathutil::parent(name);
        if parent.is_empty() || parent == self.last_parent.as_slice() {
            return Ok(());
        }
        for (i, _) in parent.iter().enumerate().filter(|(_, &c)| c == b'/') {
            self.check_ancestor(name, &parent[..i])?;
        }
        self.check_ancestor(name, parent)?;
        self.last_parent = parent.to_vec();
        Ok(())
    }

    fn check_ancestor(&self, name: &[u8], anc: &[u8]) -> Result<()> {
        match self.seen.get(anc) {
            None | Some(Kind::Dir) => Ok(()),
            Some(Kind::Symlink) => Err(CoreError::unsafe_path(format!(
                "tar entry {} is written through the symlink {}",
                q(name),
                q(anc)
            ))),
            Some(_) => Err(CoreError::format(format!(
                "tar entry {} is inside the non-directory {}",
                q(name),
                q(anc)
            ))),
        }
    }
}

impl Sink for Rules {
    fn entry(&mut self, e: &Entry) -> Result<bool> {
        check_entry_names(e)?;
        let name = clean(&e.name);
        if name == b"." {
            // "./" from `tar -C dir .`: the image root itself, nothing to store.
            if e.kind == Kind::Dir {
                return Ok(false);
            }
            return Err(CoreError::format(format!(
                "unrecognized file path in layout: {}",
                q(&e.name)
            )));
        }
        if self.seen.contains_key(&name) {
            return Err(CoreError::format(format!(
                "duplicate file entry in archive: {}",
                q(&name)
            )));
        }
        let mut kind = e.kind;
        match name.as_slice() {
            b"manifest" => {
                if e.kind != Kind::Regular {
                    return Err(CoreError::Manifest("manifest is not a regular file".into()));
                }
                if e.size > MAX_MANIFEST {
                    return Err(CoreError::Manifest(format!(
                        "manifest too large ({} bytes, limit {MAX_MANIFEST})",
                        e.size
                    )));
                }
                self.manifest = Some(Vec::with_capacity(e.size as usize));
                self.capturing = true;
            }
            b"rootfs" => {
                if e.kind != Kind::Dir {
                    return Err(CoreError::format("rootfs is not a directory"));
                }
                self.rootfs = true;
            }
            // appc checks a plain string prefix; names like "rootfsX" pass the
            // layout check and are ignored by the renderer.
            n if n.starts_with(b"rootfs") => {}
            _ => {
                return Err(CoreError::format(format!(
                    "unrecognized file path in layout: {}",
                    q(&name)
                )))
            }
        }
        self.check_ancestors(&name)?;
        if e.kind == Kind::Hardlink {
            let target = clean(&e.link);
            let Some(&tkind) = self.seen.get(&target) else {
                return Err(CoreError::unsafe_path(format!(
                    "hardlink {} points to {} which is not an earlier entry",
                    q(&name),
                    q(&target)
                )));
            };
            if !target.starts_with(b"rootfs/") {
                return Err(CoreError::unsafe_path(format!(
                    "hardlink {} points to {} outside rootfs",
                    q(&name),
                    q(&target)
                )));
            }
            if tkind == Kind::Dir {
                return Err(CoreError::format(format!(
                    "hardlink {} points to the directory {}",
                    q(&name),
                    q(&target)
                )));
            }
            kind = tkind;
        }
        self.seen.insert(name, kind);
        Ok(self.capturing)
    }

    fn data(&mut self, chunk: &[u8]) -> Result<()> {
        if self.capturing {
            if let Some(m) = self.manifest.as_mut() {
                m.extend_from_slice(chunk);
            }
        }
        Ok(())
    }

    fn end_entry(&mut self) -> Result<()> {
        self.capturing = false;
        Ok(())
    }
}
