//! What the store's tests share: the scripted token endpoint
//! (`scripted_fetcher.rs`, re-exported), requests naming a store, private temporary folders, and real
//! `redis-server` processes on free loopback ports.

use super::{RemoteInvalidation, StoreFetcher};
pub use crate::error::ErrorCode;
use crate::fetcher::{FetchContext, FetchReason};
use crate::key::CacheKey;
use crate::options::{RawOptions, TokenRequest};
pub use crate::scripted_fetcher::{ScriptedFetcher, Step};
use crate::secret::Secret;
use crate::token::{now_ms, Token};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::AtomicU32;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub fn token(text: &str, lifetime_ms: u64) -> Token {
    Token::new(
        Secret::new(text.into()),
        "Bearer".into(),
        None,
        now_ms(),
        lifetime_ms,
    )
}

pub fn request(store: &str, secret: &str) -> Arc<TokenRequest> {
    Arc::new(
        TokenRequest::from_options(RawOptions {
            token_url: Some("http://127.0.0.1:9/oauth/token".into()),
            client_id: Some("store-test-client".into()),
            client_secret: Some(Secret::new(secret.into())),
            audience: Some("urn:store-test".into()),
            timeout_ms: Some(500.0),
            retries: Some(0.0),
            store: Some(store.into()),
            ..RawOptions::default()
        })
        .unwrap(),
    )
}

pub fn context(reason: FetchReason, current: Option<Arc<Token>>) -> FetchContext {
    FetchContext {
        reason,
        current,
        attempts: Arc::new(AtomicU32::new(0)),
        window: None,
    }
}

/// Remote invalidations this fetcher was told about: (cache key, whether
/// the probe token was the invalidated one).
pub type Heard = Arc<Mutex<Vec<(CacheKey, bool)>>>;

/// A fetcher as a process would have one; `probe` is the token its memory
/// is pretended to hold when another process invalidates.
pub fn fetcher(endpoint: &Arc<ScriptedFetcher>, probe: &str) -> (Arc<StoreFetcher>, Heard) {
    let heard: Heard = Arc::default();
    let (sink, probe) = (heard.clone(), token(probe, 1));
    let on_remote: RemoteInvalidation = Arc::new(move |key, is_stale| {
        sink.lock().unwrap().push((*key, is_stale(&probe)));
    });
    (
        Arc::new(StoreFetcher::new(endpoint.clone(), on_remote)),
        heard,
    )
}

