//! Moving what hangs on an org unit when venues moves the unit: the volunteers' home unit
//! paths and the teams' unit paths. The `known_units` table itself is the platform's
//! ([`tongxin_platform::org::known_units`], re-exported as `store::known_units`); this is
//! the volunteers' own step of its consumer (`events::UnitsHook`).

use sea_orm::ConnectionTrait;
use tongxin_platform::db::{DbError, classify};

/// Moves what hangs on the unit at `old` and below it to lie at `new`: the volunteers' home
/// unit paths and the teams' unit paths, which staff scopes are checked against. Issued
/// proofs keep the path they were issued under (a record of the past).
pub async fn move_members<C: ConnectionTrait>(
    conn: &C,
    old: &str,
    new: &str,
) -> Result<(), DbError> {
    for (table, column) in [("volunteers", "home_unit_path"), ("teams", "unit_path")] {
        // Keep the part below the moved unit: SUBSTR from the character after `old`.
        let sql = format!(
            "UPDATE {table} SET {column} = $1 || SUBSTR({column}, $2) \
             WHERE {column} = $3 OR {column} LIKE $4 ESCAPE '\\'"
        );
        let after_old = i32::try_from(old.chars().count() + 1)
            .map_err(|_| DbError::Other("unit path too long".to_owned()))?;
        conn.execute_raw(sea_orm::Statement::from_sql_and_values(
            conn.get_database_backend(),
            sql,
            [
                new.into(),
                after_old.into(),
                old.into(),
                super::ledger::like_prefix(old).into(),
            ],
        ))
        .await
        .map_err(classify)?;
    }
    Ok(())
}
