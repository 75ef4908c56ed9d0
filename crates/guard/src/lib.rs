//! The gateway's door: a small admission guard in front of Hive Router.
//!
//! Clients reach the guard; the guard forwards to the router what it admits, unchanged (HTTP
//! and SSE streamed through, WebSocket relayed message by message). It refuses, before the
//! router parses anything:
//!
//! - bodies over `max_body_bytes` (413) and JSON nested deeper than `max_json_depth`, GraphQL
//!   documents nested deeper than `max_document_nesting` (400): the router's own parsers
//!   have no depth bound and one such request stops a worker for minutes ([`scan`]);
//! - a token that does not verify: 401 `UNAUTHENTICATED` with the reason (expired, bad
//!   signature, wrong audience or issuer), where the router answers 200
//!   `HEADER_PROPAGATION_FAILURE`; over WebSocket the connection is closed with 4403 and
//!   the same words;
//! - a document with several operations and no `operationName` (the router runs the
//!   first one);
//! - a query whose cost ([`cost`]) passes `max_cost`, or `max_anonymous_cost` without a
//!   token;
//! - more than `rate_per_second` requests per client (the token's subject, else the address,
//!   read from `X-Forwarded-For` only behind a proxy in `trusted_proxies`: [`client_addr`]).
//!
//! It also serves the GraphQL explorer ([`explorer`]) itself, so the page needs no CDN.
//!
//! What the router already does well stays in the router (aliases, directives, tokens and
//! field depth limits, persisted documents, JWT for `@authenticated`/`@requiresScopes`).
//! services/gateway/README.md says why each piece is where it is.

mod client_addr;
pub mod cost;
pub mod explorer;
mod http_proxy;
pub mod refusal;
pub mod scan;
mod ws_proxy;

use std::future::Future;
use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use axum::body::Body;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use http::StatusCode;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde::{Deserialize, Serialize};
use tokio::net::TcpListener;
use tongxin_platform::auth::{Principal, Verifier};

use crate::cost::{CostSchema, select_operation};
use crate::refusal::Refusal;

/// The guard's settings. Every limit names itself in the refusal message.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GuardSettings {
    /// Where clients connect.
    pub listen: SocketAddr,
    /// The router's base URL (`http://127.0.0.1:8090`), without the GraphQL path.
    pub upstream: String,
    /// The GraphQL path (the router's `graphql_endpoint`).
    pub graphql_path: String,
    /// The JWKS file the router and the subgraphs also use; unset: every token is refused.
    pub jwks_path: Option<PathBuf>,
    /// The accepted `iss`.
    pub issuer: String,
    /// The accepted `aud`.
    pub audience: String,
    /// Largest request body (and WebSocket message), bytes.
    pub max_body_bytes: usize,
    /// Deepest `[`/`{` nesting of a request's JSON.
    pub max_json_depth: usize,
    /// Deepest `{`/`[`/`(` nesting of a GraphQL document (the router's `max_depth` limits
    /// field depth after parsing; this bounds the parse itself).
    pub max_document_nesting: usize,
    /// Highest query cost with a verified token.
    pub max_cost: u64,
    /// Highest query cost without a token.
    pub max_anonymous_cost: u64,
    /// Page size assumed for a paged field without `first`/`last`.
    pub default_page_size: u64,
    /// Size assumed for a list field that takes no page size.
    pub default_list_size: u64,
    /// Sustained GraphQL requests (HTTP requests, WebSocket subscribes) per second and
    /// client (the token's subject, else the address); 0 turns rate limiting off.
    pub rate_per_second: u32,
    /// Requests a client may send at once above the sustained rate.
    pub rate_burst: u32,
    /// Serve the GraphQL explorer (GraphiQL, from this binary) to browsers at the GraphQL
    /// path; `false` in production.
    pub explorer: bool,
    /// Proxies (addresses or CIDR blocks, such as the Ingress controller's pods) whose
    /// `X-Forwarded-For` names the client; empty: the peer address is the client.
    pub trusted_proxies: Vec<String>,
}

impl Default for GuardSettings {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            upstream: "http://127.0.0.1:8090".to_owned(),
            graphql_path: "/graphql".to_owned(),
            jwks_path: None,
            issuer: "tongxin".to_owned(),
            audience: "tongxin".to_owned(),
            max_body_bytes: 1024 * 1024,
            max_json_depth: 32,
            max_document_nesting: 64,
            max_cost: 100_000,
            max_anonymous_cost: 5_000,
            default_page_size: 20,
            default_list_size: 10,
            rate_per_second: 50,
            rate_burst: 100,
            explorer: true,
            trusted_proxies: Vec::new(),
        }
    }
}

