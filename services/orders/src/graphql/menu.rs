//! The service menu in GraphQL: `categories`, `category`, `createCategory`, `updateCategory`.

use async_graphql::connection::{Connection, EmptyFields, OpaqueCursor};
use async_graphql::{Context, Enum, InputObject, Object, SimpleObject};

use crate::domain::menu::{Category, FieldKind, FormField, Handling, Sla};
use crate::error::OrdersError;
use crate::service::Orders;

use super::order::LevelGql;

/// The type of a form field.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "FieldKind")]
pub enum FormFieldKind {
    /// Free text.
    Text,
    /// A decimal number.
    Number,
    /// A date, YYYY-MM-DD.
    Date,
    /// One of the field's choices.
    Choice,
}

/// One question a category asks when it is ordered.
#[derive(SimpleObject, Clone)]
pub struct CategoryFormField {
    /// Key used in `placeOrder(input.form)`.
    pub key: String,
    /// What the citizen sees.
    pub label: String,
    /// Type of the answer.
    pub kind: FormFieldKind,
    /// Whether an answer is required.
    pub required: bool,
    /// Allowed answers of a choice.
    pub choices: Vec<String>,
}

/// Minutes each level has to receive an order of a category (SLA).
#[derive(SimpleObject, InputObject, Clone, Copy)]
#[graphql(input_name = "CategorySlaInput")]
pub struct CategorySla {
    /// Courtyard (小院).
    pub courtyard: u32,
    /// Station (站).
    pub station: u32,
    /// Institute (所).
    pub institute: u32,
    /// Center (中心).
    pub center: u32,
}

/// Who handles the orders of a category.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum CategoryHandling {
    /// Volunteers or a team, dispatched by staff.
    Volunteers,
    /// A legal-aid station: staff dispatch the order to a station, where the citizen books
    /// a slot; the station's visit moves the order on to completed.
    LegalAid,
}

/// A service on the menu (点单菜单).
pub struct ServiceCategoryNode(pub Category);

/// A service on the menu (点单菜单): what citizens can order, who normally handles it, the
/// form it asks for and how long each level has to receive it.
#[Object(name = "ServiceCategory")]
impl ServiceCategoryNode {
    /// Code, e.g. `elder_visit`.
    async fn code(&self) -> &str {
        &self.0.code
    }
    /// Name shown to citizens.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// One of the seven themes or another group.
    async fn group(&self) -> &str {
        &self.0.group
    }
    /// The level that normally handles it: own matters at the courtyard, general at the
    /// station, major at the center.
    async fn default_level(&self) -> LevelGql {
        self.0.default_level.into()
    }
    /// Skill codes a volunteer needs.
    async fn skills(&self) -> &[String] {
        &self.0.skills
    }
    /// The form a citizen fills in.
    async fn fields(&self) -> Vec<CategoryFormField> {
        self.0
            .fields
            .iter()
            .map(|f| CategoryFormField {
                key: f.key.clone(),
                label: f.label.clone(),
                kind: f.kind.into(),
                required: f.required,
                choices: f.choices.clone(),
            })
            .collect()
    }
    /// Minutes each level has to receive it.
    async fn sla(&self) -> CategorySla {
        let s = self.0.sla;
        CategorySla {
            courtyard: s.courtyard,
            station: s.station,
            institute: s.institute,
            center: s.center,
        }
    }
    /// Whether citizens can order it now.
    async fn active(&self) -> bool {
        self.0.active
    }
    /// Who handles its orders.
    async fn handled_by(&self) -> CategoryHandling {
        match self.0.handling {
            Handling::Volunteers => CategoryHandling::Volunteers,
            Handling::LegalAid { .. } => CategoryHandling::LegalAid,
        }
    }
    /// The legal service a legal-aid category asks the station for (`consultation` or
    /// `mediation`); null for volunteer categories.
    async fn legal_service(&self) -> Option<&str> {
        self.0.handling.legal_service()
    }
}

/// A form field of a category, as center staff define it.
#[derive(InputObject)]
pub struct CategoryFormFieldInput {
    /// Key, a-z0-9_-, unique in the form.
    pub key: String,
    /// What the citizen sees.
    pub label: String,
    /// Type of the answer.
    pub kind: FormFieldKind,
    /// Whether an answer is required.
    #[graphql(default)]
    pub required: bool,
    /// Allowed answers (choice only).
    #[graphql(default)]
    pub choices: Vec<String>,
}

