//! `tongxin import volunteers FILE.xlsx|FILE.csv`: the registers districts already keep in
//! spreadsheets, validated row by row before anything is stored.
//!
//! Columns (Chinese or English headers, any order; extra columns are ignored):
//! 姓名/name, 性别/gender, 出生日期/birth_date, 身份证号/id_card_number, 手机号/phone,
//! 所属单位/unit (a unit path, id or name), 技能/skills, 服务时间/availability,
//! 经度/lon, 纬度/lat. Gender and birth date, when given, must agree with the ID-card
//! number; without coordinates a volunteer is placed at their unit.
//!
//! Every row is checked first (ID-card checksum, the same ID twice in the file or already
//! registered, an 11-digit phone, a known unit, skills from the catalog, availability), and
//! every problem is reported with its row number. A file with any bad row imports nothing
//! unless the caller asks to skip bad rows. The good rows go in with one transaction, in
//! multi-row INSERTs of [`BATCH`] rows together with their `volunteer_registered` outbox
//! events, so an interrupted import leaves nothing behind.

mod read;
mod rows;

use std::collections::HashMap;

use chrono::Utc;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QuerySelect, TransactionTrait};
use tongxin_platform::db::{DbError, classify};
use tongxin_platform::events::outbox::entity as outbox;

pub use read::{RawRow, read_file};
pub use rows::{Units, validate};

use crate::domain::DomainError;
use crate::error::VolunteersError;
use crate::events;
use crate::service::Volunteers;
use crate::store::volunteers::{self, Model};

/// Rows per INSERT (21 columns each, far below PostgreSQL's 65,535 parameters).
pub const BATCH: usize = 1000;

/// One problem in one row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    /// The spreadsheet row (the header is row 1).
    pub row: usize,
    /// The column or rule.
    pub field: String,
    /// What is wrong.
    pub message: String,
}

impl std::fmt::Display for RowError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "row {}: {}: {}", self.row, self.field, self.message)
    }
}

/// What an import did.
#[derive(Debug, Clone, Default)]
pub struct ImportReport {
    /// Data rows in the file.
    pub rows: usize,
    /// Rows stored.
    pub imported: usize,
    /// Every problem found, by row.
    pub errors: Vec<RowError>,
}

/// How to import.
#[derive(Debug, Clone, Default)]
pub struct ImportOptions {
    /// Store the good rows even when some are bad.
    pub skip_bad_rows: bool,
    /// The unit (path, id or name) for rows that name none.
    pub default_unit: Option<String>,
    /// Recorded as `created_by` and as the events' actor, e.g. `import:volunteers.xlsx`.
    pub actor: String,
}

/// Reports progress: `stage` ("validating", "importing"), rows done, rows in all.
pub trait Progress: Send + Sync {
    /// Called as rows are done.
    fn update(&self, stage: &str, done: u64, total: u64);
}

/// No progress reporting.
pub struct Quiet;

impl Progress for Quiet {
    fn update(&self, _: &str, _: u64, _: u64) {}
}

impl Volunteers {
    /// Validates `rows` and imports them as described in the module docs.
    pub async fn import(
        &self,
        rows: Vec<RawRow>,
        options: &ImportOptions,
        progress: &dyn Progress,
    ) -> Result<ImportReport, VolunteersError> {
        let units = Units::load(self.db()).await?;
        let default_unit = match &options.default_unit {
            Some(u) => Some(units.resolve(u).ok_or_else(|| {
                VolunteersError::from(DomainError::invalid("unit", format!("unknown unit {u:?}")))
            })?),
            None => None,
        };
        let total = rows.len();
        let (mut good, mut errors) =
            validate(self, &units, default_unit, rows, &options.actor, progress)?;
        // The same ID-card number already registered: one query per batch of hashes.
        let mut known: HashMap<Vec<u8>, ()> = HashMap::new();
        for chunk in good.chunks(BATCH) {
            let hashes: Vec<Vec<u8>> = chunk.iter().map(|(_, m)| m.id_card_hash.clone()).collect();
            for h in volunteers::Entity::find()
                .select_only()
                .column(volunteers::Column::IdCardHash)
                .filter(volunteers::Column::IdCardHash.is_in(hashes))
                .into_tuple::<Vec<u8>>()
                .all(self.db())
                .await
                .map_err(classify)?
            {
                known.insert(h, ());
            }
        }
        good.retain(|(line, m)| {
            let duplicate = known.contains_key(&m.id_card_hash);
            if duplicate {
                errors.push(RowError {
                    row: *line,
                    field: "身份证号/id_card_number".to_owned(),
                    message: "already registered".to_owned(),
                });
            }
            !duplicate
        });
        errors.sort_by_key(|e| e.row);
        let mut report = ImportReport {
            rows: total,
            imported: 0,
            errors,
        };
        if !report.errors.is_empty() && !options.skip_bad_rows {
            return Ok(report);
        }
        let rows: Vec<Model> = good.into_iter().map(|(_, m)| m).collect();
        report.imported = self.insert_batch(&rows, &options.actor, progress).await?;
        Ok(report)
    }

    /// Stores parsed rows and their `volunteer_registered` events in one transaction, in
    /// multi-row INSERTs; the import and the demo seed share it. CONFLICT when an ID-card
    /// number was registered meanwhile (nothing is stored then).
    pub async fn insert_batch(
        &self,
        rows: &[Model],
        actor: &str,
        progress: &dyn Progress,
    ) -> Result<usize, VolunteersError> {
        let total = rows.len() as u64;
        let txn = self.db().begin().await.map_err(classify)?;
        let mut done = 0u64;
        for chunk in rows.chunks(BATCH) {
            volunteers::Entity::insert_many(chunk.iter().map(|m| {
                sea_orm::ActiveModelTrait::reset_all(volunteers::ActiveModel::from(m.clone()))
            }))
            .exec_without_returning(&txn)
            .await
            .map_err(|e| match classify(e) {
                DbError::Conflict(_) => VolunteersError::from(DomainError::Duplicate {
                    field: "id_card_number",
                }),
                other => other.into(),
            })?;
            enqueue_registered(&txn, chunk, actor).await?;
            done += chunk.len() as u64;
            progress.update("importing", done, total);
        }
        txn.commit().await.map_err(classify)?;
        self.waker().wake();
        self.matcher().apply_all(rows);
        tracing::info!(rows = rows.len(), at = %Utc::now(), "volunteers imported");
        Ok(rows.len())
    }
}

/// The `volunteer_registered` events of `rows` in one multi-row INSERT into the outbox: the
/// same rows [`tongxin_platform::events::outbox::enqueue`] writes one at a time.
async fn enqueue_registered(
    txn: &sea_orm::DatabaseTransaction,
    rows: &[Model],
    actor: &str,
) -> Result<(), DbError> {
    use sea_orm::ActiveValue::Set;
    let now = Utc::now();
    let traceparent = tongxin_platform::telemetry::current_traceparent();
    outbox::Entity::insert_many(rows.iter().map(|m| outbox::ActiveModel {
        event_id: Set(uuid::Uuid::now_v7()),
        subject: Set(events::VOLUNTEER_REGISTERED.to_owned()),
        source: Set(events::SOURCE.to_owned()),
        payload: Set(events::volunteer_registered(m, actor)),
        traceparent: Set(traceparent.clone()),
        created_at: Set(now),
        published_at: Set(None),
        ..Default::default()
    }))
    .exec_without_returning(txn)
    .await
    .map_err(classify)?;
    Ok(())
}
