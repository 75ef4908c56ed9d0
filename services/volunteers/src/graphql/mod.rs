//! The volunteers subgraph: thin resolvers that parse input, call [`Volunteers`], and batch
//! entity lookups with a DataLoader.

mod ledger;
mod linking;
mod matching;
mod paging;
mod proofs;
mod self_service;
mod teams;
mod volunteer;

use async_graphql::dataloader::DataLoader;
use async_graphql::{EmptySubscription, MergedObject, SDLExportOptions, Schema};

use crate::service::Volunteers;

pub use volunteer::{VolunteerLoader, VolunteerNode};

/// The root query: the registry, self-service, matching, teams, the ledger, and the
/// public check of service-record proofs, and the account-link history.
#[derive(MergedObject, Default)]
#[graphql(name = "Query")]
pub struct Query(
    volunteer::RegistryQuery,
    self_service::SelfServiceQuery,
    matching::MatchingQuery,
    teams::TeamQuery,
    ledger::LedgerQuery,
    proofs::ProofQuery,
    linking::LinkingQuery,
);

/// The root mutation: the registry, self-service, teams, the ledger, and account linking.
#[derive(MergedObject, Default)]
#[graphql(name = "Mutation")]
pub struct Mutation(
    volunteer::RegistryMutation,
    self_service::SelfServiceMutation,
    teams::TeamMutation,
    ledger::LedgerMutation,
    linking::LinkingMutation,
);

/// The volunteers subgraph schema.
pub type VolunteersSchema = Schema<Query, Mutation, EmptySubscription>;

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
    builder: async_graphql::SchemaBuilder<Query, Mutation, EmptySubscription>,
) -> async_graphql::SchemaBuilder<Query, Mutation, EmptySubscription> {
    builder
        .override_output_type_description::<Page<volunteer::VolunteerNode>>(
            "A page of volunteers (Relay connection): `edges` with cursors, `nodes`, and `pageInfo`.",
        )
        .override_output_type_description::<Page<linking::AccountLinkEntry>>(
            "A page of account-link history entries (Relay connection): `edges` with cursors, `nodes`, and `pageInfo`.",
        )
        .override_output_type_description::<Page<ledger::HoursEntryNode>>(
            "A page of service-hours entries (Relay connection): `edges` with cursors, `nodes`, and `pageInfo`.",
        )
        .override_output_type_description::<Page<ledger::PointsEntryNode>>(
            "A page of points entries (Relay connection): `edges` with cursors, `nodes`, and `pageInfo`.",
        )
        .override_output_type_description::<Page<ledger::RankingRowNode>>(
            "A page of ranking rows, best first (Relay connection): `edges` with cursors, `nodes`, and `pageInfo`.",
        )
        .override_output_type_description::<Page<matching::MatchCandidate>>(
            "A page of match candidates, best first (Relay connection): `edges` with cursors, `nodes`, and `pageInfo`.",
        )
        .override_output_type_description::<Page<teams::TeamNode>>(
            "A page of teams (Relay connection): `edges` with cursors, `nodes`, and `pageInfo`.",
        )
        .override_output_type_description::<Page<teams::TeamMemberNode>>(
            "A page of team members (Relay connection): `edges` with cursors, `nodes`, and `pageInfo`.",
        )
        .override_output_type_description::<Page<teams::MembershipNode>>(
            "A page of a volunteer's team memberships (Relay connection): `edges` with cursors, `nodes`, and `pageInfo`.",
        )
        .override_output_type_description::<self_service::DeletionRequests>(
            "A page of volunteers with an open deletion request, oldest first (Relay connection): `edges` with cursors, `nodes`, and `pageInfo`.",
        )
}

fn builder() -> async_graphql::SchemaBuilder<Query, Mutation, EmptySubscription> {
    let builder = Schema::build(Query::default(), Mutation::default(), EmptySubscription)
        .enable_federation()
        .limit_depth(16)
        .extension(tongxin_platform::graphql_text::PlainText)
        .limit_complexity(5_000);
    describe_connections(builder)
}

/// The schema with its data.
pub fn schema(volunteers: Volunteers) -> VolunteersSchema {
    builder()
        .data(DataLoader::new(
            VolunteerLoader(volunteers.clone()),
            tokio::spawn,
        ))
        .data(DataLoader::new(
            teams::TeamLoader(volunteers.clone()),
            tokio::spawn,
        ))
        .data(DataLoader::new(
            teams::MembershipLoader(volunteers.clone()),
            tokio::spawn,
        ))
        .data(DataLoader::new(
            teams::TeamHoursLoader(volunteers.clone()),
            tokio::spawn,
        ))
        .data(DataLoader::new(
            ledger::TotalsLoader(volunteers.clone()),
            tokio::spawn,
        ))
        .data(volunteers)
        .finish()
}

/// The subgraph SDL as the router composes it (`tongxin schema volunteers`).
pub fn sdl() -> String {
    builder()
        .finish()
        .sdl_with_options(SDLExportOptions::new().federation().compose_directive())
}
