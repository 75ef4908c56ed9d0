//! Registration, masking by scope, duplicates, bad input, events, gRPC.

use std::time::Duration;

use futures::StreamExt;
use prost::Message;
use sea_orm::{ConnectionTrait, DbBackend, Statement};
use serde_json::json;
use tongxin_platform::auth::{Principal, Role};
use tongxin_proto::volunteers as pb;
use tongxin_proto::volunteers::volunteer_service_client::VolunteerServiceClient;

use crate::ledger::count;
use crate::vsupport::wait_settled;
use crate::{REGISTER, TestApp, error_code, id_card, input, units};

const ID1: &str = "50015319900307123";
const PHONE: &str = "13812345678";

#[tokio::test]
async fn registration_encrypts_at_rest_and_publishes_without_pii() {
    let app = TestApp::spawn().await;
    let mut events = app
        .nats
        .client()
        .await
        .subscribe("tongxin.volunteers.volunteer_registered")
        .await
        .expect("subscribe");
    let id = id_card(ID1);
    let staff = app.staff(units::CHANGYUAN);
    let r = app
        .graphql(
            Some(&staff),
            REGISTER,
            json!({ "input": input(&id, PHONE, units::HONGQIAO) }),
        )
        .await;
    let v = &r["data"]["registerVolunteer"];
    assert!(r["errors"].is_null(), "{r}");
    assert_eq!(v["phone"], PHONE, "staff in scope see the phone");
    assert_eq!(
        v["idCardNumberMasked"],
        format!("5****************{}", &id[17..])
    );
    assert_eq!(v["skills"], json!(["legal", "elder_care"]));
    assert_eq!(v["gender"], "MALE");
    assert!(v["volunteerNo"].as_str().expect("no").starts_with("RC"));

    // Every column of every row, as text: neither the ID number nor the phone appears.
    let rows = app
        .db
        .query_all_raw(Statement::from_string(
            DbBackend::Postgres,
            "SELECT v::text AS t FROM volunteers v",
        ))
        .await
        .expect("query");
    assert_eq!(rows.len(), 1);
    let text: String = rows[0].try_get("", "t").expect("t");
    assert!(!text.contains(&id), "plain ID number at rest");
    assert!(!text.contains(&id[..17]), "plain ID digits at rest");
    assert!(!text.contains(PHONE), "plain phone at rest");
    // bytea renders as hex: nor does the hex of the ASCII ID number.
    let hex: String = id.bytes().map(|b| format!("{b:02x}")).collect();
    assert!(!text.contains(&hex), "ID number bytes at rest");

    let message = tokio::time::timeout(Duration::from_secs(10), events.next())
        .await
        .expect("in time")
        .expect("event");
    let event = tongxin_proto::events::VolunteerRegistered::decode(message.payload.clone())
        .expect("protobuf");
    assert_eq!(event.volunteer_id, v["id"].as_str().expect("id"));
    assert_eq!(event.volunteer_no, v["volunteerNo"].as_str().expect("no"));
    assert_eq!(event.home_unit_path, units::HONGQIAO);
    assert_eq!(event.home_unit_id, units::id(units::HONGQIAO).to_string());
    let raw = String::from_utf8_lossy(&message.payload);
    assert!(!raw.contains(&id) && !raw.contains(PHONE) && !raw.contains("张三"));
    app.stop().await;
}

const GET: &str =
    r#"query($id: ID!) { volunteer(id: $id) { phone phoneMasked idCardNumberMasked } }"#;

