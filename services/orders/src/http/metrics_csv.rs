//! CSV export of evaluation and ranking for spreadsheets (效果评价, 每季一次评比), on the
//! orders service's HTTP port beside `/graphql`:
//!
//! - `GET /orders/metrics.csv?unitId=…&quarter=2026Q4` (or `&from=…&to=…`, RFC 3339): one
//!   unit's figures;
//! - `GET /orders/rankings.csv?level=courtyard&quarter=2026Q4`: the ranking of a level;
//! - `GET /orders/volunteer-rankings.csv?quarter=2026Q4`: the volunteer ranking.
//!
//! A bearer token is required (`Authorization: Bearer …`) and the same scope rules as in
//! GraphQL apply. Errors answer with the HTTP status of their code and the code and message
//! as plain text: 400 BAD_USER_INPUT, 401 UNAUTHENTICATED, 403 FORBIDDEN, 404 NOT_FOUND.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use tongxin_platform::ApiError;
use tongxin_platform::auth::{Verifier, bearer};
use uuid::Uuid;

use crate::domain::Level;
use crate::domain::metrics::{MAX_RANKING, Period, RankedUnit, RankedVolunteer, UnitMetrics};
use crate::error::OrdersError;
use crate::service::{Caller, Orders};

/// The state of the CSV routes: the service and the token verifier.
#[derive(Clone)]
pub(super) struct Export {
    pub(super) orders: Orders,
    pub(super) verifier: Arc<Verifier>,
}

/// The CSV routes.
pub fn routes(orders: Orders, verifier: Arc<Verifier>) -> Router {
    Router::new()
        .route("/orders/metrics.csv", get(unit_csv))
        .route("/orders/rankings.csv", get(rankings_csv))
        .route("/orders/volunteer-rankings.csv", get(volunteers_csv))
        .with_state(Export { orders, verifier })
}

/// Query string of `/orders/metrics.csv`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct UnitParams {
    unit_id: Option<String>,
    quarter: Option<String>,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
}

/// Query string of the ranking routes.
#[derive(Debug, Deserialize)]
struct RankingParams {
    level: Option<String>,
    quarter: Option<String>,
}

/// The header row of every unit figure export.
/// The per-channel counts come last, so that readers of the earlier columns by position
/// keep working.
pub const UNIT_HEADER: [&str; 24] = [
    "rank",
    "score",
    "unit_id",
    "unit_path",
    "level",
    "from",
    "to",
    "orders_received",
    "orders_taken",
    "median_receive_minutes",
    "orders_completed",
    "median_complete_minutes",
    "escalated",
    "escalation_rate",
    "overdue",
    "cancelled",
    "completion_rate",
    "ratings",
    "mean_rating",
    "quarter",
    "received_visit",
    "received_briefing",
    "received_phone",
    "received_mini_program",
];

/// The header row of the volunteer ranking.
pub const VOLUNTEER_HEADER: [&str; 5] = [
    "rank",
    "volunteer_id",
    "orders_completed",
    "hours",
    "mean_rating",
];

fn fmt(value: Option<f64>) -> String {
    value.map(|v| format!("{v:.2}")).unwrap_or_default()
}

fn unit_record(rank: Option<u32>, m: &UnitMetrics, period: Period) -> Vec<String> {
    vec![
        rank.map(|r| r.to_string()).unwrap_or_default(),
        format!("{:.1}", m.score()),
        m.unit_id.to_string(),
        m.unit_path.clone(),
        m.level.clone(),
        period.from.to_rfc3339(),
        period.to.to_rfc3339(),
        m.received.to_string(),
        m.taken.to_string(),
        fmt(m.median_receive_minutes),
        m.completed.to_string(),
        fmt(m.median_complete_minutes),
        m.escalated.to_string(),
        fmt(m.escalation_rate),
        m.overdue.to_string(),
        m.cancelled.to_string(),
        fmt(m.completion_rate),
        m.ratings.to_string(),
        fmt(m.mean_rating),
        period.quarter_name().unwrap_or_default(),
        m.by_channel.visit.to_string(),
        m.by_channel.briefing.to_string(),
        m.by_channel.phone.to_string(),
        m.by_channel.mini_program.to_string(),
    ]
}

