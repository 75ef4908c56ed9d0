//! The platform in split mode for the benches that measure it as production runs it: each
//! service its own `tongxin serve` process on its own PostgreSQL database, a NATS server of
//! the bench's own, the Hive Router in front; all on free loopback ports, in a temporary
//! directory that holds each process's log.

#![allow(dead_code)] // each bench uses the part it needs

use std::net::SocketAddr;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use tokio::process::{Child, Command};
use tongxin::router::{RouterOptions, RouterProcess, find_binary};
use tongxin_platform::auth::{DevKeys, Role, TokenRequest};
use tongxin_testing::{TestDb, TestNats, free_port};
use tongxin_venues::demo;

/// One service process: its name as `tongxin serve` takes it and its settings' prefix.
pub struct Service {
    pub name: &'static str,
    prefix: &'static str,
    pub http: SocketAddr,
    pub grpc: SocketAddr,
    pub db: TestDb,
    child: Option<Child>,
}

/// What the services' databases hold before they start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Data {
    /// The demo (`tongxin seed`): the district's tree, a few orders of every state.
    Demo,
    /// The reference district (`tongxin seed --profile district`): 152,000 volunteers,
    /// 100,000 orders, … (a few minutes).
    District,
}

/// The platform in split mode.
pub struct Split {
    pub services: Vec<Service>,
    /// The environment every `tongxin` command of this platform runs with.
    pub env: Vec<(String, String)>,
    pub keys: DevKeys,
    pub router: RouterProcess,
    pub nats: TestNats,
    pub dir: tempfile::TempDir,
}

fn tongxin_bin() -> &'static str {
    env!("CARGO_BIN_EXE_tongxin")
}

impl Split {
    /// Loads `data`, starts everything and waits until every service is ready;
    /// `router_env` goes to the router (limits a bench needs raised).
    pub async fn start(data: Data, router_env: &[(&str, String)]) -> anyhow::Result<Self> {
        let dir = tempfile::tempdir()?;
        let nats = TestNats::start().await;
        let keys = DevKeys::load_or_generate(&dir.path().join("keys"))?;
        let mut services = Vec::new();
        for (name, prefix) in [
            ("venues", "VENUES"),
            ("volunteers", "VOLUNTEERS"),
            ("orders", "ORDERS"),
            ("legal-aid", "LEGAL_AID"),
        ] {
            services.push(Service {
                name,
                prefix,
                http: format!("127.0.0.1:{}", free_port()).parse()?,
                grpc: format!("127.0.0.1:{}", free_port()).parse()?,
                db: TestDb::new().await,
                child: None,
            });
        }
        let key = tongxin_platform::pii::PiiCipher::generate_key_base64;
        let mut env: Vec<(String, String)> = vec![
            ("TONGXIN_EVENTS__NATS_URL".into(), nats.url()),
            (
                "TONGXIN_AUTH__JWKS_PATH".into(),
                keys.jwks_path().display().to_string(),
            ),
            (
                "TONGXIN_AUTH__SERVICE_KEY_PATH".into(),
                dir.path()
                    .join("keys")
                    .join(DevKeys::KEY_FILE)
                    .display()
                    .to_string(),
            ),
            ("TONGXIN_VOLUNTEERS__PII__ENCRYPTION_KEY".into(), key()),
            ("TONGXIN_VOLUNTEERS__PII__HASH_KEY".into(), key()),
            ("TONGXIN_ORDERS__PII_KEY".into(), key()),
            ("TONGXIN_VENUES__PII_KEY".into(), key()),
            ("TONGXIN_LEGAL_AID__PII_KEY".into(), key()),
            ("TONGXIN_TELEMETRY__FORMAT".into(), "json".into()),
            ("RUST_LOG".into(), "warn".into()),
        ];
        for s in &services {
            let p = s.prefix;
            env.push((format!("TONGXIN_{p}__DATABASE__URL"), s.db.url().to_owned()));
            env.push((format!("TONGXIN_{p}__HTTP_ADDR"), s.http.to_string()));
            env.push((format!("TONGXIN_{p}__GRPC_ADDR"), s.grpc.to_string()));
        }
        for (var, name) in [
            ("TONGXIN_ORDERS__VENUES_URL", "venues"),
            ("TONGXIN_ORDERS__VOLUNTEERS_URL", "volunteers"),
            ("TONGXIN_ORDERS__LEGAL_AID_URL", "legal-aid"),
        ] {
            let grpc = services
                .iter()
                .find(|s| s.name == name)
                .map(|s| s.grpc)
                .ok_or_else(|| anyhow::anyhow!("no {name}"))?;
            env.push((var.into(), format!("http://{grpc}")));
        }
        run_tongxin(&env, &["migrate"], dir.path()).await?;
        // Before the services start, as an operator seeds a new deployment.
        let started = std::time::Instant::now();
        match data {
            Data::Demo => run_tongxin(&env, &["seed"], dir.path()).await?,
            Data::District => {
                run_tongxin(&env, &["seed", "--profile", "district"], dir.path()).await?;
            }
        }
        println!(
            "{data:?} data loaded in {:.0} s",
            started.elapsed().as_secs_f64()
        );
        for s in &mut services {
            let log = std::fs::File::create(dir.path().join(format!("{}.log", s.name)))?;
            let child = Command::new(tongxin_bin())
                .args(["serve", s.name])
                .envs(env.iter().map(|(k, v)| (k, v)))
                .current_dir(dir.path())
                .stdin(Stdio::null())
                .stdout(log.try_clone()?)
                .stderr(log)
                .kill_on_drop(true)
                .spawn()?;
            s.child = Some(child);
        }
        let client = reqwest::Client::new();
        for s in &services {
            let ready = format!("http://{}/readyz", s.http);
            let ok = tongxin_testing::wait_until(Duration::from_secs(60), || async {
                client
                    .get(&ready)
                    .send()
                    .await
                    .is_ok_and(|r| r.status().is_success())
            })
            .await;
            anyhow::ensure!(
                ok,
                "{} did not become ready (log in {})",
                s.name,
                dir.path().display()
            );
        }
        let router = start_router(&dir.path().join("router"), &keys, &services, router_env).await?;
        Ok(Self {
            services,
            env,
            keys,
            router,
            nats,
            dir,
        })
    }

