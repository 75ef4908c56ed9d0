//! `tongxin run`: every service in one process on embedded defaults (SQLite files under the
//! data dir, the in-process bus), demo data, local signing keys, and the router beside it.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio_util::sync::CancellationToken;
use tongxin_platform::auth::{DevKeys, Role, TokenRequest, Verifier};
use tongxin_platform::config::{CommonSettings, EventsBackend, EventsSettings, ServiceSettings};
use tongxin_platform::events::SharedBus;
use tongxin_platform::events::memory::MemoryBus;
use tongxin_venues::demo;

use crate::router::{RouterOptions, RouterProcess};

/// How to run.
#[derive(Debug, Clone)]
pub struct Options {
    /// Where SQLite files, keys and router files live.
    pub data_dir: PathBuf,
    /// Where the router serves GraphQL.
    pub listen: SocketAddr,
    /// The router binary; `None` finds it.
    pub router_bin: Option<PathBuf>,
}

/// A demo user whose token `tongxin run` prints.
pub struct DemoUser {
    /// Who.
    pub label: &'static str,
    /// `sub`.
    pub subject: &'static str,
    /// Roles.
    pub roles: &'static [Role],
    /// Scope unit path in the demo tree.
    pub unit_path: &'static str,
}

/// The demo users: a citizen, a volunteer, courtyard staff and center staff.
pub const DEMO_USERS: &[DemoUser] = &[
    DemoUser {
        label: "citizen (蔡家坝)",
        subject: "demo-citizen",
        roles: &[Role::Citizen],
        unit_path: demo::paths::CAIJIABA,
    },
    DemoUser {
        label: "volunteer (蔡家坝)",
        subject: "demo-volunteer",
        roles: &[Role::Volunteer],
        unit_path: demo::paths::CAIJIABA,
    },
    DemoUser {
        label: "courtyard staff (蔡家坝小院)",
        subject: "demo-courtyard-staff",
        roles: &[Role::Staff],
        unit_path: demo::paths::CAIJIABA,
    },
    DemoUser {
        label: "center staff (荣昌区中心)",
        subject: "demo-center-staff",
        roles: &[Role::Staff],
        unit_path: demo::paths::CENTER,
    },
];

/// The directory holding the development key pair and JWKS.
pub fn keys_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("keys")
}

/// Signs a token for a demo user, valid for a week.
pub fn demo_token(keys: &DevKeys, user: &DemoUser) -> anyhow::Result<String> {
    Ok(keys.sign(&TokenRequest {
        subject: user.subject,
        roles: user.roles,
        unit: Some(demo::unit_id(user.unit_path).0),
        district: Some(demo::DISTRICT),
        issuer: "tongxin",
        audience: "tongxin",
        ttl: Duration::from_secs(7 * 24 * 3600),
    })?)
}

fn sqlite(data_dir: &Path, service: &str) -> anyhow::Result<ServiceSettings> {
    let path = data_dir.canonicalize()?.join(format!("{service}.db"));
    let mut settings = ServiceSettings::on_ports(
        0,
        0,
        &format!(
            "sqlite://{}",
            path.to_str().context("data dir is not UTF-8")?
        ),
    );
    // Loopback only: in embedded mode everything but the router is internal.
    settings.http_addr = SocketAddr::from(([127, 0, 0, 1], 0));
    settings.grpc_addr = SocketAddr::from(([127, 0, 0, 1], 0));
    Ok(settings)
}

