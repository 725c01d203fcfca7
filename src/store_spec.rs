//! The `store` option, parsed: which shared store, if any.
//!
//! A store string may carry a Redis password, so nothing here ever echoes
//! the input: errors describe what is wrong in our own words, and `Debug`
//! shows the password as `[redacted]`.

use crate::error::TokenError;
use crate::secret::Secret;
use percent_encoding::percent_decode_str;
use std::fmt;
use std::path::PathBuf;

const DEFAULT_REDIS_PORT: u16 = 6379;
const DEFAULT_SENTINEL_PORT: u16 = 26379;
/// The folder under the user's cache folder that `'file'` uses.
const CACHE_FOLDER_NAME: &str = "m2m-token";

#[derive(Clone, PartialEq, Eq)]
pub enum StoreSpec {
    Memory,
    File(FileSpec),
    Redis(RedisSpec),
}

#[derive(Clone, PartialEq, Eq)]
pub struct FileSpec {
    pub dir: PathBuf,
    /// `file:<dir>`, what the cache key takes of this store.
    canonical: String,
}

#[derive(Clone, PartialEq, Eq)]
pub struct RedisSpec {
    pub tls: bool,
    pub cluster: bool,
    /// The master name the Sentinels are asked for (`redis+sentinel://`).
    pub sentinel_master: Option<String>,
    /// One node for a single server; the seed nodes of a cluster; the
    /// Sentinels for `redis+sentinel://`.
    pub nodes: Vec<(String, u16)>,
    pub username: Option<String>,
    pub password: Option<Secret>,
    pub db: i64,
    /// A normalised URL, password included: only ever hashed.
    canonical: Secret,
}

impl StoreSpec {
    pub fn parse(text: &str) -> Result<StoreSpec, TokenError> {
        if text == "memory" {
            return Ok(StoreSpec::Memory);
        }
        if text == "file" {
            return Ok(StoreSpec::File(FileSpec::new(
                default_file_dir().map_err(invalid)?,
            )));
        }
        if let Some(dir) = text.strip_prefix("file:") {
            let dir = PathBuf::from(dir);
            if !dir.is_absolute() {
                return Err(invalid(
                    "a 'file:' store needs an absolute folder, e.g. 'file:/var/cache/m2m-token'",
                ));
            }
            return Ok(StoreSpec::File(FileSpec::new(dir)));
        }
        let Some((scheme, rest)) = text.split_once("://") else {
            return Err(invalid(
                "store must be 'memory', 'file', 'file:/abs/dir', 'redis://…', 'rediss://…', 'redis+cluster://…', 'rediss+cluster://…', 'redis+sentinel://…' or 'rediss+sentinel://…'",
            ));
        };
        let (tls, topology) = match scheme {
            "redis" => (false, Topology::Single),
            "rediss" => (true, Topology::Single),
            "redis+cluster" => (false, Topology::Cluster),
            "rediss+cluster" => (true, Topology::Cluster),
            "redis+sentinel" => (false, Topology::Sentinel),
            "rediss+sentinel" => (true, Topology::Sentinel),
            _ => {
                return Err(invalid(
                    "store URL scheme must be redis, rediss, redis+cluster, rediss+cluster, redis+sentinel or rediss+sentinel",
                ))
            }
        };
        RedisSpec::parse(rest, tls, topology)
            .map(StoreSpec::Redis)
            .map_err(invalid)
    }

    /// What the cache key takes of the store (it may hold a password, so it
    /// only ever goes into a hash).
    pub fn key_material(&self) -> &str {
        match self {
            StoreSpec::Memory => "memory",
            StoreSpec::File(file) => &file.canonical,
            StoreSpec::Redis(redis) => redis.canonical.expose(),
        }
    }
}

impl FileSpec {
    fn new(dir: PathBuf) -> FileSpec {
        let canonical = format!("file:{}", dir.display());
        FileSpec { dir, canonical }
    }
}

