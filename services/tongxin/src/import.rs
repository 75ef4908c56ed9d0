//! `tongxin import volunteers`: reads the file, shows progress bars while the volunteers
//! service checks and stores the rows, and prints the per-row error report.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Instant;

use anyhow::{Context, bail};
use indicatif::{ProgressBar, ProgressStyle};
use tongxin_platform::config::DatabaseSettings;
use tongxin_platform::events::outbox::OutboxWaker;
use tongxin_volunteers::import::{ImportOptions, Progress};
use tongxin_volunteers::service::Volunteers;

use crate::settings::Settings;

/// Which volunteers database (and PII keys) the import writes to.
#[derive(clap::Args, Debug)]
pub struct VolunteersDbArgs {
    /// The data directory of `tongxin run` (its SQLite file and keys) instead of the
    /// configured database.
    #[arg(long, conflicts_with_all = ["database", "config"])]
    pub data_dir: Option<PathBuf>,
    /// The volunteers database URL (default: the configured one).
    #[arg(long)]
    pub database: Option<String>,
    /// A TOML file (default: ./tongxin.toml when present); PII keys come from it or from
    /// TONGXIN_VOLUNTEERS__PII__ENCRYPTION_KEY / …__HASH_KEY.
    #[arg(long)]
    pub config: Option<PathBuf>,
}

impl VolunteersDbArgs {
    /// The registry over the chosen database (migrated), without a running relay: the
    /// service's relay publishes the imported rows' events from the outbox.
    pub async fn volunteers(&self) -> anyhow::Result<Volunteers> {
        let (database, pii) = match &self.data_dir {
            Some(dir) => {
                let path = dir
                    .canonicalize()
                    .with_context(|| format!("data dir {}", dir.display()))?
                    .join("volunteers.db");
                let url = format!("sqlite://{}", path.to_str().context("path is not UTF-8")?);
                (
                    DatabaseSettings::new(&url),
                    crate::embedded::pii_keys(&crate::embedded::keys_dir(dir))?,
                )
            }
            None => {
                let mut settings: Settings =
                    tongxin_platform::config::load(self.config.as_deref())?;
                if let Some(url) = &self.database {
                    settings.volunteers.database = DatabaseSettings::new(url);
                }
                (settings.volunteers.database, settings.volunteers.pii)
            }
        };
        let cipher = pii
            .cipher()
            .map_err(|e| anyhow::anyhow!("volunteers.{e}"))?;
        let db =
            tongxin_platform::db::connect_and_migrate::<tongxin_volunteers::migration::Migrator>(
                &database,
            )
            .await?;
        Ok(Volunteers::new(db, OutboxWaker::default(), cipher))
    }
}

/// One progress bar per stage.
struct Bars(Mutex<Option<(String, ProgressBar)>>);

impl Progress for Bars {
    fn update(&self, stage: &str, done: u64, total: u64) {
        let mut current = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if current.as_ref().is_none_or(|(s, _)| s != stage) {
            if let Some((_, bar)) = current.take() {
                bar.finish();
            }
            let bar = ProgressBar::new(total);
            bar.set_style(
                ProgressStyle::with_template("{msg:>10} [{bar:40}] {pos}/{len} ({elapsed})")
                    .unwrap_or_else(|_| ProgressStyle::default_bar())
                    .progress_chars("=> "),
            );
            bar.set_message(stage.to_owned());
            *current = Some((stage.to_owned(), bar));
        }
        if let Some((_, bar)) = current.as_ref() {
            bar.set_position(done);
        }
    }
}

impl Bars {
    fn finish(&self) {
        if let Some((_, bar)) = self.0.lock().unwrap_or_else(|e| e.into_inner()).take() {
            bar.finish();
        }
    }
}

/// Runs the import and prints the report; an error when rows were bad and not skipped.
pub async fn volunteers(
    file: &Path,
    skip_bad_rows: bool,
    unit: Option<String>,
    db: &VolunteersDbArgs,
) -> anyhow::Result<()> {
    let started = Instant::now();
    let rows = tongxin_volunteers::import::read_file(file).map_err(|e| anyhow::anyhow!(e))?;
    let volunteers = db.volunteers().await?;
    let bars = Bars(Mutex::new(None));
    let options = ImportOptions {
        skip_bad_rows,
        default_unit: unit,
        actor: format!(
            "import:{}",
            file.file_name().and_then(|n| n.to_str()).unwrap_or("file")
        ),
    };
    let report = volunteers
        .import(rows, &options, &bars)
        .await
        .map_err(|e| {
            let api = tongxin_platform::ApiError::from(e);
            anyhow::anyhow!("{}: {}", api.code.as_str(), api.message)
        })?;
    bars.finish();
    for e in &report.errors {
        eprintln!("{e}");
    }
    let secs = started.elapsed().as_secs_f64();
    if !report.errors.is_empty() && !skip_bad_rows {
        bail!(
            "{} problem(s) in {} row(s) of {}: nothing imported (fix them, or pass --skip-bad-rows)",
            report.errors.len(),
            {
                let mut rows: Vec<usize> = report.errors.iter().map(|e| e.row).collect();
                rows.dedup();
                rows.len()
            },
            report.rows
        );
    }
    println!(
        "imported {} of {} volunteers in {secs:.1} s{}",
        report.imported,
        report.rows,
        if report.errors.is_empty() {
            String::new()
        } else {
            format!(" ({} problem(s) skipped)", report.errors.len())
        }
    );
    Ok(())
}
