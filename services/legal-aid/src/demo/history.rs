//! About a year of history for the demo stations, from the industrial-park station's
//! opening in May 2021 to the end of June 2022: bookings, check-ins, no-shows,
//! cancellations, consultation outcomes and the cases they opened.
//!
//! The figures are the seed's: the district's account of the station says that up to June
//! of its first year it had answered 330+ consultations, given 20 legal-aid referrals (指引),
//! handled 4 legal-aid cases (承办) and taken 4 notarizations. [`PARK`] holds exactly those
//! outcomes; the two synthetic community stations get smaller histories.
//!
//! Every visit sits on a slot the station's own roster computation gave (with that year's
//! holiday calendar, which the seed enters first), booked a few hours to a week ahead; the
//! visitor came and the outcome was logged (opening its case, most of which are closed two
//! weeks later), or did not come, or cancelled. Which slot gets which fate comes from a fixed
//! seed, so every run writes the same history. The rows are written as the operations write
//! them, in one transaction (see [`seed_station`] for why not one call at a time).

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, Utc, Weekday};
use sea_orm::{ActiveValue::Set, ConnectionTrait, TransactionTrait};
use tongxin_platform::db::classify;
use tongxin_platform::district::{Mix, Progress, Quiet, insert_table};
use tongxin_platform::pii::Phone;

use crate::domain::appointment::Status;
use crate::domain::calendar::{CalendarDay, DayKind};
use crate::domain::case::{CaseKind, CaseResult, CaseStatus};
use crate::domain::roster::instant;
use crate::domain::slots::{self, Slot};
use crate::domain::{LegalService, StationId};
use crate::error::LegalAidError;
use crate::service::cases::{legal_case, timeline};
use crate::service::consultations::{Outcome, consultation};
use crate::service::{Caller, LegalAid};
use crate::store::appointments::appointment;

/// Who the history's outcomes and case steps name.
const ACTOR: &str = "demo-history";

/// The service's name on progress bars.
const SERVICE: &str = "legal-aid";

/// How many days one duty-roster read covers (the roster answers at most 62).
const CHUNK_DAYS: i64 = 60;

/// The first day of the history (the station opened after the 2021 May Day holidays).
pub fn first_day() -> NaiveDate {
    NaiveDate::from_ymd_opt(2021, 5, 6).unwrap_or(NaiveDate::MIN)
}

/// The last day of the history.
pub fn last_day() -> NaiveDate {
    NaiveDate::from_ymd_opt(2022, 6, 30).unwrap_or(NaiveDate::MIN)
}

/// What happened to one booking.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Fate {
    /// The visitor came and the consultation ended with this outcome.
    Logged(Outcome),
    /// The visitor did not come.
    NoShow,
    /// The visitor cancelled a day or so ahead.
    Cancelled,
}

/// One service's history at a station: how many visits ended how.
pub struct ServiceHistory {
    /// The service booked.
    pub service: LegalService,
    /// Logged outcomes and how many of each.
    pub outcomes: &'static [(Outcome, u32)],
    /// Bookings whose visitor did not come.
    pub no_shows: u32,
    /// Bookings cancelled ahead.
    pub cancellations: u32,
}

impl ServiceHistory {
    /// Every visit's fate, in a fixed order (shuffled by the caller).
    fn fates(&self) -> Vec<Fate> {
        let mut out = Vec::new();
        for (outcome, n) in self.outcomes {
            out.extend((0..*n).map(|_| Fate::Logged(*outcome)));
        }
        out.extend((0..self.no_shows).map(|_| Fate::NoShow));
        out.extend((0..self.cancellations).map(|_| Fate::Cancelled));
        out
    }
}

