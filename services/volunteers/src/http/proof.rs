//! The service-record proof: a printable HTML page of a volunteer's approved service for a
//! period, with the issuing unit, the date of issue and a verification code.
//!
//! `GET /volunteers/{id}/record?from=YYYY-MM-DD&to=YYYY-MM-DD` with the same bearer token as
//! GraphQL; the volunteer themself or staff whose scope covers them. The page is rendered
//! with maud, which escapes every interpolated value, so a place or content text written by
//! a recorder cannot inject markup. Every page issued is registered (see
//! [`crate::service::Volunteers::issue_proof`]) under a short random public code printed on
//! it, which anyone holding the paper checks with the `verifyServiceRecord` query; beside
//! it the page shows a content check (an HMAC of its content, also kept in the register).

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use chrono::NaiveDate;
use maud::{DOCTYPE, Markup, PreEscaped, html};
use serde::Deserialize;
use tongxin_platform::ApiError;
use tongxin_platform::auth::{Verifier, bearer};
use tongxin_platform::error::ErrorCode;
use uuid::Uuid;

use crate::domain::record_code::RecordCode;
use crate::error::VolunteersError;
use crate::service::Volunteers;
use crate::service::ledger::RecordProof;

/// The path of the proof of volunteer `id` for `from`..=`to`.
pub fn url(id: Uuid, from: NaiveDate, to: NaiveDate) -> String {
    format!("/volunteers/{id}/record?from={from}&to={to}")
}

struct ProofState {
    volunteers: Volunteers,
    verifier: Arc<Verifier>,
}

/// The route, verifying tokens with `verifier`.
pub fn routes(volunteers: Volunteers, verifier: Arc<Verifier>) -> Router {
    Router::new()
        .route("/volunteers/{id}/record", get(record))
        .with_state(Arc::new(ProofState {
            volunteers,
            verifier,
        }))
}

#[derive(Deserialize)]
struct Period {
    from: Option<String>,
    to: Option<String>,
}

fn error(err: ApiError) -> Response {
    let status = match err.code {
        ErrorCode::BadUserInput => StatusCode::BAD_REQUEST,
        ErrorCode::Unauthenticated => StatusCode::UNAUTHORIZED,
        ErrorCode::Forbidden => StatusCode::FORBIDDEN,
        ErrorCode::NotFound => StatusCode::NOT_FOUND,
        ErrorCode::Conflict => StatusCode::CONFLICT,
        ErrorCode::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        ErrorCode::Internal => StatusCode::INTERNAL_SERVER_ERROR,
    };
    let mut response = (status, format!("{}: {}", err.code.as_str(), err.message)).into_response();
    if status == StatusCode::UNAUTHORIZED {
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    }
    response
}

fn date(field: &str, value: Option<&str>) -> Result<NaiveDate, ApiError> {
    let value =
        value.ok_or_else(|| ApiError::bad_input(format!("{field}: required (YYYY-MM-DD)")))?;
    NaiveDate::parse_from_str(value, "%Y-%m-%d")
        .map_err(|_| ApiError::bad_input(format!("{field}: must be a date like 2026-01-31")))
}

async fn record(
    State(state): State<Arc<ProofState>>,
    Path(id): Path<String>,
    Query(period): Query<Period>,
    headers: HeaderMap,
) -> Response {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(bearer);
    let Some(token) = token else {
        return error(ApiError::unauthenticated());
    };
    let principal = match state.verifier.verify(token) {
        Ok(p) => p,
        Err(_) => return error(ApiError::unauthenticated()),
    };
    let Ok(id) = Uuid::parse_str(&id) else {
        return error(ApiError::bad_input("id: not a volunteer id"));
    };
    let (from, to) = match (
        date("from", period.from.as_deref()),
        date("to", period.to.as_deref()),
    ) {
        (Ok(f), Ok(t)) => (f, t),
        (Err(e), _) | (_, Err(e)) => return error(e),
    };
    let result: Result<RecordProof, VolunteersError> = async {
        let caller = state.volunteers.caller(Some(&principal)).await?;
        state.volunteers.record_proof(&caller, id, from, to).await
    }
    .await;
    match result {
        Ok(proof) => {
            let content = canonical(&proof);
            let digest = state.volunteers.proof_digest(&content);
            // No page without its register row: a code on paper that verifies nothing
            // would be worse than none.
            let public = match state
                .volunteers
                .issue_proof(&principal.subject, &proof, digest)
                .await
            {
                Ok(code) => code,
                Err(e) => return error(e.into()),
            };
            let check = state.volunteers.proof_code(&content);
            let mut response = Html(page(&proof, &public, &check).into_string()).into_response();
            // A personal record: never kept by shared caches.
            response.headers_mut().insert(
                header::CACHE_CONTROL,
                HeaderValue::from_static("private, no-store"),
            );
            response
        }
        Err(e) => error(e.into()),
    }
}

