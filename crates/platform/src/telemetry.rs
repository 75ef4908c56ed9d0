//! Logs, traces and trace-context propagation.
//!
//! [`init`] is called once, by the binary, never by library code. Logs go to stdout as JSON
//! or pretty text; traces go over OTLP only when `OTEL_EXPORTER_OTLP_ENDPOINT` is set. The W3C
//! trace context crosses HTTP headers, gRPC metadata and NATS headers through the helpers
//! here, so one request is one trace across services and events.

use std::collections::HashMap;

use opentelemetry::propagation::{Extractor, Injector, TextMapPropagator};
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::WithExportConfig as _;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::fmt::writer::BoxMakeWriter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

use crate::config::{LogFormat, TelemetrySettings};

/// Flushes pending spans when dropped; keep it alive for the life of `main`.
pub struct TelemetryGuard {
    provider: Option<SdkTracerProvider>,
}

impl TelemetryGuard {
    /// Exports the spans ended so far now, instead of with the next batch (tests that read
    /// what a collector received).
    pub fn flush(&self) {
        if let Some(provider) = &self.provider {
            let _ = provider.force_flush();
        }
    }
}

impl Drop for TelemetryGuard {
    fn drop(&mut self) {
        if let Some(provider) = self.provider.take() {
            let _ = provider.shutdown();
        }
    }
}

/// Installs the global subscriber and propagator. Call once at start-up. Traces go over
/// OTLP/gRPC to `OTEL_EXPORTER_OTLP_ENDPOINT` when it is set.
pub fn init(settings: &TelemetrySettings, service_name: &str) -> anyhow::Result<TelemetryGuard> {
    let endpoint = std::env::var("OTEL_EXPORTER_OTLP_ENDPOINT")
        .ok()
        .filter(|e| !e.is_empty());
    init_with_otlp(settings, service_name, endpoint.as_deref())
}

/// [`init`] with the OTLP/gRPC collector given here (`None`: no trace export); tests point
/// it at a collector of their own.
pub fn init_with_otlp(
    settings: &TelemetrySettings,
    service_name: &str,
    otlp_endpoint: Option<&str>,
) -> anyhow::Result<TelemetryGuard> {
    init_with_writer(
        settings,
        service_name,
        otlp_endpoint,
        BoxMakeWriter::new(std::io::stdout),
    )
}

/// [`init_with_otlp`] with the log lines going to `writer` instead of stdout (a test that
/// reads every line the services and the gateway guard wrote).
pub fn init_with_writer(
    settings: &TelemetrySettings,
    service_name: &str,
    otlp_endpoint: Option<&str>,
    writer: BoxMakeWriter,
) -> anyhow::Result<TelemetryGuard> {
    opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
    let filter =
        EnvFilter::try_from_default_env().or_else(|_| EnvFilter::try_new(&settings.level))?;
    let fmt = match settings.format {
        LogFormat::Json => tracing_subscriber::fmt::layer()
            .with_writer(writer)
            .json()
            .with_current_span(true)
            .boxed(),
        LogFormat::Pretty => tracing_subscriber::fmt::layer()
            .with_writer(writer)
            .compact()
            .boxed(),
    };
    let provider = if let Some(endpoint) = otlp_endpoint {
        let exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_tonic()
            .with_endpoint(endpoint)
            .build()?;
        let resource = opentelemetry_sdk::Resource::builder()
            .with_service_name(service_name.to_owned())
            .build();
        Some(
            SdkTracerProvider::builder()
                .with_batch_exporter(exporter)
                .with_resource(resource)
                .build(),
        )
    } else {
        None
    };
    let otel = provider
        .as_ref()
        .map(|p| tracing_opentelemetry::layer().with_tracer(p.tracer(service_name.to_owned())));
    tracing_subscriber::registry()
        .with(filter)
        .with(fmt)
        .with(otel)
        .try_init()?;
    Ok(TelemetryGuard { provider })
}

struct MapCarrier<'a>(&'a mut HashMap<String, String>);

impl Injector for MapCarrier<'_> {
    fn set(&mut self, key: &str, value: String) {
        self.0.insert(key.to_owned(), value);
    }
}

/// The `traceparent` of the current span, if tracing is exporting.
pub fn current_traceparent() -> Option<String> {
    let context = tracing::Span::current().context();
    let mut map = HashMap::new();
    TraceContextPropagator::new().inject_context(&context, &mut MapCarrier(&mut map));
    map.remove("traceparent")
}

/// Reads trace context from HTTP headers (also gRPC metadata, which is HTTP/2 headers).
pub struct HeaderExtractor<'a>(pub &'a http::HeaderMap);

impl Extractor for HeaderExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }
    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(|k| k.as_str()).collect()
    }
}

struct SingleExtractor<'a>(&'a str);

impl Extractor for SingleExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        (key == "traceparent").then_some(self.0)
    }
    fn keys(&self) -> Vec<&str> {
        vec!["traceparent"]
    }
}

/// Makes `span` a child of the trace in `headers`, when there is one.
pub fn set_parent_from_headers(span: &tracing::Span, headers: &http::HeaderMap) {
    if headers.contains_key("traceparent") {
        let context = TraceContextPropagator::new().extract(&HeaderExtractor(headers));
        let _ = span.set_parent(context);
    }
}

/// Makes `span` a child of an event's stored `traceparent`.
pub fn set_parent_from_traceparent(span: &tracing::Span, traceparent: &str) {
    let context = TraceContextPropagator::new().extract(&SingleExtractor(traceparent));
    let _ = span.set_parent(context);
}
