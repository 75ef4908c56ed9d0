//! The district's public legal service stations, their providers and weekly rosters: the
//! demo's three as the demo has them (the industrial park's notary and lawyers with their
//! demo accounts, the two community mediators), and a workstation at every other institute
//! with its own lawyer (Tuesdays and Thursdays), a mediator (Monday mornings, an hour a
//! mediation) and a lawyer on Fridays whom two neighbouring stations share (one the
//! morning, the other the afternoon); the park's notary also sits at 昌元 on Thursday
//! mornings. Every rule is checked as `addRoster` checks it: the provider gives the service,
//! serves the station, and sits nowhere else at that time.

use chrono::{DateTime, Duration, Utc, Weekday};
use sea_orm::ActiveValue::Set;
use tongxin_platform::district::{District, TreeUnit};
use tongxin_platform::org::Level;

use super::super::{LAWYER_SERVICES, STATIONS, accounts};
use crate::domain::roster::{Rule, SlotShape, Window, staffing};
use crate::domain::{LegalService, ProviderId, ProviderKind, RuleId, StationId, services_to_json};
use crate::error::LegalAidError;
use crate::store::roster::{ids_to_json, rule, weekday_number};
use crate::store::stations::{provider, provider_station, station};

/// Who opened the stations and registered the providers.
const ACTOR: &str = "district-seed";

/// What the lawyers give (the demo's lawyers' list).
const LAWYER: &[LegalService] = LAWYER_SERVICES;
const MEDIATOR: &[LegalService] = &[
    LegalService::Consultation,
    LegalService::Mediation,
    LegalService::LegalAidReferral,
];
const NOTARY: &[LegalService] = &[LegalService::Notarization, LegalService::Consultation];
/// What an institute's workstation offers (昌元, the district seat, notarization too).
const WORKSTATION: &[LegalService] = &[
    LegalService::Consultation,
    LegalService::Mediation,
    LegalService::LegalAidReferral,
    LegalService::LegalAidCase,
    LegalService::HealthCheck,
];

const MORNING: (&str, &str) = ("09:00", "12:00");
const AFTERNOON: (&str, &str) = ("14:00", "17:30");

/// The stations with how busy each is (a share of the year's appointments), their
/// providers, who serves where, and the weekly rules.
pub(super) struct Plan {
    pub(super) stations: Vec<station::ActiveModel>,
    /// Per station, in order: its id, its unit and its share of the appointments.
    pub(super) desks: Vec<(StationId, uuid::Uuid, u64)>,
    pub(super) providers: Vec<provider::ActiveModel>,
    pub(super) serves: Vec<provider_station::ActiveModel>,
    pub(super) rules: Vec<Rule>,
}

struct Builder<'a> {
    district: &'a District,
    since: DateTime<Utc>,
    plan: Plan,
    /// Per provider: what they give.
    gives: Vec<(ProviderId, &'static [LegalService])>,
    /// Per station: what it offers.
    offers: Vec<(StationId, Vec<LegalService>)>,
    /// Who serves where.
    serving: Vec<(ProviderId, StationId)>,
}

