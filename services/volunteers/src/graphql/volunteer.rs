//! The registry in GraphQL: `Volunteer` (an entity keyed by `id`), `volunteer`,
//! `volunteers`, `myVolunteerRecord`, `registerVolunteer`.

use std::collections::HashMap;

use async_graphql::connection::{Connection, CursorType, Edge, EmptyFields, OpaqueCursor};
use async_graphql::dataloader::{DataLoader, Loader};
use async_graphql::{Context, Enum, ID, InputObject, Object};
use tongxin_platform::ApiError;
use tongxin_platform::graphql::{ContextExt, RequestMemo};
use uuid::Uuid;

use crate::domain::VolunteerId;
use crate::domain::matching::VolunteerStatus;
use crate::error::VolunteersError;
use crate::service::{Caller, NewVolunteer, VolunteerView, Volunteers};
use crate::store::volunteers::{self, Model};

/// Whether a volunteer takes assignments.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(name = "VolunteerStatus", remote = "VolunteerStatus")]
pub enum VolunteerStatusGql {
    /// Takes assignments.
    Active,
    /// Temporarily not taking assignments; the record is kept.
    Paused,
    /// No longer a volunteer; the record is kept for the service history.
    Left,
}

/// Gender as encoded in the ID-card number.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "crate::domain::id_card::Gender")]
pub enum Gender {
    /// 男
    Male,
    /// 女
    Female,
}

/// A registered volunteer as the caller may see them (see [`VolunteerView`]): the volunteer
/// themself and staff whose scope covers the home unit see the name, phone and personal
/// record; anyone else a masked name (`张*`), a masked phone (138****1234), the public number,
/// the home unit and the star level, with the personal fields null. The ID-card number is
/// only ever shown masked.
pub struct VolunteerNode(pub VolunteerView);

/// Home location of a volunteer (WGS-84 degrees).
#[derive(async_graphql::SimpleObject, Clone, Copy)]
#[graphql(name = "VolunteerLocation")]
pub struct VolunteerLocation {
    /// Latitude.
    pub lat: f64,
    /// Longitude.
    pub lon: f64,
}

/// A registered volunteer. Other subgraphs reference it by `id`.
#[Object(name = "Volunteer")]
impl VolunteerNode {
    /// Internal id (UUID).
    async fn id(&self) -> ID {
        ID(self.0.id().0.to_string())
    }

    /// The unified public volunteer number (not the ID-card number).
    async fn volunteer_no(&self) -> &str {
        self.0.volunteer_no()
    }

    /// Name: in full for the volunteer and staff in scope, otherwise masked (`张*`).
    async fn name(&self) -> &str {
        self.0.name()
    }

    /// Whether this caller sees the volunteer in full (the volunteer themself or staff whose
    /// scope covers the home unit); when false, the name is masked and the personal fields
    /// are null.
    async fn in_scope(&self) -> bool {
        self.0.in_full()
    }

    /// Gender, from the ID-card number; null outside scope.
    async fn gender(&self) -> async_graphql::Result<Option<Gender>> {
        use crate::domain::id_card::Gender as Stored;
        let Some(personal) = self.0.personal() else {
            return Ok(None);
        };
        // Anything but the two stored names is our data's fault: INTERNAL, logged with the
        // volunteer id only, never read as male.
        let stored = [Stored::Male, Stored::Female]
            .into_iter()
            .find(|g| g.as_str() == personal.row.gender)
            .ok_or_else(|| {
                tracing::error!(volunteer_id = %personal.row.id, "stored gender does not parse");
                ApiError::internal(&"stored gender does not parse")
            })?;
        Ok(Some(stored.into()))
    }

    /// The ID-card number with the 16 middle characters hidden; never in full.
    async fn id_card_number_masked(&self) -> &str {
        self.0.id_card_masked()
    }

    /// Mobile phone: in full for the volunteer and staff in scope, otherwise 138****1234.
    async fn phone(&self) -> &str {
        self.0.phone().as_str()
    }

