//! The `tongxin` binary as a user and an operator run it: `run` end to end with the router,
//! `serve` as a separate process called over gRPC, `token`, `schema`.

use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tongxin_platform::auth::{Principal, Role, ServiceTokens, Verifier};
use tongxin_platform::grpc::request_as;
use tongxin_proto::venues as pb;
use tongxin_proto::venues::org_service_client::OrgServiceClient;
use tongxin_testing::{TestDb, TestNats, free_port, wait_until};
use tongxin_venues::demo::{self, paths};

const BIN: &str = env!("CARGO_BIN_EXE_tongxin");

async fn terminate(child: &mut Child) -> std::process::ExitStatus {
    let pid = child.id().expect("running").to_string();
    Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .await
        .expect("kill");
    tokio::time::timeout(Duration::from_secs(30), child.wait())
        .await
        .expect("stops within 30 s")
        .expect("wait")
}

#[tokio::test]
async fn run_starts_everything_answers_and_stops_cleanly_on_sigterm() {
    let data = tempfile::tempdir().expect("tempdir");
    {
        // As a data dir made by hand under a common umask would be.
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(data.path(), std::fs::Permissions::from_mode(0o755))
            .expect("chmod");
    }
    let port = free_port();
    // What `run` logs, to say why if it stops before it is ready.
    let logs = tempfile::tempdir().expect("tempdir");
    let log = logs.path().join("run.log");
    let mut child = Command::new(BIN)
        .args([
            "run",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--data-dir",
        ])
        .arg(data.path())
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&log).expect("log file"))
        .kill_on_drop(true)
        .spawn()
        .expect("spawn tongxin run");

    // Read the welcome text up to the READY line, collecting the printed tokens.
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let mut tokens = Vec::new();
    let url = tokio::time::timeout(Duration::from_secs(120), async {
        while let Some(line) = lines.next_line().await.expect("read") {
            let line = line.trim().to_owned();
            if line.starts_with("eyJ") {
                tokens.push(line.clone());
            }
            if let Some(url) = line.strip_prefix("READY ") {
                return url.to_owned();
            }
        }
        let said = std::fs::read_to_string(&log).unwrap_or_default();
        let tail: Vec<&str> = said.lines().rev().take(30).collect();
        let router =
            std::fs::read_to_string(data.path().join("router/router.log")).unwrap_or_default();
        panic!(
            "tongxin run exited before it was ready; its last lines:\n{}\nrouter log:\n{router}",
            tail.into_iter().rev().collect::<Vec<_>>().join("\n")
        );
    })
    .await
    .expect("ready within 120 s");
    // run logs to stdout: keep reading it into a file, or once the pipe's buffer is full
    // every log line blocks run's own work (the demo's publication below among it).
    let stdout_log = logs.path().join("run.stdout");
    let drain = {
        let path = stdout_log.clone();
        tokio::spawn(async move {
            use tokio::io::AsyncWriteExt;
            let mut file = tokio::fs::File::create(&path).await.expect("stdout log");
            while let Ok(Some(line)) = lines.next_line().await {
                let _ = file.write_all(format!("{line}\n").as_bytes()).await;
            }
        })
    };
    let run_said = move || {
        let said = std::fs::read_to_string(&stdout_log).unwrap_or_default();
        let tail: Vec<&str> = said.lines().rev().take(40).collect();
        tail.into_iter().rev().collect::<Vec<_>>().join("\n")
    };
    assert_eq!(url, format!("http://127.0.0.1:{port}/graphql"));
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(data.path())
            .expect("data dir")
            .permissions()
            .mode();
        assert_eq!(
            mode & 0o777,
            0o700,
            "the data dir is the owner's alone: {mode:o}"
        );
    }
    assert_eq!(
        tokens.len(),
        5,
        "tokens for citizen, volunteer, courtyard staff, center staff, legal-aid notary"
    );

    // The printed tokens verify against the JWKS written to the data dir.
    let verifier =
        Verifier::from_jwks_file(&data.path().join("keys/jwks.json"), "tongxin", "tongxin")
            .expect("jwks");
    let center_staff = verifier.verify(&tokens[3]).expect("valid token");
    assert_eq!(center_staff.unit, Some(demo::unit_id(paths::CENTER).0));

    let response: serde_json::Value = reqwest::Client::new()
        .post(&url)
        .json(&serde_json::json!({ "query": format!("{{ orgUnit(id: \"{}\") {{ name children {{ edges {{ node {{ code }} }} }} }} }}", demo::unit_id(paths::CENTER)) }))
        .send()
        .await
        .expect("query")
        .json()
        .await
        .expect("json");
    assert_eq!(
        response["data"]["orgUnit"]["name"], "荣昌区新时代文明实践中心",
        "{response}"
    );

    // The demo published the last ended quarter's evaluation: a frozen ranking, through the
    // router, for the center's staff.
    // The demo hooks may still be running when the tokens are printed: ask until the
    // publication is there (bounded). Asking for version 1 reads the stored publication
    // (NOT_FOUND until it exists); without it every poll would compute the live ranking of
    // the whole district, keeping venues busy with the very work the publication waits for.
    let quarter = tongxin_orders::demo::previous_quarter(chrono::Utc::now());
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    let (first, ranking) = loop {
        let ranking: serde_json::Value = reqwest::Client::new()
            .post(&url)
            .bearer_auth(&tokens[3])
            .json(&serde_json::json!({
                "query": "query($q: String!) { evaluationRanking(quarter: $q, level: COURTYARD, version: 1, first: 3) { edges { node { rank published version lines { criterion } } } } }",
                "variables": { "q": quarter }
            }))
            .send()
            .await
            .expect("ranking")
            .json()
            .await
            .expect("json");
        let first = ranking["data"]["evaluationRanking"]["edges"][0]["node"].clone();
        if first["published"] == true || std::time::Instant::now() > deadline {
            break (first, ranking);
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    };
    assert_eq!(
        (
            first["rank"].clone(),
            first["published"].clone(),
            first["version"].clone()
        ),
        (
            serde_json::json!(1),
            serde_json::json!(true),
            serde_json::json!(1)
        ),
        "{ranking}\nrun's last lines:\n{}",
        run_said()
    );
    assert_eq!(first["lines"].as_array().map(Vec::len), Some(8), "{first}");

    // The explorer: a browser gets GraphiQL from this binary, not from a CDN.
    let page = reqwest::Client::new()
        .get(&url)
        .header("accept", "text/html")
        .send()
        .await
        .expect("explorer page")
        .text()
        .await
        .expect("text");
    assert!(
        page.contains("/explorer/graphiql.min.js") && !page.contains("https://"),
        "{page}"
    );
    let bundle = reqwest::get(url.replace("/graphql", "/explorer/graphiql.min.js"))
        .await
        .expect("explorer asset");
    assert_eq!(bundle.status().as_u16(), 200);

    // A write through the router with a printed token lands in SQLite.
    let created: serde_json::Value = reqwest::Client::new()
        .post(&url)
        .bearer_auth(&tokens[3])
        .json(&serde_json::json!({
            "query": "mutation($i: CreateOrgUnitInput!) { createOrgUnit(input: $i) { path } }",
            "variables": { "i": { "kind": "STATION", "name": "冒烟测试站", "code": "smoke",
                "parentId": demo::unit_id(paths::CHANGYUAN).to_string(), "location": { "lat": 29.4, "lon": 105.59 } } }
        }))
        .send()
        .await
        .expect("mutation")
        .json()
        .await
        .expect("json");
    assert_eq!(
        created["data"]["createOrgUnit"]["path"], "/rc/changyuan/smoke",
        "{created}"
    );

    // The volunteers subgraph answers through the router: courtyard staff register a
    // volunteer of their courtyard and see the phone; an anonymous caller sees it masked.
    let registered: serde_json::Value = reqwest::Client::new()
        .post(&url)
        .bearer_auth(&tokens[2])
        .json(&serde_json::json!({
            "query": "mutation($i: RegisterVolunteerInput!) { registerVolunteer(input: $i) { id phone volunteerNo } }",
            "variables": { "i": { "name": "冒烟", "idCardNumber": "11010519491231002X", "phone": "13812345678",
                "homeUnitId": demo::unit_id(paths::CAIJIABA).to_string(), "homeUnitPath": paths::CAIJIABA,
                "location": { "lat": 29.4, "lon": 105.59 }, "skills": ["repair"], "consent": true } }
        }))
        .send()
        .await
        .expect("register")
        .json()
        .await
        .expect("json");
    assert_eq!(
        registered["data"]["registerVolunteer"]["phone"], "13812345678",
        "{registered}"
    );
    let id = registered["data"]["registerVolunteer"]["id"].clone();
    let seen: serde_json::Value = reqwest::Client::new()
        .post(&url)
        .json(&serde_json::json!({
            "query": "query($id: ID!) { volunteer(id: $id) { phone } }",
            "variables": { "id": id }
        }))
        .send()
        .await
        .expect("query")
        .json()
        .await
        .expect("json");
    assert_eq!(seen["data"]["volunteer"]["phone"], "138****5678", "{seen}");

    // Demo orders in every state; the demo volunteer's account is linked to the volunteer
    // they were dispatched as, so they see those orders.
    let mine: serde_json::Value = reqwest::Client::new()
        .post(&url)
        .bearer_auth(&tokens[0])
        .json(&serde_json::json!({
            "query": "{ myOrders { edges { node { id state } } } }"
        }))
        .send()
        .await
        .expect("myOrders")
        .json()
        .await
        .expect("json");
    let mut states: Vec<String> = mine["data"]["myOrders"]["edges"]
        .as_array()
        .unwrap_or_else(|| panic!("{mine}"))
        .iter()
        .filter_map(|e| e["node"]["state"].as_str().map(str::to_owned))
        .collect();
    states.sort();
    states.dedup();
    assert_eq!(
        states,
        [
            "ACCEPTED",
            "CANCELLED",
            "COMPLETED",
            "DISPATCHED",
            "ESCALATED",
            "IN_PROGRESS",
            "PLACED",
            "RATED",
            "RECEIVED"
        ],
        "{mine}"
    );
    let accepted = mine["data"]["myOrders"]["edges"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|e| e["node"]["state"] == "ACCEPTED")
        .map(|e| e["node"]["id"].clone())
        .expect("an accepted demo order");
    let as_volunteer: serde_json::Value = reqwest::Client::new()
        .post(&url)
        .bearer_auth(&tokens[1])
        .json(&serde_json::json!({
            "query": "query($id: ID!) { order(id: $id) { state contactPhoneMasked } }",
            "variables": { "id": accepted }
        }))
        .send()
        .await
        .expect("order")
        .json()
        .await
        .expect("json");
    assert_eq!(
        as_volunteer["data"]["order"],
        serde_json::json!({ "state": "ACCEPTED", "contactPhoneMasked": false }),
        "{as_volunteer}"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(data.path().join("keys/pii.json"))
            .expect("pii keys written")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "PII keys readable by the owner only");
    }

    let status = terminate(&mut child).await;
    assert!(status.success(), "clean exit, got {status}");
    // Its stdout closed with it.
    drain.await.expect("stdout read to its end");
    // The router went down with it.
    let router_gone = wait_until(Duration::from_secs(10), || async move {
        tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_err()
    })
    .await;
    assert!(router_gone, "the router must stop when tongxin run stops");
    assert!(
        data.path().join("venues.db").exists(),
        "data kept in the data dir"
    );
}

