use super::*;
use crate::error::ErrorCode;

/// PEM text of `der` under `tag`.
pub(crate) fn pem_of(tag: &str, der: &[u8]) -> Secret {
    Secret::new(pem::encode(&pem::Pem::new(tag, der.to_vec())))
}

pub(crate) fn p256_pkcs8(seed: u8) -> Secret {
    use p256::pkcs8::EncodePrivateKey;
    let key = p256::SecretKey::from_slice(&[seed; 32]).unwrap();
    pem_of("PRIVATE KEY", key.to_pkcs8_der().unwrap().as_bytes())
}

pub(crate) fn p384_pkcs8(seed: u8) -> Secret {
    use p384::pkcs8::EncodePrivateKey;
    let key = p384::SecretKey::from_slice(&[seed; 48]).unwrap();
    pem_of("PRIVATE KEY", key.to_pkcs8_der().unwrap().as_bytes())
}

/// RFC 8410's fixed PKCS#8 prefix for an Ed25519 seed.
pub(crate) fn ed25519_pkcs8(seed: &[u8; 32]) -> Secret {
    let mut der = vec![
        0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04,
        0x20,
    ];
    der.extend_from_slice(seed);
    pem_of("PRIVATE KEY", &der)
}

fn thumbprint_of(members: &[(&str, &str)]) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(canonical_jwk(members).as_bytes()))
}

