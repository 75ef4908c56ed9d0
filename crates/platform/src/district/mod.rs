//! The shape of the seeded data every service agrees on: the reference district's tree
//! ([`tree`]), the profiles (`demo`, `district`) with their counts, the seed and the
//! deterministic ids and numbers every service's generator draws from, and the progress a
//! loader reports. Services do not depend on each other: what one service's rows name in
//! another's (a unit, a volunteer, an activity) is derived here from the same seed.

pub mod tree;
mod write;

use std::fmt;

use uuid::Uuid;

pub use tree::{DISTRICT, TreeUnit, unit_id};
pub use write::{insert_rows, insert_table, learn_tree};

/// Which data a seed loads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProfileName {
    /// The small demo `tongxin run` shows (placed through the real operations).
    Demo,
    /// The reference district at full scale, written in bulk.
    District,
}

impl ProfileName {
    /// Every profile, for messages.
    pub const ALL: [ProfileName; 2] = [Self::Demo, Self::District];

    /// Its name on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Demo => "demo",
            Self::District => "district",
        }
    }

    /// Parses a profile name; an unknown one names the valid ones.
    pub fn parse(text: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|p| p.as_str() == text)
            .ok_or_else(|| {
                let valid: Vec<&str> = Self::ALL.iter().map(|p| p.as_str()).collect();
                format!(
                    "unknown profile {text:?}: the profiles are {}",
                    valid.join(", ")
                )
            })
    }
}

impl fmt::Display for ProfileName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The `district` profile: which seed, at which scale.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct District {
    /// Every generated choice follows from it: the same seed, the same rows and ids.
    pub seed: u64,
    /// 1 for the reference district; `n` divides every volume by `n` (tests load 1/100).
    /// The org tree stays whole: it is small, and every id in it is shared.
    pub divisor: u32,
    /// Midnight (UTC) of the day the history ends: a year of history before it, open
    /// orders and planned activities around it. The day of loading, so open orders'
    /// deadlines lie ahead (an old anchor would have the scheduler escalate them all at
    /// the first start); tests fix it to compare two loads.
    pub today: chrono::DateTime<chrono::Utc>,
}

/// How many rows of each kind the district has at full scale.
pub mod full {
    /// Venues: one per courtyard, the park, the rest near institutes and stations.
    pub const VENUES: usize = 600;
    /// Activities over the past year.
    pub const ACTIVITIES: usize = 15_000;
    /// Volunteer teams.
    pub const TEAMS: usize = 570;
    /// Registered volunteers.
    pub const VOLUNTEERS: usize = 152_000;
    /// Historical orders.
    pub const ORDERS: usize = 100_000;
    /// Resident points (one per resident).
    pub const RESIDENTS: usize = 670_000;
    /// Legal-aid appointments over the past year at the district's public legal service
    /// stations (23: one per institute, the industrial park's being the demo's, and the
    /// demo's two community ones): about 350 a station, like the seed's station.
    pub const APPOINTMENTS: usize = 8_000;
}

/// The counts of one profile (see [`full`] for what they mean).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    /// Venues (at least one per courtyard whatever the scale).
    pub venues: usize,
    /// Activities.
    pub activities: usize,
    /// Teams.
    pub teams: usize,
    /// Volunteers.
    pub volunteers: usize,
    /// Orders.
    pub orders: usize,
    /// Resident points.
    pub residents: usize,
    /// Legal-aid appointments.
    pub appointments: usize,
}

impl District {
    /// The reference district with `seed`.
    pub fn new(seed: u64) -> Self {
        use chrono::DurationRound as _;
        let now = chrono::Utc::now();
        Self {
            seed,
            divisor: 1,
            today: now.duration_trunc(chrono::Duration::days(1)).unwrap_or(now),
        }
    }

    /// The same district with its history ending on `today` (tests).
    pub fn on(self, today: chrono::DateTime<chrono::Utc>) -> Self {
        Self { today, ..self }
    }

