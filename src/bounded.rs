//! A map with a bound: past `capacity` entries, the least recently used
//! goes. The process keeps several such tables (HTTP clients, store
//! connections, followed entries, tombstones) whose growth a caller could
//! otherwise drive without limit (guarantee 9).

use std::collections::{BTreeMap, HashMap};

/// Guarantee 9: at most this many cache entries per process, and as many
/// of what the process keeps per entry (rate-limit windows, seals).
pub const MAX_ENTRIES: usize = 10_000;
use std::hash::Hash;

pub struct BoundedMap<K, V> {
    capacity: usize,
    /// Each entry with the tick of its last use.
    entries: HashMap<K, (u64, V)>,
    /// Keys by last use, oldest first.
    by_use: BTreeMap<u64, K>,
    tick: u64,
}

impl<K: Hash + Eq + Clone, V> BoundedMap<K, V> {
    pub fn new(capacity: usize) -> BoundedMap<K, V> {
        BoundedMap {
            capacity: capacity.max(1),
            entries: HashMap::new(),
            by_use: BTreeMap::new(),
            tick: 0,
        }
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The value for `key`, now the most recently used.
    pub fn get(&mut self, key: &K) -> Option<&V> {
        self.touch(key)?;
        self.entries.get(key).map(|(_, v)| v)
    }

    /// The value for `key`, leaving the order of use alone.
    pub fn peek(&self, key: &K) -> Option<&V> {
        self.entries.get(key).map(|(_, v)| v)
    }

    /// Stores `value` under `key` as the most recently used, dropping the
    /// least recently used entry if that makes one too many.
    pub fn insert(&mut self, key: K, value: V) {
        self.tick += 1;
        if let Some((old_tick, _)) = self.entries.insert(key.clone(), (self.tick, value)) {
            self.by_use.remove(&old_tick);
        }
        self.by_use.insert(self.tick, key);
        while self.entries.len() > self.capacity {
            let Some((_, oldest)) = self.by_use.pop_first() else {
                break;
            };
            self.entries.remove(&oldest);
        }
    }

    pub fn remove(&mut self, key: &K) -> Option<V> {
        let (tick, value) = self.entries.remove(key)?;
        self.by_use.remove(&tick);
        Some(value)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&K, &V)> {
        self.entries.iter().map(|(k, (_, v))| (k, v))
    }

    fn touch(&mut self, key: &K) -> Option<()> {
        let (tick, _) = self.entries.get_mut(key)?;
        self.by_use.remove(tick);
        self.tick += 1;
        *tick = self.tick;
        self.by_use.insert(self.tick, key.clone());
        Some(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_least_recently_used_goes_first() {
        let mut map = BoundedMap::new(2);
        map.insert("a", 1);
        map.insert("b", 2);
        assert_eq!(map.get(&"a"), Some(&1)); // "b" is now the oldest
        map.insert("c", 3);
        assert_eq!(map.len(), 2);
        assert_eq!(map.peek(&"b"), None);
        assert_eq!(map.peek(&"a"), Some(&1));
        map.insert("a", 10); // replacing is a use, not a second entry
        map.insert("d", 4);
        assert_eq!(map.peek(&"c"), None);
        assert_eq!(map.peek(&"a"), Some(&10));
        assert_eq!(map.len(), 2);
    }
}
