//! `tongxin run`: every service in one process on embedded defaults (SQLite files under the
//! data dir, the in-process bus), demo data, local signing keys, and the router beside it.

use std::net::SocketAddr;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use tokio_util::sync::CancellationToken;
use tongxin_platform::auth::{DevKeys, Role, SigningKey, TokenRequest, Verifier};
use tongxin_platform::config::{
    AuthSettings, CommonSettings, DatabaseSettings, EventsBackend, EventsSettings,
};
use tongxin_platform::events::memory::MemoryBus;
use tongxin_platform::registry::{self, Handle, Hook, Module, Started};
use tongxin_venues::demo;
use tongxin_venues::store::org_units::OrgUnit;

use crate::router::{RouterOptions, RouterProcess};
use crate::settings::Settings;

/// How to run.
#[derive(Debug, Clone)]
pub struct Options {
    /// Where SQLite files, keys and router files live.
    pub data_dir: PathBuf,
    /// Where the router serves GraphQL.
    pub listen: SocketAddr,
    /// The router binary; `None` finds it.
    pub router_bin: Option<PathBuf>,
    /// Which data the first start loads.
    pub profile: Profile,
}

/// Which data `tongxin run` loads on its first start.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Profile {
    /// The demo (the default): a few of everything, placed through the real operations.
    #[default]
    Demo,
    /// The reference district at full scale ([`crate::district`]).
    District(tongxin_platform::district::District),
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

