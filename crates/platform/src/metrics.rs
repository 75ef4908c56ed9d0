//! Prometheus metrics: one recorder per process, rendered at `/metrics`.
//!
//! Requests are counted and timed by [`trace_layer`], which the HTTP and gRPC servers both
//! wrap around their routes; it also opens the request span as a child of the caller's trace.

use std::sync::OnceLock;
use std::time::Duration;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use tower_http::classify::{ServerErrorsAsFailures, SharedClassifier};
use tower_http::trace::{DefaultOnRequest, MakeSpan, OnResponse, TraceLayer};

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// The process's recorder, installed on first use (so tests that start several apps in one
/// process share it instead of failing on the second install).
pub fn handle() -> &'static PrometheusHandle {
    HANDLE.get_or_init(|| {
        let recorder = PrometheusBuilder::new()
            .set_buckets_for_metric(
                Matcher::Suffix("duration_seconds".to_owned()),
                &[
                    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
                ],
            )
            .map(PrometheusBuilder::build_recorder)
            .unwrap_or_else(|_| PrometheusBuilder::new().build_recorder());
        let handle = recorder.handle();
        // Fails only if another recorder is installed already; then ours just renders empty.
        let _ = metrics::set_global_recorder(recorder);
        handle
    })
}

/// The Prometheus text exposition.
pub fn render() -> String {
    handle().render()
}

/// Opens one span per request, continuing the caller's trace.
#[derive(Clone, Copy)]
pub struct RequestSpan(pub &'static str);

impl<B> MakeSpan<B> for RequestSpan {
    fn make_span(&mut self, request: &http::Request<B>) -> tracing::Span {
        let span = tracing::info_span!("request", kind = self.0, method = %request.method(), path = %request.uri().path());
        crate::telemetry::set_parent_from_headers(&span, request.headers());
        span
    }
}

/// Counts and times each response.
#[derive(Clone, Copy)]
pub struct RecordResponse(pub &'static str);

impl<B> OnResponse<B> for RecordResponse {
    fn on_response(self, response: &http::Response<B>, latency: Duration, _span: &tracing::Span) {
        let status = response.status().as_u16().to_string();
        // gRPC errors travel as grpc-status with HTTP 200; label them too.
        let grpc = response
            .headers()
            .get("grpc-status")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        metrics::counter!("tongxin_requests_total", "kind" => self.0, "status" => status.clone(), "grpc_status" => grpc)
            .increment(1);
        metrics::histogram!("tongxin_request_duration_seconds", "kind" => self.0, "status" => status)
            .record(latency.as_secs_f64());
    }
}

/// The layer both servers use; `kind` labels the metrics (`http`, `grpc`).
pub fn trace_layer(
    kind: &'static str,
) -> TraceLayer<
    SharedClassifier<ServerErrorsAsFailures>,
    RequestSpan,
    DefaultOnRequest,
    RecordResponse,
> {
    handle();
    TraceLayer::new_for_http()
        .make_span_with(RequestSpan(kind))
        .on_response(RecordResponse(kind))
}