#[tokio::test]
async fn serve_venues_in_its_own_process_answers_grpc_from_this_one() {
    let db = TestDb::new().await;
    let nats = TestNats::start().await;
    let keys_dir = tempfile::tempdir().expect("tempdir");
    let keys = tongxin_platform::auth::DevKeys::load_or_generate(keys_dir.path()).expect("keys");
    let (http, grpc) = (free_port(), free_port());
    let mut child = Command::new(BIN)
        .args(["serve", "venues"])
        .env("TONGXIN_VENUES__DATABASE__URL", db.url())
        .env("TONGXIN_VENUES__HTTP_ADDR", format!("127.0.0.1:{http}"))
        .env("TONGXIN_VENUES__GRPC_ADDR", format!("127.0.0.1:{grpc}"))
        .env(
            "TONGXIN_VENUES__PII_KEY",
            tongxin_platform::pii::PiiCipher::generate_key_base64(),
        )
        .env("TONGXIN_EVENTS__NATS_URL", nats.url())
        .env("TONGXIN_AUTH__JWKS_PATH", keys.jwks_path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn tongxin serve");
    let up = wait_until(Duration::from_secs(60), || async move {
        reqwest::get(format!("http://127.0.0.1:{http}/readyz"))
            .await
            .map(|r| r.status().is_success())
            .unwrap_or(false)
    })
    .await;
    assert!(up, "serve venues became ready");

    let mut client = OrgServiceClient::connect(format!("http://127.0.0.1:{grpc}"))
        .await
        .expect("connect");
    let mut admin = Principal {
        subject: "operator".to_owned(),
        roles: vec![Role::Admin],
        unit: None,
        district: None,
        credential: None,
    };
    let admin = keys
        .signing_key()
        .sign_principal(&mut admin, "tongxin", "tongxin", Duration::from_secs(600))
        .expect("sign");
    // What orders sends for its routing lookups, signed with a key of the JWKS.
    let service = ServiceTokens::new(keys.signing_key(), "orders", "tongxin", "tongxin")
        .credential()
        .expect("service token");
    let center = client
        .create_unit(request_as(
            pb::CreateUnitRequest {
                kind: pb::UnitKind::Center as i32,
                name: "示例区中心(合成)".to_owned(),
                code: "demo".to_owned(),
                parent_id: None,
                location: Some(pb::Location {
                    lat: 29.4,
                    lon: 105.6,
                }),
            },
            Some(&admin),
        ))
        .await
        .expect("create center")
        .into_inner();
    assert_eq!(center.path, "/demo");
    let read = client
        .get_unit(request_as(
            pb::GetUnitRequest {
                id: center.id.clone(),
            },
            Some(&service),
        ))
        .await
        .expect("get")
        .into_inner();
    assert_eq!(read.name, "示例区中心(合成)");

    let metrics = reqwest::get(format!("http://127.0.0.1:{http}/metrics"))
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    assert!(
        metrics.contains("tongxin_requests_total"),
        "request counts exported"
    );
    assert!(terminate(&mut child).await.success());
}

#[tokio::test]
async fn bad_configuration_names_the_key() {
    let output = Command::new(BIN)
        .args(["serve", "venues"])
        .env("TONGXIN_VENUES__HTTP_ADDR", "not-an-address")
        .output()
        .await
        .expect("run");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("venues.http_addr"), "{stderr}");
}

