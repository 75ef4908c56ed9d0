//! Needs heard in person (issue 17) in GraphQL: `fileOrderOnBehalf` for staff, the channel,
//! link, resident and consent on `Order` (see `order.rs`), and `unitNotices`, the cadence
//! misses in a unit's staff inbox.
//!
//! Why `unitNotices` is a query of its own rather than more items in the `unitInbox`
//! subscription: `unitInbox` is an ordered feed of arrivals with a gap-free position that
//! clients resume from (`after`); a notice is not an arrival and has no place in that
//! numbering, so mixing them would break every client's resume logic. A console lists the
//! notices beside the inbox and refreshes them when it likes (they come at most once a week
//! per unit and kind).

use std::collections::BTreeMap;

use async_graphql::connection::{Connection, CursorType, Edge, EmptyFields, OpaqueCursor};
use async_graphql::{Context, Enum, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};
use tongxin_platform::ApiError;
use tongxin_platform::graphql::page_size;
use uuid::Uuid;

use super::order::{FormAnswerInput, OrderLocationInput, OrderNode, OrgUnit, caller};
use crate::domain::intake::{Channel, ConsentMethod};
use crate::service::OnBehalfOrder;
use crate::store::notices;

/// Where the need behind an order was heard.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(name = "OrderChannel", remote = "Channel")]
pub enum ChannelGql {
    /// At a visit (走访) by staff or volunteers.
    Visit,
    /// At a courtyard briefing (小院发布会): a held activity of the policy theme.
    Briefing,
    /// On the phone.
    Phone,
    /// Placed by the citizen in the mini-program (every order placed with `placeOrder`).
    MiniProgram,
}

/// How a resident gave consent.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(name = "ConsentMethod", remote = "ConsentMethod")]
pub enum ConsentMethodGql {
    /// Said so in front of the person recording it.
    Verbal,
    /// Signed.
    Written,
}

/// The resident's recorded consent to have their need, name and phone kept and passed on.
#[derive(SimpleObject, Clone)]
pub struct OrderConsent {
    /// Who recorded it (masked like a name for anyone who sees the phone masked).
    pub recorded_by: String,
    /// Verbal or written.
    pub method: ConsentMethodGql,
    /// When it was given.
    pub recorded_at: DateTime<Utc>,
}

/// A resident's recorded consent, as staff enter it.
#[derive(InputObject)]
pub struct ConsentInput {
    /// Who recorded it (1 to 100 characters).
    pub recorded_by: String,
    /// Verbal or written.
    pub method: ConsentMethodGql,
    /// When it was given (not in the future).
    pub recorded_at: DateTime<Utc>,
}

/// A need heard in person, filed by staff on behalf of a resident.
#[derive(InputObject)]
pub struct FileOrderOnBehalfInput {
    /// Where it was heard: VISIT (give `visitId`), BRIEFING (give `activityId`, a held
    /// activity of the policy theme) or PHONE (either link, or none).
    pub channel: ChannelGql,
    /// The visit it was heard at (from the venues subgraph).
    pub visit_id: Option<ID>,
    /// The activity it was heard at (from the venues subgraph).
    pub activity_id: Option<ID>,
    /// Menu category code.
    pub category: String,
    /// What the resident needs, 1 to 1000 characters.
    pub description: String,
    /// Answers to the category's form.
    #[graphql(default)]
    pub form: Vec<FormAnswerInput>,
    /// Where the service is needed (default: the location of the unit where the need was
    /// heard). For PHONE without a link it also routes the order: to the courtyard whose
    /// 15-minute circle covers it, else to the caller's unit.
    pub location: Option<OrderLocationInput>,
    /// When the resident would like it.
    pub preferred_at: Option<DateTime<Utc>>,
    /// The resident's name (stored encrypted; masked for anyone outside scope).
    pub resident_name: String,
    /// The resident's phone, where the reply goes (stored encrypted; masked outside scope).
    pub resident_phone: String,
    /// The resident's recorded consent (required: without it nothing is stored).
    pub consent: Option<ConsentInput>,
    /// A key the client makes once per order: sending it again returns the same order.
    pub idempotency_key: String,
}

