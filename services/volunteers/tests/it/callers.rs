//! Who calls volunteers over gRPC: only a credential the service verifies says so. The
//! `x-tongxin-principal` entry another caller could write grants nothing (issue 13, item 1).

use serde_json::json;
use tongxin_platform::auth::{Credential, Principal, Role};
use tongxin_platform::error::grpc_reason;
use tongxin_platform::grpc::request_as;
use tongxin_proto::volunteers as pb;
use tongxin_proto::volunteers::volunteer_service_client::VolunteerServiceClient;
use tongxin_testing::forged_request;

use crate::{REGISTER, TestApp, id_card, input, units};

const PHONE: &str = "13812345670";

/// The admin a forger claims to be.
fn admin() -> Principal {
    Principal {
        subject: "forger".to_owned(),
        roles: vec![Role::Staff, Role::Admin],
        unit: Some(units::id(units::CHANGYUAN)),
        district: Some("rc".to_owned()),
        credential: None,
    }
}

/// `message` with `credential` and a forged principal claiming admin.
fn forged<T>(message: T, credential: Option<&Credential>) -> tonic::Request<T> {
    forged_request(message, credential, &admin())
}

async fn registered(app: &TestApp) -> String {
    let r = app
        .graphql(
            Some(&app.staff(units::CHANGYUAN)),
            REGISTER,
            json!({ "input": input(&id_card("50015319900307123"), PHONE, units::HONGQIAO) }),
        )
        .await;
    r["data"]["registerVolunteer"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{r}"))
        .to_owned()
}

#[tokio::test]
async fn a_forged_admin_principal_without_a_token_is_refused() {
    let app = TestApp::spawn().await;
    let id = registered(&app).await;
    let mut client = VolunteerServiceClient::connect(format!("http://{}", app.grpc))
        .await
        .expect("connect");

    let refused = [
        client
            .get_volunteer(forged(pb::GetVolunteerRequest { id: id.clone() }, None))
            .await
            .expect_err("get"),
        client
            .batch_get_volunteers(forged(
                pb::BatchGetVolunteersRequest {
                    ids: vec![id.clone()],
                },
                None,
            ))
            .await
            .expect_err("batch"),
        client
            .get_volunteer_by_subject(forged(
                pb::GetVolunteerBySubjectRequest {
                    subject: "staff-/rc/changyuan".to_owned(),
                },
                None,
            ))
            .await
            .expect_err("by subject"),
    ];
    for status in refused {
        assert_eq!(status.code(), tonic::Code::Unauthenticated, "{status:?}");
        assert_eq!(grpc_reason(&status).as_deref(), Some("UNAUTHENTICATED"));
    }

    // A citizen's token with the forged admin beside it reads as the citizen: masked.
    let citizen = app.credential(&Principal {
        subject: "mallory".to_owned(),
        roles: vec![Role::Citizen],
        unit: None,
        district: Some("rc".to_owned()),
        credential: None,
    });
    let seen = client
        .get_volunteer(forged(
            pb::GetVolunteerRequest { id: id.clone() },
            Some(&citizen),
        ))
        .await
        .expect("get as a citizen")
        .into_inner();
    assert!(seen.phone_masked && seen.phone != PHONE, "{}", seen.phone);

    // A service on its own behalf has no scope either; the admin's real token sees all.
    let seen = client
        .get_volunteer(request_as(
            pb::GetVolunteerRequest { id: id.clone() },
            Some(&app.service_credential()),
        ))
        .await
        .expect("get as a service")
        .into_inner();
    assert!(seen.phone_masked, "{}", seen.phone);
    let seen = client
        .get_volunteer(request_as(
            pb::GetVolunteerRequest { id },
            Some(&app.credential(&admin())),
        ))
        .await
        .expect("get as the admin")
        .into_inner();
    assert_eq!(seen.phone, PHONE);
    app.stop().await;
}