#[tokio::test]
async fn token_command_signs_verifiable_tokens() {
    // As after `tongxin run`: the keys in <data>/keys, the venues database beside them,
    // where `--unit` is looked up.
    let data = tempfile::tempdir().expect("tempdir");
    let keys = data.path().join("keys");
    let venues = tongxin_platform::db::connect_and_migrate::<tongxin_venues::migration::Migrator>(
        &tongxin_platform::config::DatabaseSettings::new(&format!(
            "sqlite://{}",
            data.path().join("venues.db").display()
        )),
    )
    .await
    .expect("venues database");
    demo::seed(&venues).await.expect("demo tree");
    let output = Command::new(BIN)
        .args([
            "token",
            "--role",
            "staff",
            "--unit",
            "/rc/changyuan",
            "--sub",
            "zhang",
            "--keys",
        ])
        .arg(&keys)
        .output()
        .await
        .expect("run");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let token = String::from_utf8(output.stdout).expect("utf8");
    let verifier =
        Verifier::from_jwks_file(&keys.join("jwks.json"), "tongxin", "tongxin").expect("jwks");
    let principal = verifier.verify(token.trim()).expect("valid");
    assert_eq!(principal.subject, "zhang");
    assert_eq!(principal.roles, vec![Role::Staff]);
    assert_eq!(principal.unit, Some(demo::unit_id(paths::CHANGYUAN).0));

    let bad = Command::new(BIN)
        .args(["token", "--role", "mayor"])
        .output()
        .await
        .expect("run");
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("unknown role"));

    // A service token: a gRPC caller without scope, refused where user tokens go.
    let output = Command::new(BIN)
        .args(["token", "--service", "civil-affairs", "--keys"])
        .arg(&keys)
        .output()
        .await
        .expect("run");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let token = String::from_utf8(output.stdout).expect("utf8");
    let service = verifier.verify_caller(token.trim()).expect("a service");
    assert_eq!(service.subject, "service:civil-affairs");
    assert_eq!(service.roles, vec![Role::Service]);
    assert_eq!(service.unit, None);
    assert!(verifier.verify(token.trim()).is_err(), "no user token");
    let mixed = Command::new(BIN)
        .args(["token", "--role", "service"])
        .output()
        .await
        .expect("run");
    assert!(
        !mixed.status.success(),
        "a user token never makes a service"
    );
}

