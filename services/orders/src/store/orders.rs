//! The `orders` table. The contact phone is AES-GCM ciphertext; lists (chain, dispatched,
//! accepted, declined volunteers, hours, photos, form answers) are JSON text so one row is
//! one order on both PostgreSQL and SQLite. Columns are typed (see [`super::columns`]): a
//! state or a list that does not parse fails the read instead of becoming a default.
//!
//! A row and the domain [`Order`] convert both ways: `From<&Order>` to write, `TryFrom<Model>`
//! to read, refusing what the columns alone cannot check (the holding unit outside the chain,
//! a rating outside 1..=5, hours that are not quarter hours, coordinates out of range).
//!
//! Every change after placement is [`update_if_version`]: a conditional UPDATE on
//! `(id, version)`, so of two racing moves exactly one changes the row.

use chrono::{DateTime, Utc};
use sea_orm::entity::prelude::*;
use sea_orm::sea_query::{Expr, ExprTrait, LockBehavior, LockType};
use sea_orm::{Condition, ConnectionTrait, DbBackend, QueryOrder, QuerySelect};
use tongxin_platform::db::{DbError, classify};
use tongxin_platform::geo::{BoundingBox, Coordinates, METRES_PER_DEGREE};

use super::columns::{Chain, FormAnswers, HoursList, Photos, State, StoredHours, VolunteerIds};
use crate::domain::intake::{Channel, Consent, ConsentMethod, Intake, Resident, Source};
use crate::domain::order::{Order, ReceiveDeadline, Route, ServedHours};
use crate::domain::{DomainError, Hours, Level, OrderId, Rating, TeamId, UnitId};

/// One order as stored.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "orders")]
pub struct Model {
    /// UUIDv7.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Public number shown to the citizen.
    #[sea_orm(unique)]
    pub order_no: String,
    /// The placing citizen's subject.
    pub citizen: String,
    /// The citizen's idempotency key; (citizen, key) is unique.
    pub idempotency_key: String,
    /// Menu category.
    pub category_code: String,
    /// What the citizen needs.
    pub description: String,
    /// JSON object of form answers.
    pub form: FormAnswers,
    /// Latitude of the service location.
    pub lat: f64,
    /// Longitude.
    pub lon: f64,
    /// When the citizen would like it.
    pub preferred_at: Option<DateTime<Utc>>,
    /// AES-GCM ciphertext of the contact phone.
    pub phone_cipher: Vec<u8>,
    /// JSON array of photo URLs.
    pub photos: Photos,
    /// Current state.
    pub state: State,
    /// Bumped by every move; the condition of every UPDATE.
    pub version: i64,
    /// District code.
    pub district: String,
    /// The courtyard routing found, if any.
    pub courtyard_id: Option<Uuid>,
    /// JSON array of the chain from the routed unit up to the center.
    pub chain: Chain,
    /// Index of the holding unit in `chain`.
    pub holding: i32,
    /// Holding unit id (denormalised from `chain` for queries).
    pub holding_unit_id: Uuid,
    /// Holding unit path.
    pub holding_unit_path: String,
    /// Holding level.
    pub holding_level: Level,
    /// Path of the first unit of the chain (where the order was routed).
    pub routed_path: String,
    /// Why routing did what it did, when not the usual.
    pub routing_note: String,
    /// An earlier order of the same category within 100 m and 24 h.
    pub duplicate_of: Option<Uuid>,
    /// JSON array of volunteer ids still dispatched.
    pub dispatched: VolunteerIds,
    /// Dispatched team.
    pub team_id: Option<Uuid>,
    /// The legal-aid station it is dispatched to.
    pub legal_aid_station_id: Option<Uuid>,
    /// JSON array of volunteer ids who accepted.
    pub accepted: VolunteerIds,
    /// JSON array of volunteer ids who declined.
    pub declined: VolunteerIds,
    /// JSON array of `{volunteer_id, hours}`.
    pub hours: HoursList,
    /// 1..=5 once rated.
    pub rating: Option<i16>,
    /// The rating's comment.
    pub rating_comment: Option<String>,
    /// Why the citizen cancelled.
    pub cancel_reason: Option<String>,
    /// When placed.
    pub placed_at: DateTime<Utc>,
    /// Last move.
    pub updated_at: DateTime<Utc>,
    /// The holding level's receive deadline while it awaits receipt.
    pub deadline_at: Option<DateTime<Utc>>,
    /// When to remind the holding unit (once), while it awaits receipt.
    pub remind_at: Option<DateTime<Utc>>,
    /// When the overdue alert went out at the center (once).
    pub alerted_at: Option<DateTime<Utc>>,
    /// Where the need was heard: `visit`, `briefing`, `phone`, `mini_program` (every order
    /// from before the column).
    pub channel: String,
    /// The visit it was heard at (venues).
    pub source_visit_id: Option<Uuid>,
    /// The activity it was heard at (venues).
    pub source_activity_id: Option<Uuid>,
    /// AES-GCM ciphertext of the resident's name, when filed on behalf.
    pub resident_name_cipher: Option<Vec<u8>>,
    /// Who recorded the resident's consent.
    pub consent_recorded_by: Option<String>,
    /// `verbal` or `written`.
    pub consent_method: Option<String>,
    /// When the consent was given.
    pub consent_recorded_at: Option<DateTime<Utc>>,
    /// The staff subject who filed it on behalf.
    pub filed_by: Option<String>,
    /// The reply's outcome text.
    pub outcome: Option<String>,
}

