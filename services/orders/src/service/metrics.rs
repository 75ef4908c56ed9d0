//! Evaluation and ranking for staff: a unit's figures for a period, the quarterly ranking of
//! the units of one level, and of volunteers (rules and score in
//! [`crate::domain::metrics`]).
//!
//! Scope: only staff, and only inside their scope. A unit's figures need the unit in the
//! caller's scope; a ranking covers the units (or the volunteers' completed orders) at or
//! below the caller's unit, so center staff rank the whole district and an institute's
//! staff see the ranking within their institute. Anyone else gets FORBIDDEN.

use std::collections::HashMap;

use uuid::Uuid;

use super::{Caller, Orders};
use crate::domain::metrics::{self, MAX_RANKING, Period, RankedUnit, RankedVolunteer, UnitMetrics};
use crate::domain::scope::UnitPath;
use crate::domain::{DomainError, Level};
use crate::error::OrdersError;
use crate::store::known_units;
use crate::store::metrics::{self as rows, Units};

impl Orders {
    /// The caller's scope when they are staff; FORBIDDEN for anyone else (the figures, the
    /// rankings and the quarterly evaluation are for staff).
    pub(super) fn staff_scope<'a>(&self, caller: &'a Caller) -> Result<&'a UnitPath, OrdersError> {
        caller
            .scope
            .as_ref()
            .filter(|_| caller.principal.is_staff())
            .ok_or_else(|| {
                DomainError::Forbidden("evaluation and ranking are for staff".to_owned()).into()
            })
    }

    /// The figures of `unit` for `period` (the unit must be in the caller's scope).
    #[tracing::instrument(skip_all, fields(unit_id = %unit))]
    pub async fn unit_metrics(
        &self,
        caller: &Caller,
        unit: Uuid,
        period: Period,
    ) -> Result<UnitMetrics, OrdersError> {
        let scope = self.staff_scope(caller)?;
        // Learns the unit from venues when this service has not seen it yet.
        let Some(path) = self.unit_path(unit).await? else {
            return Err(DomainError::NotFound("no such unit".to_owned()).into());
        };
        if !scope.covers(path.as_str()) {
            return Err(DomainError::Forbidden("the unit is outside your scope".to_owned()).into());
        }
        let level = known_units::get(&self.db, unit)
            .await?
            .and_then(|u| u.level)
            .map(|l| l.as_str().to_owned())
            .unwrap_or_default();
        let (moves, facts) = rows::arrived(&self.db, &Units::One(unit), period).await?;
        let facts: HashMap<_, _> = facts.into_iter().collect();
        Ok(metrics::evaluate_unit(
            &moves,
            &facts,
            period,
            self.now(),
            (unit, path.as_str(), &level),
        ))
    }

    /// The units of `level` in the caller's scope that orders reached in `period`, ranked
    /// by the composite score; the first `first`.
    #[tracing::instrument(skip_all, fields(level = level.as_str()))]
    pub async fn rankings(
        &self,
        caller: &Caller,
        level: Level,
        period: Period,
        first: usize,
    ) -> Result<Vec<RankedUnit>, OrdersError> {
        let scope = self.staff_scope(caller)?;
        let units = Units::Level {
            level: level.as_str(),
            under: scope.as_str(),
        };
        let (moves, facts) = rows::arrived(&self.db, &units, period).await?;
        let facts: HashMap<_, _> = facts.into_iter().collect();
        let all = metrics::evaluate(&moves, &facts, period, self.now(), |_, path, l| {
            l == level.as_str() && scope.covers(path)
        });
        let mut ranked = metrics::rank_units(all);
        ranked.truncate(first.min(MAX_RANKING));
        Ok(ranked)
    }

    /// Volunteers ranked by the orders they completed in `period` at units in the caller's
    /// scope; the first `first`.
    #[tracing::instrument(skip_all)]
    pub async fn volunteer_rankings(
        &self,
        caller: &Caller,
        period: Period,
        first: usize,
    ) -> Result<Vec<RankedVolunteer>, OrdersError> {
        let scope = self.staff_scope(caller)?;
        let done = rows::completed(&self.db, scope.as_str(), period).await?;
        let mut ranked = metrics::rank_volunteers(&done);
        ranked.truncate(first.min(MAX_RANKING));
        Ok(ranked)
    }
}