#[tokio::test]
async fn checked_in_schema_matches_the_code() {
    for service in ["venues", "volunteers", "orders", "legal-aid"] {
        let output = Command::new(BIN)
            .args(["schema", service])
            .output()
            .await
            .expect("run");
        assert!(output.status.success());
        let exported = String::from_utf8(output.stdout).expect("utf8");
        let path = format!(
            "{}/../../schema/{service}.graphql",
            env!("CARGO_MANIFEST_DIR")
        );
        let checked_in = std::fs::read_to_string(path).unwrap_or_default();
        assert!(
            exported == checked_in,
            "schema/{service}.graphql differs from what the code exports: run `make schema` and commit the result"
        );
    }
}

#[tokio::test]
async fn run_on_a_taken_port_says_so_and_exits_non_zero() {
    // Something else holds the port and answers every request with 200, as another web
    // server would: `run` must not take its answers for its own router's.
    let impostor = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = impostor.local_addr().expect("addr").port();
    let answering = tokio::spawn(async move {
        use tokio::io::AsyncWriteExt;
        while let Ok((mut stream, _)) = impostor.accept().await {
            let _ = stream
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
                .await;
        }
    });
    let data = tempfile::tempdir().expect("tempdir");
    let run = Command::new(BIN)
        .args([
            "run",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--data-dir",
        ])
        .arg(data.path())
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(Duration::from_secs(120), run)
        .await
        .expect("exits within 120 s")
        .expect("run");
    answering.abort();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "exit status: {:?}", output.status);
    assert!(!stdout.contains("READY"), "claimed to be ready: {stdout}");
    assert!(
        stderr.contains(&format!("127.0.0.1:{port} is not free")),
        "names the taken port: {stderr}"
    );
}