#[tokio::test]
async fn the_phone_is_masked_by_scope() {
    let app = TestApp::spawn().await;
    let id = id_card(ID1);
    let me = app.citizen("wechat:zhangsan");
    let r = app
        .graphql(
            Some(&me),
            REGISTER,
            json!({ "input": input(&id, PHONE, units::HONGQIAO) }),
        )
        .await;
    assert!(r["errors"].is_null(), "{r}");
    let vid = r["data"]["registerVolunteer"]["id"].clone();
    let masked = "138****5678";

    let cases = [
        ("anonymous", None, masked),
        ("staff outside", Some(app.staff(units::FENGGAO)), masked),
        ("another citizen", Some(app.citizen("wechat:lisi")), masked),
        ("staff of the unit", Some(app.staff(units::HONGQIAO)), PHONE),
        ("staff above", Some(app.staff(units::CHANGYUAN)), PHONE),
        ("themself", Some(me.clone()), PHONE),
    ];
    for (who, token, expected) in cases {
        let r = app
            .graphql(token.as_deref(), GET, json!({ "id": vid }))
            .await;
        let v = &r["data"]["volunteer"];
        assert_eq!(v["phone"], expected, "{who}: {r}");
        assert_eq!(v["phoneMasked"], expected == masked, "{who}");
        assert_eq!(
            v["idCardNumberMasked"]
                .as_str()
                .expect("masked")
                .matches('*')
                .count(),
            16,
            "{who}"
        );
    }

    let mine = app
        .graphql(Some(&me), "{ myVolunteerRecord { id phone } }", json!({}))
        .await;
    assert_eq!(mine["data"]["myVolunteerRecord"]["id"], vid);
    assert_eq!(mine["data"]["myVolunteerRecord"]["phone"], PHONE);

    // Lists: staff see their scope only; others may not list.
    const LIST: &str = r#"query($p: String) { volunteers(unitPath: $p, skill: "legal") { edges { node { id phone } } } }"#;
    let inside = app
        .graphql(Some(&app.staff(units::CHANGYUAN)), LIST, json!({}))
        .await;
    assert_eq!(
        inside["data"]["volunteers"]["edges"][0]["node"]["id"], vid,
        "{inside}"
    );
    let outside = app
        .graphql(Some(&app.staff(units::FENGGAO)), LIST, json!({}))
        .await;
    assert_eq!(outside["data"]["volunteers"]["edges"], json!([]));
    let reach = app
        .graphql(
            Some(&app.staff(units::FENGGAO)),
            LIST,
            json!({ "p": units::CHANGYUAN }),
        )
        .await;
    assert_eq!(error_code(&reach), Some("FORBIDDEN"));
    let citizen = app.graphql(Some(&me), LIST, json!({})).await;
    assert_eq!(error_code(&citizen), Some("FORBIDDEN"));
    app.stop().await;
}

/// Everything personal a `Volunteer` carries besides the phone.
const PERSONAL: &str = "id volunteerNo name inScope gender location { lat lon } availability skills hasGuardianConsent consentAt registeredAt starLevel teams { edges { node { isLeader } } }";

