//! The message subscription of a Redis store: one `PSUBSCRIBE m2m:*`
//! connection per store URL receives every entry's messages (classic
//! pub/sub reaches every node of a cluster), reconnecting to the next node,
//! or following the master the Sentinels name, until the store is dropped.

use super::events::EventHub;
use super::redis_keys::{name_of_channel, MESSAGE_PATTERN};
use super::redis_sentinel::{Master, SentinelMaster};
use super::redis_timeouts::CONNECT_TIMEOUT;
use futures_util::StreamExt;
use redis::Client;
use std::sync::{Arc, Weak};
use std::time::Duration;

const SUBSCRIBE_RETRY_MIN: Duration = Duration::from_millis(250);
const SUBSCRIBE_RETRY_MAX: Duration = Duration::from_secs(2);
/// How often an idle subscriber checks that its store is still in use.
const SUBSCRIBER_IDLE_CHECK: Duration = Duration::from_secs(5);

/// Where the message subscription connects.
#[derive(Clone)]
pub enum Subscribers {
    /// One client per node, tried in turn.
    Nodes(Vec<Client>),
    /// Whichever master the Sentinels name.
    Sentinel(Arc<SentinelMaster>),
}

impl Subscribers {
    /// The node to subscribe on at this `attempt`, and for a Sentinel
    /// master, the master itself (to see it move or forget it).
    async fn node(&self, attempt: usize) -> Option<(Client, Option<Arc<Master>>)> {
        match self {
            Subscribers::Nodes(nodes) => Some((nodes[attempt % nodes.len()].clone(), None)),
            Subscribers::Sentinel(master) => {
                let found = master.master().await.ok()?;
                Some((found.client.clone(), Some(found)))
            }
        }
    }

    /// Resolves when the subscription should move (the Sentinels named
    /// another master); never for fixed nodes.
    async fn moved(&self, from: Option<&Master>) {
        match (self, from) {
            (Subscribers::Sentinel(master), Some(from)) => master.moved_from(&from.address).await,
            _ => std::future::pending().await,
        }
    }

    /// The subscription failed on `node`: for a Sentinel master, look it
    /// up again next time.
    fn failed(&self, node: Option<&Master>) {
        if let (Subscribers::Sentinel(master), Some(node)) = (self, node) {
            master.forget(node);
        }
    }
}

/// Receives every entry's messages on one subscription, reconnecting (to
/// the next node, for a cluster; to the current master, behind Sentinels)
/// when it drops, until the store is dropped.
pub async fn follow_messages(subscribers: Subscribers, hub: Weak<EventHub>) {
    let mut retry = SUBSCRIBE_RETRY_MIN;
    // Behind Sentinels: the master last subscribed on, or tried.
    let mut last: Option<Arc<Master>> = None;
    for attempt in 0usize.. {
        if hub.strong_count() == 0 {
            return;
        }
        if let Some((node, master)) = subscribers.node(attempt).await {
            if master.is_some() {
                last = master;
            }
            let subscribed = tokio::time::timeout(CONNECT_TIMEOUT * 2, async {
                let mut pubsub = node.get_async_pubsub().await?;
                pubsub.psubscribe(MESSAGE_PATTERN).await?;
                Ok::<_, redis::RedisError>(pubsub)
            })
            .await;
            if let Ok(Ok(pubsub)) = subscribed {
                retry = SUBSCRIBE_RETRY_MIN;
                if !relay(pubsub, &subscribers, last.as_deref(), &hub).await {
                    return;
                }
            }
            // Failed, gone (a dead master) or moved: only a master still
            // current is forgotten, so the next try asks the Sentinels again.
            subscribers.failed(last.as_deref());
        }
        // Sooner if the commands' lookup names a new master meanwhile.
        tokio::select! {
            _ = tokio::time::sleep(retry) => {}
            _ = subscribers.moved(last.as_deref()) => {}
        }
        retry = (retry * 2).min(SUBSCRIBE_RETRY_MAX);
    }
}

/// Hands the subscription's messages to `hub` until it drops or the
/// Sentinels name another master; false once the store is gone.
async fn relay(
    pubsub: redis::aio::PubSub,
    subscribers: &Subscribers,
    master: Option<&Master>,
    hub: &Weak<EventHub>,
) -> bool {
    // Keep the sink: dropping it may end the connection.
    let (_sink, mut stream) = pubsub.split();
    if let Some(hub) = hub.upgrade() {
        hub.set_live(true);
    }
    loop {
        let message = tokio::select! {
            message = stream.next() => message,
            _ = subscribers.moved(master) => None,
            _ = tokio::time::sleep(SUBSCRIBER_IDLE_CHECK) => {
                if hub.strong_count() == 0 { return false; }
                continue;
            }
        };
        let Some(message) = message else {
            break;
        };
        let Some(hub) = hub.upgrade() else {
            return false;
        };
        if let Some(name) = name_of_channel(message.get_channel_name()) {
            hub.deliver(name, message.get_payload_bytes());
        }
    }
    if let Some(hub) = hub.upgrade() {
        hub.set_live(false);
    }
    true
}
