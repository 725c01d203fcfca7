//! What a token may be bound to, so that it is only ever handed to a
//! client that can use it: a client certificate (mutual TLS, RFC 8705,
//! `cnf["x5t#S256"]`). A bound token is useless to a client holding
//! another certificate, so the binding's public thumbprint is part of the
//! cache key, and with it of the store's records and their seal (the cache
//! key is the seal's HKDF info): entries with different bindings never mix.

use crate::client_identity::ClientIdentity;
use crate::key::KeyHasher;
use std::sync::Arc;

#[derive(Debug, Default, Clone)]
pub struct TokenBinding {
    /// The certificate presented in every TLS handshake, token requests
    /// and protected requests alike.
    pub certificate: Option<Arc<ClientIdentity>>,
}

impl TokenBinding {
    /// Adds the binding's public thumbprints to a cache key: one field per
    /// kind of binding, present or absent, so no two bindings hash alike.
    pub fn hash_into(&self, hasher: &mut KeyHasher) {
        hasher.optional_text(self.certificate.as_deref().map(ClientIdentity::thumbprint));
    }
}

#[cfg(test)]
mod tests {
    use crate::options::{RawOptions, TokenRequest};
    use crate::secret::Secret;
    use crate::test_certificates::self_signed;

    fn with_certificate(certificate: Option<&(String, String)>) -> TokenRequest {
        TokenRequest::from_options(RawOptions {
            token_url: Some("https://as.example/token".into()),
            client_id: Some("id".into()),
            client_secret: Some(Secret::new("s".into())),
            cert: certificate.map(|(cert, _)| cert.clone()),
            key: certificate.map(|(_, key)| Secret::new(key.clone())),
            ..RawOptions::default()
        })
        .unwrap()
    }

    #[test]
    fn a_token_bound_to_one_certificate_is_never_another_clients() {
        let (Some(one), Some(other)) = (self_signed("ec"), self_signed("rsa")) else {
            return;
        };
        let unbound = with_certificate(None).key;
        let bound = with_certificate(Some(&one)).key;
        assert_eq!(bound, with_certificate(Some(&one)).key);
        assert_ne!(bound, unbound);
        assert_ne!(bound, with_certificate(Some(&other)).key);
        let request = with_certificate(Some(&one));
        assert!(!format!("{request:?}").contains(one.1.lines().nth(1).unwrap()));
    }
}