/// Outside scope a volunteer is a masked name and a star level (with the public number and
/// the home unit): on `volunteer`, `_entities` and a team's member list alike.
#[tokio::test]
async fn personal_data_is_shown_only_within_scope() {
    let app = TestApp::spawn().await;
    let staff = app.staff(units::CHANGYUAN);
    let r = app
        .graphql(
            Some(&staff),
            REGISTER,
            json!({ "input": input(&id_card(ID1), PHONE, units::HONGQIAO) }),
        )
        .await;
    assert!(r["errors"].is_null(), "{r}");
    let vid = r["data"]["registerVolunteer"]["id"].clone();
    let team = app
        .graphql(
            Some(&staff),
            r#"mutation($input: CreateTeamInput!) { createTeam(input: $input) { id } }"#,
            json!({ "input": { "name": "虹桥小队", "level": "SQUAD", "unitId": units::id(units::HONGQIAO).to_string() } }),
        )
        .await;
    let team = team["data"]["createTeam"]["id"].clone();
    let added = app
        .graphql(
            Some(&staff),
            r#"mutation($t: ID!, $v: ID!) { addTeamMember(teamId: $t, volunteerId: $v) { id } }"#,
            json!({ "t": team, "v": vid }),
        )
        .await;
    assert!(added["errors"].is_null(), "{added}");

    let one = format!("query($id: ID!) {{ volunteer(id: $id) {{ {PERSONAL} }} }}");
    let entity = format!(
        "query($r: [_Any!]!) {{ _entities(representations: $r) {{ ... on Volunteer {{ {PERSONAL} }} }} }}"
    );
    let members = format!(
        "query($u: ID!) {{ teams(unitId: $u) {{ edges {{ node {{ members {{ edges {{ node {{ volunteer {{ {PERSONAL} }} }} }} }} }} }} }} }}"
    );
    let paths = |token: Option<String>| {
        let (one, entity, members, vid, team_unit) = (
            one.clone(),
            entity.clone(),
            members.clone(),
            vid.clone(),
            units::id(units::HONGQIAO).to_string(),
        );
        let app = &app;
        async move {
            let t = token.as_deref();
            let a = app.graphql(t, &one, json!({ "id": vid })).await;
            let b = app
                .graphql(
                    t,
                    &entity,
                    json!({ "r": [{ "__typename": "Volunteer", "id": vid }] }),
                )
                .await;
            let c = app.graphql(t, &members, json!({ "u": team_unit })).await;
            (a, b, c)
        }
    };

    for (who, token) in [
        ("anonymous", None),
        (
            "staff of another institute",
            Some(app.staff(units::FENGGAO)),
        ),
        ("a citizen", Some(app.citizen("wechat:lisi"))),
    ] {
        let (a, b, c) = paths(token).await;
        for (path, v) in [
            ("volunteer", &a["data"]["volunteer"]),
            ("_entities", &b["data"]["_entities"][0]),
        ] {
            assert_eq!(v["name"], "张*", "{who} {path}: {a} {b}");
            assert_eq!(v["inScope"], false, "{who} {path}");
            assert_eq!(v["starLevel"], 0, "{who} {path}");
            for field in [
                "gender",
                "location",
                "availability",
                "skills",
                "hasGuardianConsent",
                "consentAt",
                "registeredAt",
                "teams",
            ] {
                assert!(v[field].is_null(), "{who} {path} sees {field}: {v}");
            }
        }
        // Who belongs to a team is not theirs to see.
        assert!(c["errors"].is_null(), "{who}: {c}");
        assert!(
            c["data"]["teams"]["edges"][0]["node"]["members"].is_null(),
            "{who}: {c}"
        );
    }

    let (a, b, c) = paths(Some(staff.clone())).await;
    let member =
        &c["data"]["teams"]["edges"][0]["node"]["members"]["edges"][0]["node"]["volunteer"];
    for (path, v) in [
        ("volunteer", &a["data"]["volunteer"]),
        ("_entities", &b["data"]["_entities"][0]),
        ("members", member),
    ] {
        assert_eq!(v["name"], "张三", "{path}: {a} {b} {c}");
        assert_eq!(v["inScope"], true, "{path}");
        assert_eq!(v["gender"], "MALE", "{path}");
        assert_eq!(
            v["location"],
            json!({ "lat": 29.40, "lon": 105.59 }),
            "{path}"
        );
        assert_eq!(v["availability"], "Sat-Sun 09:00-12:00", "{path}");
        assert!(
            v["skills"].as_array().is_some_and(|s| !s.is_empty()),
            "{path}"
        );
        assert_eq!(v["teams"]["edges"][0]["node"]["isLeader"], false, "{path}");
    }
    app.stop().await;
}

#[tokio::test]
async fn a_duplicate_id_number_is_a_conflict_and_stores_nothing() {
    let app = TestApp::spawn().await;
    let staff = app.staff(units::CHANGYUAN);
    let id = id_card(ID1);
    let first = app
        .graphql(
            Some(&staff),
            REGISTER,
            json!({ "input": input(&id, PHONE, units::HONGQIAO) }),
        )
        .await;
    assert!(first["errors"].is_null(), "{first}");
    // Same number, lower-case x irrelevant here; different phone and person.
    let second = app
        .graphql(
            Some(&staff),
            REGISTER,
            json!({ "input": input(&id, "13900001111", units::CHANGYUAN) }),
        )
        .await;
    assert_eq!(error_code(&second), Some("CONFLICT"), "{second}");
    assert!(
        second["errors"][0]["message"]
            .as_str()
            .expect("msg")
            .contains("id_card_number")
    );
    assert_eq!(app.volunteer_count().await, 1);
    app.stop().await;
}

