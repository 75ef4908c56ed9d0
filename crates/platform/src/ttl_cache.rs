//! A small map whose entries expire: for facts another service (or a signature check)
//! gives, that rarely change and are asked for on every request, such as a staff unit's
//! path, the volunteer an account acts as, a courtyard's chain, a verified token.
//!
//! A thin wrapper over `moka`'s concurrent cache, which bounds the size by evicting the
//! entries least likely to be asked for again (TinyLFU): a full cache keeps its hot keys and
//! drops some entries, never all of them (a key seen only once may not be let in at all while
//! the hot ones fill it). Each entry expires at its own deadline (the time to live, or an
//! earlier one given with [`TtlCache::put_until`], such as a token's expiry): it is never
//! served past it, and moka reclaims its room at its next upkeep.

use std::hash::Hash;
use std::time::{Duration, Instant};

use moka::Expiry;
use moka::sync::Cache;

/// Entries expire after a fixed time (or at a deadline given per entry).
pub struct TtlCache<K, V> {
    ttl: Duration,
    entries: Cache<K, Entry<V>>,
}

/// A value with the instant it stops being valid.
#[derive(Clone)]
struct Entry<V> {
    value: V,
    expires: Instant,
}

/// Tells moka each entry's own deadline, so that expired entries free their room.
struct UntilDeadline;

impl<K, V> Expiry<K, Entry<V>> for UntilDeadline {
    fn expire_after_create(
        &self,
        _key: &K,
        entry: &Entry<V>,
        created_at: Instant,
    ) -> Option<Duration> {
        Some(entry.expires.saturating_duration_since(created_at))
    }

    fn expire_after_update(
        &self,
        _key: &K,
        entry: &Entry<V>,
        updated_at: Instant,
        _duration_until_expiry: Option<Duration>,
    ) -> Option<Duration> {
        // A new value brings its own deadline (moka's default would keep the old one).
        Some(entry.expires.saturating_duration_since(updated_at))
    }
}

impl<K, V> TtlCache<K, V>
where
    K: Eq + Hash + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    /// Entries live for `ttl`; at most `capacity` are kept.
    pub fn new(ttl: Duration, capacity: usize) -> Self {
        Self {
            ttl,
            entries: Cache::builder()
                .max_capacity(u64::try_from(capacity).unwrap_or(u64::MAX))
                .expire_after(UntilDeadline)
                .build(),
        }
    }

    /// The value for `key` if it has not expired.
    pub fn get<Q>(&self, key: &Q) -> Option<V>
    where
        K: std::borrow::Borrow<Q>,
        Q: Eq + Hash + ?Sized,
    {
        // moka drops expired entries on its own schedule; the deadline is checked here too so
        // that an entry is never served a moment past it.
        self.entries
            .get(key)
            .filter(|entry| Instant::now() < entry.expires)
            .map(|entry| entry.value)
    }

    /// Keeps `value` for the cache's time to live.
    pub fn put(&self, key: K, value: V) {
        self.put_until(key, value, Instant::now() + self.ttl);
    }

    /// Keeps `value` until `expires` (or the time to live, whichever comes first).
    pub fn put_until(&self, key: K, value: V, expires: Instant) {
        let now = Instant::now();
        if expires <= now {
            // Already past: it would never be served, so it takes no room (and replaces
            // what was kept for the key, as any new value does).
            self.entries.invalidate(&key);
            return;
        }
        let expires = expires.min(now + self.ttl);
        self.entries.insert(key, Entry { value, expires });
    }

    /// Forgets everything (this process just changed what the entries describe).
    pub fn clear(&self) {
        self.entries.invalidate_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_expire_and_are_forgotten() {
        let cache: TtlCache<String, u32> = TtlCache::new(Duration::from_secs(60), 2);
        cache.put("a".into(), 1);
        assert_eq!(cache.get("a"), Some(1));
        cache.put_until("b".into(), 2, Instant::now());
        assert_eq!(cache.get("b"), None, "expired at once");
        // An entry already expired takes no room: the next one fits beside the live one.
        cache.entries.run_pending_tasks();
        assert_eq!(cache.entries.entry_count(), 1);
        cache.put("c".into(), 3);
        cache.entries.run_pending_tasks();
        assert_eq!((cache.get("a"), cache.get("c")), (Some(1), Some(3)));
        cache.clear();
        assert_eq!((cache.get("a"), cache.get("c")), (None, None));
    }

    #[test]
    fn the_time_to_live_caps_a_later_deadline() {
        let cache: TtlCache<&str, u32> = TtlCache::new(Duration::from_millis(50), 10);
        cache.put_until("a", 1, Instant::now() + Duration::from_secs(3600));
        cache.put("b", 2);
        assert_eq!((cache.get("a"), cache.get("b")), (Some(1), Some(2)));
        std::thread::sleep(Duration::from_millis(80));
        assert_eq!((cache.get("a"), cache.get("b")), (None, None));
    }

    #[test]
    fn a_new_value_brings_its_own_deadline() {
        let cache: TtlCache<&str, u32> = TtlCache::new(Duration::from_secs(60), 10);
        cache.put_until("a", 1, Instant::now());
        cache.put("a", 2);
        cache.entries.run_pending_tasks();
        assert_eq!(cache.get("a"), Some(2));
        cache.put_until("a", 3, Instant::now());
        assert_eq!(
            cache.get("a"),
            None,
            "the earlier deadline of the new value holds"
        );
    }

    #[test]
    fn a_full_cache_evicts_some_entries_not_all() {
        let capacity = 100;
        let cache: TtlCache<u32, u32> = TtlCache::new(Duration::from_secs(60), capacity);
        for key in 0..100 {
            cache.put(key, key);
        }
        // The first hundred are in use: asked for again and again.
        for _ in 0..3 {
            for key in 0..100 {
                assert_eq!(cache.get(&key), Some(key));
            }
        }
        // A burst of keys no one asks for twice.
        for key in 100..400 {
            cache.put(key, key);
        }
        cache.entries.run_pending_tasks();
        let kept: Vec<u32> = (0..400).filter(|k| cache.get(k).is_some()).collect();
        assert!(
            kept.len() <= capacity,
            "{} entries kept over a capacity of {capacity}",
            kept.len()
        );
        let hot = kept.iter().filter(|&&k| k < 100).count();
        assert!(hot >= 90, "the keys in use stay: {hot} of 100 kept");
    }
}
