//! The ledger on the embedded stack of `tongxin run`: SQLite and the in-process bus. The
//! same statements (upserts, RETURNING, the ranking aggregate, the register of issued
//! proofs) must work there too.

use std::time::Duration;

use chrono::NaiveDate;
use prost::Message;
use serde_json::json;
use tongxin_platform::ErrorCode;
use tongxin_platform::auth::{Principal, Role, TokenRequest};
use tongxin_platform::events::Event;
use tongxin_proto::events as pb_events;
use tongxin_volunteers::domain::team::TeamLevel;
use tongxin_volunteers::service::NewVolunteer;
use tongxin_volunteers::service::ledger::NewHours;
use tongxin_volunteers::service::teams::NewTeam;
use tongxin_volunteers::{PiiSettings, VolunteersSettings};
use uuid::Uuid;

use crate::{id_card, units};

/// The volunteers service as `tongxin run` builds it: SQLite in a temporary directory and
/// the in-process bus, serving until `stop`.
struct Embedded {
    volunteers: tongxin_volunteers::service::Volunteers,
    bus: tongxin_platform::events::SharedBus,
    http: std::net::SocketAddr,
    spawned: tongxin_testing::Spawned,
}

impl Embedded {
    /// Starts it knowing the units at `paths`.
    async fn start(paths: &[&str]) -> Self {
        let paths: Vec<String> = paths.iter().map(|p| (*p).to_owned()).collect();
        let module = tongxin_volunteers::VolunteersModule::new(VolunteersSettings {
            pii: PiiSettings::generate(),
            ..tongxin_volunteers::default_settings()
        });
        let spawned = tongxin_testing::spawn()
            .store(tongxin_testing::Store::Sqlite)
            .service(module)
            .after(tongxin_volunteers::NAME, |started| async move {
                let volunteers: &tongxin_volunteers::service::Volunteers =
                    started.state(tongxin_volunteers::NAME).expect("volunteers");
                for path in &paths {
                    volunteers
                        .remember_unit(units::id(path), path)
                        .await
                        .expect("unit");
                }
                Ok(())
            })
            .start()
            .await;
        Self {
            volunteers: spawned
                .state::<tongxin_volunteers::service::Volunteers>(tongxin_volunteers::NAME)
                .clone(),
            bus: spawned.bus.clone(),
            http: spawned.service(tongxin_volunteers::NAME).http_addr(),
            spawned,
        }
    }

    async fn stop(self) {
        self.spawned.stop().await;
    }
}

/// A staff principal of the unit at `path`.
fn staff_of(path: &str) -> Principal {
    Principal {
        subject: format!("staff-{path}"),
        roles: vec![Role::Staff],
        unit: Some(units::id(path)),
        district: Some("rc".to_owned()),
        credential: None,
    }
}

/// Registration input for the `seq`th test volunteer at `path`.
fn newcomer(seq: u32, path: &str) -> NewVolunteer {
    NewVolunteer {
        name: "李四".to_owned(),
        id_card_number: id_card(&format!("50015319900307{:03}", 500 + seq)),
        phone: format!("1391234{seq:04}"),
        home_unit_id: units::id(path),
        home_unit_path: path.to_owned(),
        lat: 29.4,
        lon: 105.59,
        skills: vec![],
        availability: String::new(),
        consent: true,
        guardian_consent: None,
    }
}

