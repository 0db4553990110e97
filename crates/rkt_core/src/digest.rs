//! SHA-512, the one hash of the store. The default is the pure-Rust `sha2`;
//! the `openssl` feature uses libcrypto's assembly instead, about 1.45x
//! faster on the AMD EPYC VMs we run on (sha2 ~580 MB/s, OpenSSL ~850 MB/s),
//! which matters because hashing is the slowest stage of import and render.

#[cfg(not(feature = "openssl"))]
pub(crate) struct Sha512(sha2::Sha512);

#[cfg(not(feature = "openssl"))]
impl Sha512 {
    pub(crate) fn new() -> Self {
        use sha2::Digest;
        Sha512(sha2::Sha512::new())
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

#[cfg(feature = "openssl")]
pub(crate) struct Sha512(openssl::sha::Sha512);

#[cfg(feature = "openssl")]
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