/// A private folder under the system's temporary folder, removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(label: &str) -> TempDir {
        let mut bytes = [0u8; 8];
        ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut bytes).unwrap();
        let path =
            std::env::temp_dir().join(format!("m2m-store-{label}-{}", crate::hex::hex(&bytes)));
        TempDir(path)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }

    pub fn store(&self) -> String {
        format!("file:{}", self.0.display())
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A `redis-server` on a free loopback port, killed on drop; `None` (see
/// [`skip`]) where none is installed.
pub struct RedisServer {
    child: Child,
    pub port: u16,
}

impl RedisServer {
    pub fn start() -> Option<RedisServer> {
        let port = free_port()?;
        RedisServer::start_on(port)
    }

    /// On a given port: to restart a server where its clients expect it.
    pub fn start_on(port: u16) -> Option<RedisServer> {
        let spawned = redis_server(&["--port", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn();
        let Ok(child) = spawned else {
            return skip("redis-server is not installed (a Redis test)");
        };
        let server = RedisServer { child, port };
        wait_until_listening(port);
        Some(server)
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A 3-node Redis Cluster (no replicas) on free loopback ports, killed on
/// drop; `None` (see [`skip`]) where `redis-server` is not installed.
pub struct RedisCluster {
    nodes: Vec<RedisServer>,
    _dir: TempDir,
}

impl RedisCluster {
    pub fn start() -> Option<RedisCluster> {
        let dir = TempDir::new("cluster");
        if std::fs::create_dir_all(dir.path()).is_err() {
            return skip("no temporary folder for a Redis Cluster test");
        }
        let mut nodes = Vec::new();
        for _ in 0..3 {
            let port = free_port()?;
            let config = dir.path().join(format!("nodes-{port}.conf"));
            let spawned = redis_server(&["--port", &port.to_string()])
                .args(["--cluster-enabled", "yes", "--cluster-config-file"])
                .arg(&config)
                .current_dir(dir.path())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn();
            let Ok(child) = spawned else {
                return skip("redis-server is not installed (a Redis Cluster test)");
            };
            nodes.push(RedisServer { child, port });
        }
        for node in &nodes {
            wait_until_listening(node.port);
        }
        let addresses: Vec<String> = nodes
            .iter()
            .map(|n| format!("127.0.0.1:{}", n.port))
            .collect();
        let Ok(created) = Command::new("redis-cli")
            .arg("--cluster")
            .arg("create")
            .args(&addresses)
            .args(["--cluster-replicas", "0", "--cluster-yes"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
        else {
            return skip("redis-cli is not installed (a Redis Cluster test)");
        };
        assert!(created.success(), "redis-cli --cluster create failed");
        let deadline = Instant::now() + Duration::from_secs(10);
        for node in &nodes {
            loop {
                let Ok(info) = Command::new("redis-cli")
                    .args(["-p", &node.port.to_string(), "cluster", "info"])
                    .output()
                else {
                    return skip("redis-cli is not installed (a Redis Cluster test)");
                };
                if String::from_utf8_lossy(&info.stdout).contains("cluster_state:ok") {
                    break;
                }
                assert!(Instant::now() < deadline, "cluster never became ready");
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        Some(RedisCluster { nodes, _dir: dir })
    }

    /// Names two of the three nodes: the rest is discovered.
    pub fn url(&self) -> String {
        format!(
            "redis+cluster://127.0.0.1:{},127.0.0.1:{}",
            self.nodes[0].port, self.nodes[1].port
        )
    }
}

/// A server that accepts connections and never answers: a store that hangs.
pub fn silent_server() -> (std::net::TcpListener, u16) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    (listener, port)
}

/// A `redis-server` speaking TLS only, with a certificate for `localhost`
/// from a test CA made with `openssl`; returns the server, its folder and
/// the CA's PEM file. `None` (see [`skip`]) without redis-server or openssl.
pub fn start_tls_redis() -> Option<(RedisServer, TempDir, PathBuf)> {
    let dir = TempDir::new("tls");
    if std::fs::create_dir_all(dir.path()).is_err() {
        return skip("no temporary folder for a Redis TLS test");
    }
    let openssl = |args: &[&str]| {
        Command::new("openssl")
            .args(args)
            .current_dir(dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    if std::fs::write(dir.path().join("ext"), "subjectAltName=DNS:localhost\n").is_err() {
        return skip("no temporary folder for a Redis TLS test");
    }
    let made = openssl(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "ca.key",
        "-out",
        "ca.crt",
        "-days",
        "1",
        "-subj",
        "/CN=m2m-token test CA",
    ]) && openssl(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
        "-subj",
        "/CN=localhost",
    ]) && openssl(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.crt",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "server.crt",
        "-days",
        "1",
        "-extfile",
        "ext",
    ]);
    if !made {
        return skip("openssl is not installed (a Redis TLS test)");
    }
    let port = free_port()?;
    let spawned = redis_server(&["--port", "0", "--tls-port", &port.to_string()])
        .args([
            "--tls-cert-file",
            "server.crt",
            "--tls-key-file",
            "server.key",
            "--tls-ca-cert-file",
            "ca.crt",
            "--tls-auth-clients",
            "no",
        ])
        .current_dir(dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn();
    let Ok(child) = spawned else {
        return skip("redis-server is not installed (a Redis TLS test)");
    };
    let server = RedisServer { child, port };
    wait_until_listening(port);
    let ca = dir.path().join("ca.crt");
    Some((server, dir, ca))
}

/// Blocks until something accepts connections on `port` (at most 5 s).
fn wait_until_listening(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "redis-server did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A port nothing listens on right now.
fn free_port() -> Option<u16> {
    match std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()) {
        Ok(address) => Some(address.port()),
        Err(_) => skip("no free loopback port for a Redis test"),
    }
}

/// Gives up on a test that cannot run here, never silently: says why on
/// the terminal, written to stderr itself because the test harness captures
/// `eprintln!` of a passing test; and where `CI=true`, fails instead, since
/// there every test must run.
fn skip<T>(why: &str) -> Option<T> {
    use std::io::Write;
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "{why}; with CI=true a test that cannot run fails"
    );
    let _ = writeln!(std::io::stderr(), "skipped: {why}");
    None
}

/// `redis-server` on loopback with no persistence, listening as `listen` says.
fn redis_server(listen: &[&str]) -> Command {
    let mut command = Command::new("redis-server");
    command
        .args(listen)
        .args(["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]);
    command
}
