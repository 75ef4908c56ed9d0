//! Starting and stopping Hive Router beside the services, behind its admission guard.
//!
//! The router's configuration and the supergraph are compiled into this binary and written
//! next to the data, so `tongxin run` works from any directory and always serves the
//! supergraph that matches the code (CI checks schema/ against the code).
//!
//! Clients reach the guard ([`tongxin_guard`]) at the public address; the router listens on
//! a loopback port only the guard uses. services/gateway/README.md says why.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context, bail};
use tokio::process::{Child, Command};

/// The router configuration, as checked in.
pub const CONFIG: &str = include_str!("../../gateway/router.config.yaml");
/// The composed supergraph, as checked in.
pub const SUPERGRAPH: &str = include_str!("../../../schema/supergraph.graphql");
/// The trusted documents' manifest, as checked in (scripts/clients.sh compiles it).
pub const PERSISTED_DOCUMENTS: &str = include_str!("../../../clients/persisted-documents.json");
/// The pinned router version (scripts/install-router.sh installs exactly this one).
pub const VERSION: &str = "0.3.10";

/// Finds the `hive_router` binary: an explicit path, then `$TONGXIN_ROUTER_BIN`, then the
/// tools cache `make tools` fills, then `$PATH`.
pub fn find_binary(explicit: Option<&Path>) -> anyhow::Result<PathBuf> {
    if let Some(path) = explicit {
        return Ok(path.to_owned());
    }
    if let Some(path) = std::env::var_os("TONGXIN_ROUTER_BIN") {
        return Ok(PathBuf::from(path));
    }
    let tools = std::env::var_os("TONGXIN_TOOLS_DIR")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/tongxin/tools"))
        });
    if let Some(tools) = tools {
        let cached = tools.join(format!("hive-router-{VERSION}/bin/hive_router"));
        if cached.exists() {
            return Ok(cached);
        }
    }
    if let Some(paths) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&paths) {
            let candidate = dir.join("hive_router");
            if candidate.exists() {
                return Ok(candidate);
            }
        }
    }
    bail!(
        "hive_router not found: run `make tools` (builds it once, about 15 minutes) or set TONGXIN_ROUTER_BIN"
    )
}

/// What the router needs to know.
pub struct RouterOptions<'a> {
    /// The binary.
    pub binary: &'a Path,
    /// A directory for its config and supergraph files.
    pub work_dir: &'a Path,
    /// Where clients reach it.
    pub listen: SocketAddr,
    /// The JWKS the tokens are checked against.
    pub jwks: &'a Path,
    /// (subgraph name, GraphQL URL) pairs.
    pub subgraphs: &'a [(&'a str, String)],
    /// Where its output goes (`None`: inherit).
    pub log_file: Option<&'a Path>,
    /// More environment for the router (its telemetry switches, say), set last.
    pub env: &'a [(&'a str, String)],
    /// Run only the registered documents of [`PERSISTED_DOCUMENTS`] (production); `false`
    /// lets free queries run too (development).
    pub persisted_only: bool,
    /// The guard's limits; its `listen`, `upstream` and `jwks_path` are set from the above.
    pub guard: tongxin_guard::GuardSettings,
}

/// A running router and its guard; the router is killed if dropped without
/// [`RouterProcess::stop`].
pub struct RouterProcess {
    child: Child,
    url: String,
    router_url: String,
    guard: Option<(
        tokio::sync::oneshot::Sender<()>,
        tokio::task::JoinHandle<anyhow::Result<()>>,
    )>,
}