impl Builder<'_> {
    fn station(
        &mut self,
        unit: &TreeUnit,
        name: String,
        address: String,
        services: &[LegalService],
        weight: u64,
    ) -> StationId {
        let id = StationId(
            self.district
                .id("legal-station", self.plan.stations.len() as u64),
        );
        self.plan.stations.push(station::ActiveModel {
            id: Set(id.0),
            org_unit_id: Set(unit.id()),
            org_unit_path: Set(unit.path.clone()),
            venue_id: Set(None),
            name: Set(name),
            address: Set(address),
            opening_hours: Set("工作日 9:00-12:00, 14:00-17:30".to_owned()),
            contact: Set("023-4660000(合成)".to_owned()),
            services: Set(services_to_json(services)),
            min_notice_minutes: Set(60),
            horizon_days: Set(30),
            created_at: Set(self.since),
            created_by: Set(ACTOR.to_owned()),
        });
        self.plan.desks.push((id, unit.id(), weight));
        self.offers.push((id, services.to_vec()));
        id
    }

    #[allow(clippy::too_many_arguments)]
    fn provider(
        &mut self,
        name: String,
        kind: ProviderKind,
        office: &str,
        licence: String,
        services: &'static [LegalService],
        account: Option<&str>,
        stations: &[StationId],
    ) -> ProviderId {
        let id = ProviderId(self.district.id("legal-provider", self.gives.len() as u64));
        self.plan.providers.push(provider::ActiveModel {
            id: Set(id.0),
            name: Set(name),
            kind: Set(kind.code().to_owned()),
            office: Set(office.to_owned()),
            licence_no: Set(licence),
            services: Set(services_to_json(services)),
            account_subject: Set(account.map(str::to_owned)),
            last_booked_at: Set(None),
            created_at: Set(self.since),
            feed_token: Set(None),
        });
        self.gives.push((id, services));
        for s in stations {
            self.serve(id, *s);
        }
        id
    }

    fn serve(&mut self, provider: ProviderId, station: StationId) {
        self.plan.serves.push(provider_station::ActiveModel {
            provider_id: Set(provider.0),
            station_id: Set(station.0),
        });
        self.serving.push((provider, station));
    }

    /// A weekly rule, 30-minute slots (an hour for a mediation).
    fn rule(
        &mut self,
        station: StationId,
        weekday: Weekday,
        (start, end): (&str, &str),
        service: LegalService,
        who: ProviderId,
    ) -> Result<(), LegalAidError> {
        let minutes = if service == LegalService::Mediation {
            60
        } else {
            30
        };
        self.plan.rules.push(Rule {
            id: RuleId(self.district.id("legal-rule", self.plan.rules.len() as u64)),
            station,
            weekday,
            window: Window::parse(start, end)?,
            service,
            providers: staffing(vec![who])?,
            shape: SlotShape::parse(minutes, 0)?,
            daily_limit: None,
        });
        Ok(())
    }

    /// Refuses the plan where `addRoster` would refuse one of its rules.
    fn check(&self) -> Result<(), LegalAidError> {
        let refused = |what: String| LegalAidError::Internal(format!("district roster: {what}"));
        for r in &self.plan.rules {
            r.check_against(&self.plan.rules)?;
            let offers = self.offers.iter().find(|(s, _)| *s == r.station);
            if !offers.is_some_and(|(_, o)| o.contains(&r.service)) {
                return Err(refused(format!(
                    "the station does not offer {:?}",
                    r.service
                )));
            }
            for p in &r.providers {
                let gives = self.gives.iter().find(|(id, _)| id == p);
                if !gives.is_some_and(|(_, s)| s.contains(&r.service)) {
                    return Err(refused(format!("a provider does not give {:?}", r.service)));
                }
                if !self.serving.contains(&(*p, r.station)) {
                    return Err(refused(
                        "a provider sits where they do not serve".to_owned(),
                    ));
                }
            }
        }
        Ok(())
    }
}

