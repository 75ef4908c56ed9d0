//! The venues service's one error type and its mapping to [`ApiError`].

use tongxin_platform::ApiError;
use tongxin_platform::db::DbError;
use tongxin_platform::org::OrgError;

use crate::domain::DomainError;

/// Everything a venues operation can fail with.
///
/// Deliberately not `Display`: async-graphql turns any `Display` error into one without
/// `extensions.code`, so leaving it out forces every resolver through [`ApiError`].
#[derive(Debug)]
pub enum VenuesError {
    /// The caller's input or rights broke a rule.
    Domain(DomainError),
    /// A referenced thing does not exist.
    NotFound(String),
    /// The change collides with existing data.
    Conflict(String),
    /// No principal.
    Unauthenticated,
    /// The database failed.
    Db(DbError),
    /// Our own data or configuration is unusable (a sealed phone that does not open); the
    /// cause is logged, never sent.
    Internal(String),
}

impl From<DomainError> for VenuesError {
    fn from(err: DomainError) -> Self {
        Self::Domain(err)
    }
}

/// Through [`DomainError`]: a unit path, level or unit id that does not parse is bad input.
impl From<OrgError> for VenuesError {
    fn from(err: OrgError) -> Self {
        Self::Domain(err.into())
    }
}

impl From<DbError> for VenuesError {
    fn from(err: DbError) -> Self {
        Self::Db(err)
    }
}

impl From<VenuesError> for ApiError {
    fn from(err: VenuesError) -> Self {
        match err {
            VenuesError::Domain(DomainError::Forbidden(m)) => ApiError::forbidden(m),
            VenuesError::Domain(e @ DomainError::Invalid { .. }) => {
                ApiError::bad_input(e.to_string())
            }
            VenuesError::NotFound(m) => ApiError::not_found(m),
            VenuesError::Conflict(m) => ApiError::conflict(m),
            VenuesError::Unauthenticated => ApiError::unauthenticated(),
            VenuesError::Db(e) => e.into(),
            VenuesError::Internal(m) => ApiError::internal(&m),
        }
    }
}

impl From<VenuesError> for async_graphql::Error {
    fn from(err: VenuesError) -> Self {
        ApiError::from(err).into()
    }
}

impl From<VenuesError> for tonic::Status {
    fn from(err: VenuesError) -> Self {
        ApiError::from(err).into()
    }
}
