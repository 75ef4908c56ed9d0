//! One trace: with OTLP on, the trace id a client starts runs from the router through the
//! orders subgraph, orders' gRPC call to venues (routing the order), and the NATS event to
//! volunteers' consumer. An OTLP/gRPC collector in this process (opentelemetry-proto's
//! `TraceService`) receives what the router (its own process) and the services (this
//! process, through the platform's telemetry) export.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::KeyValue;
use opentelemetry_proto::tonic::common::v1::any_value::Value as AnyValue;
use serde_json::{Value, json};
use tongxin_platform::auth::Role;
use tongxin_platform::config::TelemetrySettings;
use tongxin_platform::telemetry::TelemetryGuard;

use crate::platform::{Options, Platform, Subgraphs};

/// One received span: the exporting service, its name, trace id and attributes.
#[derive(Debug, Clone)]
struct Received {
    service: String,
    name: String,
    trace_id: Vec<u8>,
    attributes: Vec<(String, String)>,
}

impl Received {
    fn attribute(&self, key: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

fn text(attributes: &[KeyValue]) -> Vec<(String, String)> {
    attributes
        .iter()
        .map(|kv| {
            let value = match kv.value.as_ref().and_then(|v| v.value.as_ref()) {
                Some(AnyValue::StringValue(s)) => s.clone(),
                Some(AnyValue::IntValue(i)) => i.to_string(),
                Some(AnyValue::BoolValue(b)) => b.to_string(),
                Some(AnyValue::DoubleValue(d)) => d.to_string(),
                _ => String::new(),
            };
            (kv.key.clone(), value)
        })
        .collect()
}

/// An OTLP/gRPC trace collector keeping every span it receives.
#[derive(Clone, Default)]
struct Collector(Arc<Mutex<Vec<Received>>>);

#[tonic::async_trait]
impl TraceService for Collector {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        let mut received = self.0.lock().expect("collector");
        for resource in request.into_inner().resource_spans {
            let service = resource
                .resource
                .as_ref()
                .map(|r| text(&r.attributes))
                .and_then(|a| a.into_iter().find(|(k, _)| k == "service.name"))
                .map(|(_, v)| v)
                .unwrap_or_default();
            for scope in resource.scope_spans {
                for span in scope.spans {
                    received.push(Received {
                        service: service.clone(),
                        name: span.name.clone(),
                        trace_id: span.trace_id.clone(),
                        attributes: text(&span.attributes),
                    });
                }
            }
        }
        Ok(tonic::Response::new(ExportTraceServiceResponse {
            partial_success: None,
        }))
    }
}

/// The collector of this test binary and the services' telemetry exporting to it: a
/// process has one global subscriber, so both are set up once.
fn collector() -> &'static (Collector, String, TelemetryGuard) {
    static ONCE: OnceLock<(Collector, String, TelemetryGuard)> = OnceLock::new();
    ONCE.get_or_init(|| {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.set_nonblocking(true).expect("nonblocking");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let collector = Collector::default();
        let serving = collector.clone();
        // Its own runtime: it outlives the runtime of the test that started it.
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
                let _ = tonic::transport::Server::builder()
                    .add_service(TraceServiceServer::new(serving))
                    .serve_with_incoming(tonic::transport::server::TcpIncoming::from(listener))
                    .await;
            });
        });
        let settings = TelemetrySettings {
            level: "info".to_owned(),
            ..TelemetrySettings::default()
        };
        let guard =
            tongxin_platform::telemetry::init_with_otlp(&settings, "tongxin-e2e", Some(&url))
                .expect("telemetry");
        (collector, url, guard)
    })
}

const PLACE: &str = r#"mutation($input: PlaceOrderInput!) { placeOrder(input: $input) { id } }"#;

#[tokio::test]
async fn one_trace_runs_from_the_router_to_the_event_consumer() {
    let (collector, url, guard) = collector();
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
        for s in spans.iter().filter(|s| s.trace_id == wanted) {
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
        seen = hops(&collector.0.lock().expect("collector"));
        if seen == all {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let names: Vec<String> = collector
        .0
        .lock()
        .expect("collector")
        .iter()
        .filter(|s| s.trace_id == wanted)
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
