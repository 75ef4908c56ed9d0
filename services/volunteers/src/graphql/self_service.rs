//! Self-service and status in GraphQL: `updateMyVolunteerRecord`, `requestDeletion`, and
//! for staff in scope `deletionRequests`, `updateVolunteer`, `processDeletion`,
//! `setVolunteerStatus`.

use async_graphql::connection::{
    Connection, ConnectionNameType, Edge, EdgeNameType, EmptyFields, OpaqueCursor,
};
use async_graphql::{Context, ID, InputObject, Object, OutputType};
use chrono::{DateTime, Utc};
use tongxin_platform::graphql::ContextExt;
use uuid::Uuid;

use super::paging;
use super::volunteer::{
    VolunteerLocationInput, VolunteerNode, VolunteerStatusGql, caller, volunteer_id,
};
use crate::service::{Correction, Volunteers};

/// Where a page of deletion requests ends: the request time and id of its last row.
type RequestCursor = OpaqueCursor<(DateTime<Utc>, Uuid)>;

/// Its own connection type: the cursor differs from `VolunteerConnection`'s.
pub struct DeletionRequestConnectionName;

impl ConnectionNameType for DeletionRequestConnectionName {
    fn type_name<T: OutputType>() -> String {
        "DeletionRequestConnection".to_owned()
    }
}

/// See [`DeletionRequestConnectionName`].
pub struct DeletionRequestEdgeName;

impl EdgeNameType for DeletionRequestEdgeName {
    fn type_name<T: OutputType>() -> String {
        "DeletionRequestEdge".to_owned()
    }
}

pub(super) type DeletionRequests = Connection<
    RequestCursor,
    VolunteerNode,
    EmptyFields,
    EmptyFields,
    DeletionRequestConnectionName,
    DeletionRequestEdgeName,
>;

/// Staff queries of the self-service flow.
#[derive(Default)]
pub struct SelfServiceQuery;

#[Object]
impl SelfServiceQuery {
    /// Volunteers who asked for their personal data to be deleted and are not erased yet,
    /// oldest request first: staff, within their scope (FORBIDDEN otherwise). Carry each
    /// out with `processDeletion`.
    async fn deletion_requests(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "Only volunteers of this unit and below (default: your whole scope); must be in your scope."
        )]
        unit_path: Option<String>,
        #[graphql(desc = "Page size, 1 to 500 (default 50).")] first: Option<i32>,
        #[graphql(desc = "Cursor of the last edge of the previous page.")] after: Option<String>,
    ) -> async_graphql::Result<DeletionRequests> {
        ctx.principal()?;
        let first = paging::first(first)?;
        let after = paging::after::<(DateTime<Utc>, Uuid)>(after)?;
        let (volunteers, caller) = caller(ctx).await?;
        let (views, more) = volunteers
            .deletion_requests(&caller, unit_path.as_deref(), after, first)
            .await?;
        let mut connection = Connection::new(after.is_some(), more);
        connection.edges.extend(views.into_iter().filter_map(|v| {
            // Listed for staff in scope only, who see the personal record.
            let at = v.personal()?.row.deletion_requested_at?;
            Some(Edge::new(OpaqueCursor((at, v.id().0)), VolunteerNode(v)))
        }));
        Ok(connection)
    }
}

/// Corrections to a volunteer record; only the fields given change.
#[derive(InputObject)]
pub struct VolunteerCorrectionInput {
    /// Name, 1 to 50 characters.
    pub name: Option<String>,
    /// Mobile phone, 11 digits.
    pub phone: Option<String>,
    /// Home location.
    pub location: Option<VolunteerLocationInput>,
    /// Skills from the managed catalog (codes or Chinese labels); replaces the list.
    pub skills: Option<Vec<String>>,
    /// Weekly availability, e.g. `Sat,Sun 09:00-12:00`.
    pub availability: Option<String>,
    /// The ID-card number: staff only (FORBIDDEN in `updateMyVolunteerRecord`).
    pub id_card_number: Option<String>,
}

impl From<VolunteerCorrectionInput> for Correction {
    fn from(i: VolunteerCorrectionInput) -> Self {
        Correction {
            name: i.name,
            phone: i.phone,
            location: i.location.map(|l| (l.lat, l.lon)),
            skills: i.skills,
            availability: i.availability,
            id_card_number: i.id_card_number,
        }
    }
}

/// Self-service and status mutations.
#[derive(Default)]
pub struct SelfServiceMutation;

#[Object]
impl SelfServiceMutation {
    /// The volunteer corrects their own record (name, phone, location, skills,
    /// availability). The ID-card number is corrected only by staff. CONFLICT when the
    /// record changed meanwhile.
    async fn update_my_volunteer_record(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The fields to correct; absent fields stay as they are.")]
        input: VolunteerCorrectionInput,
    ) -> async_graphql::Result<VolunteerNode> {
        let actor = ctx.principal()?.clone();
        let volunteers = ctx.data::<Volunteers>()?;
        Ok(VolunteerNode(
            volunteers.correct_my_record(&actor, input.into()).await?,
        ))
    }

    /// Staff whose scope covers the volunteer's home unit correct a record, the ID-card
    /// number included (a number registered to someone else is a CONFLICT).
    async fn update_volunteer(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The volunteer to correct.")] id: ID,
        #[graphql(desc = "The fields to correct; absent fields stay as they are.")]
        input: VolunteerCorrectionInput,
    ) -> async_graphql::Result<VolunteerNode> {
        let actor = ctx.principal()?.clone();
        let volunteers = ctx.data::<Volunteers>()?;
        let id = volunteer_id(&id, "id")?;
        Ok(VolunteerNode(
            volunteers.correct_record(&actor, id, input.into()).await?,
        ))
    }

    /// The volunteer asks for their personal data to be deleted. Staff in scope carry it
    /// out with `processDeletion`; CONFLICT when a request is already open.
    async fn request_deletion(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Why, optionally (at most 500 characters).")] reason: Option<String>,
    ) -> async_graphql::Result<VolunteerNode> {
        let actor = ctx.principal()?.clone();
        let volunteers = ctx.data::<Volunteers>()?;
        Ok(VolunteerNode(
            volunteers.request_deletion(&actor, reason).await?,
        ))
    }

    /// Staff in scope erase the personal data of a volunteer who asked for it (name,
    /// ID-card number and phone replaced, status `LEFT`); the volunteer number and service
    /// record stay. CONFLICT without an open request.
    async fn process_deletion(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The volunteer whose deletion request is carried out.")] id: ID,
    ) -> async_graphql::Result<VolunteerNode> {
        let actor = ctx.principal()?.clone();
        let volunteers = ctx.data::<Volunteers>()?;
        let id = volunteer_id(&id, "id")?;
        Ok(VolunteerNode(
            volunteers.process_deletion(&actor, id).await?,
        ))
    }

    /// Staff in scope set a volunteer's status (active, paused, left). CONFLICT when it
    /// changed meanwhile or the record was erased.
    async fn set_volunteer_status(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The volunteer.")] id: ID,
        #[graphql(desc = "The new status.")] status: VolunteerStatusGql,
    ) -> async_graphql::Result<VolunteerNode> {
        let actor = ctx.principal()?.clone();
        let volunteers = ctx.data::<Volunteers>()?;
        let id = volunteer_id(&id, "id")?;
        Ok(VolunteerNode(
            volunteers.set_status(&actor, id, status.into()).await?,
        ))
    }
}