/// No relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

/// The row of `order`.
impl From<&Order> for Model {
    fn from(o: &Order) -> Self {
        let holding = o.holding_unit();
        let ids = |v: &[crate::domain::VolunteerId]| VolunteerIds(v.to_vec());
        Self {
            id: o.id.0,
            order_no: o.number.clone(),
            citizen: o.citizen.clone(),
            idempotency_key: o.idempotency_key.clone(),
            category_code: o.category.clone(),
            description: o.description.clone(),
            form: FormAnswers(o.form.clone()),
            lat: o.location.lat(),
            lon: o.location.lon(),
            preferred_at: o.preferred_at,
            phone_cipher: o.phone_cipher.clone(),
            photos: Photos(o.photos.clone()),
            state: o.state.into(),
            version: o.version,
            district: o.district.clone(),
            courtyard_id: o.courtyard.map(|c| c.0),
            chain: Chain(o.route.chain().to_vec()),
            // A chain is a handful of units: the index always fits.
            holding: i32::try_from(o.route.holding()).unwrap_or(i32::MAX),
            holding_unit_id: holding.id.0,
            holding_unit_path: holding.path.clone(),
            holding_level: holding.level,
            routed_path: o.route.routed_unit().path.clone(),
            routing_note: o.routing_note.clone(),
            duplicate_of: o.duplicate_of.map(|d| d.0),
            dispatched: ids(&o.dispatched),
            team_id: o.team.map(|t| t.0),
            legal_aid_station_id: o.legal_aid_station,
            accepted: ids(&o.accepted),
            declined: ids(&o.declined),
            hours: HoursList(
                o.hours
                    .iter()
                    .map(|h| StoredHours {
                        volunteer_id: h.volunteer.0,
                        hours: h.hours.get(),
                    })
                    .collect(),
            ),
            rating: o.rating.map(|r| i16::from(r.get())),
            rating_comment: o.rating_comment.clone(),
            cancel_reason: o.cancel_reason.clone(),
            placed_at: o.placed_at,
            updated_at: o.updated_at,
            deadline_at: o.deadline.map(|d| d.at),
            remind_at: o.deadline.and_then(|d| d.remind_at),
            alerted_at: o.alerted_at,
            channel: o.intake.channel.as_str().to_owned(),
            source_visit_id: o.intake.source.visit(),
            source_activity_id: o.intake.source.activity(),
            resident_name_cipher: o.intake.resident.as_ref().map(|r| r.name_cipher.clone()),
            consent_recorded_by: o
                .intake
                .resident
                .as_ref()
                .map(|r| r.consent.recorded_by.clone()),
            consent_method: o
                .intake
                .resident
                .as_ref()
                .map(|r| r.consent.method.as_str().to_owned()),
            consent_recorded_at: o.intake.resident.as_ref().map(|r| r.consent.recorded_at),
            filed_by: o.intake.filed_by.clone(),
            outcome: o.outcome.clone(),
        }
    }
}

