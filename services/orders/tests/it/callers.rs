//! Who calls orders over gRPC: only a credential the service verifies says so. The
//! `x-tongxin-principal` entry another caller could write grants nothing (issue 13, item 1).

use serde_json::json;
use tongxin_platform::auth::{Credential, DevKeys, Principal, Role, TokenRequest};
use tongxin_platform::error::grpc_reason;
use tongxin_platform::grpc::request_as;
use tongxin_proto::orders as pb;
use tongxin_proto::orders::order_service_client::OrderServiceClient;
use tongxin_testing::forged_request;
use tongxin_venues::demo;
use tonic::transport::Channel;

use crate::{ORDER, TestApp, error_code, paths};

fn center_staff() -> Principal {
    Principal {
        subject: "forger".to_owned(),
        roles: vec![Role::Staff, Role::Admin],
        unit: Some(demo::unit_id(paths::CENTER).0),
        district: Some("rc".to_owned()),
        credential: None,
    }
}

/// `message` with `credential` and a forged principal claiming center staff.
fn forged<T>(message: T, credential: Option<&Credential>) -> tonic::Request<T> {
    forged_request(message, credential, &center_staff())
}

fn center_orders() -> pb::ListOrdersRequest {
    pb::ListOrdersRequest {
        unit_id: demo::unit_id(paths::CENTER).0.to_string(),
        ..Default::default()
    }
}

async fn client(app: &TestApp) -> OrderServiceClient<Channel> {
    OrderServiceClient::connect(format!("http://{}", app.grpc))
        .await
        .expect("connect")
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

#[tokio::test]
async fn a_forged_center_staff_principal_without_a_token_is_refused() {
    let app = TestApp::spawn().await;
    app.place_ok("alice", "elder_visit", "forged-1").await;
    let mut client = client(&app).await;

    let status = client
        .list_orders(forged(center_orders(), None))
        .await
        .expect_err("a forged principal alone grants nothing");
    assert_unauthenticated(&status, "no credential");
    let status = client
        .list_orders(forged(
            center_orders(),
            Some(&Credential::new("not-a-token")),
        ))
        .await
        .expect_err("a made-up token");
    assert_unauthenticated(&status, "malformed");

    // The same call with center staff's real token sees the order and its phone.
    let staff = app.credential(&center_staff());
    let page = client
        .list_orders(request_as(center_orders(), Some(&staff)))
        .await
        .expect("center staff list")
        .into_inner();
    assert_eq!(page.orders.len(), 1);
    assert_eq!(page.orders[0].phone, "13812345678");
    app.stop().await;
}

#[tokio::test]
async fn a_citizen_token_with_a_forged_staff_header_acts_as_the_citizen() {
    let app = TestApp::spawn().await;
    let id = app.place_ok("alice", "elder_visit", "forged-2").await;
    let mut client = client(&app).await;
    let mallory = app.credential(&app.citizen_principal("mallory"));

    let status = client
        .list_orders(forged(center_orders(), Some(&mallory)))
        .await
        .expect_err("a citizen may not list a unit's orders");
    assert_eq!(status.code(), tonic::Code::PermissionDenied, "{status:?}");
    let status = client
        .get_order(forged(
            pb::GetOrderRequest { id: id.clone() },
            Some(&mallory),
        ))
        .await
        .expect_err("not her order");
    assert_eq!(status.code(), tonic::Code::NotFound, "{status:?}");

    // Alice's own token reads her order: the token decides, not the header.
    let alice = app.credential(&app.citizen_principal("alice"));
    let order = client
        .get_order(forged(pb::GetOrderRequest { id }, Some(&alice)))
        .await
        .expect("her own order")
        .into_inner();
    assert_eq!(order.phone, "13812345678");
    app.stop().await;
}

#[tokio::test]
async fn expired_foreign_and_misaddressed_tokens_are_refused_with_the_reason() {
    let app = TestApp::spawn().await;
    let mut client = client(&app).await;
    let center = demo::unit_id(paths::CENTER).0.to_string();
    let staff_claims = |c: &mut tongxin_platform::auth::Claims| {
        c.roles = vec!["staff".to_owned()];
        c.unit = Some(center.clone());
    };

    let expired = app.token_with(|c| {
        staff_claims(c);
        // Past the verifier's leeway of a minute.
        c.iat -= 7200;
        c.exp = c.iat + 3600;
    });
    let other_dir = tempfile::tempdir().expect("tempdir");
    let foreign = DevKeys::load_or_generate(other_dir.path())
        .expect("keys")
        .sign(&TokenRequest {
            subject: "forger",
            roles: &[Role::Staff],
            unit: Some(demo::unit_id(paths::CENTER).0),
            district: Some("rc"),
            issuer: "tongxin",
            audience: "tongxin",
            ttl: std::time::Duration::from_secs(600),
        })
        .expect("sign");
    let elsewhere = app.token_with(|c| {
        staff_claims(c);
        c.aud = "another-system".to_owned();
    });
    for (token, reason) in [
        (expired, "expired"),
        (foreign, "not signed by a key of the JWKS"),
        (elsewhere, "audience"),
    ] {
        let status = client
            .list_orders(request_as(center_orders(), Some(&Credential::new(token))))
            .await
            .expect_err(reason);
        assert_unauthenticated(&status, reason);
    }
    app.stop().await;
}

#[tokio::test]
async fn a_service_token_has_no_scope_and_is_no_user_token() {
    let app = TestApp::spawn().await;
    let id = app.place_ok("alice", "elder_visit", "service-1").await;
    let mut client = client(&app).await;
    let service = app.service_credential();

    // Verified, but a service acting on its own behalf holds no unit scope.
    let status = client
        .list_orders(request_as(center_orders(), Some(&service)))
        .await
        .expect_err("no scope");
    assert_eq!(status.code(), tonic::Code::PermissionDenied, "{status:?}");
    let status = client
        .get_order(request_as(
            pb::GetOrderRequest { id: id.clone() },
            Some(&service),
        ))
        .await
        .expect_err("an order is its owner's and its staff's");
    assert_eq!(status.code(), tonic::Code::NotFound, "{status:?}");
    // Whatever scope a service token claims is ignored.
    let claiming = app.token_with(|c| {
        c.sub = "service:orders".to_owned();
        c.aud = "tongxin-services".to_owned();
        c.roles = vec!["service".to_owned(), "admin".to_owned()];
        c.unit = Some(demo::unit_id(paths::CENTER).0.to_string());
    });
    let status = client
        .list_orders(request_as(
            center_orders(),
            Some(&Credential::new(claiming)),
        ))
        .await
        .expect_err("claims ignored");
    assert_eq!(status.code(), tonic::Code::PermissionDenied, "{status:?}");

    // At the subgraph (the gateway's audience) a service token is no user token.
    let r = app
        .graphql(Some(service.token()), ORDER, json!({ "id": id }))
        .await;
    assert_eq!(error_code(&r), Some("UNAUTHENTICATED"), "{r}");
    app.stop().await;
}