#[test]
fn rfc7638_thumbprint_vector() {
    // RFC 7638 §3.1, members given out of order.
    let n = "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw";
    let members = [("n", n), ("kty", "RSA"), ("e", "AQAB")];
    assert_eq!(
        canonical_jwk(&members),
        format!(r#"{{"e":"AQAB","kty":"RSA","n":"{n}"}}"#)
    );
    assert_eq!(
        thumbprint_of(&members),
        "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
    );
}

#[test]
fn rfc8037_ed25519_key_and_thumbprint() {
    // RFC 8037 appendix A.1 and A.3.
    let d = URL_SAFE_NO_PAD
        .decode("nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A")
        .unwrap();
    let key = ProofKey::from_pem(&ed25519_pkcs8(&d.try_into().unwrap())).unwrap();
    assert_eq!(key.algorithm(), "EdDSA");
    assert_eq!(
        key.thumbprint(),
        "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"
    );
}

#[test]
fn each_key_kind_gets_its_algorithm_and_public_jwk() {
    use p256::pkcs8::LineEnding;
    let p256_sec1 = p256::SecretKey::from_slice(&[3; 32])
        .unwrap()
        .to_sec1_pem(LineEnding::LF)
        .unwrap()
        .to_string();
    let p384_sec1 = pem_of(
        "EC PRIVATE KEY",
        &p384::SecretKey::from_slice(&[5; 48])
            .unwrap()
            .to_sec1_der()
            .unwrap(),
    );
    let cases = [
        (p256_pkcs8(3), "ES256", "P-256"),
        (Secret::new(p256_sec1), "ES256", "P-256"),
        (p384_pkcs8(5), "ES384", "P-384"),
        (p384_sec1, "ES384", "P-384"),
        (ed25519_pkcs8(&[9; 32]), "EdDSA", "Ed25519"),
    ];
    for (pem, algorithm, curve) in cases {
        let key = ProofKey::from_pem(&pem).unwrap();
        assert_eq!(key.algorithm(), algorithm);
        let header: serde_json::Value = serde_json::from_slice(
            &URL_SAFE_NO_PAD
                .decode(key.header_prefix().trim_end_matches('.'))
                .unwrap(),
        )
        .unwrap();
        assert_eq!(header["typ"], "dpop+jwt");
        assert_eq!(header["alg"], algorithm);
        assert_eq!(header["jwk"]["crv"], curve);
        let jwk = header["jwk"].as_object().unwrap();
        assert!(
            !jwk.contains_key("d"),
            "the header holds the public key only"
        );
        let members: Vec<(&str, &str)> = jwk
            .iter()
            .map(|(name, value)| (name.as_str(), value.as_str().unwrap()))
            .collect();
        assert_eq!(key.thumbprint(), thumbprint_of(&members));
    }
    // The same key in SEC1 and PKCS#8 is one key.
    assert_eq!(
        ProofKey::from_pem(&p256_pkcs8(3)).unwrap().thumbprint(),
        ProofKey::from_pem(&Secret::new(
            p256::SecretKey::from_slice(&[3; 32])
                .unwrap()
                .to_sec1_pem(p256::pkcs8::LineEnding::LF)
                .unwrap()
                .to_string()
        ))
        .unwrap()
        .thumbprint()
    );
}

#[test]
fn the_derived_key_is_the_same_for_every_holder_of_the_credential() {
    let a = ProofKey::derive(b"client secret A").unwrap();
    let again = ProofKey::derive(b"client secret A").unwrap();
    let b = ProofKey::derive(b"client secret B").unwrap();
    assert_eq!(a.algorithm(), "ES256");
    assert_eq!(a.thumbprint(), again.thumbprint());
    assert_ne!(a.thumbprint(), b.thumbprint());
    // Pinned: processes of one fleet running different versions must
    // derive the same key, so a change here needs a new label.
    assert_eq!(
        a.thumbprint(),
        "d_wxSG3O0WF_3qXUUZ1rwsDgbr4gdJUl1Cxoo5mXk6k"
    );
}

#[test]
fn bad_keys_are_invalid_options_that_never_quote_the_key() {
    let unknown_pkcs8 = pem_of("PRIVATE KEY", &[0x30, 0x03, 0x02, 0x01, 0x00]);
    let cases = [
        Secret::new(String::new()),
        Secret::new("not a key at all".into()),
        Secret::new("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n".into()),
        pem_of("EC PRIVATE KEY", b"secret-bytes-not-der"),
        unknown_pkcs8,
        pem_of("RSA PRIVATE KEY", b"secret-bytes-not-der"),
    ];
    for pem in cases {
        let err = ProofKey::from_pem(&pem).unwrap_err();
        assert_eq!(err.code, ErrorCode::InvalidOptions);
        assert!(err.message.contains("dpop.privateKey"), "{}", err.message);
        assert!(!err.message.contains("BEGIN"));
    }
}

#[test]
fn an_encrypted_key_is_refused_with_a_message_saying_so() {
    let err = ProofKey::from_pem(&pem_of("ENCRYPTED PRIVATE KEY", b"ciphertext")).unwrap_err();
    assert_eq!(err.code, ErrorCode::InvalidOptions);
    assert!(
        err.message.contains("dpop.privateKey is encrypted"),
        "{}",
        err.message
    );
}

#[test]
fn debug_shows_the_public_thumbprint_only() {
    let pem = p256_pkcs8(11);
    let key = ProofKey::from_pem(&pem).unwrap();
    let shown = format!("{key:?} {key:#?}");
    assert!(shown.contains(key.thumbprint()));
    let d = URL_SAFE_NO_PAD.encode([11u8; 32]);
    assert!(!shown.contains(&d));
    assert!(!shown.contains("0b0b0b"));
    assert!(!shown.contains("PRIVATE"));
}

#[test]
fn the_proof_key_names_the_entry_and_never_shows_in_a_request() {
    use crate::options::{RawOptions, TokenRequest};
    let request = |dpop: Option<crate::dpop::KeySource>| {
        TokenRequest::from_options(RawOptions {
            token_url: Some("https://as.example/token".into()),
            client_id: Some("id".into()),
            client_secret: Some(Secret::new("s".into())),
            dpop,
            ..RawOptions::default()
        })
        .unwrap()
    };
    use crate::dpop::KeySource::{Derived, Pem};
    let pem = p256_pkcs8(21);
    let given = request(Some(Pem(pem.clone())));
    let keys = [
        request(None).key,
        request(Some(Derived)).key,
        given.key,
        request(Some(Pem(p256_pkcs8(22)))).key,
    ];
    for (i, a) in keys.iter().enumerate() {
        for b in &keys[i + 1..] {
            assert_ne!(a, b, "each binding is its own entry");
        }
    }
    assert_eq!(request(Some(Derived)).key, keys[1]);
    let shown = format!("{given:?} {:?}", Pem(pem.clone()));
    let body = pem.expose().lines().nth(1).unwrap();
    assert!(!shown.contains(body));
    assert!(shown.contains(given.binding.proof_key.as_deref().unwrap().thumbprint()));
}