/// How the order came in, from its columns: a resident needs their name and the whole
/// consent, or none of it.
fn intake(row: &Model) -> Result<Intake, DomainError> {
    let channel = Channel::parse(&row.channel)?;
    let source = match (row.source_visit_id, row.source_activity_id) {
        (None, None) => Source::None,
        (Some(v), None) => Source::Visit(v),
        (None, Some(a)) => Source::Activity(a),
        (Some(_), Some(_)) => {
            return Err(DomainError::invalid(
                "source",
                "both a visit and an activity",
            ));
        }
    };
    let resident = match (
        &row.resident_name_cipher,
        &row.consent_recorded_by,
        &row.consent_method,
        row.consent_recorded_at,
    ) {
        (None, None, None, None) => None,
        (Some(name), Some(by), Some(method), Some(at)) => Some(Resident {
            name_cipher: name.clone(),
            consent: Consent {
                recorded_by: by.clone(),
                method: ConsentMethod::parse(method)?,
                recorded_at: at,
            },
        }),
        _ => {
            return Err(DomainError::invalid(
                "resident",
                "a resident without the whole consent",
            ));
        }
    };
    Ok(Intake {
        channel,
        source,
        resident,
        filed_by: row.filed_by.clone(),
    })
}

/// A stored row that is not a valid order. Names the column, never its content.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("stored order {order}: {column}: {reason}")]
pub struct BadRow {
    /// The order's id.
    pub order: Uuid,
    /// The column.
    pub column: &'static str,
    /// What is wrong.
    pub reason: String,
}

/// The order a row holds; what the typed columns cannot check is checked here.
impl TryFrom<Model> for Order {
    type Error = BadRow;

    fn try_from(row: Model) -> Result<Self, BadRow> {
        let id = row.id;
        let bad = |column: &'static str| {
            move |e: DomainError| BadRow {
                order: id,
                column,
                reason: e.to_string(),
            }
        };
        let intake = intake(&row).map_err(bad("channel"))?;
        let location = Coordinates::parse(row.lat, row.lon)
            .map_err(|e| bad("lat/lon")(DomainError::invalid("location", e.to_string())))?;
        let holding = usize::try_from(row.holding)
            .map_err(|_| bad("holding")(DomainError::invalid("holding", "negative")))?;
        let route = Route::new(row.chain.0.clone(), holding).map_err(bad("holding"))?;
        let unit = route.holding_unit();
        if (unit.id.0, unit.path.as_str(), unit.level)
            != (
                row.holding_unit_id,
                row.holding_unit_path.as_str(),
                row.holding_level,
            )
        {
            return Err(bad("holding_unit_id")(DomainError::invalid(
                "holding",
                "the holding unit columns disagree with the chain",
            )));
        }
        if route.routed_unit().path != row.routed_path {
            return Err(bad("routed_path")(DomainError::invalid(
                "routed_path",
                "disagrees with the chain",
            )));
        }
        let hours = row
            .hours
            .0
            .iter()
            .map(|h| {
                Ok(ServedHours {
                    volunteer: crate::domain::VolunteerId(h.volunteer_id),
                    hours: Hours::parse(h.hours)?,
                })
            })
            .collect::<Result<Vec<_>, DomainError>>()
            .map_err(bad("hours"))?;
        let rating = row
            .rating
            .map(|r| Rating::parse(i64::from(r)))
            .transpose()
            .map_err(bad("rating"))?;
        let deadline = match (row.deadline_at, row.remind_at) {
            (Some(at), remind_at) => Some(ReceiveDeadline { at, remind_at }),
            (None, None) => None,
            (None, Some(_)) => {
                return Err(bad("remind_at")(DomainError::invalid(
                    "remind_at",
                    "a reminder without a deadline",
                )));
            }
        };
        Ok(Order {
            id: OrderId(row.id),
            number: row.order_no,
            citizen: row.citizen,
            idempotency_key: row.idempotency_key,
            category: row.category_code,
            description: row.description,
            form: row.form.0,
            location,
            preferred_at: row.preferred_at,
            phone_cipher: row.phone_cipher,
            photos: row.photos.0,
            state: row.state.into(),
            version: row.version,
            district: row.district,
            courtyard: row.courtyard_id.map(UnitId),
            route,
            routing_note: row.routing_note,
            duplicate_of: row.duplicate_of.map(OrderId),
            dispatched: row.dispatched.0,
            team: row.team_id.map(TeamId),
            legal_aid_station: row.legal_aid_station_id,
            accepted: row.accepted.0,
            declined: row.declined.0,
            hours,
            rating,
            rating_comment: row.rating_comment,
            cancel_reason: row.cancel_reason,
            placed_at: row.placed_at,
            updated_at: row.updated_at,
            deadline,
            alerted_at: row.alerted_at,
            intake,
            outcome: row.outcome,
        })
    }
}