    /// The same district with every volume divided by `divisor` (at least 1).
    pub fn scaled(self, divisor: u32) -> Self {
        Self {
            divisor: divisor.max(1),
            ..self
        }
    }

    /// The counts at this scale; never zero, so a tiny scale still has every kind.
    pub fn counts(&self) -> Counts {
        let d = self.divisor.max(1) as usize;
        let scale = |n: usize| n.div_ceil(d).max(1);
        Counts {
            venues: scale(full::VENUES),
            activities: scale(full::ACTIVITIES),
            teams: scale(full::TEAMS),
            volunteers: scale(full::VOLUNTEERS),
            orders: scale(full::ORDERS),
            residents: scale(full::RESIDENTS),
            appointments: scale(full::APPOINTMENTS),
        }
    }

    /// A generator for one table of one service: each stream is independent of the
    /// others, so a service's rows do not change when another's generator does.
    pub fn mix(&self, stream: &str) -> Mix {
        Mix(self.seed ^ fnv1a(stream.as_bytes()))
    }

    /// The id of the `n`th row of `kind` (`volunteer`, `team`, `activity`, `order`…) for
    /// this seed: UUIDv5, so every service names the same row with the same id.
    pub fn id(&self, kind: &str, n: u64) -> Uuid {
        Uuid::new_v5(
            &ID_NAMESPACE,
            format!("district:{}:{kind}:{n}", self.seed).as_bytes(),
        )
    }

    /// The `n`th volunteer's id (the volunteers service stores it; orders and venues name it).
    pub fn volunteer_id(&self, n: usize) -> Uuid {
        self.id("volunteer", n as u64)
    }

    /// How many volunteers live at each courtyard, at most (see [`Self::volunteer_home`]).
    pub fn volunteers_per_courtyard(&self, courtyards: usize) -> usize {
        self.counts().volunteers.div_ceil(courtyards.max(1))
    }

    /// Index (among the tree's courtyards, in tree order) of the courtyard volunteer `n`
    /// belongs to: round-robin, so every courtyard has volunteers and orders can pick one
    /// of a courtyard's own without asking the volunteers service.
    pub fn volunteer_home(&self, n: usize, courtyards: usize) -> usize {
        n % courtyards.max(1)
    }

    /// The `k`th volunteer of courtyard `c` (see [`Self::volunteer_home`]), if there are
    /// that many.
    pub fn volunteer_at(&self, c: usize, k: usize, courtyards: usize) -> Option<usize> {
        let n = c + k * courtyards.max(1);
        (n < self.counts().volunteers).then_some(n)
    }
}

/// Namespace of the district profile's row ids.
const ID_NAMESPACE: Uuid = Uuid::from_u128(0x3f9a_51d2_7c04_4e8b_b1a6_d40c_2e77_9a15);

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// A splitmix64 sequence: small, fast and the same on every machine (no crate for this).
#[derive(Debug, Clone)]
pub struct Mix(pub u64);

impl Mix {
    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }

    /// An index into a slice of `len` items.
    pub fn pick(&mut self, len: usize) -> usize {
        self.below(len as u64) as usize
    }

    /// A number in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// A number in `[-1, 1)`.
    pub fn signed(&mut self) -> f64 {
        self.unit() * 2.0 - 1.0
    }

    /// A synthetic mainland mobile number, as people write it (`13812345678`).
    pub fn mobile(&mut self) -> String {
        format!(
            "1{}{:08}",
            ["38", "39", "50", "58", "77", "86"][self.pick(6)],
            self.below(100_000_000)
        )
    }

    /// Ten random bytes, for the random part of a UUIDv7.
    pub fn bytes10(&mut self) -> [u8; 10] {
        let a = self.next_u64().to_le_bytes();
        let b = self.next_u64().to_le_bytes();
        [a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], b[0], b[1]]
    }

    /// A UUIDv7 at `at` whose random bits come from this sequence: ordered by time like
    /// the ids the services make, yet the same on every run.
    pub fn uuid_v7(&mut self, at: chrono::DateTime<chrono::Utc>) -> Uuid {
        let millis = u64::try_from(at.timestamp_millis()).unwrap_or(0);
        uuid::Builder::from_unix_timestamp_millis(millis, &self.bytes10()).into_uuid()
    }
}