/// A category as center staff define it.
#[derive(InputObject)]
pub struct ServiceCategoryInput {
    /// Code, 1 to 40 of a-z0-9_-; the key of the category.
    pub code: String,
    /// Name shown to citizens.
    pub name: String,
    /// One of the seven themes or another group.
    pub group: String,
    /// The level that normally handles it.
    pub default_level: LevelGql,
    /// Skill codes a volunteer needs.
    #[graphql(default)]
    pub skills: Vec<String>,
    /// The form.
    #[graphql(default)]
    pub fields: Vec<CategoryFormFieldInput>,
    /// Minutes per level to receive (default 120 / 240 / 480 / 1440).
    pub sla: Option<CategorySla>,
    /// Whether citizens can order it (default true).
    #[graphql(default = true)]
    pub active: bool,
    /// Who handles its orders (default VOLUNTEERS).
    #[graphql(default_with = "CategoryHandling::Volunteers")]
    pub handled_by: CategoryHandling,
    /// For LEGAL_AID: the legal service asked for, `consultation` or `mediation`; must be
    /// absent for VOLUNTEERS.
    pub legal_service: Option<String>,
}

impl TryFrom<ServiceCategoryInput> for Category {
    type Error = crate::domain::DomainError;

    fn try_from(i: ServiceCategoryInput) -> Result<Self, Self::Error> {
        let handling = Handling::parse(
            match i.handled_by {
                CategoryHandling::Volunteers => "volunteers",
                CategoryHandling::LegalAid => "legal_aid",
            },
            i.legal_service.as_deref().map(str::trim),
        )?;
        Ok(Category {
            code: i.code,
            name: i.name,
            group: i.group,
            default_level: i.default_level.into(),
            skills: i.skills,
            fields: i
                .fields
                .into_iter()
                .map(|f| FormField {
                    key: f.key,
                    label: f.label,
                    kind: f.kind.into(),
                    required: f.required,
                    choices: f.choices,
                })
                .collect(),
            sla: i
                .sla
                .map(|s| Sla {
                    courtyard: s.courtyard,
                    station: s.station,
                    institute: s.institute,
                    center: s.center,
                })
                .unwrap_or_default(),
            active: i.active,
            handling,
        })
    }
}

/// Menu queries.
#[derive(Default)]
pub struct MenuQuery;

#[Object]
impl MenuQuery {
    /// The service menu, by code; anyone may read it.
    async fn categories(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "Only categories citizens can order now (default true).",
            default = true
        )]
        active_only: bool,
        #[graphql(desc = "Page size, 1 to 500 (default 100).")] first: Option<i32>,
        #[graphql(desc = "Cursor of the last edge of the previous page.")] after: Option<String>,
    ) -> async_graphql::Result<
        Connection<OpaqueCursor<usize>, ServiceCategoryNode, EmptyFields, EmptyFields>,
    > {
        let all = ctx.data::<Orders>()?.categories().await?;
        let items: Vec<Category> = all
            .into_iter()
            .filter(|c| c.active || !active_only)
            .collect();
        super::page_of(items, after, first, ServiceCategoryNode)
    }

    /// One category by code.
    async fn category(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The category code.")] code: String,
    ) -> async_graphql::Result<Option<ServiceCategoryNode>> {
        Ok(ctx
            .data::<Orders>()?
            .category(&code)
            .await?
            .map(ServiceCategoryNode))
    }
}

/// Menu mutations.
#[derive(Default)]
pub struct MenuMutation;

#[Object]
impl MenuMutation {
    /// Adds a category to the menu of the caller's district (its center: a staff or admin
    /// token of that district whose unit is the district's root; anyone else, an admin of
    /// another unit too, is FORBIDDEN). An existing code is BAD_USER_INPUT.
    async fn create_category(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The category.")] input: ServiceCategoryInput,
    ) -> async_graphql::Result<ServiceCategoryNode> {
        let orders = ctx.data::<Orders>()?;
        let (_, caller) = super::order::caller(ctx).await?;
        Ok(ServiceCategoryNode(
            orders
                .create_category(&caller, input.try_into().map_err(OrdersError::from)?)
                .await?,
        ))
    }

    /// Replaces a category (staff of the center of the district whose menu it is on; anyone
    /// else is FORBIDDEN); orders already placed are not changed.
    async fn update_category(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The category.")] input: ServiceCategoryInput,
    ) -> async_graphql::Result<ServiceCategoryNode> {
        let orders = ctx.data::<Orders>()?;
        let (_, caller) = super::order::caller(ctx).await?;
        Ok(ServiceCategoryNode(
            orders
                .update_category(&caller, input.try_into().map_err(OrdersError::from)?)
                .await?,
        ))
    }
}
