//! `tongxin seed`: the demo data of `tongxin run`, loaded into the services' own
//! (PostgreSQL) databases for split mode. It starts every service in this process on
//! ephemeral local ports with the demo start hooks — the same code `run` seeds with, writing
//! through the services' own stores and outboxes — and stops them once the hooks are done.
//! The events wait in the outboxes; the services' relays publish them.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context as _;
use tokio_util::sync::CancellationToken;
use tongxin_platform::registry;

use crate::settings::Settings;

/// Seeds every service's configured database; idempotent.
pub async fn seed(mut settings: Settings) -> anyhow::Result<()> {
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
    // The demo orders are placed by demo people with tokens signed by the service key,
    // whose public half the JWKS holds (`tongxin keys` makes both).
    let key_path = common.auth.service_key_path.as_deref().context(
        "auth.service_key_path (TONGXIN_AUTH__SERVICE_KEY_PATH) must name the signing key (`tongxin keys` makes one)",
    )?;
    let key = Arc::new(tongxin_platform::auth::SigningKey::from_pem_file(key_path)?);
    // Orders routes the demo orders through this process's venues.
    let options =
        crate::settings::split_options(common, true, crate::embedded::demo_hooks(key)).await?;
    let names: Vec<String> = crate::settings::service_names()
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
    let modules = crate::settings::select(&settings, &names);
    let running = registry::start(modules, options, CancellationToken::new()).await?;
    running.stop().await
}
