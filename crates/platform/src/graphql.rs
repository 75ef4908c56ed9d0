//! Serving a service's async-graphql schema as a federation subgraph.
//!
//! `POST /graphql` answers queries and mutations; `GET /graphql` with a WebSocket upgrade
//! serves subscriptions (graphql-transport-ws and graphql-ws), which is how the router
//! reaches subgraph subscriptions. The forwarded `Authorization` token is verified again
//! here and becomes the request's [`Principal`]; a present but invalid token is refused,
//! an absent one leaves the request anonymous (resolvers that write demand a principal).
//! Every error leaves with `extensions.code`.

use std::sync::Arc;

use async_graphql::{ObjectType, Schema, ServerError, SubscriptionType};
use async_graphql_axum::{GraphQLProtocol, GraphQLRequest, GraphQLResponse, GraphQLWebSocket};
use axum::Router;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::{State, WebSocketUpgrade};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::auth::{Principal, Verifier, bearer};
use crate::error::{ApiError, ErrorCode};

/// Resolver access to the caller.
pub trait ContextExt {
    /// The principal, or UNAUTHENTICATED.
    fn principal(&self) -> Result<&Principal, ApiError>;
    /// The principal when there is one.
    fn maybe_principal(&self) -> Option<&Principal>;
}

impl ContextExt for async_graphql::Context<'_> {
    fn principal(&self) -> Result<&Principal, ApiError> {
        self.maybe_principal().ok_or_else(ApiError::unauthenticated)
    }
    fn maybe_principal(&self) -> Option<&Principal> {
        self.data_opt::<Principal>()
    }
}

struct Subgraph<Q, M, S> {
    schema: Schema<Q, M, S>,
    verifier: Arc<Verifier>,
}

/// The `/graphql` routes for `schema`, verifying tokens with `verifier`.
pub fn router<Q, M, S>(schema: Schema<Q, M, S>, verifier: Arc<Verifier>) -> Router
where
    Q: ObjectType + 'static,
    M: ObjectType + 'static,
    S: SubscriptionType + 'static,
{
    let state = Arc::new(Subgraph { schema, verifier });
    Router::new()
        .route(
            "/graphql",
            get(subscribe::<Q, M, S>).post(execute::<Q, M, S>),
        )
        .with_state(state)
}

fn token_from(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(bearer)
}

fn unauthenticated(message: &str) -> async_graphql::Response {
    let mut error = ServerError::new(message, None);
    let mut ext = async_graphql::ErrorExtensionValues::default();
    ext.set("code", ErrorCode::Unauthenticated.as_str());
    error.extensions = Some(ext);
    async_graphql::Response::from_errors(vec![error])
}

async fn execute<Q, M, S>(
    State(state): State<Arc<Subgraph<Q, M, S>>>,
    headers: HeaderMap,
    request: GraphQLRequest,
) -> GraphQLResponse
where
    Q: ObjectType + 'static,
    M: ObjectType + 'static,
    S: SubscriptionType + 'static,
{
    let mut request = request.into_inner();
    if let Some(token) = token_from(&headers) {
        match state.verifier.verify(token) {
            Ok(principal) => request = request.data(principal),
            Err(e) => {
                tracing::info!(error = %e, "refused token");
                return unauthenticated("the token is invalid or expired").into();
            }
        }
    }
    let mut response = state.schema.execute(request).await;
    for error in &mut response.errors {
        ensure_code(error);
    }
    response.into()
}

/// Gives every error a code: request-level errors (parse, validation) and arguments that do
/// not parse are the client's; any other resolver error without one is a bug, so it is
/// internal and its text is replaced.
fn ensure_code(error: &mut ServerError) {
    let has_code = error
        .extensions
        .as_ref()
        .is_some_and(|e| e.get("code").is_some());
    if has_code {
        return;
    }
    // An argument whose value does not parse (a date that is no date, say, given through a
    // variable) fails inside the field, so it carries a path; async-graphql words those
    // errors `Failed to parse "<Type>": …`. They are the client's, not a bug.
    let bad_argument = error.message.starts_with("Failed to parse \"");
    let code = if error.path.is_empty() || bad_argument {
        ErrorCode::BadUserInput
    } else {
        tracing::error!(message = %error.message, path = ?error.path, "resolver error without a code");
        error.message = "internal error".to_owned();
        ErrorCode::Internal
    };
    error
        .extensions
        .get_or_insert_with(Default::default)
        .set("code", code.as_str());
}

