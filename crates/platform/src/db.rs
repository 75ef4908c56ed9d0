//! Database connection, migrations and error classification.
//!
//! PostgreSQL in production and tests, SQLite for `tongxin run`; the URL decides. Services
//! map [`DbError`] into their own errors; `Conflict` and `NotFound` become client errors,
//! `Unavailable` becomes UNAVAILABLE, the rest is internal.

use std::time::Duration;

use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbErr, RuntimeErr, SqlErr,
};
use sea_orm_migration::MigratorTrait;
use secrecy::ExposeSecret;

use crate::config::DatabaseSettings;

/// A database failure sorted by what the caller can do about it.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// A unique or foreign-key constraint refused the change.
    #[error("conflict: {0}")]
    Conflict(String),
    /// The row does not exist.
    #[error("not found: {0}")]
    NotFound(String),
    /// The database cannot be reached or the pool is exhausted.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// Anything else.
    #[error("database error: {0}")]
    Other(String),
}

impl From<DbErr> for DbError {
    fn from(err: DbErr) -> Self {
        classify(err)
    }
}

/// Sorts a sea-orm error into conflict, not found, unavailable or other.
pub fn classify(err: DbErr) -> DbError {
    match err.sql_err() {
        Some(SqlErr::UniqueConstraintViolation(detail)) => return DbError::Conflict(detail),
        Some(SqlErr::ForeignKeyConstraintViolation(detail)) => return DbError::Conflict(detail),
        _ => {}
    }
    match err {
        DbErr::RecordNotFound(what) => DbError::NotFound(what),
        DbErr::ConnectionAcquire(e) => DbError::Unavailable(e.to_string()),
        DbErr::Conn(e) => DbError::Unavailable(e.to_string()),
        DbErr::Exec(RuntimeErr::SqlxError(e)) | DbErr::Query(RuntimeErr::SqlxError(e))
            if is_io(&e) =>
        {
            DbError::Unavailable(e.to_string())
        }
        other => DbError::Other(other.to_string()),
    }
}

fn is_io(err: &sea_orm::sqlx::Error) -> bool {
    matches!(
        err,
        sea_orm::sqlx::Error::Io(_)
            | sea_orm::sqlx::Error::PoolTimedOut
            | sea_orm::sqlx::Error::PoolClosed
    )
}

/// Opens a pool for the configured URL. SQLite files are created when missing.
pub async fn connect(settings: &DatabaseSettings) -> Result<DatabaseConnection, DbError> {
    let mut url = settings.url.expose_secret().to_owned();
    if settings.is_sqlite() && !url.contains("mode=") {
        url.push_str(if url.contains('?') {
            "&mode=rwc"
        } else {
            "?mode=rwc"
        });
    }
    // SQLite (embedded mode) gets one connection: its deferred transactions cannot upgrade a
    // read snapshot to a write after another connection committed (SQLITE_BUSY_SNAPSHOT, which
    // no busy timeout cures), so writers must take turns. One process, one user: enough.
    let max_connections = if settings.is_sqlite() {
        1
    } else {
        settings.max_connections
    };
    let mut options = ConnectOptions::new(url);
    options
        .max_connections(max_connections)
        .min_connections(if settings.is_sqlite() { 1 } else { 0 })
        .connect_timeout(Duration::from_secs(settings.connect_timeout_secs))
        .acquire_timeout(Duration::from_secs(settings.connect_timeout_secs))
        // sqlx pings a pooled connection on every checkout by default: one more round trip
        // per transaction, a third of a short request's database time. Only a connection
        // idle long enough to have been dropped (server restart, proxy timeout) is checked.
        .test_before_acquire_if_idle_for(Duration::from_secs(30))
        .sqlx_logging(false);
    // sqlx's SQLite defaults already give WAL, foreign keys on and a 5 s busy timeout, so
    // brief write contention waits instead of failing with "database is locked".
    Database::connect(options).await.map_err(classify)
}

/// The PostgreSQL advisory lock key migrators take (any fixed number: advisory locks are per
/// database, and each service has its own).
const MIGRATION_LOCK: i64 = 0x0074_6f6e_6778_696e; // "tongxin" in ASCII

/// Connects and brings the schema up to date with migrator `M`.
///
/// On PostgreSQL one migrator runs at a time per database: several replicas starting on a
/// fresh database (or a `tongxin migrate` Job racing a pod) would otherwise both see a
/// migration as pending and the second would fail on `CREATE TABLE`. The lock is a session
/// advisory lock held on a connection of its own, outside the pool the migrations use, so
/// it holds however the pool hands out connections and is released when that connection
/// closes, even if this process dies mid-way. The second migrator waits, then finds
/// nothing left to do.
pub async fn connect_and_migrate<M: MigratorTrait>(
    settings: &DatabaseSettings,
) -> Result<DatabaseConnection, DbError> {
    let db = connect(settings).await?;
    if settings.is_sqlite() {
        // One process owns an embedded SQLite file.
        M::up(&db, None).await.map_err(classify)?;
        return Ok(db);
    }
    let lock = connect(&DatabaseSettings {
        max_connections: 1,
        ..settings.clone()
    })
    .await?;
    lock.execute_unprepared(&format!("SELECT pg_advisory_lock({MIGRATION_LOCK})"))
        .await
        .map_err(classify)?;
    let migrated = M::up(&db, None).await.map_err(classify);
    // Closing the lock's only connection releases the lock, whatever happened above.
    let _ = lock.close().await;
    migrated?;
    Ok(db)
}

/// A cheap round trip, for readiness.
pub async fn ping(db: &DatabaseConnection) -> Result<(), DbError> {
    db.ping().await.map_err(classify)
}
