//! Messages for the file store, which has no pub/sub: each entry has a
//! short log, `<name>.ev`, that publishers append one line to and that
//! every process following the entry polls.
//!
//! A log and not a single message, so that two messages close together
//! (an invalidation, then the next token written) are both seen. Lines are
//! `<ms> <nonce> <message>`: the time tells a process whether a line is
//! news to it (older than its interest in the entry: not), and the random
//! nonce tells lines apart. A log past a few KiB is cut to its last lines.

use crate::hex::hex;
use crate::token::now_ms;
use ring::rand::{SecureRandom, SystemRandom};
use std::collections::{HashMap, VecDeque};
use std::io::Write;
use std::path::Path;

/// A log longer than this is cut down to its last `KEPT_LINES` lines.
pub const MAX_LOG_BYTES: u64 = 4096;
const KEPT_LINES: usize = 16;
/// Lines already delivered, remembered per entry: more than a log of
/// `MAX_LOG_BYTES` can hold, so no line is delivered twice.
const REMEMBERED_LINES: usize = 160;

/// Appends one message. A single small `O_APPEND` write, so concurrent
/// publishers never interleave within a line.
pub fn append(dir: &Path, path: &Path, message: &[u8]) -> std::io::Result<()> {
    let mut nonce = [0u8; 8];
    let _ = SystemRandom::new().fill(&mut nonce);
    let mut line = format!("{} {} ", now_ms(), hex(&nonce)).into_bytes();
    line.extend_from_slice(message);
    line.push(b'\n');
    let mut file = super::private_folder::open_append(dir, path)?;
    file.write_all(&line)?;
    if file.metadata()?.len() > MAX_LOG_BYTES {
        cut(dir, path)?;
    }
    Ok(())
}

/// Keeps the last lines only, replacing the log atomically.
fn cut(dir: &Path, path: &Path) -> std::io::Result<()> {
    let content = super::private_folder::read_small(path, MAX_LOG_BYTES * 2)?.unwrap_or_default();
    let lines: Vec<&[u8]> = content
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .collect();
    let kept = lines[lines.len().saturating_sub(KEPT_LINES)..].join(&b'\n');
    let mut kept = kept;
    kept.push(b'\n');
    super::private_folder::write_atomically(dir, path, &kept)
}

/// What one process has already delivered from the logs it follows.
#[derive(Default)]
pub struct Delivered {
    seen: HashMap<String, VecDeque<Vec<u8>>>,
}

impl Delivered {
    /// The messages in `log` that are new to this process and were published
    /// at or after `since_ms`.
    pub fn news<'a>(&mut self, name: &str, since_ms: u64, log: &'a [u8]) -> Vec<&'a [u8]> {
        let seen = self.seen.entry(name.to_string()).or_default();
        let mut news = Vec::new();
        for line in log.split(|&b| b == b'\n') {
            let mut parts = line.splitn(3, |&b| b == b' ');
            let (Some(at), Some(nonce), Some(message)) = (parts.next(), parts.next(), parts.next())
            else {
                continue;
            };
            let id = [at, nonce].join(&b' ');
            if seen.contains(&id) {
                continue;
            }
            let at: u64 = std::str::from_utf8(at)
                .ok()
                .and_then(|t| t.parse().ok())
                .unwrap_or(0);
            if at >= since_ms {
                news.push(message);
            }
            seen.push_back(id);
            if seen.len() > REMEMBERED_LINES {
                seen.pop_front();
            }
        }
        news
    }

    /// Forgets entries no longer followed.
    pub fn retain(&mut self, followed: &[(String, u64)]) {
        self.seen
            .retain(|name, _| followed.iter().any(|(f, _)| f == name));
    }
}
