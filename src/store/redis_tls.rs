//! Which roots a `rediss://` store trusts: what the token endpoint trusts,
//! that is the built-in roots, `NODE_EXTRA_CA_CERTS` and the request's `ca`.
//!
//! With neither extra source, the driver's built-in Mozilla roots
//! (webpki-roots, as reqwest uses for the endpoint). Otherwise the driver
//! takes one PEM bundle that replaces its defaults, so the bundle is the
//! `ca` option, then `NODE_EXTRA_CA_CERTS`, then the system's roots. A
//! connection is per store URL and `ca` (see `registry.rs`), so each
//! trusts exactly what the requests using it trust.

use base64::Engine;
use std::sync::OnceLock;

/// The PEM bundle to trust instead of the built-in roots, if any.
pub fn roots_bundle(ca: Option<&str>) -> Option<Vec<u8>> {
    let extra = node_extra_ca_certs();
    if ca.is_none() && extra.is_none() {
        return None;
    }
    let mut bundle = Vec::new();
    for pem in [ca.map(str::as_bytes), extra].into_iter().flatten() {
        bundle.extend_from_slice(pem);
        bundle.push(b'\n');
    }
    bundle.extend_from_slice(system_roots());
    Some(bundle)
}

/// Read once, as Node does; an unreadable file is ignored, as Node does.
fn node_extra_ca_certs() -> Option<&'static [u8]> {
    static EXTRA: OnceLock<Option<Vec<u8>>> = OnceLock::new();
    EXTRA
        .get_or_init(|| {
            std::env::var_os("NODE_EXTRA_CA_CERTS").and_then(|path| std::fs::read(path).ok())
        })
        .as_deref()
}

/// The system's roots as PEM, loaded once.
fn system_roots() -> &'static [u8] {
    static SYSTEM: OnceLock<Vec<u8>> = OnceLock::new();
    SYSTEM.get_or_init(|| {
        let mut pem = Vec::new();
        for cert in rustls_native_certs::load_native_certs().certs {
            pem.extend_from_slice(pem_certificate(cert.as_ref()).as_bytes());
        }
        pem
    })
}

fn pem_certificate(der: &[u8]) -> String {
    let body = base64::engine::general_purpose::STANDARD.encode(der);
    let mut pem = String::from("-----BEGIN CERTIFICATE-----\n");
    for line in body.as_bytes().chunks(64) {
        pem.push_str(std::str::from_utf8(line).unwrap_or_default());
        pem.push('\n');
    }
    pem.push_str("-----END CERTIFICATE-----\n");
    pem
}