/// A body on `subject`, as the outbox relay would publish it.
fn event(subject: &str, payload: Vec<u8>) -> tongxin_platform::events::Event {
    tongxin_platform::events::Event {
        id: uuid::Uuid::now_v7(),
        subject: subject.to_owned(),
        ce_type: subject.to_owned(),
        source: "tongxin/test".to_owned(),
        time: chrono::Utc::now(),
        traceparent: None,
        payload: payload.into(),
    }
}

#[tokio::test]
async fn events_tail_prints_each_event_decoded_from_its_own_header() {
    use prost::Message;
    use tongxin_platform::events::EventBus;
    use tongxin_proto::events as events_pb;

    let nats = TestNats::start().await;
    let settings = tongxin_platform::config::EventsSettings {
        nats_url: nats.url(),
        ..Default::default()
    };
    let bus = tongxin_platform::events::nats::NatsBus::connect(&settings)
        .await
        .expect("bus");
    let unit = events_pb::UnitCreated {
        unit: Some(pb::OrgUnit {
            name: "蔡家坝小院".to_owned(),
            path: paths::CAIJIABA.to_owned(),
            ..Default::default()
        }),
        actor: "staff-1".to_owned(),
    };
    let rated = tongxin_proto::events::OrderChanged {
        order_no: "RC-1".to_owned(),
        rating: Some(5),
        ..Default::default()
    };
    let published = bus
        .publish_batch(&[
            event("tongxin.venues.unit_created", unit.encode_to_vec()),
            event("tongxin.orders.order_rated", rated.encode_to_vec()),
        ])
        .await;
    assert!(published.iter().all(Result::is_ok), "{published:?}");

    let output = tokio::time::timeout(
        Duration::from_secs(30),
        Command::new(BIN)
            .args(["events", "tail", "tongxin.>", "--all", "--count", "2"])
            .args(["--nats-url", &nats.url()])
            .output(),
    )
    .await
    .expect("tail stops after --count events")
    .expect("run tongxin events tail");
    assert!(output.status.success(), "{output:?}");
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect();
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert_eq!(lines[0]["subject"], "tongxin.venues.unit_created");
    assert_eq!(lines[0]["type"], "tongxin.events.v1.UnitCreated");
    assert_eq!(lines[0]["source"], "tongxin/test");
    assert_eq!(lines[0]["data"]["unit"]["name"], "蔡家坝小院");
    assert_eq!(lines[0]["data"]["actor"], "staff-1");
    assert_eq!(lines[1]["type"], "tongxin.events.v1.OrderChanged");
    assert_eq!(lines[1]["data"]["orderNo"], "RC-1");
    assert_eq!(lines[1]["data"]["rating"], 5);
}

