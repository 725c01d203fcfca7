//! The one Tokio runtime of the process.
//!
//! It lives in a static and is never dropped: the addon is loaded once per
//! process and shared by every worker thread, so no single thread's exit may
//! tear it down. Its threads hold no handle on any Node event loop, so a
//! request in flight never keeps a script alive.

use std::sync::OnceLock;
use tokio::runtime::{Builder, Handle, Runtime};

pub fn handle() -> &'static Handle {
    static RUNTIME: OnceLock<Runtime> = OnceLock::new();
    RUNTIME
        .get_or_init(|| {
            Builder::new_multi_thread()
                .worker_threads(2)
                .thread_name("m2m-token")
                .enable_all()
                .build()
                .expect("m2m-token: cannot start its Tokio runtime")
        })
        .handle()
}
