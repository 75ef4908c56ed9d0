//! The orders subgraph: thin resolvers that parse input, call [`Orders`], and batch entity
//! lookups with a DataLoader. `Order` is an entity keyed by `id`; `OrgUnit` (venues) and
//! `Volunteer` (volunteers) are referenced by key as unresolvable stubs.

mod evaluation;
mod inperson;
mod menu;
mod metrics;
mod order;
mod progress;

use async_graphql::dataloader::DataLoader;
use async_graphql::{MergedObject, SDLExportOptions, Schema};

use crate::service::Orders;

pub use order::OrderLoader;

/// The root query.
#[derive(MergedObject, Default)]
#[graphql(name = "Query")]
pub struct Query(
    order::OrderQuery,
    menu::MenuQuery,
    metrics::MetricsQuery,
    evaluation::EvaluationQuery,
    inperson::InPersonQuery,
);

/// The root mutation.
#[derive(MergedObject, Default)]
#[graphql(name = "Mutation")]
pub struct Mutation(
    order::OrderMutation,
    menu::MenuMutation,
    evaluation::EvaluationMutation,
    inperson::InPersonMutation,
);

/// The root subscription.
pub use progress::Subscription;

/// The orders subgraph schema.
pub type OrdersSchema = Schema<Query, Mutation, Subscription>;

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
        .override_output_type_description::<Page<order::OrderNode>>(
            "A page of orders (Relay connection): `edges` with cursors, `nodes`, and `pageInfo`.",
        )
        .override_output_type_description::<Page<order::TimelineNode>>(
            "A page of an order's timeline entries, oldest first (Relay connection): `edges` with cursors, `nodes`, and `pageInfo`.",
        )
        .override_output_type_description::<Page<order::DispatchCandidate>>(
            "A page of dispatch candidates, best first (Relay connection): `edges` with cursors, `nodes`, and `pageInfo`.",
        )
        .override_output_type_description::<Page<menu::ServiceCategoryNode>>(
            "A page of service categories (Relay connection): `edges` with cursors, `nodes`, and `pageInfo`.",
        )
        .override_output_type_description::<Page<metrics::UnitRanking>>(
            "A page of a unit ranking, best first (Relay connection): `edges` with cursors, `nodes`, and `pageInfo`.",
        )
        .override_output_type_description::<Page<evaluation::UnitEvaluationGql>>(
            "A page of a quarterly evaluation ranking, best first (Relay connection): `edges` with cursors, `nodes`, and `pageInfo`.",
        )
        .override_output_type_description::<Page<evaluation::EvaluationAward>>(
            "A page of evaluation awards (Relay connection): `edges` with cursors, `nodes`, and `pageInfo`.",
        )
        .override_output_type_description::<
            async_graphql::connection::Connection<
                async_graphql::connection::OpaqueCursor<uuid::Uuid>,
                inperson::UnitNotice,
                async_graphql::connection::EmptyFields,
                async_graphql::connection::EmptyFields,
            >,
        >(
            "A page of a unit's notices, newest first (Relay connection): `edges` with cursors, `nodes`, and `pageInfo`.",
        )
        .override_output_type_description::<Page<metrics::VolunteerRanking>>(
            "A page of a volunteer ranking, best first (Relay connection): `edges` with cursors, `nodes`, and `pageInfo`.",
        )
}

fn builder() -> async_graphql::SchemaBuilder<Query, Mutation, Subscription> {
    let builder = Schema::build(Query::default(), Mutation::default(), Subscription)
        .enable_federation()
        .enable_subscription_in_federation()
        .limit_depth(16)
        .extension(tongxin_platform::graphql_text::PlainText)
        .limit_complexity(5_000);
    describe_connections(builder)
}

/// The schema with its data: the service (whose live hub feeds the subscriptions).
pub fn schema(orders: Orders) -> OrdersSchema {
    builder()
        .data(DataLoader::new(OrderLoader(orders.clone()), tokio::spawn))
        .data(orders)
        .finish()
}

/// The subgraph SDL as the router composes it (`tongxin schema orders`).
pub fn sdl() -> String {
    builder()
        .finish()
        .sdl_with_options(SDLExportOptions::new().federation().compose_directive())
}

/// A page of `items` (already in order) after the cursor index `after`, `first` long.
fn page_of<T, N>(
    items: Vec<T>,
    after: Option<String>,
    first: Option<i32>,
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
    use tongxin_platform::ApiError;
    let start = match after {
        Some(c) => {
            OpaqueCursor::<usize>::decode_cursor(&c)
                .map_err(|_| ApiError::bad_input("after: not a cursor from this field"))?
                .0
                + 1
        }
        None => 0,
    };
    let first = tongxin_platform::graphql::page_size("first", first, 500)?
        .and_then(|f| usize::try_from(f).ok())
        .unwrap_or(100);
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
