use super::*;
use crate::dpop::key::tests::{ed25519_pkcs8, p256_pkcs8, p384_pkcs8};
use jsonwebtoken::{Algorithm, DecodingKey};
use serde_json::Value;
use std::collections::HashSet;

fn decode(part: &str) -> Value {
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
}

/// Verifies `proof` against the key in its own header with an independent
/// implementation (jsonwebtoken's RustCrypto backend), and returns its
/// header and claims.
fn verified(proof: &str) -> (Value, Value) {
    let parts: Vec<&str> = proof.split('.').collect();
    assert_eq!(parts.len(), 3);
    let header = decode(parts[0]);
    let jwk = &header["jwk"];
    let (key, algorithm) = match header["alg"].as_str().unwrap() {
        "ES256" | "ES384" => (
            DecodingKey::from_ec_components(jwk["x"].as_str().unwrap(), jwk["y"].as_str().unwrap())
                .unwrap(),
            if header["alg"] == "ES256" {
                Algorithm::ES256
            } else {
                Algorithm::ES384
            },
        ),
        "EdDSA" => (
            DecodingKey::from_ed_components(jwk["x"].as_str().unwrap()).unwrap(),
            Algorithm::EdDSA,
        ),
        other => panic!("unexpected alg {other}"),
    };
    let message = format!("{}.{}", parts[0], parts[1]);
    assert!(
        jsonwebtoken::crypto::verify(parts[2], message.as_bytes(), &key, algorithm).unwrap(),
        "signature of a {algorithm:?} proof"
    );
    // Tampering with the claims breaks it.
    let tampered = format!("{}.{}", parts[0], URL_SAFE_NO_PAD.encode(b"{}"));
    assert!(!jsonwebtoken::crypto::verify(parts[2], tampered.as_bytes(), &key, algorithm).unwrap());
    (header, decode(parts[1]))
}

#[test]
fn proofs_of_every_key_kind_verify_and_carry_each_claim() {
    let keys = [
        ProofKey::derive(b"a client secret").unwrap(),
        ProofKey::from_pem(&p256_pkcs8(1)).unwrap(),
        ProofKey::from_pem(&p384_pkcs8(2)).unwrap(),
        ProofKey::from_pem(&ed25519_pkcs8(&[3; 32])).unwrap(),
    ];
    for key in &keys {
        let proof = sign(
            key,
            &Request {
                method: "POST",
                htu: "https://as.example/oauth/token",
                access_token: None,
                nonce: None,
                now_secs: 1_700_000_000,
            },
        )
        .unwrap();
        let (header, claims) = verified(&proof);
        assert_eq!(header["typ"], "dpop+jwt");
        assert_eq!(header["alg"], key.algorithm());
        assert_eq!(claims["htm"], "POST");
        assert_eq!(claims["htu"], "https://as.example/oauth/token");
        assert_eq!(claims["iat"], 1_700_000_000u64);
        assert!(claims.get("ath").is_none());
        assert!(claims.get("nonce").is_none());
        let jti = URL_SAFE_NO_PAD
            .decode(claims["jti"].as_str().unwrap())
            .unwrap();
        assert!(jti.len() * 8 >= 128);

        let token = "eyJ.an-access-token";
        let proof = sign(
            key,
            &Request {
                method: "GET",
                htu: "https://api.example/things",
                access_token: Some(token),
                nonce: Some("server-nonce-1"),
                now_secs: 1_700_000_001,
            },
        )
        .unwrap();
        let (_, claims) = verified(&proof);
        assert_eq!(
            claims["ath"],
            URL_SAFE_NO_PAD.encode(Sha256::digest(token.as_bytes()))
        );
        assert_eq!(claims["nonce"], "server-nonce-1");
        assert!(!proof.contains(token));
    }
}

#[test]
fn every_proof_has_its_own_jti() {
    let key = ProofKey::derive(b"s").unwrap();
    let mut seen = HashSet::new();
    for _ in 0..2_000 {
        let proof = for_url(&key, "get", "https://api.example/x?q=1", None, 1).unwrap();
        let claims = decode(proof.split('.').nth(1).unwrap());
        assert!(seen.insert(claims["jti"].as_str().unwrap().to_owned()));
    }
}

#[test]
fn a_proof_for_a_url_names_it_as_rfc9449_says_with_its_origins_nonce() {
    let key = ProofKey::derive(b"s").unwrap();
    NONCES.remember("https://nonce-test.example", "the-nonce");
    let proof = for_url(
        &key,
        "patch",
        "https://user:pw@Nonce-Test.example:443/a?b=c#d",
        Some("tok"),
        7,
    )
    .unwrap();
    let (_, claims) = verified(&proof);
    assert_eq!(claims["htu"], "https://nonce-test.example/a");
    assert_eq!(
        claims["htm"], "patch",
        "fetch leaves non-standard methods alone"
    );
    assert_eq!(claims["nonce"], "the-nonce");
    let proof = for_url(&key, "delete", "https://other.example/", None, 7).unwrap();
    let (_, claims) = verified(&proof);
    assert_eq!(claims["htm"], "DELETE");
    assert!(claims.get("nonce").is_none());
}

#[test]
fn bad_methods_and_urls_are_invalid_options() {
    let key = ProofKey::derive(b"s").unwrap();
    for (method, url) in [
        ("", "https://a/"),
        ("GE T", "https://a/"),
        ("GET\r\n", "https://a/"),
        ("GET", "/relative"),
        ("GET", "ftp://a/"),
        ("GET", ""),
    ] {
        let err = for_url(&key, method, url, Some("tok-secret"), 1).unwrap_err();
        assert_eq!(err.code, crate::error::ErrorCode::InvalidOptions);
        assert!(!err.message.contains("tok-secret"));
    }
}