    /// One more router (a second gateway replica) in front of the same services, with
    /// `router_env`; the caller stops it.
    pub async fn another_router(
        &self,
        name: &str,
        router_env: &[(&str, String)],
    ) -> anyhow::Result<RouterProcess> {
        start_router(
            &self.dir.path().join(name),
            &self.keys,
            &self.services,
            router_env,
        )
        .await
    }

    /// The router's own GraphQL URL (behind the guard).
    pub fn router_url(&self) -> &str {
        self.router.router_url()
    }

    /// The router's process id.
    pub fn router_pid(&self) -> Option<u32> {
        self.router.pid()
    }

    fn service(&self, name: &str) -> anyhow::Result<&Service> {
        self.services
            .iter()
            .find(|s| s.name == name)
            .ok_or_else(|| anyhow::anyhow!("no service {name}"))
    }

    /// A service's own GraphQL URL (the subgraph, without the router).
    pub fn graphql_url(&self, name: &str) -> anyhow::Result<String> {
        Ok(format!("http://{}/graphql", self.service(name)?.http))
    }

    /// A service's HTTP port.
    pub fn http_port(&self, name: &str) -> anyhow::Result<u16> {
        Ok(self.service(name)?.http.port())
    }

    /// A service's database URL.
    pub fn db_url(&self, name: &str) -> anyhow::Result<&str> {
        Ok(self.service(name)?.db.url())
    }

    /// A service's process id.
    pub fn pid(&self, name: &str) -> Option<u32> {
        self.service(name).ok()?.child.as_ref()?.id()
    }

    /// The bench's NATS server.
    pub fn nats_url(&self) -> String {
        self.nats.url()
    }

    /// The NATS server's resident set now, MiB.
    pub fn nats_rss_mib(&self) -> f64 {
        rss_mib(self.nats.pid())
    }

    /// Every client subscription the NATS server holds.
    pub async fn nats_subscriptions(&self) -> anyhow::Result<usize> {
        Ok(self.nats.subscriptions().await)
    }

