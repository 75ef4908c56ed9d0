//! The one error every service answers with.
//!
//! Each service has its own error enum (thiserror) and converts it into [`ApiError`]; this
//! module is the single place that maps it to GraphQL `extensions.code`, to a gRPC status
//! with a machine-readable reason, and to the HTTP status of a plain route. Internal causes are logged here and never sent out.
//!
//! `ApiError` deliberately does not implement `Display`: async-graphql converts any
//! `Display` type into an error without extensions, so leaving it out makes the compiler
//! route every resolver error through [`From<ApiError> for async_graphql::Error`].

use async_graphql::ErrorExtensions;

/// The error codes clients see, the same in GraphQL and gRPC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    /// The input is malformed or breaks a rule.
    BadUserInput,
    /// No valid principal.
    Unauthenticated,
    /// The principal may not do this.
    Forbidden,
    /// No such thing (or the caller may not know it exists).
    NotFound,
    /// The change collides with the current state.
    Conflict,
    /// A dependency is down; retry later.
    Unavailable,
    /// A bug or an unexpected failure; details are in the logs only.
    Internal,
}

impl ErrorCode {
    /// The GraphQL `extensions.code` and gRPC reason string.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::BadUserInput => "BAD_USER_INPUT",
            Self::Unauthenticated => "UNAUTHENTICATED",
            Self::Forbidden => "FORBIDDEN",
            Self::NotFound => "NOT_FOUND",
            Self::Conflict => "CONFLICT",
            Self::Unavailable => "UNAVAILABLE",
            Self::Internal => "INTERNAL_SERVER_ERROR",
        }
    }

    /// The HTTP status of a plain route (CSV exports, printable proofs) answering with it.
    pub fn http_status(self) -> http::StatusCode {
        use http::StatusCode;
        match self {
            Self::BadUserInput => StatusCode::BAD_REQUEST,
            Self::Unauthenticated => StatusCode::UNAUTHORIZED,
            Self::Forbidden => StatusCode::FORBIDDEN,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::Conflict => StatusCode::CONFLICT,
            Self::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn grpc(self) -> tonic::Code {
        match self {
            Self::BadUserInput => tonic::Code::InvalidArgument,
            Self::Unauthenticated => tonic::Code::Unauthenticated,
            Self::Forbidden => tonic::Code::PermissionDenied,
            Self::NotFound => tonic::Code::NotFound,
            Self::Conflict => tonic::Code::Aborted,
            Self::Unavailable => tonic::Code::Unavailable,
            Self::Internal => tonic::Code::Internal,
        }
    }
}

/// An error on its way to a client: a code and a message safe to show.
#[derive(Debug, Clone)]
pub struct ApiError {
    /// What kind of failure.
    pub code: ErrorCode,
    /// A message for the client; never internal detail.
    pub message: String,
}

impl ApiError {
    /// An error with `code` and a client-safe `message`.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }

    /// BAD_USER_INPUT.
    pub fn bad_input(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::BadUserInput, message)
    }

    /// NOT_FOUND.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::NotFound, message)
    }

    /// CONFLICT.
    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Conflict, message)
    }

    /// FORBIDDEN.
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Forbidden, message)
    }

    /// UNAUTHENTICATED.
    pub fn unauthenticated() -> Self {
        Self::new(ErrorCode::Unauthenticated, "a valid token is required")
    }

    /// UNAVAILABLE, logging the cause.
    pub fn unavailable(cause: &dyn std::fmt::Display) -> Self {
        tracing::warn!(error = %cause, "dependency unavailable");
        Self::new(
            ErrorCode::Unavailable,
            "a dependency is unavailable; try again shortly",
        )
    }

    /// INTERNAL, logging the cause; the client sees only a generic message.
    pub fn internal(cause: &dyn std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "internal error");
        Self::new(ErrorCode::Internal, "internal error")
    }
}

impl From<ApiError> for async_graphql::Error {
    fn from(err: ApiError) -> Self {
        async_graphql::Error::new(err.message)
            .extend_with(|_, ext| ext.set("code", err.code.as_str()))
    }
}

impl From<ApiError> for tonic::Status {
    fn from(err: ApiError) -> Self {
        use tonic_types::{ErrorDetails, StatusExt};
        let details = ErrorDetails::with_error_info(
            err.code.as_str(),
            "tongxin",
            std::collections::HashMap::new(),
        );
        tonic::Status::with_error_details(err.code.grpc(), err.message, details)
    }
}

impl From<crate::db::DbError> for ApiError {
    fn from(err: crate::db::DbError) -> Self {
        use crate::db::DbError;
        match err {
            DbError::Conflict(what) => ApiError::conflict(what),
            DbError::NotFound(what) => ApiError::not_found(what),
            DbError::Unavailable(cause) => ApiError::unavailable(&cause),
            DbError::Other(cause) => ApiError::internal(&cause),
        }
    }
}

/// The reason string of a status built from an [`ApiError`], for clients and tests.
pub fn grpc_reason(status: &tonic::Status) -> Option<String> {
    use tonic_types::StatusExt;
    status.get_details_error_info().map(|info| info.reason)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn graphql_error_carries_code() {
        let err: async_graphql::Error = ApiError::conflict("taken").into();
        let ext = err.extensions.expect("extensions");
        assert_eq!(
            ext.get("code"),
            Some(&async_graphql::Value::from("CONFLICT"))
        );
        assert_eq!(err.message, "taken");
    }

    #[test]
    fn grpc_status_carries_reason() {
        let status: tonic::Status = ApiError::bad_input("name must not be empty").into();
        assert_eq!(status.code(), tonic::Code::InvalidArgument);
        assert_eq!(grpc_reason(&status).as_deref(), Some("BAD_USER_INPUT"));
    }

    #[test]
    fn internal_detail_is_not_exposed() {
        let status: tonic::Status =
            ApiError::internal(&"connection string postgres://secret").into();
        assert!(!status.message().contains("secret"));
    }
}
