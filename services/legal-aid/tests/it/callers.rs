//! Who calls legal aid over gRPC: only a credential the service verifies says so, as for
//! venues, volunteers and orders. The `x-tongxin-principal` entry another caller could write
//! grants nothing: without a valid credential every call is UNAUTHENTICATED with the
//! reason, and not one statement reaches the database (the proxy in front of it logs each).

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;
use tongxin_platform::auth::{Credential, DevKeys, Principal, ServiceTokens, TokenRequest};
use tongxin_platform::error::grpc_reason;
use tongxin_proto::legalaid as pb;
use tongxin_proto::legalaid::legal_aid_service_client::LegalAidServiceClient;
use tongxin_testing::dbproxy::DbProxy;
use tongxin_testing::forged_request;
use tonic::transport::Channel;

use super::*;

/// The district admin a forger claims to be.
fn admin() -> Principal {
    Principal {
        subject: "forger".to_owned(),
        roles: vec![Role::Staff, Role::Admin],
        unit: Some(unit_id(units::ROOT)),
        district: Some("rc".to_owned()),
        credential: None,
    }
}

/// `message` with `credential` and a forged principal claiming the district admin.
fn forged<T>(message: T, credential: Option<&Credential>) -> tonic::Request<T> {
    forged_request(message, credential, &admin())
}

fn assert_unauthenticated(status: &tonic::Status, reason: &str) {
    assert_eq!(status.code(), tonic::Code::Unauthenticated, "{status:?}");
    assert_eq!(grpc_reason(status).as_deref(), Some("UNAUTHENTICATED"));
    assert!(
        status.message().contains(reason),
        "the message says why ({reason}): {}",
        status.message()
    );
}

/// Statements a request sent: not the outbox relay's polls, not transaction brackets.
fn the_requests(sql: &str) -> bool {
    !sql.contains("outbox") && !matches!(sql.trim(), "BEGIN" | "COMMIT" | "ROLLBACK")
}

/// Waits until nothing but relay polls has reached `proxy` for 300 ms, so what follows
/// sees only its own statements.
async fn quiet(proxy: &DbProxy) {
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut seen = proxy.statements().len();
    let mut still_since = Instant::now();
    while still_since.elapsed() < Duration::from_millis(300) {
        assert!(Instant::now() < deadline, "the database never went quiet");
        tokio::time::sleep(Duration::from_millis(50)).await;
        let now = proxy.statements();
        if now[seen..].iter().any(|s| the_requests(s)) {
            still_since = Instant::now();
        }
        seen = now.len();
    }
}

/// What the requests since `from` sent to the database.
fn read_since(proxy: &DbProxy, from: usize) -> Vec<Arc<str>> {
    proxy.statements()[from..]
        .iter()
        .filter(|s| the_requests(s))
        .cloned()
        .collect()
}

