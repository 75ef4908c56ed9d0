//! One trace: with OTLP on, the trace id a client starts runs from the router through the
//! orders subgraph, orders' gRPC call to venues (routing the order), and the NATS event to
//! volunteers' consumer. An OTLP/gRPC collector in this process (opentelemetry-proto's
//! `TraceService`) receives what the router (its own process) and the services (this
//! process, through the platform's telemetry) export.

use std::collections::BTreeSet;
use std::time::Duration;

use serde_json::{Value, json};
use tongxin_platform::auth::Role;

use crate::platform::{Options, Platform, Subgraphs};
use crate::telemetry::Received;

const PLACE: &str = r#"mutation($input: PlaceOrderInput!) { placeOrder(input: $input) { id } }"#;

#[tokio::test]
async fn one_trace_runs_from_the_router_to_the_event_consumer() {
    // The e2e binary's telemetry exports the services' spans to its collector.
    let telemetry = crate::telemetry::global();
    let (collector, url, guard) = (&telemetry.collector, &telemetry.url, &telemetry.guard);
    let platform = Platform::start_with(
        Subgraphs::OrderLoop,
        Options {
            router_env: vec![
                ("TELEMETRY_TRACING_SAMPLING_RATE", "1.0".to_owned()),
                ("OTEL_EXPORTER_OTLP_ENDPOINT", url.clone()),
            ],
            ..Options::default()
        },
    )
    .await;
    let token = platform.sign("c-trace", &[Role::Citizen], None);

    // The client starts the trace; every hop must continue it.
    let trace_id = uuid::Uuid::now_v7().simple().to_string();
    collector.watch(hex(&trace_id));
    let traceparent = format!(
        "00-{trace_id}-{}-01",
        &uuid::Uuid::now_v7().simple().to_string()[..16]
    );
    let response: Value = reqwest::Client::new()
        .post(platform.url())
        .bearer_auth(&token)
        .header("traceparent", &traceparent)
        .json(&json!({"query": PLACE, "variables": {"input": {
            "category": "elder_visit",
            "description": "请帮忙",
            "form": [{"key": "people", "value": "1"}],
            "location": {"lat": 29.3868, "lon": 105.5701},
            "contactPhone": "138 1234 5678",
            "photos": [],
            "idempotencyKey": "trace-1",
        }}}))
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("json");
    assert!(response["errors"].is_null(), "{response}");
    platform
        .wait_until_consumed("tongxin.orders.order_placed", 1)
        .await;

    let wanted = hex(&trace_id);
    let hops = |spans: &[Received]| -> BTreeSet<&'static str> {
        let mut seen = BTreeSet::new();
        for s in spans {
            if s.service == "tongxin-gateway" {
                seen.insert("router");
            }
            match (s.name.as_str(), s.attribute("kind"), s.attribute("path")) {
                ("request", Some("http"), Some("/graphql")) => {
                    seen.insert("subgraph");
                }
                ("request", Some("grpc"), Some(path)) if path.starts_with("/tongxin.venues.") => {
                    seen.insert("grpc");
                }
                _ => {}
            }
            if s.name == "consume" && s.attribute("subject") == Some("tongxin.orders.order_placed")
            {
                seen.insert("consumer");
            }
        }
        seen
    };
    let all: BTreeSet<&str> = ["consumer", "grpc", "router", "subgraph"].into();
    let mut seen = BTreeSet::new();
    for _ in 0..100 {
        guard.flush();
        seen = hops(&collector.spans_of(&wanted));
        if seen == all {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let names: Vec<String> = collector
        .spans_of(&wanted)
        .iter()
        .map(|s| format!("{} {} {:?}", s.service, s.name, s.attributes))
        .collect();
    assert_eq!(seen, all, "hops of trace {trace_id}: {names:#?}");
    platform.stop().await;
}

fn hex(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .filter_map(|i| u8::from_str_radix(&text[i..i + 2], 16).ok())
        .collect()
}