/// A failed read. A row whose typed columns do not decode (an unknown state, JSON text that
/// is not its list) fails the whole read: it is logged as such with the ids that were asked
/// for (a listing has none), and reported as an internal database error. Anything else is
/// classified as usual.
fn read_error(err: DbErr, asked: &[Uuid]) -> DbError {
    if matches!(
        err,
        DbErr::TryIntoErr { .. } | DbErr::Type(_) | DbErr::Json(_)
    ) {
        match asked {
            [] => tracing::error!(error = %err, "a stored order in a listing does not parse"),
            [order_id] => tracing::error!(%order_id, error = %err, "stored order does not parse"),
            ids => tracing::error!(
                order_ids = ?ids.iter().map(ToString::to_string).collect::<Vec<_>>(),
                error = %err,
                "one of these stored orders does not parse"
            ),
        }
        return DbError::Other("stored order does not parse".to_owned());
    }
    classify(err)
}

/// The order `row` holds. A row that is not a valid order is logged with its id (the
/// column and what is wrong, never the content) and reported as an internal database error,
/// never replaced by a default.
pub fn parse(row: Model) -> Result<Order, DbError> {
    Order::try_from(row).map_err(|e| {
        tracing::error!(order_id = %e.order, column = e.column, error = %e, "stored order does not parse");
        DbError::Other("stored order does not parse".to_owned())
    })
}

/// Rows into orders; the first that does not parse fails them all (see [`parse`]).
pub fn parse_all(rows: Vec<Model>) -> Result<Vec<Order>, DbError> {
    rows.into_iter().map(parse).collect()
}

/// Inserts a new order; a repeated (citizen, idempotency key) is [`DbError::Conflict`].
pub async fn insert<C: ConnectionTrait>(conn: &C, row: Model) -> Result<(), DbError> {
    Entity::insert(ActiveModel::from(row).reset_all())
        .exec_without_returning(conn)
        .await
        .map_err(classify)?;
    Ok(())
}

/// One order.
pub async fn get<C: ConnectionTrait>(conn: &C, id: Uuid) -> Result<Option<Model>, DbError> {
    Entity::find_by_id(id)
        .one(conn)
        .await
        .map_err(|e| read_error(e, &[id]))
}

/// Orders by id, one query.
pub async fn get_many<C: ConnectionTrait>(conn: &C, ids: &[Uuid]) -> Result<Vec<Model>, DbError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    Entity::find()
        .filter(Column::Id.is_in(ids.iter().copied()))
        .all(conn)
        .await
        .map_err(|e| read_error(e, ids))
}

/// Ids of the orders `unit` holds and has not received (placed at it or escalated to it),
/// oldest first, at most `limit`.
pub async fn waiting_at<C: ConnectionTrait>(
    conn: &C,
    unit: Uuid,
    limit: u64,
) -> Result<Vec<Uuid>, DbError> {
    Entity::find()
        .select_only()
        .column(Column::Id)
        .filter(Column::HoldingUnitId.eq(unit))
        .filter(Column::State.is_in([State::Placed, State::Escalated]))
        .order_by_asc(Column::UpdatedAt)
        .limit(limit)
        .into_tuple::<Uuid>()
        .all(conn)
        .await
        .map_err(|e| read_error(e, &[]))
}

/// The citizen's order placed with `key`.
pub async fn by_idempotency<C: ConnectionTrait>(
    conn: &C,
    citizen: &str,
    key: &str,
) -> Result<Option<Model>, DbError> {
    Entity::find()
        .filter(Column::Citizen.eq(citizen))
        .filter(Column::IdempotencyKey.eq(key))
        .one(conn)
        .await
        .map_err(|e| read_error(e, &[]))
}

/// Writes `row` if the stored version is still `expected`; `false` when another move got
/// there first (nothing changed).
pub async fn update_if_version<C: ConnectionTrait>(
    conn: &C,
    row: &Model,
    expected: i64,
) -> Result<bool, DbError> {
    let result = Entity::update_many()
        .set(ActiveModel::from(row.clone()).reset_all())
        .filter(Column::Id.eq(row.id))
        .filter(Column::Version.eq(expected))
        .exec(conn)
        .await
        .map_err(classify)?;
    Ok(result.rows_affected == 1)
}

