//! The notices in a unit's staff inbox besides its orders: the cadence periods it (or a unit
//! below it) missed, as venues announced them (see `events::consumers::cadence`).

use uuid::Uuid;

use super::{Caller, DEFAULT_PAGE, MAX_PAGE, Orders};
use crate::domain::DomainError;
use crate::error::OrdersError;
use crate::store::notices;

impl Orders {
    /// The notices of `unit` and the units below it, newest first, after the cursor
    /// `after` (staff whose scope covers the unit); whether more follow.
    #[tracing::instrument(skip_all, fields(unit_id = %unit))]
    pub async fn unit_notices(
        &self,
        caller: &Caller,
        unit: Uuid,
        after: Option<Uuid>,
        first: Option<u64>,
    ) -> Result<(Vec<notices::Model>, bool), OrdersError> {
        let Some(scope) = caller
            .scope
            .as_ref()
            .filter(|_| caller.principal.is_staff())
        else {
            return Err(
                DomainError::Forbidden("a unit's notices need a staff scope".to_owned()).into(),
            );
        };
        // Known here, or else asked of venues (and remembered).
        let path = match self.unit_path(unit).await? {
            Some(p) => p,
            None if Some(unit) == caller.principal.unit => scope.clone(),
            None => return Err(DomainError::NotFound("no such unit".to_owned()).into()),
        };
        if !scope.covers(path.as_str()) {
            return Err(DomainError::Forbidden("the unit is outside your scope".to_owned()).into());
        }
        let limit = first.unwrap_or(DEFAULT_PAGE).min(MAX_PAGE);
        let mut rows = notices::under(&self.db, path.as_str(), after, limit).await?;
        let more = rows.len() as u64 > limit;
        rows.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
        Ok((rows, more))
    }
}
