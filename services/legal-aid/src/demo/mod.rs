//! Demo data for `tongxin run`: the 重庆电子电路产业园 public legal service station (named in
//! the district's own account) with its notary on Tuesdays and lawyers on Wednesdays and
//! Fridays, and two synthetic (合成) community stations; providers with linked demo
//! accounts, and about a year of history ([`history`]: May 2021 to June 2022, the first
//! station's counts show the seed's figures). The stations hang on units the service already
//! knows (in `tongxin run` the embedded start copies venues' tree into `known_units` first);
//! a unit it does not know is skipped. Seeding runs once: a database with stations is left as
//! it is.

pub mod district;
pub mod history;

use chrono::Weekday;
use tongxin_platform::auth::{Principal, Role};
use tongxin_platform::org::UnitPath;

use crate::domain::{LegalService, ProviderKind};
use crate::error::LegalAidError;
use crate::service::{Caller, LegalAid, NewProvider, NewRule, NewStation};
use crate::store::known_units;

/// The demo provider accounts (`sub` claims), for `tongxin run`'s provider token.
pub mod accounts {
    /// The industrial-park station's notary.
    pub const NOTARY: &str = "demo-notary-1";
    /// The industrial-park station's lawyer on Wednesdays.
    pub const LAWYER_WED: &str = "demo-lawyer-1";
    /// The industrial-park station's lawyer on Fridays.
    pub const LAWYER_FRI: &str = "demo-lawyer-2";
}

/// Paths of the demo stations' units.
pub mod paths {
    /// 产业园公共法律服务工作站 (named in the seed).
    pub const INDUSTRIAL_PARK: &str = "/rc/industrial-park/legal";
    /// 虹桥社区 (synthetic station on a real community).
    pub const HONGQIAO: &str = "/rc/changyuan/hongqiao";
    /// 荣升社区 (synthetic station on a real community).
    pub const RONGSHENG: &str = "/rc/zhisheng/rongsheng";
}

/// What the demo's lawyers give (the district's too).
const LAWYER_SERVICES: &[LegalService] = &[
    LegalService::Consultation,
    LegalService::Mediation,
    LegalService::LegalAidReferral,
    LegalService::LegalAidCase,
    LegalService::HealthCheck,
    LegalService::NeedsSurvey,
];

struct DemoStation {
    path: &'static str,
    name: &'static str,
    address: &'static str,
    services: &'static [LegalService],
    /// Its past year, and the seed that picks its slots.
    history: &'static [history::ServiceHistory],
    seed: u64,
}

const STATIONS: &[DemoStation] = &[
    DemoStation {
        path: paths::INDUSTRIAL_PARK,
        name: "重庆电子电路产业园公共法律服务工作站",
        address: "荣昌区重庆电子电路产业园管委会一楼",
        services: &LegalService::ALL,
        history: history::PARK,
        seed: 202105,
    },
    DemoStation {
        path: paths::HONGQIAO,
        name: "虹桥社区公共法律服务点(合成)",
        address: "昌元街道虹桥社区便民服务中心(合成)",
        services: &[
            LegalService::Consultation,
            LegalService::Mediation,
            LegalService::LegalAidReferral,
        ],
        history: history::HONGQIAO,
        seed: 202106,
    },
    DemoStation {
        path: paths::RONGSHENG,
        name: "荣升社区公共法律服务点(合成)",
        address: "直升镇荣升社区党群服务中心(合成)",
        services: &[LegalService::Consultation, LegalService::Mediation],
        history: history::RONGSHENG,
        seed: 202107,
    },
];

