//! What the process trusts for TLS, in one place: the built-in roots,
//! `NODE_EXTRA_CA_CERTS` (read once, as Node does, an unreadable file
//! ignored), and a request's `ca` option. The token endpoint's HTTP client
//! and a `rediss://` store connection trust the same.

use crate::error::TokenError;
use std::sync::OnceLock;

/// Checks that `ca` holds PEM certificates, without building a client.
pub fn validate_ca(pem: &str) -> Result<(), TokenError> {
    parse_ca(pem).map(|_| ())
}

/// The certificates of a `ca` option.
pub fn parse_ca(pem: &str) -> Result<Vec<reqwest::Certificate>, TokenError> {
    let certs = reqwest::Certificate::from_pem_bundle(pem.as_bytes())
        .map_err(|_| TokenError::invalid_options("ca is not a valid PEM certificate bundle"))?;
    if certs.is_empty() {
        return Err(TokenError::invalid_options("ca holds no PEM certificate"));
    }
    Ok(certs)
}

/// The contents of `NODE_EXTRA_CA_CERTS`, read on first use.
fn node_extra_ca_pem() -> Option<&'static [u8]> {
    static EXTRA: OnceLock<Option<Vec<u8>>> = OnceLock::new();
    EXTRA
        .get_or_init(|| {
            std::env::var_os("NODE_EXTRA_CA_CERTS").and_then(|path| std::fs::read(path).ok())
        })
        .as_deref()
}

/// `NODE_EXTRA_CA_CERTS` as certificates for reqwest (none if unparsable).
pub fn node_extra_ca_certs() -> Vec<reqwest::Certificate> {
    node_extra_ca_pem()
        .and_then(|pem| reqwest::Certificate::from_pem_bundle(pem).ok())
        .unwrap_or_default()
}

/// For a Redis TLS connection: the PEM bundle to trust instead of the
/// driver's built-in Mozilla roots, if there is anything beyond them. The
/// driver takes one bundle that replaces its defaults, so it is `ca`, then
/// `NODE_EXTRA_CA_CERTS`, then the system's roots.
pub fn roots_bundle(ca: Option<&str>) -> Option<Vec<u8>> {
    let extra = node_extra_ca_pem();
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

/// The system's roots as PEM, loaded once.
fn system_roots() -> &'static [u8] {
    static SYSTEM: OnceLock<Vec<u8>> = OnceLock::new();
    SYSTEM.get_or_init(|| {
        let blocks: Vec<pem::Pem> = rustls_native_certs::load_native_certs()
            .certs
            .iter()
            .map(|cert| pem::Pem::new("CERTIFICATE", cert.as_ref()))
            .collect();
        let config = pem::EncodeConfig::new().set_line_ending(pem::LineEnding::LF);
        pem::encode_many_config(&blocks, config).into_bytes()
    })
}

/// When a TLS alert the server sent says it refused this client's
/// certificate (none sent, or one it does not accept), the alert's name.
/// Looks through the whole error chain, and into `io::Error`s, whose
/// `source` skips the error they wrap.
pub fn refused_client_certificate(
    error: &(dyn std::error::Error + 'static),
) -> Option<&'static str> {
    use rustls::AlertDescription as Alert;
    let mut source = Some(error);
    while let Some(e) = source {
        let inner = e
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
            .map(|inner| inner as &(dyn std::error::Error + 'static));
        for candidate in [Some(e), inner].into_iter().flatten() {
            if let Some(rustls::Error::AlertReceived(alert)) = candidate.downcast_ref() {
                let name = match alert {
                    Alert::CertificateRequired => "certificate_required",
                    Alert::BadCertificate => "bad_certificate",
                    Alert::UnsupportedCertificate => "unsupported_certificate",
                    Alert::CertificateRevoked => "certificate_revoked",
                    Alert::CertificateExpired => "certificate_expired",
                    Alert::CertificateUnknown => "certificate_unknown",
                    Alert::UnknownCA => "unknown_ca",
                    Alert::AccessDenied => "access_denied",
                    _ => continue,
                };
                return Some(name);
            }
        }
        source = e.source();
    }
    None
}