fn volunteer_record(v: &RankedVolunteer) -> Vec<String> {
    vec![
        v.rank.to_string(),
        v.volunteer_id.to_string(),
        v.completed.to_string(),
        format!("{:.2}", v.hours),
        fmt(v.mean_rating),
    ]
}

pub(super) fn write_csv(header: &[&str], records: Vec<Vec<String>>) -> Result<Vec<u8>, ApiError> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    let mut put = |fields: &[String]| {
        writer
            .write_record(fields)
            .map_err(|e| ApiError::internal(&e))
    };
    put(&header.iter().map(|h| (*h).to_owned()).collect::<Vec<_>>())?;
    for r in &records {
        put(r)?;
    }
    writer
        .into_inner()
        .map_err(|e| ApiError::internal(&e.error().to_string()))
}

pub(super) fn respond(result: Result<(String, Vec<u8>), ApiError>) -> Response {
    match result {
        Ok((name, body)) => (
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
                (
                    header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"{name}\""),
                ),
            ],
            body,
        )
            .into_response(),
        Err(e) => (
            e.code.http_status(),
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            format!("{}: {}", e.code.as_str(), e.message),
        )
            .into_response(),
    }
}

impl Export {
    /// The verified caller of a request, or UNAUTHENTICATED.
    pub(super) async fn caller(&self, headers: &HeaderMap) -> Result<Caller, ApiError> {
        let token = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(bearer)
            .ok_or_else(ApiError::unauthenticated)?;
        let principal = self
            .verifier
            .verify(token)
            .map_err(|_| ApiError::unauthenticated())?;
        Ok(self.orders.caller(Some(&principal)).await?)
    }
}

fn quarter(q: Option<&str>) -> Result<Period, ApiError> {
    let q = q.ok_or_else(|| ApiError::bad_input("quarter: is required (e.g. 2026Q4)"))?;
    Ok(Period::quarter(q).map_err(OrdersError::from)?)
}

async fn unit_csv(
    State(x): State<Export>,
    headers: HeaderMap,
    Query(p): Query<UnitParams>,
) -> Response {
    respond(
        async {
            let caller = x.caller(&headers).await?;
            let unit = p
                .unit_id
                .as_deref()
                .and_then(|u| Uuid::parse_str(u.trim()).ok())
                .ok_or_else(|| ApiError::bad_input("unitId: a unit id is required"))?;
            let period =
                Period::requested(p.from, p.to, p.quarter.as_deref()).map_err(OrdersError::from)?;
            let m = x.orders.unit_metrics(&caller, unit, period).await?;
            let body = write_csv(&UNIT_HEADER, vec![unit_record(None, &m, period)])?;
            Ok((format!("unit-{unit}.csv"), body))
        }
        .await,
    )
}

async fn rankings_csv(
    State(x): State<Export>,
    headers: HeaderMap,
    Query(p): Query<RankingParams>,
) -> Response {
    respond(
        async {
            let caller = x.caller(&headers).await?;
            let level =
                Level::parse(p.level.as_deref().unwrap_or_default()).map_err(OrdersError::from)?;
            let period = quarter(p.quarter.as_deref())?;
            let ranked = x
                .orders
                .rankings(&caller, level, period, MAX_RANKING)
                .await?;
            let records = ranked
                .iter()
                .map(|r: &RankedUnit| unit_record(Some(r.rank), &r.metrics, period))
                .collect();
            let name = format!(
                "rankings-{}-{}.csv",
                level.as_str(),
                period.quarter_name().unwrap_or_default()
            );
            Ok((name, write_csv(&UNIT_HEADER, records)?))
        }
        .await,
    )
}

async fn volunteers_csv(
    State(x): State<Export>,
    headers: HeaderMap,
    Query(p): Query<RankingParams>,
) -> Response {
    respond(
        async {
            let caller = x.caller(&headers).await?;
            let period = quarter(p.quarter.as_deref())?;
            let ranked = x
                .orders
                .volunteer_rankings(&caller, period, MAX_RANKING)
                .await?;
            let records = ranked.iter().map(volunteer_record).collect();
            let name = format!(
                "volunteer-rankings-{}.csv",
                period.quarter_name().unwrap_or_default()
            );
            Ok((name, write_csv(&VOLUNTEER_HEADER, records)?))
        }
        .await,
    )
}
