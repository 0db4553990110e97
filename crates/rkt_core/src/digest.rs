//! SHA-512, the one hash of the store. The default is the pure-Rust `sha2`;
//! the `openssl` feature uses libcrypto's assembly instead, about 1.45x
//! faster on the AMD EPYC VMs we run on (sha2 ~580 MB/s, OpenSSL ~850 MB/s),
//! which matters because hashing is the slowest stage of import and render.
//!
//! `host-openssl` (the napi addon) calls the same libcrypto functions but
//! takes them from the process that loads the addon: Node exports its
//! OpenSSL's symbols to addons (it links OpenSSL statically, or libcrypto is
//! already loaded). Linking libcrypto.so itself cost every `rkt` command
//! ~3 ms of dlopen and relocations, `rkt run` included, which hashes nothing.

/// SHA-512 of small inputs (tree ids, a small tree's lstat signature): the pure-Rust sha2 in every
/// build. libcrypto's first digest in a process fetches its SHA-512 implementation from the
/// provider, about 0.25 ms, which every `rkt run` paid to hash a few hundred bytes.
pub(crate) struct SmallSha512(sha2::Sha512);

impl SmallSha512 {
    pub(crate) fn new() -> Self {
        use sha2::Digest;
        SmallSha512(sha2::Sha512::new())
    }

    pub(crate) fn update(&mut self, data: &[u8]) {
        use sha2::Digest;
        self.0.update(data);
    }

    /// All 128 hex digits.
    pub(crate) fn finish_hex(self) -> String {
        use sha2::Digest;
        hex::encode(self.0.finalize())
    }
}

/// Without a libcrypto feature, the store's hash is the same sha2.
#[cfg(not(any(feature = "openssl", feature = "host-openssl")))]
pub(crate) type Sha512 = SmallSha512;

#[cfg(all(feature = "openssl", not(feature = "host-openssl")))]
pub(crate) struct Sha512(openssl::sha::Sha512);

#[cfg(all(feature = "openssl", not(feature = "host-openssl")))]
impl Sha512 {
    pub(crate) fn new() -> Self {
        Sha512(openssl::sha::Sha512::new())
    }

    pub(crate) fn update(&mut self, data: &[u8]) {
        self.0.update(data);
    }

    pub(crate) fn finish_hex(self) -> String {
        hex::encode(self.0.finish())
    }
}

#[cfg(feature = "host-openssl")]
mod host {
    use std::ffi::c_void;
    use std::os::raw::{c_int, c_uint};

    // libcrypto's EVP digest API (OpenSSL 1.1 and 3.x), resolved at load
    // time against the host process.
    extern "C" {
        fn EVP_MD_CTX_new() -> *mut c_void;
        fn EVP_MD_CTX_free(ctx: *mut c_void);
        fn EVP_sha512() -> *const c_void;
        fn EVP_DigestInit_ex(ctx: *mut c_void, md: *const c_void, engine: *mut c_void) -> c_int;
        fn EVP_DigestUpdate(ctx: *mut c_void, data: *const c_void, len: usize) -> c_int;
        fn EVP_DigestFinal_ex(ctx: *mut c_void, out: *mut u8, len: *mut c_uint) -> c_int;
    }

    pub(crate) struct Sha512(*mut c_void);

    // SAFETY: an EVP_MD_CTX has no thread affinity; it is only ever used
    // through &mut self, so never from two threads at once.
    unsafe impl Send for Sha512 {}

    impl Sha512 {
        pub(crate) fn new() -> Self {
            // SAFETY: plain libcrypto calls; a context that cannot be made or
            // initialised means libcrypto is unusable, which we cannot recover.
            unsafe {
                let ctx = EVP_MD_CTX_new();
                assert!(!ctx.is_null(), "EVP_MD_CTX_new failed");
                assert!(EVP_DigestInit_ex(ctx, EVP_sha512(), std::ptr::null_mut()) == 1, "EVP_DigestInit_ex failed");
                Sha512(ctx)
            }
        }

        pub(crate) fn update(&mut self, data: &[u8]) {
            // SAFETY: ctx is a live, initialised context; data is a valid slice.
            let ok = unsafe { EVP_DigestUpdate(self.0, data.as_ptr().cast(), data.len()) };
            assert!(ok == 1, "EVP_DigestUpdate failed");
        }

        pub(crate) fn finish_hex(self) -> String {
            let mut out = [0u8; 64];
            let mut len: c_uint = 0;
            // SAFETY: out has room for a SHA-512 digest (64 bytes).
            let ok = unsafe { EVP_DigestFinal_ex(self.0, out.as_mut_ptr(), &mut len) };
            assert!(ok == 1 && len == 64, "EVP_DigestFinal_ex failed");
            hex::encode(out)
        }
    }

    impl Drop for Sha512 {
        fn drop(&mut self) {
            // SAFETY: ctx came from EVP_MD_CTX_new and is freed once.
            unsafe { EVP_MD_CTX_free(self.0) }
        }
    }
}

#[cfg(feature = "host-openssl")]
pub(crate) use host::Sha512;