/// The district's stations on `tree`, opened before the year of history.
pub(super) fn plan(district: &District, tree: &[TreeUnit]) -> Result<Plan, LegalAidError> {
    let mut b = Builder {
        district,
        since: district.today - Duration::days(400),
        plan: Plan {
            stations: Vec::new(),
            desks: Vec::new(),
            providers: Vec::new(),
            serves: Vec::new(),
            rules: Vec::new(),
        },
        gives: Vec::new(),
        offers: Vec::new(),
        serving: Vec::new(),
    };
    let unit = |path: &str| {
        tree.iter()
            .find(|u| u.path == path)
            .ok_or_else(|| LegalAidError::Internal(format!("district tree lacks {path}")))
    };
    // The demo's three, as busy as the seed's station and the demo's community ones.
    let mut demo = Vec::new();
    for (s, weight) in STATIONS.iter().zip([360, 70, 40]) {
        let id = b.station(
            unit(s.path)?,
            s.name.to_owned(),
            s.address.to_owned(),
            s.services,
            weight,
        );
        demo.push(id);
    }
    let park = demo[0];
    let notary = b.provider(
        "周公证员(合成)".to_owned(),
        ProviderKind::Notary,
        "荣昌区公证处(合成)",
        "GZ-500153-0001(合成)".to_owned(),
        NOTARY,
        Some(accounts::NOTARY),
        &[park],
    );
    for (weekday, name, firm, licence, account) in [
        (
            Weekday::Wed,
            "李律师(合成)",
            "重庆荣昌律师事务所(合成)",
            "15001200000001(合成)",
            accounts::LAWYER_WED,
        ),
        (
            Weekday::Fri,
            "王律师(合成)",
            "重庆昌州律师事务所(合成)",
            "15001200000002(合成)",
            accounts::LAWYER_FRI,
        ),
    ] {
        let lawyer = b.provider(
            name.to_owned(),
            ProviderKind::Lawyer,
            firm,
            licence.to_owned(),
            LAWYER,
            Some(account),
            &[park],
        );
        for window in [MORNING, AFTERNOON] {
            b.rule(park, weekday, window, LegalService::Consultation, lawyer)?;
        }
    }
    for window in [MORNING, AFTERNOON] {
        b.rule(
            park,
            Weekday::Tue,
            window,
            LegalService::Notarization,
            notary,
        )?;
    }
    for (i, station) in demo.iter().enumerate().skip(1) {
        let mediator = b.provider(
            format!("调解员{i}(合成)"),
            ProviderKind::Mediator,
            "人民调解委员会(合成)",
            String::new(),
            MEDIATOR,
            None,
            &[*station],
        );
        b.rule(
            *station,
            Weekday::Thu,
            MORNING,
            LegalService::Consultation,
            mediator,
        )?;
    }
    // A workstation at every other institute (the industrial park's is the demo's).
    let mut mix = district.mix("legal-aid/stations");
    let institutes: Vec<&TreeUnit> = tree
        .iter()
        .filter(|u| u.level == Level::Institute && u.path != "/rc/industrial-park")
        .collect();
    let mut workstations = Vec::new();
    for (i, u) in institutes.iter().enumerate() {
        let seat = u.path == "/rc/changyuan";
        let mut services = WORKSTATION.to_vec();
        if seat {
            services.push(LegalService::Notarization);
        }
        let place = u
            .name
            .replace("新时代文明实践所", "")
            .replace("实践所", "")
            .replace("(合成)", "");
        let id = b.station(
            u,
            format!("{place}公共法律服务工作站(合成)"),
            format!("{place}便民服务中心(合成)"),
            &services,
            250 + mix.below(250),
        );
        let lawyer = b.provider(
            format!("{place}驻站律师(合成)"),
            ProviderKind::Lawyer,
            "重庆荣昌律师事务所(合成)",
            format!("150012000{:05}(合成)", 100 + i),
            LAWYER,
            None,
            &[id],
        );
        let mediator = b.provider(
            format!("{place}调解员(合成)"),
            ProviderKind::Mediator,
            "人民调解委员会(合成)",
            String::new(),
            MEDIATOR,
            None,
            &[id],
        );
        for weekday in [Weekday::Tue, Weekday::Thu] {
            for window in [MORNING, AFTERNOON] {
                b.rule(id, weekday, window, LegalService::Consultation, lawyer)?;
            }
        }
        b.rule(id, Weekday::Mon, MORNING, LegalService::Mediation, mediator)?;
        if seat {
            b.serve(notary, id);
            b.rule(
                id,
                Weekday::Thu,
                MORNING,
                LegalService::Notarization,
                notary,
            )?;
        }
        workstations.push(id);
    }
    // Friday lawyers, each shared by two neighbouring workstations.
    for (k, pair) in workstations.chunks(2).enumerate() {
        let lawyer = b.provider(
            format!("巡回律师{}(合成)", k + 1),
            ProviderKind::Lawyer,
            "重庆昌州律师事务所(合成)",
            format!("150012000{:05}(合成)", 200 + k),
            LAWYER,
            None,
            pair,
        );
        for (station, window) in pair.iter().zip([MORNING, AFTERNOON]) {
            b.rule(
                *station,
                Weekday::Fri,
                window,
                LegalService::Consultation,
                lawyer,
            )?;
        }
    }
    b.check()?;
    Ok(b.plan)
}

/// A rule as `addRoster` stores it.
pub(super) fn rule_row(r: &Rule, created_at: DateTime<Utc>) -> rule::ActiveModel {
    rule::ActiveModel {
        id: Set(r.id.0),
        station_id: Set(r.station.0),
        weekday: Set(weekday_number(r.weekday)),
        start_time: Set(r.window.start.format("%H:%M").to_string()),
        end_time: Set(r.window.end.format("%H:%M").to_string()),
        service: Set(r.service.code().to_owned()),
        provider_ids: Set(ids_to_json(&r.providers)),
        slot_minutes: Set(i32::try_from(r.shape.slot_minutes).unwrap_or(1)),
        buffer_minutes: Set(i32::try_from(r.shape.buffer_minutes).unwrap_or(0)),
        daily_limit: Set(r.daily_limit.and_then(|l| i32::try_from(l).ok())),
        created_at: Set(created_at),
    }
}

/// Splits `total` over `weights` in proportion (largest remainders), so the parts add up.
pub(super) fn shares(total: u64, weights: &[u64]) -> Vec<u64> {
    let sum: u64 = weights.iter().sum::<u64>().max(1);
    let mut parts: Vec<u64> = weights.iter().map(|w| total * w / sum).collect();
    let mut order: Vec<usize> = (0..weights.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse((total * weights[i]) % sum));
    let left = total - parts.iter().sum::<u64>();
    for &i in order.iter().take(left as usize) {
        parts[i] += 1;
    }
    parts
}
