//! The e2e binary's one global subscriber: every log line the services and the gateway guard
//! write in this process goes to a buffer the tests read, and spans go over OTLP to a
//! collector in this process (for `one_trace`). A process has one global subscriber, so it is
//! set up once, by the first platform that starts.
//!
//! [`assert_no_personal_data_logged`] runs when each platform stops: over the whole e2e run,
//! no line of this process's logs nor of any router's log may hold a phone number or an ID
//! number (the issue's "no variable values in any log line").

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::KeyValue;
use opentelemetry_proto::tonic::common::v1::any_value::Value as AnyValue;
use tongxin_platform::config::{LogFormat, TelemetrySettings};
use tongxin_platform::telemetry::TelemetryGuard;
use tracing_subscriber::fmt::writer::BoxMakeWriter;

/// One received span: the exporting service, its name, trace id and attributes.
#[derive(Debug, Clone)]
pub struct Received {
    pub service: String,
    pub name: String,
    pub trace_id: Vec<u8>,
    pub attributes: Vec<(String, String)>,
}

impl Received {
    pub fn attribute(&self, key: &str) -> Option<&str> {
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

/// An OTLP/gRPC trace collector keeping the spans of the traces a test watches (every test
/// of the run exports its spans here; only the watched ones are kept).
#[derive(Clone, Default)]
pub struct Collector {
    watched: Arc<Mutex<Vec<Vec<u8>>>>,
    spans: Arc<Mutex<Vec<Received>>>,
}

impl Collector {
    /// Keep the spans of the trace `trace_id` from now on.
    pub fn watch(&self, trace_id: Vec<u8>) {
        self.watched.lock().expect("collector").push(trace_id);
    }

    /// The spans received of trace `trace_id`.
    pub fn spans_of(&self, trace_id: &[u8]) -> Vec<Received> {
        self.spans
            .lock()
            .expect("collector")
            .iter()
            .filter(|s| s.trace_id == trace_id)
            .cloned()
            .collect()
    }
}

#[tonic::async_trait]
impl TraceService for Collector {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        let watched = self.watched.lock().expect("collector").clone();
        let mut received = self.spans.lock().expect("collector");
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
                    if !watched.contains(&span.trace_id) {
                        continue;
                    }
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

/// What the process's telemetry holds.
pub struct Telemetry {
    pub collector: Collector,
    /// The collector's OTLP/gRPC URL.
    pub url: String,
    pub guard: TelemetryGuard,
    logs: Arc<Mutex<Vec<u8>>>,
    /// How far [`assert_no_personal_data_logged`] has read `logs`.
    scanned: Mutex<usize>,
}

/// Appends each log line to the shared buffer.
struct LogWriter(Arc<Mutex<Vec<u8>>>);

impl Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("log buffer").extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The process's telemetry, set up on first use.
pub fn global() -> &'static Telemetry {
    static ONCE: OnceLock<Telemetry> = OnceLock::new();
    ONCE.get_or_init(|| {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.set_nonblocking(true).expect("nonblocking");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let collector = Collector::default();
        let serving = collector.clone();
        let logs = Arc::new(Mutex::new(Vec::new()));
        let writer = {
            let logs = logs.clone();
            BoxMakeWriter::new(move || LogWriter(logs.clone()))
        };
        let settings = TelemetrySettings {
            level: "info".to_owned(),
            format: LogFormat::Json,
        };
        // The collector and the span exporter live on a runtime of their own that lasts as
        // long as the process: the exporter's connection belongs to the runtime it was built
        // on, and every test's runtime ends with its test.
        let (installed, guard) = std::sync::mpsc::channel();
        let endpoint = url.clone();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            let telemetry = {
                let _inside = runtime.enter();
                tongxin_platform::telemetry::init_with_writer(
                    &settings,
                    "tongxin-e2e",
                    Some(&endpoint),
                    writer,
                )
                .expect("telemetry")
            };
            installed.send(telemetry).expect("installed");
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
                let _ = tonic::transport::Server::builder()
                    .add_service(TraceServiceServer::new(serving))
                    .serve_with_incoming(tonic::transport::server::TcpIncoming::from(listener))
                    .await;
            });
        });
        let guard = guard.recv().expect("telemetry");
        Telemetry {
            collector,
            url,
            guard,
            logs,
            scanned: Mutex::new(0),
        }
    })
}

