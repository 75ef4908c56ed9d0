//! The 15-minute circle in GraphQL: `venuesWithin`, `coveringCourtyard`, `coverage`,
//! `coverageMap` (drawn by [`super::coverage_map`]), the district walking model and the
//! resident layer.

use async_graphql::{Context, Enum, ID, Object, SimpleObject};
use tongxin_platform::ApiError;
use tongxin_platform::geo::Coordinates;
use tongxin_platform::graphql::ContextExt;

use super::org::{Location, OrgUnitNode};
use super::venue::{VenueKindGql, VenueNode, load_venue};
use crate::domain::DomainError;
use crate::domain::org::{OrgUnitId, UnitKind};
use crate::error::VenuesError;
use crate::service::Venues;
use crate::service::circle::{Coverage, Place, Reached};
use crate::store::org_units::OrgUnit;

/// How the circle is travelled.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug, Default)]
pub enum TravelMode {
    /// On foot, at the district's walking speed and detour factor.
    #[default]
    Walk,
}

/// A place within reach of a point.
pub struct ReachedPlace(Reached);

/// A place within reach of a point: a venue or a courtyard, with its walking time.
#[Object]
impl ReachedPlace {
    /// The place's name.
    async fn name(&self) -> &str {
        self.0.place.name()
    }

    /// What kind of place it is (a courtyard without a registered venue counts as a
    /// courtyard venue).
    async fn kind(&self) -> VenueKindGql {
        self.0.place.kind().into()
    }

    /// The venue, when the place is a registered venue.
    async fn venue(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<VenueNode>> {
        match &self.0.place {
            Place::Venue(venue, _) => {
                load_venue(ctx, crate::domain::venue::VenueId(venue.id)).await
            }
            Place::Courtyard(_) => Ok(None),
        }
    }

    /// Where it is.
    async fn location(&self) -> Location {
        let at = self.0.place.at();
        Location {
            lat: at.lat(),
            lon: at.lon(),
        }
    }

    /// The org unit the place belongs to (for a courtyard venue: the courtyard).
    async fn org_unit(&self) -> OrgUnitNode {
        OrgUnitNode(self.0.place.unit().clone())
    }

    /// Walking time in minutes (distance × detour factor ÷ walking speed).
    async fn walking_minutes(&self) -> f64 {
        self.0.minutes
    }

    /// Straight-line distance in metres.
    async fn distance_m(&self) -> f64 {
        self.0.distance_m
    }
}

/// The district's walking model for the circle.
#[derive(SimpleObject)]
pub struct WalkingSettings {
    /// District code.
    pub district: String,
    /// Walking speed in km/h (default 4.8).
    pub speed_kmh: f64,
    /// Street distance ÷ straight-line distance (default 1.3; hilly districts more).
    pub detour_factor: f64,
}

/// A gap: uncovered residents close together.
#[derive(SimpleObject)]
pub struct UncoveredCluster {
    /// Its centre.
    pub centroid: Location,
    /// Residents in it.
    pub residents: u64,
    /// Resident points in it.
    pub points: u64,
}

/// A suggested site for a new venue.
#[derive(SimpleObject)]
pub struct SuggestedSite {
    /// Where.
    pub location: Location,
    /// Residents it would newly cover.
    pub newly_covered: u64,
    /// The unit's coverage share once this and every earlier suggestion is built.
    pub cumulative_share: f64,
}

/// How well the circle covers a unit's residents.
#[derive(SimpleObject)]
pub struct CoverageReport {
    /// The unit.
    pub unit: OrgUnitNode,
    /// Minutes of walk the circle was drawn with.
    pub minutes: f64,
    /// Residents in the unit's subtree.
    pub residents: u64,
    /// Residents with a place within reach.
    pub covered: u64,
    /// covered ÷ residents, 0 to 1; null without residents.
    pub share: Option<f64>,
    /// The largest uncovered clusters, heaviest first (at most 20).
    pub uncovered_clusters: Vec<UncoveredCluster>,
    /// Suggested sites, best first.
    pub suggested_sites: Vec<SuggestedSite>,
}

fn point(lat: f64, lon: f64) -> Result<Coordinates, VenuesError> {
    Coordinates::parse(lat, lon).map_err(|e| DomainError::from(e).into())
}

/// The unit asked for, or the only district center when none is given.
async fn unit_or_district(venues: &Venues, unit_id: Option<ID>) -> Result<OrgUnit, VenuesError> {
    match unit_id {
        Some(id) => {
            venues
                .existing_unit(OrgUnitId::parse(id.as_str(), "unitId")?)
                .await
        }
        None => {
            let centers =
                crate::store::org_units::all_of_kind(venues.db(), UnitKind::Center).await?;
            match <[OrgUnit; 1]>::try_from(centers) {
                Ok([center]) => Ok(center),
                Err(_) => Err(DomainError::invalid(
                    "unitId",
                    "is required when more than one district is served",
                )
                .into()),
            }
        }
    }
}

fn report(unit: OrgUnit, coverage: Coverage) -> CoverageReport {
    CoverageReport {
        unit: OrgUnitNode(unit),
        minutes: coverage.minutes,
        residents: coverage.total,
        covered: coverage.covered,
        share: coverage.share,
        uncovered_clusters: coverage
            .clusters
            .iter()
            .take(20)
            .map(|c| UncoveredCluster {
                centroid: Location {
                    lat: c.centroid.lat(),
                    lon: c.centroid.lon(),
                },
                residents: c.weight,
                points: c.residents as u64,
            })
            .collect(),
        suggested_sites: coverage
            .suggestions
            .iter()
            .map(|s| SuggestedSite {
                location: Location {
                    lat: s.at.lat(),
                    lon: s.at.lon(),
                },
                newly_covered: s.newly_covered_weight,
                cumulative_share: s.cumulative_share,
            })
            .collect(),
    }
}

/// Circle queries.
#[derive(Default)]
pub struct CircleQuery;

#[Object]
impl CircleQuery {
    /// Places reachable from a point within `minutes` (default 15), nearest first.
    async fn venues_within(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Latitude of the starting point (WGS 84).")] lat: f64,
        #[graphql(desc = "Longitude of the starting point (WGS 84).")] lon: f64,
        #[graphql(desc = "Travel time in minutes (default 15).")] minutes: Option<f64>,
        #[graphql(default, desc = "How the time is measured (default walking).")] mode: TravelMode,
    ) -> async_graphql::Result<Vec<ReachedPlace>> {
        let _ = mode;
        let venues = ctx.data::<Venues>()?;
        let found = venues.circle().within(point(lat, lon)?, minutes).await?;
        Ok(found.into_iter().map(ReachedPlace).collect())
    }