/// Rotating a PII key as docs/deploy.md tells an operator: the key becomes a ring
/// `v2:<new>,v1:<old>`, `tongxin reseal` rewrites what the old key sealed, and the old key
/// can then leave the ring with nothing lost. A value no key of the ring opens stops the run.
#[tokio::test]
async fn reseal_moves_every_sealed_value_to_the_new_key_so_the_old_one_can_go() {
    use tongxin_platform::pii::PiiCipher;
    use tongxin_venues::store::contacts;

    let db = TestDb::new().await;
    let venues = tongxin_platform::db::connect_and_migrate::<tongxin_venues::migration::Migrator>(
        &tongxin_platform::config::DatabaseSettings::new(db.url()),
    )
    .await
    .expect("venues database");
    demo::seed(&venues).await.expect("demo tree");
    let (old_key, new_key) = (
        PiiCipher::generate_key_base64(),
        PiiCipher::generate_key_base64(),
    );
    let old = PiiCipher::from_base64("pii_key", &old_key).expect("old");
    let phones = ["13800000001", "13800000002", "13800000003"];
    for (n, phone) in phones.iter().enumerate() {
        contacts::insert(
            &venues,
            demo::unit_id(paths::CAIJIABA),
            &format!("联系人{n}"),
            "主任",
            old.encrypt(phone).expect("seal"),
        )
        .await
        .expect("contact");
    }
    let reseal = |ring: String| {
        let url = db.url().to_owned();
        async move {
            Command::new(BIN)
                .args(["reseal", "venues"])
                .env("TONGXIN_VENUES__DATABASE__URL", url)
                .env("TONGXIN_VENUES__PII_KEY", ring)
                .output()
                .await
                .expect("run")
        }
    };
    let ring = format!("v2:{new_key},v1:{old_key}");
    let output = reseal(ring.clone()).await;
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.contains("venues: unit_contacts.phone_cipher: 3 of 3 values re-sealed"),
        "{stdout}"
    );
    // Once more: nothing left to do.
    let output = reseal(ring).await;
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("unit_contacts.phone_cipher: 0 of 3 values re-sealed"),
        "{stdout}"
    );
    // The new key alone opens every stored phone.
    let new = PiiCipher::from_base64("pii_key", &format!("v2:{new_key}")).expect("new");
    let mut opened: Vec<String> = contacts::of_unit(&venues, demo::unit_id(paths::CAIJIABA))
        .await
        .expect("contacts")
        .iter()
        .filter_map(|c| c.phone_cipher.as_deref())
        .map(|blob| new.decrypt(blob).expect("opens with the new key alone"))
        .collect();
    opened.sort();
    assert_eq!(opened, phones);

    // A value sealed by a key the ring no longer holds: the run stops and names it.
    contacts::insert(
        &venues,
        demo::unit_id(paths::CAIJIABA),
        "迟到者",
        "主任",
        old.encrypt("13800000004").expect("seal"),
    )
    .await
    .expect("contact");
    let output = reseal(format!(
        "v3:{},v2:{new_key}",
        PiiCipher::generate_key_base64()
    ))
    .await;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{stderr}");
    assert!(
        stderr.contains("unit_contacts.phone_cipher of row") && stderr.contains("(version v1)"),
        "{stderr}"
    );
    assert!(!stderr.contains("13800000004"), "{stderr}");
}

