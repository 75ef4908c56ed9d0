//! Orders keeps account → volunteer links for a while (see `crate::service::identity`):
//! a volunteer's session makes many calls and a link practically never changes. When staff
//! unlink an account (`tongxin.volunteers.account_unlinked`) or a volunteer's data is erased
//! (`volunteer_erased`, which cuts the link too), every replica forgets its links at once, so
//! the account cannot go on acting as the volunteer. A live watch, not a durable consumer: a
//! durable consumer hands each event to one replica only, and every replica has a cache.
//! Forgetting all links is cheap (the next call of each session asks volunteers again).

use std::time::Duration;

use futures::StreamExt;
use tokio_util::sync::CancellationToken;
use tongxin_platform::events::SharedBus;

use crate::service::Orders;

/// The volunteers events that end a link.
pub const ENDS_A_LINK: [&str; 2] = [
    "tongxin.volunteers.account_unlinked",
    "tongxin.volunteers.volunteer_erased",
];

/// Forgets `orders`' links on every event that ends one, until `stop`. When the bus drops
/// the feed it watches again, forgetting everything first (an unlink may have passed
/// meanwhile).
pub async fn forget_on_unlink(
    orders: Orders,
    bus: SharedBus,
    stop: CancellationToken,
) -> anyhow::Result<()> {
    loop {
        let feeds = futures::future::try_join_all(ENDS_A_LINK.map(|s| bus.watch(s))).await;
        let mut feed = match feeds {
            Ok(feeds) => futures::stream::select_all(feeds),
            Err(e) => {
                tracing::warn!(error = %e, "cannot watch volunteer unlinks; retrying");
                tokio::select! {
                    _ = stop.cancelled() => return Ok(()),
                    _ = tokio::time::sleep(Duration::from_secs(1)) => continue,
                }
            }
        };
        orders.forget_links();
        loop {
            tokio::select! {
                _ = stop.cancelled() => return Ok(()),
                next = feed.next() => match next {
                    Some(_) => orders.forget_links(),
                    None => break,
                },
            }
        }
    }
}
