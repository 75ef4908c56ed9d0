//! WebSocket (`graphql-transport-ws`): the guard accepts the client's socket, opens one to
//! the router, and relays messages both ways. It reads what the client sends:
//!
//! - `connection_init`: the token in its payload is verified; a bad one closes the socket
//!   with 4403 (the protocol's "Forbidden") and the reason `UNAUTHENTICATED: …`;
//! - `subscribe`: the document gets the HTTP checks (rate, nesting, operation, cost); a
//!   refused one is answered with the protocol's `error` message for that id, carrying
//!   `extensions.code`, and never reaches the router;
//! - any message: size and JSON nesting are bounded first (4400 otherwise, as the protocol
//!   closes on a message it cannot process).

use std::net::IpAddr;
use std::sync::Arc;

use axum::extract::WebSocketUpgrade;
use axum::extract::ws::{CloseFrame, Message, WebSocket};
use axum::response::Response;
use futures::{SinkExt, StreamExt};
use serde_json::json;
use tokio_tungstenite::tungstenite;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use crate::{GraphqlParams, State};

const PROTOCOL: &str = "graphql-transport-ws";

/// Relays a WebSocket of the client at `client` (its address, as [`State::client_ip`] read it).
pub(crate) fn upgrade(state: Arc<State>, upgrade: WebSocketUpgrade, client: IpAddr) -> Response {
    let max = state.settings.max_body_bytes;
    upgrade
        .protocols([PROTOCOL])
        .max_message_size(max)
        .max_frame_size(max)
        .on_upgrade(move |socket| relay(state, socket, client))
}

/// What to do with one client message.
enum Verdict {
    Forward,
    Reply(String),
    Close(u16, String),
}

/// The connection's caller, once `connection_init` said who it is.
struct Session {
    rate_key: String,
    authenticated: bool,
}

async fn relay(state: Arc<State>, client: WebSocket, address: IpAddr) {
    let url = format!("{}{}", state.upstream, state.settings.graphql_path)
        .replacen("http://", "ws://", 1)
        .replacen("https://", "wss://", 1);
    let upstream = match url.as_str().into_client_request() {
        Ok(mut request) => {
            request.headers_mut().insert(
                http::header::SEC_WEBSOCKET_PROTOCOL,
                http::HeaderValue::from_static(PROTOCOL),
            );
            tokio_tungstenite::connect_async(request).await
        }
        Err(e) => Err(e),
    };
    let (mut client_tx, mut client_rx) = client.split();
    let upstream = match upstream {
        Ok((upstream, _)) => upstream,
        Err(e) => {
            tracing::warn!(error = %e, "the router refused a WebSocket");
            let _ = client_tx
                .send(close(1011, "the gateway could not reach its router"))
                .await;
            return;
        }
    };
    let (mut up_tx, mut up_rx) = upstream.split();

    // One writer to the client: the router's messages and the guard's own replies.
    let (out_tx, mut out_rx) = tokio::sync::mpsc::channel::<Message>(64);
    let writer = tokio::spawn(async move {
        while let Some(message) = out_rx.recv().await {
            let closing = matches!(message, Message::Close(_));
            if client_tx.send(message).await.is_err() || closing {
                break;
            }
        }
        let _ = client_tx.close().await;
    });
    let from_router = {
        let out_tx = out_tx.clone();
        tokio::spawn(async move {
            while let Some(Ok(message)) = up_rx.next().await {
                let message = match message {
                    tungstenite::Message::Text(text) => Message::Text(text.as_str().into()),
                    tungstenite::Message::Binary(bytes) => Message::Binary(bytes),
                    tungstenite::Message::Close(frame) => {
                        Message::Close(frame.map(|f| CloseFrame {
                            code: f.code.into(),
                            reason: f.reason.as_str().into(),
                        }))
                    }
                    // Pings are answered by each side's library.
                    _ => continue,
                };
                if out_tx.send(message).await.is_err() {
                    break;
                }
            }
        })
    };

    let mut session = Session {
        rate_key: format!("ip:{address}"),
        authenticated: false,
    };
    while let Some(Ok(message)) = client_rx.next().await {
        match message {
            Message::Text(text) => match inspect(&state, &mut session, text.as_str()) {
                Verdict::Forward => {
                    let text = tungstenite::Message::Text(text.as_str().into());
                    if up_tx.send(text).await.is_err() {
                        break;
                    }
                }
                Verdict::Reply(reply) => {
                    if out_tx.send(Message::Text(reply.into())).await.is_err() {
                        break;
                    }
                }
                Verdict::Close(code, reason) => {
                    let _ = out_tx.send(close(code, &reason)).await;
                    break;
                }
            },
            Message::Binary(_) => {
                // graphql-transport-ws is text only.
                let _ = out_tx
                    .send(close(
                        4400,
                        "binary messages are not part of graphql-transport-ws",
                    ))
                    .await;
                break;
            }
            Message::Close(_) => break,
            Message::Ping(_) | Message::Pong(_) => {}
        }
    }
    let _ = up_tx.close().await;
    from_router.abort();
    drop(out_tx);
    let _ = writer.await;
}

