//! User and group resolution against the app's own rootfs, in rkt's order (`pkg/user/resolver.go`):
//! a number or `root`, then `/path` (owner of that path in the rootfs), then the image's
//! `/etc/passwd` / `/etc/group`. Never the host's databases: the app's names are the image's.

use thiserror::Error;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasswdEntry {
    pub name: String,
    pub uid: u32,
    pub gid: u32,
    pub home: String,
    pub shell: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupEntry {
    pub name: String,
    pub gid: u32,
}

#[derive(Debug, Error, PartialEq, Eq)]
pub enum UserError {
    #[error("invalid user {0:?}")]
    User(String),
    #[error("invalid group {0:?}")]
    Group(String),
}

/// What resolution needs from the rootfs; the real one reads files under the app root without
/// leaving it, tests use literals.
pub trait RootfsDb {
    fn passwd(&self) -> Option<String>;
    fn group(&self) -> Option<String>;
    /// Owner (uid, gid) of an absolute path inside the rootfs.
    fn owner(&self, path: &str) -> Option<(u32, u32)>;
}

pub fn parse_passwd(text: &str) -> Vec<PasswdEntry> {
    text.lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .filter_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            if f.len() < 7 {
                return None;
            }
            Some(PasswdEntry {
                name: f[0].to_string(),
                uid: f[2].parse().ok()?,
                gid: f[3].parse().ok()?,
                home: f[5].to_string(),
                shell: f[6].to_string(),
            })
        })
        .collect()
}

pub fn parse_group(text: &str) -> Vec<GroupEntry> {
    text.lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .filter_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            if f.len() < 3 {
                return None;
            }
            Some(GroupEntry {
                name: f[0].to_string(),
                gid: f[2].parse().ok()?,
            })
        })
        .collect()
}

fn numeric(s: &str) -> Option<u32> {
    if s == "root" {
        return Some(0);
    }
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

pub fn resolve_uid(spec: &str, db: &dyn RootfsDb) -> Result<u32, UserError> {
    let err = || UserError::User(spec.to_string());
    if let Some(n) = numeric(spec) {
        return Ok(n);
    }
    if spec.starts_with('/') {
        return db.owner(spec).map(|(u, _)| u).ok_or_else(err);
    }
    let text = db.passwd().ok_or_else(err)?;
    parse_passwd(&text)
        .into_iter()
        .find(|e| e.name == spec)
        .map(|e| e.uid)
        .ok_or_else(err)
}

pub fn resolve_gid(spec: &str, db: &dyn RootfsDb) -> Result<u32, UserError> {
    let err = || UserError::Group(spec.to_string());
    if let Some(n) = numeric(spec) {
        return Ok(n);
    }
    if spec.starts_with('/') {
        return db.owner(spec).map(|(_, g)| g).ok_or_else(err);
    }
    let text = db.group().ok_or_else(err)?;
    parse_group(&text)
        .into_iter()
        .find(|e| e.name == spec)
        .map(|e| e.gid)
        .ok_or_else(err)
}

/// The image's passwd entry for a uid, which gives USER/LOGNAME/HOME their values.
pub fn passwd_entry_for(uid: u32, db: &dyn RootfsDb) -> Option<PasswdEntry> {
    parse_passwd(&db.passwd()?)
        .into_iter()
        .find(|e| e.uid == uid)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::collections::HashMap;

    #[derive(Default)]
    pub struct FakeDb {
        pub passwd: Option<String>,
        pub group: Option<String>,
        pub owners: HashMap<String, (u32, u32)>,
    }

    impl RootfsDb for FakeDb {
        fn passwd(&self) -> Option<String> {
            self.passwd.clone()
        }
        fn group(&self) -> Option<String> {
            self.group.clone()
        }
        fn owner(&self, path: &str) -> Option<(u32, u32)> {
            self.owners.get(path).copied()
        }
    }

    pub fn image_db() -> FakeDb {
        FakeDb {
            passwd: Some(
                "root:x:0:0:root:/root:/bin/sh\n# comment\nbroken line\nuser1:x:1000:100:User One:/home/user1:/bin/bash\nuser2:x:1001:1001::/home/user2:/bin/false\n"
                    .into(),
            ),
            group: Some("root:x:0:\ngroup1:x:100:user1\ngroup2:x:1001:\n".into()),
            owners: [("/home/user2/file".to_string(), (1001, 1002))].into_iter().collect(),
        }
    }

    #[test]
    fn numbers_and_root() {
        let db = FakeDb::default();
        assert_eq!(resolve_uid("0", &db), Ok(0));
        assert_eq!(resolve_uid("4242", &db), Ok(4242));
        assert_eq!(resolve_uid("root", &db), Ok(0));
        assert_eq!(resolve_gid("root", &db), Ok(0));
        assert_eq!(resolve_gid("65534", &db), Ok(65534));
    }

    #[test]
    fn names_from_image_files() {
        let db = image_db();
        assert_eq!(resolve_uid("user1", &db), Ok(1000));
        assert_eq!(resolve_gid("group1", &db), Ok(100));
        assert_eq!(resolve_uid("user2", &db), Ok(1001));
    }

    #[test]
    fn path_owner() {
        let db = image_db();
        assert_eq!(resolve_uid("/home/user2/file", &db), Ok(1001));
        assert_eq!(resolve_gid("/home/user2/file", &db), Ok(1002));
    }

    #[test]
    fn failures_have_rkt_text() {
        let db = image_db();
        assert_eq!(
            resolve_uid("nobody", &db).unwrap_err().to_string(),
            "invalid user \"nobody\""
        );
        assert_eq!(
            resolve_gid("nogroup", &db).unwrap_err().to_string(),
            "invalid group \"nogroup\""
        );
        assert_eq!(
            resolve_uid("/missing", &db).unwrap_err().to_string(),
            "invalid user \"/missing\""
        );
        assert_eq!(
            resolve_uid("", &db).unwrap_err().to_string(),
            "invalid user \"\""
        );
        assert_eq!(
            resolve_uid("99999999999", &db).unwrap_err().to_string(),
            "invalid user \"99999999999\""
        );
        // No passwd in the image: names cannot resolve.
        assert_eq!(
            resolve_uid("user1", &FakeDb::default()).unwrap_err(),
            UserError::User("user1".into())
        );
    }

    #[test]
    fn entry_by_uid() {
        let db = image_db();
        let e = passwd_entry_for(1000, &db).unwrap();
        assert_eq!((e.name.as_str(), e.home.as_str()), ("user1", "/home/user1"));
        assert!(passwd_entry_for(4242, &db).is_none());
    }
}
