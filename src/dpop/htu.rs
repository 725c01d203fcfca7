//! The request URL as a proof names it (`htu`, RFC 9449 §4.2): the URL
//! without query and fragment, and, here, without user info either, so a
//! password in a URL never reaches a proof. The `url` crate's parsing
//! gives the RFC 3986 normal form servers compare against: lower-case
//! scheme and host, no default port, an empty path as `/`.

/// A URL's `htu` and its origin (the key of the nonces it sent).
#[derive(Debug, PartialEq, Eq)]
pub struct Target {
    pub htu: String,
    pub origin: String,
}

/// Why a URL cannot be the target of a proof. Never quotes the URL.
#[derive(Debug, PartialEq, Eq)]
pub struct NotHttpUrl;

pub fn target(url: &str) -> Result<Target, NotHttpUrl> {
    let mut parsed = url::Url::parse(url).map_err(|_| NotHttpUrl)?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host().is_none() {
        return Err(NotHttpUrl);
    }
    parsed.set_query(None);
    parsed.set_fragment(None);
    parsed.set_username("").map_err(|_| NotHttpUrl)?;
    parsed.set_password(None).map_err(|_| NotHttpUrl)?;
    Ok(Target {
        origin: parsed.origin().ascii_serialization(),
        htu: parsed.into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_fragment_and_user_info_are_left_out() {
        let t = target("https://user:pw@API.Example.com:443/a/b?x=1&y=2#frag").unwrap();
        assert_eq!(t.htu, "https://api.example.com/a/b");
        assert_eq!(t.origin, "https://api.example.com");
        let t = target("http://127.0.0.1:8080").unwrap();
        assert_eq!(t.htu, "http://127.0.0.1:8080/");
        assert_eq!(t.origin, "http://127.0.0.1:8080");
        let t = target("HTTP://[::1]:80/p%20q?").unwrap();
        assert_eq!(t.htu, "http://[::1]/p%20q");
    }

    #[test]
    fn only_http_urls_are_targets() {
        for bad in [
            "",
            "not a url",
            "/relative",
            "ftp://x/",
            "file:///etc/passwd",
            "data:,x",
        ] {
            assert_eq!(target(bad), Err(NotHttpUrl), "{bad}");
        }
    }
}
