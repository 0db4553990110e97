//! Paths in the pod directory that stage1 reads or writes (rkt's `common/common.go` names).
//! Before the pivot they are taken relative to the pod directory; after it, stage1's root is
//! `stage1/rootfs`, hence the `*_in_stage1` forms.

use std::path::{Path, PathBuf};

pub const STAGE1_ROOTFS: &str = "stage1/rootfs";

pub fn pod_manifest(pod: &Path) -> PathBuf {
    pod.join("pod")
}
pub fn pid_file(pod: &Path) -> PathBuf {
    pod.join("pid")
}
pub fn stage1_rootfs(pod: &Path) -> PathBuf {
    pod.join(STAGE1_ROOTFS)
}
pub fn app_rootfs(pod: &Path, app: &str) -> PathBuf {
    stage1_rootfs(pod)
        .join("opt/stage2")
        .join(app)
        .join("rootfs")
}
pub fn stage1_etc(pod: &Path) -> PathBuf {
    stage1_rootfs(pod).join("etc")
}
pub fn env_dir(pod: &Path) -> PathBuf {
    stage1_rootfs(pod).join("rkt/env")
}
pub fn status_dir(pod: &Path) -> PathBuf {
    stage1_rootfs(pod).join("rkt/status")
}

pub const STATUS_DIR_IN_STAGE1: &str = "/rkt/status";
pub const SUPERVISOR_STATUS_IN_STAGE1: &str = "/rkt/supervisor-status";
/// Per-app facts for the enter entrypoint (user, groups, caps), written by the run entrypoint.
pub fn enter_dir(pod: &Path) -> PathBuf {
    stage1_rootfs(pod).join("rkt/enter")
}
/// The cgroup directories stage1 made for the pod, one per line, for removal at exit and by gc.
pub fn cgroups_file(pod: &Path) -> PathBuf {
    pod.join("cgroups")
}
