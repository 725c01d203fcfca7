use super::*;
use crate::quota::{Bucket, Buckets, Quota};
use crate::secret::Secret;

const TOKEN_TEXT: &str = "eyJ.secret-access-token.sig";

fn token() -> Token {
    Token::new(
        Secret::new(TOKEN_TEXT.into()),
        "Bearer".into(),
        Some("read:users".into()),
        1_700_000_000_000,
        86_400_000,
    )
    .with_quota(Some(Quota {
        client: Some(Buckets {
            per_hour: Some(Bucket {
                quota: 10,
                remaining: 7,
                reset_after: 3540,
            }),
            per_day: None,
        }),
        organization: None,
    }))
}

fn seal_for(secret: &str, key_byte: u8) -> EntrySeal {
    EntrySeal::derive(secret.as_bytes(), &[key_byte; 32])
}

#[test]
fn a_sealed_record_opens_to_the_same_token() {
    let seal = seal_for("client-secret", 1);
    let sealed = seal.seal(&token());
    let opened = seal.open(&sealed).unwrap();
    let original = token();
    assert_eq!(opened.access_token.expose(), TOKEN_TEXT);
    assert_eq!(opened.token_type, original.token_type);
    assert_eq!(opened.scope, original.scope);
    assert_eq!(opened.obtained_at_ms, original.obtained_at_ms);
    assert_eq!(opened.expires_at_ms, original.expires_at_ms);
    assert_eq!(opened.quota, original.quota);
    // a fresh nonce per write: the same token never seals the same way twice
    assert_ne!(sealed, seal.seal(&token()));
}

#[test]
fn the_sealed_record_shows_nothing_in_plaintext() {
    let sealed = seal_for("client-secret", 1).seal(&token());
    let text = String::from_utf8_lossy(&sealed);
    for needle in [
        TOKEN_TEXT,
        "Bearer",
        "read:users",
        "access_token",
        "client-secret",
    ] {
        assert!(!text.contains(needle), "{needle}");
    }
}

#[test]
fn any_tampering_is_refused() {
    let seal = seal_for("client-secret", 1);
    let sealed = seal.seal(&token());
    for i in 0..sealed.len() {
        let mut bad = sealed.clone();
        bad[i] ^= 0x01;
        assert_eq!(seal.open(&bad).unwrap_err(), BadRecord, "byte {i}");
    }
    for len in 0..sealed.len() {
        assert!(seal.open(&sealed[..len]).is_err(), "truncated to {len}");
    }
    assert!(seal.open(b"").is_err());
    assert!(seal.open(b"{\"access_token\":\"forged\"}").is_err());
}

#[test]
fn another_credential_cannot_open_or_name_the_record() {
    let right = seal_for("right-secret", 1);
    let wrong = seal_for("wrong-secret", 1);
    assert!(wrong.open(&right.seal(&token())).is_err());
    assert_ne!(right.name(), wrong.name());
}

#[test]
fn a_record_moved_to_another_entry_does_not_open() {
    let a = seal_for("secret", 1);
    let b = seal_for("secret", 2);
    assert_ne!(a.name(), b.name());
    assert!(b.open(&a.seal(&token())).is_err());
}

#[test]
fn names_are_stable_hex_and_leak_nothing() {
    let a = seal_for("client-secret", 7);
    assert_eq!(a.name(), seal_for("client-secret", 7).name());
    assert_eq!(a.name().len(), 64);
    assert!(a.name().bytes().all(|b| b.is_ascii_hexdigit()));
    assert!(!a.name().contains("client"));
}

#[test]
fn fingerprints_tell_tokens_apart_without_showing_them() {
    let seal = seal_for("secret", 1);
    let fp = seal.fingerprint(TOKEN_TEXT);
    assert_eq!(fp, seal.fingerprint(TOKEN_TEXT));
    assert_ne!(fp, seal.fingerprint("another-token"));
    assert_ne!(fp, seal_for("secret", 2).fingerprint(TOKEN_TEXT));
    assert!(!crate::hex::hex(&fp).contains(TOKEN_TEXT));
}

#[test]
fn debug_shows_no_key() {
    let shown = format!("{:?}", seal_for("client-secret", 1));
    assert!(!shown.contains("client-secret"));
}