/// `$XDG_CACHE_HOME/m2m-token`, else `$HOME/.cache/m2m-token`, resolved
/// now so that every process with the same environment names one folder.
fn default_file_dir() -> Result<PathBuf, &'static str> {
    let absolute = |name: &str| {
        std::env::var_os(name)
            .map(PathBuf::from)
            .filter(|p| p.is_absolute())
    };
    if let Some(cache) = absolute("XDG_CACHE_HOME") {
        return Ok(cache.join(CACHE_FOLDER_NAME));
    }
    if let Some(home) = absolute("HOME") {
        return Ok(home.join(".cache").join(CACHE_FOLDER_NAME));
    }
    Err("store 'file' needs HOME or XDG_CACHE_HOME to find its folder; give 'file:/abs/dir' instead")
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Topology {
    Single,
    Cluster,
    Sentinel,
}

impl RedisSpec {
    /// `[user[:password]@]host[:port][,host[:port]…][/db]`, the part after
    /// `://`; for Sentinels, `…host[:port]…/<master name>[/db]`.
    fn parse(rest: &str, tls: bool, topology: Topology) -> Result<RedisSpec, &'static str> {
        let cluster = topology == Topology::Cluster;
        if rest.contains(['?', '#']) || rest.chars().any(char::is_whitespace) {
            return Err("store URL must not have a query, a fragment or whitespace");
        }
        // The password may hold '@' only percent-encoded, but split at the
        // last one anyway so an unencoded one does not end up in a host name.
        let (userinfo, location) = match rest.rsplit_once('@') {
            Some((userinfo, location)) => (Some(userinfo), location),
            None => (None, rest),
        };
        let (username, password) = match userinfo {
            None => (None, None),
            Some(userinfo) => parse_userinfo(userinfo)?,
        };
        let (hosts, path) = match location.split_once('/') {
            Some((hosts, path)) => (hosts, Some(path)),
            None => (location, None),
        };
        let (sentinel_master, db) = match (topology, path) {
            (Topology::Sentinel, path) => {
                let path = path.unwrap_or("");
                let (master, db) = path.split_once('/').unwrap_or((path, ""));
                (Some(parse_master_name(master)?), parse_db(db, false)?)
            }
            (_, Some(db)) => (None, parse_db(db, cluster)?),
            (_, None) => (None, 0),
        };
        let default_port = match topology {
            Topology::Sentinel => DEFAULT_SENTINEL_PORT,
            _ => DEFAULT_REDIS_PORT,
        };
        let nodes = hosts
            .split(',')
            .map(|host| parse_host_port(host, default_port))
            .collect::<Result<Vec<_>, _>>()?;
        if nodes.len() > 1 && topology == Topology::Single {
            return Err(
                "a redis:// store names one server; use redis+cluster:// or redis+sentinel:// for several nodes",
            );
        }
        let scheme = scheme_name(tls, cluster, sentinel_master.is_some());
        let canonical = canonical_url(scheme, &username, &password, &nodes, &sentinel_master, db);
        Ok(RedisSpec {
            tls,
            cluster,
            sentinel_master,
            nodes,
            username,
            password,
            db,
            canonical,
        })
    }
}

fn parse_userinfo(userinfo: &str) -> Result<(Option<String>, Option<Secret>), &'static str> {
    let decode = |part: &str| {
        percent_decode_str(part)
            .decode_utf8()
            .map(|s| s.into_owned())
            .map_err(|_| "store URL user or password is not valid percent-encoded UTF-8")
    };
    let (user, password) = match userinfo.split_once(':') {
        Some((user, password)) => (user, Some(password)),
        None => (userinfo, None),
    };
    let user = Some(decode(user)?).filter(|u| !u.is_empty());
    let password = match password {
        Some(p) => Some(Secret::new(decode(p)?)).filter(|p| !p.expose().is_empty()),
        None => None,
    };
    Ok((user, password))
}

fn parse_db(text: &str, cluster: bool) -> Result<i64, &'static str> {
    if text.is_empty() {
        return Ok(0);
    }
    let db = text
        .parse::<u32>()
        .ok()
        .filter(|_| text.bytes().all(|b| b.is_ascii_digit()))
        .ok_or("store URL database must be a number, e.g. 'redis://host:6379/2'")?;
    if cluster && db != 0 {
        return Err("a Redis Cluster has database 0 only");
    }
    Ok(db as i64)
}