/// The demo users: a citizen, a volunteer, courtyard staff, center staff, and the
/// industrial-park legal-aid station's notary (a provider with a linked account).
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
    DemoUser {
        label: "notary (产业园法律服务站)",
        subject: tongxin_legal_aid::demo::accounts::NOTARY,
        roles: &[Role::LegalAidProvider],
        unit_path: tongxin_legal_aid::demo::paths::INDUSTRIAL_PARK,
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

fn sqlite(data_dir: &Path, service: &str) -> anyhow::Result<DatabaseSettings> {
    let path = data_dir.canonicalize()?.join(format!("{service}.db"));
    Ok(DatabaseSettings::new(&format!(
        "sqlite://{}",
        path.to_str().context("data dir is not UTF-8")?
    )))
}

/// Every service in the registry on embedded defaults: a SQLite file each under the data
/// dir, loopback ports (everything but the router is internal), keys from the keys dir.
fn embedded_modules(data_dir: &Path) -> anyhow::Result<Vec<Box<dyn Module>>> {
    let keys = keys_dir(data_dir);
    let mut settings = Settings::default();
    settings.volunteers.pii = pii_keys(&keys)?;
    settings.orders.pii_key = service_pii_key(&keys, "orders")?.into();
    settings.venues.pii_key = service_pii_key(&keys, "venues")?.into();
    settings.legal_aid.pii_key = service_pii_key(&keys, "legal-aid")?.into();
    let mut modules = crate::settings::registry(&settings);
    for module in &mut modules {
        let database = sqlite(data_dir, module.name())?;
        registry::on_loopback(module.as_mut(), database);
    }
    Ok(modules)
}

/// Runs until `shutdown`; prints the URL and demo tokens once everything is up.
pub async fn run(options: Options, shutdown: CancellationToken) -> anyhow::Result<()> {
    std::fs::create_dir_all(&options.data_dir)
        .with_context(|| format!("creating data dir {}", options.data_dir.display()))?;
    // The SQLite files hold personal data (sealed, but still) and the keys dir the signing
    // key: only the owner may enter the data dir, whatever the umask gave the files in it.
    std::fs::set_permissions(&options.data_dir, std::fs::Permissions::from_mode(0o700))
        .with_context(|| format!("making data dir {} private", options.data_dir.display()))?;
    let router_bin = crate::router::find_binary(options.router_bin.as_deref())?;
    let keys = DevKeys::load_or_generate(&keys_dir(&options.data_dir))?;
    let verifier = Arc::new(Verifier::from_jwks_json(
        keys.jwks_json(),
        "tongxin",
        "tongxin",
    )?);
    let common = CommonSettings {
        // In one process the relay is woken on every commit; polling is only a fallback.
        events: EventsSettings {
            backend: EventsBackend::Memory,
            relay_interval_ms: 1000,
            ..EventsSettings::default()
        },
        shutdown_timeout_secs: 5,
        // The services sign their service tokens with the dev key, whose public half is
        // in the JWKS.
        auth: AuthSettings {
            service_key_path: Some(keys.key_path().to_owned()),
            ..AuthSettings::default()
        },
        ..CommonSettings::default()
    };
    let demo_key = keys.signing_key();
    let report = std::sync::Arc::new(std::sync::Mutex::new(crate::district::Report::default()));
    let hooks = match options.profile {
        Profile::Demo => demo_hooks(demo_key),
        Profile::District(district) => crate::district::hooks(
            district,
            Arc::new(crate::district::Bars::stderr()),
            report.clone(),
        ),
    };
    let registry_options = registry::Options {
        common,
        bus: Arc::new(MemoryBus::new()),
        verifier,
        // Orders calls venues (routing) and volunteers (matching) over gRPC at their
        // in-process addresses, like separate deployments would.
        local_peers: true,
        hooks,
    };
    let modules = embedded_modules(&options.data_dir)?;
    let running = registry::start(modules, registry_options, shutdown.clone()).await?;
    if let Profile::District(_) = options.profile
        && let Ok(report) = report.lock()
    {
        crate::district::print_report(&report);
    }
    let subgraphs: Vec<(&str, String)> = running
        .started()
        .iter()
        .map(|service| (service.name(), service.graphql_url()))
        .collect();

    let router_dir = options.data_dir.join("router");
    let router = RouterProcess::start(RouterOptions {
        binary: &router_bin,
        work_dir: &router_dir,
        listen: options.listen,
        jwks: keys.jwks_path(),
        subgraphs: &subgraphs,
        log_file: Some(&router_dir.join("router.log")),
        env: &[],
        persisted_only: false,
        guard: tongxin_guard::GuardSettings::default(),
    })
    .await;
    let mut router = match router {
        Ok(router) => router,
        Err(e) => {
            let _ = running.stop().await;
            return Err(e);
        }
    };

    print_welcome(router.url(), &keys, options.profile)?;
    // The router is the platform's front door: if it dies, `run` stops and says so instead
    // of leaving services that nobody can reach.
    tokio::select! {
        () = shutdown.cancelled() => {}
        status = router.exited() => {
            let _ = running.stop().await;
            bail!("the router exited ({}); see {}", status.map(|s| s.to_string()).unwrap_or_else(|e| e.to_string()), router_dir.join("router.log").display());
        }
    }
    tracing::info!("stopping");
    let router_stopped = router.stop(Duration::from_secs(5)).await;
    let services_stopped = running.wait().await;
    router_stopped?;
    services_stopped?;
    println!("Tongxin stopped.");
    Ok(())
}

/// The demo data as start hooks, each run once its service is up: the district's tree,
/// venues and activities, volunteers, the menu and orders in every state. Every step skips
/// what is already there, so a second run (or `tongxin seed` twice) changes nothing.
/// The demo orders are placed by demo people whose tokens `key` signs.
pub fn demo_hooks(key: std::sync::Arc<SigningKey>) -> Vec<Hook> {
    vec![
        Hook::after(tongxin_venues::NAME, |started| async move {
            seed_venues(&started).await
        }),
        volunteers_learn_units(),
        Hook::after(tongxin_volunteers::NAME, |started| async move {
            seed_volunteers(&started).await
        }),
        Hook::after(tongxin_orders::NAME, |started| async move {
            seed_orders(&started, &key).await
        }),
        Hook::after(tongxin_legal_aid::NAME, |started| async move {
            seed_legal_aid(&started).await
        }),
    ]
}

/// The embedded legal-aid service learns the demo tree (in a deployment it follows the
/// venues unit events) and, on the first run, gets the demo stations, providers and rosters.
async fn seed_legal_aid(started: &Started) -> anyhow::Result<()> {
    let legal_aid = learn_units(started).await?;
    let stations = tongxin_legal_aid::demo::seed(legal_aid)
        .await
        .map_err(|e| anyhow::anyhow!("seeding legal aid: {e:?}"))?;
    if stations > 0 {
        tracing::info!(stations, "demo legal-aid stations seeded");
    }
    Ok(())
}

/// A hook that has legal-aid learn the org tree from venues in this process (tests: scopes
/// of staff, stations' units), without the demo stations.
pub fn legal_aid_learns_units() -> Hook {
    Hook::after(tongxin_legal_aid::NAME, |started| async move {
        learn_units(&started).await.map(|_| ())
    })
}

async fn learn_units(started: &Started) -> anyhow::Result<&tongxin_legal_aid::service::LegalAid> {
    let legal_aid: &tongxin_legal_aid::service::LegalAid =
        started
            .state(tongxin_legal_aid::NAME)
            .context("the legal-aid service is not running in this process")?;
    use tongxin_platform::org::Level;
    use tongxin_venues::domain::org::UnitKind;
    for unit in demo_units(started).await? {
        let level = match unit.kind {
            UnitKind::Center => Level::Center,
            UnitKind::Institute => Level::Institute,
            UnitKind::Station => Level::Station,
            UnitKind::Courtyard => Level::Courtyard,
        };
        legal_aid
            .remember_unit(unit.id.0, &unit.path, level)
            .await
            .map_err(|e| anyhow::anyhow!("remembering unit {}: {e:?}", unit.path))?;
    }
    Ok(legal_aid)
}

/// The venues service running in this process.
fn venues(started: &Started) -> anyhow::Result<&Handle> {
    started
        .get(tongxin_venues::NAME)
        .context("the venues service is not running in this process")
}

/// The demo district's units, read from the venues database of this process.
async fn demo_units(started: &Started) -> anyhow::Result<Vec<OrgUnit>> {
    Ok(tongxin_venues::store::org_units::all(venues(started)?.db()).await?)
}

/// On the first run: the demo district's tree, venues and activities.
async fn seed_venues(started: &Started) -> anyhow::Result<()> {
    let db = venues(started)?.db();
    let seeded = demo::seed(db).await?;
    if seeded > 0 {
        let units = tongxin_venues::store::org_units::all(db).await?;
        let (places, activities) =
            tongxin_venues::demo::venues::seed_venues_and_activities(db, &units).await?;
        // A year of visits and monthly courtyard activities, and the misses they leave.
        let state: &tongxin_venues::service::Venues = started
            .state(tongxin_venues::NAME)
            .context("venues is not running")?;
        let started_at = std::time::Instant::now();
        let rhythm = tongxin_venues::demo::rhythm::seed_now(state).await?;
        tracing::info!(
            units = seeded,
            venues = places,
            activities,
            visits = rhythm.visits,
            courtyard_activities = rhythm.activities,
            cadence_misses = rhythm.misses,
            rhythm_ms = started_at.elapsed().as_millis() as u64,
            "demo district seeded"
        );
    }
    Ok(())
}

/// In one process the volunteers service learns the org tree directly from venues (in a
/// deployment it follows the venues unit events), so staff have their scope from the start.
pub fn volunteers_learn_units() -> Hook {
    Hook::after(tongxin_volunteers::NAME, |started| async move {
        let volunteers = volunteers_of(&started)?;
        for unit in demo_units(&started).await? {
            volunteers
                .remember_unit_details(
                    unit.id.0,
                    &unit.path,
                    &unit.name,
                    (unit.location.lat(), unit.location.lon()),
                )
                .await
                .map_err(|e| anyhow::anyhow!("remembering unit {}: {e:?}", unit.path))?;
        }
        Ok(())
    })
}

fn volunteers_of(started: &Started) -> anyhow::Result<&tongxin_volunteers::service::Volunteers> {
    started
        .state(tongxin_volunteers::NAME)
        .context("the volunteers service is not running in this process")
}

/// Synthetic volunteers around the courtyards, so `matchCandidates` answers.
async fn seed_volunteers(started: &Started) -> anyhow::Result<()> {
    let courtyards: Vec<tongxin_volunteers::demo::HomeUnit> = demo_units(started)
        .await?
        .into_iter()
        .filter(|u| u.kind == tongxin_venues::domain::org::UnitKind::Courtyard)
        .map(|u| tongxin_volunteers::demo::HomeUnit {
            id: u.id.0,
            lat: u.location.lat(),
            lon: u.location.lon(),
            path: u.path,
        })
        .collect();
    let seeded = volunteers_of(started)?
        .seed_demo(&courtyards)
        .await
        .map_err(|e| anyhow::anyhow!("seeding demo volunteers: {e:?}"))?;
    if seeded > 0 {
        tracing::info!(volunteers = seeded, "demo volunteers seeded");
    }
    Ok(())
}

/// The embedded orders service learns the demo tree, gets the demo menu and, on the first
/// run, a handful of demo orders in every state (placed through venues routing, made by
/// demo people whose tokens `key` signs). A failure
/// to place demo orders is logged, not fatal: the menu and the service still work.
async fn seed_orders(started: &Started, key: &SigningKey) -> anyhow::Result<()> {
    let orders: &tongxin_orders::service::Orders = started
        .state(tongxin_orders::NAME)
        .context("the orders service is not running in this process")?;
    let units = demo_units(started).await?;
    use tongxin_orders::domain::Level;
    use tongxin_venues::domain::org::UnitKind;
    for unit in &units {
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
        let center = demo::unit_id(demo::paths::CENTER).0;
        match tongxin_orders::demo::seed_orders(orders, key, center, point).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(orders = n, "demo orders placed"),
            Err(e) => tracing::warn!(error = ?e, "demo orders not placed"),
        }
        // The last quarter's evaluation, published, so the console shows a frozen ranking.
        // It asks venues and volunteers for a quarter of the whole district, which on a
        // machine busy starting everything may outlast one call's timeout: try again, waiting
        // longer each time (1, 2, 4 … 16 s: about a minute in all), then give up with a warning.
        const ATTEMPTS: u32 = 6;
        for attempt in 1..=ATTEMPTS {
            match tongxin_orders::demo::publish_last_quarter(orders, key, center).await {
                Ok(Some(version)) => tracing::info!(version, "demo evaluation published"),
                Ok(None) => {}
                Err(e) if attempt < ATTEMPTS => {
                    tracing::info!(attempt, error = ?e, "demo evaluation not published yet; trying again");
                    tokio::time::sleep(std::time::Duration::from_secs(1 << (attempt - 1))).await;
                    continue;
                }
                Err(e) => tracing::warn!(error = ?e, "demo evaluation not published"),
            }
            break;
        }
    }
    Ok(())
}

