//! The service menu: anyone reads it; each category is on one district's menu, which that
//! district's center staff (scope = the district root) manage.

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

    /// The deployment's default district (owner of menu rows from before menus had owners).
    pub fn default_district(&self) -> &str {
        &self.settings.default_district
    }

    /// Each category is on one district's menu, and only that district's center staff (staff
    /// whose scope is the district's root unit, with a token of that district) manage it. No
    /// other role does, an admin neither: an admin token without a district could otherwise
    /// change the menu of every district.
    fn may_manage_menu(&self, caller: &Caller, owner: &str) -> Result<(), OrdersError> {
        let owner = if owner.is_empty() {
            self.default_district()
        } else {
            owner
        };
        let district = caller.principal.district.as_deref().unwrap_or_default();
        let root = format!("/{owner}");
        let center_of_owner = caller.principal.is_staff()
            && district == owner
            && caller.scope.as_ref().is_some_and(|s| s.as_str() == root);
        if center_of_owner {
            Ok(())
        } else {
            Err(DomainError::Forbidden(format!(
                "only the {owner} district center's staff manage its service menu"
            ))
            .into())
        }
    }

    /// The district a new category goes to: the caller's (refused without one).
    fn menu_district(caller: &Caller) -> Result<String, OrdersError> {
        caller
            .principal
            .district
            .clone()
            .filter(|d| !d.is_empty())
            .ok_or_else(|| {
                DomainError::Forbidden("a token without a district manages no menu".to_owned())
                    .into()
            })
    }

    /// Adds a category; an existing code is a CONFLICT.
    #[tracing::instrument(skip_all, fields(code = %category.code))]
    pub async fn create_category(
        &self,
        caller: &Caller,
        category: Category,
    ) -> Result<Category, OrdersError> {
        let district = Self::menu_district(caller)?;
        self.may_manage_menu(caller, &district)?;
        let category = category.parse()?;
        categories::insert(
            &self.db,
            Model::from_category(&category, &caller.principal.subject, &district),
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
        let Some(stored) = categories::get(&self.db, category.code.trim()).await? else {
            // Whether a code exists is no secret (the menu is public), but the rule comes first.
            self.may_manage_menu(caller, &Self::menu_district(caller)?)?;
            return Err(DomainError::NotFound(format!("no category {}", category.code)).into());
        };
        self.may_manage_menu(caller, &stored.district)?;
        let category = category.parse()?;
        // The owner stays: a change never moves a category to another district's menu.
        let row = Model::from_category(&category, &caller.principal.subject, &stored.district);
        if !categories::update(&self.db, row).await? {
            return Err(DomainError::NotFound(format!("no category {}", category.code)).into());
        }
        Ok(category)
    }
}