#[tokio::test]
async fn ledger_credits_and_rankings_work_on_sqlite_with_the_memory_bus() {
    let embedded = Embedded::start(&[units::HONGQIAO]).await;
    let (volunteers, bus, http, keys) = (
        embedded.volunteers.clone(),
        embedded.bus.clone(),
        embedded.http,
        embedded.spawned.keys(),
    );

    let staff = Principal {
        subject: "staff".to_owned(),
        ..staff_of(units::HONGQIAO)
    };
    let mut ids = Vec::new();
    for seq in 0..2u32 {
        let view = volunteers
            .register(&staff, newcomer(seq, units::HONGQIAO))
            .await
            .expect("register");
        ids.push(view.id().0);
    }
    let manual = |hours: f64| NewHours {
        volunteer_id: ids[0],
        source: "manual".to_owned(),
        source_id: None,
        hours,
        service_date: NaiveDate::from_ymd_opt(2026, 10, 1).expect("date"),
        place: "虹桥".to_owned(),
        content: "助老".to_owned(),
        evaluation: None,
    };
    let entry = volunteers
        .record_hours(&staff, manual(20.0))
        .await
        .expect("record");
    // The same answers as on PostgreSQL: over 24 hours in a day is bad input, a second
    // approval of one entry a conflict.
    let code = |err: tongxin_volunteers::error::VolunteersError| {
        tongxin_platform::ApiError::from(err).code
    };
    let over = volunteers
        .record_hours(&staff, manual(5.0))
        .await
        .expect_err("over 24 hours in a day");
    assert_eq!(code(over), ErrorCode::BadUserInput);
    volunteers
        .approve_hours(&staff, entry.id)
        .await
        .expect("approve");
    let twice = volunteers
        .approve_hours(&staff, entry.id)
        .await
        .expect_err("approved twice");
    assert_eq!(code(twice), ErrorCode::Conflict);

    // An order credit for the other volunteer, delivered twice through the in-process bus.
    let body = pb_events::OrderChanged {
        order_id: Uuid::now_v7().to_string(),
        // Held by the volunteer's own unit, whose scope covers them: approved at once.
        holding_unit_path: units::HONGQIAO.to_owned(),
        hours: vec![pb_events::VolunteerHours {
            volunteer_id: ids[1].to_string(),
            hours: 30.0 / 4.0,
        }],
        occurred_at_ms: 1_793_000_000_000,
        ..Default::default()
    }
    .encode_to_vec();
    let event = Event {
        id: Uuid::now_v7(),
        subject: "tongxin.orders.order_completed".to_owned(),
        ce_type: "tongxin.orders.order_completed".to_owned(),
        source: "tests".to_owned(),
        time: chrono::Utc::now(),
        traceparent: None,
        payload: body.into(),
    };
    // Then an event the crediting consumer ignores but records: the consumer takes its
    // queue in order, so once that one is recorded both deliveries above were handled.
    let marker = Event {
        id: Uuid::now_v7(),
        subject: "tongxin.orders.order_placed".to_owned(),
        ce_type: "tongxin.orders.order_placed".to_owned(),
        ..event.clone()
    };
    for r in bus
        .publish_batch(&[event.clone(), event, marker.clone()])
        .await
    {
        r.expect("published");
    }
    let handled = tongxin_testing::wait_until(Duration::from_secs(10), || async {
        use sea_orm::EntityTrait;
        use tongxin_platform::events::consumer::processed;
        processed::Entity::find_by_id((
            tongxin_volunteers::events::consumers::ledger::ORDERS_CONSUMER.to_owned(),
            marker.id,
        ))
        .one(volunteers.db())
        .await
        .expect("processed")
        .is_some()
    })
    .await;
    assert!(handled, "the deliveries were not handled");
    let totals = volunteers.totals_of(&[ids[1]]).await.expect("totals");
    assert_eq!(
        totals.first().map(|(_, t)| t.approved),
        Some(7.5),
        "credited once"
    );

    let token = keys
        .sign(&TokenRequest {
            subject: "staff",
            roles: &[Role::Staff],
            unit: Some(units::id(units::HONGQIAO)),
            district: Some("rc"),
            issuer: "tongxin",
            audience: "tongxin",
            ttl: Duration::from_secs(600),
        })
        .expect("sign");
    let r = tongxin_testing::graphql(
        &format!("http://{http}/graphql"),
        Some(&token),
        r#"query($id: ID!) { serviceRankings(scope: UNIT, id: $id, quarter: "2026Q4") { edges { node { rank total volunteer { id hours { approved } } } } } }"#,
        json!({ "id": units::id(units::HONGQIAO).to_string() }),
    )
    .await;
    assert_eq!(
        r["data"]["serviceRankings"]["edges"],
        json!([
            { "node": { "rank": 1, "total": 20.0, "volunteer": { "id": ids[0].to_string(), "hours": { "approved": 20.0 } } } },
            { "node": { "rank": 2, "total": 7.5, "volunteer": { "id": ids[1].to_string(), "hours": { "approved": 7.5 } } } },
        ]),
        "{r}"
    );

    // The register of issued proofs: the same page twice keeps one code, which verifies.
    let page = || async {
        reqwest::Client::new()
            .get(format!(
                "http://{http}/volunteers/{}/record?from=2026-10-01&to=2026-10-31",
                ids[0]
            ))
            .bearer_auth(&token)
            .send()
            .await
            .expect("send")
            .text()
            .await
            .expect("body")
    };
    let code = |page: &str| {
        page.split("class=\"code\">")
            .nth(1)
            .and_then(|rest| rest.split('<').next())
            .expect("a verification code")
            .to_owned()
    };
    let first = code(&page().await);
    assert_eq!(code(&page().await), first);
    let r = tongxin_testing::graphql(
        &format!("http://{http}/graphql"),
        None,
        r#"query($code: String!) { verifyServiceRecord(code: $code) { nameMasked hours } }"#,
        json!({ "code": first }),
    )
    .await;
    assert_eq!(
        r["data"]["verifyServiceRecord"],
        json!({ "nameMasked": "李**", "hours": 20.0 }),
        "{r}"
    );
    let r = tongxin_testing::graphql(
        &format!("http://{http}/graphql"),
        Some(&token),
        "{ deletionRequests { edges { node { id } } } }",
        json!({}),
    )
    .await;
    assert_eq!(r["data"]["deletionRequests"]["edges"], json!([]), "{r}");
    embedded.stop().await;
}