    /// The courtyard whose circle covers the point, nearest first; null when none does.
    async fn covering_courtyard(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Latitude of the point (WGS 84).")] lat: f64,
        #[graphql(desc = "Longitude of the point (WGS 84).")] lon: f64,
        #[graphql(desc = "Circle size in walking minutes (default 15).")] minutes: Option<f64>,
    ) -> async_graphql::Result<Option<ReachedPlace>> {
        let venues = ctx.data::<Venues>()?;
        Ok(venues
            .circle()
            .covering_courtyard(point(lat, lon)?, minutes)
            .await?
            .map(ReachedPlace))
    }

    /// Coverage of a unit's residents (the whole district without `unitId`), its gaps and
    /// up to `suggestions` sites for new venues that would cover the most uncovered residents.
    async fn coverage(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The unit whose residents count (default: the whole district).")] unit_id: Option<ID>,
        #[graphql(desc = "Circle size in walking minutes (default 15).")] minutes: Option<f64>,
        #[graphql(default = 5, desc = "0 to 50.")] suggestions: i32,
    ) -> async_graphql::Result<CoverageReport> {
        let venues = ctx.data::<Venues>()?;
        let unit = unit_or_district(venues, unit_id).await?;
        let k = usize::try_from(suggestions)
            .map_err(|_| ApiError::bad_input("suggestions: must be 0 to 50"))?;
        let (coverage, _, _) = venues.circle().coverage(&unit, minutes, k).await?;
        Ok(report(unit, coverage))
    }

    /// The coverage picture as an SVG document: places, their circles, covered and uncovered
    /// residents and suggested sites. The whole district without `unitId`.
    async fn coverage_map(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The unit to draw (default: the whole district).")] unit_id: Option<ID>,
        #[graphql(desc = "Circle size in walking minutes (default 15).")] minutes: Option<f64>,
        #[graphql(default = 5, desc = "0 to 50.")] suggestions: i32,
    ) -> async_graphql::Result<String> {
        let venues = ctx.data::<Venues>()?;
        let unit = unit_or_district(venues, unit_id).await?;
        let k = usize::try_from(suggestions)
            .map_err(|_| ApiError::bad_input("suggestions: must be 0 to 50"))?;
        let map = venues.circle().coverage_map(&unit, minutes, k).await?;
        Ok(super::coverage_map::draw(&map))
    }

    /// A district's walking model.
    async fn walking_settings(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "District code, e.g. `rc`.")] district: String,
    ) -> async_graphql::Result<WalkingSettings> {
        let model = ctx
            .data::<Venues>()?
            .circle()
            .walking_model(&district)
            .await?;
        Ok(WalkingSettings {
            district,
            speed_kmh: model.speed_kmh(),
            detour_factor: model.detour_factor(),
        })
    }
}

/// Circle changes: staff of the district center.
#[derive(Default)]
pub struct CircleMutation;

#[Object]
impl CircleMutation {
    /// Sets a district's walking speed (km/h) and detour factor (≥ 1).
    async fn set_walking_settings(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "District code, e.g. `rc`.")] district: String,
        #[graphql(desc = "Walking speed in km/h, above 0.")] speed_kmh: f64,
        #[graphql(desc = "Street distance over straight-line distance, 1 or more.")] detour_factor: f64,
    ) -> async_graphql::Result<WalkingSettings> {
        let actor = ctx.principal()?;
        let model = ctx
            .data::<Venues>()?
            .circle()
            .set_walking_model(actor, &district, speed_kmh, detour_factor)
            .await?;
        Ok(WalkingSettings {
            district,
            speed_kmh: model.speed_kmh(),
            detour_factor: model.detour_factor(),
        })
    }

    /// Replaces a district's resident layer from CSV (`lat,lon,weight[,unit_path]`). A file
    /// with any broken row imports nothing and names the rows. Large files: use
    /// `tongxin import residents`.
    async fn import_resident_points(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "District code whose resident layer is replaced, e.g. `rc`.")]
        district: String,
        #[graphql(desc = "The CSV text: `lat,lon,weight[,unit_path]` per line.")] csv: String,
    ) -> async_graphql::Result<i32> {
        let actor = ctx.principal()?;
        let venues = ctx.data::<Venues>()?;
        let root = format!("/{district}");
        let scope = match actor.unit {
            Some(u) => venues.unit(OrgUnitId(u)).await?.map(|u| u.path),
            None => None,
        };
        crate::domain::org::may_manage(actor, scope.as_deref(), &root)
            .map_err(VenuesError::from)?;
        let n = venues.circle().import_residents(&district, &csv).await?;
        Ok(i32::try_from(n).unwrap_or(i32::MAX))
    }
}
