//! Small files read and written whole, one call each, for the pod files and manifests of `rkt run`
//! (some fifteen of them). Through Node's fs, the first call of each of readFileSync,
//! writeFileSync, readSync and writeSync runs Node's own JS for it cold (0.2 to 0.6 ms each), and
//! every call goes through its argument handling; here a call costs its syscalls.
use crate::error::CoreError;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

/// The whole file.
pub fn read_file(path: &Path) -> Result<Vec<u8>, CoreError> {
    std::fs::read(path).map_err(|e| CoreError::io(format!("cannot read {}", path.display()), e))
}

/// Creates `path` with `mode` (less the umask) or truncates it (keeping its mode), and writes
/// `data`, as fs.writeFileSync does. A failed write leaves what was written: callers that need
/// all or nothing write a temp file and rename it.
pub fn write_file(path: &Path, data: &[u8], mode: u32) -> Result<(), CoreError> {
    let ctx = || format!("cannot write {}", path.display());
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(mode)
        .open(path)
        .map_err(|e| CoreError::io(ctx(), e))?;
    f.write_all(data).map_err(|e| CoreError::io(ctx(), e))
}

/// rename(2): how a small file written under a temp name is published, and a pod moves state.
pub fn rename(from: &Path, to: &Path) -> Result<(), CoreError> {
    std::fs::rename(from, to).map_err(|e| CoreError::io(format!("cannot rename {} to {}", from.display(), to.display()), e))
}

/// Appends `data` to `path` (created with `mode` less the umask) in one write(2) under a shared
/// flock, and returns the file's size after it. Appends of many processes never interleave
/// (O_APPEND), and one who takes the exclusive flock to read and empty the file never loses
/// an append: one made before it took the lock is in what it reads, one made after lands in the
/// emptied file. The store's last-used log is kept this way (src/store/last-used.ts).
pub fn append_locked(path: &Path, data: &[u8], mode: u32) -> Result<u64, CoreError> {
    use std::os::fd::AsRawFd;
    let ctx = || format!("cannot append to {}", path.display());
    let f = std::fs::OpenOptions::new().append(true).create(true).mode(mode).open(path).map_err(|e| CoreError::io(ctx(), e))?;
    crate::lock::lock(f.as_raw_fd(), false)?;
    // one write: a short one is an error, never a torn line followed by another process's
    let n = (&f).write(data).map_err(|e| CoreError::io(ctx(), e))?;
    if n != data.len() {
        return Err(CoreError::Io(format!("{}: short write ({n} of {} bytes)", ctx(), data.len())));
    }
    Ok(f.metadata().map_err(|e| CoreError::io(ctx(), e))?.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn tmp() -> tempfile::TempDir {
        tempfile::tempdir().unwrap()
    }

    #[test]
    fn writes_then_reads_back_the_same_bytes() {
        let d = tmp();
        let p = d.path().join("f");
        let data: Vec<u8> = (0..70_000u32).map(|i| (i % 251) as u8).collect();
        write_file(&p, &data, 0o640).unwrap();
        assert_eq!(read_file(&p).unwrap(), data);
        write_file(&p, b"", 0o640).unwrap();
        assert_eq!(read_file(&p).unwrap(), b"");
    }

    #[test]
    fn a_new_file_gets_the_mode_and_an_old_one_keeps_its_own() {
        let d = tmp();
        let p = d.path().join("f");
        // SAFETY: umask only changes this process's creation mask; 022 takes nothing from 0640.
        let old = unsafe { libc::umask(0o022) };
        write_file(&p, b"one", 0o640).unwrap();
        assert_eq!(std::fs::metadata(&p).unwrap().permissions().mode() & 0o777, 0o640);
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
        write_file(&p, b"longer than one", 0o644).unwrap();
        write_file(&p, b"two", 0o644).unwrap();
        unsafe { libc::umask(old) };
        assert_eq!(std::fs::metadata(&p).unwrap().permissions().mode() & 0o777, 0o600);
        assert_eq!(read_file(&p).unwrap(), b"two", "truncated, not overwritten in place");
    }

    #[test]
    fn missing_files_and_dirs_are_not_found_with_the_path_named() {
        let d = tmp();
        let e = read_file(&d.path().join("nope")).unwrap_err();
        assert_eq!(e.code(), "ENOTFOUND");
        assert!(e.to_string().contains("nope"), "{e}");
        let e = write_file(&d.path().join("no/such/dir"), b"x", 0o644).unwrap_err();
        assert_eq!(e.code(), "ENOTFOUND");
        assert!(e.to_string().contains("no/such/dir"), "{e}");
    }

    #[test]
    fn rename_replaces_the_target_and_a_missing_source_is_not_found() {
        let d = tmp();
        let (a, b) = (d.path().join("a"), d.path().join("b"));
        write_file(&a, b"new", 0o640).unwrap();
        write_file(&b, b"old", 0o640).unwrap();
        rename(&a, &b).unwrap();
        assert_eq!(read_file(&b).unwrap(), b"new");
        assert!(!a.exists());
        let e = rename(&a, &b).unwrap_err();
        assert_eq!(e.code(), "ENOTFOUND");
        assert!(e.to_string().contains(&a.display().to_string()), "{e}");
        std::fs::create_dir(d.path().join("dir")).unwrap();
        std::fs::create_dir(d.path().join("dir2")).unwrap();
        rename(&d.path().join("dir"), &d.path().join("dir2")).unwrap(); // an empty dir may be replaced
        assert!(d.path().join("dir2").is_dir());
    }

    #[test]
    fn appends_add_whole_lines_and_report_the_size() {
        let d = tmp();
        let p = d.path().join("log");
        assert_eq!(append_locked(&p, b"one\n", 0o640).unwrap(), 4);
        assert_eq!(append_locked(&p, b"two\n", 0o640).unwrap(), 8);
        assert_eq!(read_file(&p).unwrap(), b"one\ntwo\n");
        assert_eq!(append_locked(&d.path().join("no/dir/log"), b"x", 0o640).unwrap_err().code(), "ENOTFOUND");
    }

    #[test]
    fn an_append_waits_for_an_exclusive_holder_and_lands_after_it_emptied_the_file() {
        use std::os::fd::AsRawFd;
        let d = tmp();
        let p = d.path().join("log");
        append_locked(&p, b"old\n", 0o640).unwrap();
        let holder = std::fs::OpenOptions::new().read(true).write(true).open(&p).unwrap();
        crate::lock::lock(holder.as_raw_fd(), true).unwrap();
        let p2 = p.clone();
        let t = std::thread::spawn(move || append_locked(&p2, b"new\n", 0o640).unwrap());
        std::thread::sleep(std::time::Duration::from_millis(100));
        assert_eq!(read_file(&p).unwrap(), b"old\n", "the append waited for the lock");
        holder.set_len(0).unwrap();
        drop(holder);
        assert_eq!(t.join().unwrap(), 4);
        assert_eq!(read_file(&p).unwrap(), b"new\n", "appended at the end of the emptied file");
    }

    #[test]
    fn a_directory_is_an_error_not_an_empty_file() {
        let d = tmp();
        assert_eq!(read_file(d.path()).unwrap_err().code(), "EIO");
        assert_eq!(write_file(d.path(), b"x", 0o644).unwrap_err().code(), "EIO");
    }
}
