//! Orders keeps two lookups for a while, in each replica: account → volunteer links (see
//! `crate::service::identity`; a volunteer's session makes many calls and a link practically
//! never changes) and a courtyard's chain of units up to the center (routing asks venues
//! `Ancestors` once per courtyard, then reuses it). Both change rarely and must then change
//! at once:
//! - when staff unlink an account (`tongxin.volunteers.account_unlinked`) or a volunteer's
//!   data is erased (`volunteer_erased`, which cuts the link too), the account must not go on
//!   acting as the volunteer;
//! - when a unit moves (`tongxin.venues.unit_updated`), the next order placed under it must
//!   climb the new chain, not the old one.
//!
//! A live watch, not a durable consumer: a durable consumer hands each event to one replica
//! only, and every replica has a cache. Forgetting everything is cheap (the next call asks
//! again), so an event empties the whole cache rather than finding its entries.

use std::time::Duration;

use futures::StreamExt;
use tokio_util::sync::CancellationToken;
use tongxin_platform::events::SharedBus;

/// The volunteers events that end a link.
pub const ENDS_A_LINK: &[&str] = &[
    "tongxin.volunteers.account_unlinked",
    "tongxin.volunteers.volunteer_erased",
];

/// The venues event that changes a chain (a rename changes nothing routing keeps, but the
/// event does not say which it was before decoding, and forgetting is cheap).
pub const CHANGES_A_CHAIN: &[&str] = &["tongxin.venues.unit_updated"];

/// Calls `forget` on every event on `subjects`, until `stop`. When the bus drops the feed it
/// watches again, forgetting first (an event may have passed meanwhile).
pub async fn forget_on(
    subjects: &'static [&'static str],
    forget: impl Fn() + Send,
    bus: SharedBus,
    stop: CancellationToken,
) -> anyhow::Result<()> {
    loop {
        let feeds = futures::future::try_join_all(subjects.iter().map(|s| bus.watch(s))).await;
        let mut feed = match feeds {
            Ok(feeds) => futures::stream::select_all(feeds),
            Err(e) => {
                tracing::warn!(error = %e, ?subjects, "cannot watch; retrying");
                tokio::select! {
                    _ = stop.cancelled() => return Ok(()),
                    _ = tokio::time::sleep(Duration::from_secs(1)) => continue,
                }
            }
        };
        forget();
        loop {
            tokio::select! {
                _ = stop.cancelled() => return Ok(()),
                next = feed.next() => match next {
                    Some(_) => forget(),
                    None => break,
                },
            }
        }
    }
}
