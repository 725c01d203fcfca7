//! What a token is bound to, if anything: a proof key (DPoP, RFC 9449).
//! A bound token is useless to a client without the same key, so the
//! binding's public thumbprint is part of the cache key (and so of a store
//! record's seal): a token bound to one key is never handed to a client
//! with another.

use crate::dpop::ProofKey;
use crate::key::KeyHasher;
use std::sync::Arc;

#[derive(Debug, Default, Clone)]
pub struct TokenBinding {
    pub proof_key: Option<Arc<ProofKey>>,
}

impl TokenBinding {
    /// The binding's public thumbprints, as fields of a cache key.
    pub fn hash_into(&self, hasher: &mut KeyHasher) {
        hasher.optional_text(self.proof_key.as_deref().map(ProofKey::thumbprint));
    }
}
