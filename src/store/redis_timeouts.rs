//! How long a Redis store waits to connect and for an answer: short, as
//! a store is never a dependency (see `handle.rs` for the call's budget).

use std::time::Duration;

pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);
pub const RESPONSE_TIMEOUT: Duration = Duration::from_secs(1);
