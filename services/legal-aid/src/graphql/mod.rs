//! The legal-aid subgraph: thin resolvers that parse input, call [`LegalAid`], and batch
//! entity lookups with DataLoaders. `LegalAidStation` and `Appointment` are entities keyed
//! by `id`; `OrgUnit` (venues) and `Order` (orders) are referenced by key as unresolvable
//! stubs.

mod appointment;
mod cases;
mod counts;
mod roster;
mod station;

use async_graphql::dataloader::DataLoader;
use async_graphql::{Context, ID, MergedObject, SDLExportOptions, Schema, SimpleObject};
use tongxin_platform::ApiError;
use tongxin_platform::graphql::ContextExt;

use crate::service::{Caller, LegalAid};

pub use appointment::AppointmentLoader;
pub use station::{ProviderLoader, StationLoader};

/// The root query.
#[derive(MergedObject, Default)]
#[graphql(name = "Query")]
pub struct Query(
    station::StationQuery,
    roster::RosterQuery,
    appointment::AppointmentQuery,
    counts::CountsQuery,
    cases::CaseQuery,
);

/// The root mutation.
#[derive(MergedObject, Default)]
#[graphql(name = "Mutation")]
pub struct Mutation(
    station::StationMutation,
    roster::RosterMutation,
    appointment::AppointmentMutation,
    counts::CountsMutation,
    cases::CaseMutation,
);

/// The legal-aid subgraph schema (no subscriptions).
pub type LegalAidSchema = Schema<Query, Mutation, async_graphql::EmptySubscription>;

fn builder() -> async_graphql::SchemaBuilder<Query, Mutation, async_graphql::EmptySubscription> {
    Schema::build(
        Query::default(),
        Mutation::default(),
        async_graphql::EmptySubscription,
    )
    .enable_federation()
    .limit_depth(16)
    .extension(tongxin_platform::graphql_text::PlainText)
    .limit_complexity(5_000)
}

/// The schema with its data.
pub fn schema(legal_aid: LegalAid) -> LegalAidSchema {
    builder()
        .data(DataLoader::new(
            StationLoader(legal_aid.clone()),
            tokio::spawn,
        ))
        .data(DataLoader::new(
            ProviderLoader(legal_aid.clone()),
            tokio::spawn,
        ))
        .data(DataLoader::new(
            AppointmentLoader(legal_aid.clone()),
            tokio::spawn,
        ))
        .data(legal_aid)
        .finish()
}

/// The subgraph SDL as the router composes it (`tongxin schema legal-aid`).
pub fn sdl() -> String {
    builder()
        .finish()
        .sdl_with_options(SDLExportOptions::new().federation().compose_directive())
}

/// An org unit (owned by the venues subgraph), referenced by id.
#[derive(SimpleObject, Clone)]
#[graphql(unresolvable = "id")]
pub struct OrgUnit {
    /// The unit id.
    pub id: ID,
}

/// An order (owned by the orders subgraph), referenced by id.
#[derive(SimpleObject, Clone)]
#[graphql(unresolvable = "id")]
pub struct Order {
    /// The order id.
    pub id: ID,
}

pub(crate) async fn caller(ctx: &Context<'_>) -> async_graphql::Result<(LegalAid, Caller)> {
    let legal_aid = ctx.data::<LegalAid>()?.clone();
    let caller = legal_aid.caller(Some(ctx.principal()?)).await?;
    Ok((legal_aid, caller))
}

/// `first` as a page size: 1 to 100.
pub(crate) fn first(first: Option<i32>) -> Result<Option<u64>, ApiError> {
    match first {
        Some(f) if !(1..=100).contains(&f) => {
            Err(ApiError::bad_input("first: must be between 1 and 100"))
        }
        Some(f) => Ok(u64::try_from(f).ok()),
        None => Ok(None),
    }
}

/// A page of `items` (already in order) after the cursor index `after`, `first` long (at
/// most 100).
pub(crate) fn page_of<T, N>(
    items: Vec<T>,
    after: Option<String>,
    first_arg: Option<i32>,
    node: impl Fn(T) -> N,
) -> async_graphql::Result<
    async_graphql::connection::Connection<
        async_graphql::connection::OpaqueCursor<usize>,
        N,
        async_graphql::connection::EmptyFields,
        async_graphql::connection::EmptyFields,
    >,
>
where
    N: async_graphql::OutputType,
{
    use async_graphql::connection::{Connection, CursorType, Edge, OpaqueCursor};
    let start = match after {
        Some(c) => {
            OpaqueCursor::<usize>::decode_cursor(&c)
                .map_err(|_| ApiError::bad_input("after: not a cursor from this field"))?
                .0
                + 1
        }
        None => 0,
    };
    let first = first(first_arg)?
        .and_then(|f| usize::try_from(f).ok())
        .unwrap_or(50);
    let total = items.len();
    let mut connection = Connection::new(start > 0, start + first < total);
    connection.edges.extend(
        items
            .into_iter()
            .enumerate()
            .skip(start)
            .take(first)
            .map(|(i, item)| Edge::new(OpaqueCursor(i), node(item))),
    );
    Ok(connection)
}

pub(crate) fn uuid_of(id: &ID, field: &'static str) -> Result<uuid::Uuid, ApiError> {
    uuid::Uuid::parse_str(id.as_str())
        .map_err(|_| ApiError::bad_input(format!("{field}: not an id")))
}
