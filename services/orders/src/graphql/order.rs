//! Orders in GraphQL: the `Order` entity, `order`, `myOrders`, `unitOrders`,
//! `orderTimeline`, `suggestCandidates`, and one mutation per move.

use std::collections::{BTreeMap, HashMap};

use async_graphql::connection::{Connection, CursorType, Edge, EmptyFields, OpaqueCursor};
use async_graphql::dataloader::{DataLoader, Loader};
use async_graphql::{Context, Enum, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};
use tongxin_platform::ApiError;
use tongxin_platform::graphql::{ContextExt, RequestMemo, page_size};
use uuid::Uuid;

use crate::domain::{Level, OrderId, OrderState, VolunteerId};
use crate::service::{Caller, Move, NewOrder, OrderFilter, OrderView, Orders, TimelineEntry};
use crate::store::orders::{self, Model};

/// Where an order stands.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(name = "OrderState", remote = "OrderState")]
pub enum OrderStateGql {
    /// Placed by the citizen, waiting for the holding unit to receive it.
    Placed,
    /// Taken by the holding unit.
    Received,
    /// Passed up to the parent unit, which must receive it.
    Escalated,
    /// Sent to volunteers or a team.
    Dispatched,
    /// Taken by a volunteer (or the team).
    Accepted,
    /// Work started.
    InProgress,
    /// Done, hours recorded.
    Completed,
    /// Rated by the citizen.
    Rated,
    /// Withdrawn by the citizen.
    Cancelled,
}

/// A level of the org tree.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(name = "OrderLevel", remote = "Level")]
pub enum LevelGql {
    /// 小院.
    Courtyard,
    /// 实践站.
    Station,
    /// 实践所.
    Institute,
    /// 中心.
    Center,
}

/// An org unit (owned by the venues subgraph), referenced by id.
#[derive(SimpleObject, Clone)]
#[graphql(unresolvable = "id")]
pub struct OrgUnit {
    /// The unit id.
    pub id: ID,
}

/// A volunteer (owned by the volunteers subgraph), referenced by id.
#[derive(SimpleObject, Clone)]
#[graphql(unresolvable = "id")]
pub struct Volunteer {
    /// The volunteer id.
    pub id: ID,
}

/// A point (WGS-84 degrees).
#[derive(SimpleObject, Clone, Copy)]
pub struct OrderLocation {
    /// Latitude.
    pub lat: f64,
    /// Longitude.
    pub lon: f64,
}

/// One answer of an order's form.
#[derive(SimpleObject, Clone)]
pub struct FormAnswer {
    /// The field key.
    pub key: String,
    /// The answer.
    pub value: String,
}

/// Hours one volunteer served on an order.
#[derive(SimpleObject, Clone)]
pub struct OrderHours {
    /// The volunteer.
    pub volunteer: Volunteer,
    /// Hours, in quarter hours.
    pub hours: f64,
}

fn volunteers(ids: &[VolunteerId]) -> Vec<Volunteer> {
    ids.iter()
        .map(|id| Volunteer {
            id: ID(id.to_string()),
        })
        .collect()
}

/// A citizen's order (点单): one per `placeOrder`.
pub struct OrderNode(pub OrderView);

