//! A graphql-transport-ws client for tests: open a subscription with a bearer token, then
//! read its messages one by one.

use std::time::Duration;

use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

/// A client WebSocket.
pub type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Connects to `url` (`http://…/graphql` or `ws://…/graphql`), signs in with `token` in the
/// `connection_init` payload, waits for the ack and subscribes to `query` as id "1".
///
/// The server may start watching a moment after this returns; a test that needs the watch
/// in place before it acts waits for it (e.g. [`crate::TestNats::subscriptions_on`]).
pub async fn subscribe(url: &str, token: &str, query: &str) -> Socket {
    let mut request = url
        .replacen("http://", "ws://", 1)
        .into_client_request()
        .expect("request");
    request.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        "graphql-transport-ws".parse().expect("header"),
    );
    let (mut socket, _) = tokio_tungstenite::connect_async(request)
        .await
        .expect("websocket");
    let init = json!({ "type": "connection_init", "payload": { "Authorization": format!("Bearer {token}") } });
    socket
        .send(Message::text(init.to_string()))
        .await
        .expect("init");
    let ack = next_json(&mut socket).await;
    assert_eq!(ack["type"], "connection_ack", "{ack}");
    let subscribe = json!({ "id": "1", "type": "subscribe", "payload": { "query": query } });
    socket
        .send(Message::text(subscribe.to_string()))
        .await
        .expect("subscribe");
    socket
}

/// The next message that is not a ping or pong (15 s at most).
pub async fn next_json<S>(socket: &mut S) -> Value
where
    S: futures::Stream<Item = Result<Message, tokio_tungstenite::tungstenite::Error>> + Unpin,
{
    loop {
        let message = tokio::time::timeout(Duration::from_secs(15), socket.next())
            .await
            .expect("message in time")
            .expect("open")
            .expect("frame");
        if let Message::Text(text) = message {
            let value: Value = serde_json::from_str(&text).expect("json");
            if value["type"] != "ping" && value["type"] != "pong" {
                return value;
            }
        }
    }
}
