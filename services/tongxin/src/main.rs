//! `tongxin`: run the whole platform, serve one service, migrate, export schemas, sign
//! development tokens. `main` only parses arguments and hands over.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};
use tongxin::settings::{Settings, service_names};
use tongxin_platform::auth::{self, DevKeys, Role, TokenRequest};
use tongxin_platform::config::{LogFormat, TelemetrySettings};
use tongxin_platform::district::{District, ProfileName};
use tongxin_platform::registry;

/// Tongxin (同心): the district's civilization-practice volunteer service.
///
/// Start everything on your machine with `tongxin run`; in production each service runs as
/// `tongxin serve <service>` against PostgreSQL and NATS.
#[derive(Parser)]
#[command(name = "tongxin", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the whole platform in one process: every service on SQLite, in-process events,
    /// demo data, and the GraphQL router (GraphiQL in the browser). Prints ready tokens.
    Run {
        /// Where SQLite files, development keys and router files are kept.
        #[arg(long, default_value = "./data")]
        data_dir: PathBuf,
        /// Where the router serves GraphQL.
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
        /// The hive_router binary (default: $TONGXIN_ROUTER_BIN, the `make tools` cache, $PATH).
        #[arg(long)]
        router_bin: Option<PathBuf>,
        #[command(flatten)]
        profile: ProfileArgs,
    },
    /// Serve one or more services against PostgreSQL and NATS, configured by tongxin.toml
    /// and TONGXIN_<SECTION>__<KEY> environment variables.
    Serve {
        /// Which services: venues, volunteers, orders.
        #[arg(required = true, value_parser = clap::builder::PossibleValuesParser::new(service_names()))]
        services: Vec<String>,
        /// A TOML file (default: ./tongxin.toml when present).
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// Run the gateway's admission guard in front of a router started elsewhere (split mode,
    /// Helm): `[guard]` in tongxin.toml or TONGXIN_GUARD__<KEY> (LISTEN, UPSTREAM,
    /// JWKS_PATH, MAX_COST, MAX_ANONYMOUS_COST, RATE_PER_SECOND, EXPLORER=false in production, …).
    Guard {
        /// A TOML file (default: ./tongxin.toml when present).
        #[arg(long)]
        config: Option<PathBuf>,
        /// The supergraph SDL the router serves (default: the one compiled into this binary).
        #[arg(long)]
        supergraph: Option<PathBuf>,
    },
    /// Bring the services' databases up to date, then exit.
    Migrate {
        /// Which services (default: all).
        #[arg(value_parser = clap::builder::PossibleValuesParser::new(service_names()))]
        services: Vec<String>,
        /// A TOML file (default: ./tongxin.toml when present).
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// Re-seal the services' stored personal data under the first key of each PII key ring
    /// (`v2:<new>,v1:<old>`), then exit: step two of rotating a PII key (docs/deploy.md
    /// "Rotate the PII keys"). Safe beside running replicas; a second run changes nothing.
    Reseal {
        /// Which services (default: all).
        #[arg(value_parser = clap::builder::PossibleValuesParser::new(service_names()))]
        services: Vec<String>,
        /// A TOML file (default: ./tongxin.toml when present).
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// Print a service's GraphQL subgraph SDL (what `make schema` writes to schema/).
    Schema {
        /// Which service.
        #[arg(value_parser = clap::builder::PossibleValuesParser::new(service_names()))]
        service: String,
    },
    /// Draw the 15-minute-circle coverage map of a unit (the whole district without --unit)
    /// as an SVG file.
    Coverage {
        /// The unit: a UUID or a path such as /rc/changyuan.
        #[arg(long)]
        unit: Option<String>,
        /// Where to write the SVG.
        #[arg(long, default_value = "coverage.svg")]
        out: PathBuf,
        /// Walking minutes.
        #[arg(long, default_value_t = 15.0)]
        minutes: f64,
        /// Suggested new sites to draw.
        #[arg(long, default_value_t = 5)]
        suggestions: usize,
        #[command(flatten)]
        db: DatabaseArgs,
    },
    /// Import data from a file.
    Import {
        #[command(subcommand)]
        what: ImportCommand,
    },
    /// Load seed data into the configured (PostgreSQL) databases, for split mode: the demo
    /// of `tongxin run`, or with `--profile district` the reference district in bulk.
    /// Idempotent; run after `migrate`.
    Seed {
        /// A TOML file (default: ./tongxin.toml when present).
        #[arg(long)]
        config: Option<PathBuf>,
        #[command(flatten)]
        profile: ProfileArgs,
    },
    /// Make the development signing key and its JWKS in a directory (once; later calls
    /// reuse them) and print the JWKS path, for TONGXIN_AUTH__JWKS_PATH and the router.
    Keys {
        /// The key directory.
        #[arg(long, default_value = "./data/keys")]
        dir: PathBuf,
    },
    /// Watch the event stream (NATS; services in split mode).
    Events {
        #[command(subcommand)]
        what: EventsCommand,
    },
    /// Sign a development token with the local key (created on first use): a user's
    /// (`--role`), or a service's own (`--service orders`) for trying gRPC calls.
    Token {
        /// A role: citizen, volunteer, staff or admin. Repeat for several.
        #[arg(long = "role", required_unless_present = "service", value_parser = parse_role)]
        roles: Vec<Role>,
        /// Sign a service token instead: `sub` `service:<name>`, role `service`, the
        /// services audience (`tongxin-services`), no unit scope.
        #[arg(long, conflicts_with_all = ["roles", "unit", "sub"])]
        service: Option<String>,
        /// The org unit the scope hangs on: a path such as /rc/changyuan or a UUID. It must
        /// exist in the venues database: --database, else `tongxin run`'s beside --keys
        /// (./data/venues.db), else the configured one (TONGXIN_VENUES__DATABASE__URL).
        #[arg(long)]
        unit: Option<String>,
        /// The venues database to find --unit in.
        #[arg(long)]
        database: Option<String>,
        /// The subject (`sub`).
        #[arg(long, default_value = "dev-user")]
        sub: String,
        /// The district code.
        #[arg(long, default_value = "rc")]
        district: String,
        /// The key directory (the one `tongxin run` uses is <data-dir>/keys).
        #[arg(long, default_value = "./data/keys")]
        keys: PathBuf,
        /// Lifetime in hours (default: 24 for a user token; a service token lives
        /// five minutes unless given).
        #[arg(long)]
        hours: Option<u64>,
    },
}

/// Which data to load: the demo, or the reference district (`--profile district`).
#[derive(clap::Args)]
struct ProfileArgs {
    /// `demo` (a few of everything, the default) or `district` (the reference district at
    /// full scale: 152,000 volunteers, 100,000 orders, 670,000 resident points…).
    #[arg(long, default_value = "demo", value_parser = parse_profile)]
    profile: ProfileName,
    /// The district profile's seed (default 1): the same seed gives the same rows and ids.
    #[arg(long)]
    seed: Option<u64>,
    /// Divide the district's volumes by this (tests, quick looks); the tree stays whole.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    scale_divisor: Option<u32>,
}

impl ProfileArgs {
    /// The profile to load; `--seed` or `--scale-divisor` with the demo is refused rather
    /// than ignored (the demo is the same for everyone).
    fn embedded(&self) -> anyhow::Result<tongxin::embedded::Profile> {
        match self.profile {
            ProfileName::Demo if self.seed.is_some() || self.scale_divisor.is_some() => {
                bail!("--seed and --scale-divisor apply to --profile district only")
            }
            ProfileName::Demo => Ok(tongxin::embedded::Profile::Demo),
            ProfileName::District => Ok(tongxin::embedded::Profile::District(self.district())),
        }
    }

    fn district(&self) -> District {
        District::new(self.seed.unwrap_or(1)).scaled(self.scale_divisor.unwrap_or(1))
    }
}

fn parse_profile(text: &str) -> Result<ProfileName, String> {
    ProfileName::parse(text)
}

/// Which venues database a tool command works on.
#[derive(clap::Args)]
struct DatabaseArgs {
    /// The venues database URL (default: the configured one; `tongxin run` keeps
    /// sqlite://./data/venues.db).
    #[arg(long)]
    database: Option<String>,
    /// A TOML file (default: ./tongxin.toml when present).
    #[arg(long)]
    config: Option<PathBuf>,
}

impl DatabaseArgs {
    async fn venues(&self) -> anyhow::Result<tongxin_venues::service::Venues> {
        let mut settings: Settings = tongxin_platform::config::load(self.config.as_deref())?;
        if let Some(url) = &self.database {
            settings.venues.database = tongxin_platform::config::DatabaseSettings::new(url);
        }
        let db = tongxin_platform::db::connect_and_migrate::<tongxin_venues::migration::Migrator>(
            &settings.venues.database,
        )
        .await?;
        Ok(tongxin_venues::service::Venues::new(db, Default::default()))
    }
}

#[derive(Subcommand)]
enum ImportCommand {
    /// Replace a district's resident-points layer from CSV (lat,lon,weight[,unit_path]).
    /// A file with any broken row imports nothing; the broken rows are listed.
    Residents {
        /// The CSV file.
        file: PathBuf,
        /// The district code.
        #[arg(long, default_value = "rc")]
        district: String,
        #[command(flatten)]
        db: DatabaseArgs,
    },
    /// Import volunteers from a district's register (.xlsx or .csv; columns 姓名, 性别,
    /// 出生日期, 身份证号, 手机号, 所属单位, 技能, 服务时间, 经度, 纬度 or their English names).
    /// Every row is checked first; a file with any bad row imports nothing unless
    /// --skip-bad-rows, and every problem is listed by row.
    Volunteers {
        /// The .xlsx or .csv file.
        file: PathBuf,
        /// Import the good rows even when some rows are bad.
        #[arg(long)]
        skip_bad_rows: bool,
        /// The unit (path, id or name) for rows without 所属单位.
        #[arg(long)]
        unit: Option<String>,
        #[command(flatten)]
        db: tongxin::import::VolunteersDbArgs,
    },
}

#[derive(Subcommand)]
enum EventsCommand {
    /// Print events as JSON lines, decoded from their own `content-type` header, until ctrl-c.
    Tail {
        /// A subject filter.
        #[arg(default_value = "tongxin.>")]
        subject: String,
        /// Start from the oldest event the stream keeps instead of from now.
        #[arg(long)]
        all: bool,
        /// Stop after this many events.
        #[arg(long)]
        count: Option<usize>,
        /// The NATS server (default: events.nats_url from the configuration).
        #[arg(long)]
        nats_url: Option<String>,
        /// A TOML file (default: ./tongxin.toml when present).
        #[arg(long)]
        config: Option<PathBuf>,
    },
}

fn parse_role(text: &str) -> Result<Role, String> {
    match Role::parse(text) {
        // A user token never makes a service: that takes a service token.
        Some(Role::Service) => Err("a service token is made with --service <name>".to_owned()),
        Some(role) => Ok(role),
        None => Err(format!(
            "unknown role {text:?}: use citizen, volunteer, staff or admin"
        )),
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Run {
            data_dir,
            listen,
            router_bin,
            profile,
        } => {
            let settings = TelemetrySettings {
                format: LogFormat::Pretty,
                level: "info,sqlx=warn,sea_orm_migration=warn".to_owned(),
            };
            let _telemetry = tongxin_platform::telemetry::init(&settings, "tongxin")?;
            let shutdown = tongxin_platform::shutdown::token_on_signal();
            tongxin::embedded::run(
                tongxin::embedded::Options {
                    data_dir,
                    listen,
                    router_bin,
                    profile: profile.embedded()?,
                },
                shutdown,
            )
            .await
        }
        Command::Serve { services, config } => serve(services, config).await,
        Command::Guard { config, supergraph } => guard(config, supergraph).await,
        Command::Migrate { services, config } => {
            let settings: Settings = tongxin_platform::config::load(config.as_deref())?;
            for mut module in tongxin::settings::select(&settings, &services) {
                let database = module.placement().database.clone();
                module.connect_and_migrate(&database).await?;
                println!("{}: migrated", module.name());
            }
            Ok(())
        }
        Command::Reseal { services, config } => {
            let settings: Settings = tongxin_platform::config::load(config.as_deref())?;
            for mut module in tongxin::settings::select(&settings, &services) {
                let database = module.placement().database.clone();
                let db = module.connect_and_migrate(&database).await?;
                for column in module.reseal(&db).await? {
                    println!(
                        "{}: {}: {} of {} values re-sealed",
                        module.name(),
                        column.column,
                        column.rewritten,
                        column.seen
                    );
                }
                db.close().await?;
            }
            Ok(())
        }
        Command::Schema { service } => {
            let modules =
                tongxin::settings::select(&Settings::default(), std::slice::from_ref(&service));
            let Some(module) = modules.first() else {
                bail!("unknown service {service}");
            };
            print!("{}", module.sdl());
            Ok(())
        }
        Command::Coverage {
            unit,
            out,
            minutes,
            suggestions,
            db,
        } => {
            let venues = db.venues().await?;
            let id = match unit {
                Some(u) => tongxin_venues::domain::org::OrgUnitId(parse_unit(&u)?),
                None => tongxin_venues::demo::unit_id("/rc"),
            };
            let unit = venues.existing_unit(id).await.map_err(describe)?;
            let map = venues
                .circle()
                .coverage_map(&unit, Some(minutes), suggestions)
                .await
                .map_err(describe)?;
            let svg = tongxin_venues::graphql::coverage_map::draw(&map);
            std::fs::write(&out, svg).with_context(|| format!("writing {}", out.display()))?;
            println!("{}: wrote {}", unit.path, out.display());
            Ok(())
        }
        Command::Import {
            what: ImportCommand::Residents { file, district, db },
        } => {
            let csv = std::fs::read_to_string(&file)
                .with_context(|| format!("reading {}", file.display()))?;
            let venues = db.venues().await?;
            let n = venues
                .circle()
                .import_residents(&district, &csv)
                .await
                .map_err(describe)?;
            println!("imported {n} resident points into district {district}");
            Ok(())
        }
        Command::Import {
            what:
                ImportCommand::Volunteers {
                    file,
                    skip_bad_rows,
                    unit,
                    db,
                },
        } => tongxin::import::volunteers(&file, skip_bad_rows, unit, &db).await,
        Command::Events {
            what:
                EventsCommand::Tail {
                    subject,
                    all,
                    count,
                    nats_url,
                    config,
                },
        } => {
            let settings: Settings = tongxin_platform::config::load(config.as_deref())?;
            let events = settings.common().events;
            tongxin::events_tail::tail(tongxin::events_tail::TailOptions {
                nats_url: nats_url.unwrap_or(events.nats_url),
                stream: events.stream,
                subject,
                all,
                count,
            })
            .await
        }
        Command::Seed { config, profile } => {
            let profile = profile.embedded()?;
            let settings: Settings = tongxin_platform::config::load(config.as_deref())?;
            match profile {
                tongxin::embedded::Profile::Demo => {
                    tongxin::seed::seed(settings).await?;
                    println!("demo data seeded");
                }
                tongxin::embedded::Profile::District(district) => {
                    let started = std::time::Instant::now();
                    let report = tongxin::seed::district(
                        settings,
                        district,
                        std::sync::Arc::new(tongxin::district::Bars::stderr()),
                    )
                    .await?;
                    tongxin::district::print_report(&report);
                    if !report.nothing_added() {
                        println!(
                            "district (seed {}) loaded in {:.1} s",
                            district.seed,
                            started.elapsed().as_secs_f64()
                        );
                    }
                }
            }
            Ok(())
        }
        Command::Keys { dir } => {
            let keys = DevKeys::load_or_generate(&dir)?;
            println!("{}", keys.jwks_path().display());
            Ok(())
        }
        Command::Token {
            service: Some(service),
            keys,
            hours,
            ..
        } => {
            let keys = DevKeys::load_or_generate(&keys)?;
            let subject = format!("{}{service}", auth::SERVICE_SUBJECT_PREFIX);
            let token = keys.sign(&TokenRequest {
                subject: &subject,
                roles: &[Role::Service],
                unit: None,
                district: None,
                issuer: "tongxin",
                audience: &auth::service_audience("tongxin"),
                ttl: hours.map_or(auth::SERVICE_TOKEN_TTL, |h| Duration::from_secs(h * 3600)),
            })?;
            println!("{token}");
            Ok(())
        }
        Command::Token {
            roles,
            service: None,
            unit,
            database,
            sub,
            district,
            keys,
            hours,
        } => {
            let unit = match unit.as_deref() {
                Some(unit) => Some(existing_unit(unit, database, &keys).await?),
                None => None,
            };
            let keys = DevKeys::load_or_generate(&keys)?;
            let token = keys.sign(&TokenRequest {
                subject: &sub,
                roles: &roles,
                unit,
                district: Some(&district),
                issuer: "tongxin",
                audience: "tongxin",
                ttl: Duration::from_secs(hours.unwrap_or(24) * 3600),
            })?;
            println!("{token}");
            Ok(())
        }
    }
}

/// The id of `unit` (a path or a UUID) as the target venues database knows it: a token
/// for a unit that does not exist would scope its holder to nothing, silently.
async fn existing_unit(
    unit: &str,
    database: Option<String>,
    keys: &std::path::Path,
) -> anyhow::Result<uuid::Uuid> {
    use secrecy::ExposeSecret as _;
    let beside_keys = keys.parent().unwrap_or(keys).join("venues.db");
    let url = match database {
        Some(url) => url,
        None if beside_keys.exists() => format!("sqlite://{}", beside_keys.display()),
        None => tongxin_platform::config::load::<Settings>(None)?
            .venues
            .database
            .url
            .expose_secret()
            .to_owned(),
    };
    let db = tongxin_platform::db::connect(&tongxin_platform::config::DatabaseSettings::new(&url))
        .await
        .with_context(|| {
            format!(
                "cannot check --unit {unit}: no venues database to look in (none at {}, and the \
                 configured one does not answer; pass --database)",
                beside_keys.display()
            )
        })?;
    let found = if unit.starts_with('/') {
        tongxin_venues::store::org_units::by_path(&db, unit).await?
    } else {
        let id = uuid::Uuid::parse_str(unit)
            .context("--unit must be a path such as /rc/changyuan or a UUID")?;
        tongxin_venues::store::org_units::get(&db, tongxin_venues::domain::org::OrgUnitId(id))
            .await?
    };
    found
        .map(|u| u.id.0)
        .with_context(|| format!("no unit {unit} in the venues database"))
}

/// A unit given as a UUID or as a demo path such as /rc/changyuan.
fn parse_unit(text: &str) -> anyhow::Result<uuid::Uuid> {
    if text.starts_with('/') {
        return Ok(tongxin_venues::demo::unit_id(text).0);
    }
    uuid::Uuid::parse_str(text).context("--unit must be a UUID or a demo path like /rc")
}

/// A service error as a message for the terminal.
fn describe(err: tongxin_venues::error::VenuesError) -> anyhow::Error {
    let api = tongxin_platform::ApiError::from(err);
    anyhow::anyhow!("{}: {}", api.code.as_str(), api.message)
}

async fn serve(services: Vec<String>, config: Option<PathBuf>) -> anyhow::Result<()> {
    let settings: Settings = tongxin_platform::config::load(config.as_deref())?;
    let common = settings.common();
    let _telemetry = tongxin_platform::telemetry::init(
        &common.telemetry,
        &format!("tongxin-{}", services.join("-")),
    )?;
    let shutdown = tongxin_platform::shutdown::token_on_signal();
    // Each service calls the others at the URLs in its settings, as separate deployments
    // would, even when several share this process.
    let options = tongxin::settings::split_options(common, false, Vec::new()).await?;
    let modules = tongxin::settings::select(&settings, &services);
    let running = registry::start(modules, options, shutdown).await?;
    for service in running.started().iter() {
        println!(
            "{} listening: http={} grpc={}",
            service.name(),
            service.http_addr(),
            service.grpc_addr()
        );
    }
    running.wait().await
}

/// `tongxin guard`: the admission guard alone, until SIGTERM.
async fn guard(config: Option<PathBuf>, supergraph: Option<PathBuf>) -> anyhow::Result<()> {
    let settings: tongxin::settings::GuardFile = tongxin_platform::config::load(config.as_deref())?;
    let _telemetry = tongxin_platform::telemetry::init(&settings.telemetry, "tongxin-guard")?;
    let sdl = match supergraph {
        Some(path) => std::fs::read_to_string(&path)
            .with_context(|| format!("reading the supergraph {}", path.display()))?,
        None => tongxin::router::SUPERGRAPH.to_owned(),
    };
    let guard = tongxin_guard::Guard::bind(settings.guard, &sdl).await?;
    tracing::info!(listen = %guard.local_addr(), "gateway guard listening");
    guard
        .run_until_stopped(tongxin_platform::shutdown::signal())
        .await
}
