//! A small map whose entries expire: for facts another service (or a signature check)
//! gives, that rarely change and are asked for on every request, such as a staff unit's
//! path, the volunteer an account acts as, a courtyard's chain, a verified token.
//!
//! Bounded by a plain rule rather than LRU bookkeeping: when full, expired entries go, and
//! if that is not enough, everything goes. The keys in use come straight back, and the
//! sizes here are far below what a burst of new keys would need to cause churn.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::RwLock;
use std::time::{Duration, Instant};

/// Entries expire after a fixed time (or at a deadline given per entry).
pub struct TtlCache<K, V> {
    ttl: Duration,
    capacity: usize,
    entries: RwLock<HashMap<K, (V, Instant)>>,
}

impl<K: Eq + Hash, V: Clone> TtlCache<K, V> {
    /// Entries live for `ttl`; at most `capacity` are kept.
    pub fn new(ttl: Duration, capacity: usize) -> Self {
        Self {
            ttl,
            capacity,
            entries: RwLock::default(),
        }
    }

    /// The value for `key` if it has not expired.
    pub fn get<Q>(&self, key: &Q) -> Option<V>
    where
        K: std::borrow::Borrow<Q>,
        Q: Eq + Hash + ?Sized,
    {
        let entries = self.entries.read().unwrap_or_else(|e| e.into_inner());
        entries
            .get(key)
            .filter(|(_, expires)| Instant::now() < *expires)
            .map(|(value, _)| value.clone())
    }

    /// Keeps `value` for the cache's time to live.
    pub fn put(&self, key: K, value: V) {
        self.put_until(key, value, Instant::now() + self.ttl);
    }

    /// Keeps `value` until `expires` (or the time to live, whichever comes first).
    pub fn put_until(&self, key: K, value: V, expires: Instant) {
        let now = Instant::now();
        let expires = expires.min(now + self.ttl);
        let mut entries = self.entries.write().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= self.capacity && !entries.contains_key(&key) {
            entries.retain(|_, (_, at)| now < *at);
            if entries.len() >= self.capacity {
                entries.clear();
            }
        }
        entries.insert(key, (value, expires));
    }

    /// Forgets everything (this process just changed what the entries describe).
    pub fn clear(&self) {
        self.entries
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_expire_and_capacity_holds() {
        let cache: TtlCache<String, u32> = TtlCache::new(Duration::from_secs(60), 2);
        cache.put("a".into(), 1);
        assert_eq!(cache.get("a"), Some(1));
        cache.put_until("b".into(), 2, Instant::now());
        assert_eq!(cache.get("b"), None, "expired at once");
        // Full: the expired entry makes room, the live one stays.
        cache.put("c".into(), 3);
        assert_eq!((cache.get("a"), cache.get("c")), (Some(1), Some(3)));
        // Full of live entries: everything goes, then the new one is kept.
        cache.put("d".into(), 4);
        assert_eq!((cache.get("a"), cache.get("d")), (None, Some(4)));
        cache.clear();
        assert_eq!(cache.get("d"), None);
    }
}
