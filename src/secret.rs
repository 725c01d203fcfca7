//! A string that is zeroed when dropped and never printed.
//!
//! Client secrets, private keys and access tokens live in this type from the
//! moment they enter Rust, so a stray `{:?}` or a panic message cannot show
//! them and freed memory does not keep them.

use std::fmt;
use zeroize::Zeroizing;

#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Zeroizing<String>);

impl Secret {
    pub fn new(value: String) -> Self {
        Secret(Zeroizing::new(value))
    }

    /// The plain text, for the few places that must send or hand it out.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_value() {
        let secret = Secret::new("hunter2-very-secret".into());
        let shown = format!("{secret:?} {:#?}", Some(&secret));
        assert!(!shown.contains("hunter2"));
        assert_eq!(secret.expose(), "hunter2-very-secret");
    }
}