/// The content the content check (and the digest in the register) covers, one field per line.
pub fn canonical(p: &RecordProof) -> String {
    let mut out = format!(
        "{}\n{}\n{}\n{}\n{}\n{}\n{}\n{}\n{}\n",
        p.volunteer.volunteer_no,
        p.volunteer.name,
        p.from,
        p.to,
        p.issuing_unit,
        p.issued_on,
        p.period_hours,
        p.totals.approved,
        p.totals.star_level
    );
    for e in &p.entries {
        out.push_str(&format!(
            "{}|{}|{}|{}|{}\n",
            e.id, e.service_date, e.quarters, e.place, e.content
        ));
    }
    out
}

const PRINT_CSS: &str = r#"
body { font-family: "Noto Serif CJK SC", "Songti SC", serif; margin: 2rem auto; max-width: 48rem; color: #111; }
h1 { text-align: center; font-size: 1.6rem; margin-bottom: 0.2rem; }
.sub { text-align: center; color: #555; margin-top: 0; }
table { border-collapse: collapse; width: 100%; margin: 1rem 0; }
th, td { border: 1px solid #444; padding: 0.3rem 0.5rem; text-align: left; vertical-align: top; }
th { background: #eee; }
dl { display: grid; grid-template-columns: max-content auto; gap: 0.2rem 1rem; }
dt { font-weight: bold; }
.code { font-family: monospace; letter-spacing: 0.1em; }
.foot { margin-top: 2rem; display: flex; justify-content: space-between; }
@media print {
  body { margin: 0; max-width: none; }
  .noprint { display: none; }
  th { background: none; }
  tr { page-break-inside: avoid; }
  @page { size: A4; margin: 18mm; }
}
"#;

fn source_label(source: &str) -> &'static str {
    match source {
        "order" => "点单服务 order",
        "activity" => "活动 activity",
        _ => "登记 manual",
    }
}

/// The page, with its public verification code and the content check beside it.
pub fn page(p: &RecordProof, code: &RecordCode, check: &str) -> Markup {
    html! {
        (DOCTYPE)
        html lang="zh-CN" {
            head {
                meta charset="utf-8";
                title { "志愿服务记录证明 " (p.volunteer.volunteer_no) }
                style { (PreEscaped(PRINT_CSS)) }
            }
            body {
                h1 { "志愿服务记录证明" }
                p.sub { "Volunteer service record" }
                dl {
                    dt { "姓名 Name" } dd { (p.volunteer.name) }
                    dt { "志愿者编号 Volunteer no." } dd { (p.volunteer.volunteer_no) }
                    dt { "期间 Period" } dd { (p.from) " — " (p.to) }
                    dt { "期间时长 Hours in period" } dd { (p.period_hours) " 小时 h" }
                    dt { "累计时长 Total approved hours" } dd { (p.totals.approved) " 小时 h" }
                    dt { "星级 Star level" } dd { (p.totals.star_level) " ★" }
                }
                table {
                    thead {
                        tr {
                            th { "日期 Date" } th { "时长 Hours" } th { "地点 Place" }
                            th { "内容 Content" } th { "来源 Source" } th { "评价 Evaluation" }
                        }
                    }
                    tbody {
                        @if p.entries.is_empty() {
                            tr { td colspan="6" { "本期间无已审核的服务记录 No approved service in this period." } }
                        }
                        @for e in &p.entries {
                            tr {
                                td { (e.service_date) }
                                td { (f64::from(e.quarters) / 4.0) }
                                td { (e.place) }
                                td { (e.content) }
                                td { (source_label(&e.source)) }
                                td { (e.evaluation.as_deref().unwrap_or("")) }
                            }
                        }
                    }
                }
                div.foot {
                    div {
                        p { "出具单位 Issuing unit: " strong { (p.issuing_unit) } }
                        p { "出具日期 Date of issue: " (p.issued_on) }
                    }
                    div {
                        p { "验证码 Verification code:" }
                        p.code { (code) }
                        p.check { small { "内容校验 Content check: " (check) } }
                    }
                }
                p { small {
                    "凭验证码可查验本证明（查询 verifyServiceRecord）。"
                    "Anyone may check this record with its verification code (query verifyServiceRecord)."
                } }
                p.noprint { small { "本证明免费出具。This record is issued free of charge." } }
            }
        }
    }
}