#[tokio::test]
async fn of_two_concurrent_registrations_exactly_one_wins() {
    let app = TestApp::spawn().await;
    let staff = app.staff(units::CHANGYUAN);
    let id = id_card(ID1);
    let v = json!({ "input": input(&id, PHONE, units::HONGQIAO) });
    let results =
        futures::future::join_all((0..4).map(|_| app.graphql(Some(&staff), REGISTER, v.clone())))
            .await;
    let wins = results.iter().filter(|r| r["errors"].is_null()).count();
    let conflicts = results
        .iter()
        .filter(|r| error_code(r) == Some("CONFLICT"))
        .count();
    assert_eq!((wins, conflicts), (1, 3), "{results:?}");
    assert_eq!(app.volunteer_count().await, 1);
    app.stop().await;
}

#[tokio::test]
async fn bad_input_names_the_field_and_stores_nothing() {
    let app = TestApp::spawn().await;
    let staff = app.staff(units::CHANGYUAN);
    let good = id_card(ID1);
    let mut bad_check = good.clone();
    let last = if good.ends_with('0') { "1" } else { "0" };
    bad_check.replace_range(17.., last);
    let mut elsewhere = input(&good, PHONE, units::HONGQIAO);
    elsewhere["homeUnitPath"] = json!("/rc/changyuan/nowhere");
    let cases = [
        (input(&bad_check, PHONE, units::HONGQIAO), "id_card_number"),
        (input(&good, "1381234567", units::HONGQIAO), "phone"),
        (input(&good, "23812345678", units::HONGQIAO), "phone"),
        (input(&good, PHONE, "rc/changyuan"), "home_unit_path"),
        // A well-formed path in the staff's scope that names no unit, with a made-up id.
        (input(&good, PHONE, "/rc/changyuan/nowhere"), "home_unit_id"),
        // A known unit's id with another path.
        (elsewhere, "home_unit_path"),
        (
            input(&good, PHONE, units::HONGQIAO).tap_skill("juggling"),
            "skills",
        ),
        (
            input(&good, PHONE, units::HONGQIAO).tap_consent(),
            "consent",
        ),
        (
            input(&id_card("50015320200101123"), PHONE, units::HONGQIAO),
            "guardian_consent",
        ),
    ];
    for (variables, field) in cases {
        let r = app
            .graphql(Some(&staff), REGISTER, json!({ "input": variables }))
            .await;
        assert_eq!(error_code(&r), Some("BAD_USER_INPUT"), "{field}: {r}");
        let message = r["errors"][0]["message"].as_str().expect("message");
        assert!(message.starts_with(field), "{field}: {message}");
        assert!(!message.contains(&good[..17]), "no PII echoed: {message}");
    }
    assert_eq!(app.volunteer_count().await, 0);

    // A guardian's consent makes the minor's registration acceptable.
    let mut minor = input(&id_card("50015320200101123"), PHONE, units::HONGQIAO);
    minor["guardianConsent"] = json!("父亲 张大 签字同意 2026-11-28");
    let r = app
        .graphql(Some(&staff), REGISTER, json!({ "input": minor }))
        .await;
    assert!(r["errors"].is_null(), "{r}");
    app.stop().await;
}

#[tokio::test]
async fn only_staff_in_scope_or_the_person_may_register() {
    let app = TestApp::spawn().await;
    let outside = app
        .graphql(
            Some(&app.staff(units::FENGGAO)),
            REGISTER,
            json!({ "input": input(&id_card(ID1), PHONE, units::HONGQIAO) }),
        )
        .await;
    assert_eq!(error_code(&outside), Some("FORBIDDEN"), "{outside}");
    let anonymous = app
        .graphql(
            None,
            REGISTER,
            json!({ "input": input(&id_card(ID1), PHONE, units::HONGQIAO) }),
        )
        .await;
    assert_eq!(
        error_code(&anonymous),
        Some("UNAUTHENTICATED"),
        "{anonymous}"
    );
    // The unit id and path must agree when the unit is known.
    let mut wrong = input(&id_card(ID1), PHONE, units::HONGQIAO);
    wrong["homeUnitId"] = json!(units::id(units::FENGGAO).to_string());
    let r = app
        .graphql(
            Some(&app.citizen("wechat:a")),
            REGISTER,
            json!({ "input": wrong }),
        )
        .await;
    assert_eq!(error_code(&r), Some("BAD_USER_INPUT"), "{r}");
    // One record per account.
    let me = app.citizen("wechat:b");
    let r = app
        .graphql(
            Some(&me),
            REGISTER,
            json!({ "input": input(&id_card(ID1), PHONE, units::HONGQIAO) }),
        )
        .await;
    assert!(r["errors"].is_null(), "{r}");
    let again = app
        .graphql(
            Some(&me),
            REGISTER,
            json!({ "input": input(&id_card("50015319850101234"), PHONE, units::HONGQIAO) }),
        )
        .await;
    assert_eq!(error_code(&again), Some("CONFLICT"), "{again}");
    assert_eq!(app.volunteer_count().await, 1);
    app.stop().await;
}

