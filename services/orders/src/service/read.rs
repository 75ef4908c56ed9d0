//! Reading orders: one, the caller's own, a unit's (with filters), the timeline, and
//! dispatch suggestions from volunteers.

use chrono::{DateTime, Utc};
use tongxin_platform::auth::Role;
use tongxin_proto::volunteers as volunteers_pb;
use uuid::Uuid;

use super::{Caller, DEFAULT_PAGE, MAX_PAGE, OrderView, Orders};
use crate::domain::scope::UnitPath;
use crate::domain::{DomainError, OrderId, OrderState};
use crate::error::OrdersError;
use crate::grpc::clients::CallError;
use crate::store::{known_units, orders, timeline};

/// Filters of a unit's orders.
#[derive(Debug, Clone, Default)]
pub struct OrderFilter {
    /// Only these states.
    pub states: Vec<OrderState>,
    /// Only this category.
    pub category: Option<String>,
    /// Only orders past their receive deadline.
    pub overdue: bool,
    /// Placed at or after.
    pub from: Option<DateTime<Utc>>,
    /// Placed before.
    pub to: Option<DateTime<Utc>>,
}

/// One timeline row.
pub type TimelineEntry = timeline::Model;

fn page(first: Option<u64>) -> u64 {
    first.unwrap_or(DEFAULT_PAGE).clamp(1, MAX_PAGE)
}

impl Orders {
    /// One order, or NOT_FOUND when it does not exist or the caller may not see it.
    pub async fn order(&self, caller: &Caller, id: OrderId) -> Result<OrderView, OrdersError> {
        let row = orders::get(&self.db, id.0)
            .await?
            .ok_or_else(|| DomainError::NotFound("no such order".to_owned()))?;
        self.view(caller, row)
    }

    /// The orders among `ids` the caller may see, in one query.
    pub async fn orders_by_id(
        &self,
        caller: &Caller,
        ids: &[Uuid],
    ) -> Result<Vec<OrderView>, OrdersError> {
        Ok(orders::get_many(&self.db, ids)
            .await?
            .into_iter()
            .filter_map(|row| self.view(caller, row).ok())
            .collect())
    }

    /// The caller's own orders, newest first; `(page, more)`.
    pub async fn my_orders(
        &self,
        caller: &Caller,
        filter: &OrderFilter,
        after: Option<Uuid>,
        first: Option<u64>,
    ) -> Result<(Vec<OrderView>, bool), OrdersError> {
        let store_filter = orders::Filter {
            citizen: Some(caller.principal.subject.clone()),
            ..self.store_filter(filter)
        };
        self.page(caller, &store_filter, after, first).await
    }

    /// Orders held by or routed from `unit` and below; the unit must be in the caller's
    /// staff scope.
    pub async fn unit_orders(
        &self,
        caller: &Caller,
        unit: Uuid,
        filter: &OrderFilter,
        after: Option<Uuid>,
        first: Option<u64>,
    ) -> Result<(Vec<OrderView>, bool), OrdersError> {
        let Some(scope) = caller
            .scope
            .as_ref()
            .filter(|_| caller.principal.is_staff())
        else {
            return Err(DomainError::Forbidden(
                "listing a unit's orders needs a staff scope".to_owned(),
            )
            .into());
        };
        let path = match known_units::get(&self.db, unit).await? {
            Some(u) => UnitPath::parse(&u.path)?,
            None if Some(unit) == caller.principal.unit => scope.clone(),
            None => return Err(DomainError::NotFound("no such unit".to_owned()).into()),
        };
        if !scope.covers(path.as_str()) {
            return Err(DomainError::Forbidden("the unit is outside your scope".to_owned()).into());
        }
        let store_filter = orders::Filter {
            under: Some(path.as_str().to_owned()),
            ..self.store_filter(filter)
        };
        self.page(caller, &store_filter, after, first).await
    }

    fn store_filter(&self, filter: &OrderFilter) -> orders::Filter {
        orders::Filter {
            states: filter
                .states
                .iter()
                .map(|s| s.as_str().to_owned())
                .collect(),
            category: filter.category.clone(),
            overdue_at: filter.overdue.then(Utc::now),
            from: filter.from,
            to: filter.to,
            ..Default::default()
        }
    }

    async fn page(
        &self,
        caller: &Caller,
        filter: &orders::Filter,
        after: Option<Uuid>,
        first: Option<u64>,
    ) -> Result<(Vec<OrderView>, bool), OrdersError> {
        let limit = page(first);
        let mut rows = orders::list(&self.db, filter, after, limit + 1).await?;
        let more = rows.len() as u64 > limit;
        rows.truncate(limit as usize);
        Ok((
            rows.into_iter()
                .filter_map(|row| self.view(caller, row).ok())
                .collect(),
            more,
        ))
    }

    /// The timeline of an order the caller may see, oldest first.
    pub async fn timeline(
        &self,
        caller: &Caller,
        id: OrderId,
    ) -> Result<Vec<TimelineEntry>, OrdersError> {
        self.order(caller, id).await?;
        Ok(timeline::of_order(&self.db, id.0).await?)
    }

    /// Ranked volunteer candidates for dispatching the order (staff in scope of the holding
    /// unit), from volunteers `MatchCandidates`, leaving out who already declined. When
    /// volunteers does not answer: UNAVAILABLE (staff can still dispatch by their own choice).
    pub async fn suggest_candidates(
        &self,
        caller: &Caller,
        id: OrderId,
        count: u32,
    ) -> Result<Vec<volunteers_pb::Candidate>, OrdersError> {
        let view = self.order(caller, id).await?;
        let in_scope = caller.principal.is_staff()
            && caller
                .scope
                .as_ref()
                .is_some_and(|s| s.covers(&view.row.holding_unit_path));
        if !in_scope && !caller.principal.has_role(Role::Admin) {
            return Err(
                DomainError::Forbidden("the order is held outside your scope".to_owned()).into(),
            );
        }
        if !(1..=100).contains(&count) {
            return Err(DomainError::invalid("count", "must be 1 to 100").into());
        }
        let skills = match self.category(&view.row.category_code).await? {
            Some(c) => c.skills,
            None => Vec::new(),
        };
        let start = view.row.preferred_at.unwrap_or_else(Utc::now);
        let declined: Vec<Uuid> = serde_json::from_str(&view.row.declined).unwrap_or_default();
        let request = volunteers_pb::MatchCandidatesRequest {
            location: Some(volunteers_pb::Location {
                lat: view.row.lat,
                lon: view.row.lon,
            }),
            skills,
            window_start_ms: start.timestamp_millis(),
            window_end_ms: (start + chrono::Duration::hours(2)).timestamp_millis(),
            count,
            exclude_volunteer_ids: declined.iter().map(ToString::to_string).collect(),
        };
        match self
            .deps
            .volunteers
            .match_candidates(&caller.principal, request)
            .await
        {
            Ok(candidates) => Ok(candidates),
            Err(CallError::Unavailable(cause)) => Err(OrdersError::Unavailable(format!(
                "volunteers MatchCandidates: {cause}"
            ))),
            Err(CallError::Refused(status)) => Err(DomainError::invalid(
                "order",
                format!("volunteers refused the match: {}", status.message()),
            )
            .into()),
        }
    }
}
