//! `/healthz`, `/readyz` and `/metrics`, and serving a service's HTTP router.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use sea_orm::DatabaseConnection;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::events::SharedBus;

/// What `/readyz` and `/metrics` look at: the service's database and the event bus.
///
/// Ready means "can serve requests", and that needs only the database: while NATS is away
/// the outbox keeps every write working and the relay catches up when it returns, so a NATS
/// blip must not take every service out of rotation. The bus's state is reported on
/// `/metrics` instead (`tongxin_event_bus_up`, `tongxin_outbox_backlog`), for dashboards and
/// an alert on a growing backlog.
#[derive(Clone)]
pub struct Readiness {
    /// The service's database.
    pub db: DatabaseConnection,
    /// The bus.
    pub bus: SharedBus,
}

/// The health and metrics routes.
pub fn routes(readiness: Readiness) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(ready))
        .route("/metrics", get(metrics))
        .with_state(Arc::new(readiness))
}

async fn ready(State(r): State<Arc<Readiness>>) -> (StatusCode, &'static str) {
    match crate::db::ping(&r.db).await {
        Ok(()) => (StatusCode::OK, "ready"),
        Err(_) => (StatusCode::SERVICE_UNAVAILABLE, "database unreachable"),
    }
}

/// Refreshes the event-bus gauges, then renders every metric.
async fn metrics(State(r): State<Arc<Readiness>>) -> String {
    let up = r.bus.ping().await.is_ok();
    ::metrics::gauge!("tongxin_event_bus_up").set(if up { 1.0 } else { 0.0 });
    // A scrape during a database outage still renders the other metrics.
    if let Ok(backlog) = crate::events::outbox::backlog(&r.db).await {
        ::metrics::gauge!("tongxin_outbox_backlog").set(backlog as f64);
    }
    crate::metrics::render()
}

/// Serves `router` (with request tracing and metrics) until `shutdown`, then drains for at
/// most `drain`.
pub async fn serve_http(
    router: Router,
    listener: TcpListener,
    shutdown: CancellationToken,
    drain: Duration,
) -> anyhow::Result<()> {
    let router = router
        .layer(crate::metrics::trace_layer("http"))
        // A request body over 2 MiB is refused before any resolver sees it.
        .layer(tower_http::limit::RequestBodyLimitLayer::new(
            2 * 1024 * 1024,
        ));
    let stop = shutdown.clone();
    let server =
        axum::serve(listener, router).with_graceful_shutdown(async move { stop.cancelled().await });
    crate::shutdown::drain_bounded(
        async { server.await.map_err(anyhow::Error::from) },
        shutdown,
        drain,
    )
    .await
}
