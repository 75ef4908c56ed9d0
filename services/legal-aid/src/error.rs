//! The legal-aid service's one error type and its mapping to [`ApiError`].

use tongxin_platform::ApiError;
use tongxin_platform::db::DbError;
use tongxin_platform::org::OrgError;
use tongxin_platform::pii::PiiError;

use crate::domain::DomainError;

/// Everything a legal-aid operation can fail with.
///
/// Deliberately not `Display`: async-graphql turns any `Display` error into one without
/// `extensions.code`, so leaving it out forces every resolver through [`ApiError`].
#[derive(Debug)]
pub enum LegalAidError {
    /// The caller's input or rights broke a rule.
    Domain(DomainError),
    /// No principal.
    Unauthenticated,
    /// The database failed.
    Db(DbError),
    /// Our own data or configuration is unusable; the cause is logged, never sent.
    Internal(String),
}

impl From<DomainError> for LegalAidError {
    fn from(err: DomainError) -> Self {
        Self::Domain(err)
    }
}

impl From<OrgError> for LegalAidError {
    fn from(err: OrgError) -> Self {
        Self::Domain(err.into())
    }
}

impl From<DbError> for LegalAidError {
    fn from(err: DbError) -> Self {
        Self::Db(err)
    }
}

impl From<sea_orm::DbErr> for LegalAidError {
    fn from(err: sea_orm::DbErr) -> Self {
        Self::Db(tongxin_platform::db::classify(err))
    }
}

/// A phone that does not parse is the caller's; a sealed value that does not open, or a
/// key that does not work, is ours to fix.
impl From<PiiError> for LegalAidError {
    fn from(err: PiiError) -> Self {
        match err {
            PiiError::Invalid { field, reason } => {
                Self::Domain(DomainError::Invalid { field, reason })
            }
            other => Self::Internal(format!("pii: {other}")),
        }
    }
}

impl From<LegalAidError> for ApiError {
    fn from(err: LegalAidError) -> Self {
        match err {
            LegalAidError::Domain(DomainError::Forbidden(m)) => ApiError::forbidden(m),
            LegalAidError::Domain(DomainError::NotFound(m)) => ApiError::not_found(m),
            LegalAidError::Domain(DomainError::Conflict(m)) => ApiError::conflict(m),
            LegalAidError::Domain(e @ DomainError::Invalid { .. }) => {
                ApiError::bad_input(e.to_string())
            }
            LegalAidError::Unauthenticated => ApiError::unauthenticated(),
            LegalAidError::Db(e) => e.into(),
            LegalAidError::Internal(m) => ApiError::internal(&m),
        }
    }
}

impl From<LegalAidError> for async_graphql::Error {
    fn from(err: LegalAidError) -> Self {
        ApiError::from(err).into()
    }
}

impl From<LegalAidError> for tonic::Status {
    fn from(err: LegalAidError) -> Self {
        ApiError::from(err).into()
    }
}