/// Fails when a log line written since the last check (by any test of this run, in this
/// process) or a line of `router_log` holds something shaped like a phone number or an ID
/// number. Tests enter such values as variables all the time (contact phones, ID numbers of
/// volunteers and legal-aid parties); none may come back out in a log.
pub fn assert_no_personal_data_logged(router_log: &str) {
    let telemetry = global();
    let fresh = {
        let logs = telemetry.logs.lock().expect("log buffer");
        let mut scanned = telemetry.scanned.lock().expect("scanned");
        let fresh = String::from_utf8_lossy(&logs[*scanned..]).into_owned();
        *scanned = logs.len();
        fresh
    };
    for (origin, text) in [("this process", fresh.as_str()), ("router", router_log)] {
        for line in text.lines() {
            if let Some(found) = personal_data_in(line) {
                panic!("a log line of {origin} holds personal data ({found}): {line}");
            }
        }
    }
}

/// The first phone number (eleven digits from 13…19, also written `138 1234 5678` or with
/// hyphens) or mainland ID number (seventeen digits and a digit or X) in `line`, as a whole
/// token: digits inside a longer run (timestamps, trace ids) do not count.
fn personal_data_in(line: &str) -> Option<&'static str> {
    let bytes = line.as_bytes();
    let boundary = |i: usize| bytes.get(i).is_none_or(|b| !b.is_ascii_alphanumeric());
    for start in 0..bytes.len() {
        if !bytes[start].is_ascii_digit() || (start > 0 && !boundary(start - 1)) {
            continue;
        }
        let run = bytes[start..]
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .count();
        let end = start + run;
        let phone_prefix =
            run >= 2 && bytes[start] == b'1' && (b'3'..=b'9').contains(&bytes[start + 1]);
        if run == 11 && phone_prefix && boundary(end) {
            return Some("a phone number");
        }
        if run == 17
            && bytes
                .get(end)
                .is_some_and(|b| b.is_ascii_digit() || *b == b'X' || *b == b'x')
            && boundary(end + 1)
        {
            return Some("an ID number");
        }
        if run == 18 && boundary(end) {
            return Some("an ID number");
        }
        // 138 1234 5678 / 138-1234-5678
        if run == 3 && phone_prefix {
            let rest = &bytes[end..];
            let grouped = rest.len() >= 10
                && matches!(rest[0], b' ' | b'-')
                && rest[1..5].iter().all(u8::is_ascii_digit)
                && rest[5] == rest[0]
                && rest[6..10].iter().all(u8::is_ascii_digit)
                && boundary(end + 10);
            if grouped {
                return Some("a phone number");
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::personal_data_in;

    #[test]
    fn phones_and_id_numbers_are_found_and_other_numbers_are_not() {
        for line in [
            r#"{"variables":{"phone":"13912345678"}}"#,
            "contact 138 1234 5678 here",
            "contact=138-1234-5678",
            "id 50022619900101123X",
            "id 500226199001011234,",
        ] {
            assert!(personal_data_in(line).is_some(), "{line}");
        }
        for line in [
            "1733059200123 ms",
            "trace 4bf92f3577b34da6a3ce929d0e0e4736",
            "at 2026-12-01T10:24:57.123456Z",
            "phone 139****5678",
            "12345678901",
            "a13912345678",
            "1391234567",
            "order 2026120100012345",
        ] {
            assert_eq!(personal_data_in(line), None, "{line}");
        }
    }
}
