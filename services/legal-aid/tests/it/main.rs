//! The legal-aid service over real PostgreSQL and NATS (and SQLite where the embedded
//! store's guarantee is the point): GraphQL at the subgraph, gRPC, the database's
//! no-overlap guarantee.

mod booking;
mod callers;
mod cases;
mod demo;
mod embedded;
mod orders;
mod race;
mod roster;

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use tongxin_legal_aid::service::LegalAid;
use tongxin_legal_aid::service::clock::{Clock, ClockHand};
use tongxin_platform::auth::Role;
use tongxin_platform::org::Level;
use tongxin_testing::{Spawned, Store};
use uuid::Uuid;

pub use tongxin_testing::error_code;

/// Units the tests hang stations on (ids are fixed per path).
pub mod units {
    pub const ROOT: &str = "/rc";
    pub const PARK: &str = "/rc/industrial-park";
    pub const STATION: &str = "/rc/industrial-park/legal";
    pub const HONGQIAO: &str = "/rc/changyuan/hongqiao";
    pub const OTHER_DISTRICT: &str = "/ws";
}

/// The id the tests give the unit at `path`.
pub fn unit_id(path: &str) -> Uuid {
    Uuid::new_v5(&Uuid::NAMESPACE_URL, path.as_bytes())
}

/// 2026-09-28 08:00 in Asia/Shanghai (a Monday): the tests' "now".
pub fn monday_morning() -> DateTime<Utc> {
    at("2026-09-28T00:00:00Z")
}

pub fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .expect("time")
        .with_timezone(&Utc)
}

/// A running legal-aid service with its own database, bus and keys, and a clock standing at
/// [`monday_morning`].
pub struct TestApp {
    pub legal_aid: LegalAid,
    pub clock: ClockHand,
    pub spawned: Spawned,
}

impl TestApp {
    pub async fn spawn() -> Self {
        Self::spawn_on(Store::Postgres).await
    }

    pub async fn spawn_on(store: Store) -> Self {
        Self::spawn_with(store, false).await
    }

    /// On PostgreSQL behind a proxy that logs every statement reaching the database
    /// ([`Self::proxy`]), with the reminder rounds far apart (their polls are statements no
    /// request sent).
    pub async fn spawn_behind_proxy() -> Self {
        Self::spawn_with(Store::Postgres, true).await
    }

    async fn spawn_with(store: Store, behind_proxy: bool) -> Self {
        let (clock, hand) = Clock::manual(monday_morning());
        let defaults = tongxin_legal_aid::default_settings();
        let module = tongxin_legal_aid::LegalAidModule::new(tongxin_legal_aid::LegalAidSettings {
            pii_key: tongxin_platform::pii::PiiCipher::generate_key_base64().into(),
            reminder_interval_ms: if behind_proxy {
                3_600_000
            } else {
                defaults.reminder_interval_ms
            },
            ..defaults
        })
        .with_clock(clock);
        let mut spawn = tongxin_testing::spawn().service(module).store(store);
        if behind_proxy {
            spawn = spawn.behind_proxy(tongxin_legal_aid::NAME);
        }
        let spawned = spawn.start().await;
        let legal_aid = spawned.state::<LegalAid>(tongxin_legal_aid::NAME).clone();
        for (path, level) in [
            (units::ROOT, Level::Center),
            (units::PARK, Level::Institute),
            (units::STATION, Level::Station),
            (units::HONGQIAO, Level::Station),
            (units::OTHER_DISTRICT, Level::Center),
        ] {
            legal_aid
                .remember_unit(unit_id(path), path, level)
                .await
                .expect("remember unit");
        }
        Self {
            legal_aid,
            clock: hand,
            spawned,
        }
    }

    pub fn graphql_url(&self) -> String {
        format!(
            "http://{}/graphql",
            self.spawned.service(tongxin_legal_aid::NAME).http_addr()
        )
    }

    /// The proxy in front of the database ([`Self::spawn_behind_proxy`]).
    pub fn proxy(&self) -> &tongxin_testing::dbproxy::DbProxy {
        self.spawned
            .proxy(tongxin_legal_aid::NAME)
            .expect("spawned behind a proxy")
    }

    pub fn grpc_addr(&self) -> std::net::SocketAddr {
        self.spawned.service(tongxin_legal_aid::NAME).grpc_addr()
    }

    /// A token of `subject` with `roles`, scoped to the unit at `unit_path`.
    pub fn token(&self, subject: &str, roles: &[Role], unit_path: Option<&str>) -> String {
        self.spawned
            .sign(subject, roles, unit_path.map(unit_id), Some("rc"))
    }

    /// Staff of the industrial-park station.
    pub fn staff(&self) -> String {
        self.token("park-staff", &[Role::Staff], Some(units::STATION))
    }

