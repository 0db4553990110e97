//! Where `exec[0]` lives inside the app rootfs (rkt's `FindBinPath`): absolute as is, a relative
//! path with a `/` against the working directory, a bare name searched in the app's PATH.

/// `is_exec` answers for a path as the app sees it (the caller is already chrooted).
pub fn resolve(
    exec0: &str,
    working_dir: &str,
    path_env: Option<&str>,
    is_file: &dyn Fn(&str) -> bool,
    is_exec: &dyn Fn(&str) -> bool,
) -> Option<String> {
    if exec0.is_empty() {
        return None;
    }
    if exec0.starts_with('/') {
        return is_file(exec0).then(|| exec0.to_string());
    }
    if exec0.contains('/') {
        let wd = if working_dir.is_empty() {
            "/"
        } else {
            working_dir
        };
        let p = format!("{}/{}", wd.trim_end_matches('/'), exec0);
        return is_file(&p).then_some(p);
    }
    let path = path_env.unwrap_or(crate::env::DEFAULT_PATH);
    path.split(':')
        .map(|dir| {
            // An empty PATH entry means the current directory, as in execvp(3).
            let dir = if dir.is_empty() { working_dir } else { dir };
            format!("{}/{}", dir.trim_end_matches('/'), exec0)
        })
        .find(|p| is_exec(p))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fs(files: &'static [&'static str]) -> impl Fn(&str) -> bool {
        move |p: &str| files.contains(&p)
    }

    #[test]
    fn absolute() {
        let f = fs(&["/inspect"]);
        assert_eq!(
            resolve("/inspect", "/", None, &f, &f),
            Some("/inspect".into())
        );
        assert_eq!(resolve("/foo-not-there", "/", None, &f, &f), None);
    }

    #[test]
    fn relative_with_slash_joins_working_dir() {
        let f = fs(&["/opt/app/bin/run"]);
        assert_eq!(
            resolve("bin/run", "/opt/app", None, &f, &f),
            Some("/opt/app/bin/run".into())
        );
        assert_eq!(
            resolve("bin/run", "/opt/app/", None, &f, &f),
            Some("/opt/app/bin/run".into())
        );
        assert_eq!(resolve("bin/run", "/", None, &f, &f), None);
        let g = fs(&["/bin/run"]);
        assert_eq!(
            resolve("bin/run", "", None, &g, &g),
            Some("/bin/run".into())
        );
    }

    #[test]
    fn bare_name_uses_path_in_order() {
        let f = fs(&["/usr/bin/sh", "/bin/sh"]);
        assert_eq!(resolve("sh", "/", None, &f, &f), Some("/usr/bin/sh".into()));
        assert_eq!(
            resolve("sh", "/", Some("/bin:/usr/bin"), &f, &f),
            Some("/bin/sh".into())
        );
        assert_eq!(resolve("sh", "/", Some("/nowhere"), &f, &f), None);
        let w = fs(&["/work/tool"]);
        assert_eq!(
            resolve("tool", "/work", Some("/bin::/x"), &w, &w),
            Some("/work/tool".into())
        );
    }

    #[test]
    fn search_needs_executable_but_direct_paths_only_existence() {
        let exists = fs(&["/bin/data", "/usr/bin/data"]);
        let exec = fs(&["/usr/bin/data"]);
        assert_eq!(
            resolve("data", "/", Some("/bin:/usr/bin"), &exists, &exec),
            Some("/usr/bin/data".into())
        );
        // execve reports EACCES itself for a direct path that is not executable.
        assert_eq!(
            resolve("/bin/data", "/", None, &exists, &exec),
            Some("/bin/data".into())
        );
    }
}
