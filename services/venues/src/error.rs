//! The venues service's one error type and its mapping to [`ApiError`].

use tongxin_platform::ApiError;
use tongxin_platform::db::DbError;

use crate::domain::DomainError;

/// Everything a venues operation can fail with.
#[derive(Debug, thiserror::Error)]
pub enum VenuesError {
    /// The caller's input or rights broke a rule.
    #[error(transparent)]
    Domain(#[from] DomainError),
    /// A referenced thing does not exist.
    #[error("{0}")]
    NotFound(String),
    /// The change collides with existing data.
    #[error("{0}")]
    Conflict(String),
    /// No principal.
    #[error("a valid token is required")]
    Unauthenticated,
    /// The database failed.
    #[error(transparent)]
    Db(DbError),
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
            VenuesError::Domain(e @ DomainError::Invalid { .. }) => ApiError::bad_input(e.to_string()),
            VenuesError::NotFound(m) => ApiError::not_found(m),
            VenuesError::Conflict(m) => ApiError::conflict(m),
            VenuesError::Unauthenticated => ApiError::unauthenticated(),
            VenuesError::Db(e) => e.into(),
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
