//! Test helpers: every test owns its data.
//!
//! - [`TestDb`]: a fresh PostgreSQL database per test, dropped afterwards;
//! - [`TestNats`]: a NATS server with JetStream per test, on a free port, with its own store
//!   directory; it can be killed (SIGKILL) and restarted on the same port and store;
//! - [`free_port`] and [`wait_until`];
//! - [`ws`]: a graphql-transport-ws client for subscriptions;
//! - [`spawn`]: services for one test, started through the platform registry, on
//!   PostgreSQL and NATS or SQLite and the in-process bus;
//! - [`dbproxy`]: a TCP proxy in front of a database that a test can break;
//! - [`bench`]: the recorder every bench writes its figures and baselines into.
//!
//! PostgreSQL is reached at `$TONGXIN_TEST_POSTGRES` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`); `nats-server` must be on `$PATH`.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use sea_orm::{ConnectionTrait, Database};

pub mod bench;
pub mod dbproxy;
pub mod profile;
mod spawn;
pub mod ws;

pub use spawn::{Spawn, Spawned, Store, spawn};

/// The admin URL of the test PostgreSQL server.
pub fn postgres_admin_url() -> String {
    std::env::var("TONGXIN_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

/// A free TCP port on 127.0.0.1 (for programs that cannot bind port 0 themselves).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("no free port")
}

/// Polls `check` every 50 ms until it is true or `timeout` passes.
pub async fn wait_until<F, Fut>(timeout: Duration, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if check().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

/// POSTs a GraphQL request to `url`, with a bearer token when given; returns the JSON body.
pub async fn graphql(
    url: &str,
    token: Option<&str>,
    query: &str,
    variables: serde_json::Value,
) -> serde_json::Value {
    let mut request = reqwest::Client::new()
        .post(url)
        .json(&serde_json::json!({ "query": query, "variables": variables }));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request
        .send()
        .await
        .expect("send")
        .json()
        .await
        .expect("a JSON response")
}

/// The metadata entry through which a gRPC caller once asserted who it acted for
/// (base64url JSON of a principal, believed without proof). Nothing reads it any more;
/// tests send it with [`forged_request`] to show that it grants nothing.
const FORGED_PRINCIPAL_KEY: &str = "x-tongxin-principal";

/// `message` as a forger sends it: with `credential`, if any, and beside it the old
/// principal entry claiming to be `claimed`.
pub fn forged_request<T>(
    message: T,
    credential: Option<&tongxin_platform::auth::Credential>,
    claimed: &tongxin_platform::auth::Principal,
) -> tonic::Request<T> {
    use base64::Engine;
    let json = serde_json::to_vec(claimed).expect("json");
    let value = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json);
    let mut request = tongxin_platform::grpc::request_as(message, credential);
    request
        .metadata_mut()
        .insert(FORGED_PRINCIPAL_KEY, value.parse().expect("ascii"));
    request
}

/// The first GraphQL error's `extensions.code`.
pub fn error_code(response: &serde_json::Value) -> Option<&str> {
    response["errors"][0]["extensions"]["code"].as_str()
}

/// Asserts that the GraphQL errors of `response` (messages and extensions) show nothing of
/// their cause: no SQL, driver, pool or address words, and none of `own_words` (the
/// service's tables, its cipher).
pub fn assert_no_cause(response: &serde_json::Value, own_words: &[&str]) {
    let errors = response["errors"].as_array().expect("errors");
    let text = errors
        .iter()
        .map(|e| format!("{} {}", e["message"], e["extensions"]))
        .collect::<String>()
        .to_lowercase();
    let common = [
        "outbox",
        "column",
        "select",
        "insert",
        "sqlx",
        "postgres",
        "database",
        "connection",
        "pool",
        "127.0.0.1",
    ];
    for word in own_words.iter().chain(&common) {
        assert!(!text.contains(word), "{word:?} leaked: {response}");
    }
}

/// A database that exists for one test.
pub struct TestDb {
    name: String,
    url: String,
}

impl TestDb {
    /// Creates `tongxin_test_<random>`.
    pub async fn new() -> Self {
        let admin = postgres_admin_url();
        let name = format!("tongxin_test_{}", uuid::Uuid::new_v4().simple());
        let conn = Database::connect(&admin)
            .await
            .expect("connect to the test PostgreSQL");
        conn.execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
            .await
            .expect("create test database");
        let _ = conn.close().await;
        let base = admin.rsplit_once('/').map(|(b, _)| b).unwrap_or(&admin);
        Self {
            url: format!("{base}/{name}"),
            name,
        }
    }

    /// Its URL.
    pub fn url(&self) -> &str {
        &self.url
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let name = self.name.clone();
        // Drop runs inside a runtime; do the async cleanup on a thread with its own.
        let _ = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            rt.block_on(async {
                if let Ok(conn) = Database::connect(&postgres_admin_url()).await {
                    let _ = conn
                        .execute_unprepared(&format!(
                            "DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"
                        ))
                        .await;
                    let _ = conn.close().await;
                }
            });
        })
        .join();
    }
}

/// A NATS server (JetStream on) owned by one test.
pub struct TestNats {
    port: u16,
    monitor_port: u16,
    store: tempfile::TempDir,
    child: Option<Child>,
}