    /// Whether `phone` is masked for this caller.
    async fn phone_masked(&self) -> bool {
        self.0.phone().is_masked()
    }

    /// Id of the home org unit (owned by the venues service).
    async fn home_unit_id(&self) -> ID {
        ID(self.0.home_unit().0.to_string())
    }

    /// Path of the home org unit, e.g. `/rc/changyuan/hongqiao`: the unit, never the home
    /// itself, so it is shown to everyone.
    async fn home_unit_path(&self) -> &str {
        self.0.home_unit().1
    }

    /// Exact home location; null outside scope (the home unit is as near as others get).
    async fn location(&self) -> Option<VolunteerLocation> {
        self.0.personal().map(|p| VolunteerLocation {
            lat: p.row.lat,
            lon: p.row.lon,
        })
    }

    /// Skill codes from the managed catalog, e.g. `legal`, `elder_care`; null outside scope.
    async fn skills(&self) -> Option<&[String]> {
        self.0.personal().map(|p| p.skills)
    }

    /// Weekly availability in canonical text, e.g. `Sat 09:00-12:00`; null outside scope.
    async fn availability(&self) -> Option<&str> {
        self.0.personal().map(|p| p.row.availability.as_str())
    }

    /// Registry status.
    async fn status(&self) -> async_graphql::Result<VolunteerStatusGql> {
        // A stored status that is not one is our data's fault: INTERNAL, logged with the
        // volunteer id, never shown as ACTIVE.
        let status = VolunteerStatus::parse(self.0.status()).map_err(|_| {
            tracing::error!(volunteer_id = %self.0.id().0, "stored volunteer status does not parse");
            ApiError::internal(&"stored volunteer status does not parse")
        })?;
        Ok(status.into())
    }

    /// When the volunteer consented to the registration (RFC 3339); null outside scope.
    async fn consent_at(&self) -> Option<String> {
        self.0.personal().map(|p| p.row.consent_at.to_rfc3339())
    }

    /// Whether a guardian's consent is on record (required under 14, so it tells a minor);
    /// null outside scope.
    async fn has_guardian_consent(&self) -> Option<bool> {
        self.0.personal().map(|p| p.row.guardian_consent.is_some())
    }

    /// When registered (RFC 3339); null outside scope.
    async fn registered_at(&self) -> Option<String> {
        self.0.personal().map(|p| p.row.created_at.to_rfc3339())
    }

