//! A private key as users paste it, in the one PEM form the signer reads.
//!
//! Keys come from files, environment variables and secret managers, with
//! CRLF line endings, a trailing newline or none, or text around the block
//! (`openssl` writes `EC PARAMETERS` before an EC key). Node's
//! `crypto.createPrivateKey` takes all of these, so we do too: the `pem`
//! crate finds the first key block, and it is written out again as a clean
//! PKCS#8 (EC keys, converted from SEC1 by `p256`) or RSA PEM.

use crate::error::TokenError;
use crate::secret::Secret;
use zeroize::Zeroizing;

/// The first private-key block of `key_pem` (whatever text surrounds it):
/// its PEM tag (`PRIVATE KEY`, `EC PRIVATE KEY`, …) and its DER bytes, or
/// `invalid()` when there is none.
pub fn first_block(
    key_pem: &Secret,
    invalid: impl Fn() -> TokenError,
) -> Result<(String, Zeroizing<Vec<u8>>), TokenError> {
    let block = pem::parse_many(key_pem.expose().as_bytes())
        .map_err(|_| invalid())?
        .into_iter()
        .find(|block| block.tag().ends_with("PRIVATE KEY"))
        .ok_or_else(&invalid)?;
    let tag = block.tag().to_owned();
    Ok((tag, Zeroizing::new(block.into_contents())))
}

/// The key's first private-key block, in canonical PEM (LF line endings).
pub fn normalize(key_pem: &Secret) -> Result<Secret, TokenError> {
    let invalid = || TokenError::invalid_options("privateKey is not a private key in PEM form");
    let (tag, der) = first_block(key_pem, invalid)?;
    let canonical = match tag.as_str() {
        "EC PRIVATE KEY" => {
            use p256::pkcs8::{EncodePrivateKey, LineEnding};
            let key = p256::SecretKey::from_sec1_der(&der).map_err(|_| {
                TokenError::invalid_options(
                    "privateKey is not a valid EC P-256 private key in PEM form",
                )
            })?;
            let pkcs8 = key.to_pkcs8_pem(LineEnding::LF).map_err(|_| {
                TokenError::invalid_options("privateKey could not be converted to PKCS#8")
            })?;
            pkcs8.to_string()
        }
        "PRIVATE KEY" | "RSA PRIVATE KEY" => {
            let clean = pem::Pem::new(tag, der.to_vec());
            let config = pem::EncodeConfig::new().set_line_ending(pem::LineEnding::LF);
            let text = pem::encode_config(&clean, config);
            // `clean` holds the key bytes too.
            drop(Zeroizing::new(clean.into_contents()));
            text
        }
        _ => return Err(invalid()),
    };
    Ok(Secret::new(canonical))
}

#[cfg(test)]
mod tests {
    use super::*;
    use p256::pkcs8::LineEnding;

    fn sec1_pem() -> String {
        let key = p256::SecretKey::from_slice(&[7u8; 32]).unwrap();
        key.to_sec1_pem(LineEnding::LF).unwrap().to_string()
    }

    #[test]
    fn an_ec_key_in_any_pasted_form_is_one_pkcs8_key() {
        let sec1 = sec1_pem();
        let expected = normalize(&Secret::new(sec1.clone())).unwrap();
        assert!(expected
            .expose()
            .starts_with("-----BEGIN PRIVATE KEY-----\n"));
        let trimmed = sec1.trim_end().to_string();
        let variants = [
            trimmed.clone(),
            format!("{trimmed}\n"),
            format!("{trimmed}\n\n"),
            sec1.replace('\n', "\r\n"),
            format!("{sec1}some text after the END line\n"),
            format!("-----BEGIN EC PARAMETERS-----\nBggqhkjOPQMBBw==\n-----END EC PARAMETERS-----\n{sec1}"),
        ];
        for variant in variants {
            let normalized = normalize(&Secret::new(variant.clone())).unwrap();
            assert_eq!(normalized.expose(), expected.expose(), "{variant:?}");
        }
    }

    #[test]
    fn anything_but_a_private_key_block_is_refused() {
        for bad in [
            "",
            "not a key",
            "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n",
            "-----BEGIN EC PRIVATE KEY-----\nnot base64!\n-----END EC PRIVATE KEY-----\n",
            "-----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----\n",
        ] {
            let err = normalize(&Secret::new(bad.into())).unwrap_err();
            assert_eq!(err.code, crate::error::ErrorCode::InvalidOptions);
        }
    }
}
