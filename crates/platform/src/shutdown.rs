//! Stopping cleanly: SIGTERM or ctrl-c cancels a token; servers drain within a bound.

use std::future::Future;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

/// Resolves on SIGTERM (Kubernetes) or ctrl-c (a terminal).
pub async fn signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}

/// A token cancelled by the first stop signal.
pub fn token_on_signal() -> CancellationToken {
    let token = CancellationToken::new();
    let child = token.clone();
    tokio::spawn(async move {
        signal().await;
        tracing::info!("stop signal received; draining");
        child.cancel();
    });
    token
}

/// Runs `server` (which starts draining when `shutdown` is cancelled) and gives up on
/// in-flight work `timeout` after cancellation, so a stuck request cannot block a stop.
pub async fn drain_bounded<F, E>(
    server: F,
    shutdown: CancellationToken,
    timeout: Duration,
) -> Result<(), E>
where
    F: Future<Output = Result<(), E>>,
{
    tokio::select! {
        result = server => result,
        _ = async { shutdown.cancelled().await; tokio::time::sleep(timeout).await } => {
            tracing::warn!(timeout_secs = timeout.as_secs(), "drain timed out; dropping in-flight requests");
            Ok(())
        }
    }
}
