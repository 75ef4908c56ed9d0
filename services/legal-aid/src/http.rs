//! Plain routes: each provider's calendar feed (`GET /legal-aid/calendar/<secret>.ics`),
//! which a phone's calendar app fetches without a bearer token: the secret in the URL is the
//! credential.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tongxin_platform::ApiError;

use crate::service::LegalAid;

/// The feed route.
pub fn routes(legal_aid: LegalAid) -> Router {
    Router::new()
        .route("/legal-aid/calendar/{file}", get(feed))
        .with_state(legal_aid)
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
