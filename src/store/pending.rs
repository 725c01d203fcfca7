//! Store work that runs after its caller returned (an invalidation's
//! compare-and-delete and message), and a way to wait for it: a command
//! line run that invalidates and exits must not exit before the store
//! heard about it.

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio::sync::Notify;

/// `flush_pending` waits at most this long: a dead store must not hold up
/// a process's exit.
const FLUSH_BOUND: Duration = Duration::from_millis(500);

static PENDING: AtomicUsize = AtomicUsize::new(0);
static SETTLED: Notify = Notify::const_new();

/// Runs `work` on the shared runtime, counted as pending until it ends.
pub fn spawn(work: impl Future<Output = ()> + Send + 'static) {
    PENDING.fetch_add(1, Ordering::AcqRel);
    crate::runtime::handle().spawn(async move {
        work.await;
        if PENDING.fetch_sub(1, Ordering::AcqRel) == 1 {
            SETTLED.notify_waiters();
        }
    });
}

/// Waits until this process's pending store work is done, at most 500 ms.
pub async fn flush_pending() {
    let settled = async {
        loop {
            let notified = SETTLED.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if PENDING.load(Ordering::Acquire) == 0 {
                return;
            }
            notified.await;
        }
    };
    let _ = tokio::time::timeout(FLUSH_BOUND, settled).await;
}