/// The earliest order of `category` placed since `since` within `radius_m` of `point` and
/// not cancelled. This runs on every placement, so it reads one id and stops at the first
/// match.
///
/// The distance is the flat-earth (equirectangular) one, plain arithmetic so the same filter
/// runs on PostgreSQL and SQLite. Over 100 m it differs from the great-circle distance by
/// about a millimetre at most, which is nothing next to a "likely duplicate" hint.
pub async fn earliest_nearby<C: ConnectionTrait>(
    conn: &C,
    category: &str,
    since: DateTime<Utc>,
    point: Coordinates,
    radius_m: f64,
) -> Result<Option<Uuid>, DbError> {
    // The box lets an index on the coordinates narrow the search; the circle decides.
    let b = BoundingBox::around(point, radius_m);
    let lon_scale = point.lat().to_radians().cos();
    let dlat = Expr::col(Column::Lat).sub(point.lat());
    let dlon = Expr::col(Column::Lon).sub(point.lon()).mul(lon_scale);
    let radius_deg = radius_m / METRES_PER_DEGREE;
    Entity::find()
        .select_only()
        .column(Column::Id)
        .filter(Column::CategoryCode.eq(category))
        .filter(Column::PlacedAt.gte(since))
        .filter(Column::Lat.between(b.min_lat(), b.max_lat()))
        .filter(Column::Lon.between(b.min_lon(), b.max_lon()))
        .filter(
            dlat.clone()
                .mul(dlat)
                .add(dlon.clone().mul(dlon))
                .lte(radius_deg * radius_deg),
        )
        .filter(Column::State.ne(State::Cancelled))
        .order_by_asc(Column::PlacedAt)
        .into_tuple::<Uuid>()
        .one(conn)
        .await
        .map_err(classify)
}

/// What a unit list asks for.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Held by this unit or below, or routed from below it.
    pub under: Option<String>,
    /// Placed by this citizen.
    pub citizen: Option<String>,
    /// Only these states (empty: all).
    pub states: Vec<State>,
    /// Only this category.
    pub category: Option<String>,
    /// Only orders whose receive deadline has passed at `now`.
    pub overdue_at: Option<DateTime<Utc>>,
    /// Placed at or after.
    pub from: Option<DateTime<Utc>>,
    /// Placed before.
    pub to: Option<DateTime<Utc>>,
}

/// Up to `limit` orders matching `filter`, newest first, after id `after` (ids are UUIDv7,
/// so they sort by placement time).
pub async fn list<C: ConnectionTrait>(
    conn: &C,
    filter: &Filter,
    after: Option<Uuid>,
    limit: u64,
) -> Result<Vec<Model>, DbError> {
    let mut cond = Condition::all();
    if let Some(path) = &filter.under {
        let below = format!("{path}/");
        cond = cond.add(
            Condition::any()
                .add(Column::HoldingUnitPath.eq(path.as_str()))
                .add(Column::HoldingUnitPath.starts_with(&below))
                .add(Column::RoutedPath.eq(path.as_str()))
                .add(Column::RoutedPath.starts_with(&below)),
        );
    }
    if let Some(citizen) = &filter.citizen {
        cond = cond.add(Column::Citizen.eq(citizen.as_str()));
    }
    if !filter.states.is_empty() {
        cond = cond.add(Column::State.is_in(filter.states.iter().copied()));
    }
    if let Some(category) = &filter.category {
        cond = cond.add(Column::CategoryCode.eq(category.as_str()));
    }
    if let Some(now) = filter.overdue_at {
        cond = cond.add(Column::DeadlineAt.lte(now));
    }
    if let Some(from) = filter.from {
        cond = cond.add(Column::PlacedAt.gte(from));
    }
    if let Some(to) = filter.to {
        cond = cond.add(Column::PlacedAt.lt(to));
    }
    if let Some(after) = after {
        cond = cond.add(Column::Id.lt(after));
    }
    Entity::find()
        .filter(cond)
        .order_by_desc(Column::Id)
        .limit(limit)
        .all(conn)
        .await
        .map_err(|e| read_error(e, &[]))
}

