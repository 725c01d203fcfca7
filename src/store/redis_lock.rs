//! The fleet lock on Redis: `SET NX PX` with a random owner, renewed and
//! released by Lua compare-and-act scripts, so a process never touches a
//! lock it lost (it expired and another process took it).

use super::backend::{HeldLock, StoreFuture};
use super::redis_commands::Commands;
use crate::hex::random_hex;
use redis::Script;
use std::sync::LazyLock;
use std::time::Duration;

/// Deletes KEYS[1] only if it holds ARGV[1]: lock release, and the
/// invalidation that must not delete a newer record.
pub static DELETE_IF_EQUALS: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end",
    )
});
/// Extends KEYS[1] to ARGV[2] ms only if it holds ARGV[1].
static EXTEND_IF_OWNER: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end",
    )
});

pub fn random_owner() -> String {
    random_hex(16)
}

/// A lock this process took with `SET NX PX`.
pub struct RedisLock {
    pub commands: Commands,
    pub key: String,
    pub owner: String,
}

impl HeldLock for RedisLock {
    fn renew(&self, ttl: Duration) -> StoreFuture<'_, bool> {
        Box::pin(async move {
            let ttl_ms = (ttl.as_millis().max(1) as u64).to_string();
            let extended = self
                .commands
                .script(
                    &EXTEND_IF_OWNER,
                    &self.key,
                    &[self.owner.as_bytes(), ttl_ms.as_bytes()],
                )
                .await?;
            Ok(extended > 0)
        })
    }

    fn release(self: Box<Self>) -> StoreFuture<'static, ()> {
        Box::pin(async move {
            self.commands
                .script(&DELETE_IF_EQUALS, &self.key, &[self.owner.as_bytes()])
                .await
                .map(|_| ())
        })
    }

    fn needs_renewal(&self) -> bool {
        true
    }
}
