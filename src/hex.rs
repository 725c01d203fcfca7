//! Lower-case hexadecimal, the one text form of the hashes, fingerprints
//! and random names this crate shows (record names, messages, the key).

/// `len` random bytes from the system source, in hex: lock owners, names of
/// temporary files, ids of shared failures.
pub fn random_hex(len: usize) -> String {
    use ring::rand::{SecureRandom, SystemRandom};
    let mut bytes = vec![0u8; len];
    SystemRandom::new()
        .fill(&mut bytes)
        .expect("m2m-token: the system random source failed");
    hex(&bytes)
}

pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut text = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        text.push(DIGITS[(byte >> 4) as usize] as char);
        text.push(DIGITS[(byte & 0xf) as usize] as char);
    }
    text
}

/// The bytes of exactly `N * 2` hex digits (either case), else None.
pub fn from_hex<const N: usize>(text: &[u8]) -> Option<[u8; N]> {
    if text.len() != N * 2 {
        return None;
    }
    let digit = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
    let mut bytes = [0u8; N];
    for (byte, pair) in bytes.iter_mut().zip(text.chunks(2)) {
        *byte = digit(pair[0])? << 4 | digit(pair[1])?;
    }
    Some(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_refuses_junk() {
        let bytes = [0x00, 0x7f, 0xab, 0xff];
        assert_eq!(hex(&bytes), "007fabff");
        assert_eq!(from_hex::<4>(b"007fabff"), Some(bytes));
        assert_eq!(from_hex::<4>(b"007FABFF"), Some(bytes));
        for junk in [&b"007fab"[..], b"007fabfff", b"007fabfg", b"+07fabff"] {
            assert_eq!(from_hex::<4>(junk), None);
        }
    }
}