impl TestNats {
    /// Starts `nats-server -js` on a free port and waits until it accepts connections.
    pub async fn start() -> Self {
        let store = tempfile::tempdir().expect("tempdir");
        let mut nats = Self {
            port: free_port(),
            monitor_port: free_port(),
            store,
            child: None,
        };
        nats.spawn().await;
        nats
    }

    async fn spawn(&mut self) {
        let store: PathBuf = self.store.path().to_owned();
        let child = Command::new("nats-server")
            .args([
                "-a",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-m",
                &self.monitor_port.to_string(),
                "-js",
                "-sd",
            ])
            .arg(&store)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("nats-server on PATH");
        self.child = Some(child);
        // Ready means this server (not whatever else may have taken the port meanwhile)
        // answers its health check, which includes JetStream having loaded its streams.
        let healthz = format!("http://127.0.0.1:{}/healthz", self.monitor_port);
        let addr = format!("127.0.0.1:{}", self.port);
        let up = wait_until(Duration::from_secs(10), || {
            let (healthz, addr) = (healthz.clone(), addr.clone());
            async move {
                reqwest::get(&healthz)
                    .await
                    .is_ok_and(|r| r.status().is_success())
                    && tokio::net::TcpStream::connect(addr).await.is_ok()
            }
        })
        .await;
        let exited = self
            .child
            .as_mut()
            .and_then(|c| c.try_wait().ok().flatten());
        assert!(
            exited.is_none(),
            "nats-server on {addr} exited at start ({exited:?}): is the port taken?"
        );
        assert!(up, "nats-server did not become healthy on {addr}");
    }

    /// `nats://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// How many client subscriptions on exactly `subject` the server holds (from its
    /// monitoring endpoint), so a test can wait until a subscriber listens instead of
    /// sleeping and hoping.
    pub async fn subscriptions_on(&self, subject: &str) -> usize {
        let url = format!(
            "http://127.0.0.1:{}/connz?subs=1&limit=1024",
            self.monitor_port
        );
        let Ok(response) = reqwest::get(&url).await else {
            return 0;
        };
        let body: serde_json::Value = response.json().await.unwrap_or_default();
        body["connections"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|c| c["subscriptions_list"].as_array().into_iter().flatten())
            .filter(|s| s.as_str() == Some(subject))
            .count()
    }

    /// Every client subscription the server holds (its `/subsz` count; 0 while it cannot be
    /// read): what a watcher costs the bus.
    pub async fn subscriptions(&self) -> usize {
        let url = format!("http://127.0.0.1:{}/subsz", self.monitor_port);
        let Ok(response) = reqwest::get(&url).await else {
            return 0;
        };
        let body: serde_json::Value = response.json().await.unwrap_or_default();
        body["num_subscriptions"].as_u64().unwrap_or(0) as usize
    }

    /// The server's process id while it runs (for its memory figures).
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// The server's view of the durable consumer `name` on `stream`, or `None` while it
    /// cannot be read (no such consumer yet, server down).
    pub async fn consumer_info(
        &self,
        stream: &str,
        name: &str,
    ) -> Option<async_nats::jetstream::consumer::Info> {
        let js = async_nats::jetstream::new(self.client().await);
        let stream = js.get_stream(stream).await.ok()?;
        stream.consumer_info(name).await.ok()
    }

    /// Whether every durable consumer on `stream` has delivered everything it matches and
    /// holds no delivery awaiting an ack (a nak'd one waiting to be redelivered counts as
    /// awaiting). Consumers ack after their transaction commits, so once this holds, every
    /// effect of every event now in the stream is in its database; a test can then read a
    /// final value instead of stopping at the first one that looks right. False while any
    /// consumer cannot be read.
    pub async fn consumers_idle(&self, stream: &str) -> bool {
        use futures::TryStreamExt;
        let js = async_nats::jetstream::new(self.client().await);
        let Ok(stream) = js.get_stream(stream).await else {
            return false;
        };
        let Ok(consumers) = stream
            .consumers()
            .try_collect::<Vec<async_nats::jetstream::consumer::Info>>()
            .await
        else {
            return false;
        };
        consumers
            .iter()
            .all(|c| c.num_pending == 0 && c.num_ack_pending == 0)
    }

    /// How many messages `stream` holds on exactly `subject` (0 while it cannot be read).
    pub async fn messages_on(&self, stream: &str, subject: &str) -> usize {
        use futures::TryStreamExt;
        let js = async_nats::jetstream::new(self.client().await);
        let Ok(stream) = js.get_stream(stream).await else {
            return 0;
        };
        let Ok(subjects) = stream.info_with_subjects(subject).await else {
            return 0;
        };
        subjects
            .try_collect::<Vec<(String, usize)>>()
            .await
            .unwrap_or_default()
            .into_iter()
            .filter(|(s, _)| s == subject)
            .map(|(_, n)| n)
            .sum()
    }

    /// SIGKILL: no goodbye, no flush.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts again on the same port with the same store.
    pub async fn restart(&mut self) {
        self.kill();
        self.spawn().await;
    }

    /// A plain client, for assertions.
    pub async fn client(&self) -> async_nats::Client {
        async_nats::connect(self.url())
            .await
            .expect("connect to test NATS")
    }
}

impl Drop for TestNats {
    fn drop(&mut self) {
        self.kill();
    }
}
