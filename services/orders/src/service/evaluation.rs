//! The quarterly evaluation (每季一次评比) for staff: each district's weights and award rules,
//! a unit's score explained line by line, the ranking of a level, and publishing it (rules
//! and score in [`crate::domain::evaluation`]).
//!
//! **Live until published.** Before a quarter is published, `evaluation` and
//! `evaluationRanking` compute it from the figures as they stand (the order metrics here,
//! the rhythm from venues, the hours from volunteers). Publishing freezes it: the entries are
//! stored and every later read returns them unchanged, whatever happens to the figures
//! afterwards. A correction is a new version with a reason; the earlier versions stay
//! readable.
//!
//! **Who.** Staff only, inside their scope (a district's ranking is district-wide; staff of
//! an institute see the entries below their unit, with their district-wide ranks). Only the
//! district center's staff (scope = the district root, a token of that district) set the
//! weights and publish.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::TransactionTrait;
use tongxin_platform::events::outbox;
use tongxin_proto::events as pb;
use uuid::Uuid;

use super::{Caller, Orders};
use crate::domain::evaluation::{
    self as rules, AwardRules, Evaluation, Inputs, RANKED_LEVELS, Weights,
};
use crate::domain::metrics::{self, Period};
use crate::domain::{DomainError, Level};
use crate::error::OrdersError;
use crate::events;
use crate::store::evaluations::{self as store, Settings, publications};
use crate::store::known_units;
use crate::store::metrics::{self as rows, Units};

/// The longest reason a correction may give.
pub const MAX_REASON: usize = 500;

/// A published version's facts.
#[derive(Debug, Clone)]
pub struct Published {
    /// The publication id.
    pub id: Uuid,
    /// Its version.
    pub version: i32,
    /// Why it corrects an earlier one.
    pub reason: Option<String>,
    /// Who published it.
    pub published_by: String,
    /// When.
    pub published_at: DateTime<Utc>,
}

impl From<publications::Model> for Published {
    fn from(p: publications::Model) -> Self {
        Self {
            id: p.id,
            version: p.version,
            reason: p.reason,
            published_by: p.published_by,
            published_at: p.published_at,
        }
    }
}

/// One unit's evaluation for a quarter.
#[derive(Debug, Clone)]
pub struct UnitEvaluation {
    /// The quarter, `2026Q4`.
    pub quarter: String,
    /// The evaluation with its lines.
    pub evaluation: Evaluation,
    /// The publication it was read from; `None` while the quarter is unpublished (live).
    pub published: Option<Published>,
}

/// A level's ranking for a quarter.
#[derive(Debug, Clone)]
pub struct EvaluationRanking {
    /// The district code.
    pub district: String,
    /// The quarter.
    pub quarter: String,
    /// The level.
    pub level: Level,
    /// Best first.
    pub entries: Vec<Evaluation>,
    /// The publication read; `None` when live.
    pub published: Option<Published>,
}

/// The district a path belongs to (its first segment).
fn district_of(path: &str) -> String {
    tongxin_platform::org::district_of(path).to_owned()
}

/// The district's local dates of a period's bounds (the rhythm and hours count by date).
fn local_dates(period: Period) -> (NaiveDate, NaiveDate) {
    let local = tongxin_platform::org::CHINA_STANDARD_TIME;
    (
        period.from.with_timezone(&local).date_naive(),
        period.to.with_timezone(&local).date_naive(),
    )
}

/// The unit a staff caller's scope hangs on (a staff scope exists only with one).
fn caller_unit(caller: &Caller) -> Result<Uuid, OrdersError> {
    caller.principal.unit.ok_or_else(|| {
        DomainError::Forbidden("the quarterly evaluation is for staff".to_owned()).into()
    })
}

fn quarter_of(text: &str) -> Result<(Period, String), OrdersError> {
    let period = Period::quarter(text)?;
    let name = period
        .quarter_name()
        .ok_or_else(|| DomainError::invalid("quarter", "must look like 2026Q4"))?;
    Ok((period, name))
}

impl Orders {
    /// The district whose center the caller is staff of, or FORBIDDEN.
    fn center_district(&self, caller: &Caller) -> Result<String, OrdersError> {
        let scope = self.staff_scope(caller)?;
        let district = district_of(scope.as_str());
        let token_district = caller.principal.district.as_deref().unwrap_or_default();
        if scope.as_str() == format!("/{district}") && token_district == district {
            Ok(district)
        } else {
            Err(DomainError::Forbidden(
                "only the district center's staff set the evaluation and publish it".to_owned(),
            )
            .into())
        }
    }

