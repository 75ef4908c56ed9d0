//! The venues subgraph: thin resolvers that parse input, call [`Venues`], and batch entity
//! lookups with a DataLoader.

mod activity;
mod circle;
pub mod coverage_map;
mod org;
mod rhythm;
mod venue;

use async_graphql::dataloader::DataLoader;
use async_graphql::{MergedObject, MergedSubscription, SDLExportOptions, Schema};
use tongxin_platform::events::SharedBus;

use crate::service::Venues;

pub use activity::{ActivityLoader, ServedLoader};
pub use org::UnitLoader;
pub use venue::VenueLoader;

/// The root query.
#[derive(MergedObject, Default)]
#[graphql(name = "Query")]
pub struct Query(
    org::OrgQuery,
    circle::CircleQuery,
    venue::VenueQuery,
    activity::ActivityQuery,
    rhythm::RhythmQuery,
);

/// The root mutation.
#[derive(MergedObject, Default)]
#[graphql(name = "Mutation")]
pub struct Mutation(
    org::OrgMutation,
    circle::CircleMutation,
    venue::VenueMutation,
    activity::ActivityMutation,
    rhythm::RhythmMutation,
);

/// The root subscription.
#[derive(MergedSubscription, Default)]
#[graphql(name = "Subscription")]
pub struct Subscription(org::OrgSubscription);

/// The venues subgraph schema.
pub type VenuesSchema = Schema<Query, Mutation, Subscription>;

/// async-graphql's `Connection` has no description of its own; the name of a connection type
/// depends only on its node type, so `Page<Node>` names the generated `<Node>Connection`
/// whatever cursor the resolver uses.
type Page<N> = async_graphql::connection::Connection<
    async_graphql::connection::OpaqueCursor<usize>,
    N,
    async_graphql::connection::EmptyFields,
    async_graphql::connection::EmptyFields,
>;

/// Gives every connection type of this subgraph its description (every type of the public
/// API has one: `make schema-check` lints the composed schema).
fn describe_connections(
    builder: async_graphql::SchemaBuilder<Query, Mutation, Subscription>,
) -> async_graphql::SchemaBuilder<Query, Mutation, Subscription> {
    builder
        .override_output_type_description::<Page<org::OrgUnitNode>>(
            "A page of org units (Relay connection): `edges` with cursors, `nodes`, and `pageInfo`.",
        )
        .override_output_type_description::<Page<venue::VenueNode>>(
            "A page of venues (Relay connection): `edges` with cursors, `nodes`, and `pageInfo`.",
        )
        .override_output_type_description::<Page<activity::ActivityNode>>(
            "A page of activities (Relay connection): `edges` with cursors, `nodes`, and `pageInfo`.",
        )
        .override_output_type_description::<Page<rhythm::VisitNode>>(
            "A page of visits (Relay connection): `edges` with cursors, `nodes`, and `pageInfo`.",
        )
}

fn builder() -> async_graphql::SchemaBuilder<Query, Mutation, Subscription> {
    let builder = Schema::build(
        Query::default(),
        Mutation::default(),
        Subscription::default(),
    )
    .enable_federation()
    .enable_subscription_in_federation()
    .limit_depth(16)
    .extension(tongxin_platform::graphql_text::PlainText)
    .limit_complexity(5_000);
    describe_connections(builder)
}

/// The schema with its data: the service and the bus feeding subscriptions.
pub fn schema(venues: Venues, bus: SharedBus) -> VenuesSchema {
    builder()
        .data(DataLoader::new(UnitLoader(venues.clone()), tokio::spawn))
        .data(DataLoader::new(VenueLoader(venues.clone()), tokio::spawn))
        .data(DataLoader::new(
            ActivityLoader(venues.clone()),
            tokio::spawn,
        ))
        .data(DataLoader::new(ServedLoader(venues.clone()), tokio::spawn))
        .data(venues)
        .data(bus)
        .finish()
}

/// The subgraph SDL as the router composes it (`tongxin schema venues`).
pub fn sdl() -> String {
    builder()
        .finish()
        .sdl_with_options(SDLExportOptions::new().federation().compose_directive())
}
