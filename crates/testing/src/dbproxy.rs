//! A TCP proxy between a service and its PostgreSQL database that a test can break: take
//! the database away (every connection dropped, new ones refused) and bring it back, or cut
//! one transaction's connection just before its COMMIT reaches the server, so the server
//! rolls it back while the service is in the middle of it. It also logs the SQL of every
//! statement it passes on ([`DbProxy::statements`]), so a test can count what a request
//! really cost the database, whatever code path sent it (DataLoader batching, per-item
//! lookups nobody meant to write).
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
    /// The SQL of every statement executed through the proxy, in order.
    statements: Mutex<Vec<Arc<str>>>,
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
            statements: Mutex::default(),
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

    /// The SQL of every statement executed through the proxy so far, in order: each simple
    /// query (`BEGIN`, `COMMIT`…) and each execution of a prepared statement (once per
    /// execution, however often it was prepared). Take `.len()` as a mark before the work
    /// to measure and `statements()[mark..]` after it.
    pub fn statements(&self) -> Vec<Arc<str>> {
        self.state.statements.lock().expect("lock").clone()
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
        let mut log = StatementLog::default();
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
            for sql in log.feed(chunk) {
                state.statements.lock().expect("lock").push(sql);
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

/// Reads the frontend side of the PostgreSQL protocol on one connection and yields the SQL
/// of each statement as it is executed: `Q` (simple query) directly; for the extended
/// protocol, `P` (parse) names a statement, `B` (bind) puts one into a portal and `E`
/// (execute) runs a portal. sqlx prepares a statement once per connection and executes it
/// many times, so the text is remembered by name.
#[derive(Default)]
struct StatementLog {
    /// Bytes of a message that has not arrived whole yet.
    pending: Vec<u8>,
    /// Past the start-up message (which has no type byte).
    started: bool,
    /// Prepared statement name → SQL (the unnamed statement under "").
    prepared: std::collections::HashMap<Vec<u8>, Arc<str>>,
    /// Portal name → the SQL bound into it.
    portals: std::collections::HashMap<Vec<u8>, Arc<str>>,
}

/// The protocol codes of SSLRequest and GSSENCRequest: start-up-like messages after which
/// the real start-up message still follows.
const SSL_REQUEST: u32 = 80_877_103;
const GSSENC_REQUEST: u32 = 80_877_104;

impl StatementLog {
    fn feed(&mut self, chunk: &[u8]) -> Vec<Arc<str>> {
        self.pending.extend_from_slice(chunk);
        let mut executed = Vec::new();
        loop {
            let (kind, header) = if self.started {
                match self.pending.first() {
                    Some(&kind) => (Some(kind), 1),
                    None => break,
                }
            } else {
                (None, 0)
            };
            let Some(len) = self
                .pending
                .get(header..header + 4)
                .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize)
            else {
                break;
            };
            let total = header + len;
            if len < 4 || self.pending.len() < total {
                break;
            }
            let body: Vec<u8> = self.pending[header + 4..total].to_vec();
            self.pending.drain(..total);
            match kind {
                None => {
                    let code = body
                        .get(..4)
                        .map_or(0, |b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]));
                    self.started = code != SSL_REQUEST && code != GSSENC_REQUEST;
                }
                Some(b'Q') => executed.push(Arc::from(text(cstring(&body, 0).0))),
                Some(b'P') => {
                    let (name, rest) = cstring(&body, 0);
                    let (sql, _) = cstring(&body, rest);
                    self.prepared.insert(name.to_vec(), Arc::from(text(sql)));
                }
                Some(b'B') => {
                    let (portal, rest) = cstring(&body, 0);
                    let (statement, _) = cstring(&body, rest);
                    if let Some(sql) = self.prepared.get(statement).cloned() {
                        self.portals.insert(portal.to_vec(), sql);
                    }
                }
                Some(b'E') => {
                    let (portal, _) = cstring(&body, 0);
                    if let Some(sql) = self.portals.get(portal) {
                        executed.push(sql.clone());
                    }
                }
                Some(_) => {}
            }
        }
        executed
    }
}

/// The NUL-terminated string at `from`, and the offset after its NUL.
fn cstring(body: &[u8], from: usize) -> (&[u8], usize) {
    let rest = body.get(from..).unwrap_or_default();
    let end = rest.iter().position(|&b| b == 0).unwrap_or(rest.len());
    (&rest[..end], from + end + 1)
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(kind: u8, body: &[u8]) -> Vec<u8> {
        let mut m = vec![kind];
        m.extend_from_slice(&u32::try_from(body.len() + 4).unwrap_or(0).to_be_bytes());
        m.extend_from_slice(body);
        m
    }

    #[test]
    fn statements_are_logged_per_execution_across_chunk_borders() {
        let mut wire = Vec::new();
        // Start-up: length, protocol 3.0, one parameter.
        let startup = b"\x00\x03\x00\x00user\x00postgres\x00\x00";
        wire.extend_from_slice(&u32::try_from(startup.len() + 4).unwrap_or(0).to_be_bytes());
        wire.extend_from_slice(startup);
        wire.extend(message(b'Q', b"BEGIN\x00"));
        wire.extend(message(b'P', b"s1\x00SELECT 1 WHERE $1\x00\x00\x00"));
        for _ in 0..2 {
            wire.extend(message(b'B', b"\x00s1\x00\x00\x00\x00\x00\x00\x00"));
            wire.extend(message(b'E', b"\x00\x00\x00\x00\x00"));
            wire.extend(message(b'S', b""));
        }
        let mut log = StatementLog::default();
        let mut got = Vec::new();
        // One byte at a time: no message arrives whole in one read.
        for byte in wire.chunks(1) {
            got.extend(log.feed(byte).iter().map(|s| s.to_string()));
        }
        assert_eq!(got, ["BEGIN", "SELECT 1 WHERE $1", "SELECT 1 WHERE $1"]);
    }
}
