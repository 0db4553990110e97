//! The parts of the appc 0.8.11 PodManifest that this stage1 acts on. Unknown keys are ignored
//! (stage0 validated the manifest); keys that are `null` in Go's output are accepted as empty.

use serde::{Deserialize, Deserializer};
use thiserror::Error;

fn null_as_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct PodManifest {
    pub ac_kind: String,
    #[serde(default)]
    pub ac_version: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub apps: Vec<RuntimeApp>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub volumes: Vec<Volume>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct RuntimeApp {
    pub name: String,
    #[serde(default)]
    pub image: RuntimeImage,
    pub app: Option<App>,
    #[serde(default, rename = "readOnlyRootFS")]
    pub read_only_root_fs: bool,
    #[serde(default, deserialize_with = "null_as_default")]
    pub mounts: Vec<Mount>,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
pub struct RuntimeImage {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub id: String,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct App {
    #[serde(default, deserialize_with = "null_as_default")]
    pub exec: Vec<String>,
    #[serde(default)]
    pub user: String,
    #[serde(default)]
    pub group: String,
    #[serde(
        default,
        rename = "supplementaryGIDs",
        deserialize_with = "null_as_default"
    )]
    pub supplementary_gids: Vec<u32>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub event_handlers: Vec<EventHandler>,
    #[serde(default)]
    pub working_directory: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub environment: Vec<NameValue>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub isolators: Vec<Isolator>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub mount_points: Vec<MountPoint>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct EventHandler {
    pub name: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub exec: Vec<String>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct NameValue {
    pub name: String,
    #[serde(default)]
    pub value: String,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct Isolator {
    pub name: String,
    #[serde(default)]
    pub value: serde_json::Value,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct MountPoint {
    pub name: String,
    pub path: String,
    #[serde(default)]
    pub read_only: bool,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Mount {
    pub volume: String,
    pub path: String,
    pub app_volume: Option<Volume>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Volume {
    pub name: String,
    pub kind: String,
    #[serde(default)]
    pub source: String,
    pub read_only: Option<bool>,
    pub recursive: Option<bool>,
    pub mode: Option<String>,
    pub uid: Option<u32>,
    pub gid: Option<u32>,
}

#[derive(Debug, Error)]
pub enum PodError {
    #[error("cannot read pod manifest: {0}")]
    Read(#[from] std::io::Error),
    #[error("cannot parse pod manifest: {0}")]
    Parse(#[from] serde_json::Error),
    #[error("pod manifest has acKind {0:?}, expected \"PodManifest\"")]
    Kind(String),
    #[error("pod manifest has no apps")]
    NoApps,
    #[error("invalid app name {0:?}")]
    AppName(String),
    #[error("duplicate apps of name {0}")]
    Duplicate(String),
    #[error("app {0:?} has no app section")]
    NoAppSection(String),
    #[error("app {0:?} has no exec")]
    NoExec(String),
}

/// An AC Name: app names become path components and file names, so they must match it exactly.
pub fn valid_ac_name(n: &str) -> bool {
    !n.is_empty()
        && !n.starts_with('-')
        && !n.ends_with('-')
        && !n.contains("--")
        && n.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

impl PodManifest {
    pub fn parse(bytes: &[u8]) -> Result<Self, PodError> {
        let m: PodManifest = serde_json::from_slice(bytes)?;
        if m.ac_kind != "PodManifest" {
            return Err(PodError::Kind(m.ac_kind));
        }
        if m.apps.is_empty() {
            return Err(PodError::NoApps);
        }
        let mut seen = std::collections::HashSet::new();
        for ra in &m.apps {
            if !valid_ac_name(&ra.name) {
                return Err(PodError::AppName(ra.name.clone()));
            }
            if !seen.insert(ra.name.as_str()) {
                return Err(PodError::Duplicate(ra.name.clone()));
            }
            let app = ra
                .app
                .as_ref()
                .ok_or_else(|| PodError::NoAppSection(ra.name.clone()))?;
            if app.exec.is_empty() || app.exec[0].is_empty() {
                return Err(PodError::NoExec(ra.name.clone()));
            }
        }
        Ok(m)
    }
}

impl App {
    pub fn event_handler(&self, name: &str) -> Option<&[String]> {
        self.event_handlers
            .iter()
            .find(|h| h.name == name)
            .map(|h| h.exec.as_slice())
            .filter(|e| !e.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const POD: &str = r#"{
      "acVersion": "1.30.0", "acKind": "PodManifest",
      "apps": [{
        "name": "hello",
        "image": {"name": "coreos.com/rkt-inspect", "id": "sha512-abc", "labels": [{"name":"os","value":"linux"}]},
        "app": {
          "exec": ["/inspect", "--print-msg=hi"], "user": "0", "group": "0",
          "supplementaryGIDs": [10, 20],
          "eventHandlers": [{"name": "pre-start", "exec": ["/bin/true"]}],
          "workingDirectory": "/tmp",
          "environment": [{"name": "A", "value": "1"}],
          "isolators": [{"name": "os/linux/no-new-privileges", "value": true}],
          "mountPoints": [{"name": "data", "path": "/data", "readOnly": true}],
          "ports": []
        },
        "readOnlyRootFS": true,
        "mounts": [{"volume": "data", "path": "/data"}],
        "annotations": []
      }],
      "volumes": null, "isolators": null, "annotations": null, "ports": null
    }"#;

    #[test]
    fn parses_stage0_manifest() {
        let m = PodManifest::parse(POD.as_bytes()).unwrap();
        let ra = &m.apps[0];
        assert_eq!(ra.name, "hello");
        assert_eq!(ra.image.id, "sha512-abc");
        assert!(ra.read_only_root_fs);
        let app = ra.app.as_ref().unwrap();
        assert_eq!(app.exec, ["/inspect", "--print-msg=hi"]);
        assert_eq!(app.supplementary_gids, [10, 20]);
        assert_eq!(
            app.event_handler("pre-start"),
            Some(&["/bin/true".to_string()][..])
        );
        assert_eq!(app.event_handler("post-stop"), None);
        assert_eq!(app.working_directory, "/tmp");
        assert_eq!(app.isolators[0].value, serde_json::Value::Bool(true));
        assert!(app.mount_points[0].read_only);
        assert_eq!(ra.mounts[0].volume, "data");
        assert!(m.volumes.is_empty());
    }

    #[test]
    fn rejects() {
        let bad = |s: &str| PodManifest::parse(s.as_bytes()).unwrap_err().to_string();
        assert_eq!(
            bad(r#"{"acKind":"ImageManifest","apps":[]}"#),
            "pod manifest has acKind \"ImageManifest\", expected \"PodManifest\""
        );
        assert_eq!(
            bad(r#"{"acKind":"PodManifest","apps":null}"#),
            "pod manifest has no apps"
        );
        assert_eq!(
            bad(r#"{"acKind":"PodManifest","apps":[{"name":"../x","app":{"exec":["/a"]}}]}"#),
            "invalid app name \"../x\""
        );
        assert_eq!(
            bad(
                r#"{"acKind":"PodManifest","apps":[{"name":"a","app":{"exec":["/a"]}},{"name":"a","app":{"exec":["/a"]}}]}"#
            ),
            "duplicate apps of name a"
        );
        assert_eq!(
            bad(r#"{"acKind":"PodManifest","apps":[{"name":"a"}]}"#),
            "app \"a\" has no app section"
        );
        assert_eq!(
            bad(r#"{"acKind":"PodManifest","apps":[{"name":"a","app":{"exec":[]}}]}"#),
            "app \"a\" has no exec"
        );
    }

    #[test]
    fn ac_names() {
        assert!(valid_ac_name("hello-0"));
        for n in ["", "Hello", "a/b", "..", "-a", "a-", "a--b", "a_b"] {
            assert!(!valid_ac_name(n), "{n}");
        }
    }
}
