//! Serving a service's async-graphql schema as a federation subgraph.
//!
//! `POST /graphql` answers queries and mutations; `GET /graphql` with a WebSocket upgrade
//! serves subscriptions (graphql-transport-ws and graphql-ws), which is how the router
//! reaches subgraph subscriptions. The forwarded `Authorization` token is verified again
//! here and becomes the request's [`Principal`]; a present but invalid token is refused,
//! an absent one leaves the request anonymous (resolvers that write demand a principal).
//! Every error leaves with `extensions.code`. Each HTTP request also carries a
//! [`RequestMemo`], so what every resolver of a request needs (the caller's scope) is worked
//! out once per request, not once per field or per `_entities` reference.

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};

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

/// Values worked out once per request and shared by all of its resolvers, one per type.
///
/// A router's `_entities` call carries a hundred references in one request; resolving the
/// caller (a staff unit's scope from the database, a volunteer's record from another
/// service) in each of them would cost a hundred queries or calls. The first resolver to ask
/// computes the value while the others wait for it; a failure is not kept, so a later
/// resolver tries again.
#[derive(Default)]
pub struct RequestMemo {
    cells: Mutex<HashMap<TypeId, Arc<dyn Any + Send + Sync>>>,
}

impl RequestMemo {
    /// The request's `T`, computed by `init` the first time it is asked for.
    ///
    /// # Errors
    /// `init`'s error, when it fails.
    pub async fn get_or_try_init<T, E, F, Fut>(&self, init: F) -> Result<T, E>
    where
        T: Clone + Send + Sync + 'static,
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        let cell = {
            let mut cells = self
                .cells
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            cells
                .entry(TypeId::of::<T>())
                .or_insert_with(|| Arc::new(tokio::sync::OnceCell::<T>::new()))
                .clone()
        };
        match cell.downcast::<tokio::sync::OnceCell<T>>() {
            Ok(cell) => cell.get_or_try_init(init).await.cloned(),
            // Unreachable: the cell under `TypeId::of::<T>()` is always a `OnceCell<T>`.
            Err(_) => init().await,
        }
    }
}

/// A page size (`first`, `count`) from a client: absent (the field's default applies), or
/// 1 to `max`. One rule for every list of every subgraph: a size above the field's limit is
/// refused with BAD_USER_INPUT naming the argument and the limit, never silently cut, so a
/// client learns the limit instead of mistaking a short page for the end.
///
/// # Errors
/// BAD_USER_INPUT below 1 or above `max`.
pub fn page_size(argument: &str, value: Option<i32>, max: u64) -> Result<Option<u64>, ApiError> {
    let Some(value) = value else {
        return Ok(None);
    };
    match u64::try_from(value) {
        Ok(size) if size > max => Err(ApiError::bad_input(format!(
            "{argument}: at most {max} per page (the page-size limit of this field); \
             ask for the next page with `after`"
        ))),
        Ok(size) if size >= 1 => Ok(Some(size)),
        _ => Err(ApiError::bad_input(format!(
            "{argument}: must be at least 1"
        ))),
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
    let mut request = request.into_inner().data(RequestMemo::default());
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

/// Initial read buffer of a subscription socket (it grows for a larger message).
const WS_READ_BUFFER: usize = 4 * 1024;
/// Largest message a subscription socket accepts: a subscribe with its document and
/// variables (the router's documents are far smaller), or one item out.
const WS_MAX_MESSAGE: usize = 256 * 1024;

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
        // A subscription socket carries a subscribe message in and small items out, yet the
        // defaults give each one 128 KiB read and write buffers and accept 64 MiB messages:
        // with thousands of citizens watching their orders that was most of the service's
        // memory (the `watchers` bench). Items are written as they come.
        .read_buffer_size(WS_READ_BUFFER)
        .write_buffer_size(0)
        .max_write_buffer_size(WS_MAX_MESSAGE * 4)
        .max_message_size(WS_MAX_MESSAGE)
        .max_frame_size(WS_MAX_MESSAGE)
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
    fn page_sizes_above_the_limit_are_refused_naming_it() {
        assert_eq!(page_size("first", None, 500).ok(), Some(None));
        assert_eq!(page_size("first", Some(1), 500).ok(), Some(Some(1)));
        assert_eq!(page_size("first", Some(500), 500).ok(), Some(Some(500)));
        let over = page_size("first", Some(501), 500)
            .err()
            .map(|e| (e.code, e.message));
        assert_eq!(
            over,
            Some((
                ErrorCode::BadUserInput,
                "first: at most 500 per page (the page-size limit of this field); ask for the \
                 next page with `after`"
                    .to_owned()
            ))
        );
        for bad in [0, -1, i32::MIN] {
            let e = page_size("count", Some(bad), 100).err().map(|e| e.message);
            assert_eq!(e.as_deref(), Some("count: must be at least 1"));
        }
    }

    #[tokio::test]
    async fn a_request_memo_computes_once_for_concurrent_askers_and_forgets_failures() {
        let memo = RequestMemo::default();
        let calls = std::sync::atomic::AtomicUsize::new(0);
        let failed: Result<u32, &str> = memo.get_or_try_init(|| async { Err("down") }).await;
        assert_eq!(failed, Err("down"));
        let ask = || {
            memo.get_or_try_init(|| async {
                calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                Ok::<u32, &str>(7)
            })
        };
        let answers = futures::future::join_all((0..50).map(|_| ask())).await;
        assert!(answers.iter().all(|a| *a == Ok(7)));
        assert_eq!(calls.load(std::sync::atomic::Ordering::SeqCst), 1);
        // Another type has its own slot.
        let other: Result<String, &str> = memo.get_or_try_init(|| async { Ok("x".into()) }).await;
        assert_eq!(other.as_deref(), Ok("x"));
    }

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