/// A citizen's order (点单) and where it stands on the ladder courtyard → station → institute
/// → center. Other subgraphs reference it by `id`.
#[Object(name = "Order")]
impl OrderNode {
    /// Internal id (UUID).
    async fn id(&self) -> ID {
        ID(self.0.order.id.to_string())
    }
    /// The public order number shown to the citizen.
    async fn order_no(&self) -> &str {
        &self.0.order.number
    }
    /// Where it stands.
    async fn state(&self) -> OrderStateGql {
        self.0.order.state.into()
    }
    /// Menu category code.
    async fn category_code(&self) -> &str {
        &self.0.order.category
    }
    /// What the citizen needs.
    async fn description(&self) -> &str {
        &self.0.order.description
    }
    /// Answers to the category's form.
    async fn form(&self) -> Vec<FormAnswer> {
        self.0
            .order
            .form
            .iter()
            .map(|(key, value)| FormAnswer {
                key: key.clone(),
                value: value.clone(),
            })
            .collect()
    }
    /// Where the service is needed.
    async fn location(&self) -> OrderLocation {
        OrderLocation {
            lat: self.0.order.location.lat(),
            lon: self.0.order.location.lon(),
        }
    }
    /// When the citizen would like it.
    async fn preferred_at(&self) -> Option<DateTime<Utc>> {
        self.0.order.preferred_at
    }
    /// Contact phone: in full for the citizen, staff whose scope covers the holding unit and
    /// the accepted volunteer; otherwise 138****1234.
    async fn contact_phone(&self) -> &str {
        &self.0.phone
    }
    /// Whether `contactPhone` is masked for this caller.
    async fn contact_phone_masked(&self) -> bool {
        self.0.phone_masked
    }
    /// Photo URLs.
    async fn photos(&self) -> &[String] {
        &self.0.order.photos
    }
    /// District code.
    async fn district(&self) -> &str {
        &self.0.order.district
    }
    /// The unit that holds the order now and must act on it.
    async fn holding_unit(&self) -> OrgUnit {
        OrgUnit {
            id: ID(self.0.order.holding_unit().id.to_string()),
        }
    }
    /// Path of the holding unit, e.g. `/rc/changyuan/hongqiao`.
    async fn holding_unit_path(&self) -> &str {
        &self.0.order.holding_unit().path
    }
    /// Level of the holding unit.
    async fn holding_level(&self) -> LevelGql {
        self.0.order.holding_unit().level.into()
    }
    /// The courtyard whose 15-minute circle covers the location; null when routing could not
    /// use one (see `routingNote`).
    async fn courtyard(&self) -> Option<OrgUnit> {
        self.0.order.courtyard.map(|id| OrgUnit {
            id: ID(id.to_string()),
        })
    }
    /// Why routing did something unusual (venues unreachable, no covering courtyard); empty
    /// otherwise.
    async fn routing_note(&self) -> &str {
        &self.0.order.routing_note
    }
    /// Whether an order of the same category within 100 m was placed in the 24 hours before
    /// (flagged for staff, not rejected).
    async fn likely_duplicate(&self) -> bool {
        self.0.order.duplicate_of.is_some()
    }
    /// The earlier order this one likely duplicates.
    async fn duplicate_of_id(&self) -> Option<ID> {
        self.0.order.duplicate_of.map(|d| ID(d.to_string()))
    }
    /// Volunteers the order is dispatched to and who have not declined.
    async fn dispatched_volunteers(&self) -> Vec<Volunteer> {
        volunteers(&self.0.order.dispatched)
    }
    /// The team it is dispatched to.
    async fn team_id(&self) -> Option<ID> {
        self.0.order.team.map(|t| ID(t.0.to_string()))
    }