/// Runs until `shutdown`; prints the URL and demo tokens once everything is up.
pub async fn run(options: Options, shutdown: CancellationToken) -> anyhow::Result<()> {
    std::fs::create_dir_all(&options.data_dir)
        .with_context(|| format!("creating data dir {}", options.data_dir.display()))?;
    let router_bin = crate::router::find_binary(options.router_bin.as_deref())?;
    let keys = DevKeys::load_or_generate(&keys_dir(&options.data_dir))?;
    let verifier = Arc::new(Verifier::from_jwks_json(
        keys.jwks_json(),
        "tongxin",
        "tongxin",
    )?);
    let bus: SharedBus = Arc::new(MemoryBus::new());

    let common = CommonSettings {
        // In one process the relay is woken on every commit; polling is only a fallback.
        events: EventsSettings {
            backend: EventsBackend::Memory,
            relay_interval_ms: 1000,
            ..EventsSettings::default()
        },
        shutdown_timeout_secs: 5,
        ..CommonSettings::default()
    };

    let shared = tongxin_venues::Shared {
        bus: bus.clone(),
        verifier: verifier.clone(),
    };
    let venues =
        tongxin_venues::App::build(&sqlite(&options.data_dir, "venues")?, &common, shared).await?;
    let seeded = demo::seed(venues.db()).await?;
    if seeded > 0 {
        let units = tongxin_venues::store::org_units::all(venues.db()).await?;
        let (places, activities) =
            tongxin_venues::demo::venues::seed_venues_and_activities(venues.db(), &units).await?;
        tracing::info!(
            units = seeded,
            venues = places,
            activities,
            "demo district seeded"
        );
    }
    let venues_url = format!("http://{}/graphql", venues.http_addr());
    let venues_grpc = format!("http://{}", venues.grpc_addr());
    let units = tongxin_venues::store::org_units::all(venues.db()).await?;
    let venues_task = tokio::spawn(venues.run_until_stopped(shutdown.clone()));

    let mut volunteer_settings = tongxin_volunteers::VolunteersSettings {
        pii: pii_keys(&keys_dir(&options.data_dir))?,
        ..tongxin_volunteers::default_settings()
    };
    let service = sqlite(&options.data_dir, "volunteers")?;
    volunteer_settings.http_addr = service.http_addr;
    volunteer_settings.grpc_addr = service.grpc_addr;
    volunteer_settings.database = service.database;
    let volunteers = tongxin_volunteers::App::build(
        &volunteer_settings,
        &common,
        tongxin_volunteers::Shared {
            bus: bus.clone(),
            verifier: verifier.clone(),
        },
    )
    .await?;
    // In one process the volunteers service learns the demo tree directly (in a
    // deployment it will follow the venues unit events), so demo staff have their scope.
    for unit in &units {
        volunteers
            .volunteers()
            .remember_unit_details(
                unit.id.0,
                &unit.path,
                &unit.name,
                (unit.location.lat(), unit.location.lon()),
            )
            .await
            .map_err(|e| anyhow::anyhow!("remembering unit {}: {e:?}", unit.path))?;
    }
    // Synthetic volunteers around the courtyards, so `matchCandidates` answers.
    let courtyards: Vec<tongxin_volunteers::demo::HomeUnit> = units
        .iter()
        .filter(|u| u.kind == tongxin_venues::domain::org::UnitKind::Courtyard)
        .map(|u| tongxin_volunteers::demo::HomeUnit {
            id: u.id.0,
            path: u.path.clone(),
            lat: u.location.lat(),
            lon: u.location.lon(),
        })
        .collect();
    let seeded = volunteers
        .volunteers()
        .seed_demo(&courtyards)
        .await
        .map_err(|e| anyhow::anyhow!("seeding demo volunteers: {e:?}"))?;
    if seeded > 0 {
        tracing::info!(volunteers = seeded, "demo volunteers seeded");
    }
    let volunteers_url = format!("http://{}/graphql", volunteers.http_addr());
    let volunteers_grpc = format!("http://{}", volunteers.grpc_addr());
    let volunteers_task = tokio::spawn(volunteers.run_until_stopped(shutdown.clone()));

    // Orders calls venues (routing) and volunteers (matching) over gRPC at their in-process
    // addresses, like separate deployments would.
    let service = sqlite(&options.data_dir, "orders")?;
    let orders_settings = tongxin_orders::OrdersSettings {
        http_addr: service.http_addr,
        grpc_addr: service.grpc_addr,
        database: service.database,
        pii_key: orders_pii_key(&keys_dir(&options.data_dir))?.into(),
        venues_url: venues_grpc,
        volunteers_url: volunteers_grpc,
        ..tongxin_orders::default_settings()
    };
    let orders = tongxin_orders::App::build(
        &orders_settings,
        &common,
        tongxin_orders::Shared {
            bus: bus.clone(),
            verifier: verifier.clone(),
        },
    )
    .await?;
    seed_orders(orders.orders(), &units).await?;
    let orders_url = format!("http://{}/graphql", orders.http_addr());
    let orders_task = tokio::spawn(orders.run_until_stopped(shutdown.clone()));

    let router_dir = options.data_dir.join("router");
    let router = RouterProcess::start(RouterOptions {
        binary: &router_bin,
        work_dir: &router_dir,
        listen: options.listen,
        jwks: keys.jwks_path(),
        subgraphs: &[
            ("venues", venues_url),
            ("volunteers", volunteers_url),
            ("orders", orders_url),
        ],
        log_file: Some(&router_dir.join("router.log")),
    })
    .await;
    let router = match router {
        Ok(router) => router,
        Err(e) => {
            shutdown.cancel();
            let _ = venues_task.await;
            let _ = volunteers_task.await;
            let _ = orders_task.await;
            return Err(e);
        }
    };

    print_welcome(router.url(), &keys)?;
    shutdown.cancelled().await;
    tracing::info!("stopping");
    let router_stopped = router.stop(Duration::from_secs(5)).await;
    let venues_stopped = venues_task.await?;
    let volunteers_stopped = volunteers_task.await?;
    let orders_stopped = orders_task.await?;
    router_stopped?;
    venues_stopped?;
    volunteers_stopped?;
    orders_stopped?;
    println!("Tongxin stopped.");
    Ok(())
}