/// A station with a Wednesday lawyer and one booked appointment: (station, appointment).
async fn booked(app: &TestApp) -> (String, String) {
    let (station, _, lawyer, _) = app.park_station().await;
    app.rule(
        &station,
        "WEDNESDAY",
        "09:00",
        "12:00",
        "CONSULTATION",
        &[&lawyer],
    )
    .await;
    let r = app
        .book(
            &app.citizen("alice"),
            json!({ "stationId": station, "service": "CONSULTATION",
                    "startsAt": "2026-09-30T01:00:00Z", "topic": "工伤认定" }),
        )
        .await;
    let id = r["data"]["bookAppointment"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{r}"))
        .to_owned();
    (station, id)
}

/// The three calls of the service with `credential` beside the forged admin: each is
/// refused with `reason`, and nothing reached the database.
async fn refused_without_reading(
    app: &TestApp,
    client: &mut LegalAidServiceClient<Channel>,
    credential: Option<&Credential>,
    reason: &str,
    station: &str,
    appointment: &str,
) {
    let proxy = app.proxy();
    quiet(proxy).await;
    let from = proxy.statements().len();
    let refused = [
        client
            .get_station(forged(
                pb::GetStationRequest {
                    id: station.to_owned(),
                },
                credential,
            ))
            .await
            .expect_err("get station"),
        client
            .available_slots(forged(
                pb::AvailableSlotsRequest {
                    station_id: station.to_owned(),
                    service: pb::LegalService::Consultation as i32,
                    from_ms: monday_morning().timestamp_millis(),
                    to_ms: (monday_morning() + chrono::Duration::days(7)).timestamp_millis(),
                },
                credential,
            ))
            .await
            .expect_err("available slots"),
        client
            .get_appointment(forged(
                pb::GetAppointmentRequest {
                    id: appointment.to_owned(),
                },
                credential,
            ))
            .await
            .expect_err("get appointment"),
    ];
    let read = read_since(proxy, from);
    assert!(read.is_empty(), "{reason}: refused calls read {read:?}");
    for status in &refused {
        assert_unauthenticated(status, reason);
    }
}

#[tokio::test]
async fn forged_credentials_are_refused_with_the_reason_and_nothing_is_read() {
    let app = TestApp::spawn_behind_proxy().await;
    let (station, appointment) = booked(&app).await;
    let mut client = LegalAidServiceClient::connect(format!("http://{}", app.grpc_addr()))
        .await
        .expect("connect");
    let other_dir = tempfile::tempdir().expect("tempdir");
    let other_keys = DevKeys::load_or_generate(other_dir.path()).expect("keys");
    // The admin's claims signed with a key the district's JWKS does not hold.
    let foreign_user = other_keys
        .sign(&TokenRequest {
            subject: "forger",
            roles: &[Role::Staff, Role::Admin],
            unit: Some(unit_id(units::ROOT)),
            district: Some("rc"),
            issuer: "tongxin",
            audience: "tongxin",
            ttl: std::time::Duration::from_secs(600),
        })
        .expect("sign");
    // A service token, well formed, signed with that other key.
    let foreign_service =
        ServiceTokens::new(other_keys.signing_key(), "orders", "tongxin", "tongxin")
            .credential()
            .expect("service token");
    let expired = app.spawned.token_with(|c| {
        c.roles = vec!["admin".to_owned()];
        c.iat -= 7200;
        c.exp = c.iat + 3600;
    });
    let elsewhere = app
        .spawned
        .token_with(|c| c.aud = "another-system".to_owned());

    for (credential, reason) in [
        (None, "no credential"),
        (Some(Credential::new("not-a-token")), "malformed"),
        (
            Some(Credential::new(foreign_user)),
            "not signed by a key of the JWKS",
        ),
        (Some(foreign_service), "not signed by a key of the JWKS"),
        (Some(Credential::new(expired)), "expired"),
        (Some(Credential::new(elsewhere)), "audience"),
    ] {
        refused_without_reading(
            &app,
            &mut client,
            credential.as_ref(),
            reason,
            &station,
            &appointment,
        )
        .await;
    }

    // The proxy does see reads: the same call with Alice's real token (and the forged
    // admin beside it) reads her appointment, as Alice.
    let alice = app.spawned.credential(&Principal {
        subject: "alice".to_owned(),
        roles: vec![Role::Citizen],
        unit: None,
        district: Some("rc".to_owned()),
        credential: None,
    });
    quiet(app.proxy()).await;
    let from = app.proxy().statements().len();
    let seen = client
        .get_appointment(forged(
            pb::GetAppointmentRequest {
                id: appointment.clone(),
            },
            Some(&alice),
        ))
        .await
        .expect("her own appointment")
        .into_inner();
    assert_eq!(seen.status, pb::AppointmentStatus::Booked as i32);
    assert!(
        !read_since(app.proxy(), from).is_empty(),
        "a real call reads"
    );

    // Mallory's real token with the forged admin beside it acts as Mallory: not hers.
    let mallory = app.spawned.credential(&Principal {
        subject: "mallory".to_owned(),
        roles: vec![Role::Citizen],
        unit: None,
        district: Some("rc".to_owned()),
        credential: None,
    });
    let status = client
        .get_appointment(forged(
            pb::GetAppointmentRequest { id: appointment },
            Some(&mallory),
        ))
        .await
        .expect_err("not her appointment");
    assert_eq!(status.code(), tonic::Code::NotFound, "{status:?}");
}
