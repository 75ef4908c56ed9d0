//! `matchCandidates` in GraphQL: ranked candidates for dispatch, staff only, each with its
//! score explained in English and Chinese.

use async_graphql::connection::{Connection, Edge, EmptyFields, OpaqueCursor};
use async_graphql::{Context, ID, Object, SimpleObject};
use chrono::{DateTime, Utc};
use tongxin_platform::ApiError;
use tongxin_platform::graphql::ContextExt;
use uuid::Uuid;

use super::volunteer::{VolunteerLocationInput, VolunteerNode};
use crate::service::{CandidateView, MatchQuery, Volunteers};

/// Why a candidate scored what they did, part by part (points out of 100).
#[derive(SimpleObject)]
pub struct ScoreExplanation {
    /// Points for walking distance.
    pub distance_points: f64,
    /// The most points distance can give.
    pub distance_max_points: f64,
    /// Points for current load (fewer open assignments is better).
    pub load_points: f64,
    /// The most points load can give.
    pub load_max_points: f64,
    /// Points for citizens' ratings.
    pub rating_points: f64,
    /// The most points rating can give.
    pub rating_max_points: f64,
    /// The rating actually scored: the average pulled towards a prior by the number of
    /// ratings, so one 5-star rating does not beat many 4.8s.
    pub adjusted_rating: f64,
    /// The explanation in English.
    pub text_en: String,
    /// The explanation in Chinese.
    pub text_zh: String,
}

/// One ranked candidate.
pub struct MatchCandidate(CandidateView);

/// One ranked candidate for a service: the volunteer, their score and why.
#[Object]
impl MatchCandidate {
    /// The volunteer (phone masked unless your scope covers them).
    async fn volunteer(&self) -> VolunteerNode {
        VolunteerNode(self.0.volunteer.clone())
    }

    /// Score out of 100, higher is better.
    async fn score(&self) -> f64 {
        self.0.found.explanation.total_points
    }

    /// Estimated walking minutes to the place of service.
    async fn walking_minutes(&self) -> f64 {
        self.0.found.explanation.walking_minutes
    }

    /// Straight-line distance in metres.
    async fn distance_m(&self) -> f64 {
        self.0.found.explanation.distance_m
    }

    /// Orders accepted and not yet completed.
    async fn open_assignments(&self) -> i32 {
        i32::from(self.0.found.explanation.open_assignments)
    }

    /// Average rating (1-5); null without ratings.
    async fn rating_average(&self) -> Option<f64> {
        self.0.found.explanation.rating_average
    }

    /// Number of ratings.
    async fn rating_count(&self) -> i64 {
        i64::from(self.0.found.explanation.rating_count)
    }

    /// How the score came about.
    async fn explanation(&self) -> ScoreExplanation {
        let e = &self.0.found.explanation;
        ScoreExplanation {
            distance_points: e.distance_points,
            distance_max_points: e.distance_max_points,
            load_points: e.load_points,
            load_max_points: e.load_max_points,
            rating_points: e.rating_points,
            rating_max_points: e.rating_max_points,
            adjusted_rating: e.adjusted_rating,
            text_en: crate::present::matching::english(e),
            text_zh: crate::present::matching::chinese(e),
        }
    }
}

/// The matching part of the root query.
#[derive(Default)]
pub struct MatchingQuery;

fn instant(text: &str, field: &str) -> Result<DateTime<Utc>, ApiError> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| ApiError::bad_input(format!("{field}: not an RFC 3339 time")))
}

#[Object]
impl MatchingQuery {
    /// Who should go: active volunteers who have every skill and are available for the
    /// whole window, best first by walking distance, open assignments and rating, each
    /// with the explanation of their score. Staff only. The result is one ranked page.
    #[allow(clippy::too_many_arguments)]
    async fn match_candidates(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Where the service is needed.")] location: VolunteerLocationInput,
        #[graphql(
            desc = "Skills required, all of them (codes or Chinese labels).",
            default
        )]
        skills: Vec<String>,
        #[graphql(desc = "When the service starts (RFC 3339).")] window_start: String,
        #[graphql(desc = "When it ends (RFC 3339); at most 7 days after the start.")]
        window_end: String,
        #[graphql(desc = "How many candidates, 1 to 100 (default 10).", default = 10)] first: i32,
        #[graphql(
            desc = "Volunteers to leave out, e.g. who declined this order.",
            default
        )]
        exclude: Vec<ID>,
    ) -> async_graphql::Result<
        Connection<OpaqueCursor<usize>, MatchCandidate, EmptyFields, EmptyFields>,
    > {
        let actor = ctx.principal()?.clone();
        let volunteers = ctx.data::<Volunteers>()?;
        let exclude = exclude
            .iter()
            .map(|id| {
                Uuid::parse_str(id.as_str())
                    .map_err(|_| ApiError::bad_input("exclude: not a volunteer id"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let query = MatchQuery {
            lat: location.lat,
            lon: location.lon,
            skills,
            window_start: instant(&window_start, "window_start")?,
            window_end: instant(&window_end, "window_end")?,
            count: tongxin_platform::graphql::page_size(
                "first",
                Some(first),
                crate::service::matcher::MAX_COUNT as u64,
            )?
            .and_then(|f| u32::try_from(f).ok())
            .unwrap_or(10),
            exclude,
        };
        let found = volunteers.match_candidates(&actor, query).await?;
        let mut connection = Connection::new(false, false);
        connection.edges.extend(
            found
                .into_iter()
                .enumerate()
                .map(|(rank, c)| Edge::new(OpaqueCursor(rank), MatchCandidate(c))),
        );
        Ok(connection)
    }
}