/// What the request handlers share.
pub(crate) struct State {
    settings: GuardSettings,
    verifier: Option<Verifier>,
    schema: CostSchema,
    limiter: Option<DefaultKeyedRateLimiter<String>>,
    trusted_proxies: Vec<ipnet::IpNet>,
    client: Client<HttpConnector, Body>,
    upstream: String,
}

/// What a GraphQL request asks for, read from its JSON.
#[derive(Debug, Default)]
pub(crate) struct GraphqlParams {
    pub query: Option<String>,
    pub operation_name: Option<String>,
    pub variables: serde_json::Value,
}

impl GraphqlParams {
    /// From a POST body or a WebSocket `subscribe` payload.
    pub fn from_json(value: &serde_json::Value) -> Self {
        Self {
            query: value
                .get("query")
                .and_then(|q| q.as_str())
                .map(str::to_owned),
            operation_name: value
                .get("operationName")
                .and_then(|q| q.as_str())
                .map(str::to_owned),
            variables: value
                .get("variables")
                .cloned()
                .unwrap_or(serde_json::Value::Null),
        }
    }
}

impl State {
    /// The client's address behind any trusted proxies ([`client_addr`]).
    pub fn client_ip(&self, peer: SocketAddr, headers: &http::HeaderMap) -> std::net::IpAddr {
        client_addr::client_ip(peer, headers, &self.trusted_proxies)
    }

    /// The caller behind an `Authorization` value: `None` without one, a refusal when it
    /// does not verify.
    pub fn authenticate(&self, authorization: Option<&str>) -> Result<Option<Principal>, Refusal> {
        let Some(value) = authorization else {
            return Ok(None);
        };
        let Some(token) = tongxin_platform::auth::bearer(value) else {
            return Err(Refusal::unauthenticated(
                "the Authorization header is not `Bearer <token>`",
            ));
        };
        let Some(verifier) = &self.verifier else {
            return Err(Refusal::unauthenticated(
                "the gateway has no signing keys configured",
            ));
        };
        match verifier.verify(token) {
            Ok(principal) => Ok(Some(principal)),
            Err(tongxin_platform::auth::AuthError::InvalidToken(reason)) => {
                Err(Refusal::unauthenticated(&reason))
            }
            Err(tongxin_platform::auth::AuthError::Keys(_)) => Err(Refusal::unauthenticated(
                "the gateway could not read its signing keys",
            )),
        }
    }

    /// One more request for `key`; a refusal once it is over its rate.
    pub fn take_rate(&self, key: &str) -> Result<(), Refusal> {
        let Some(limiter) = &self.limiter else {
            return Ok(());
        };
        // The key is allocated only for the check; a hash of it would save little.
        match limiter.check_key(&key.to_owned()) {
            Ok(()) => Ok(()),
            Err(not_until) => {
                let wait = not_until.wait_time_from(DefaultClock::default().now());
                let mut refusal = Refusal::http(
                    StatusCode::TOO_MANY_REQUESTS,
                    "RATE_LIMITED",
                    format!(
                        "too many requests: the limit is {} per second per client (rate_per_second); retry in {} ms",
                        self.settings.rate_per_second,
                        wait.as_millis().max(1)
                    ),
                );
                refusal.retry_after = Some(wait.as_secs().max(1));
                Err(refusal)
            }
        }
    }

    /// Refuses JSON nested deeper than the limit, before any parser sees it.
    pub fn check_json_depth(&self, json: &[u8]) -> Result<(), Refusal> {
        let limit = self.settings.max_json_depth;
        match scan::json_depth_within(json, limit) {
            Some(_) => Ok(()),
            None => Err(Refusal::http(
                StatusCode::BAD_REQUEST,
                "MAX_JSON_DEPTH_EXCEEDED",
                format!("the request JSON nests deeper than {limit} levels (max_json_depth)"),
            )),
        }
    }

