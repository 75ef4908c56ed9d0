//! Staff scopes resolved recently: org-unit id → path, kept for a few seconds.
//!
//! Every staff call resolves the caller's unit into its path (`known_units`), and the
//! dispatchers' `MatchCandidates` calls come many times a second; one database round trip
//! per call was most of that call's time. A path changes only when a unit is moved in the
//! org tree, which is rare and already reaches this service a moment late (through the
//! venues events), so a few seconds more of staleness changes nothing a user could see.
//! Only found paths are kept: a unit learnt a moment ago is seen at once.

use std::collections::HashMap;
use std::sync::RwLock;
use std::time::{Duration, Instant};

use uuid::Uuid;

/// How long a resolved path is trusted.
pub const TTL: Duration = Duration::from_secs(5);

/// Above this many entries the cache is emptied rather than grown (units number hundreds).
const MAX_ENTRIES: usize = 10_000;

/// The cache; cheap to share behind an `Arc`.
#[derive(Default)]
pub struct ScopeCache {
    paths: RwLock<HashMap<Uuid, (String, Instant)>>,
}

impl ScopeCache {
    /// The path of `unit` if it was resolved less than [`TTL`] ago.
    pub fn get(&self, unit: Uuid) -> Option<String> {
        let paths = self.paths.read().unwrap_or_else(|e| e.into_inner());
        paths
            .get(&unit)
            .filter(|(_, at)| at.elapsed() < TTL)
            .map(|(path, _)| path.clone())
    }

    /// Keeps a freshly resolved path.
    pub fn put(&self, unit: Uuid, path: &str) {
        let mut paths = self.paths.write().unwrap_or_else(|e| e.into_inner());
        if paths.len() >= MAX_ENTRIES {
            paths.clear();
        }
        paths.insert(unit, (path.to_owned(), Instant::now()));
    }

    /// Forgets everything (this process just changed a unit's path).
    pub fn clear(&self) {
        self.paths
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_found_paths_until_cleared() {
        let cache = ScopeCache::default();
        let unit = Uuid::new_v4();
        assert_eq!(cache.get(unit), None);
        cache.put(unit, "/rc/a");
        assert_eq!(cache.get(unit).as_deref(), Some("/rc/a"));
        cache.clear();
        assert_eq!(cache.get(unit), None);
    }
}