    /// The teams the volunteer belongs to, and whether they lead them; null outside scope.
    async fn teams(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<
        Option<
            Connection<OpaqueCursor<Uuid>, super::teams::MembershipNode, EmptyFields, EmptyFields>,
        >,
    > {
        match self.0.personal() {
            Some(p) => Ok(Some(super::teams::volunteer_teams(ctx, p.row.id).await?)),
            None => Ok(None),
        }
    }

    /// Approved and pending service hours; null unless the caller is the volunteer or staff
    /// whose scope covers them.
    async fn hours(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Option<super::ledger::HoursTotals>> {
        super::ledger::volunteer_hours(ctx, &self.0).await
    }

    /// Star level reached by approved hours (0 before the first threshold).
    async fn star_level(&self, ctx: &Context<'_>) -> async_graphql::Result<u8> {
        super::ledger::star_level(ctx, self.0.id().0).await
    }

    /// Path (on this service) of the printable service-record proof for a period, e.g.
    /// `/volunteers/{id}/record?from=2026-01-01&to=2026-12-31`; GET it with the same bearer
    /// token (the volunteer themself or staff in scope).
    async fn record_proof_url(
        &self,
        #[graphql(desc = "First day of the period.")] from: chrono::NaiveDate,
        #[graphql(desc = "Last day of the period.")] to: chrono::NaiveDate,
    ) -> async_graphql::Result<String> {
        Ok(super::ledger::record_proof_url(self.0.id().0, from, to)?)
    }

    /// When the volunteer asked for their personal data to be deleted (RFC 3339); null if
    /// they have not, and outside scope.
    async fn deletion_requested_at(&self) -> Option<String> {
        self.0
            .personal()
            .and_then(|p| p.row.deletion_requested_at)
            .map(|t| t.to_rfc3339())
    }

    /// The reason given with the deletion request, if any; only for the volunteer
    /// themself and staff whose scope covers them (null for anyone else).
    async fn deletion_reason(&self) -> Option<&str> {
        self.0
            .personal()
            .and_then(|p| p.row.deletion_reason.as_deref())
    }

    /// Whether the personal data was erased on the volunteer's request; the number and
    /// service record remain.
    async fn erased(&self) -> bool {
        self.0.erased()
    }
}

/// Loads volunteer rows by id in one query per batch; masking is applied per caller after.
pub struct VolunteerLoader(pub Volunteers);

impl Loader<Uuid> for VolunteerLoader {
    type Value = Model;
    type Error = async_graphql::Error;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Model>, Self::Error> {
        self.0.count_loader_batch();
        let rows = volunteers::get_many(self.0.db(), keys)
            .await
            .map_err(ApiError::from)?;
        Ok(rows.into_iter().map(|r| (r.id, r)).collect())
    }
}

pub(super) fn volunteer_id(id: &ID, field: &'static str) -> Result<VolunteerId, ApiError> {
    Uuid::parse_str(id.as_str())
        .map(VolunteerId)
        .map_err(|_| ApiError::bad_input(format!("{field}: not a volunteer id")))
}

/// The service and the caller, resolved once per request (see [`RequestMemo`]): a staff
/// scope not yet cached is a database read, which an `_entities` call with a hundred
/// references must not repeat a hundred times.
pub(super) async fn caller(ctx: &Context<'_>) -> async_graphql::Result<(Volunteers, Caller)> {
    let volunteers = ctx.data::<Volunteers>()?.clone();
    let principal = ctx.maybe_principal();
    let resolve = || volunteers.caller(principal);
    let caller = match ctx.data_opt::<RequestMemo>() {
        Some(memo) => memo.get_or_try_init(resolve).await?,
        None => resolve().await?,
    };
    Ok((volunteers, caller))
}

pub(super) async fn load(
    ctx: &Context<'_>,
    id: VolunteerId,
) -> async_graphql::Result<Option<VolunteerNode>> {
    let (volunteers, caller) = caller(ctx).await?;
    let loader = ctx.data::<DataLoader<VolunteerLoader>>()?;
    match loader.load_one(id.0).await? {
        Some(row) => Ok(Some(VolunteerNode(volunteers.view(&caller, row)?))),
        None => Ok(None),
    }
}

/// The registry's part of the root query.
#[derive(Default)]
pub struct RegistryQuery;

#[Object]
impl RegistryQuery {
    /// One volunteer; anyone may ask, personal data is masked by the caller's scope.
    async fn volunteer(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The volunteer id.")] id: ID,
    ) -> async_graphql::Result<Option<VolunteerNode>> {
        load(ctx, volunteer_id(&id, "id")?).await
    }

    /// The caller's own volunteer record (self-registered accounts); null if none.
    async fn my_volunteer_record(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Option<VolunteerNode>> {
        ctx.principal()?;
        let (volunteers, caller) = caller(ctx).await?;
        Ok(volunteers.my_record(&caller).await?.map(VolunteerNode))
    }

    /// Volunteers for staff, within their scope, ordered by id.
    async fn volunteers(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "Only volunteers of this unit and below (default: your whole scope); must be in your scope."
        )]
        unit_path: Option<String>,
        #[graphql(desc = "Only volunteers with this skill (code or label).")] skill: Option<String>,
        #[graphql(desc = "Only volunteers with this status.")] status: Option<VolunteerStatusGql>,
        #[graphql(desc = "Page size, 1 to 500 (default 50).")] first: Option<i32>,
        #[graphql(desc = "Cursor of the last edge of the previous page.")] after: Option<String>,
    ) -> async_graphql::Result<
        Connection<OpaqueCursor<Uuid>, VolunteerNode, EmptyFields, EmptyFields>,
    > {
        ctx.principal()?;
        let (volunteers, caller) = caller(ctx).await?;
        let after = match after {
            Some(cursor) => Some(
                OpaqueCursor::<Uuid>::decode_cursor(&cursor)
                    .map_err(|_| ApiError::bad_input("after: not a cursor from this field"))?
                    .0,
            ),
            None => None,
        };
        let first = tongxin_platform::graphql::page_size("first", first, crate::service::MAX_PAGE)?;
        let (views, more) = volunteers
            .list(
                &caller,
                unit_path.as_deref(),
                skill.as_deref(),
                status.map(Into::into),
                after,
                first,
            )
            .await?;
        let mut connection = Connection::new(after.is_some(), more);
        connection.edges.extend(
            views
                .into_iter()
                .map(|v| Edge::new(OpaqueCursor(v.id().0), VolunteerNode(v))),
        );
        Ok(connection)
    }

    /// Federation: resolves `Volunteer` references from other subgraphs (batched).
    #[graphql(entity)]
    async fn find_volunteer_by_id(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> async_graphql::Result<Option<VolunteerNode>> {
        load(ctx, volunteer_id(&id, "id")?).await
    }
}

/// A home location given by a client.
#[derive(InputObject)]
#[graphql(name = "VolunteerLocationInput")]
pub struct VolunteerLocationInput {
    /// Latitude, -90 to 90.
    pub lat: f64,
    /// Longitude, -180 to 180.
    pub lon: f64,
}

/// A new volunteer.
#[derive(InputObject)]
pub struct RegisterVolunteerInput {
    /// Name, 1 to 50 characters.
    pub name: String,
    /// The 18-character resident ID-card number; stored encrypted, never shown in full.
    pub id_card_number: String,
    /// Mobile phone, 11 digits (spaces, dashes and +86 are accepted).
    pub phone: String,
    /// Home org unit id (from the venues service).
    pub home_unit_id: ID,
    /// Home org unit path, e.g. `/rc/changyuan/hongqiao`.
    pub home_unit_path: String,
    /// Home location.
    pub location: VolunteerLocationInput,
    /// Skills from the managed catalog (codes or Chinese labels).
    #[graphql(default)]
    pub skills: Vec<String>,
    /// Weekly availability, e.g. `Sat,Sun 09:00-12:00; Mon-Fri 18:00-21:00`.
    #[graphql(default)]
    pub availability: String,
    /// The volunteer consents to the registration; must be true.
    pub consent: bool,
    /// The guardian's consent record (who gave it and how); required under 14.
    pub guardian_consent: Option<String>,
}

/// The registry's part of the root mutation.
#[derive(Default)]
pub struct RegistryMutation;

#[Object]
impl RegistryMutation {
    /// Registers a volunteer: staff whose scope covers the home unit, or a citizen or
    /// volunteer account registering itself. A second registration of the same ID-card
    /// number is a CONFLICT.
    async fn register_volunteer(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The new volunteer's record.")] input: RegisterVolunteerInput,
    ) -> async_graphql::Result<VolunteerNode> {
        let actor = ctx.principal()?.clone();
        let volunteers = ctx.data::<Volunteers>()?;
        let home_unit_id = Uuid::parse_str(input.home_unit_id.as_str())
            .map_err(|_| ApiError::bad_input("home_unit_id: not a unit id"))?;
        let view = volunteers
            .register(
                &actor,
                NewVolunteer {
                    name: input.name,
                    id_card_number: input.id_card_number,
                    phone: input.phone,
                    home_unit_id,
                    home_unit_path: input.home_unit_path,
                    lat: input.location.lat,
                    lon: input.location.lon,
                    skills: input.skills,
                    availability: input.availability,
                    consent: input.consent,
                    guardian_consent: input.guardian_consent,
                },
            )
            .await
            .map_err(|e: VolunteersError| async_graphql::Error::from(e))?;
        Ok(VolunteerNode(view))
    }
}
