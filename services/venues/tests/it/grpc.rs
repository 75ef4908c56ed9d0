//! The org tree over gRPC, as another service calls it.

use tongxin_platform::auth::{Principal, Role};
use tongxin_platform::error::grpc_reason;
use tongxin_platform::grpc::request_as;
use tongxin_proto::venues as pb;
use tongxin_proto::venues::org_service_client::OrgServiceClient;
use tongxin_venues::demo::{self, paths};

use super::TestApp;

fn staff_at(path: &str) -> Principal {
    Principal {
        subject: "orders-service".to_owned(),
        roles: vec![Role::Staff],
        unit: Some(demo::unit_id(path).0),
        district: Some("rc".to_owned()),
        credential: None,
    }
}

#[tokio::test]
async fn create_get_and_list_over_grpc() {
    let app = TestApp::spawn().await;
    let mut client = OrgServiceClient::connect(format!("http://{}", app.grpc))
        .await
        .expect("connect");
    let actor = staff_at(paths::CENTER);

    let created = client
        .create_unit(request_as(
            pb::CreateUnitRequest {
                kind: pb::UnitKind::Station as i32,
                name: "峰高第二站(合成)".to_owned(),
                code: "s02".to_owned(),
                parent_id: Some(demo::unit_id("/rc/fenggao").to_string()),
                location: Some(pb::Location {
                    lat: 29.44,
                    lon: 105.65,
                }),
            },
            Some(&app.credential(&actor)),
        ))
        .await
        .expect("create")
        .into_inner();
    assert_eq!(created.path, "/rc/fenggao/s02");

    let fetched = client
        .get_unit(request_as(
            pb::GetUnitRequest {
                id: created.id.clone(),
            },
            Some(&app.service_credential()),
        ))
        .await
        .expect("get")
        .into_inner();
    assert_eq!(fetched, created);

    let page = client
        .list_children(request_as(
            pb::ListChildrenRequest {
                parent_id: demo::unit_id("/rc/fenggao").to_string(),
                page_size: 1,
                page_token: String::new(),
            },
            Some(&app.service_credential()),
        ))
        .await
        .expect("list")
        .into_inner();
    assert_eq!(page.units.len(), 1);
    assert_eq!(page.units[0].path, "/rc/fenggao/s01");
    let rest = client
        .list_children(request_as(
            pb::ListChildrenRequest {
                parent_id: demo::unit_id("/rc/fenggao").to_string(),
                page_size: 10,
                page_token: page.next_page_token,
            },
            Some(&app.service_credential()),
        ))
        .await
        .expect("list")
        .into_inner();
    assert_eq!(
        rest.units
            .iter()
            .map(|u| u.path.as_str())
            .collect::<Vec<_>>(),
        vec!["/rc/fenggao/s02"]
    );
    assert!(rest.next_page_token.is_empty());
    app.stop().await;
}

#[tokio::test]
async fn grpc_errors_carry_codes_and_reasons() {
    let app = TestApp::spawn().await;
    let mut client = OrgServiceClient::connect(format!("http://{}", app.grpc))
        .await
        .expect("connect");
    let units = app.unit_count().await;
    let request = || pb::CreateUnitRequest {
        kind: pb::UnitKind::Courtyard as i32,
        name: "x".to_owned(),
        code: "x".to_owned(),
        parent_id: Some(demo::unit_id(paths::HONGQIAO).to_string()),
        location: Some(pb::Location {
            lat: f64::NAN,
            lon: 105.6,
        }),
    };

    let status = client
        .create_unit(request_as(request(), None))
        .await
        .expect_err("no principal");
    assert_eq!(status.code(), tonic::Code::Unauthenticated);

    let status = client
        .create_unit(request_as(
            request(),
            Some(&app.credential(&staff_at(paths::CENTER))),
        ))
        .await
        .expect_err("NaN");
    assert_eq!(status.code(), tonic::Code::InvalidArgument);
    assert_eq!(grpc_reason(&status).as_deref(), Some("BAD_USER_INPUT"));
    assert!(status.message().contains("lat"), "{}", status.message());

    let status = client
        .get_unit(request_as(
            pb::GetUnitRequest {
                id: uuid::Uuid::new_v4().to_string(),
            },
            Some(&app.service_credential()),
        ))
        .await
        .expect_err("missing");
    assert_eq!(status.code(), tonic::Code::NotFound);
    assert_eq!(grpc_reason(&status).as_deref(), Some("NOT_FOUND"));

    assert_eq!(app.unit_count().await, units);
    app.stop().await;
}
