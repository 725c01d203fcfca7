//! Where an entry lives in Redis, named by its opaque record name:
//! `m2m:{<name>}:tok` the sealed record, `m2m:{<name>}:fail` the last
//! failure and its rate-limit window, `m2m:{<name>}:lock` the fleet
//! lock, `m2m:{<name>}:ev` its channel. The braces are a hash tag: in a
//! cluster, an entry's keys share one slot.

/// Matches every entry's channel: one subscription serves them all.
pub const MESSAGE_PATTERN: &str = "m2m:*";

use super::backend::Slot;

pub fn record_key(name: &str, slot: Slot) -> String {
    format!("m2m:{{{name}}}:{}", slot.suffix())
}

pub fn lock_key(name: &str) -> String {
    format!("m2m:{{{name}}}:lock")
}

pub fn channel(name: &str) -> String {
    format!("m2m:{{{name}}}:ev")
}

/// The record name in a channel name, if it is one of ours.
pub fn name_of_channel(channel: &str) -> Option<&str> {
    channel.strip_prefix("m2m:{")?.strip_suffix("}:ev")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_names_share_one_hash_slot_per_entry() {
        assert_eq!(record_key("ab", Slot::Token), "m2m:{ab}:tok");
        assert_eq!(record_key("ab", Slot::Failure), "m2m:{ab}:fail");
        assert_eq!(lock_key("ab"), "m2m:{ab}:lock");
        assert_eq!(name_of_channel(&channel("ab")), Some("ab"));
        assert_eq!(name_of_channel("m2m:ab"), None);
    }
}