/// Sentinel master names are free text to Redis; ours are kept to what
/// configurations use, so that no name can smuggle anything into a URL.
fn parse_master_name(text: &str) -> Result<String, &'static str> {
    let valid = !text.is_empty()
        && text.len() <= 128
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'));
    if !valid {
        return Err("a redis+sentinel:// store needs the master name after the Sentinels (letters, digits, '.', '-', '_'), e.g. 'redis+sentinel://host:26379/mymaster'");
    }
    Ok(text.to_string())
}

fn parse_host_port(text: &str, default_port: u16) -> Result<(String, u16), &'static str> {
    let (host, port) = if let Some(bracketed) = text.strip_prefix('[') {
        // An IPv6 literal: `[::1]` or `[::1]:6380`.
        let (host, after) = bracketed
            .split_once(']')
            .ok_or("store URL has an unclosed '[' in a host")?;
        let port = match after {
            "" => None,
            p => Some(
                p.strip_prefix(':')
                    .ok_or("store URL has text after an IPv6 host")?,
            ),
        };
        if host.parse::<std::net::Ipv6Addr>().is_err() {
            return Err("store URL has an invalid IPv6 host");
        }
        (host, port)
    } else {
        match text.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (text, None),
        }
    };
    let valid_name = |h: &str| {
        !h.is_empty()
            && h.len() <= 253
            && h.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b':'))
    };
    if !valid_name(host) {
        return Err("store URL needs a host name for each server");
    }
    let port = match port {
        None => default_port,
        Some(p) => p
            .parse::<u16>()
            .ok()
            .filter(|&n| n > 0 && p.bytes().all(|b| b.is_ascii_digit()))
            .ok_or("store URL port must be a number from 1 to 65535")?,
    };
    Ok((host.to_ascii_lowercase(), port))
}

fn canonical_url(
    scheme: &str,
    username: &Option<String>,
    password: &Option<Secret>,
    nodes: &[(String, u16)],
    sentinel_master: &Option<String>,
    db: i64,
) -> Secret {
    // Length-prefixed credentials, so no user/password pair can mimic another.
    let user = username.as_deref().unwrap_or("");
    let pass = password.as_ref().map(Secret::expose).unwrap_or("");
    let hosts: Vec<String> = nodes.iter().map(|(h, p)| format!("{h}:{p}")).collect();
    // A master name holds no '/', so the path cannot be read two ways.
    let master = sentinel_master
        .as_deref()
        .map(|m| format!("{m}/"))
        .unwrap_or_default();
    Secret::new(format!(
        "{scheme}://{}:{user}{}:{pass}@{}/{master}{db}",
        user.len(),
        pass.len(),
        hosts.join(",")
    ))
}

fn scheme_name(tls: bool, cluster: bool, sentinel: bool) -> &'static str {
    match (tls, cluster, sentinel) {
        (false, _, true) => "redis+sentinel",
        (true, _, true) => "rediss+sentinel",
        (false, false, false) => "redis",
        (true, false, false) => "rediss",
        (false, true, false) => "redis+cluster",
        (true, true, false) => "rediss+cluster",
    }
}

/// Messages are fixed texts, so none can quote the input (or its password).
fn invalid(message: &'static str) -> TokenError {
    TokenError::invalid_options(message)
}

impl fmt::Debug for StoreSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreSpec::Memory => f.write_str("memory"),
            StoreSpec::File(file) => write!(f, "file:{}", file.dir.display()),
            StoreSpec::Redis(redis) => redis.fmt(f),
        }
    }
}

impl fmt::Debug for RedisSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sentinel = self.sentinel_master.is_some();
        write!(f, "{}://", scheme_name(self.tls, self.cluster, sentinel))?;
        match (&self.username, &self.password) {
            (Some(user), Some(_)) => write!(f, "{user}:[redacted]@")?,
            (None, Some(_)) => f.write_str(":[redacted]@")?,
            (Some(user), None) => write!(f, "{user}@")?,
            (None, None) => {}
        }
        let hosts: Vec<String> = self.nodes.iter().map(|(h, p)| format!("{h}:{p}")).collect();
        write!(f, "{}/", hosts.join(","))?;
        if let Some(master) = &self.sentinel_master {
            write!(f, "{master}/")?;
        }
        write!(f, "{}", self.db)
    }
}

#[cfg(test)]
#[path = "store_spec_tests.rs"]
mod tests;
