//! The `gc` entrypoint (`/gc [--debug] [--local-config=DIR] <uuid>`, run in the pod directory by
//! `rkt gc`/`rkt rm` before the directory is deleted): releases what stage1 made outside the pod
//! directory. For this stage1 that is the pod's cgroups (networking is the host's), which the run
//! entrypoint removes itself when the pod ends, so this matters after a crash of stage1.

use std::path::Path;

pub fn main(argv: &[String]) -> i32 {
    let positional: Vec<&String> = argv[1..].iter().filter(|a| !a.starts_with('-')).collect();
    if positional.len() != 1 {
        eprintln!("gc: usage: gc [--debug] [--local-config=DIR] UUID");
        return 254;
    }
    match crate::cgroups::remove(Path::new(".")) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("gc: {e}");
            254
        }
    }
}
