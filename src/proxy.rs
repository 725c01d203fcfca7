//! Which forward proxy, if any, carries a token request: the `proxy`
//! option, else the environment as curl reads it (`HTTPS_PROXY`,
//! `HTTP_PROXY`, `NO_PROXY`, upper or lower case).
//!
//! Proxy URLs may carry a password, so they live in `Secret`s and only
//! their host and port are ever described.

use crate::error::TokenError;
use crate::secret::Secret;
use url::{Host, Url};

/// The `proxy` option: a URL, or `false` to ignore the environment.
#[derive(Debug, Clone)]
pub enum ProxyOption {
    Url(Secret),
    Off,
}

/// The `proxy` option, checked.
#[derive(Debug, Clone)]
pub enum ProxyChoice {
    /// No option: the environment decides, per endpoint.
    Environment,
    /// `proxy: false`: never a proxy.
    Off,
    Url(ProxyUrl),
}

/// A validated proxy URL: `http(s)://[user:password@]host:port`.
#[derive(Clone)]
pub struct ProxyUrl {
    /// The URL without credentials.
    pub address: String,
    /// Percent-decoded user and password, when the URL has them.
    pub credentials: Option<(Secret, Secret)>,
}

impl std::fmt::Debug for ProxyUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProxyUrl")
            .field("address", &self.address)
            .finish_non_exhaustive()
    }
}

impl ProxyChoice {
    pub fn from_option(option: Option<ProxyOption>) -> Result<ProxyChoice, TokenError> {
        Ok(match option {
            None => ProxyChoice::Environment,
            Some(ProxyOption::Off) => ProxyChoice::Off,
            Some(ProxyOption::Url(text)) => ProxyChoice::Url(
                ProxyUrl::parse(text.expose())
                    .ok_or_else(|| TokenError::invalid_options(
                        "proxy must be a URL like http://[user:password@]host:port (http: or https:), or false",
                    ))?,
            ),
        })
    }

    /// The proxy for a request to `endpoint`, if any.
    pub fn for_endpoint(&self, endpoint: &Url) -> Option<ProxyUrl> {
        match self {
            ProxyChoice::Off => None,
            ProxyChoice::Url(proxy) => Some(proxy.clone()),
            ProxyChoice::Environment => from_environment(endpoint),
        }
    }

    /// What names this choice for the cache key (hashed there).
    pub fn key_material(&self) -> String {
        match self {
            ProxyChoice::Environment => "env".into(),
            ProxyChoice::Off => "off".into(),
            ProxyChoice::Url(p) => format!("url {}", p.address),
        }
    }
}

impl ProxyUrl {
    pub fn parse(text: &str) -> Option<ProxyUrl> {
        let url = Url::parse(text.trim()).ok()?;
        if !matches!(url.scheme(), "http" | "https")
            || url.host().is_none()
            || !matches!(url.path(), "" | "/")
            || url.query().is_some()
            || url.fragment().is_some()
        {
            return None;
        }
        let decode = |s: &str| {
            percent_encoding::percent_decode_str(s)
                .decode_utf8()
                .ok()
                .map(|d| Secret::new(d.into_owned()))
        };
        let credentials = if url.username().is_empty() && url.password().is_none() {
            None
        } else {
            Some((
                decode(url.username())?,
                decode(url.password().unwrap_or(""))?,
            ))
        };
        let port = url.port_or_known_default()?;
        let address = format!("{}://{}:{}", url.scheme(), url.host_str()?, port);
        Some(ProxyUrl {
            address,
            credentials,
        })
    }
}

fn env(upper: &str) -> Option<String> {
    // curl prefers the lower-case name; both are common.
    [upper.to_ascii_lowercase(), upper.to_owned()]
        .into_iter()
        .filter_map(|name| std::env::var(name).ok())
        .find(|v| !v.trim().is_empty())
}

fn from_environment(endpoint: &Url) -> Option<ProxyUrl> {
    if crate::endpoint::is_loopback(endpoint) {
        return None;
    }
    let variable = match endpoint.scheme() {
        "https" => "HTTPS_PROXY",
        _ => "HTTP_PROXY",
    };
    let proxy = env(variable)?;
    if let Some(no_proxy) = env("NO_PROXY") {
        if no_proxy_matches(&no_proxy, endpoint) {
            return None;
        }
    }
    // curl accepts a bare host:port; so do we.
    let proxy = if proxy.contains("://") {
        proxy
    } else {
        format!("http://{proxy}")
    };
    ProxyUrl::parse(&proxy)
}

/// `NO_PROXY`: comma-separated; `*` matches all; a domain matches itself
/// and its subdomains (a leading dot is optional); `host:port` matches that
/// port only; IP addresses match exactly.
pub fn no_proxy_matches(list: &str, endpoint: &Url) -> bool {
    let Some(host) = endpoint.host() else {
        return false;
    };
    let host = match host {
        Host::Domain(d) => d.trim_end_matches('.').to_ascii_lowercase(),
        Host::Ipv4(ip) => ip.to_string(),
        Host::Ipv6(ip) => ip.to_string(),
    };
    let port = endpoint.port_or_known_default();
    list.split(',').map(str::trim).any(|pattern| {
        if pattern.is_empty() {
            return false;
        }
        if pattern == "*" {
            return true;
        }
        let (name, pattern_port) = split_port(pattern);
        if pattern_port.is_some() && pattern_port != port {
            return false;
        }
        let name = name
            .trim_start_matches("*.")
            .trim_start_matches('.')
            .trim_end_matches('.')
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_ascii_lowercase();
        !name.is_empty() && (host == name || host.ends_with(&format!(".{name}")))
    })
}

fn split_port(pattern: &str) -> (&str, Option<u16>) {
    if let Some((name, port)) = pattern.rsplit_once(':') {
        // An IPv6 address without brackets has colons but no port.
        if !name.contains(':') || name.ends_with(']') {
            if let Ok(port) = port.parse() {
                return (name, Some(port));
            }
        }
    }
    (pattern, None)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    #[test]
    fn no_proxy_matches_domains_suffixes_ports_and_star() {
        let e = url("https://tenant.auth0.com/oauth/token");
        assert!(no_proxy_matches("*", &e));
        assert!(no_proxy_matches("auth0.com", &e));
        assert!(no_proxy_matches(".auth0.com", &e));
        assert!(no_proxy_matches("tenant.auth0.com:443", &e));
        assert!(!no_proxy_matches("tenant.auth0.com:8443", &e));
        assert!(!no_proxy_matches("0.com", &e));
        assert!(!no_proxy_matches("other.com, example.org", &e));
    }

    #[test]
    fn proxy_urls_keep_credentials_out_of_their_address() {
        let p = ProxyUrl::parse("http://us%40er:p%3Ass@proxy.local:3128").unwrap();
        assert_eq!(p.address, "http://proxy.local:3128");
        let (user, pass) = p.credentials.clone().unwrap();
        assert_eq!((user.expose(), pass.expose()), ("us@er", "p:ss"));
        assert!(!format!("{p:?}").contains("p:ss"));
        assert!(ProxyUrl::parse("socks5://proxy:1080").is_none());
        assert!(ProxyUrl::parse("http://proxy:3128/path").is_none());
    }
}
