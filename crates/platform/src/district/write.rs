//! What every service's loader does the same way: tell the service the tree's units, and
//! write a table's rows in multi-row INSERTs with a progress bar.

use std::future::Future;

use sea_orm::{ActiveModelTrait, ConnectionTrait, DbErr, EntityTrait, IntoActiveModel, Iterable};

use super::{Progress, TableProgress, TreeUnit, chunk_rows};

/// Tells a service every unit of `tree` through `remember` (its own `remember_unit…`), one
/// progress bar for `service`'s `known_units`, so its staff scopes and stations resolve;
/// returns how many units.
pub async fn learn_tree<F, Fut, E>(
    service: &str,
    tree: &[TreeUnit],
    progress: &dyn Progress,
    mut remember: F,
) -> anyhow::Result<u64>
where
    F: FnMut(TreeUnit) -> Fut,
    Fut: Future<Output = Result<(), E>>,
    E: std::fmt::Debug,
{
    let bar = progress.table(service, "known_units", tree.len() as u64);
    for u in tree {
        remember(u.clone())
            .await
            .map_err(|e| anyhow::anyhow!("remembering unit {}: {e:?}", u.path))?;
        bar.inc(1);
    }
    bar.finish();
    Ok(tree.len() as u64)
}

/// Writes `rows` (models or active models of one table) on `conn` in multi-row INSERTs of
/// [`chunk_rows`] rows for the table's width, without RETURNING, telling `bar` after each.
/// Every column is written as given (a model's values are set, not "unchanged").
pub async fn insert_rows<T, A, C>(
    conn: &C,
    rows: &[T],
    bar: &dyn TableProgress,
) -> Result<u64, DbErr>
where
    T: Clone + IntoActiveModel<A>,
    A: ActiveModelTrait + Send,
    C: ConnectionTrait,
{
    let columns = <<A::Entity as EntityTrait>::Column as Iterable>::iter().count();
    for chunk in rows.chunks(chunk_rows(columns)) {
        <A::Entity as EntityTrait>::insert_many(
            chunk
                .iter()
                .map(|r| ActiveModelTrait::reset_all(r.clone().into_active_model())),
        )
        .exec_without_returning(conn)
        .await?;
        bar.inc(chunk.len() as u64);
    }
    Ok(rows.len() as u64)
}

/// [`insert_rows`] for a whole table at once, with a progress bar of its own for `service`'s
/// `table`; returns the table and the rows written (what [`super::Loaded::add`] takes).
pub async fn insert_table<T, A, C>(
    conn: &C,
    rows: &[T],
    service: &str,
    table: &'static str,
    progress: &dyn Progress,
) -> Result<(&'static str, u64), DbErr>
where
    T: Clone + IntoActiveModel<A>,
    A: ActiveModelTrait + Send,
    C: ConnectionTrait,
{
    let bar = progress.table(service, table, rows.len() as u64);
    let written = insert_rows(conn, rows, bar.as_ref()).await?;
    bar.finish();
    Ok((table, written))
}