#[tokio::test]
async fn grpc_batch_get_masks_by_the_callers_scope() {
    let app = TestApp::spawn().await;
    let staff = app.staff(units::CHANGYUAN);
    let mut ids = Vec::new();
    for (n, first17) in ["50015319900307123", "50015319850101234"]
        .iter()
        .enumerate()
    {
        let r = app
            .graphql(
                Some(&staff),
                REGISTER,
                json!({ "input": input(&id_card(first17), &format!("1381234567{n}"), units::HONGQIAO) }),
            )
            .await;
        ids.push(
            r["data"]["registerVolunteer"]["id"]
                .as_str()
                .expect("id")
                .to_owned(),
        );
    }
    let mut client = VolunteerServiceClient::connect(format!("http://{}", app.grpc))
        .await
        .expect("connect");
    let mut asked = ids.clone();
    asked.push(uuid::Uuid::now_v7().to_string());
    let as_service = client
        .batch_get_volunteers(tongxin_platform::grpc::request_as(
            pb::BatchGetVolunteersRequest { ids: asked.clone() },
            Some(&app.service_credential()),
        ))
        .await
        .expect("batch")
        .into_inner();
    assert_eq!(as_service.volunteers.len(), 2, "unknown ids are left out");
    // A service acting on its own behalf has no scope: phones stay masked.
    assert!(
        as_service
            .volunteers
            .iter()
            .all(|v| v.phone_masked && v.phone.contains("****"))
    );
    // Outside scope the personal record is not sent either: a masked name, no location,
    // skills or availability, and the flag saying so.
    for v in &as_service.volunteers {
        assert!(v.personal_masked, "{v:?}");
        assert!(v.name.ends_with('*') && !v.name.contains("张三"), "{v:?}");
        assert_eq!((v.lat, v.lon), (0.0, 0.0), "{v:?}");
        assert!(v.skills.is_empty() && v.availability.is_empty(), "{v:?}");
    }

    let principal = Principal {
        subject: "staff".to_owned(),
        roles: vec![Role::Staff],
        unit: Some(units::id(units::HONGQIAO)),
        district: Some("rc".to_owned()),
        credential: None,
    };
    let scoped = client
        .batch_get_volunteers(tongxin_platform::grpc::request_as(
            pb::BatchGetVolunteersRequest { ids: asked },
            Some(&app.credential(&principal)),
        ))
        .await
        .expect("batch")
        .into_inner();
    assert!(
        scoped
            .volunteers
            .iter()
            .all(|v| !v.phone_masked && v.phone.len() == 11)
    );
    assert!(
        scoped
            .volunteers
            .iter()
            .all(|v| !v.personal_masked && v.lat != 0.0 && !v.skills.is_empty())
    );

    let one = client
        .get_volunteer(tongxin_platform::grpc::request_as(
            pb::GetVolunteerRequest { id: ids[0].clone() },
            Some(&app.service_credential()),
        ))
        .await
        .expect("get")
        .into_inner();
    assert_eq!(one.home_unit_path, units::HONGQIAO);
    let missing = client
        .get_volunteer(tongxin_platform::grpc::request_as(
            pb::GetVolunteerRequest {
                id: uuid::Uuid::now_v7().to_string(),
            },
            Some(&app.service_credential()),
        ))
        .await
        .expect_err("missing");
    assert_eq!(missing.code(), tonic::Code::NotFound);
    let bad = client
        .get_volunteer(tongxin_platform::grpc::request_as(
            pb::GetVolunteerRequest {
                id: "nope".to_owned(),
            },
            Some(&app.service_credential()),
        ))
        .await
        .expect_err("bad");
    assert_eq!(bad.code(), tonic::Code::InvalidArgument);
    app.stop().await;
}