/// The industrial-park station: 336 consultations, of which 20 referrals, 4 legal-aid
/// cases and 4 notarizations (the seed's figures), with 14 mediations and 6 legal health
/// checks; the lawyers' Wednesdays and Fridays and the notary's Tuesdays.
pub const PARK: &[ServiceHistory] = &[
    ServiceHistory {
        service: LegalService::Consultation,
        outcomes: &[
            (Outcome::Answered, 282),
            (Outcome::Referred, 20),
            (Outcome::CaseTaken, 4),
            (Outcome::MediationOpened, 14),
            (Outcome::HealthCheckScheduled, 6),
        ],
        no_shows: 12,
        cancellations: 8,
    },
    ServiceHistory {
        service: LegalService::Notarization,
        outcomes: &[(Outcome::NotarizationTaken, 4), (Outcome::Answered, 6)],
        no_shows: 1,
        cancellations: 1,
    },
];

/// 虹桥 (synthetic): a mediator's Thursday mornings.
pub const HONGQIAO: &[ServiceHistory] = &[ServiceHistory {
    service: LegalService::Consultation,
    outcomes: &[
        (Outcome::Answered, 52),
        (Outcome::MediationOpened, 9),
        (Outcome::Referred, 3),
    ],
    no_shows: 4,
    cancellations: 2,
}];

/// 荣升 (synthetic): a mediator's Thursday mornings, a quieter village.
pub const RONGSHENG: &[ServiceHistory] = &[ServiceHistory {
    service: LegalService::Consultation,
    outcomes: &[(Outcome::Answered, 31), (Outcome::MediationOpened, 5)],
    no_shows: 2,
    cancellations: 1,
}];

/// What the history is about (synthetic topics) and the other side named for the conflict
/// check (synthetic companies; the applicant is a synthetic visitor of their own).
const TOPICS: &[&str] = &[
    "劳动合同解除咨询",
    "拖欠工资",
    "工伤认定与赔偿",
    "社会保险缴纳",
    "加班费计算",
    "竞业限制条款",
    "企业用工合规",
    "租赁合同纠纷",
    "婚姻家庭咨询",
    "交通事故赔偿",
    "借款合同纠纷",
    "消费维权",
];

const COMPANIES: &[&str] = &[
    "荣昌某电路板有限公司(合成)",
    "产业园某电子科技有限公司(合成)",
    "某精密制造有限公司(合成)",
    "某覆铜板材料有限公司(合成)",
    "某物流服务有限公司(合成)",
    "某劳务派遣有限公司(合成)",
];

/// The State Council's holiday arrangements for the history's months (国务院办公厅关于2021年
/// 部分节假日安排的通知, 国办发明电〔2020〕27号; …2022年…, 国办发明电〔2021〕11号), entered as an
/// admin would: no roster on a holiday, and a make-up working day follows the weekday it was
/// swapped with.
fn past_calendar() -> Vec<(NaiveDate, DayKind, &'static str)> {
    use Weekday::*;
    let d = |y, m, day| NaiveDate::from_ymd_opt(y, m, day).unwrap_or(NaiveDate::MIN);
    let mut days = Vec::new();
    let mut off = |y, m, from, to, name| {
        for day in from..=to {
            days.push((d(y, m, day), DayKind::Holiday, name));
        }
    };
    off(2021, 6, 12, 14, "端午节");
    off(2021, 9, 19, 21, "中秋节");
    off(2021, 10, 1, 7, "国庆节");
    off(2022, 1, 1, 3, "元旦");
    off(2022, 1, 31, 31, "春节");
    off(2022, 2, 1, 6, "春节");
    off(2022, 4, 3, 5, "清明节");
    off(2022, 4, 30, 30, "劳动节");
    off(2022, 5, 1, 4, "劳动节");
    off(2022, 6, 3, 5, "端午节");
    let work = |y, m, day, follows, name| (d(y, m, day), DayKind::Workday { follows }, name);
    days.extend([
        work(2021, 5, 8, Wed, "劳动节调休"),
        work(2021, 9, 18, Mon, "中秋节调休"),
        work(2021, 9, 26, Wed, "国庆节调休"),
        work(2021, 10, 9, Thu, "国庆节调休"),
        work(2022, 1, 29, Thu, "春节调休"),
        work(2022, 1, 30, Fri, "春节调休"),
        work(2022, 4, 2, Mon, "清明节调休"),
        work(2022, 4, 24, Tue, "劳动节调休"),
        work(2022, 5, 7, Wed, "劳动节调休"),
    ]);
    days
}

