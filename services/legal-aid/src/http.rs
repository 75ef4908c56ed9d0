//! Plain routes: each provider's calendar feed (`GET /legal-aid/calendar/<secret>.ics`),
//! which a phone's calendar app fetches without a bearer token: the secret in the URL is the
//! credential; and the counts as CSV for spreadsheets, like the orders' metrics export:
//! `GET /legal-aid/counts.csv?stationId=…` (or `unitId=…`) `&from=…&to=…` (RFC 3339)
//! `&groupBy=all|service|provider|month`, with a bearer token and the scope rules of
//! `legalAidCounts`; errors answer with the HTTP status of their code and `CODE: message`.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use tongxin_platform::ApiError;
use tongxin_platform::auth::{Verifier, bearer};
use uuid::Uuid;

use crate::domain::StationId;
use crate::service::consultations::{CountsGroup, CountsScope};

use crate::service::LegalAid;

/// The feed and CSV routes.
pub fn routes(legal_aid: LegalAid, verifier: Arc<Verifier>) -> Router {
    Router::new()
        .route("/legal-aid/calendar/{file}", get(feed))
        .with_state(legal_aid.clone())
        .merge(
            Router::new()
                .route("/legal-aid/counts.csv", get(counts_csv))
                .with_state((legal_aid, verifier)),
        )
}

/// Query string of `/legal-aid/counts.csv`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct CountsParams {
    station_id: Option<String>,
    unit_id: Option<String>,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
    group_by: Option<String>,
}

/// The header row of the counts export.
pub const COUNTS_HEADER: [&str; 14] = [
    "group",
    "from",
    "to",
    "consultations",
    "referrals",
    "legal_aid_cases",
    "notarizations",
    "mediations",
    "health_checks",
    "no_shows",
    "no_show_rate",
    "cases",
    "mediations_decided",
    "mediation_agreement_rate",
];

fn rate(part: u32, whole: u32) -> String {
    if whole == 0 {
        String::new()
    } else {
        format!("{:.2}", f64::from(part) / f64::from(whole))
    }
}

async fn counts_csv(
    State((legal_aid, verifier)): State<(LegalAid, Arc<Verifier>)>,
    headers: HeaderMap,
    Query(p): Query<CountsParams>,
) -> Response {
    let result: Result<Vec<u8>, ApiError> = async {
        let token = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(bearer)
            .ok_or_else(ApiError::unauthenticated)?;
        let principal = verifier
            .verify(token)
            .map_err(|_| ApiError::unauthenticated())?;
        let caller = legal_aid.caller(Some(&principal)).await?;
        let id = |text: &str, field: &'static str| {
            Uuid::parse_str(text).map_err(|_| ApiError::bad_input(format!("{field}: not an id")))
        };
        let scope = match (p.station_id.as_deref(), p.unit_id.as_deref()) {
            (Some(s), None) => CountsScope::Station(StationId(id(s, "stationId")?)),
            (None, Some(u)) => CountsScope::Unit(id(u, "unitId")?),
            _ => {
                return Err(ApiError::bad_input(
                    "stationId: give exactly one of stationId and unitId",
                ));
            }
        };
        let from = p
            .from
            .ok_or_else(|| ApiError::bad_input("from: is required"))?;
        let to = p.to.ok_or_else(|| ApiError::bad_input("to: is required"))?;
        let group = match p.group_by.as_deref().unwrap_or("all") {
            "all" => CountsGroup::All,
            "service" => CountsGroup::Service,
            "provider" => CountsGroup::Provider,
            "month" => CountsGroup::Month,
            _ => {
                return Err(ApiError::bad_input(
                    "groupBy: one of all, service, provider, month",
                ));
            }
        };
        let counts = legal_aid.counts(&caller, scope, from, to, group).await?;
        let mut writer = csv::Writer::from_writer(Vec::new());
        let internal = |e: csv::Error| ApiError::internal(&e);
        writer.write_record(COUNTS_HEADER).map_err(internal)?;
        for (g, c) in counts {
            writer
                .write_record([
                    g,
                    from.to_rfc3339(),
                    to.to_rfc3339(),
                    c.consultations.to_string(),
                    c.referrals.to_string(),
                    c.legal_aid_cases.to_string(),
                    c.notarizations.to_string(),
                    c.mediations.to_string(),
                    c.health_checks.to_string(),
                    c.no_shows.to_string(),
                    rate(c.no_shows, c.due),
                    c.cases.to_string(),
                    c.mediations_decided.to_string(),
                    rate(c.mediation_agreements, c.mediations_decided),
                ])
                .map_err(internal)?;
        }
        writer
            .into_inner()
            .map_err(|e| ApiError::internal(&e.error().to_string()))
    }
    .await;
    match result {
        Ok(body) => (
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
                (
                    header::CONTENT_DISPOSITION,
                    "attachment; filename=\"legal-aid-counts.csv\"",
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

async fn feed(State(legal_aid): State<LegalAid>, Path(file): Path<String>) -> Response {
    let Some(token) = file.strip_suffix(".ics") else {
        return StatusCode::NOT_FOUND.into_response();
    };
    match legal_aid.calendar_feed(token).await {
        Ok(body) => (
            [(header::CONTENT_TYPE, "text/calendar; charset=utf-8")],
            body,
        )
            .into_response(),
        Err(e) => {
            let api = ApiError::from(e);
            (api.code.http_status(), api.message).into_response()
        }
    }
}