    /// A token signed with the platform's key, scoped to a demo unit when one is given.
    pub fn token(
        &self,
        subject: &str,
        role: Role,
        unit_path: Option<&str>,
    ) -> anyhow::Result<String> {
        Ok(self.keys.sign(&TokenRequest {
            subject,
            roles: &[role],
            unit: unit_path.map(|p| demo::unit_id(p).0),
            district: Some(demo::DISTRICT),
            issuer: "tongxin",
            audience: "tongxin",
            ttl: Duration::from_secs(3 * 3600),
        })?)
    }

    /// Requests each service has answered so far, by kind (`http`, `grpc`), from their
    /// `tongxin_requests_total`.
    pub async fn requests(&self, client: &reqwest::Client) -> anyhow::Result<(f64, f64)> {
        let (mut http, mut grpc) = (0.0, 0.0);
        for s in &self.services {
            let text = client
                .get(format!("http://{}/metrics", s.http))
                .send()
                .await?
                .text()
                .await?;
            for line in text
                .lines()
                .filter(|l| l.starts_with("tongxin_requests_total{"))
            {
                let value: f64 = line
                    .rsplit(' ')
                    .next()
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(0.0);
                if line.contains("kind=\"http\"") {
                    http += value;
                } else if line.contains("kind=\"grpc\"") {
                    grpc += value;
                }
            }
        }
        Ok((http, grpc))
    }

    /// Stops the router and every service.
    pub async fn stop(mut self) {
        let _ = self.router.stop(Duration::from_secs(5)).await;
        for s in &mut self.services {
            if let Some(mut child) = s.child.take() {
                let _ = child.kill().await;
            }
        }
    }
}

/// A router in front of `services`, its files and log in `work_dir`.
async fn start_router(
    work_dir: &std::path::Path,
    keys: &DevKeys,
    services: &[Service],
    router_env: &[(&str, String)],
) -> anyhow::Result<RouterProcess> {
    let routes: Vec<(&str, String)> = services
        .iter()
        .map(|s| (s.name, format!("http://{}/graphql", s.http)))
        .collect();
    let binary = find_binary(None)?;
    RouterProcess::start(RouterOptions {
        binary: &binary,
        work_dir,
        listen: format!("127.0.0.1:{}", free_port()).parse()?,
        jwks: keys.jwks_path(),
        subgraphs: &routes,
        log_file: Some(&work_dir.with_extension("log")),
        env: router_env,
        persisted_only: false,
        guard: tongxin_guard::GuardSettings {
            // Many clients from one address: the rate limit would measure itself.
            rate_per_second: 0,
            ..tongxin_guard::GuardSettings::default()
        },
    })
    .await
}

/// The resident set of `pid` now, MiB (`VmRSS`); 0 when it cannot be read.
pub fn rss_mib(pid: Option<u32>) -> f64 {
    let Some(pid) = pid else { return 0.0 };
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.split_whitespace().next()?.parse::<f64>().ok())
        })
        .map_or(0.0, |kib| kib / 1024.0)
}

/// A client WebSocket speaking graphql-transport-ws at `ws_url`, its `connection_init` (with
/// `token`) sent; the caller reads the `connection_ack`.
pub async fn connect_ws(
    ws_url: &str,
    token: &str,
) -> anyhow::Result<
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>,
> {
    use futures::SinkExt;
    use tokio_tungstenite::tungstenite::Message;
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let mut request = ws_url.into_client_request()?;
    request
        .headers_mut()
        .insert("Sec-WebSocket-Protocol", "graphql-transport-ws".parse()?);
    let (mut socket, _) = tokio_tungstenite::connect_async(request).await?;
    let init = serde_json::json!({"type": "connection_init", "payload": {"Authorization": format!("Bearer {token}")}});
    socket.send(Message::text(init.to_string())).await?;
    Ok(socket)
}

/// Runs `tongxin <args>` with the platform's environment; fails with its output.
pub async fn run_tongxin(
    env: &[(String, String)],
    args: &[&str],
    dir: &Path,
) -> anyhow::Result<()> {
    let out = Command::new(tongxin_bin())
        .args(args)
        .envs(env.iter().map(|(k, v)| (k, v)))
        .current_dir(dir)
        .output()
        .await?;
    anyhow::ensure!(
        out.status.success(),
        "tongxin {args:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(())
}
