//! `tongxin events tail`: prints the events on the TONGXIN stream as JSON lines, decoded the
//! way an outside consumer decodes them: the message type from the `content-type` header,
//! the message from the protobuf descriptors of `proto/`. No subject → type table.

use std::time::Duration;

use anyhow::Context as _;
use async_nats::HeaderMap;
use async_nats::jetstream::{self, consumer::DeliverPolicy, consumer::pull};
use futures::StreamExt;
use prost_reflect::DynamicMessage;
use serde_json::{Value, json};
use tongxin_platform::events::headers;
use tongxin_proto::catalog::message_of_content_type;

/// What to tail.
pub struct TailOptions {
    /// NATS server URL.
    pub nats_url: String,
    /// The JetStream stream.
    pub stream: String,
    /// A subject filter, e.g. `tongxin.orders.>`.
    pub subject: String,
    /// From the start of the stream instead of from now.
    pub all: bool,
    /// Stop after this many events.
    pub count: Option<usize>,
}

/// Prints events to stdout, one JSON object per line, until `count` or ctrl-c.
pub async fn tail(options: TailOptions) -> anyhow::Result<()> {
    let client = async_nats::ConnectOptions::new()
        .name("tongxin-events-tail")
        .connection_timeout(Duration::from_secs(5))
        .connect(options.nats_url.as_str())
        .await
        .with_context(|| format!("connecting to NATS at {}", options.nats_url))?;
    let stream = jetstream::new(client)
        .get_stream(&options.stream)
        .await
        .with_context(|| format!("the JetStream stream {}", options.stream))?;
    // An ordered consumer: ephemeral, in order, nothing left behind on the server.
    let consumer = stream
        .create_consumer(pull::OrderedConfig {
            filter_subject: options.subject.clone(),
            deliver_policy: if options.all {
                DeliverPolicy::All
            } else {
                DeliverPolicy::New
            },
            ..Default::default()
        })
        .await
        .context("creating an ordered consumer")?;
    let mut messages = consumer.messages().await?;
    let mut printed = 0;
    while options.count.is_none_or(|n| printed < n) {
        let message = tokio::select! {
            m = messages.next() => m,
            _ = tokio::signal::ctrl_c() => None,
        };
        let Some(message) = message else { break };
        let message = message.context("reading the stream")?;
        println!(
            "{}",
            to_json(
                message.subject.as_str(),
                message.headers.as_ref(),
                &message.payload
            )
        );
        printed += 1;
    }
    Ok(())
}

/// One event as JSON: subject, CloudEvents attributes, the message type and the decoded
/// body (`data`); a body that cannot be decoded is reported, not skipped.
pub fn to_json(subject: &str, map: Option<&HeaderMap>, payload: &[u8]) -> Value {
    let header = |name: &str| map.and_then(|m| m.get(name)).map(|v| v.as_str().to_owned());
    let message_type = header(headers::CONTENT_TYPE)
        .as_deref()
        .and_then(message_of_content_type)
        .map(str::to_owned);
    let data = match &message_type {
        Some(name) => {
            decode(name, payload).unwrap_or_else(|e| json!({ "error": e, "bytes": payload.len() }))
        }
        None => json!({ "error": "no protobuf content-type header", "bytes": payload.len() }),
    };
    json!({
        "subject": subject,
        "id": header(headers::CE_ID),
        "type": message_type,
        "source": header(headers::CE_SOURCE),
        "time": header(headers::CE_TIME),
        "data": data,
    })
}

/// Decodes `payload` as the message `name` from the compiled protos, as protobuf JSON.
pub fn decode(name: &str, payload: &[u8]) -> Result<Value, String> {
    let descriptor = tongxin_proto::descriptor_pool()
        .get_message_by_name(name)
        .ok_or_else(|| format!("{name} is not defined in proto/"))?;
    let message =
        DynamicMessage::decode(descriptor, payload).map_err(|e| format!("not a {name}: {e}"))?;
    serde_json::to_value(&message).map_err(|e| e.to_string())
}