async fn subscribe<Q, M, S>(
    State(state): State<Arc<Subgraph<Q, M, S>>>,
    headers: HeaderMap,
    protocol: Result<GraphQLProtocol, http::StatusCode>,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response
where
    Q: ObjectType + 'static,
    M: ObjectType + 'static,
    S: SubscriptionType + 'static,
{
    let (Ok(protocol), Ok(upgrade)) = (protocol, upgrade) else {
        return (
            http::StatusCode::METHOD_NOT_ALLOWED,
            "POST GraphQL requests here; GET is for WebSocket subscriptions",
        )
            .into_response();
    };
    let header_token = token_from(&headers).map(str::to_owned);
    let schema = state.schema.clone();
    let verifier = state.verifier.clone();
    upgrade
        .protocols(async_graphql::http::ALL_WEBSOCKET_PROTOCOLS)
        .on_upgrade(move |socket| {
            GraphQLWebSocket::new(socket, schema, protocol)
                .on_connection_init(move |payload| async move {
                    // The token may come on the upgrade request or in connection_init.
                    let token = header_token.or_else(|| token_from_payload(&payload));
                    let mut data = async_graphql::Data::default();
                    if let Some(token) = token {
                        let principal = verifier
                            .verify(&token)
                            .map_err(|_| async_graphql::Error::from(ApiError::unauthenticated()))?;
                        data.insert(principal);
                    }
                    Ok(data)
                })
                .serve()
        })
}

/// Finds a bearer token in a connection_init payload: `{"Authorization": "Bearer …"}`,
/// lower-case, or nested under `headers`.
fn token_from_payload(payload: &serde_json::Value) -> Option<String> {
    let lookup = |obj: &serde_json::Value| {
        ["Authorization", "authorization"]
            .iter()
            .find_map(|k| obj.get(*k).and_then(|v| v.as_str()))
            .and_then(bearer)
            .map(str::to_owned)
    };
    lookup(payload).or_else(|| payload.get("headers").and_then(lookup))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_tokens() {
        let flat = serde_json::json!({"Authorization": "Bearer a"});
        let nested = serde_json::json!({"headers": {"authorization": "Bearer b"}});
        assert_eq!(token_from_payload(&flat).as_deref(), Some("a"));
        assert_eq!(token_from_payload(&nested).as_deref(), Some("b"));
        assert_eq!(token_from_payload(&serde_json::json!({})), None);
    }

    #[test]
    fn errors_without_code_get_one() {
        let mut request_level = ServerError::new("Unknown field", None);
        ensure_code(&mut request_level);
        let code = request_level
            .extensions
            .as_ref()
            .and_then(|e| e.get("code"))
            .cloned();
        assert_eq!(code, Some(async_graphql::Value::from("BAD_USER_INPUT")));

        let mut resolver = ServerError::new("db exploded at 10.0.0.3", None);
        resolver.path = vec![async_graphql::PathSegment::Field("orgUnit".to_owned())];
        ensure_code(&mut resolver);
        assert_eq!(resolver.message, "internal error");
    }

    struct Root;

    #[async_graphql::Object]
    impl Root {
        async fn paging(&self) -> Paging {
            Paging
        }
    }

    struct Paging;

    #[async_graphql::Object]
    impl Paging {
        async fn items(&self, #[graphql(default = 20)] first: i32) -> i32 {
            first
        }

        async fn since(
            &self,
            from: Option<chrono::DateTime<chrono::Utc>>,
            day: Option<chrono::NaiveDate>,
        ) -> bool {
            from.is_some() || day.is_some()
        }
    }

    /// The code [`ensure_code`] gives `error`.
    fn coded(error: &mut ServerError) -> Option<async_graphql::Value> {
        ensure_code(error);
        error
            .extensions
            .as_ref()
            .and_then(|e| e.get("code"))
            .cloned()
    }

    #[tokio::test]
    async fn explicit_null_for_a_defaulted_argument_is_bad_input() {
        let schema = async_graphql::Schema::new(
            Root,
            async_graphql::EmptyMutation,
            async_graphql::EmptySubscription,
        );
        // A nullable variable may feed a non-null argument that has a default (the spec's
        // "allowed position" rule), so validation passes and the resolver meets the null.
        let request =
            async_graphql::Request::new("query($first: Int) { paging { items(first: $first) } }")
                .variables(async_graphql::Variables::from_json(
                    serde_json::json!({ "first": null }),
                ));
        let mut response = schema.execute(request).await;
        assert_eq!(response.errors.len(), 1, "{:?}", response.errors);
        let error = &mut response.errors[0];
        let code = coded(error);
        assert_eq!(code, Some(async_graphql::Value::from("BAD_USER_INPUT")));
        assert!(error.message.contains("Int"), "{}", error.message);
    }

    #[tokio::test]
    async fn a_date_or_time_that_does_not_parse_is_bad_input() {
        let schema = async_graphql::Schema::new(
            Root,
            async_graphql::EmptyMutation,
            async_graphql::EmptySubscription,
        );
        let cases = [
            ("DateTime", "yesterday; DROP TABLE"),
            ("DateTime", "99999-01-01T00:00:00Z"),
            ("NaiveDate", "2026-13-45"),
        ];
        for (scalar, text) in cases {
            let argument = if scalar == "DateTime" { "from" } else { "day" };
            let query = format!("query($v: {scalar}) {{ paging {{ since({argument}: $v) }} }}");
            let request = async_graphql::Request::new(query).variables(
                async_graphql::Variables::from_json(serde_json::json!({ "v": text })),
            );
            let mut response = schema.execute(request).await;
            assert_eq!(response.errors.len(), 1, "{text}: {:?}", response.errors);
            let error = &mut response.errors[0];
            let code = coded(error);
            assert_eq!(
                code,
                Some(async_graphql::Value::from("BAD_USER_INPUT")),
                "{text}: {}",
                error.message
            );
        }
    }
}
