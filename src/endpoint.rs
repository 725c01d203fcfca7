//! Where tokens are requested: an Auth0 `domain` or any `tokenUrl`.
//!
//! Credentials are only ever sent over TLS, except to this machine's own
//! loopback addresses (local development and tests), so the checks here are
//! the first line of defence against a secret leaving in clear text.

use crate::error::TokenError;
use std::net::IpAddr;
use url::{Host, Url};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub token_url: String,
    /// The audience sent when the caller names none (Auth0's Management API v2).
    pub default_audience: Option<String>,
    /// The `aud` of a private_key_jwt client assertion when the caller names none.
    pub default_assertion_audience: String,
}

impl Endpoint {
    /// Auth0's endpoint alias for mutual TLS, `https://mtls.<domain>/oauth/token`
    /// (what the auth0 SDK's `useMTLS` asks); the audiences stay those of
    /// the domain. An IP address has no such alias and is left as it is.
    pub fn with_mtls_alias(self) -> Endpoint {
        let authority = self
            .token_url
            .trim_start_matches("https://")
            .trim_end_matches("/oauth/token");
        let host = Url::parse(&self.token_url)
            .ok()
            .and_then(|url| url.host().map(|h| h.to_owned()));
        match host {
            Some(Host::Domain(_)) => Endpoint {
                token_url: format!("https://mtls.{authority}/oauth/token"),
                ..self
            },
            _ => self,
        }
    }
}

/// An Auth0 tenant: `host[:port]`, optionally written `https://host[:port]/`.
pub fn from_domain(domain: &str) -> Result<Endpoint, TokenError> {
    let invalid = |why: &str| TokenError::invalid_options(format!("domain {why}"));
    if domain.is_empty() {
        return Err(invalid("must not be empty"));
    }
    if domain.chars().any(char::is_whitespace) {
        return Err(invalid("must not contain whitespace"));
    }
    let bare = domain.strip_prefix("https://").unwrap_or(domain);
    let bare = bare.strip_suffix('/').unwrap_or(bare);
    if bare.contains("://") || bare.starts_with("http:") {
        return Err(invalid(
            "must be a host name such as 'contoso.auth0.com' (only an https:// prefix is accepted)",
        ));
    }
    if bare.contains(['/', '?', '#', '@', '\\']) {
        return Err(invalid(
            "must be a host with an optional port, without path, query or user info",
        ));
    }
    let url =
        Url::parse(&format!("https://{bare}/")).map_err(|_| invalid("is not a valid host name"))?;
    let host = match url.host() {
        Some(Host::Domain(d)) if !d.is_empty() => d.to_owned(),
        Some(Host::Ipv4(ip)) => ip.to_string(),
        Some(Host::Ipv6(ip)) => format!("[{ip}]"),
        _ => return Err(invalid("is not a valid host name")),
    };
    let authority = match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host,
    };
    Ok(Endpoint {
        token_url: format!("https://{authority}/oauth/token"),
        default_audience: Some(format!("https://{authority}/api/v2/")),
        default_assertion_audience: format!("https://{authority}/"),
    })
}

/// Any OAuth 2.0 token endpoint.
pub fn from_token_url(token_url: &str) -> Result<Endpoint, TokenError> {
    let invalid = |why: &str| TokenError::invalid_options(format!("tokenUrl {why}"));
    let url = Url::parse(token_url).map_err(|_| invalid("is not an absolute URL"))?;
    match url.scheme() {
        "https" => {}
        "http" if is_loopback(&url) => {}
        "http" => {
            return Err(invalid(
                "must use https: (http: is allowed for loopback hosts only)",
            ))
        }
        _ => return Err(invalid("must use https:")),
    }
    if url.host().is_none() {
        return Err(invalid("must name a host"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(invalid(
            "must not contain user info; pass credentials as options",
        ));
    }
    if url.fragment().is_some() {
        return Err(invalid("must not contain a fragment"));
    }
    Ok(Endpoint {
        token_url: url.to_string(),
        default_audience: None,
        default_assertion_audience: url.to_string(),
    })
}

pub fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mtls_alias_changes_the_token_url_only_and_leaves_addresses_alone() {
        let alias = from_domain("https://contoso.auth0.com/")
            .unwrap()
            .with_mtls_alias();
        assert_eq!(
            alias.token_url,
            "https://mtls.contoso.auth0.com/oauth/token"
        );
        assert_eq!(
            alias.default_audience.as_deref(),
            Some("https://contoso.auth0.com/api/v2/")
        );
        assert_eq!(
            alias.default_assertion_audience,
            "https://contoso.auth0.com/"
        );
        let port = from_domain("login.contoso.com:8443")
            .unwrap()
            .with_mtls_alias();
        assert_eq!(
            port.token_url,
            "https://mtls.login.contoso.com:8443/oauth/token"
        );
        let ip = from_domain("127.0.0.1:8443").unwrap().with_mtls_alias();
        assert_eq!(ip.token_url, "https://127.0.0.1:8443/oauth/token");
    }

    #[test]
    fn a_domain_becomes_the_auth0_endpoint_and_management_audience() {
        for input in [
            "contoso.auth0.com",
            "https://contoso.auth0.com/",
            "https://contoso.auth0.com",
            "Contoso.Auth0.com",
        ] {
            let e = from_domain(input).unwrap();
            assert_eq!(
                e.token_url, "https://contoso.auth0.com/oauth/token",
                "{input}"
            );
            assert_eq!(
                e.default_audience.as_deref(),
                Some("https://contoso.auth0.com/api/v2/")
            );
            assert_eq!(e.default_assertion_audience, "https://contoso.auth0.com/");
        }
        let with_port = from_domain("localhost:8443").unwrap();
        assert_eq!(with_port.token_url, "https://localhost:8443/oauth/token");
    }

    #[test]
    fn domains_with_more_than_a_host_are_refused() {
        for input in [
            "",
            "contoso.auth0.com/oauth",
            "contoso.auth0.com?x=1",
            "user@contoso.auth0.com",
            " contoso.auth0.com",
            "http://contoso.auth0.com",
            "ftp://contoso.auth0.com",
            "https://contoso.auth0.com//",
            "contoso.auth0.com#x",
        ] {
            assert!(from_domain(input).is_err(), "{input:?} was accepted");
        }
    }

    #[test]
    fn plain_http_is_only_for_loopback() {
        for ok in [
            "https://login.example.com/oauth2/token",
            "http://127.0.0.1:8080/token",
            "http://127.5.5.5/token",
            "http://[::1]:9000/token",
            "http://localhost/token",
        ] {
            assert!(from_token_url(ok).is_ok(), "{ok}");
        }
        for bad in [
            "http://example.com/token",
            "http://10.0.0.1/token",
            "ftp://127.0.0.1/token",
            "https://user:pw@example.com/token",
            "not a url",
            "/oauth/token",
        ] {
            assert!(from_token_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_token_url_has_no_default_audience() {
        let e = from_token_url("https://idp.example.com/token").unwrap();
        assert_eq!(e.default_audience, None);
        assert_eq!(
            e.default_assertion_audience,
            "https://idp.example.com/token"
        );
    }
}