    /// Checks the document a request runs. Returns the operation name for the logs.
    /// A document that does not parse is left to the router, which says why.
    pub fn check_operation(
        &self,
        params: &GraphqlParams,
        authenticated: bool,
    ) -> Result<Option<String>, Refusal> {
        let Some(query) = params.query.as_deref() else {
            // A persisted document id: registered documents are trusted.
            return Ok(params.operation_name.clone());
        };
        let limit = self.settings.max_document_nesting;
        if scan::graphql_nesting_within(query.as_bytes(), limit).is_none() {
            return Err(Refusal::request(
                "MAX_DEPTH_EXCEEDED",
                format!("the document nests deeper than {limit} levels (max_document_nesting)"),
            ));
        }
        let Ok(document) = async_graphql_parser::parse_query(query) else {
            return Ok(params.operation_name.clone());
        };
        let operation = match select_operation(&document, params.operation_name.as_deref()) {
            Ok(operation) => operation,
            Err(Some(message)) => {
                return Err(Refusal::request("OPERATION_RESOLUTION_FAILURE", message));
            }
            // A name the document does not hold: the router's error says so.
            Err(None) => return Ok(params.operation_name.clone()),
        };
        let cost = self
            .schema
            .cost(&document, operation, &params.variables)
            .map_err(|e| Refusal::request("COST_ESTIMATED_TOO_EXPENSIVE", e.to_string()))?;
        let (max, which) = if authenticated {
            (self.settings.max_cost, "max_cost")
        } else {
            (self.settings.max_anonymous_cost, "max_anonymous_cost")
        };
        if cost > max {
            let who = if authenticated {
                ""
            } else {
                " for callers without a token"
            };
            return Err(Refusal::request(
                "COST_ESTIMATED_TOO_EXPENSIVE",
                format!(
                    "the query costs {cost}, over the limit of {max}{who} ({which}): ask for smaller pages or fewer nested lists"
                ),
            ));
        }
        Ok(params.operation_name.clone())
    }
}

/// A bound guard, ready to run.
pub struct Guard {
    listener: TcpListener,
    state: Arc<State>,
}

impl Guard {
    /// Reads the keys and the supergraph and binds `settings.listen` (port 0: any free port).
    pub async fn bind(settings: GuardSettings, supergraph_sdl: &str) -> anyhow::Result<Self> {
        let verifier = match &settings.jwks_path {
            None => None,
            Some(path) => {
                let json = std::fs::read_to_string(path)
                    .with_context(|| format!("reading the JWKS {}", path.display()))?;
                // An empty key set is allowed (every token is then refused), as in the router.
                let empty = serde_json::from_str::<serde_json::Value>(&json)
                    .ok()
                    .and_then(|v| v.get("keys").and_then(|k| k.as_array()).map(Vec::is_empty))
                    .unwrap_or(false);
                if empty {
                    None
                } else {
                    Some(Verifier::from_jwks_json(
                        &json,
                        &settings.issuer,
                        &settings.audience,
                    )?)
                }
            }
        };
        let schema = CostSchema::parse(
            supergraph_sdl,
            settings.default_page_size,
            settings.default_list_size,
        )
        .context("reading the supergraph for query costs")?;
        let limiter = NonZeroU32::new(settings.rate_per_second).map(|rate| {
            let burst = NonZeroU32::new(settings.rate_burst).unwrap_or(rate);
            RateLimiter::keyed(Quota::per_second(rate).allow_burst(burst))
        });
        let trusted_proxies = client_addr::parse_trusted(&settings.trusted_proxies)?;
        let listener = TcpListener::bind(settings.listen)
            .await
            .with_context(|| format!("binding the gateway guard to {}", settings.listen))?;
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(30))
            .build(connector);
        let upstream = settings.upstream.trim_end_matches('/').to_owned();
        Ok(Self {
            listener,
            state: Arc::new(State {
                settings,
                verifier,
                schema,
                limiter,
                trusted_proxies,
                client,
                upstream,
            }),
        })
    }

    /// Where clients reach it.
    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .unwrap_or(self.state.settings.listen)
    }

    /// Serves until `shutdown` resolves, then drains.
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let state = self.state;
        if state.limiter.is_some() {
            // Forget idle clients now and then, so the limiter's memory follows the clients
            // active within the last minute, not every address ever seen.
            let weak = Arc::downgrade(&state);
            tokio::spawn(async move {
                let mut tick = tokio::time::interval(Duration::from_secs(60));
                loop {
                    tick.tick().await;
                    let Some(state) = weak.upgrade() else { break };
                    if let Some(limiter) = &state.limiter {
                        limiter.retain_recent();
                        limiter.shrink_to_fit();
                    }
                }
            });
        }
        let app = axum::Router::new()
            .fallback(http_proxy::handle)
            .with_state(state);
        axum::serve(
            self.listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(shutdown)
        .await?;
        Ok(())
    }
}
