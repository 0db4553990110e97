//! Loading a shared library on a thread of its own, ahead of the caller's need for it.
//!
//! `rkt run` needs sqlite3's native module a few milliseconds after the CLI starts, and dlopen of
//! its 2.3 MiB takes about one of them (mapping, relocations, page faults) on the JS thread. Loaded
//! here first, on another CPU while the JS thread goes on, Node's own dlopen of the same file later
//! finds it loaded and only registers it. Only for libraries whose loading has no effect beyond
//! being loaded: Node-API modules that register through their `napi_register_module_v1` symbol
//! (not from a constructor) qualify.
use std::ffi::CString;
use std::thread::JoinHandle;

/// dlopen(`path`, RTLD_LAZY) on a new thread; the handle is kept (never closed), as Node keeps
/// its own. The thread's result says whether the library loaded; callers may drop the handle.
pub fn load_in_background(path: &str) -> Option<JoinHandle<bool>> {
    let c = CString::new(path).ok()?;
    std::thread::Builder::new()
        .name("rkt-preload".into())
        .spawn(move || {
            // SAFETY: a NUL-terminated path; the returned handle is deliberately never closed.
            !unsafe { libc::dlopen(c.as_ptr(), libc::RTLD_LAZY) }.is_null()
        })
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn loaded(path: &str) -> bool {
        let c = CString::new(path).unwrap();
        // SAFETY: RTLD_NOLOAD only looks the library up; the reference it takes is dropped at once.
        unsafe {
            let h = libc::dlopen(c.as_ptr(), libc::RTLD_LAZY | libc::RTLD_NOLOAD);
            if h.is_null() {
                return false;
            }
            libc::dlclose(h);
            true
        }
    }

    #[test]
    fn a_library_is_loaded_by_the_thread() {
        // libz is linked by nothing in this test binary (flate2 uses zlib-rs)
        let lib = ["/lib/x86_64-linux-gnu/libz.so.1", "/usr/lib/x86_64-linux-gnu/libz.so.1"]
            .into_iter()
            .find(|p| std::path::Path::new(p).exists())
            .expect("libz.so.1 (zlib1g) is installed");
        assert!(!loaded(lib), "{lib} must not be loaded before the test");
        assert!(load_in_background(lib).unwrap().join().unwrap());
        assert!(loaded(lib));
    }

    #[test]
    fn a_missing_or_bad_path_only_fails_the_thread() {
        assert!(!load_in_background("/nonexistent/lib.so").unwrap().join().unwrap());
        assert!(load_in_background("bad\0path").is_none());
    }
}