    /// The weights and award rules of the caller's district (the defaults until set).
    #[tracing::instrument(skip_all)]
    pub async fn evaluation_settings(
        &self,
        caller: &Caller,
    ) -> Result<(String, Settings), OrdersError> {
        let district = district_of(self.staff_scope(caller)?.as_str());
        let settings = store::settings_of(&self.db, &district).await??;
        Ok((district, settings))
    }

    /// Replaces the caller's district's weights and award rules (center staff only).
    #[tracing::instrument(skip_all)]
    pub async fn set_evaluation_settings(
        &self,
        caller: &Caller,
        weights: Weights,
        awards: AwardRules,
    ) -> Result<(String, Settings), OrdersError> {
        let district = self.center_district(caller)?;
        store::save_settings(
            &self.db,
            &district,
            &weights,
            &awards,
            &caller.principal.subject,
            self.now(),
        )
        .await?;
        let settings = store::settings_of(&self.db, &district).await??;
        Ok((district, settings))
    }

    /// The id of `district`'s center: known here (learnt from routing and the venues unit
    /// events), or found above `inside`, a unit of the district, and remembered.
    async fn district_center(&self, district: &str, inside: Uuid) -> Result<Uuid, OrdersError> {
        if let Some(known) = known_units::by_path(&self.db, &format!("/{district}")).await? {
            return Ok(known.id);
        }
        let chain = self
            .deps
            .venues
            .ancestors(inside)
            .await
            .map_err(|e| OrdersError::Unavailable(format!("venues Ancestors: {e}")))?;
        let center = chain
            .into_iter()
            .find(|u| u.level == Level::Center && u.path == format!("/{district}"))
            .ok_or_else(|| {
                OrdersError::Unavailable(format!("the center of district {district} is unknown"))
            })?;
        known_units::remember(&self.db, center.id, &center.path, Some(center.level)).await?;
        Ok(center.id)
    }

    /// Scores every ranked unit of `district` for `period` from the figures as they stand.
    /// `inside` is any unit of the district (the way to its center when that is not known).
    async fn compute(
        &self,
        district: &str,
        inside: Uuid,
        period: Period,
        weights: &Weights,
    ) -> Result<Vec<Evaluation>, OrdersError> {
        let root = format!("/{district}");
        let center = self.district_center(district, inside).await?;
        let units: Vec<(Uuid, String, String)> = self
            .deps
            .venues
            .subtree(center)
            .await
            .map_err(|e| OrdersError::Unavailable(format!("venues ListChildren: {e}")))?
            .into_iter()
            .filter(|(_, _, level)| RANKED_LEVELS.contains(&level.as_str()))
            .map(|(id, path, level)| (id, path, level.as_str().to_owned()))
            .collect();
        let now = self.now();
        let mut figures: HashMap<Uuid, metrics::UnitMetrics> = HashMap::new();
        for level in RANKED_LEVELS {
            let (moves, facts) = rows::arrived(
                &self.db,
                &Units::Level {
                    level,
                    under: &root,
                },
                period,
            )
            .await?;
            let facts: HashMap<_, _> = facts.into_iter().collect();
            for m in metrics::evaluate(&moves, &facts, period, now, |_, _, l| l == level) {
                figures.insert(m.unit_id, m);
            }
        }
        let (from, to) = local_dates(period);
        let ids: Vec<Uuid> = units.iter().map(|(id, _, _)| *id).collect();
        let paths: Vec<String> = units.iter().map(|(_, p, _)| p.clone()).collect();
        let rhythm = self
            .deps
            .venues
            .unit_rhythm(&ids, from, to)
            .await
            .map_err(|e| OrdersError::Unavailable(format!("venues UnitRhythm: {e}")))?;
        let hours = self
            .deps
            .evaluation
            .hours(&paths, from, to)
            .await
            .map_err(|e| OrdersError::Unavailable(format!("volunteers UnitHours: {e}")))?;
        let inputs: Vec<Inputs> = units
            .iter()
            .zip(hours)
            .map(|((id, path, level), volunteer_hours)| Inputs {
                orders: figures
                    .remove(id)
                    .unwrap_or_else(|| metrics::UnitMetrics::empty((*id, path, level))),
                rhythm: rhythm.get(id).copied().unwrap_or_default(),
                volunteer_hours,
            })
            .collect();
        Ok(rules::evaluate_district(&inputs, weights))
    }

