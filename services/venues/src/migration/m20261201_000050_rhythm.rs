//! Visits (走访), the districts' cadence rules, and the misses the scheduler closed.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveIden)]
enum Visits {
    Table,
    Id,
    UnitId,
    VisitedAt,
    HouseholdsReached,
    NeedsCount,
    PointCipher,
    NotesCipher,
    NeedsCipher,
    Recorder,
    CreatedAt,
}

#[derive(DeriveIden)]
enum CadenceRules {
    Table,
    DistrictUnitId,
    CourtyardVisits,
    CourtyardActivities,
    StationVisits,
    StationActivities,
    InstituteVisits,
    InstituteActivities,
    SetBy,
    SetAt,
}

#[derive(DeriveIden)]
enum CadenceMisses {
    Table,
    Id,
    UnitId,
    Kind,
    PeriodStart,
    PeriodEnd,
    Required,
    Done,
    Streak,
    ClosedAt,
}

#[derive(DeriveIden)]
enum OrgUnits {
    Table,
    Id,
}

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261201_000050_rhythm"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Visits::Table)
                    .if_not_exists()
                    .col(pk_uuid(Visits::Id))
                    .col(uuid(Visits::UnitId))
                    .col(timestamp_with_time_zone(Visits::VisitedAt))
                    .col(integer(Visits::HouseholdsReached))
                    .col(integer(Visits::NeedsCount))
                    // Sealed with the service's PII cipher: a household's location, the
                    // visitor's notes and the needs heard (they may name residents).
                    .col(ColumnDef::new(Visits::PointCipher).blob().null())
                    .col(ColumnDef::new(Visits::NotesCipher).blob().null())
                    .col(ColumnDef::new(Visits::NeedsCipher).blob().null())
                    .col(string(Visits::Recorder))
                    .col(timestamp_with_time_zone(Visits::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("visits_unit")
                            .from(Visits::Table, Visits::UnitId)
                            .to(OrgUnits::Table, OrgUnits::Id),
                    )
                    .to_owned(),
            )
            .await?;
        for (name, cols) in [
            ("visits_unit_at", vec![Visits::UnitId, Visits::VisitedAt]),
            ("visits_at", vec![Visits::VisitedAt, Visits::Id]),
        ] {
            let mut index = Index::create();
            index.name(name).table(Visits::Table).if_not_exists();
            for col in cols {
                index.col(col);
            }
            manager.create_index(index.to_owned()).await?;
        }
        manager
            .create_table(
                Table::create()
                    .table(CadenceRules::Table)
                    .if_not_exists()
                    .col(pk_uuid(CadenceRules::DistrictUnitId))
                    .col(integer(CadenceRules::CourtyardVisits))
                    .col(integer(CadenceRules::CourtyardActivities))
                    .col(integer_null(CadenceRules::StationVisits))
                    .col(integer_null(CadenceRules::StationActivities))
                    .col(integer_null(CadenceRules::InstituteVisits))
                    .col(integer_null(CadenceRules::InstituteActivities))
                    .col(string(CadenceRules::SetBy))
                    .col(timestamp_with_time_zone(CadenceRules::SetAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("cadence_rules_district")
                            .from(CadenceRules::Table, CadenceRules::DistrictUnitId)
                            .to(OrgUnits::Table, OrgUnits::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(CadenceMisses::Table)
                    .if_not_exists()
                    .col(pk_uuid(CadenceMisses::Id))
                    .col(uuid(CadenceMisses::UnitId))
                    .col(string_len(CadenceMisses::Kind, 16))
                    .col(date(CadenceMisses::PeriodStart))
                    .col(date(CadenceMisses::PeriodEnd))
                    .col(integer(CadenceMisses::Required))
                    .col(integer(CadenceMisses::Done))
                    .col(integer(CadenceMisses::Streak))
                    .col(timestamp_with_time_zone(CadenceMisses::ClosedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("cadence_misses_unit")
                            .from(CadenceMisses::Table, CadenceMisses::UnitId)
                            .to(OrgUnits::Table, OrgUnits::Id),
                    )
                    .to_owned(),
            )
            .await?;
        // The one miss per (unit, kind, period): two scheduler replicas closing the same
        // period collide here, and only the insert that went through raises the event.
        manager
            .create_index(
                Index::create()
                    .name("cadence_misses_once")
                    .table(CadenceMisses::Table)
                    .col(CadenceMisses::UnitId)
                    .col(CadenceMisses::Kind)
                    .col(CadenceMisses::PeriodStart)
                    .unique()
                    .if_not_exists()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(CadenceMisses::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(CadenceRules::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(Visits::Table).to_owned())
            .await
    }
}