/// Claims up to `limit` orders whose receive deadline passed at `now` and that still need
/// the scheduler (not at the center with its alert already sent). On PostgreSQL the rows
/// stay locked by the caller's transaction and rows another replica holds are skipped
/// (`FOR UPDATE SKIP LOCKED`), so each overdue order is handled by one replica.
pub async fn claim_overdue<C: ConnectionTrait>(
    conn: &C,
    now: DateTime<Utc>,
    limit: u64,
) -> Result<Vec<Model>, DbError> {
    let mut query = Entity::find()
        .filter(Column::State.is_in([State::Placed, State::Escalated]))
        .filter(Column::DeadlineAt.lte(now))
        .filter(
            Condition::any()
                .add(Column::HoldingLevel.ne(Level::Center))
                .add(Column::AlertedAt.is_null()),
        )
        .order_by_asc(Column::DeadlineAt)
        .limit(limit);
    if conn.get_database_backend() == DbBackend::Postgres {
        query = query.lock_with_behavior(LockType::Update, LockBehavior::SkipLocked);
    }
    query.all(conn).await.map_err(|e| read_error(e, &[]))
}

/// Claims up to `limit` orders whose reminder is due (same locking as [`claim_overdue`]).
pub async fn claim_reminders<C: ConnectionTrait>(
    conn: &C,
    now: DateTime<Utc>,
    limit: u64,
) -> Result<Vec<Model>, DbError> {
    let mut query = Entity::find()
        .filter(Column::State.is_in([State::Placed, State::Escalated]))
        .filter(Column::RemindAt.lte(now))
        .order_by_asc(Column::RemindAt)
        .limit(limit);
    if conn.get_database_backend() == DbBackend::Postgres {
        query = query.lock_with_behavior(LockType::Update, LockBehavior::SkipLocked);
    }
    query.all(conn).await.map_err(|e| read_error(e, &[]))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use chrono::Utc;

    use super::*;
    use crate::domain::machine::ChainUnit;
    use crate::domain::order::Placement;

    fn order() -> Order {
        let unit = |path: &str, level| ChainUnit {
            id: UnitId(Uuid::new_v5(&Uuid::NAMESPACE_URL, path.as_bytes())),
            path: path.to_owned(),
            level,
        };
        let at = Utc::now();
        Order::place(Placement {
            id: OrderId(Uuid::now_v7()),
            number: "RC1".into(),
            citizen: "alice".into(),
            idempotency_key: "k".into(),
            category: "elder_visit".into(),
            description: "d".into(),
            form: BTreeMap::from([("age".to_owned(), "80".to_owned())]),
            location: Coordinates::parse(29.4, 105.5).expect("point"),
            preferred_at: None,
            phone_cipher: vec![9; 12],
            photos: vec!["https://x/y.jpg".into()],
            district: "rc".into(),
            courtyard: None,
            route: Route::new(
                vec![unit("/rc/a/b", Level::Station), unit("/rc", Level::Center)],
                0,
            )
            .expect("route"),
            routing_note: String::new(),
            duplicate_of: None,
            deadline: ReceiveDeadline {
                at,
                remind_at: Some(at),
            },
            at,
        })
    }

    #[test]
    fn an_order_survives_its_row() {
        let o = order();
        let row = Model::from(&o);
        assert_eq!(row.state, State::Placed);
        assert_eq!(row.holding_level, Level::Station);
        assert_eq!(row.routed_path, "/rc/a/b");
        assert_eq!(Order::try_from(row), Ok(o));
    }

    #[test]
    fn a_row_that_is_not_an_order_names_the_column() {
        let o = order();
        let broken = |f: fn(&mut Model)| {
            let mut row = Model::from(&o);
            f(&mut row);
            Order::try_from(row)
                .map(|_| ())
                .map_err(|e| (e.order, e.column))
        };
        let id = o.id.0;
        assert_eq!(broken(|r| r.holding = 2), Err((id, "holding")));
        assert_eq!(broken(|r| r.holding = -1), Err((id, "holding")));
        assert_eq!(
            broken(|r| r.holding_level = Level::Courtyard),
            Err((id, "holding_unit_id"))
        );
        assert_eq!(broken(|r| r.rating = Some(9)), Err((id, "rating")));
        assert_eq!(broken(|r| r.lat = 91.0), Err((id, "lat/lon")));
        assert_eq!(
            broken(|r| {
                r.deadline_at = None;
            }),
            Err((id, "remind_at"))
        );
        assert_eq!(
            broken(|r| {
                r.hours = HoursList(vec![StoredHours {
                    volunteer_id: Uuid::nil(),
                    hours: 0.3,
                }]);
            }),
            Err((id, "hours"))
        );
    }
}