    /// `unit`'s evaluation for `quarter`: frozen once published, live before.
    #[tracing::instrument(skip_all, fields(unit_id = %unit))]
    pub async fn unit_evaluation(
        &self,
        caller: &Caller,
        unit: Uuid,
        quarter: &str,
    ) -> Result<UnitEvaluation, OrdersError> {
        let scope = self.staff_scope(caller)?;
        let (period, quarter) = quarter_of(quarter)?;
        let Some(path) = self.unit_path(unit).await? else {
            return Err(DomainError::NotFound("no such unit".to_owned()).into());
        };
        if !scope.covers(path.as_str()) {
            return Err(DomainError::Forbidden("the unit is outside your scope".to_owned()).into());
        }
        let level = known_units::get(&self.db, unit)
            .await?
            .and_then(|u| u.level);
        if !level.is_some_and(|l| RANKED_LEVELS.contains(&l.as_str())) {
            return Err(DomainError::invalid(
                "unitId",
                "only institutes, stations and courtyards are evaluated",
            )
            .into());
        }
        let district = district_of(path.as_str());
        if let Some(p) = store::publication(&self.db, &district, &quarter, None).await? {
            let found = store::entries_of(&self.db, p.id, None, "", Some(unit)).await??;
            // A unit created after the publication has no entry in it.
            let evaluation = found.into_iter().next().ok_or_else(|| {
                DomainError::NotFound(format!(
                    "the unit is not in the published evaluation of {quarter}"
                ))
            })?;
            return Ok(UnitEvaluation {
                quarter,
                evaluation,
                published: Some(p.into()),
            });
        }
        if period.from > self.now() {
            return Err(DomainError::invalid("quarter", "the quarter has not begun").into());
        }
        let settings = store::settings_of(&self.db, &district).await??;
        let all = self
            .compute(&district, unit, period, &settings.weights)
            .await?;
        let evaluation = all
            .into_iter()
            .find(|e| e.unit_id == unit)
            .ok_or_else(|| DomainError::NotFound("no such unit".to_owned()))?;
        Ok(UnitEvaluation {
            quarter,
            evaluation,
            published: None,
        })
    }

    /// The ranking of `level` in the caller's district for `quarter`: the entries below the
    /// caller's unit, best first. `version` reads an earlier published version.
    #[tracing::instrument(skip_all, fields(level = level.as_str()))]
    pub async fn evaluation_ranking(
        &self,
        caller: &Caller,
        quarter: &str,
        level: Level,
        version: Option<i32>,
    ) -> Result<EvaluationRanking, OrdersError> {
        let scope = self.staff_scope(caller)?;
        let (period, quarter) = quarter_of(quarter)?;
        if !RANKED_LEVELS.contains(&level.as_str()) {
            return Err(DomainError::invalid(
                "level",
                "institutes, stations and courtyards are ranked",
            )
            .into());
        }
        let district = district_of(scope.as_str());
        let publication = store::publication(&self.db, &district, &quarter, version).await?;
        let (entries, published) = match (publication, version) {
            (Some(p), _) => {
                let entries =
                    store::entries_of(&self.db, p.id, Some(level.as_str()), scope.as_str(), None)
                        .await??;
                (entries, Some(p.into()))
            }
            (None, Some(v)) => {
                return Err(DomainError::NotFound(format!(
                    "{quarter} has no published version {v}"
                ))
                .into());
            }
            (None, None) => {
                if period.from > self.now() {
                    return Err(DomainError::invalid("quarter", "the quarter has not begun").into());
                }
                let settings = store::settings_of(&self.db, &district).await??;
                let all = self
                    .compute(&district, caller_unit(caller)?, period, &settings.weights)
                    .await?;
                let entries = all
                    .into_iter()
                    .filter(|e| e.level == level.as_str() && scope.covers(&e.unit_path))
                    .collect();
                (entries, None)
            }
        };
        Ok(EvaluationRanking {
            district,
            quarter,
            level,
            entries,
            published,
        })
    }