    /// The legal-aid station it is dispatched to (a category handled by legal aid).
    async fn legal_aid_station_id(&self) -> Option<ID> {
        self.0.order.legal_aid_station.map(|s| ID(s.to_string()))
    }
    /// The volunteers who accepted.
    async fn accepted_volunteers(&self) -> Vec<Volunteer> {
        volunteers(&self.0.order.accepted)
    }
    /// Hours per volunteer, once completed.
    async fn hours(&self) -> Vec<OrderHours> {
        self.0
            .order
            .hours
            .iter()
            .map(|h| OrderHours {
                volunteer: Volunteer {
                    id: ID(h.volunteer.to_string()),
                },
                hours: h.hours.get(),
            })
            .collect()
    }
    /// The citizen's rating, 1 to 5.
    async fn rating(&self) -> Option<i32> {
        self.0.order.rating.map(|r| i32::from(r.get()))
    }
    /// The rating's comment.
    async fn rating_comment(&self) -> Option<&str> {
        self.0.order.rating_comment.as_deref()
    }
    /// Why the citizen cancelled.
    async fn cancel_reason(&self) -> Option<&str> {
        self.0.order.cancel_reason.as_deref()
    }
    /// When placed.
    async fn placed_at(&self) -> DateTime<Utc> {
        self.0.order.placed_at
    }
    /// When last moved.
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.order.updated_at
    }
    /// The holding unit's receive deadline, while the order waits to be received.
    async fn receive_deadline(&self) -> Option<DateTime<Utc>> {
        self.0.order.deadline.map(|d| d.at)
    }
    /// Whether the receive deadline has passed.
    async fn overdue(&self) -> bool {
        self.0.order.deadline.is_some_and(|d| d.at <= Utc::now())
    }
    /// Bumped by every move.
    async fn version(&self) -> i64 {
        self.0.order.version
    }
    /// Where the need was heard: MINI_PROGRAM for orders placed by citizens, VISIT, BRIEFING
    /// or PHONE for orders staff filed on behalf of a resident.
    async fn channel(&self) -> super::inperson::ChannelGql {
        self.0.order.intake.channel.into()
    }
    /// The visit the need was heard at (from the venues service), if any.
    async fn source_visit_id(&self) -> Option<ID> {
        self.0
            .order
            .intake
            .source
            .visit()
            .map(|v| ID(v.to_string()))
    }
    /// The activity (a briefing, 小院发布会) the need was heard at, if any.
    async fn source_activity_id(&self) -> Option<ID> {
        self.0
            .order
            .intake
            .source
            .activity()
            .map(|a| ID(a.to_string()))
    }
    /// Whether staff filed it on behalf of a resident.
    async fn filed_on_behalf(&self) -> bool {
        self.0.order.intake.on_behalf()
    }
    /// The name of the resident it was filed for: in full for staff whose scope covers the
    /// holding unit, masked (张*) like `contactPhone` otherwise; null for a citizen's own order
    /// (their phone is `contactPhone`, as the resident's is).
    async fn resident_name(&self) -> Option<&str> {
        self.0.resident_name.as_deref()
    }
    /// The resident's recorded consent, for an order filed on behalf.
    async fn consent(&self) -> Option<super::inperson::OrderConsent> {
        let resident = self.0.order.intake.resident.as_ref()?;
        let recorded_by = if self.0.phone_masked {
            crate::domain::intake::mask_name(&resident.consent.recorded_by)
        } else {
            resident.consent.recorded_by.clone()
        };
        Some(super::inperson::OrderConsent {
            recorded_by,
            method: resident.consent.method.into(),
            recorded_at: resident.consent.recorded_at,
        })
    }
    /// The reply to the resident (结果反馈): the outcome text recorded on completion.
    async fn outcome(&self) -> Option<&str> {
        self.0.order.outcome.as_deref()
    }
}

/// One timeline row.
pub struct TimelineNode(pub TimelineEntry);

/// One move in an order's timeline (append-only): who, in which role, at which unit, when.
#[Object(name = "OrderTimelineEntry")]
impl TimelineNode {
    /// Entry id.
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// The move: placed, received, escalated, dispatched, accepted, declined, started,
    /// completed, rated, cancelled, reminder, overdue_alert; at a legal-aid station also
    /// appointment_rescheduled and appointment_cancelled (notes that change nothing), and
    /// dispatched in the role legal_aid when the appointment was cancelled (the slot given
    /// up, the order waits for a new booking).
    async fn event(&self) -> &str {
        &self.0.event
    }
    /// State before the move (null for the placement).
    async fn from_state(&self) -> Option<OrderStateGql> {
        self.0.from_state.map(|s| OrderState::from(s).into())
    }
    /// State after the move.
    async fn to_state(&self) -> OrderStateGql {
        OrderState::from(self.0.to_state).into()
    }
    /// Who moved it: a principal subject or `scheduler`.
    async fn actor(&self) -> &str {
        &self.0.actor
    }
    /// In which role: citizen, staff, volunteer, scheduler, legal_aid (the station's visit
    /// of an order dispatched to it).
    async fn role(&self) -> &str {
        &self.0.role
    }
    /// The unit holding the order after the move.
    async fn unit(&self) -> OrgUnit {
        OrgUnit {
            id: ID(self.0.unit_id.to_string()),
        }
    }
    /// Its path.
    async fn unit_path(&self) -> &str {
        &self.0.unit_path
    }
    /// Its level.
    async fn level(&self) -> LevelGql {
        self.0.level.into()
    }
    /// The reason or note.
    async fn note(&self) -> &str {
        &self.0.note
    }
    /// When.
    async fn at(&self) -> DateTime<Utc> {
        self.0.at
    }
}

