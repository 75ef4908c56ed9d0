//! The README's split-mode steps, as an operator runs them: `scripts/split-mode.sh --check`
//! starts each service as its own `tongxin serve` process on its own PostgreSQL database,
//! NATS between them, the router in front, seeds the demo data, and checks a query and an
//! order through the gateway. Here it runs on free ports, its own databases and its own NATS.

use std::time::Duration;

use tokio::process::Command;
use tongxin_testing::{TestNats, free_port};

const BIN: &str = env!("CARGO_BIN_EXE_tongxin");

async fn drop_databases(prefix: &str) {
    for s in ["venues", "volunteers", "orders", "legal_aid"] {
        let _ = Command::new("psql")
            .arg(tongxin_testing::postgres_admin_url())
            .arg("-qc")
            .arg(format!("DROP DATABASE IF EXISTS {prefix}_{s} WITH (FORCE)"))
            .status()
            .await;
    }
}

/// The test server's URL without a database name.
fn pg_base() -> String {
    let admin = tongxin_testing::postgres_admin_url();
    admin
        .rsplit_once('/')
        .map(|(base, _)| base.to_owned())
        .unwrap_or(admin)
}

#[tokio::test]
async fn the_readme_split_mode_steps_work_top_to_bottom() {
    let Ok(router) = std::env::var("TONGXIN_ROUTER_BIN") else {
        panic!("TONGXIN_ROUTER_BIN must name the router binary (`make test` sets it)");
    };
    let nats = TestNats::start().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let prefix = format!("split_{}", uuid::Uuid::now_v7().simple());
    let addr = |port: u16| format!("127.0.0.1:{port}");
    let (venues, volunteers, orders) = (free_port(), free_port(), free_port());
    let (venues_grpc, volunteers_grpc, legal_aid_grpc) = (free_port(), free_port(), free_port());
    let legal_aid = free_port();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../../scripts/split-mode.sh");
    let run = Command::new("bash")
        .arg(script)
        .arg("--check")
        .env("TONGXIN_BIN", BIN)
        .env("TONGXIN_ROUTER_BIN", router)
        .env("TONGXIN_SPLIT_DIR", dir.path())
        .env("TONGXIN_SPLIT_DB_PREFIX", &prefix)
        .env("TONGXIN_SPLIT_PG", pg_base())
        .env("TONGXIN_EVENTS__NATS_URL", nats.url())
        .env("TONGXIN_VENUES__HTTP_ADDR", addr(venues))
        .env("TONGXIN_VENUES__GRPC_ADDR", addr(venues_grpc))
        .env("TONGXIN_VOLUNTEERS__HTTP_ADDR", addr(volunteers))
        .env("TONGXIN_VOLUNTEERS__GRPC_ADDR", addr(volunteers_grpc))
        .env("TONGXIN_ORDERS__HTTP_ADDR", addr(orders))
        .env("TONGXIN_ORDERS__GRPC_ADDR", addr(free_port()))
        .env("TONGXIN_LEGAL_AID__HTTP_ADDR", addr(legal_aid))
        .env("TONGXIN_LEGAL_AID__GRPC_ADDR", addr(legal_aid_grpc))
        .env(
            "TONGXIN_GATEWAY_SUBGRAPH_LEGAL_AID_URL",
            format!("http://{}/graphql", addr(legal_aid)),
        )
        .env(
            "TONGXIN_ORDERS__VENUES_URL",
            format!("http://{}", addr(venues_grpc)),
        )
        .env(
            "TONGXIN_ORDERS__VOLUNTEERS_URL",
            format!("http://{}", addr(volunteers_grpc)),
        )
        .env(
            "TONGXIN_ORDERS__LEGAL_AID_URL",
            format!("http://{}", addr(legal_aid_grpc)),
        )
        .env("TONGXIN_GATEWAY_PORT", free_port().to_string())
        .env(
            "TONGXIN_GATEWAY_SUBGRAPH_VENUES_URL",
            format!("http://{}/graphql", addr(venues)),
        )
        .env(
            "TONGXIN_GATEWAY_SUBGRAPH_VOLUNTEERS_URL",
            format!("http://{}/graphql", addr(volunteers)),
        )
        .env(
            "TONGXIN_GATEWAY_SUBGRAPH_ORDERS_URL",
            format!("http://{}/graphql", addr(orders)),
        )
        .output();
    let output = tokio::time::timeout(Duration::from_secs(300), run).await;
    drop_databases(&prefix).await;
    let output = output
        .expect("the script finishes within 5 minutes")
        .expect("bash");
    let logs = std::fs::read_dir(dir.path().join("logs"))
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| {
            let text = std::fs::read_to_string(e.path()).unwrap_or_default();
            let tail: String = text.lines().rev().take(15).collect::<Vec<_>>().join("\n");
            format!(
                "--- {} (last lines, newest first)\n{tail}",
                e.path().display()
            )
        })
        .collect::<Vec<_>>()
        .join("\n");
    assert!(
        output.status.success(),
        "split-mode.sh failed\nstdout:\n{}\nstderr:\n{}\n{logs}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr),
    );
    assert!(String::from_utf8_lossy(&output.stdout).contains("split-mode: ready at"));
}

#[tokio::test]
async fn a_token_for_a_unit_that_does_not_exist_is_refused() {
    let data = tempfile::tempdir().expect("tempdir");
    let keys = data.path().join("keys");
    // No venues database to check against (none beside the keys, the configured one does
    // not answer): no token.
    let output = Command::new(BIN)
        .args([
            "token",
            "--role",
            "staff",
            "--unit",
            "/rc/changyuan",
            "--keys",
        ])
        .arg(&keys)
        .env(
            "TONGXIN_VENUES__DATABASE__URL",
            "postgres://postgres@127.0.0.1:1/nothing",
        )
        .output()
        .await
        .expect("run token");
    assert!(!output.status.success());
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("no venues database to look in"),
        "{output:?}"
    );
    // Against a database that has the tree: a unit in it gets a token, one outside it not.
    let db = tongxin_testing::TestDb::new().await;
    let conn = tongxin_platform::db::connect_and_migrate::<tongxin_venues::migration::Migrator>(
        &tongxin_platform::config::DatabaseSettings::new(db.url()),
    )
    .await
    .expect("migrate");
    tongxin_venues::demo::seed(&conn).await.expect("seed tree");
    let token = |unit: &'static str| {
        let keys = keys.clone();
        let url = db.url().to_owned();
        async move {
            Command::new(BIN)
                .args([
                    "token",
                    "--role",
                    "staff",
                    "--unit",
                    unit,
                    "--database",
                    &url,
                    "--keys",
                ])
                .arg(&keys)
                .output()
                .await
                .expect("run token")
        }
    };
    let ok = token("/rc/changyuan").await;
    assert!(ok.status.success(), "{ok:?}");
    assert_eq!(
        String::from_utf8_lossy(&ok.stdout)
            .trim()
            .split('.')
            .count(),
        3
    );
    let missing = token("/rc/nowhere").await;
    assert!(!missing.status.success());
    assert!(
        String::from_utf8_lossy(&missing.stderr).contains("no unit /rc/nowhere"),
        "{missing:?}"
    );
}