impl RouterProcess {
    /// Writes the files, starts the router and waits until `/readiness` answers 200.
    pub async fn start(options: RouterOptions<'_>) -> anyhow::Result<Self> {
        std::fs::create_dir_all(options.work_dir)?;
        let work_dir = options.work_dir.canonicalize()?;
        let config = work_dir.join("router.config.yaml");
        let supergraph = work_dir.join("supergraph.graphql");
        std::fs::write(&config, CONFIG)?;
        std::fs::write(&supergraph, SUPERGRAPH)?;
        let manifest = work_dir.join("persisted-documents.json");
        std::fs::write(&manifest, PERSISTED_DOCUMENTS)?;
        // An empty key set beside the config, as the config's default expects.
        std::fs::write(work_dir.join("empty-jwks.json"), "{\"keys\":[]}")?;
        // The router exits at once when its port is taken, while whatever holds the port may
        // well answer the readiness probe; so find out before starting it, and say so.
        if let Err(e) = std::net::TcpListener::bind(options.listen) {
            bail!(
                "{} is not free for the router ({e}); stop what uses it or pick another with --listen",
                options.listen
            );
        }

        // The router itself listens on a loopback port of its own, behind the guard.
        let internal: SocketAddr = {
            let probe = std::net::TcpListener::bind("127.0.0.1:0")?;
            probe.local_addr()?
        };
        let mut command = Command::new(options.binary);
        command
            .current_dir(&work_dir)
            .env("ROUTER_CONFIG_FILE_PATH", &config)
            .env("SUPERGRAPH_FILE_PATH", &supergraph)
            .env("TONGXIN_GATEWAY_HOST", internal.ip().to_string())
            .env("TONGXIN_GATEWAY_PORT", internal.port().to_string())
            .env("TONGXIN_GATEWAY_JWKS_FILE", options.jwks.canonicalize()?)
            .env("TONGXIN_GATEWAY_PERSISTED_DOCUMENTS", &manifest)
            .env(
                "TONGXIN_GATEWAY_PERSISTED_ONLY",
                if options.persisted_only {
                    "true"
                } else {
                    "false"
                },
            )
            .env("ROUTER_HTTP_WORKERS", "2")
            // These would override our listen address or add a second supergraph source.
            .env_remove("HOST")
            .env_remove("PORT")
            .env_remove("HIVE_CDN_ENDPOINT")
            .env_remove("HIVE_CDN_KEY")
            .env_remove("APOLLO_KEY")
            .kill_on_drop(true)
            .stdin(Stdio::null());
        for (name, url) in options.subgraphs {
            let var = format!(
                "TONGXIN_GATEWAY_SUBGRAPH_{}_URL",
                name.to_uppercase().replace('-', "_")
            );
            command.env(var, url);
        }
        for (name, value) in options.env {
            command.env(name, value);
        }
        if let Some(log) = options.log_file {
            let file = std::fs::File::create(log)?;
            command.stdout(file.try_clone()?).stderr(file);
        }
        let child = command
            .spawn()
            .with_context(|| format!("starting {}", options.binary.display()))?;
        let mut router = Self {
            child,
            url: format!("http://{}/graphql", options.listen),
            router_url: format!("http://{internal}/graphql"),
            guard: None,
        };
        router.wait_ready(internal).await?;

        let guard = tongxin_guard::Guard::bind(
            tongxin_guard::GuardSettings {
                listen: options.listen,
                upstream: format!("http://{internal}"),
                jwks_path: Some(options.jwks.canonicalize()?),
                ..options.guard
            },
            SUPERGRAPH,
        )
        .await?;
        router.url = format!("http://{}/graphql", guard.local_addr());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let serving = tokio::spawn(guard.run_until_stopped(async move {
            let _ = stopped.await;
        }));
        router.guard = Some((stop, serving));
        Ok(router)
    }

    async fn wait_ready(&mut self, listen: SocketAddr) -> anyhow::Result<()> {
        let readiness = format!("http://{listen}/readiness");
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(status) = self.child.try_wait()? {
                bail!("the router exited during start-up ({status}); see its log");
            }
            if probe(&readiness).await {
                return Ok(());
            }
            if tokio::time::Instant::now() > deadline {
                bail!("the router was not ready within 60 s");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The GraphQL URL clients use (the guard's).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The router's own GraphQL URL behind the guard (for measuring the guard's overhead).
    pub fn router_url(&self) -> &str {
        &self.router_url
    }

    /// The router process's id (for its memory figures), while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    /// Resolves when the router process exits (it should not while the platform runs).
    pub async fn exited(&mut self) -> std::io::Result<std::process::ExitStatus> {
        self.child.wait().await
    }

    /// Stops the guard, then the router: SIGTERM, then SIGKILL if it has not exited
    /// within `grace`.
    pub async fn stop(mut self, grace: Duration) -> anyhow::Result<()> {
        if let Some((stop, mut serving)) = self.guard.take() {
            let _ = stop.send(());
            // Open WebSockets do not hold the guard up: it drains what it can within grace.
            match tokio::time::timeout(grace, &mut serving).await {
                Ok(Ok(Err(e))) => {
                    tracing::warn!(error = %e, "the gateway guard stopped with an error")
                }
                Ok(_) => {}
                Err(_) => serving.abort(),
            }
        }
        if let Some(pid) = self.child.id() {
            // std has no SIGTERM; `kill` is on every Unix.
            let _ = Command::new("kill")
                .arg("-TERM")
                .arg(pid.to_string())
                .status()
                .await;
        }
        match tokio::time::timeout(grace, self.child.wait()).await {
            Ok(status) => {
                status?;
            }
            Err(_) => {
                tracing::warn!("router did not stop in time; killing it");
                self.child.kill().await?;
            }
        }
        Ok(())
    }
}

/// A bare HTTP/1.1 GET that reports whether the answer was 200. Avoids an HTTP client
/// dependency for one health probe.
async fn probe(url: &str) -> bool {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let Some(rest) = url.strip_prefix("http://") else {
        return false;
    };
    let (host, path) = rest
        .split_once('/')
        .map(|(h, p)| (h, format!("/{p}")))
        .unwrap_or((rest, "/".to_owned()));
    let Ok(Ok(mut stream)) =
        tokio::time::timeout(Duration::from_secs(2), tokio::net::TcpStream::connect(host)).await
    else {
        return false;
    };
    let request = format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
    if stream.write_all(request.as_bytes()).await.is_err() {
        return false;
    }
    let mut head = [0u8; 16];
    matches!(tokio::time::timeout(Duration::from_secs(2), stream.read(&mut head)).await, Ok(Ok(n)) if n >= 12 && &head[9..12] == b"200")
}