/// A volunteer suggested for dispatch by the volunteers service's matching.
#[derive(SimpleObject, Clone)]
pub struct DispatchCandidate {
    /// The volunteer.
    pub volunteer: Volunteer,
    /// Name.
    pub name: String,
    /// Score 0 to 100, best first.
    pub score: f64,
    /// Walking minutes to the order.
    pub walking_minutes: f64,
    /// Open assignments now.
    pub open_assignments: u32,
    /// Why the score, in Chinese.
    pub explanation: String,
}

/// Loads order rows by id in one query per batch; visibility is applied per caller after.
pub struct OrderLoader(pub Orders);

impl Loader<Uuid> for OrderLoader {
    type Value = Model;
    type Error = async_graphql::Error;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Model>, Self::Error> {
        let rows = orders::get_many(self.0.db(), keys)
            .await
            .map_err(ApiError::from)?;
        Ok(rows.into_iter().map(|r| (r.id, r)).collect())
    }
}

pub(super) fn order_id(id: &ID, field: &'static str) -> Result<OrderId, ApiError> {
    Uuid::parse_str(id.as_str())
        .map(OrderId)
        .map_err(|_| ApiError::bad_input(format!("{field}: not an order id")))
}

fn uuid_of(id: &ID, field: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(id.as_str()).map_err(|_| ApiError::bad_input(format!("{field}: not an id")))
}

/// The service and the caller, resolved once per request (see [`RequestMemo`]): a staff
/// scope is a database read and a volunteer's record a call to volunteers, which an
/// `_entities` call with a hundred references must not repeat a hundred times.
pub(super) async fn caller(ctx: &Context<'_>) -> async_graphql::Result<(Orders, Caller)> {
    let orders = ctx.data::<Orders>()?.clone();
    let principal = ctx.principal()?;
    let resolve = || orders.caller(Some(principal));
    let caller = match ctx.data_opt::<RequestMemo>() {
        Some(memo) => memo.get_or_try_init(resolve).await?,
        None => resolve().await?,
    };
    Ok((orders, caller))
}

type OrderConnection = Connection<OpaqueCursor<Uuid>, OrderNode, EmptyFields, EmptyFields>;

fn connection(after: Option<Uuid>, (views, more): (Vec<OrderView>, bool)) -> OrderConnection {
    let mut c = Connection::new(after.is_some(), more);
    c.edges.extend(
        views
            .into_iter()
            .map(|v| Edge::new(OpaqueCursor(v.order.id.0), OrderNode(v))),
    );
    c
}

fn paging(
    after: Option<String>,
    first: Option<i32>,
) -> Result<(Option<Uuid>, Option<u64>), ApiError> {
    let after = match after {
        Some(c) => Some(
            OpaqueCursor::<Uuid>::decode_cursor(&c)
                .map_err(|_| ApiError::bad_input("after: not a cursor from this field"))?
                .0,
        ),
        None => None,
    };
    let first = page_size("first", first, crate::service::MAX_PAGE)?;
    Ok((after, first))
}

/// Order queries.
#[derive(Default)]
pub struct OrderQuery;

#[Object]
impl OrderQuery {
    /// One order: its citizen, staff in scope and its volunteers may see it; for anyone else
    /// it does not exist (NOT_FOUND).
    async fn order(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The order id.")] id: ID,
    ) -> async_graphql::Result<OrderNode> {
        let (orders, caller) = caller(ctx).await?;
        let id = order_id(&id, "id")?;
        let loader = ctx.data::<DataLoader<OrderLoader>>()?;
        let row = loader
            .load_one(id.0)
            .await?
            .ok_or_else(|| ApiError::not_found("no such order"))?;
        let order = orders::parse(row).map_err(ApiError::from)?;
        Ok(OrderNode(orders.view(&caller, order)?))
    }

