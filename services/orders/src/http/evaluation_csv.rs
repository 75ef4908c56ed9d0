//! CSV export of the quarterly evaluation (每季一次评比) for spreadsheets:
//! `GET /orders/evaluation.csv?level=courtyard&quarter=2026Q3[&version=2]`, one row per unit
//! of the level below the caller's unit, best first, with the points of every criterion.
//! Published versions are frozen; without `version` the newest (or the live ranking before
//! publication). Bearer token and scope as in GraphQL; errors as in [`super::metrics_csv`].

use std::sync::Arc;

use axum::Router;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::get;
use serde::Deserialize;
use tongxin_platform::ApiError;
use tongxin_platform::auth::Verifier;

use super::metrics_csv::{Export, respond, write_csv};
use crate::domain::Level;
use crate::domain::evaluation::{CRITERIA, Evaluation};
use crate::error::OrdersError;
use crate::service::Orders;

/// The route.
pub fn routes(orders: Orders, verifier: Arc<Verifier>) -> Router {
    Router::new()
        .route("/orders/evaluation.csv", get(evaluation_csv))
        .with_state(Export { orders, verifier })
}

/// Query string of `/orders/evaluation.csv`.
#[derive(Debug, Deserialize)]
struct Params {
    level: Option<String>,
    quarter: Option<String>,
    version: Option<i32>,
}

/// The header row: the unit, then the points per criterion (the names of
/// [`crate::domain::evaluation::Criterion::as_str`]).
pub fn header() -> Vec<String> {
    let mut h: Vec<String> = [
        "rank",
        "score",
        "unit_id",
        "unit_path",
        "level",
        "quarter",
        "version",
        "orders_received",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    h.extend(CRITERIA.iter().map(|c| format!("{}_points", c.as_str())));
    h
}

fn record(e: &Evaluation, quarter: &str, version: Option<i32>) -> Vec<String> {
    let mut r = vec![
        e.rank.to_string(),
        format!("{:.1}", e.score),
        e.unit_id.to_string(),
        e.unit_path.clone(),
        e.level.clone(),
        quarter.to_owned(),
        version.map(|v| v.to_string()).unwrap_or_default(),
        e.orders_received.to_string(),
    ];
    r.extend(CRITERIA.iter().map(|c| {
        e.lines
            .iter()
            .find(|l| l.criterion == *c)
            .map(|l| format!("{:.2}", l.points))
            .unwrap_or_default()
    }));
    r
}

async fn evaluation_csv(
    State(x): State<Export>,
    headers: HeaderMap,
    Query(p): Query<Params>,
) -> Response {
    respond(
        async {
            let caller = x.caller(&headers).await?;
            let level =
                Level::parse(p.level.as_deref().unwrap_or_default()).map_err(OrdersError::from)?;
            let quarter = p
                .quarter
                .ok_or_else(|| ApiError::bad_input("quarter: is required (e.g. 2026Q3)"))?;
            let ranking = x
                .orders
                .evaluation_ranking(&caller, quarter.trim(), level, p.version)
                .await?;
            let version = ranking.published.as_ref().map(|v| v.version);
            let records = ranking
                .entries
                .iter()
                .map(|e| record(e, &ranking.quarter, version))
                .collect();
            let header = header();
            let header: Vec<&str> = header.iter().map(String::as_str).collect();
            let name = format!(
                "evaluation-{}-{}{}.csv",
                level.as_str(),
                ranking.quarter,
                version.map(|v| format!("-v{v}")).unwrap_or_default()
            );
            Ok((name, write_csv(&header, records)?))
        }
        .await,
    )
}