trait Tap {
    fn tap_skill(self, skill: &str) -> Self;
    fn tap_consent(self) -> Self;
}

impl Tap for serde_json::Value {
    fn tap_skill(mut self, skill: &str) -> Self {
        self["skills"] = json!([skill]);
        self
    }
    fn tap_consent(mut self) -> Self {
        self["consent"] = json!(false);
        self
    }
}

#[tokio::test]
async fn staff_scopes_follow_the_venues_unit_events() {
    let app = TestApp::spawn().await;
    let unit = uuid::Uuid::now_v7();
    let staff = app.sign_staff_of(unit);
    let before = app
        .graphql(
            Some(&staff),
            "{ volunteers { edges { node { id } } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        error_code(&before),
        Some("FORBIDDEN"),
        "unknown unit: no scope"
    );
    let known_before = count(&app, "SELECT COUNT(*) AS n FROM known_units").await;

    // venues announces the unit (delivered over NATS like any venues event).
    let body = tongxin_proto::events::UnitCreated {
        unit: Some(tongxin_proto::venues::OrgUnit {
            id: unit.to_string(),
            path: "/rc/zhisheng".to_owned(),
            ..Default::default()
        }),
        actor: "venues".to_owned(),
    }
    .encode_to_vec();
    // Announced twice, as two events (a second event id, so the processed-events table
    // does not drop it): both must apply, and the upsert leaves one known unit.
    let mut announced = Vec::new();
    for _ in 0..2 {
        let event = tongxin_platform::events::outbox::enqueue(
            &app.db,
            "tongxin.venues.unit_created",
            "tongxin/venues",
            body.clone(),
        )
        .await
        .expect("enqueue");
        announced.push(event.id);
    }
    assert_eq!(
        wait_settled(&app, tongxin_volunteers::events::UNITS_CONSUMER, &announced).await,
        (2, 0),
        "both announcements applied, none parked"
    );
    assert_eq!(
        count(&app, "SELECT COUNT(*) AS n FROM known_units").await,
        known_before + 1,
        "one known unit more"
    );
    assert_eq!(
        count(
            &app,
            &format!(
                "SELECT COUNT(*) AS n FROM known_units WHERE id = '{unit}' AND path = '/rc/zhisheng'"
            ),
        )
        .await,
        1
    );
    let r = app
        .graphql(
            Some(&staff),
            "{ volunteers { edges { node { id } } } }",
            json!({}),
        )
        .await;
    assert!(r["errors"].is_null(), "the staff scope is known: {r}");
    app.stop().await;
}

