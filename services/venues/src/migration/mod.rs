//! The venues schema, one file per change, append-only.

use sea_orm_migration::prelude::*;

mod m20261128_000010_org_units;
mod m20261128_000011_unit_contacts;
mod m20261128_000012_circle;
mod m20261128_000020_venues;
mod m20261128_000030_activities;
mod m20261201_000040_sealed_contact_phones;
mod m20261201_000050_rhythm;

/// Platform tables first, then ours.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        let mut all = tongxin_platform::events::migration::migrations();
        all.push(Box::new(m20261128_000010_org_units::Migration));
        all.push(Box::new(m20261128_000011_unit_contacts::Migration));
        all.push(Box::new(m20261128_000012_circle::Migration));
        all.push(Box::new(m20261128_000020_venues::Migration));
        all.push(Box::new(m20261128_000030_activities::Migration));
        all.push(Box::new(m20261201_000040_sealed_contact_phones::Migration));
        all.push(Box::new(m20261201_000050_rhythm::Migration));
        all
    }
}