    /// The caller's own orders, newest first.
    async fn my_orders(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only orders in these states (default: all).")] states: Option<
            Vec<OrderStateGql>,
        >,
        #[graphql(desc = "Page size, 1 to 500 (default 50).")] first: Option<i32>,
        #[graphql(desc = "Cursor of the last edge of the previous page.")] after: Option<String>,
    ) -> async_graphql::Result<OrderConnection> {
        let (orders, caller) = caller(ctx).await?;
        let (after, first) = paging(after, first)?;
        let filter = OrderFilter {
            states: states
                .unwrap_or_default()
                .into_iter()
                .map(Into::into)
                .collect(),
            ..Default::default()
        };
        Ok(connection(
            after,
            orders.my_orders(&caller, &filter, after, first).await?,
        ))
    }

    /// Orders held by or routed from a unit and the units below it, newest first (staff whose
    /// scope covers the unit).
    #[allow(clippy::too_many_arguments)]
    async fn unit_orders(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The unit (from the venues subgraph).")] unit_id: ID,
        #[graphql(desc = "Only orders in these states (default: all).")] states: Option<
            Vec<OrderStateGql>,
        >,
        #[graphql(desc = "Only this category code.")] category: Option<String>,
        #[graphql(desc = "Only orders past their receive deadline.", default)] overdue: bool,
        #[graphql(desc = "Placed at or after.")] placed_from: Option<DateTime<Utc>>,
        #[graphql(desc = "Placed before.")] placed_to: Option<DateTime<Utc>>,
        #[graphql(desc = "Page size, 1 to 500 (default 50).")] first: Option<i32>,
        #[graphql(desc = "Cursor of the last edge of the previous page.")] after: Option<String>,
    ) -> async_graphql::Result<OrderConnection> {
        let (orders, caller) = caller(ctx).await?;
        let unit = uuid_of(&unit_id, "unitId")?;
        let (after, first) = paging(after, first)?;
        let filter = OrderFilter {
            states: states
                .unwrap_or_default()
                .into_iter()
                .map(Into::into)
                .collect(),
            category,
            overdue,
            from: placed_from,
            to: placed_to,
        };
        Ok(connection(
            after,
            orders
                .unit_orders(&caller, unit, &filter, after, first)
                .await?,
        ))
    }

    /// An order's timeline, oldest first.
    async fn order_timeline(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The order id.")] order_id: ID,
        #[graphql(desc = "Page size, 1 to 500 (default 100).")] first: Option<i32>,
        #[graphql(desc = "Cursor of the last edge of the previous page.")] after: Option<String>,
    ) -> async_graphql::Result<
        Connection<OpaqueCursor<usize>, TimelineNode, EmptyFields, EmptyFields>,
    > {
        let (orders, caller) = caller(ctx).await?;
        let entries = orders
            .timeline(&caller, self::order_id(&order_id, "orderId")?)
            .await?;
        super::page_of(entries, after, first, TimelineNode)
    }

    /// Volunteers suggested for dispatching an order, best first (staff in scope), from the
    /// volunteers service's matching; UNAVAILABLE when it does not answer (dispatch by an
    /// explicit choice still works).
    async fn suggest_candidates(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The order id.")] order_id: ID,
        #[graphql(desc = "How many, 1 to 100 (default 10).", default = 10)] count: i32,
        #[graphql(desc = "Cursor of the last edge of the previous page.")] after: Option<String>,
    ) -> async_graphql::Result<
        Connection<OpaqueCursor<usize>, DispatchCandidate, EmptyFields, EmptyFields>,
    > {
        let (orders, caller) = caller(ctx).await?;
        let count = page_size("count", Some(count), 100)?
            .and_then(|c| u32::try_from(c).ok())
            .unwrap_or(10);
        let candidates = orders
            .suggest_candidates(&caller, self::order_id(&order_id, "orderId")?, count)
            .await?;
        super::page_of(candidates, after, None, |c| {
            let v = c.volunteer.unwrap_or_default();
            DispatchCandidate {
                volunteer: Volunteer { id: ID(v.id) },
                name: v.name,
                score: c.score,
                walking_minutes: c.walking_minutes,
                open_assignments: c.open_assignments,
                explanation: c.explanation.map(|e| e.text_zh).unwrap_or_default(),
            }
        })
    }

