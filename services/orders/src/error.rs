//! The orders service's one error type and its mapping to [`ApiError`].

use tongxin_platform::ApiError;
use tongxin_platform::db::DbError;
use tongxin_platform::org::OrgError;
use tongxin_platform::pii::PiiError;

use crate::domain::{DomainError, ErrorKind};

/// Everything an orders operation can fail with. Deliberately not `Display` (see
/// `tongxin_platform::error`).
#[derive(Debug)]
pub enum OrdersError {
    /// A rule said no.
    Domain(DomainError),
    /// No principal.
    Unauthenticated,
    /// A dependency (venues, volunteers) is down and nothing sensible can be done without it.
    Unavailable(String),
    /// The database failed.
    Db(DbError),
}

impl From<DomainError> for OrdersError {
    fn from(err: DomainError) -> Self {
        Self::Domain(err)
    }
}

/// Through [`DomainError`], so a bad phone and an unopenable ciphertext keep its codes.
impl From<PiiError> for OrdersError {
    fn from(err: PiiError) -> Self {
        Self::Domain(err.into())
    }
}

/// Through [`DomainError`]: a unit path, level or unit id that does not parse is bad input.
impl From<OrgError> for OrdersError {
    fn from(err: OrgError) -> Self {
        Self::Domain(err.into())
    }
}

impl From<DbError> for OrdersError {
    fn from(err: DbError) -> Self {
        Self::Db(err)
    }
}

impl From<OrdersError> for ApiError {
    fn from(err: OrdersError) -> Self {
        match err {
            OrdersError::Domain(e) => match e.kind() {
                ErrorKind::BadUserInput => ApiError::bad_input(e.to_string()),
                ErrorKind::Conflict => ApiError::conflict(e.to_string()),
                ErrorKind::Forbidden => ApiError::forbidden(e.to_string()),
                ErrorKind::NotFound => ApiError::not_found(e.to_string()),
                ErrorKind::Internal => ApiError::internal(&e),
            },
            OrdersError::Unauthenticated => ApiError::unauthenticated(),
            OrdersError::Unavailable(cause) => ApiError::unavailable(&cause),
            OrdersError::Db(e) => e.into(),
        }
    }
}

impl From<OrdersError> for async_graphql::Error {
    fn from(err: OrdersError) -> Self {
        ApiError::from(err).into()
    }
}

impl From<OrdersError> for tonic::Status {
    fn from(err: OrdersError) -> Self {
        ApiError::from(err).into()
    }
}