/// Rows per multi-row INSERT for a table of `columns` columns: about 1,000, fewer for wide
/// tables, so one statement stays under SQLite's 32,766 and PostgreSQL's 65,535 bound values.
pub fn chunk_rows(columns: usize) -> usize {
    (30_000 / columns.max(1)).clamp(1, 1_000)
}

/// Where a loader reports how far it is, one table at a time (the binary draws progress
/// bars on stderr; tests and the bench harness may stay quiet with [`Quiet`]).
pub trait Progress: Send + Sync {
    /// Starts a table of `total` rows.
    fn table(&self, service: &str, table: &str, total: u64) -> Box<dyn TableProgress>;
    /// Says something once (a service that already holds data).
    fn note(&self, message: &str);
}

/// Progress through one table.
pub trait TableProgress: Send + Sync {
    /// `n` more rows written.
    fn inc(&self, n: u64);
    /// The table is done.
    fn finish(&self);
}

/// Progress that reports nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct Quiet;

impl Progress for Quiet {
    fn table(&self, _: &str, _: &str, _: u64) -> Box<dyn TableProgress> {
        Box::new(Quiet)
    }
    fn note(&self, _: &str) {}
}

impl TableProgress for Quiet {
    fn inc(&self, _: u64) {}
    fn finish(&self) {}
}

/// What a service's district loader did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Loaded {
    /// Rows written per table, in the order written; empty when the database already held
    /// the service's data and nothing was added.
    pub tables: Vec<(&'static str, u64)>,
}

impl Loaded {
    /// Nothing was added: the database already held data.
    pub fn already_loaded() -> Self {
        Self::default()
    }

    /// Records `rows` written to `table`.
    pub fn add(&mut self, table: &'static str, rows: u64) {
        self.tables.push((table, rows));
    }

    /// Rows written to `table` (0 when none).
    pub fn rows(&self, table: &str) -> u64 {
        self.tables
            .iter()
            .filter(|(t, _)| *t == table)
            .map(|(_, n)| n)
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profiles_parse_and_an_unknown_one_names_the_valid_ones() {
        assert_eq!(ProfileName::parse("district"), Ok(ProfileName::District));
        let err = ProfileName::parse("nonsense").expect_err("unknown");
        assert!(err.contains("demo, district"), "{err}");
    }

    #[test]
    fn ids_and_streams_follow_the_seed() {
        let (a, b) = (District::new(1), District::new(2));
        assert_eq!(a.volunteer_id(7), District::new(1).volunteer_id(7));
        assert_ne!(a.volunteer_id(7), b.volunteer_id(7));
        assert_ne!(a.volunteer_id(7), a.id("team", 7));
        let (mut x, mut y) = (a.mix("orders"), a.mix("orders"));
        assert_eq!(x.next_u64(), y.next_u64());
        assert_ne!(a.mix("orders").next_u64(), a.mix("venues").next_u64());
    }

    #[test]
    fn a_scaled_profile_keeps_every_kind_and_courtyards_their_volunteers() {
        let small = District::new(1).scaled(100);
        let c = small.counts();
        assert_eq!((c.volunteers, c.orders, c.teams), (1_520, 1_000, 6));
        assert_eq!(c.appointments, 80);
        for courtyard in 0..515 {
            let n = small
                .volunteer_at(courtyard, 0, 515)
                .expect("one volunteer");
            assert_eq!(small.volunteer_home(n, 515), courtyard);
        }
        assert!(chunk_rows(40) * 40 <= 32_766);
    }
}
