//! The `district` profile: the reference district at full scale (or divided, for tests),
//! loaded by each service's own loader (`tongxin_<service>::demo::district::load`) as start
//! hooks, the way the demo is: each service writes its own tables in bulk through its own
//! store and cipher, with no outbox events. [`crate::seed::district`] loads it into the
//! configured databases (split mode, the bench harness); `tongxin run --profile district`
//! loads it into the SQLite files of the data dir before it serves.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use tongxin_platform::district::{District, Loaded, Progress, TableProgress};
use tongxin_platform::registry::{Hook, Started};

/// What the district loaders did, per service, in the order they ran.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// `(service, what it wrote, how long it took)`.
    pub services: Vec<(&'static str, Loaded, Duration)>,
}

impl Report {
    /// Whether every service already held data (nothing was added).
    pub fn nothing_added(&self) -> bool {
        self.services.iter().all(|(_, l, _)| l.tables.is_empty())
    }

    /// Rows written to `table` by `service`.
    pub fn rows(&self, service: &str, table: &str) -> u64 {
        self.services
            .iter()
            .filter(|(s, _, _)| *s == service)
            .map(|(_, l, _)| l.rows(table))
            .sum()
    }
}

/// Where the hooks put their reports.
pub type SharedReport = Arc<Mutex<Report>>;

fn record(report: &SharedReport, service: &'static str, loaded: Loaded, took: Duration) {
    if let Ok(mut r) = report.lock() {
        r.services.push((service, loaded, took));
    }
}

/// The district as start hooks: each service loads its part once it is built, before it
/// serves. Each skips (and says so) when its database already holds data.
pub fn hooks(district: District, progress: Arc<dyn Progress>, report: SharedReport) -> Vec<Hook> {
    let (p1, p2, p3, p4) = (
        progress.clone(),
        progress.clone(),
        progress.clone(),
        progress,
    );
    let (r1, r2, r3, r4) = (report.clone(), report.clone(), report.clone(), report);
    vec![
        Hook::after(tongxin_venues::NAME, move |started: Started| async move {
            let started_at = Instant::now();
            let db = started
                .get(tongxin_venues::NAME)
                .context("venues is not running")?
                .db();
            let mut loaded =
                tongxin_venues::demo::district::load(db, &district, p1.as_ref()).await?;
            if !loaded.tables.is_empty() {
                // A year of visits and monthly courtyard activities (the demo's rhythm),
                // its misses closed without events: otherwise the cadence scheduler's first
                // round would announce a miss for every courtyard and period.
                let state: &tongxin_venues::service::Venues = started
                    .state(tongxin_venues::NAME)
                    .context("venues is not running")?;
                let bar = p1.table(tongxin_venues::NAME, "visits (a year's rhythm)", 1);
                let rhythm = tongxin_venues::demo::rhythm::seed_now(state).await?;
                bar.inc(1);
                bar.finish();
                loaded.add("visits", rhythm.visits as u64);
                loaded.add("courtyard activities", rhythm.activities as u64);
                loaded.add("cadence misses", rhythm.misses as u64);
            }
            record(&r1, tongxin_venues::NAME, loaded, started_at.elapsed());
            Ok(())
        }),
        Hook::after(
            tongxin_volunteers::NAME,
            move |started: Started| async move {
                let started_at = Instant::now();
                let service: &tongxin_volunteers::service::Volunteers = started
                    .state(tongxin_volunteers::NAME)
                    .context("volunteers is not running")?;
                let loaded =
                    tongxin_volunteers::demo::district::load(service, &district, p2.as_ref())
                        .await?;
                record(&r2, tongxin_volunteers::NAME, loaded, started_at.elapsed());
                Ok(())
            },
        ),
        Hook::after(tongxin_orders::NAME, move |started: Started| async move {
            let started_at = Instant::now();
            let service: &tongxin_orders::service::Orders = started
                .state(tongxin_orders::NAME)
                .context("orders is not running")?;
            let loaded =
                tongxin_orders::demo::district::load(service, &district, p3.as_ref()).await?;
            record(&r3, tongxin_orders::NAME, loaded, started_at.elapsed());
            Ok(())
        }),
        Hook::after(
            tongxin_legal_aid::NAME,
            move |started: Started| async move {
                let started_at = Instant::now();
                let service: &tongxin_legal_aid::service::LegalAid = started
                    .state(tongxin_legal_aid::NAME)
                    .context("legal aid is not running")?;
                let loaded =
                    tongxin_legal_aid::demo::district::load(service, &district, p4.as_ref())
                        .await?;
                record(&r4, tongxin_legal_aid::NAME, loaded, started_at.elapsed());
                Ok(())
            },
        ),
    ]
}

/// Progress bars on stderr, one per table (hidden when stderr is not a terminal, as
/// indicatif does).
pub struct Bars {
    multi: MultiProgress,
}

impl Bars {
    /// Bars drawn on stderr.
    pub fn stderr() -> Self {
        Self {
            multi: MultiProgress::with_draw_target(ProgressDrawTarget::stderr()),
        }
    }
}

struct Bar(ProgressBar);

impl Progress for Bars {
    fn table(&self, service: &str, table: &str, total: u64) -> Box<dyn TableProgress> {
        let bar = self.multi.add(ProgressBar::new(total));
        let style = ProgressStyle::with_template(
            "{prefix:>32} [{bar:30}] {human_pos:>9}/{human_len:9} {per_sec:>12} {elapsed}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ");
        bar.set_style(style);
        bar.set_prefix(format!("{service}: {table}"));
        Box::new(Bar(bar))
    }

    fn note(&self, message: &str) {
        let _ = self.multi.println(message);
    }
}

impl TableProgress for Bar {
    fn inc(&self, n: u64) {
        self.0.inc(n);
    }
    fn finish(&self) {
        self.0.finish();
    }
}

/// Prints what was loaded and how long each service took (after the bars).
pub fn print_report(report: &Report) {
    if report.nothing_added() {
        println!("the district is already loaded: nothing added");
        return;
    }
    for (service, loaded, took) in &report.services {
        if loaded.tables.is_empty() {
            println!("{service}: already held data, nothing added");
            continue;
        }
        let tables: Vec<String> = loaded
            .tables
            .iter()
            .map(|(t, n)| format!("{t} {n}"))
            .collect();
        println!(
            "{service}: {} ({:.1} s)",
            tables.join(", "),
            took.as_secs_f64()
        );
    }
}