/// The key for contact phones of an embedded service (orders, venues): `<service>-pii.key`
/// in the keys directory, generated (mode 0600) when missing.
fn service_pii_key(dir: &Path, service: &str) -> anyhow::Result<String> {
    let path = dir.join(format!("{service}-pii.key"));
    if path.exists() {
        return Ok(std::fs::read_to_string(&path)
            .with_context(|| format!("reading {}", path.display()))?
            .trim()
            .to_owned());
    }
    let key = tongxin_platform::pii::PiiCipher::generate_key_base64();
    create_private(&path, key.as_bytes())?;
    Ok(key)
}

/// Creates `path` (and its directory) readable by this user only, holding `bytes`; an
/// existing file is an error, never overwritten.
fn create_private(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options
        .open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    std::io::Write::write_all(&mut file, bytes)?;
    Ok(())
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
        create_private(&path, serde_json::to_string_pretty(&stored)?.as_bytes())?;
        stored
    };
    Ok(tongxin_volunteers::PiiSettings::new(
        &stored.encryption_key,
        &stored.hash_key,
    ))
}

fn print_welcome(url: &str, keys: &DevKeys, profile: Profile) -> anyhow::Result<()> {
    let data = match profile {
        Profile::Demo => "demo data",
        Profile::District(_) => "the reference district's data",
    };
    println!();
    println!("Tongxin is running (embedded: SQLite, in-process events, {data}).");
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
