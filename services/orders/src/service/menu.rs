//! The service menu: anyone reads it; center staff (scope = a district root) and admins
//! manage it.

use tongxin_platform::auth::Role;

use super::{Caller, Orders};
use crate::domain::DomainError;
use crate::domain::menu::Category;
use crate::error::OrdersError;
use crate::store::categories::{self, Model};
use tongxin_platform::db::DbError;

impl Orders {
    /// Every category, active or not, by code.
    pub async fn categories(&self) -> Result<Vec<Category>, OrdersError> {
        categories::all(&self.db)
            .await?
            .iter()
            .map(|m| m.category().map_err(OrdersError::from))
            .collect()
    }

    /// One category.
    pub async fn category(&self, code: &str) -> Result<Option<Category>, OrdersError> {
        match categories::get(&self.db, code.trim()).await? {
            Some(m) => Ok(Some(m.category()?)),
            None => Ok(None),
        }
    }

    fn may_manage_menu(caller: &Caller) -> Result<(), OrdersError> {
        let center = caller
            .scope
            .as_ref()
            .is_some_and(|s| s.as_str().matches('/').count() == 1);
        if caller.principal.has_role(Role::Admin) || (caller.principal.is_staff() && center) {
            Ok(())
        } else {
            Err(
                DomainError::Forbidden("only center staff manage the service menu".to_owned())
                    .into(),
            )
        }
    }

    /// Adds a category; an existing code is a CONFLICT.
    #[tracing::instrument(skip_all, fields(code = %category.code))]
    pub async fn create_category(
        &self,
        caller: &Caller,
        category: Category,
    ) -> Result<Category, OrdersError> {
        Self::may_manage_menu(caller)?;
        let category = category.parse()?;
        categories::insert(
            &self.db,
            Model::from_category(&category, &caller.principal.subject),
        )
        .await
        .map_err(|e| match e {
            DbError::Conflict(_) => OrdersError::from(DomainError::invalid(
                "code",
                "a category with this code exists",
            )),
            other => other.into(),
        })?;
        Ok(category)
    }

    /// Replaces a category (orders already placed keep what they were placed with).
    #[tracing::instrument(skip_all, fields(code = %category.code))]
    pub async fn update_category(
        &self,
        caller: &Caller,
        category: Category,
    ) -> Result<Category, OrdersError> {
        Self::may_manage_menu(caller)?;
        let category = category.parse()?;
        if !categories::update(
            &self.db,
            Model::from_category(&category, &caller.principal.subject),
        )
        .await?
        {
            return Err(DomainError::NotFound(format!("no category {}", category.code)).into());
        }
        Ok(category)
    }
}
