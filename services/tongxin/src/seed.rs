//! `tongxin seed`: seed data loaded into the services' own (PostgreSQL) databases for split
//! mode. It starts every service in this process on ephemeral local ports with the seed's
//! start hooks — the same code `run` seeds with, writing through the services' own stores —
//! and stops them once the hooks are done.
//!
//! Two profiles ([`tongxin_platform::district::ProfileName`]):
//! - `demo` ([`seed`]): the demo of `tongxin run`, placed through the real operations; its
//!   events wait in the outboxes and the services' relays publish them;
//! - `district` ([`district`]): the reference district at full scale, written in bulk by
//!   each service's loader, without events. This is the entry point the bench harness
//!   calls to load given databases.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use anyhow::Context as _;
use tokio_util::sync::CancellationToken;
use tongxin_platform::district::{District, Progress};
use tongxin_platform::registry::{self, Hook};

use crate::district::Report;
use crate::settings::Settings;

/// Seeds every service's configured database with the demo; idempotent.
pub async fn seed(settings: Settings) -> anyhow::Result<()> {
    let common = settings.common();
    // The demo orders are placed by demo people with tokens signed by the service key,
    // whose public half the JWKS holds (`tongxin keys` makes both).
    let key_path = common.auth.service_key_path.as_deref().context(
        "auth.service_key_path (TONGXIN_AUTH__SERVICE_KEY_PATH) must name the signing key (`tongxin keys` makes one)",
    )?;
    let key = Arc::new(tongxin_platform::auth::SigningKey::from_pem_file(key_path)?);
    start_and_stop(settings, crate::embedded::demo_hooks(key)).await
}

/// Loads the reference district (`district`: its seed and scale) into every service's
/// configured database: `settings` as `tongxin serve` reads them (database URLs, PII keys,
/// the JWKS and NATS the services start with). A service whose database already holds data
/// says so on `progress` and adds nothing, so a second call adds nothing at all
/// ([`Report::nothing_added`]). Run after `migrate` (or on fresh databases: each service
/// migrates its own at start).
///
/// The bench harness calls it with its own databases in `settings` and
/// [`tongxin_platform::district::Quiet`] or [`crate::district::Bars`] as progress:
///
/// ```no_run
/// # async fn load(settings: tongxin::settings::Settings) -> anyhow::Result<()> {
/// use std::sync::Arc;
/// use tongxin_platform::district::{District, Quiet};
/// let report = tongxin::seed::district(settings, District::new(42), Arc::new(Quiet)).await?;
/// println!("{} orders", report.rows("orders", "orders"));
/// # Ok(()) }
/// ```
pub async fn district(
    settings: Settings,
    district: District,
    progress: Arc<dyn Progress>,
) -> anyhow::Result<Report> {
    let report = Arc::new(Mutex::new(Report::default()));
    let hooks = crate::district::hooks(district, progress, report.clone());
    start_and_stop(settings, hooks).await?;
    let report = report
        .lock()
        .map_err(|_| anyhow::anyhow!("a district loader panicked"))?
        .clone();
    Ok(report)
}

/// Starts every service on loopback ports with `hooks`, then stops them.
async fn start_and_stop(mut settings: Settings, hooks: Vec<Hook>) -> anyhow::Result<()> {
    // Nothing outside this process calls these services: they only run their start hooks.
    let local = SocketAddr::from(([127, 0, 0, 1], 0));
    for (http, grpc) in [
        (
            &mut settings.venues.http_addr,
            &mut settings.venues.grpc_addr,
        ),
        (
            &mut settings.volunteers.http_addr,
            &mut settings.volunteers.grpc_addr,
        ),
        (
            &mut settings.orders.http_addr,
            &mut settings.orders.grpc_addr,
        ),
        (
            &mut settings.legal_aid.http_addr,
            &mut settings.legal_aid.grpc_addr,
        ),
    ] {
        (*http, *grpc) = (local, local);
    }
    let common = settings.common();
    // Orders routes the demo orders through this process's venues.
    let options = crate::settings::split_options(common, true, hooks).await?;
    let names: Vec<String> = crate::settings::service_names()
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
    let modules = crate::settings::select(&settings, &names);
    let running = registry::start(modules, options, CancellationToken::new()).await?;
    running.stop().await
}
