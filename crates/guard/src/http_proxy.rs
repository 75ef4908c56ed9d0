//! HTTP: GraphQL requests are checked, then forwarded with the exact bytes received; the
//! router's answer (JSON, SSE, multipart) streams back untouched. Other paths (`/health`,
//! `/readiness`, `/metrics`) pass straight through; the explorer is served here.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{ConnectInfo, FromRequestParts, Request, State as AxumState, WebSocketUpgrade};
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, Method, StatusCode, header};

use crate::refusal::Refusal;
use crate::{GraphqlParams, State};

pub(crate) async fn handle(
    AxumState(state): AxumState<Arc<State>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: Request,
) -> Response {
    let path = request.uri().path();
    if path.starts_with(crate::explorer::PREFIX) {
        // The guard's own namespace: with the explorer off, nothing is there.
        return crate::explorer::asset(path, state.settings.explorer);
    }
    if path != state.settings.graphql_path {
        return forward(&state, request, peer).await;
    }
    if state.settings.explorer
        && crate::explorer::wants_page(request.method(), request.uri().query(), request.headers())
    {
        return crate::explorer::page();
    }
    let (mut parts, body) = request.into_parts();
    let wants_websocket = parts
        .headers
        .get(header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"));
    if wants_websocket {
        return match WebSocketUpgrade::from_request_parts(&mut parts, &state).await {
            Ok(upgrade) => {
                let client = state.client_ip(peer, &parts.headers);
                crate::ws_proxy::upgrade(state, upgrade, client)
            }
            Err(rejection) => rejection.into_response(),
        };
    }
    let headers = parts.headers.clone();
    match admit(&state, &parts, body, peer).await {
        Ok(Admitted { body, operation }) => {
            let request = Request::from_parts(parts, body);
            tracing::debug!(operation = operation.as_deref(), "admitted");
            forward(&state, request, peer).await
        }
        Err(refusal) => {
            // Operation names and codes only: never variables or tokens.
            tracing::info!(
                code = refusal.code,
                status = refusal.status.as_u16(),
                request_id = headers.get("x-request-id").and_then(|v| v.to_str().ok()),
                "request refused at the gateway"
            );
            refusal.into_http(&headers)
        }
    }
}

struct Admitted {
    body: Body,
    operation: Option<String>,
}

/// The checks, cheapest first: token, rate, size, nesting, operation, cost.
async fn admit(
    state: &State,
    parts: &http::request::Parts,
    body: Body,
    peer: SocketAddr,
) -> Result<Admitted, Refusal> {
    let authorization = parts
        .headers
        .get(header::AUTHORIZATION)
        .map(|v| v.to_str().unwrap_or("\u{fffd}"));
    let principal = state.authenticate(authorization)?;
    let is_graphql_request = match parts.method {
        Method::POST => true,
        // A GET without `query` is the explorer page or a persisted document by id.
        Method::GET => parts.uri.query().is_some_and(|q| !q.is_empty()),
        _ => false,
    };
    if !is_graphql_request {
        return Ok(Admitted {
            body,
            operation: None,
        });
    }
    let key = match &principal {
        Some(principal) => format!("sub:{}", principal.subject),
        None => format!("ip:{}", state.client_ip(peer, &parts.headers)),
    };
    state.take_rate(&key)?;

    let max = state.settings.max_body_bytes;
    if parts.method == Method::GET {
        let query = parts.uri.query().unwrap_or("");
        if query.len() > max {
            return Err(too_large(max));
        }
        let mut params = GraphqlParams::default();
        for (name, value) in url::form_urlencoded::parse(query.as_bytes()) {
            match name.as_ref() {
                "query" => params.query = Some(value.into_owned()),
                "operationName" => params.operation_name = Some(value.into_owned()),
                "variables" | "extensions" => {
                    state.check_json_depth(value.as_bytes())?;
                    if name == "variables" {
                        params.variables = serde_json::from_str(&value).unwrap_or_default();
                    }
                }
                _ => {}
            }
        }
        let operation = state.check_operation(&params, principal.is_some())?;
        return Ok(Admitted { body, operation });
    }
    {
        let bytes = axum::body::to_bytes(body, max)
            .await
            .map_err(|_| too_large(max))?;
        let is_json = parts
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.contains("json"));
        if !is_json {
            // The router refuses other content types with its own status.
            return Ok(Admitted {
                body: Body::from(bytes),
                operation: None,
            });
        }
        state.check_json_depth(&bytes)?;
        let Ok(value) = serde_json::from_slice::<serde_json::Value>(&bytes) else {
            // Malformed JSON, now known to be shallow: the router says what is wrong.
            return Ok(Admitted {
                body: Body::from(bytes),
                operation: None,
            });
        };
        let params = GraphqlParams::from_json(&value);
        let operation = state.check_operation(&params, principal.is_some())?;
        Ok(Admitted {
            body: Body::from(bytes),
            operation,
        })
    }
}

fn too_large(max: usize) -> Refusal {
    Refusal::http(
        StatusCode::PAYLOAD_TOO_LARGE,
        "REQUEST_TOO_LARGE",
        format!("the request is larger than {max} bytes (max_body_bytes)"),
    )
}

/// Sends `request` to the router and returns its response as it streams.
async fn forward(state: &State, request: Request, peer: SocketAddr) -> Response {
    let (mut parts, body) = request.into_parts();
    let path = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str())
        .unwrap_or("/");
    let Ok(uri) = format!("{}{path}", state.upstream).parse::<http::Uri>() else {
        return StatusCode::BAD_REQUEST.into_response();
    };
    parts.uri = uri;
    // The router sees the client the guard settled on, never a header the client wrote.
    let client = state.client_ip(peer, &parts.headers);
    parts.headers.remove(header::HOST);
    if let Ok(value) = HeaderValue::from_str(&client.to_string()) {
        parts.headers.insert("x-forwarded-for", value);
    }
    match state.client.request(Request::from_parts(parts, body)).await {
        Ok(response) => response.map(Body::new),
        Err(e) => {
            tracing::warn!(error = %e, "the router did not answer");
            Refusal::http(
                StatusCode::BAD_GATEWAY,
                "UNAVAILABLE",
                "the gateway could not reach its router",
            )
            .into_http(&http::HeaderMap::new())
        }
    }
}