/// A notice in a unit's staff inbox: a cadence period the unit missed.
#[derive(SimpleObject, Clone)]
pub struct UnitNotice {
    /// Notice id.
    pub id: ID,
    /// `cadence_missed` (the only kind so far).
    pub event: String,
    /// The unit that missed.
    pub unit: OrgUnit,
    /// Its path.
    pub unit_path: String,
    /// What the rule counts: `visits` (per week) or `activities` (per month).
    pub cadence: String,
    /// First day of the period, the district's local date (YYYY-MM-DD).
    pub period_start: String,
    /// The day after the period, exclusive.
    pub period_end: String,
    /// What the rule asked for in the period.
    pub required: i32,
    /// What was recorded.
    pub done: i32,
    /// Consecutive missed periods, this one included.
    pub streak: i32,
    /// When the notice arrived.
    pub received_at: DateTime<Utc>,
}

impl From<notices::Model> for UnitNotice {
    fn from(n: notices::Model) -> Self {
        Self {
            id: ID(n.id.to_string()),
            event: "cadence_missed".to_owned(),
            unit: OrgUnit {
                id: ID(n.unit_id.to_string()),
            },
            unit_path: n.unit_path,
            cadence: n.kind,
            period_start: n.period_start,
            period_end: n.period_end,
            required: n.required,
            done: n.done,
            streak: n.streak,
            received_at: n.received_at,
        }
    }
}

fn id_of(id: &ID, field: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(id.as_str()).map_err(|_| ApiError::bad_input(format!("{field}: not an id")))
}

type NoticeConnection = Connection<OpaqueCursor<Uuid>, UnitNotice, EmptyFields, EmptyFields>;

/// Queries about needs heard in person and the staff inbox's notices.
#[derive(Default)]
pub struct InPersonQuery;

#[Object]
impl InPersonQuery {
    /// The notices of a unit and the units below it, newest first (staff whose scope covers
    /// the unit): today the cadence periods missed (`tongxin.venues.cadence_missed`). The
    /// `unitInbox` subscription stays orders only (see the service docs).
    async fn unit_notices(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The unit (from the venues subgraph).")] unit_id: ID,
        #[graphql(desc = "Page size, 1 to 500 (default 50).")] first: Option<i32>,
        #[graphql(desc = "Cursor of the last edge of the previous page.")] after: Option<String>,
    ) -> async_graphql::Result<NoticeConnection> {
        let (orders, caller) = caller(ctx).await?;
        let unit = id_of(&unit_id, "unitId")?;
        let after = match after {
            Some(c) => Some(
                OpaqueCursor::<Uuid>::decode_cursor(&c)
                    .map_err(|_| ApiError::bad_input("after: not a cursor from this field"))?
                    .0,
            ),
            None => None,
        };
        let first = page_size("first", first, crate::service::MAX_PAGE)?;
        let (rows, more) = orders.unit_notices(&caller, unit, after, first).await?;
        let mut c = Connection::new(after.is_some(), more);
        c.edges.extend(
            rows.into_iter()
                .map(|n| Edge::new(OpaqueCursor(n.id), UnitNotice::from(n))),
        );
        Ok(c)
    }
}

/// Mutations for needs heard in person.
#[derive(Default)]
pub struct InPersonMutation;

#[Object]
impl InPersonMutation {
    /// Files an order on behalf of a resident whose need was heard at a visit, a briefing or
    /// on the phone (staff whose scope covers the unit where it was heard). It starts at that
    /// unit and runs the same ladder as any order; completing it needs the reply's outcome
    /// text. Without the resident's consent, nothing is stored (BAD_USER_INPUT).
    async fn file_order_on_behalf(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The order and the resident.")] input: FileOrderOnBehalfInput,
    ) -> async_graphql::Result<OrderNode> {
        let (orders, caller) = caller(ctx).await?;
        let mut form = BTreeMap::new();
        for a in input.form {
            if form.insert(a.key.clone(), a.value).is_some() {
                return Err(ApiError::bad_input(format!("form: {} answered twice", a.key)).into());
            }
        }
        let visit = input
            .visit_id
            .as_ref()
            .map(|v| id_of(v, "visitId"))
            .transpose()?;
        let activity = input
            .activity_id
            .as_ref()
            .map(|a| id_of(a, "activityId"))
            .transpose()?;
        let view = orders
            .file_on_behalf(
                &caller,
                OnBehalfOrder {
                    channel: input.channel.into(),
                    visit,
                    activity,
                    category: input.category,
                    description: input.description,
                    form,
                    location: input.location.map(|l| (l.lat, l.lon)),
                    preferred_at: input.preferred_at,
                    resident_name: input.resident_name,
                    resident_phone: input.resident_phone,
                    consent: input
                        .consent
                        .map(|c| (c.recorded_by, c.method.into(), c.recorded_at)),
                    idempotency_key: input.idempotency_key,
                },
            )
            .await?;
        Ok(OrderNode(view))
    }
}
