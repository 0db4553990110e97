//! The app environment (`stage1/rootfs/rkt/env/<app>`): the app's own variables in stage0's
//! precedence order, then rkt's defaults for the ones it did not set, then `AC_APP_NAME`.

use crate::user::PasswdEntry;

pub const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

pub type Env = Vec<(String, String)>;

/// Sets `k` in place when present (keeping its position), appends otherwise.
fn set(env: &mut Env, k: &str, v: &str) {
    match env.iter_mut().find(|(n, _)| n == k) {
        Some(e) => e.1 = v.to_string(),
        None => env.push((k.to_string(), v.to_string())),
    }
}

fn set_default(env: &mut Env, k: &str, v: &str) {
    if !env.iter().any(|(n, _)| n == k) {
        env.push((k.to_string(), v.to_string()));
    }
}

/// `user` is the image's passwd entry for the resolved uid, if it has one.
pub fn app_env(app_name: &str, app_env: &[(String, String)], user: Option<&PasswdEntry>) -> Env {
    let mut env: Env = Vec::with_capacity(app_env.len() + 6);
    for (k, v) in app_env {
        // A later duplicate overrides an earlier one, like the Go map merge in stage0.
        set(&mut env, k, v);
    }
    let (name, home) = match user {
        Some(u) => (u.name.as_str(), u.home.as_str()),
        None => ("root", "/root"),
    };
    set_default(&mut env, "PATH", DEFAULT_PATH);
    set_default(&mut env, "SHELL", "/bin/sh");
    set_default(&mut env, "USER", name);
    set_default(&mut env, "LOGNAME", name);
    set_default(&mut env, "HOME", if home.is_empty() { "/" } else { home });
    set(&mut env, "AC_APP_NAME", app_name);
    env
}

/// The env file text. A value holding a newline cannot round-trip through a line format; the app
/// gets the exact values from memory, the file is for humans and tools.
pub fn render(env: &Env) -> String {
    let mut s = String::new();
    for (k, v) in env {
        s.push_str(k);
        s.push('=');
        s.push_str(v);
        s.push('\n');
    }
    s
}

pub fn lookup<'a>(env: &'a Env, k: &str) -> Option<&'a str> {
    env.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kv(pairs: &[(&str, &str)]) -> Env {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn defaults_for_root() {
        let env = app_env("hello", &[], None);
        assert_eq!(
            render(&env),
            format!("PATH={DEFAULT_PATH}\nSHELL=/bin/sh\nUSER=root\nLOGNAME=root\nHOME=/root\nAC_APP_NAME=hello\n")
        );
    }

    #[test]
    fn app_values_win_and_keep_order() {
        let env = app_env(
            "a",
            &kv(&[("Z", "1"), ("PATH", "/bin"), ("HOME", "/h"), ("A", "2")]),
            None,
        );
        assert_eq!(
            env,
            kv(&[
                ("Z", "1"),
                ("PATH", "/bin"),
                ("HOME", "/h"),
                ("A", "2"),
                ("SHELL", "/bin/sh"),
                ("USER", "root"),
                ("LOGNAME", "root"),
                ("AC_APP_NAME", "a"),
            ])
        );
    }

    #[test]
    fn later_duplicate_overrides() {
        let env = app_env("a", &kv(&[("X", "1"), ("Y", "2"), ("X", "3")]), None);
        assert_eq!(&env[..2], &kv(&[("X", "3"), ("Y", "2")])[..]);
    }

    #[test]
    fn ac_app_name_is_forced() {
        let env = app_env("real", &kv(&[("AC_APP_NAME", "fake")]), None);
        assert_eq!(lookup(&env, "AC_APP_NAME"), Some("real"));
        assert_eq!(env.iter().filter(|(k, _)| k == "AC_APP_NAME").count(), 1);
    }

    #[test]
    fn resolved_user_sets_user_home() {
        let u = PasswdEntry {
            name: "user1".into(),
            uid: 1000,
            gid: 100,
            home: "/home/user1".into(),
            shell: "/bin/bash".into(),
        };
        let env = app_env("a", &kv(&[("LOGNAME", "custom")]), Some(&u));
        assert_eq!(lookup(&env, "USER"), Some("user1"));
        assert_eq!(lookup(&env, "LOGNAME"), Some("custom"));
        assert_eq!(lookup(&env, "HOME"), Some("/home/user1"));
        assert_eq!(lookup(&env, "SHELL"), Some("/bin/sh"));
    }
}
