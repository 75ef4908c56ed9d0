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

fn builder() -> async_graphql::SchemaBuilder<Query, Mutation, EmptySubscription> {
    Schema::build(Query::default(), Mutation::default(), EmptySubscription)
        .enable_federation()
        .limit_depth(16)
        .extension(tongxin_platform::graphql_text::PlainText)
        .limit_complexity(5_000)
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
