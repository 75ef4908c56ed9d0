//! `make bench` for the 15-minute circle. Prints figures and ratios against baselines
//! measured in the same run (this machine is noisy: compare side by side, read medians).
//!
//! 1. `venuesWithin` at 600 venues, in-process: p50/p99 of the grid index against a plain
//!    scan of every venue (target: p99 under 1 ms).
//! 2. Coverage of 670,000 residents against 600 venues: the in-memory computation against
//!    the equivalent PostGIS query (`ST_DWithin` on geography with a GiST index) on the same
//!    data in the same run (target: under 1 s and at least 5× faster).

use std::time::{Duration, Instant};

use sea_orm::sqlx::{self, Row};
use tongxin_platform::geo::{Coordinates, WalkingModel};
use tongxin_testing::bench::{Figure, Goal, Scenario};
use tongxin_venues::domain::circle::{IndexedVenue, VenueIndex};
use tongxin_venues::domain::coverage::{self, ResidentPoint};

const MINUTES: f64 = 15.0;

struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
    fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.next()
    }
}

fn point(lat: f64, lon: f64) -> Coordinates {
    Coordinates::parse(lat.clamp(29.25, 29.65), lon.clamp(105.30, 105.75)).expect("inside the box")
}

/// 600 venues around the demo district's courtyards, and 670,000 residents: four in five
/// near a venue, the rest scattered.
fn synthetic() -> (Vec<Coordinates>, Vec<ResidentPoint>) {
    let mut rng = Lcg(42);
    let mut venues: Vec<Coordinates> = tongxin_venues::demo::tree()
        .into_iter()
        .filter(|u| u.0 == tongxin_venues::domain::org::UnitKind::Courtyard)
        .map(|u| point(u.3, u.4))
        .collect();
    while venues.len() < 600 {
        venues.push(point(rng.range(29.25, 29.65), rng.range(105.30, 105.75)));
    }
    venues.truncate(600);
    let residents = (0..670_000)
        .map(|_| {
            let at = if rng.next() < 0.8 {
                let v = venues[(rng.next() * venues.len() as f64) as usize % venues.len()];
                point(
                    v.lat() + rng.range(-0.015, 0.015),
                    v.lon() + rng.range(-0.015, 0.015),
                )
            } else {
                point(rng.range(29.25, 29.65), rng.range(105.30, 105.75))
            };
            ResidentPoint { at, weight: 1 }
        })
        .collect();
    (venues, residents)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn median(mut runs: Vec<Duration>) -> Duration {
    runs.sort();
    runs[runs.len() / 2]
}

fn micros(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

fn bench_within(venues: &[Coordinates], model: &WalkingModel, record: &mut Scenario) {
    let index = VenueIndex::new(venues.iter().enumerate().map(|(key, &at)| IndexedVenue {
        key,
        at,
        courtyard: true,
    }));
    let mut rng = Lcg(7);
    let queries: Vec<Coordinates> = (0..20_000)
        .map(|_| point(rng.range(29.25, 29.65), rng.range(105.30, 105.75)))
        .collect();
    let (mut indexed, mut scanned) = (
        Vec::with_capacity(queries.len()),
        Vec::with_capacity(queries.len()),
    );
    let mut checksum = 0usize;
    for &q in &queries {
        let start = Instant::now();
        checksum += index.within(q, MINUTES, model).len();
        indexed.push(start.elapsed());
        // Baseline: walk every venue, keep those in reach, sort by time.
        let start = Instant::now();
        let mut found: Vec<(f64, usize)> = venues
            .iter()
            .enumerate()
            .map(|(i, &v)| (model.walking_minutes(q, v), i))
            .filter(|(m, _)| *m <= MINUTES)
            .collect();
        found.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        checksum -= found.len();
        scanned.push(start.elapsed());
    }
    assert_eq!(checksum, 0, "index and scan must agree");
    indexed.sort();
    scanned.sort();
    let (p50, p99) = (percentile(&indexed, 0.5), percentile(&indexed, 0.99));
    let (s50, s99) = (percentile(&scanned, 0.5), percentile(&scanned, 0.99));
    println!(
        "venuesWithin, 600 venues, 15 min, {} queries",
        queries.len()
    );
    println!(
        "  grid index : p50 {:>8.2} µs   p99 {:>8.2} µs   (target p99 < 1000 µs)",
        micros(p50),
        micros(p99)
    );
    println!(
        "  full scan  : p50 {:>8.2} µs   p99 {:>8.2} µs",
        micros(s50),
        micros(s99)
    );
    println!(
        "  ratio      : p99 scan / index = {:.1}×",
        s99.as_secs_f64() / p99.as_secs_f64().max(1e-12)
    );
    record.add(
        Figure::new(
            format!("venuesWithin p99, 600 venues, {} queries", queries.len()),
            micros(p99),
            "µs",
        )
        .p50_p99(micros(p50) / 1e3, micros(p99) / 1e3)
        .baseline("full scan p99", micros(s99))
        .lower_is_better()
        .goal(Goal::Below(1000.0)),
    );
}

async fn postgis(
    venues: &[Coordinates],
    residents: &[ResidentPoint],
    reach_m: f64,
) -> anyhow::Result<(Duration, i64)> {
    let db = tongxin_testing::TestDb::new().await;
    let pool = sqlx::PgPool::connect(db.url()).await?;
    sqlx::query("CREATE EXTENSION IF NOT EXISTS postgis")
        .execute(&pool)
        .await?;
    sqlx::query(
        "CREATE TABLE bench_venues (id int primary key, g geography(Point, 4326) not null)",
    )
    .execute(&pool)
    .await?;
    sqlx::query("CREATE TABLE bench_residents (id int primary key, g geography(Point, 4326) not null, weight int not null)")
        .execute(&pool)
        .await?;
    let (vlat, vlon): (Vec<f64>, Vec<f64>) = venues.iter().map(|v| (v.lat(), v.lon())).unzip();
    sqlx::query(
        "INSERT INTO bench_venues SELECT i::int, ST_SetSRID(ST_MakePoint(lon, lat), 4326)::geography
         FROM unnest($1::float8[], $2::float8[]) WITH ORDINALITY AS t(lat, lon, i)",
    )
    .bind(&vlat)
    .bind(&vlon)
    .execute(&pool)
    .await?;
    for (chunk_no, chunk) in residents.chunks(100_000).enumerate() {
        let (lat, lon): (Vec<f64>, Vec<f64>) =
            chunk.iter().map(|r| (r.at.lat(), r.at.lon())).unzip();
        let weight: Vec<i32> = chunk.iter().map(|r| r.weight as i32).collect();
        sqlx::query(
            "INSERT INTO bench_residents SELECT $4::int + i::int, ST_SetSRID(ST_MakePoint(lon, lat), 4326)::geography, w
             FROM unnest($1::float8[], $2::float8[], $3::int[]) WITH ORDINALITY AS t(lat, lon, w, i)",
        )
        .bind(&lat)
        .bind(&lon)
        .bind(&weight)
        .bind((chunk_no * 100_000) as i32)
        .execute(&pool)
        .await?;
    }
    sqlx::query("CREATE INDEX ON bench_venues USING gist (g)")
        .execute(&pool)
        .await?;
    sqlx::query("ANALYZE bench_venues").execute(&pool).await?;
    sqlx::query("ANALYZE bench_residents")
        .execute(&pool)
        .await?;
    // Sphere distances (use_spheroid = false), as the in-memory model uses.
    let sql = "SELECT coalesce(sum(weight), 0)::bigint AS covered FROM bench_residents r
               WHERE EXISTS (SELECT 1 FROM bench_venues v WHERE ST_DWithin(r.g, v.g, $1, false))";
    let mut runs = Vec::new();
    let mut covered = 0;
    for _ in 0..3 {
        let start = Instant::now();
        let row = sqlx::query(sql).bind(reach_m).fetch_one(&pool).await?;
        runs.push(start.elapsed());
        covered = row.try_get::<i64, _>("covered")?;
    }
    pool.close().await;
    Ok((median(runs), covered))
}

fn main() -> anyhow::Result<()> {
    let model = WalkingModel::default();
    let (venues, residents) = synthetic();
    let mut record = Scenario::new("venues/15-minute circle");
    bench_within(&venues, &model, &mut record);

    let index = VenueIndex::new(venues.iter().enumerate().map(|(key, &at)| IndexedVenue {
        key,
        at,
        courtyard: true,
    }));
    let mut runs = Vec::new();
    let mut covered = 0;
    for _ in 0..5 {
        let start = Instant::now();
        let report = coverage::coverage(&residents, &index, MINUTES, &model);
        runs.push(start.elapsed());
        covered = report.covered_weight();
    }
    let ours = median(runs);
    println!();
    println!(
        "coverage, 670,000 residents × 600 venues, 15 min (reach {:.1} m)",
        model.reach_m(MINUTES)
    );
    println!(
        "  in memory  : median {:>8.1} ms   covered {covered}   (target < 1000 ms)",
        ours.as_secs_f64() * 1e3
    );

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    match runtime.block_on(postgis(&venues, &residents, model.reach_m(MINUTES))) {
        Ok((theirs, pg_covered)) => {
            println!(
                "  PostGIS    : median {:>8.1} ms   covered {pg_covered}",
                theirs.as_secs_f64() * 1e3
            );
            println!(
                "  ratio      : PostGIS / in memory = {:.1}×   (target ≥ 5×)",
                theirs.as_secs_f64() / ours.as_secs_f64()
            );
            let diff = (pg_covered - covered as i64).abs();
            println!(
                "  agreement  : {diff} residents differ (points within centimetres of a circle's edge)"
            );
            record.add(
                Figure::new(
                    "coverage, 670,000 residents × 600 venues",
                    ours.as_secs_f64() * 1e3,
                    "ms",
                )
                .baseline("PostGIS ST_DWithin", theirs.as_secs_f64() * 1e3)
                .lower_is_better()
                .goal(Goal::RatioAtLeast(5.0))
                .note(format!(
                    "median of 5; under 1000 ms wanted too; {diff} residents differ from PostGIS"
                )),
            );
        }
        Err(e) => {
            println!("  PostGIS    : not measured: {e} (install postgresql-15-postgis-3)");
            record.add(
                Figure::new(
                    "coverage, 670,000 residents × 600 venues",
                    ours.as_secs_f64() * 1e3,
                    "ms",
                )
                .goal(Goal::Below(1000.0))
                .note(format!("PostGIS baseline not measured: {e}")),
            );
        }
    }
    record.save()?;
    Ok(())
}