/// Seeds the demo stations, providers, rosters and their history once; returns how many
/// stations it made.
pub async fn seed(legal_aid: &LegalAid) -> Result<usize, LegalAidError> {
    if !legal_aid.stations().await?.is_empty() {
        return Ok(0);
    }
    let admin = Caller {
        principal: Principal {
            subject: "demo-seed".to_owned(),
            roles: vec![Role::Admin],
            unit: None,
            district: Some("rc".to_owned()),
            credential: None,
        },
        scope: Some(UnitPath::parse("/rc")?),
        provider: None,
    };
    let mut made = Vec::new();
    for (i, s) in STATIONS.iter().enumerate() {
        let Some(unit) = known_units::by_path(legal_aid.db(), s.path).await? else {
            tracing::warn!(
                path = s.path,
                "demo legal-aid station skipped: unit unknown"
            );
            continue;
        };
        let station = legal_aid
            .create_station(
                &admin,
                NewStation {
                    unit: unit.id,
                    venue: None,
                    name: s.name.to_owned(),
                    address: s.address.to_owned(),
                    opening_hours: "工作日 9:00-12:00, 14:00-17:30".to_owned(),
                    contact: "023-4660000(合成)".to_owned(),
                    services: s.services.to_vec(),
                    min_notice_minutes: 60,
                    horizon_days: 30,
                },
            )
            .await?;
        made.push((s, station.id));
        if i == 0 {
            seed_industrial_park(legal_aid, &admin, station.id).await?;
        } else {
            let p = legal_aid
                .add_provider(
                    &admin,
                    NewProvider {
                        name: format!("调解员{}(合成)", i),
                        kind: ProviderKind::Mediator,
                        office: "人民调解委员会(合成)".to_owned(),
                        licence_no: String::new(),
                        services: s.services.to_vec(),
                        stations: vec![station.id],
                        account_subject: None,
                    },
                )
                .await?;
            legal_aid
                .add_rule(
                    &admin,
                    station.id,
                    rule(
                        Weekday::Thu,
                        "09:00",
                        "12:00",
                        LegalService::Consultation,
                        vec![p.id],
                        30,
                    ),
                )
                .await?;
        }
    }
    if made.is_empty() {
        return Ok(0);
    }
    let started = std::time::Instant::now();
    history::seed_calendar(legal_aid, &admin).await?;
    let mut appointments = 0;
    for (s, station) in &made {
        appointments += history::seed_station(legal_aid, *station, s.history, s.seed).await?;
    }
    tracing::info!(
        appointments,
        millis = started.elapsed().as_millis(),
        "demo legal-aid history seeded"
    );
    Ok(made.len())
}

fn rule(
    weekday: Weekday,
    start: &str,
    end: &str,
    service: LegalService,
    providers: Vec<crate::domain::ProviderId>,
    slot: i64,
) -> NewRule {
    NewRule {
        weekday,
        start: start.to_owned(),
        end: end.to_owned(),
        service,
        providers,
        slot_minutes: slot,
        buffer_minutes: 0,
        daily_limit: None,
    }
}

async fn seed_industrial_park(
    legal_aid: &LegalAid,
    admin: &Caller,
    station: crate::domain::StationId,
) -> Result<(), LegalAidError> {
    let provider = |name: &str,
                    kind,
                    office: &str,
                    licence: &str,
                    subject: &str,
                    services: &[LegalService]| NewProvider {
        name: name.to_owned(),
        kind,
        office: office.to_owned(),
        licence_no: licence.to_owned(),
        services: services.to_vec(),
        stations: vec![station],
        account_subject: Some(subject.to_owned()),
    };
    let notary = legal_aid
        .add_provider(
            admin,
            provider(
                "周公证员(合成)",
                ProviderKind::Notary,
                "荣昌区公证处(合成)",
                "GZ-500153-0001(合成)",
                accounts::NOTARY,
                &[LegalService::Notarization, LegalService::Consultation],
            ),
        )
        .await?;
    let wed = legal_aid
        .add_provider(
            admin,
            provider(
                "李律师(合成)",
                ProviderKind::Lawyer,
                "重庆荣昌律师事务所(合成)",
                "15001200000001(合成)",
                accounts::LAWYER_WED,
                LAWYER_SERVICES,
            ),
        )
        .await?;
    let fri = legal_aid
        .add_provider(
            admin,
            provider(
                "王律师(合成)",
                ProviderKind::Lawyer,
                "重庆昌州律师事务所(合成)",
                "15001200000002(合成)",
                accounts::LAWYER_FRI,
                LAWYER_SERVICES,
            ),
        )
        .await?;
    for (weekday, who, service) in [
        (Weekday::Tue, notary.id, LegalService::Notarization),
        (Weekday::Wed, wed.id, LegalService::Consultation),
        (Weekday::Fri, fri.id, LegalService::Consultation),
    ] {
        legal_aid
            .add_rule(
                admin,
                station,
                rule(weekday, "09:00", "12:00", service, vec![who], 30),
            )
            .await?;
        legal_aid
            .add_rule(
                admin,
                station,
                rule(weekday, "14:00", "17:30", service, vec![who], 30),
            )
            .await?;
    }
    Ok(())
}
