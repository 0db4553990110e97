//! Core of the rkt rebuild: the image store's import pipeline (detect,
//! decompress, hash, validate), the tree renderer (appc acirenderer) with a
//! symlink-proof writer, the tree hash and tree copy.

pub mod aci_scan;
pub mod blob;
pub mod cas;
pub mod copytree;
pub mod detect;
pub mod dirs;
pub mod error;
pub mod handoff;
pub mod ids;
pub mod layer_squash;
pub mod lock;
pub mod mapped;
pub mod mount;
pub mod preload;
pub mod render;
pub mod small_files;
pub mod stat;
pub mod stream_import;
pub mod sync;
pub mod treehash;
pub mod treestat;

mod digest;
mod file_writer;
mod flusher;
mod hashwork;
mod inflate;
mod pathutil;
mod safe_fs;
mod tar_stream;
mod tar_write;

pub use aci_scan::{AciScanner, ScanResult, MAX_MANIFEST};
pub use cas::{commit_blob, hash_file, import_aci, import_aci_with, ImportedAci, SourceCopy};
pub use copytree::copy_tree;
pub use detect::{detect, FileType};
pub use layer_squash::{squash_layers, LayerInput, SquashedAci};
pub use error::CoreError;
pub use render::{extract_aci, render_tree, render_tree_checked, render_tree_hashed, RenderImage, RenderStats, Rendered, StreamedTree};
pub use stream_import::StreamImport;
pub use treehash::tree_hash;