    /// Federation: resolves `Order` references from other subgraphs (batched); null when the
    /// caller may not see it.
    #[graphql(entity)]
    async fn find_order_by_id(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The order id.")] id: ID,
    ) -> async_graphql::Result<Option<OrderNode>> {
        let (orders, caller) = caller(ctx).await?;
        let loader = ctx.data::<DataLoader<OrderLoader>>()?;
        let Some(row) = loader.load_one(order_id(&id, "id")?.0).await? else {
            return Ok(None);
        };
        let order = orders::parse(row).map_err(ApiError::from)?;
        Ok(orders.view(&caller, order).ok().map(OrderNode))
    }
}

/// A location given by a client.
#[derive(InputObject)]
pub struct OrderLocationInput {
    /// Latitude.
    pub lat: f64,
    /// Longitude.
    pub lon: f64,
}

/// One answer to a category's form.
#[derive(InputObject)]
pub struct FormAnswerInput {
    /// The field key.
    pub key: String,
    /// The answer (numbers as decimal text, dates as YYYY-MM-DD, choices as one of them).
    pub value: String,
}

/// A new order.
#[derive(InputObject)]
pub struct PlaceOrderInput {
    /// Menu category code.
    pub category: String,
    /// What is needed, 1 to 1000 characters.
    pub description: String,
    /// Answers to the category's form.
    #[graphql(default)]
    pub form: Vec<FormAnswerInput>,
    /// Where the service is needed.
    pub location: OrderLocationInput,
    /// When the citizen would like it.
    pub preferred_at: Option<DateTime<Utc>>,
    /// Contact phone (stored encrypted; masked for anyone outside scope).
    pub contact_phone: String,
    /// Photo URLs, at most 9.
    #[graphql(default)]
    pub photos: Vec<String>,
    /// A key the client makes once per order: sending it again returns the same order.
    pub idempotency_key: String,
}

/// Hours one volunteer served.
#[derive(InputObject)]
pub struct OrderHoursInput {
    /// The volunteer.
    pub volunteer_id: ID,
    /// Hours in quarter hours, more than 0 and at most 24.
    pub hours: f64,
}

/// Order mutations: one per move.
#[derive(Default)]
pub struct OrderMutation;

async fn make_move(ctx: &Context<'_>, id: &ID, mv: Move) -> async_graphql::Result<OrderNode> {
    let (orders, caller) = caller(ctx).await?;
    let id = order_id(id, "orderId")?;
    Ok(OrderNode(orders.make_move(&caller, id, mv).await?))
}

#[Object]
impl OrderMutation {
    /// Places an order (citizen). The same idempotency key again returns the same order.
    async fn place_order(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The order.")] input: PlaceOrderInput,
    ) -> async_graphql::Result<OrderNode> {
        let (orders, caller) = caller(ctx).await?;
        let mut form = BTreeMap::new();
        for a in input.form {
            if form.insert(a.key.clone(), a.value).is_some() {
                return Err(ApiError::bad_input(format!("form: {} answered twice", a.key)).into());
            }
        }
        let view = orders
            .place(
                &caller,
                NewOrder {
                    category: input.category,
                    description: input.description,
                    form,
                    lat: input.location.lat,
                    lon: input.location.lon,
                    preferred_at: input.preferred_at,
                    phone: input.contact_phone,
                    photos: input.photos,
                    idempotency_key: input.idempotency_key,
                },
            )
            .await?;
        Ok(OrderNode(view))
    }

    /// Receives an order at the holding unit (staff in scope).
    async fn receive_order(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The order id.")] order_id: ID,
        #[graphql(desc = "An optional note for the timeline.", default)] note: String,
    ) -> async_graphql::Result<OrderNode> {
        make_move(ctx, &order_id, Move::Receive { note }).await
    }

    /// Passes a received order up to the parent unit, which must receive it (staff in scope).
    async fn escalate_order(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The order id.")] order_id: ID,
        #[graphql(desc = "Why (required; on the timeline).")] reason: String,
    ) -> async_graphql::Result<OrderNode> {
        make_move(ctx, &order_id, Move::Escalate { reason }).await
    }

