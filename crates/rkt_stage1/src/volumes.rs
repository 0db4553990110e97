//! Which volumes an app gets and where (rkt's `GenerateMounts`): the app's `mounts` first, then each
//! image mount point not covered, from the volume of the same name or an implicit empty volume.

use crate::mounts::RelPath;
use crate::pod::{App, PodManifest, RuntimeApp, Volume};
use std::path::{Path, PathBuf};
use thiserror::Error;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Backing {
    Host,
    /// Created by stage1 under `sharedVolumes/<name>` with this mode and owner.
    Empty {
        mode: u32,
        uid: u32,
        gid: u32,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedMount {
    pub volume: String,
    pub source: PathBuf,
    pub target: RelPath,
    pub read_only: bool,
    pub recursive: bool,
    pub backing: Backing,
    /// An empty volume rkt made up for an image mount point no volume was given for.
    pub implicit: bool,
}

#[derive(Debug, Error, PartialEq, Eq)]
pub enum VolumeError {
    #[error("could not find volume {0}")]
    Missing(String),
    #[error("volume {name}: {msg}")]
    Invalid { name: String, msg: String },
    #[error("invalid mount path {0:?}")]
    Path(String),
}

fn read_only(vol: &Volume, app: &App) -> bool {
    if let Some(ro) = vol.read_only {
        return ro;
    }
    app.mount_points
        .iter()
        .find(|mp| mp.name == vol.name)
        .map(|mp| mp.read_only)
        .unwrap_or(false)
}

fn resolve_one(
    vol: &Volume,
    path: &str,
    app: &App,
    pod_dir: &Path,
) -> Result<ResolvedMount, VolumeError> {
    let invalid = |msg: &str| VolumeError::Invalid {
        name: vol.name.clone(),
        msg: msg.into(),
    };
    if !path.starts_with('/') {
        return Err(VolumeError::Path(path.into()));
    }
    let target = RelPath::new(path).map_err(|_| VolumeError::Path(path.into()))?;
    let (source, backing) = match vol.kind.as_str() {
        "host" => {
            if !vol.source.starts_with('/') {
                return Err(invalid("source for host volume must be absolute path"));
            }
            (PathBuf::from(&vol.source), Backing::Host)
        }
        "empty" => {
            let mode = match &vol.mode {
                Some(m) => u32::from_str_radix(m, 8).map_err(|_| invalid("invalid mode"))?,
                None => 0o755,
            };
            (
                pod_dir.join("sharedVolumes").join(&vol.name),
                Backing::Empty {
                    mode,
                    uid: vol.uid.unwrap_or(0),
                    gid: vol.gid.unwrap_or(0),
                },
            )
        }
        _ => {
            return Err(invalid(
                "unrecognized volume kind: should be one of \"empty\", \"host\"",
            ))
        }
    };
    if !crate::pod::valid_ac_name(&vol.name) {
        return Err(invalid("invalid volume name"));
    }
    Ok(ResolvedMount {
        volume: vol.name.clone(),
        source,
        target,
        read_only: read_only(vol, app),
        recursive: vol.recursive.unwrap_or(true),
        backing,
        implicit: false,
    })
}

/// Returns the app's mounts and the warnings rkt prints for implicit volumes.
pub fn resolve(
    pod: &PodManifest,
    ra: &RuntimeApp,
    pod_dir: &Path,
) -> Result<(Vec<ResolvedMount>, Vec<String>), VolumeError> {
    let app = ra
        .app
        .as_ref()
        .expect("validated: every app has an app section");
    let mut out: Vec<ResolvedMount> = Vec::new();
    let mut warnings = Vec::new();
    for m in &ra.mounts {
        let vol = match &m.app_volume {
            Some(v) => v.clone(),
            None => pod
                .volumes
                .iter()
                .find(|v| v.name == m.volume)
                .cloned()
                .ok_or_else(|| VolumeError::Missing(m.volume.clone()))?,
        };
        out.push(resolve_one(&vol, &m.path, app, pod_dir)?);
    }
    for mp in &app.mount_points {
        let target = RelPath::new(&mp.path).map_err(|_| VolumeError::Path(mp.path.clone()))?;
        if out.iter().any(|r| r.target == target) {
            continue;
        }
        let mut implicit = false;
        let vol = match pod.volumes.iter().find(|v| v.name == mp.name) {
            Some(v) => v.clone(),
            None => {
                implicit = true;
                warnings.push(format!(
                    "warning: no volume specified for mount point {:?}, implicitly creating an \"empty\" volume. This volume will be removed when the pod is garbage-collected.",
                    mp.name
                ));
                Volume {
                    name: format!("{}-{}", ra.name, mp.name),
                    kind: "empty".into(),
                    source: String::new(),
                    read_only: None,
                    recursive: None,
                    mode: None,
                    uid: None,
                    gid: None,
                }
            }
        };
        let mut r = resolve_one(&vol, &mp.path, app, pod_dir)?;
        r.implicit = implicit;
        out.push(r);
    }
    Ok((out, warnings))
}

/// Images converted from Docker say so with this annotation; their implicit volumes start with the
/// image's content at the mount point (Docker's volume semantics, rkt's tests/rkt_volume_test.go).
pub const DOCKER_REPOSITORY: &str = "appc.io/docker/repository";

pub fn is_docker_image(image_manifest: &[u8]) -> bool {
    serde_json::from_slice::<serde_json::Value>(image_manifest)
        .ok()
        .and_then(|m| m.get("annotations")?.as_array().cloned())
        .is_some_and(|a| a.iter().any(|x| x.get("name").and_then(|n| n.as_str()) == Some(DOCKER_REPOSITORY)))
}

/// Copies the tree at `src` into the existing directory `dst`: files, directories and symlinks
/// (never followed) with their modes and owners. `src` is a path the caller resolved inside the app
/// root (a /proc/self/fd link), so nothing below it can lead outside.
pub fn copy_contents(src: &Path, dst: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let meta = std::fs::metadata(src)?;
    std::os::unix::fs::chown(dst, Some(meta.uid()), Some(meta.gid()))?;
    std::fs::set_permissions(dst, std::fs::Permissions::from_mode(meta.mode() & 0o7777))?;
    for e in std::fs::read_dir(src)? {
        let e = e?;
        let (from, to) = (e.path(), dst.join(e.file_name()));
        let m = std::fs::symlink_metadata(&from)?;
        let t = m.file_type();
        if t.is_symlink() {
            std::os::unix::fs::symlink(std::fs::read_link(&from)?, &to)?;
        } else if t.is_dir() {
            std::fs::create_dir(&to)?;
            copy_contents(&from, &to)?;
            continue;
        } else if t.is_file() {
            std::fs::copy(&from, &to)?;
            std::fs::set_permissions(&to, std::fs::Permissions::from_mode(m.mode() & 0o7777))?;
        } else {
            continue; // devices, fifos, sockets: not volume content
        }
        std::os::unix::fs::lchown(&to, Some(m.uid()), Some(m.gid()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(json: &str) -> PodManifest {
        PodManifest::parse(json.as_bytes()).unwrap()
    }

    #[test]
    fn host_and_empty_and_implicit() {
        let p = pod(
            r#"{"acKind":"PodManifest","apps":[{"name":"web","app":{"exec":["/a"],
            "mountPoints":[{"name":"data","path":"/data","readOnly":true},{"name":"cache","path":"/var/cache"},{"name":"logs","path":"/logs"}]},
            "mounts":[{"volume":"data","path":"/data"},{"volume":"scratch","path":"/scratch"}]}],
          "volumes":[{"name":"data","kind":"host","source":"/srv/data"},{"name":"scratch","kind":"empty","mode":"0700","uid":5},
                     {"name":"logs","kind":"host","source":"/var/log/x","readOnly":false,"recursive":false}]}"#,
        );
        let (m, w) = resolve(&p, &p.apps[0], Path::new("/pods/run/u")).unwrap();
        assert_eq!(m.len(), 4);
        assert_eq!(
            (
                m[0].source.to_str().unwrap(),
                m[0].target.as_str(),
                m[0].read_only,
                m[0].recursive
            ),
            ("/srv/data", "data", true, true)
        );
        assert_eq!(
            m[1].source,
            PathBuf::from("/pods/run/u/sharedVolumes/scratch")
        );
        assert_eq!(
            m[1].backing,
            Backing::Empty {
                mode: 0o700,
                uid: 5,
                gid: 0
            }
        );
        assert_eq!(m[2].volume, "web-cache");
        assert_eq!(
            m[2].source,
            PathBuf::from("/pods/run/u/sharedVolumes/web-cache")
        );
        assert_eq!(
            (m[3].volume.as_str(), m[3].read_only, m[3].recursive),
            ("logs", false, false)
        );
        assert_eq!(w.len(), 1);
        assert!(m[2].implicit && !m[0].implicit && !m[3].implicit);
        assert!(w[0].starts_with("warning: no volume specified for mount point \"cache\""));
    }

    #[test]
    fn errors() {
        let p = pod(
            r#"{"acKind":"PodManifest","apps":[{"name":"a","app":{"exec":["/a"]},"mounts":[{"volume":"nope","path":"/x"}]}]}"#,
        );
        assert_eq!(
            resolve(&p, &p.apps[0], Path::new("/p"))
                .unwrap_err()
                .to_string(),
            "could not find volume nope"
        );
        let p = pod(
            r#"{"acKind":"PodManifest","apps":[{"name":"a","app":{"exec":["/a"]},"mounts":[{"volume":"v","path":"/x/../../y"}]}],
            "volumes":[{"name":"v","kind":"host","source":"/s"}]}"#,
        );
        assert_eq!(
            resolve(&p, &p.apps[0], Path::new("/p")).unwrap_err(),
            VolumeError::Path("/x/../../y".into())
        );
        let p = pod(
            r#"{"acKind":"PodManifest","apps":[{"name":"a","app":{"exec":["/a"]},"mounts":[{"volume":"v","path":"/x"}]}],
            "volumes":[{"name":"v","kind":"nfs"}]}"#,
        );
        assert!(resolve(&p, &p.apps[0], Path::new("/p"))
            .unwrap_err()
            .to_string()
            .contains("unrecognized volume kind"));
    }
}