/// Every column a service's migrations create for sealed data (`*_cipher`) is in its
/// `SEALED` list, so a new sealed column cannot be forgotten by `tongxin reseal`.
#[tokio::test]
async fn every_sealed_column_is_listed_for_reseal() {
    use sea_orm::{ConnectionTrait, Statement};
    use tongxin_platform::config::DatabaseSettings;
    use tongxin_platform::db::connect_and_migrate;
    use tongxin_platform::pii::SealedColumns;

    async fn columns_in(url: &str) -> Vec<String> {
        let db = sea_orm::Database::connect(url).await.expect("connect");
        let rows = db
            .query_all_raw(Statement::from_string(
                db.get_database_backend(),
                "SELECT table_name || '.' || column_name AS c FROM information_schema.columns \
                 WHERE table_schema = 'public' AND column_name LIKE '%\\_cipher' ORDER BY 1",
            ))
            .await
            .expect("columns");
        rows.iter()
            .map(|r| r.try_get::<String>("", "c").expect("c"))
            .collect()
    }
    fn listed(sealed: &[SealedColumns]) -> Vec<String> {
        let mut all: Vec<String> = sealed
            .iter()
            .flat_map(|t| t.columns.iter().map(move |c| format!("{}.{c}", t.table)))
            .collect();
        all.sort();
        all
    }

    let venues = TestDb::new().await;
    connect_and_migrate::<tongxin_venues::migration::Migrator>(&DatabaseSettings::new(
        venues.url(),
    ))
    .await
    .expect("venues");
    assert_eq!(
        columns_in(venues.url()).await,
        listed(tongxin_venues::app::SEALED)
    );
    let volunteers = TestDb::new().await;
    connect_and_migrate::<tongxin_volunteers::migration::Migrator>(&DatabaseSettings::new(
        volunteers.url(),
    ))
    .await
    .expect("volunteers");
    assert_eq!(
        columns_in(volunteers.url()).await,
        listed(tongxin_volunteers::app::SEALED)
    );
    let orders = TestDb::new().await;
    connect_and_migrate::<tongxin_orders::migration::Migrator>(&DatabaseSettings::new(
        orders.url(),
    ))
    .await
    .expect("orders");
    assert_eq!(
        columns_in(orders.url()).await,
        listed(tongxin_orders::app::SEALED)
    );
    let legal_aid = TestDb::new().await;
    connect_and_migrate::<tongxin_legal_aid::migration::Migrator>(&DatabaseSettings::new(
        legal_aid.url(),
    ))
    .await
    .expect("legal aid");
    assert_eq!(
        columns_in(legal_aid.url()).await,
        listed(tongxin_legal_aid::app::SEALED)
    );
}
