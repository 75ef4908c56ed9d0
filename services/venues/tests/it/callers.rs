//! Who calls venues over gRPC: only a credential the service verifies says so. The
//! `x-tongxin-principal` entry another caller could write grants nothing (issue 13, item 1);
//! health stays open for probes.

use serde_json::json;
use tongxin_platform::auth::{Credential, Principal, Role};
use tongxin_platform::error::grpc_reason;
use tongxin_platform::grpc::request_as;
use tongxin_proto::venues as pb;
use tongxin_proto::venues::org_service_client::OrgServiceClient;
use tongxin_testing::forged_request;
use tongxin_venues::demo::{self, paths};
use tonic::transport::Channel;

use super::TestApp;

fn admin() -> Principal {
    Principal {
        subject: "forger".to_owned(),
        roles: vec![Role::Admin, Role::Staff],
        unit: Some(demo::unit_id(paths::CENTER).0),
        district: Some("rc".to_owned()),
        credential: None,
    }
}

/// `message` with `credential` and a forged principal claiming admin.
fn forged<T>(message: T, credential: Option<&Credential>) -> tonic::Request<T> {
    forged_request(message, credential, &admin())
}

fn new_station() -> pb::CreateUnitRequest {
    pb::CreateUnitRequest {
        kind: pb::UnitKind::Station as i32,
        name: "伪造站(合成)".to_owned(),
        code: "forged".to_owned(),
        parent_id: Some(demo::unit_id(paths::CHANGYUAN).0.to_string()),
        location: Some(pb::Location {
            lat: 29.40,
            lon: 105.59,
        }),
    }
}

fn center() -> pb::GetUnitRequest {
    pb::GetUnitRequest {
        id: demo::unit_id(paths::CENTER).0.to_string(),
    }
}

async fn client(app: &TestApp) -> OrgServiceClient<Channel> {
    OrgServiceClient::connect(format!("http://{}", app.grpc))
        .await
        .expect("connect")
}

#[tokio::test]
async fn a_forged_admin_principal_without_a_token_is_refused() {
    let app = TestApp::spawn().await;
    let units = app.unit_count().await;
    let mut client = client(&app).await;

    let created = client
        .create_unit(forged(new_station(), None))
        .await
        .expect_err("a forged admin creates nothing");
    let read = client
        .get_unit(forged(center(), None))
        .await
        .expect_err("no credential, no answer");
    for status in [created, read] {
        assert_eq!(status.code(), tonic::Code::Unauthenticated, "{status:?}");
        assert_eq!(grpc_reason(&status).as_deref(), Some("UNAUTHENTICATED"));
    }

    // A citizen's token with the forged admin beside it acts as the citizen.
    let citizen = app.credential(&Principal {
        subject: "mallory".to_owned(),
        roles: vec![Role::Citizen],
        unit: None,
        district: Some("rc".to_owned()),
        credential: None,
    });
    let status = client
        .create_unit(forged(new_station(), Some(&citizen)))
        .await
        .expect_err("a citizen creates no unit");
    assert_eq!(status.code(), tonic::Code::PermissionDenied, "{status:?}");
    assert_eq!(app.unit_count().await, units, "nothing written");
    app.stop().await;
}

#[tokio::test]
async fn a_service_token_reads_the_tree_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let units = app.unit_count().await;
    let mut client = client(&app).await;
    let service = app.service_credential();

    let unit = client
        .get_unit(request_as(center(), Some(&service)))
        .await
        .expect("routing lookups work with a service token")
        .into_inner();
    assert_eq!(unit.path, paths::CENTER);
    let chain = client
        .ancestors(request_as(
            pb::AncestorsRequest {
                id: demo::unit_id(paths::YEHEWAN).0.to_string(),
            },
            Some(&service),
        ))
        .await
        .expect("ancestors")
        .into_inner();
    assert_eq!(
        chain.units.last().map(|u| u.path.as_str()),
        Some(paths::CENTER)
    );

    let status = client
        .create_unit(request_as(new_station(), Some(&service)))
        .await
        .expect_err("a service is no staff");
    assert_eq!(status.code(), tonic::Code::PermissionDenied, "{status:?}");
    assert_eq!(app.unit_count().await, units);

    // Nor is it a user: the subgraph (the gateway's audience) refuses it.
    let r = app
        .graphql(Some(service.token()), "{ __typename }", json!({}))
        .await;
    assert_eq!(
        tongxin_testing::error_code(&r),
        Some("UNAUTHENTICATED"),
        "{r}"
    );
    app.stop().await;
}

#[tokio::test]
async fn grpc_health_answers_without_a_token() {
    use tonic_health::pb::HealthCheckRequest;
    use tonic_health::pb::health_check_response::ServingStatus;
    use tonic_health::pb::health_client::HealthClient;

    let app = TestApp::spawn().await;
    let channel = tonic::transport::Endpoint::from_shared(format!("http://{}", app.grpc))
        .expect("url")
        .connect()
        .await
        .expect("connect");
    let mut health = HealthClient::new(channel);
    for service in ["", "tongxin.venues.v1.OrgService"] {
        let answer = health
            .check(HealthCheckRequest {
                service: service.to_owned(),
            })
            .await
            .unwrap_or_else(|e| panic!("health of {service:?}: {e:?}"))
            .into_inner();
        assert_eq!(answer.status, ServingStatus::Serving as i32, "{service:?}");
    }
    app.stop().await;
}