    /// Publishes the caller's district's evaluation of `quarter` (center staff, once the
    /// quarter has ended): version 1, or a correction with a `reason`. Freezes the ranking,
    /// records the awards the district's rules give (a unit awarded by an earlier version is
    /// not awarded again) and announces both in one transaction.
    #[tracing::instrument(skip_all)]
    pub async fn publish_evaluation(
        &self,
        caller: &Caller,
        quarter: &str,
        reason: Option<String>,
    ) -> Result<Published, OrdersError> {
        let district = self.center_district(caller)?;
        let (period, quarter) = quarter_of(quarter)?;
        let now = self.now();
        if now < period.to {
            return Err(DomainError::invalid(
                "quarter",
                format!("{quarter} has not ended; publish it once it is over"),
            )
            .into());
        }
        let reason = reason
            .map(|r| r.trim().to_owned())
            .filter(|r| !r.is_empty());
        if reason
            .as_ref()
            .is_some_and(|r| r.chars().count() > MAX_REASON)
        {
            return Err(
                DomainError::invalid("reason", format!("at most {MAX_REASON} characters")).into(),
            );
        }
        let latest = store::publication(&self.db, &district, &quarter, None).await?;
        let version = latest.as_ref().map_or(1, |p| p.version + 1);
        if version > 1 && reason.is_none() {
            return Err(DomainError::invalid(
                "reason",
                "a correction of a published evaluation needs a reason",
            )
            .into());
        }
        let settings = store::settings_of(&self.db, &district).await??;
        let ranked = self
            .compute(&district, caller_unit(caller)?, period, &settings.weights)
            .await?;
        let publication = publications::Model {
            id: Uuid::now_v7(),
            district: district.clone(),
            quarter: quarter.clone(),
            version,
            reason,
            weights: serde_json::to_string(&settings.weights)
                .map_err(|e| DomainError::config("evaluation", e.to_string()))?,
            published_by: caller.principal.subject.clone(),
            published_at: now,
        };
        let txn = self
            .db
            .begin()
            .await
            .map_err(tongxin_platform::db::classify)?;
        // A second publisher of the same version loses on the unique index: CONFLICT.
        store::insert_publication(&txn, publication.clone(), &ranked)
            .await
            .map_err(|e| match e {
                tongxin_platform::db::DbError::Conflict(_) => {
                    OrdersError::Db(tongxin_platform::db::DbError::Conflict(format!(
                        "version {version} of {quarter} was published meanwhile"
                    )))
                }
                other => other.into(),
            })?;
        let mut awarded = Vec::new();
        for award in rules::awards(&ranked, &settings.awards) {
            let row = store::awards::Model {
                id: Uuid::now_v7(),
                district: district.clone(),
                quarter: quarter.clone(),
                unit_id: award.unit_id,
                publication_id: publication.id,
                level: award.level.clone(),
                rank: i32::try_from(award.rank).unwrap_or(i32::MAX),
                points: i32::try_from(award.points).unwrap_or(i32::MAX),
            };
            if store::award_once(&txn, row.clone()).await? {
                awarded.push(pb::EvaluationAward {
                    award_id: row.id.to_string(),
                    unit_id: award.unit_id.to_string(),
                    level: award.level,
                    rank: award.rank,
                    points: award.points,
                });
            }
        }
        let body = pb::EvaluationPublished {
            publication_id: publication.id.to_string(),
            district: district.clone(),
            quarter: quarter.clone(),
            version: u32::try_from(version).unwrap_or_default(),
            awards: awarded,
            actor: caller.principal.subject.clone(),
            published_at_ms: now.timestamp_millis(),
        };
        outbox::enqueue(
            &txn,
            events::EVALUATION_PUBLISHED,
            events::SOURCE,
            prost::Message::encode_to_vec(&body),
        )
        .await?;
        txn.commit().await.map_err(tongxin_platform::db::classify)?;
        self.waker.wake();
        tracing::info!(%district, %quarter, version, units = ranked.len(), "evaluation published");
        Ok(publication.into())
    }

    /// The awards of the caller's district's quarter (staff of the district).
    pub async fn evaluation_awards(
        &self,
        caller: &Caller,
        quarter: &str,
    ) -> Result<Vec<store::awards::Model>, OrdersError> {
        let scope = self.staff_scope(caller)?;
        let (_, quarter) = quarter_of(quarter)?;
        let district = district_of(scope.as_str());
        Ok(store::awards_of(&self.db, &district, &quarter).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quarters_count_local_dates() {
        let (from, to) = local_dates(Period::quarter("2026Q4").expect("q"));
        assert_eq!(
            (from.to_string(), to.to_string()),
            ("2026-10-01".to_owned(), "2027-01-01".to_owned())
        );
    }
}