/// Shuffles `items` in place with `mix` (Fisher-Yates).
pub(super) fn shuffle<T>(mix: &mut Mix, items: &mut [T]) {
    for i in (1..items.len()).rev() {
        let j = mix.pick(i + 1);
        items.swap(i, j);
    }
}

/// Enters the past holidays and make-up days into the district calendar (admins' job; the
/// history's roster skips them).
pub async fn seed_calendar(legal_aid: &LegalAid, admin: &Caller) -> Result<(), LegalAidError> {
    for (date, kind, name) in past_calendar() {
        legal_aid
            .set_calendar_day(admin, CalendarDay::parse(date, kind, name)?)
            .await?;
    }
    Ok(())
}

/// Writes the history of `station`; `seed` picks the slots and fates. Returns how many
/// appointments it made.
///
/// The rows go straight into the tables in one transaction (a year of visits one service
/// call at a time takes most of a minute on SQLite; `tongxin run` must start in seconds),
/// written exactly as the operations write them: every appointment on a slot the roster
/// gave (its provider sitting, the calendar's holidays skipped), one consultation per
/// checked-in visit, a case with its timeline for an outcome that opens one. The database's
/// own no-overlap guarantee checks every row. History publishes no events: it is the past
/// the station brings along, not something happening now.
pub async fn seed_station(
    legal_aid: &LegalAid,
    station: StationId,
    histories: &[ServiceHistory],
    seed: u64,
) -> Result<usize, LegalAidError> {
    let unit = legal_aid.station(station).await?.unit;
    let mut rng = Mix(seed);
    let mut rows = Rows::new(ACTOR, Mix(seed ^ 0x5eed), end_of_history());
    for history in histories {
        let roster = roster_slots(legal_aid, station, history.service).await?;
        let mut fates = history.fates();
        if fates.len() > roster.len() {
            return Err(LegalAidError::Internal(format!(
                "demo history: {} visits for {} slots",
                fates.len(),
                roster.len()
            )));
        }
        shuffle(&mut rng, &mut fates);
        // Which slots were taken: a random choice among the roster's, in time order.
        let mut picked: Vec<usize> = (0..roster.len()).collect();
        shuffle(&mut rng, &mut picked);
        picked.truncate(fates.len());
        picked.sort_unstable();
        for (k, (slot, fate)) in picked
            .into_iter()
            .map(|i| &roster[i])
            .zip(fates)
            .enumerate()
        {
            let subject = format!(
                "demo-visitor-{}-{}-{k}",
                &station.0.simple().to_string()[..8],
                history.service.code()
            );
            let visitor = Visitor::new(subject, station, history.service, k, None, &mut rng);
            rows.visit(legal_aid, unit, slot, &visitor, fate)?;
        }
    }
    let made = rows.appointments.len();
    let txn = legal_aid.db().begin().await.map_err(classify)?;
    rows.write(&txn, &Quiet).await?;
    txn.commit().await.map_err(classify)?;
    Ok(made)
}

/// The end of the history's last day (midnight after it, Asia/Shanghai): cases that would
/// close later are still open.
fn end_of_history() -> DateTime<Utc> {
    instant(
        last_day().succ_opt().unwrap_or(NaiveDate::MAX),
        NaiveTime::MIN,
    )
}

/// A history's rows, written together: the appointments, the consultations of the visits
/// that happened, the cases they opened and the cases' timelines, as the operations write
/// them (personal data sealed with the service's cipher), without events.
pub(super) struct Rows {
    /// Who the outcomes and case steps name.
    actor: &'static str,
    /// Where the rows' ids come from (UUIDv7 at the row's time, the same on every run).
    ids: Mix,
    /// The end of the history: a case that would close after it is still open.
    until: DateTime<Utc>,
    /// Mediations opened so far (one in five ends without agreement).
    mediations: u32,
    pub(super) appointments: Vec<appointment::ActiveModel>,
    pub(super) consultations: Vec<consultation::ActiveModel>,
    pub(super) cases: Vec<legal_case::ActiveModel>,
    pub(super) steps: Vec<timeline::ActiveModel>,
}

