//! A TCP proxy between a service and its PostgreSQL database that a test can break: take
//! the database away (every connection dropped, new ones refused) and bring it back, or cut
//! one transaction's connection just before its COMMIT reaches the server, so the server
//! rolls it back while the service is in the middle of it.
//!
//! Every service's tests use this one proxy (through [`crate::Spawn::behind_proxy`]), so
//! every service is broken the same way.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;

/// The proxy; it stops when dropped.
pub struct DbProxy {
    addr: SocketAddr,
    state: Arc<State>,
    stop: CancellationToken,
}

struct State {
    upstream: String,
    down: AtomicBool,
    /// The live connections end when this is cancelled; `down` replaces it.
    generation: Mutex<CancellationToken>,
    /// Bytes that mark the transaction to cut (a value the test sends).
    cut_marker: Mutex<Option<Vec<u8>>>,
    cuts: AtomicUsize,
}

/// The simple-protocol query sqlx sends to commit: `Q`, length, `COMMIT`, NUL.
const COMMIT: &[u8] = b"COMMIT\0";

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}

impl DbProxy {
    /// Proxies to the server of the PostgreSQL `url`.
    pub async fn start(url: &str) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let state = Arc::new(State {
            upstream: authority(url).to_owned(),
            down: AtomicBool::new(false),
            generation: Mutex::new(CancellationToken::new()),
            cut_marker: Mutex::new(None),
            cuts: AtomicUsize::new(0),
        });
        let stop = CancellationToken::new();
        tokio::spawn(accept(listener, state.clone(), stop.clone()));
        Self { addr, state, stop }
    }

    /// `url` with its server replaced by this proxy, in plain text (the proxy reads the
    /// protocol to find a COMMIT; the server would otherwise agree on TLS).
    pub fn url(&self, url: &str) -> String {
        let through = url.replacen(authority(url), &self.addr.to_string(), 1);
        let separator = if through.contains('?') { '&' } else { '?' };
        format!("{through}{separator}sslmode=disable")
    }

    /// Drops every connection and refuses new ones until [`DbProxy::up`].
    pub fn down(&self) {
        self.state.down.store(true, Ordering::SeqCst);
        let mut generation = self.state.generation.lock().expect("lock");
        generation.cancel();
        *generation = CancellationToken::new();
    }

    /// Lets connections through again.
    pub fn up(&self) {
        self.state.down.store(false, Ordering::SeqCst);
    }

    /// Cuts the connection of the next transaction that sends `marker` (a value bound in
    /// one of its statements) when it sends COMMIT: the COMMIT never arrives, and the
    /// server rolls the transaction back when the connection drops.
    pub fn cut_commit_of(&self, marker: &str) {
        *self.state.cut_marker.lock().expect("lock") = Some(marker.as_bytes().to_vec());
    }

    /// Transactions cut so far.
    pub fn cuts(&self) -> usize {
        self.state.cuts.load(Ordering::SeqCst)
    }
}

impl Drop for DbProxy {
    fn drop(&mut self) {
        self.stop.cancel();
        self.state.generation.lock().expect("lock").cancel();
    }
}

/// `host:port` of a `postgres://user@host:port/db` URL.
fn authority(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let rest = rest.rsplit_once('@').map_or(rest, |(_, r)| r);
    rest.split('/').next().unwrap_or(rest)
}

async fn accept(listener: TcpListener, state: Arc<State>, stop: CancellationToken) {
    loop {
        let client = tokio::select! {
            _ = stop.cancelled() => return,
            accepted = listener.accept() => match accepted {
                Ok((client, _)) => client,
                Err(_) => continue,
            },
        };
        if state.down.load(Ordering::SeqCst) {
            // Refused: the client sees the connection close during start-up.
            drop(client);
            continue;
        }
        let generation = state.generation.lock().expect("lock").clone();
        tokio::spawn(relay(client, state.clone(), generation));
    }
}

async fn relay(client: TcpStream, state: Arc<State>, generation: CancellationToken) {
    let Ok(server) = TcpStream::connect(&state.upstream).await else {
        return;
    };
    let (mut client_read, mut client_write) = client.into_split();
    let (mut server_read, mut server_write) = server.into_split();
    let to_server = async {
        let mut doomed = false;
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = match client_read.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => n,
            };
            let chunk = &buf[..n];
            {
                // Any connection that sends the marker is a candidate (a check before the
                // transaction may send it too); the first of them to commit is cut.
                let mut marker = state.cut_marker.lock().expect("lock");
                doomed |= marker.as_deref().is_some_and(|m| contains(chunk, m));
                if doomed && marker.is_some() && contains(chunk, COMMIT) {
                    *marker = None;
                    state.cuts.fetch_add(1, Ordering::SeqCst);
                    return;
                }
            }
            if server_write.write_all(chunk).await.is_err() {
                return;
            }
        }
    };
    let to_client = async {
        let _ = tokio::io::copy(&mut server_read, &mut client_write).await;
    };
    // Whichever way ends first ends the connection (both sockets close on return).
    tokio::select! {
        _ = generation.cancelled() => {}
        _ = to_server => {}
        _ = to_client => {}
    }
}
