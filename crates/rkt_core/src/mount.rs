//! Overlay and bind mounts for pod root filesystems (stage0 side): an app's rootfs is an overlay of
//! its rendered tree (read-only lower) with an upper and work dir inside the pod, so preparing a
//! pod costs a mount, not a copy of the image.
use crate::error::CoreError;
use rustix::mount::{mount, mount_bind, unmount, MountFlags, UnmountFlags};
use std::path::Path;

/// overlayfs options must not contain the separators it parses.
fn check_overlay_path(p: &Path) -> Result<&str, CoreError> {
    let s = p
        .to_str()
        .ok_or_else(|| CoreError::Io(format!("overlay path {} is not UTF-8", p.display())))?;
    if s.contains(',') || s.contains(':') || s.contains('\\') {
        return Err(CoreError::Io(format!("overlay path {s} contains ',', ':' or '\\'")));
    }
    Ok(s)
}

pub fn mount_overlay(lower: &[&Path], upper: &Path, work: &Path, target: &Path) -> Result<(), CoreError> {
    let lowers: Vec<&str> = lower.iter().map(|p| check_overlay_path(p)).collect::<Result<_, _>>()?;
    let opts = format!(
        "lowerdir={},upperdir={},workdir={}",
        lowers.join(":"),
        check_overlay_path(upper)?,
        check_overlay_path(work)?
    );
    let data = std::ffi::CString::new(opts).map_err(|_| CoreError::Io("overlay options contain NUL".into()))?;
    mount("overlay", target, "overlay", MountFlags::empty(), Some(data.as_c_str()))
        .map_err(|e| CoreError::Io(format!("cannot mount overlay on {}: {e}", target.display())))
}

pub fn bind(src: &Path, target: &Path) -> Result<(), CoreError> {
    mount_bind(src, target).map_err(|e| CoreError::Io(format!("cannot bind {} on {}: {e}", src.display(), target.display())))
}

/// Unmounts; `lazy` detaches even when busy (gc after a crash).
pub fn umount(target: &Path, lazy: bool) -> Result<(), CoreError> {
    let flags = if lazy { UnmountFlags::DETACH } else { UnmountFlags::empty() };
    unmount(target, flags).map_err(|e| CoreError::Io(format!("cannot unmount {}: {e}", target.display())))
}

/// Whether `dir`'s filesystem can hold overlay upper/work dirs, tried for real with a scratch mount.
pub fn overlay_supported(dir: &Path) -> bool {
    let base = dir.join(format!(".overlay-probe-{}", std::process::id()));
    let (l, u, w, m) = (base.join("l"), base.join("u"), base.join("w"), base.join("m"));
    let ok = [&l, &u, &w, &m].iter().all(|d| std::fs::create_dir_all(d).is_ok())
        && mount_overlay(&[&l], &u, &w, &m).is_ok();
    if ok {
        let _ = umount(&m, true);
    }
    let _ = std::fs::remove_dir_all(&base);
    ok
}

#[cfg(test)]
mod tests {
    use super::*;

    fn is_root() -> bool {
        rustix::process::geteuid().is_root()
    }

    #[test]
    fn overlay_merges_lower_and_upper_and_writes_go_up() {
        assert!(is_root(), "mount tests run as root (CI runs them as root)");
        let d = tempfile::tempdir().unwrap();
        let (l, u, w, m) = (d.path().join("l"), d.path().join("u"), d.path().join("w"), d.path().join("m"));
        for p in [&l, &u, &w, &m] {
            std::fs::create_dir(p).unwrap();
        }
        std::fs::write(l.join("from-lower"), "L").unwrap();
        mount_overlay(&[&l], &u, &w, &m).unwrap();
        assert_eq!(std::fs::read_to_string(m.join("from-lower")).unwrap(), "L");
        std::fs::write(m.join("new"), "N").unwrap();
        umount(&m, false).unwrap();
        assert_eq!(std::fs::read_to_string(u.join("new")).unwrap(), "N");
        assert!(!l.join("new").exists(), "lower untouched");
    }

    #[test]
    fn overlay_refuses_option_separators() {
        let p = Path::new("/tmp/a,b");
        assert!(mount_overlay(&[p], p, p, p).is_err());
    }

    #[test]
    fn overlay_probe_on_a_real_dir() {
        assert!(is_root());
        let d = tempfile::tempdir().unwrap();
        // /tmp here is ext4 or tmpfs: both support overlay upper dirs.
        assert!(overlay_supported(d.path()));
        assert_eq!(std::fs::read_dir(d.path()).unwrap().count(), 0, "probe leaves nothing");
    }
}