impl Rows {
    /// No rows yet; outcomes logged by `actor`, ids from `ids`, history ending at `until`.
    pub(super) fn new(actor: &'static str, ids: Mix, until: DateTime<Utc>) -> Self {
        Self {
            actor,
            ids,
            until,
            mediations: 0,
            appointments: Vec::new(),
            consultations: Vec::new(),
            cases: Vec::new(),
            steps: Vec::new(),
        }
    }

    /// One booking, made a few hours to a week ahead, and what became of it.
    pub(super) fn visit(
        &mut self,
        legal_aid: &LegalAid,
        unit: uuid::Uuid,
        slot: &Slot,
        visitor: &Visitor,
        fate: Fate,
    ) -> Result<(), LegalAidError> {
        let lead = Duration::hours(3 + self.ids.below(7 * 24) as i64);
        let booked_at = slot.starts_at - lead;
        let (status, changed_at) = match fate {
            Fate::Cancelled => (Status::Cancelled, slot.starts_at - lead / 2),
            Fate::NoShow => (Status::NoShow, slot.ends_at + Duration::minutes(10)),
            Fate::Logged(_) => (Status::CheckedIn, slot.starts_at - Duration::minutes(5)),
        };
        let provider = slot.free.first().map(|p| p.0);
        let id = self.ids.uuid_v7(booked_at);
        let parties = serde_json::to_string(&visitor.parties)
            .map_err(|e| LegalAidError::Internal(e.to_string()))?;
        let cipher = legal_aid.cipher();
        self.appointments.push(appointment::ActiveModel {
            id: Set(id),
            station_id: Set(visitor.station.0),
            org_unit_id: Set(unit),
            provider_id: Set(provider),
            service: Set(visitor.service.code().to_owned()),
            starts_at: Set(slot.starts_at),
            ends_at: Set(slot.ends_at),
            status: Set(status.code().to_owned()),
            citizen: Set(visitor.subject.clone()),
            topic_cipher: Set(cipher.encrypt(visitor.topic)?),
            parties_cipher: Set(cipher.encrypt(&parties)?),
            phone_cipher: Set(visitor
                .phone
                .as_ref()
                .map(|p| cipher.encrypt(p.expose()))
                .transpose()?),
            idempotency_key: Set(None),
            walk_in: Set(false),
            order_id: Set(None),
            // Booked (1), then one change.
            version: Set(2),
            created_at: Set(booked_at),
            updated_at: Set(changed_at),
        });
        let Fate::Logged(outcome) = fate else {
            return Ok(());
        };
        let consultation = self.ids.uuid_v7(slot.ends_at);
        self.consultations.push(consultation::ActiveModel {
            id: Set(consultation),
            appointment_id: Set(id),
            station_id: Set(visitor.station.0),
            provider_id: Set(provider),
            service: Set(visitor.service.code().to_owned()),
            outcome: Set(outcome.code().to_owned()),
            logged_by: Set(self.actor.to_owned()),
            logged_at: Set(slot.ends_at),
        });
        let Some(kind) = crate::service::cases::kind_of(outcome) else {
            return Ok(());
        };
        // Opened with the consultation; worked on the next day and closed two weeks later,
        // unless that is past the history's end (then it is still open at the end).
        // Mediations end in agreement four times in five.
        let case = self.ids.uuid_v7(slot.ends_at);
        let opened = slot.ends_at;
        let closes = opened + Duration::days(14);
        let closed = closes <= self.until;
        if kind == CaseKind::Mediation {
            self.mediations += 1;
        }
        let result = match kind {
            CaseKind::Mediation if self.mediations.is_multiple_of(5) => CaseResult::NoAgreement,
            CaseKind::Mediation => CaseResult::Agreement,
            _ => CaseResult::Completed,
        };
        let mut steps = vec![(CaseStatus::Opened, None, opened)];
        if closed {
            steps.push((CaseStatus::InProgress, None, opened + Duration::days(1)));
            steps.push((CaseStatus::Closed, Some(result), closes));
        }
        let (last, last_result, last_at) = steps[steps.len() - 1];
        self.cases.push(legal_case::ActiveModel {
            id: Set(case),
            consultation_id: Set(consultation),
            appointment_id: Set(id),
            station_id: Set(visitor.station.0),
            provider_id: Set(provider),
            kind: Set(kind.code().to_owned()),
            status: Set(last.code().to_owned()),
            result: Set(last_result.map(|r| r.code().to_owned())),
            version: Set(i32::try_from(steps.len()).unwrap_or(1)),
            opened_at: Set(opened),
            updated_at: Set(last_at),
            closed_at: Set(closed.then_some(closes)),
            conflicts: Set("[]".to_owned()),
        });
        for (version, (status, result, at)) in steps.into_iter().enumerate() {
            self.steps.push(timeline::ActiveModel {
                id: Set(self.ids.uuid_v7(at)),
                case_id: Set(case),
                version: Set(i32::try_from(version + 1).unwrap_or(1)),
                status: Set(status.code().to_owned()),
                result: Set(result.map(|r| r.code().to_owned())),
                actor: Set(self.actor.to_owned()),
                at: Set(at),
            });
        }
        Ok(())
    }