    /// Dispatches a received order (staff in scope): an order of a volunteer category to
    /// volunteers or to a team, an order of a legal-aid category to a legal-aid station
    /// offering its service (anything else is BAD_USER_INPUT).
    async fn dispatch_order(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The order id.")] order_id: ID,
        #[graphql(
            desc = "Volunteers (1 to 20); or give teamId or legalAidStationId.",
            default
        )]
        volunteer_ids: Vec<ID>,
        #[graphql(desc = "A team; or give volunteerIds or legalAidStationId.")] team_id: Option<ID>,
        #[graphql(
            desc = "A legal-aid station (for a category handled by legal aid); or give volunteerIds or teamId."
        )]
        legal_aid_station_id: Option<ID>,
        #[graphql(desc = "An optional note for the timeline.", default)] note: String,
    ) -> async_graphql::Result<OrderNode> {
        let volunteers = volunteer_ids
            .iter()
            .map(|v| uuid_of(v, "volunteerIds"))
            .collect::<Result<Vec<_>, _>>()?;
        let team = team_id.as_ref().map(|t| uuid_of(t, "teamId")).transpose()?;
        let legal_aid_station = legal_aid_station_id
            .as_ref()
            .map(|s| uuid_of(s, "legalAidStationId"))
            .transpose()?;
        make_move(
            ctx,
            &order_id,
            Move::Dispatch {
                volunteers,
                team,
                legal_aid_station,
                note,
            },
        )
        .await
    }

    /// Accepts a dispatched order (a dispatched volunteer; staff in scope for a team).
    async fn accept_order(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The order id.")] order_id: ID,
    ) -> async_graphql::Result<OrderNode> {
        make_move(ctx, &order_id, Move::Accept).await
    }

    /// Declines a dispatched order with a reason (a dispatched volunteer); when nobody
    /// dispatched is left it returns to the holding unit for a new dispatch.
    async fn decline_order(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The order id.")] order_id: ID,
        #[graphql(desc = "Why (required; on the timeline).")] reason: String,
    ) -> async_graphql::Result<OrderNode> {
        make_move(ctx, &order_id, Move::Decline { reason }).await
    }

    /// Starts the work (the accepted volunteer or staff in scope).
    async fn start_order(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The order id.")] order_id: ID,
    ) -> async_graphql::Result<OrderNode> {
        make_move(ctx, &order_id, Move::Start).await
    }

    /// Completes the work with hours per volunteer (the accepted volunteer or staff in scope).
    async fn complete_order(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The order id.")] order_id: ID,
        #[graphql(desc = "Hours per volunteer who served.")] hours: Vec<OrderHoursInput>,
        #[graphql(desc = "An optional note for the timeline.", default)] note: String,
        #[graphql(
            desc = "The reply's outcome text for the resident (结果反馈), at most 1000 characters; required when the order was filed on behalf of a resident, optional otherwise. Shown on the order as `outcome`.",
            default
        )]
        outcome: String,
    ) -> async_graphql::Result<OrderNode> {
        let hours = hours
            .iter()
            .map(|h| Ok((uuid_of(&h.volunteer_id, "hours.volunteerId")?, h.hours)))
            .collect::<Result<Vec<_>, ApiError>>()?;
        make_move(
            ctx,
            &order_id,
            Move::Complete {
                hours,
                note,
                outcome,
            },
        )
        .await
    }

    /// Rates a completed order once, 1 to 5 (the citizen who placed it).
    async fn rate_order(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The order id.")] order_id: ID,
        #[graphql(desc = "1 to 5 stars.")] rating: i32,
        #[graphql(desc = "An optional comment.", default)] comment: String,
    ) -> async_graphql::Result<OrderNode> {
        make_move(
            ctx,
            &order_id,
            Move::Rate {
                rating: i64::from(rating),
                comment,
            },
        )
        .await
    }

    /// Cancels an order with a reason (the citizen who placed it): before a volunteer
    /// accepted it; at a legal-aid station until the visit begins (a booked appointment is
    /// cancelled with it).
    async fn cancel_order(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The order id.")] order_id: ID,
        #[graphql(desc = "Why (required; on the timeline).")] reason: String,
    ) -> async_graphql::Result<OrderNode> {
        make_move(ctx, &order_id, Move::Cancel { reason }).await
    }
}