#[tokio::test]
async fn a_unit_move_takes_volunteers_and_teams_along_on_sqlite() {
    const CAIJIABA: &str = "/rc/changyuan/hongqiao/caijiaba";
    const MOVED: &str = "/rc/fenggao/hongqiao";
    let embedded =
        Embedded::start(&[units::CHANGYUAN, units::HONGQIAO, CAIJIABA, units::FENGGAO]).await;
    let volunteers = &embedded.volunteers;
    let staff = staff_of(units::CHANGYUAN);
    let mut ids = Vec::new();
    for (seq, path) in [(0, units::HONGQIAO), (1, CAIJIABA), (2, units::CHANGYUAN)] {
        let view = volunteers
            .register(&staff, newcomer(seq, path))
            .await
            .expect("register");
        ids.push(view.id().0);
    }
    let team = volunteers
        .create_team(
            &staff,
            NewTeam {
                name: "虹桥小队".to_owned(),
                level: TeamLevel::Squad,
                unit_id: units::id(units::HONGQIAO),
                parent_id: None,
            },
        )
        .await
        .expect("team");

    let body = pb_events::UnitUpdated {
        unit: Some(tongxin_proto::venues::OrgUnit {
            id: units::id(units::HONGQIAO).to_string(),
            path: MOVED.to_owned(),
            ..Default::default()
        }),
        actor: "venues".to_owned(),
        change: "moved".to_owned(),
        old_path: units::HONGQIAO.to_owned(),
    }
    .encode_to_vec();
    let event = Event {
        id: Uuid::now_v7(),
        subject: "tongxin.venues.unit_updated".to_owned(),
        ce_type: "tongxin.venues.unit_updated".to_owned(),
        source: "tongxin/venues".to_owned(),
        time: chrono::Utc::now(),
        traceparent: None,
        payload: body.into(),
    };
    for r in embedded.bus.publish_batch(&[event]).await {
        r.expect("published");
    }
    let homes = || async {
        let mut paths = Vec::new();
        for id in &ids {
            let row = tongxin_volunteers::store::volunteers::get(volunteers.db(), *id)
                .await
                .expect("read")
                .expect("row");
            paths.push(row.home_unit_path);
        }
        paths
    };
    let moved = tongxin_testing::wait_until(Duration::from_secs(10), || async {
        homes().await[0] == MOVED
    })
    .await;
    assert!(moved, "the move was not applied: {:?}", homes().await);
    // In the same transaction: the subtree below, not the unit beside it, and the team.
    assert_eq!(
        homes().await,
        [
            MOVED.to_owned(),
            format!("{MOVED}/caijiaba"),
            units::CHANGYUAN.to_owned()
        ]
    );
    let team = volunteers.team(team.id).await.expect("read").expect("team");
    assert_eq!(team.unit_path, MOVED);
    embedded.stop().await;
}