    /// Everything on `conn` (the caller's transaction), a progress bar per table; returns
    /// the rows written per table.
    pub(super) async fn write<C: ConnectionTrait>(
        self,
        conn: &C,
        progress: &dyn Progress,
    ) -> Result<Vec<(&'static str, u64)>, LegalAidError> {
        Ok(vec![
            insert_table(conn, &self.appointments, SERVICE, "appointments", progress)
                .await
                .map_err(classify)?,
            insert_table(
                conn,
                &self.consultations,
                SERVICE,
                "consultations",
                progress,
            )
            .await
            .map_err(classify)?,
            insert_table(conn, &self.cases, SERVICE, "legal_cases", progress)
                .await
                .map_err(classify)?,
            insert_table(conn, &self.steps, SERVICE, "legal_case_timeline", progress)
                .await
                .map_err(classify)?,
        ])
    }
}

/// Every slot the station's roster gave for `service` over the history (the roster's own
/// computation, with the calendar), in time order.
async fn roster_slots(
    desk: &LegalAid,
    station: StationId,
    service: LegalService,
) -> Result<Vec<Slot>, LegalAidError> {
    let mut out = Vec::new();
    let mut from = first_day();
    while from <= last_day() {
        let to = (from + Duration::days(CHUNK_DAYS - 1)).min(last_day());
        let sittings: Vec<_> = desk
            .duty_roster(station, from, to)
            .await?
            .into_iter()
            .flat_map(|d| d.sittings)
            .collect();
        out.extend(slots::cut(&sittings, service));
        from = to + Duration::days(1);
    }
    Ok(out)
}

/// A synthetic visitor with their own account.
pub(super) struct Visitor {
    subject: String,
    topic: &'static str,
    /// The visitor, then the other side named for the conflict check.
    parties: Vec<String>,
    phone: Option<Phone>,
    service: LegalService,
    station: StationId,
}

impl Visitor {
    /// Visitor `n` of a station's `service`, account `subject`, on a topic and against a
    /// company `mix` picks.
    pub(super) fn new(
        subject: String,
        station: StationId,
        service: LegalService,
        n: usize,
        phone: Option<Phone>,
        mix: &mut Mix,
    ) -> Self {
        let topic = TOPICS[mix.pick(TOPICS.len())];
        let company = COMPANIES[mix.pick(COMPANIES.len())];
        Self {
            subject,
            topic,
            parties: vec![format!("来访人{}(合成)", n + 1), company.to_owned()],
            phone,
            service,
            station,
        }
    }
}
