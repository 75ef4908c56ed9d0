//! A request the guard answers itself: a GraphQL error response with a code and a message
//! that names the limit, and the HTTP status the GraphQL-over-HTTP spec allows.

use axum::response::{IntoResponse, Response};
use http::{HeaderMap, HeaderValue, StatusCode, header};
use serde_json::json;

/// Why a request is refused.
#[derive(Debug, Clone)]
pub struct Refusal {
    /// `extensions.code`.
    pub code: &'static str,
    /// Safe to show: names the limit or the reason.
    pub message: String,
    /// Status for a client that accepts `application/graphql-response+json`.
    pub status: StatusCode,
    /// Whether a legacy `application/json` client still gets this status (auth, size and
    /// rate refusals are about the HTTP request, not the GraphQL document), or 200.
    pub http_level: bool,
    /// Seconds to wait before retrying (rate limits).
    pub retry_after: Option<u64>,
}

impl Refusal {
    /// A request error about the document (400; 200 for `application/json`-only clients,
    /// as the router does for its own request errors).
    pub fn request(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            status: StatusCode::BAD_REQUEST,
            http_level: false,
            retry_after: None,
        }
    }

    /// A refusal of the HTTP request itself: `status` whatever the client accepts.
    pub fn http(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            status,
            http_level: true,
            retry_after: None,
        }
    }

    /// The token was present and did not verify: 401 UNAUTHENTICATED with the reason.
    pub fn unauthenticated(reason: &str) -> Self {
        Self::http(
            StatusCode::UNAUTHORIZED,
            "UNAUTHENTICATED",
            format!("invalid token: {reason}; log in again"),
        )
    }

    /// The error object (also the WebSocket `error` payload's element).
    pub fn error_json(&self) -> serde_json::Value {
        json!({ "message": self.message, "extensions": { "code": self.code } })
    }

    /// The HTTP response, shaped by what the client accepts.
    pub fn into_http(self, request_headers: &HeaderMap) -> Response {
        let accept = request_headers
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let graphql_response = accept.contains("application/graphql-response+json")
            || accept.contains("text/event-stream")
            || accept.is_empty()
            || accept.contains("*/*");
        let status = if self.http_level || graphql_response {
            self.status
        } else {
            StatusCode::OK
        };
        let content_type = if accept.contains("application/graphql-response+json") {
            "application/graphql-response+json; charset=utf-8"
        } else {
            "application/json; charset=utf-8"
        };
        let body = json!({ "errors": [self.error_json()] }).to_string();
        let mut response = (status, body).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
        if self.status == StatusCode::UNAUTHORIZED {
            // RFC 6750: tells HTTP-level clients what failed without parsing the body.
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer error=\"invalid_token\""),
            );
        }
        if let Some(seconds) = self.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}