fn close(code: u16, reason: &str) -> Message {
    // A close reason is at most 123 bytes.
    let mut end = reason.len().min(123);
    while !reason.is_char_boundary(end) {
        end -= 1;
    }
    Message::Close(Some(CloseFrame {
        code,
        reason: reason[..end].into(),
    }))
}

fn inspect(state: &State, session: &mut Session, text: &str) -> Verdict {
    if let Err(refusal) = state.check_json_depth(text.as_bytes()) {
        return Verdict::Close(4400, format!("{}: {}", refusal.code, refusal.message));
    }
    let Ok(message) = serde_json::from_str::<serde_json::Value>(text) else {
        return Verdict::Forward;
    };
    match message.get("type").and_then(|t| t.as_str()) {
        Some("connection_init") => {
            let authorization = token_in(message.get("payload"));
            match state.authenticate(authorization.as_deref()) {
                Ok(Some(principal)) => {
                    session.rate_key = format!("sub:{}", principal.subject);
                    session.authenticated = true;
                    Verdict::Forward
                }
                Ok(None) => Verdict::Forward,
                Err(refusal) => {
                    tracing::info!(code = refusal.code, "WebSocket refused at the gateway");
                    Verdict::Close(4403, format!("{}: {}", refusal.code, refusal.message))
                }
            }
        }
        Some("subscribe") => {
            let id = message
                .get("id")
                .cloned()
                .unwrap_or(serde_json::Value::Null);
            let params = message
                .get("payload")
                .map(GraphqlParams::from_json)
                .unwrap_or_default();
            let checked = state
                .take_rate(&session.rate_key)
                .and_then(|()| state.check_operation(&params, session.authenticated));
            match checked {
                Ok(_) => Verdict::Forward,
                Err(refusal) => {
                    tracing::info!(
                        code = refusal.code,
                        operation = params.operation_name.as_deref(),
                        "subscription refused at the gateway"
                    );
                    Verdict::Reply(
                        json!({ "id": id, "type": "error", "payload": [refusal.error_json()] })
                            .to_string(),
                    )
                }
            }
        }
        _ => Verdict::Forward,
    }
}

/// The `Authorization` value in a `connection_init` payload, where the router looks for it:
/// `{"Authorization": …}` or `{"headers": {"Authorization": …}}`, any case.
fn token_in(payload: Option<&serde_json::Value>) -> Option<String> {
    let payload = payload?.as_object()?;
    let find = |map: &serde_json::Map<String, serde_json::Value>| {
        map.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("authorization"))
            .map(|(_, v)| v.as_str().unwrap_or("\u{fffd}").to_owned())
    };
    find(payload).or_else(|| {
        payload
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("headers"))
            .and_then(|(_, v)| v.as_object())
            .and_then(find)
    })
}
