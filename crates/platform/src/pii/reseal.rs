//! Re-sealing stored values under the sealing key of a ring: step two of rotating a PII key
//! (`tongxin reseal <service>`; docs/deploy.md "Rotate the PII keys").
//!
//! Each service lists the columns it seals ([`SealedColumns`]); this walks them in primary-key
//! order, a page at a time, and rewrites every value another key sealed. It runs beside live
//! replicas: each rewrite is conditional on the value it read, so a row a replica changed
//! meanwhile is left as the replica wrote it (sealed with the sealing key already, as every
//! replica of the rotated release seals). Running it twice changes nothing the second time.

use sea_orm::sea_query::{Alias, Expr, ExprTrait, Order, Query};
use sea_orm::{ConnectionTrait, DatabaseConnection};
use uuid::Uuid;

use super::PiiCipher;

/// A table's sealed columns; the table is keyed by a UUID column `id`.
#[derive(Debug, Clone, Copy)]
pub struct SealedColumns {
    /// The table.
    pub table: &'static str,
    /// Its columns holding [`PiiCipher`] output (nullable or not).
    pub columns: &'static [&'static str],
}

/// What [`reseal`] did to one column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resealed {
    /// `table.column`.
    pub column: String,
    /// Values read.
    pub seen: u64,
    /// Values rewritten under the sealing key.
    pub rewritten: u64,
}

const PAGE: u64 = 500;

/// Re-seals every value of `tables` that a key other than `cipher`'s sealing key sealed.
/// A value no key of the ring opens stops the run with an error naming its row (never the
/// value): the ring is missing a key, and dropping one now would lose data.
pub async fn reseal(
    db: &DatabaseConnection,
    cipher: &PiiCipher,
    tables: &[SealedColumns],
) -> anyhow::Result<Vec<Resealed>> {
    let mut report = Vec::new();
    for sealed in tables {
        for column in sealed.columns {
            report.push(reseal_column(db, cipher, sealed.table, column).await?);
        }
    }
    Ok(report)
}

async fn reseal_column(
    db: &DatabaseConnection,
    cipher: &PiiCipher,
    table: &'static str,
    column: &'static str,
) -> anyhow::Result<Resealed> {
    let mut done = Resealed {
        column: format!("{table}.{column}"),
        seen: 0,
        rewritten: 0,
    };
    let mut after: Option<Uuid> = None;
    loop {
        let mut page = Query::select();
        page.column(Alias::new("id"))
            .column(Alias::new(column))
            .from(Alias::new(table))
            .and_where(Expr::col(Alias::new(column)).is_not_null())
            .order_by(Alias::new("id"), Order::Asc)
            .limit(PAGE);
        if let Some(after) = after {
            page.and_where(Expr::col(Alias::new("id")).gt(after));
        }
        let rows = db.query_all(&page).await?;
        for row in &rows {
            let id: Uuid = row.try_get("", "id")?;
            let blob: Vec<u8> = row.try_get("", column)?;
            after = Some(id);
            done.seen += 1;
            if !cipher.is_stale(&blob) {
                continue;
            }
            let plain = cipher.decrypt(&blob).map_err(|_| {
                anyhow::anyhow!(
                    "{table}.{column} of row {id}: no key of the ring opens it; put the key that sealed it (version v{}) back into the ring",
                    blob.first().copied().unwrap_or_default()
                )
            })?;
            let fresh = cipher.encrypt(&plain)?;
            let mut update = Query::update();
            update
                .table(Alias::new(table))
                .value(Alias::new(column), fresh)
                .and_where(Expr::col(Alias::new("id")).eq(id))
                .and_where(Expr::col(Alias::new(column)).eq(blob));
            done.rewritten += db.execute(&update).await?.rows_affected();
        }
        if (rows.len() as u64) < PAGE {
            return Ok(done);
        }
    }
}
