//! The volunteers service's one error type and its mapping to [`ApiError`].

use tongxin_platform::ApiError;
use tongxin_platform::db::DbError;
use tongxin_platform::org::OrgError;
use tongxin_platform::pii::PiiError;

use crate::domain::{DomainError, ErrorKind};

/// Everything a volunteers operation can fail with.
///
/// Deliberately not `Display`: async-graphql turns any `Display` error into one without
/// `extensions.code`, so leaving it out forces every resolver through [`ApiError`].
#[derive(Debug)]
pub enum VolunteersError {
    /// The caller's input broke a rule (or stored data / configuration is unusable).
    Domain(DomainError),
    /// The caller may not do this.
    Forbidden(String),
    /// A referenced thing does not exist.
    NotFound(String),
    /// The change collides with existing data.
    Conflict(String),
    /// No principal.
    Unauthenticated,
    /// The database failed.
    Db(DbError),
}

impl From<DomainError> for VolunteersError {
    fn from(err: DomainError) -> Self {
        Self::Domain(err)
    }
}

/// Through [`DomainError`], so a bad phone and an unopenable ciphertext keep its codes.
impl From<PiiError> for VolunteersError {
    fn from(err: PiiError) -> Self {
        Self::Domain(err.into())
    }
}

/// Through [`DomainError`]: a unit path, level or unit id that does not parse is bad input.
impl From<OrgError> for VolunteersError {
    fn from(err: OrgError) -> Self {
        Self::Domain(err.into())
    }
}

impl From<DbError> for VolunteersError {
    fn from(err: DbError) -> Self {
        Self::Db(err)
    }
}

impl From<VolunteersError> for ApiError {
    fn from(err: VolunteersError) -> Self {
        match err {
            VolunteersError::Domain(e) => match e.kind() {
                ErrorKind::BadUserInput => ApiError::bad_input(e.to_string()),
                ErrorKind::Conflict => ApiError::conflict(e.to_string()),
                // Logged inside `internal`; the client sees no detail.
                ErrorKind::Internal => ApiError::internal(&e),
            },
            VolunteersError::Forbidden(m) => ApiError::forbidden(m),
            VolunteersError::NotFound(m) => ApiError::not_found(m),
            VolunteersError::Conflict(m) => ApiError::conflict(m),
            VolunteersError::Unauthenticated => ApiError::unauthenticated(),
            VolunteersError::Db(e) => e.into(),
        }
    }
}

impl From<VolunteersError> for async_graphql::Error {
    fn from(err: VolunteersError) -> Self {
        ApiError::from(err).into()
    }
}

impl From<VolunteersError> for tonic::Status {
    fn from(err: VolunteersError) -> Self {
        ApiError::from(err).into()
    }
}