    /// District admin.
    pub fn admin(&self) -> String {
        self.token("district-admin", &[Role::Admin], Some(units::ROOT))
    }

    pub fn citizen(&self, name: &str) -> String {
        self.token(name, &[Role::Citizen], None)
    }

    pub async fn gql(&self, token: Option<&str>, query: &str, variables: Value) -> Value {
        tongxin_testing::graphql(&self.graphql_url(), token, query, variables).await
    }

    /// Runs `query` and returns `data.<field>`, failing on errors.
    pub async fn ok(&self, token: &str, query: &str, variables: Value, field: &str) -> Value {
        let r = self.gql(Some(token), query, variables).await;
        assert!(r["errors"].is_null(), "{query}: {r}");
        r["data"][field].clone()
    }

    /// The industrial-park station offering every service, with a notary (Tuesdays) and two
    /// lawyers, 30-minute slots; returns (station, notary, lawyer 1, lawyer 2).
    pub async fn park_station(&self) -> (String, String, String, String) {
        let station = self
            .ok(
                &self.staff(),
                "mutation($i: CreateLegalAidStationInput!) { createLegalAidStation(input: $i) { id } }",
                json!({ "i": {
                    "unitId": unit_id(units::STATION),
                    "name": "产业园公共法律服务工作站",
                    "address": "产业园管委会一楼",
                    "services": ["CONSULTATION", "MEDIATION", "LEGAL_AID_REFERRAL", "LEGAL_AID_CASE",
                                 "NOTARIZATION", "HEALTH_CHECK", "NEEDS_SURVEY"],
                    "minNoticeMinutes": 120,
                    "horizonDays": 30
                }}),
                "createLegalAidStation",
            )
            .await["id"]
            .as_str()
            .expect("id")
            .to_owned();
        let notary = self
            .provider(
                &station,
                "周公证员",
                "NOTARY",
                &["NOTARIZATION"],
                Some("notary-1"),
            )
            .await;
        let lawyer1 = self
            .provider(
                &station,
                "李律师",
                "LAWYER",
                &["CONSULTATION", "MEDIATION"],
                Some("lawyer-1"),
            )
            .await;
        let lawyer2 = self
            .provider(
                &station,
                "王律师",
                "LAWYER",
                &["CONSULTATION", "MEDIATION"],
                Some("lawyer-2"),
            )
            .await;
        (station, notary, lawyer1, lawyer2)
    }

    pub async fn provider(
        &self,
        station: &str,
        name: &str,
        kind: &str,
        services: &[&str],
        account: Option<&str>,
    ) -> String {
        self.ok(
            &self.staff(),
            "mutation($i: AddLegalAidProviderInput!) { addLegalAidProvider(input: $i) { id } }",
            json!({ "i": {
                "name": name, "kind": kind, "services": services,
                "stationIds": [station], "accountSubject": account,
                "licenceNo": "15001200000001"
            }}),
            "addLegalAidProvider",
        )
        .await["id"]
            .as_str()
            .expect("id")
            .to_owned()
    }

    /// Adds a weekly rule; returns the raw response.
    pub async fn add_rule(&self, station: &str, rule: Value) -> Value {
        self.gql(
            Some(&self.staff()),
            "mutation($s: ID!, $r: RosterRuleInput!) { addRosterRule(stationId: $s, input: $r) { id } }",
            json!({ "s": station, "r": rule }),
        )
        .await
    }

    /// A rule that must be accepted.
    pub async fn rule(
        &self,
        station: &str,
        weekday: &str,
        start: &str,
        end: &str,
        service: &str,
        providers: &[&str],
    ) {
        let r = self
            .add_rule(
                station,
                json!({ "weekday": weekday, "start": start, "end": end, "service": service,
                        "providerIds": providers, "slotMinutes": 30 }),
            )
            .await;
        assert!(r["errors"].is_null(), "{r}");
    }

    /// Books as `token`; returns the raw response.
    pub async fn book(&self, token: &str, input: Value) -> Value {
        self.gql(
            Some(token),
            "mutation($i: BookAppointmentInput!) { bookAppointment(input: $i) {
                id status startsAt endsAt provider { id name } topic parties phone version } }",
            json!({ "i": input }),
        )
        .await
    }

    pub async fn outbox_subjects(&self) -> Vec<String> {
        use sea_orm::{EntityTrait, QueryOrder};
        use tongxin_platform::events::outbox::entity;
        entity::Entity::find()
            .order_by_asc(entity::Column::Seq)
            .all(self.legal_aid.db())
            .await
            .expect("outbox")
            .into_iter()
            .map(|r| r.subject)
            .collect()
    }

    pub async fn appointment_count(&self) -> u64 {
        use sea_orm::{EntityTrait, PaginatorTrait};
        tongxin_legal_aid::store::appointments::appointment::Entity::find()
            .count(self.legal_aid.db())
            .await
            .expect("count")
    }
}