#[tokio::test]
async fn grpc_finds_an_accounts_own_record_and_a_team() {
    let app = TestApp::spawn().await;
    let r = app
        .graphql(
            Some(&app.citizen("wechat:me")),
            REGISTER,
            json!({ "input": input(&id_card(ID1), PHONE, units::HONGQIAO) }),
        )
        .await;
    let id = r["data"]["registerVolunteer"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{r}"))
        .to_owned();
    let mut client = VolunteerServiceClient::connect(format!("http://{}", app.grpc))
        .await
        .expect("connect");
    let person = |subject: &str, roles: &[Role]| Principal {
        subject: subject.to_owned(),
        roles: roles.to_vec(),
        unit: None,
        district: Some("rc".to_owned()),
        credential: None,
    };
    let by_subject = |subject: &str| pb::GetVolunteerBySubjectRequest {
        subject: subject.to_owned(),
    };
    let call = |p: Option<Principal>, subject: &str| {
        let mut client = client.clone();
        let request = tongxin_platform::grpc::request_as(
            by_subject(subject),
            p.map(|p| app.credential(&p)).as_ref(),
        );
        async move { client.get_volunteer_by_subject(request).await }
    };

    // The account itself (as a volunteer or a citizen) gets its record, phone in full.
    for roles in [&[Role::Volunteer][..], &[Role::Citizen][..]] {
        let mine = call(Some(person("wechat:me", roles)), "wechat:me")
            .await
            .expect("own record")
            .into_inner();
        assert_eq!(mine.id, id);
        assert_eq!(mine.phone, PHONE);
        assert_eq!(mine.status, "active");
    }
    // Nobody else may ask about it; an account without a record is NOT_FOUND; no principal
    // is UNAUTHENTICATED.
    let other = call(
        Some(person("wechat:other", &[Role::Volunteer])),
        "wechat:me",
    )
    .await
    .expect_err("someone else");
    assert_eq!(other.code(), tonic::Code::PermissionDenied);
    let none = call(
        Some(person("wechat:other", &[Role::Volunteer])),
        "wechat:other",
    )
    .await
    .expect_err("no record");
    assert_eq!(none.code(), tonic::Code::NotFound);
    let anonymous = call(None, "wechat:me").await.expect_err("anonymous");
    assert_eq!(anonymous.code(), tonic::Code::Unauthenticated);

    // Teams by id.
    let r = app
        .graphql(
            Some(&app.staff(units::HONGQIAO)),
            r#"mutation($input: CreateTeamInput!) { createTeam(input: $input) { id } }"#,
            json!({ "input": { "name": "虹桥小队", "level": "SQUAD", "unitId": units::id(units::HONGQIAO).to_string() } }),
        )
        .await;
    let team_id = r["data"]["createTeam"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{r}"))
        .to_owned();
    let team = client
        .get_team(tongxin_platform::grpc::request_as(
            pb::GetTeamRequest {
                id: team_id.clone(),
            },
            Some(&app.service_credential()),
        ))
        .await
        .expect("team")
        .into_inner();
    assert_eq!(
        (team.id.as_str(), team.name.as_str(), team.level.as_str()),
        (team_id.as_str(), "虹桥小队", "squad")
    );
    assert_eq!(team.unit_path, units::HONGQIAO);
    assert_eq!(team.parent_id, None);
    let missing = client
        .get_team(tongxin_platform::grpc::request_as(
            pb::GetTeamRequest {
                id: uuid::Uuid::now_v7().to_string(),
            },
            Some(&app.service_credential()),
        ))
        .await
        .expect_err("missing");
    assert_eq!(missing.code(), tonic::Code::NotFound);
    let bad = client
        .get_team(tongxin_platform::grpc::request_as(
            pb::GetTeamRequest { id: "nope".into() },
            Some(&app.service_credential()),
        ))
        .await
        .expect_err("bad");
    assert_eq!(bad.code(), tonic::Code::InvalidArgument);
    app.stop().await;
}

/// (id, home unit path, phone masked) of every volunteer in `staff`'s scope, by id.
async fn in_scope(app: &TestApp, staff: &str) -> Vec<(String, String, bool)> {
    let r = app
        .graphql(
            Some(staff),
            "{ volunteers { edges { node { id homeUnitPath phoneMasked } } } }",
            json!({}),
        )
        .await;
    let mut seen: Vec<_> = r["data"]["volunteers"]["edges"]
        .as_array()
        .unwrap_or_else(|| panic!("{r}"))
        .iter()
        .map(|e| {
            let n = &e["node"];
            (
                n["id"].as_str().expect("id").to_owned(),
                n["homeUnitPath"].as_str().expect("path").to_owned(),
                n["phoneMasked"].as_bool().expect("masked"),
            )
        })
        .collect();
    seen.sort();
    seen
}

#[tokio::test]
async fn a_moved_unit_takes_its_volunteers_and_teams_into_the_new_ancestors_scope() {
    const CAIJIABA: &str = "/rc/changyuan/hongqiao/caijiaba";
    const MOVED: &str = "/rc/fenggao/hongqiao";
    let app = TestApp::spawn().await;
    app.volunteers
        .remember_unit(units::id(CAIJIABA), CAIJIABA)
        .await
        .expect("unit");
    let changyuan = app.staff(units::CHANGYUAN);
    let fenggao = app.staff(units::FENGGAO);
    let at_hongqiao = crate::ledger::register(&app, None, 1, units::HONGQIAO).await;
    let at_caijiaba = crate::ledger::register(&app, None, 2, CAIJIABA).await;
    let stays = crate::ledger::register(&app, None, 3, units::CHANGYUAN).await;
    let team = app
        .graphql(
            Some(&changyuan),
            r#"mutation($input: CreateTeamInput!) { createTeam(input: $input) { id } }"#,
            json!({ "input": { "name": "虹桥小队", "level": "SQUAD", "unitId": units::id(units::HONGQIAO).to_string() } }),
        )
        .await;
    let team = team["data"]["createTeam"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{team}"))
        .to_owned();
    let sorted = |mut v: Vec<(String, String, bool)>| {
        v.sort();
        v
    };
    assert_eq!(
        in_scope(&app, &changyuan).await,
        sorted(vec![
            (at_hongqiao.clone(), units::HONGQIAO.to_owned(), false),
            (at_caijiaba.clone(), CAIJIABA.to_owned(), false),
            (stays.clone(), units::CHANGYUAN.to_owned(), false),
        ])
    );
    assert_eq!(in_scope(&app, &fenggao).await, vec![]);

    // venues moves 虹桥 (and 蔡家坝 below it) from 昌元 to 峰高.
    let moved = tongxin_proto::events::UnitUpdated {
        unit: Some(tongxin_proto::venues::OrgUnit {
            id: units::id(units::HONGQIAO).to_string(),
            path: MOVED.to_owned(),
            name: "虹桥社区".to_owned(),
            ..Default::default()
        }),
        actor: "venues".to_owned(),
        change: "moved".to_owned(),
        old_path: units::HONGQIAO.to_owned(),
    }
    .encode_to_vec();
    let event = tongxin_platform::events::outbox::enqueue(
        &app.db,
        "tongxin.venues.unit_updated",
        "tongxin/venues",
        moved,
    )
    .await
    .expect("enqueue");
    assert_eq!(
        wait_settled(
            &app,
            tongxin_volunteers::events::UNITS_CONSUMER,
            &[event.id]
        )
        .await,
        (1, 0)
    );

    // The old ancestor keeps only what did not move; the new one sees the moved subtree's
    // volunteers in full, at their new paths.
    assert_eq!(
        in_scope(&app, &changyuan).await,
        vec![(stays.clone(), units::CHANGYUAN.to_owned(), false)]
    );
    assert_eq!(
        in_scope(&app, &fenggao).await,
        sorted(vec![
            (at_hongqiao.clone(), MOVED.to_owned(), false),
            (at_caijiaba.clone(), format!("{MOVED}/caijiaba"), false),
        ])
    );
    // Staff of the moved unit itself (same unit id, new path) still see their own.
    assert_eq!(
        in_scope(&app, &app.staff(units::HONGQIAO)).await,
        in_scope(&app, &fenggao).await
    );
    let seen_by_old = app
        .graphql(
            Some(&changyuan),
            r#"query($id: ID!) { volunteer(id: $id) { phoneMasked } }"#,
            json!({ "id": at_hongqiao }),
        )
        .await;
    assert_eq!(
        seen_by_old["data"]["volunteer"]["phoneMasked"], true,
        "{seen_by_old}"
    );
    let hours = crate::ledger::hours(&at_hongqiao, 2.0, "2026-11-02");
    let by_old = app
        .graphql(Some(&changyuan), crate::ledger::RECORD, hours.clone())
        .await;
    assert_eq!(error_code(&by_old), Some("FORBIDDEN"), "{by_old}");
    let recorded = app
        .graphql(Some(&fenggao), crate::ledger::RECORD, hours)
        .await;
    assert!(recorded["errors"].is_null(), "{recorded}");

    // The team went with its unit.
    const ADD: &str =
        r#"mutation($t: ID!, $v: ID!) { addTeamMember(teamId: $t, volunteerId: $v) { unitPath } }"#;
    let by_old = app
        .graphql(
            Some(&changyuan),
            ADD,
            json!({ "t": team, "v": at_hongqiao }),
        )
        .await;
    assert_eq!(error_code(&by_old), Some("FORBIDDEN"), "{by_old}");
    let by_new = app
        .graphql(Some(&fenggao), ADD, json!({ "t": team, "v": at_hongqiao }))
        .await;
    assert_eq!(
        by_new["data"]["addTeamMember"]["unitPath"], MOVED,
        "{by_new}"
    );
    app.stop().await;
}