/// The embedded orders service learns the demo tree, gets the demo menu and, on the first
/// run, a handful of demo orders in every state (placed through venues routing). A failure
/// to place demo orders is logged, not fatal: the menu and the service still work.
async fn seed_orders(
    orders: &tongxin_orders::service::Orders,
    units: &[tongxin_venues::store::org_units::OrgUnit],
) -> anyhow::Result<()> {
    use tongxin_orders::domain::Level;
    use tongxin_venues::domain::org::UnitKind;
    for unit in units {
        let level = match unit.kind {
            UnitKind::Center => Level::Center,
            UnitKind::Institute => Level::Institute,
            UnitKind::Station => Level::Station,
            UnitKind::Courtyard => Level::Courtyard,
        };
        orders
            .remember_unit(unit.id.0, &unit.path, level)
            .await
            .map_err(|e| anyhow::anyhow!("remembering unit {}: {e:?}", unit.path))?;
    }
    tongxin_orders::demo::seed_menu(orders)
        .await
        .map_err(|e| anyhow::anyhow!("seeding the service menu: {e:?}"))?;
    let caijiaba = units
        .iter()
        .find(|u| u.path == demo::paths::CAIJIABA)
        .map(|u| (u.location.lat(), u.location.lon()));
    if let Some(point) = caijiaba {
        match tongxin_orders::demo::seed_orders(orders, demo::unit_id(demo::paths::CENTER).0, point)
            .await
        {
            Ok(0) => {}
            Ok(n) => tracing::info!(orders = n, "demo orders placed"),
            Err(e) => tracing::warn!(error = ?e, "demo orders not placed"),
        }
    }
    Ok(())
}

/// The key for contact phones of the embedded orders service: `orders-pii.key` in the keys
/// directory, generated (mode 0600) when missing.
fn orders_pii_key(dir: &Path) -> anyhow::Result<String> {
    let path = dir.join("orders-pii.key");
    if path.exists() {
        return Ok(std::fs::read_to_string(&path)
            .with_context(|| format!("reading {}", path.display()))?
            .trim()
            .to_owned());
    }
    let key = tongxin_platform::pii::PiiCipher::generate_key_base64();
    std::fs::create_dir_all(dir)?;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options
        .open(&path)
        .with_context(|| format!("creating {}", path.display()))?;
    std::io::Write::write_all(&mut file, key.as_bytes())?;
    Ok(key)
}

/// The PII keys of the embedded volunteers service: read from `pii.json` in the keys
/// directory, generated (and written with mode 0600) when missing.
pub fn pii_keys(dir: &Path) -> anyhow::Result<tongxin_volunteers::PiiSettings> {
    #[derive(serde::Serialize, serde::Deserialize)]
    struct Stored {
        encryption_key: String,
        hash_key: String,
    }
    let path = dir.join("pii.json");
    let stored = if path.exists() {
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading {}", path.display()))?;
        serde_json::from_str::<Stored>(&text)
            .with_context(|| format!("{} is not a PII key file", path.display()))?
    } else {
        use tongxin_platform::pii::PiiCipher;
        let stored = Stored {
            encryption_key: PiiCipher::generate_key_base64(),
            hash_key: PiiCipher::generate_key_base64(),
        };
        std::fs::create_dir_all(dir)?;
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut file = options
            .open(&path)
            .with_context(|| format!("creating {}", path.display()))?;
        std::io::Write::write_all(&mut file, serde_json::to_string_pretty(&stored)?.as_bytes())?;
        stored
    };
    Ok(tongxin_volunteers::PiiSettings::new(
        &stored.encryption_key,
        &stored.hash_key,
    ))
}

fn print_welcome(url: &str, keys: &DevKeys) -> anyhow::Result<()> {
    println!();
    println!("Tongxin is running (embedded: SQLite, in-process events, demo data).");
    println!("  GraphQL:  {url}   (open it in a browser for GraphiQL)");
    println!();
    println!(
        "Tokens for the demo users; in GraphiQL add the header  Authorization: Bearer <token>"
    );
    for user in DEMO_USERS {
        println!();
        println!("  {}:", user.label);
        println!("  {}", demo_token(keys, user)?);
    }
    println!();
    println!(
        "Try:  {{ orgUnit(id: \"{}\") {{ name path children {{ edges {{ node {{ name kind }} }} }} }} }}",
        demo::unit_id(demo::paths::CENTER)
    );
    println!("Stop with ctrl-c.");
    println!("READY {url}");
    Ok(())
}
