//! "Who should go?": ranked candidates for dispatch, each with the explanation of its
//! score, answered from this process's candidate index ([`crate::service::matcher`]) and then one
//! batched read of the chosen volunteers' records.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use tongxin_platform::auth::Principal;
use tongxin_platform::geo::Coordinates;
use uuid::Uuid;

use super::{VolunteerView, Volunteers};
use crate::domain::availability::{CHINA_STANDARD_TIME, TimeWindow};
use crate::domain::matching::Match;
use crate::domain::{DomainError, VolunteerId};
use crate::error::VolunteersError;
use crate::service::matcher::MAX_COUNT;

/// A matching request before parsing.
#[derive(Debug, Clone)]
pub struct MatchQuery {
    /// Where the service is needed: latitude.
    pub lat: f64,
    /// Longitude.
    pub lon: f64,
    /// Skill codes or labels; all required.
    pub skills: Vec<String>,
    /// When the service starts.
    pub window_start: DateTime<Utc>,
    /// When it ends.
    pub window_end: DateTime<Utc>,
    /// How many candidates, 1 to 100.
    pub count: u32,
    /// Volunteers to leave out (e.g. who declined this order).
    pub exclude: Vec<Uuid>,
}

/// One ranked candidate with their record as the caller may see it.
#[derive(Debug, Clone)]
pub struct CandidateView {
    /// Score and explanation.
    pub found: Match,
    /// The record (phone masked by the caller's scope).
    pub volunteer: VolunteerView,
}

impl Volunteers {
    /// Ranked candidates for staff (dispatchers). BAD_USER_INPUT for an unknown skill, an
    /// empty, reversed or over-long window, a count outside 1 to 100 or a bad location.
    #[tracing::instrument(skip_all, fields(actor = %actor.subject, count = query.count))]
    pub async fn match_candidates(
        &self,
        actor: &Principal,
        query: MatchQuery,
    ) -> Result<Vec<CandidateView>, VolunteersError> {
        if !actor.is_staff() {
            return Err(VolunteersError::Forbidden(
                "matching candidates is for staff who dispatch".to_owned(),
            ));
        }
        let count = usize::try_from(query.count).unwrap_or(0);
        if !(1..=MAX_COUNT).contains(&count) {
            return Err(DomainError::invalid("count", format!("must be 1 to {MAX_COUNT}")).into());
        }
        let location = Coordinates::parse(query.lat, query.lon)
            .map_err(|e| DomainError::invalid("location", e.to_string()))?;
        let required = self.catalog.parse_set(&query.skills)?;
        let window = TimeWindow::new(query.window_start, query.window_end, CHINA_STANDARD_TIME)?;
        if query.exclude.len() > 1000 {
            return Err(DomainError::invalid("exclude", "at most 1000 volunteers").into());
        }
        let exclude: HashSet<VolunteerId> = query.exclude.into_iter().map(VolunteerId).collect();
        let found = self
            .matcher
            .find(location, required, &window, count, &exclude);
        let ids: Vec<Uuid> = found.iter().map(|m| m.volunteer_id.0).collect();
        let caller = self.caller(Some(actor)).await?;
        let mut views: HashMap<Uuid, VolunteerView> = self
            .volunteers_by_id(&caller, &ids)
            .await?
            .into_iter()
            .map(|v| (v.row.id, v))
            .collect();
        // A volunteer erased or changed after the index looked is left out rather than shown
        // with stale facts; the next refresh drops them from the index.
        Ok(found
            .into_iter()
            .filter_map(|m| {
                let volunteer = views.remove(&m.volunteer_id.0)?;
                (volunteer.row.erased_at.is_none() && volunteer.row.status == "active").then_some(
                    CandidateView {
                        found: m,
                        volunteer,
                    },
                )
            })
            .collect())
    }
}
