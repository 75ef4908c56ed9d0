//! The GraphQL explorer works offline (issue 14, item 7): a headless Chromium whose every
//! non-loopback request fails loads the page from the guard, renders GraphiQL and runs a
//! query through it. Driven over the DevTools protocol (a WebSocket and JSON, so no crate
//! beyond tokio-tungstenite). Needs `chromium` (`apt-get install chromium`;
//! `TONGXIN_CHROMIUM` names another binary).

use std::path::Path;
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::process::Command;
use tokio_tungstenite::tungstenite::Message;
use tongxin_venues::demo::{self, paths};

use crate::platform::{Options, Platform, Subgraphs};

/// A DevTools session with one page: commands by id, events kept for later.
struct Cdp {
    socket: crate::platform::Socket,
    next_id: u64,
    events: Vec<Value>,
}

impl Cdp {
    async fn call(&mut self, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        let message = json!({ "id": id, "method": method, "params": params }).to_string();
        self.socket
            .send(Message::Text(message.into()))
            .await
            .expect("send to Chromium");
        loop {
            let message = tokio::time::timeout(Duration::from_secs(60), self.socket.next())
                .await
                .unwrap_or_else(|_| panic!("Chromium did not answer {method} within 60 s"))
                .expect("Chromium closed the DevTools socket")
                .expect("DevTools message");
            let Message::Text(text) = message else {
                continue;
            };
            let value: Value = serde_json::from_str(&text).expect("DevTools JSON");
            if value["id"] == id {
                assert!(value.get("error").is_none(), "{method}: {value}");
                return value["result"].clone();
            }
            self.events.push(value);
        }
    }

    /// Waits for the event `method`, keeping the others.
    async fn event(&mut self, method: &str) {
        if self.events.iter().any(|e| e["method"] == method) {
            return;
        }
        loop {
            let message = tokio::time::timeout(Duration::from_secs(60), self.socket.next())
                .await
                .unwrap_or_else(|_| panic!("no {method} within 60 s"))
                .expect("Chromium closed the DevTools socket")
                .expect("DevTools message");
            if let Message::Text(text) = message {
                let value: Value = serde_json::from_str(&text).expect("DevTools JSON");
                let found = value["method"] == method;
                self.events.push(value);
                if found {
                    return;
                }
            }
        }
    }

    /// What the page logged and threw, and the requests that failed (for failure messages).
    fn console(&self) -> Vec<String> {
        self.events
            .iter()
            .filter(|e| {
                [
                    "Runtime.consoleAPICalled",
                    "Runtime.exceptionThrown",
                    "Network.loadingFailed",
                ]
                .contains(&e["method"].as_str().unwrap_or(""))
            })
            .map(|e| e["params"].to_string().chars().take(400).collect())
            .collect()
    }

    /// Every URL the page asked for.
    fn requested(&self) -> Vec<String> {
        self.events
            .iter()
            .filter(|e| e["method"] == "Network.requestWillBeSent")
            .filter_map(|e| e["params"]["request"]["url"].as_str())
            .map(|url| url.chars().take(80).collect())
            .collect()
    }
}

/// Starts headless Chromium with no network beyond loopback: names do not resolve (except
/// 127.0.0.1) and everything not loopback goes to a proxy port where nothing listens.
async fn chromium(profile: &Path) -> (tokio::process::Child, Cdp) {
    let binary = std::env::var("TONGXIN_CHROMIUM").unwrap_or_else(|_| "chromium".to_owned());
    let dead_port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let child = Command::new(&binary)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--remote-debugging-port=0",
            &format!("--user-data-dir={}", profile.display()),
            "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
            &format!("--proxy-server=http://127.0.0.1:{dead_port}"),
            "about:blank",
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|e| {
            panic!("starting {binary} (apt-get install chromium, or set TONGXIN_CHROMIUM): {e}")
        });
    // Chromium writes the port it picked into the profile.
    let port_file = profile.join("DevToolsActivePort");
    let mut port = None;
    for _ in 0..300 {
        if let Some(first) = std::fs::read_to_string(&port_file)
            .ok()
            .and_then(|t| t.lines().next().map(str::to_owned))
        {
            port = first.parse::<u16>().ok();
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let port = port.expect("Chromium's DevTools port within 30 s");
    let targets: Value = reqwest::get(format!("http://127.0.0.1:{port}/json/list"))
        .await
        .expect("DevTools targets")
        .json()
        .await
        .expect("DevTools JSON");
    let page = targets
        .as_array()
        .and_then(|t| t.iter().find(|t| t["type"] == "page"))
        .and_then(|t| t["webSocketDebuggerUrl"].as_str())
        .expect("a page target")
        .to_owned();
    let (socket, _) = tokio_tungstenite::connect_async(page)
        .await
        .expect("DevTools WebSocket");
    (
        child,
        Cdp {
            socket,
            next_id: 0,
            events: Vec::new(),
        },
    )
}

/// Waits in the page for GraphiQL, types `query`, runs it and returns the result pane's
/// text once it shows `expect`, with any Content-Security-Policy violations.
fn run_in_graphiql(query: &str, expect: &str) -> String {
    format!(
        r#"(async () => {{
  const until = async (probe, what) => {{
    for (let i = 0; i < 300; i++) {{
      const value = probe();
      if (value) return value;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }}
    throw new Error('timed out waiting for ' + what + '; the page shows: ' + document.body.innerText.slice(0, 300));
  }};
  await until(() => document.querySelector('.graphiql-container'), 'the GraphiQL UI');
  const editor = await until(() => document.querySelector('.graphiql-query-editor .CodeMirror'), 'the query editor');
  editor.CodeMirror.setValue({query});
  const run = await until(() => document.querySelector('.graphiql-execute-button'), 'the run button');
  // GraphiQL renders the button before it has wired the editors up: a click then does
  // nothing, so click again until the result pane shows the answer.
  let clicks = 0;
  const result = await until(() => {{
    const text = document.querySelector('.result-window')?.innerText || '';
    if (text.includes({expect})) return text;
    if (clicks++ % 10 === 0) run.click();
    return null;
  }}, 'the result');
  return JSON.stringify({{ result, violations: window.__violations }});
}})()"#,
        query = Value::from(query),
        expect = Value::from(expect),
    )
}

#[tokio::test]
async fn the_explorer_loads_and_runs_a_query_with_no_network() {
    let platform = Platform::start(Subgraphs::Venues).await;
    let url = platform.url();
    let profile = tempfile::tempdir().expect("tempdir");
    let (mut browser, mut cdp) = chromium(profile.path()).await;

    cdp.call("Network.enable", json!({})).await;
    cdp.call("Page.enable", json!({})).await;
    cdp.call("Runtime.enable", json!({})).await;
    // A blocked script, style or connection would show up here.
    cdp.call(
        "Page.addScriptToEvaluateOnNewDocument",
        json!({ "source": "window.__violations = []; document.addEventListener('securitypolicyviolation', (e) => window.__violations.push(e.violatedDirective + ' ' + e.blockedURI));" }),
    )
    .await;
    cdp.call("Page.navigate", json!({ "url": url })).await;
    cdp.event("Page.loadEventFired").await;

    let unit = demo::unit_id(paths::CAIJIABA).0.to_string();
    let query = format!("{{ orgUnit(id: \"{unit}\") {{ id }} }}");
    let evaluated = cdp
        .call(
            "Runtime.evaluate",
            json!({
                "expression": run_in_graphiql(&query, &unit),
                "awaitPromise": true,
                "returnByValue": true,
            }),
        )
        .await;
    assert!(
        evaluated.get("exceptionDetails").is_none(),
        "GraphiQL did not run the query: {evaluated}\nrequests: {:?}\nconsole: {:?}",
        cdp.requested(),
        cdp.console(),
    );
    let outcome: Value = serde_json::from_str(evaluated["result"]["value"].as_str().unwrap_or(""))
        .expect("the page's JSON");
    let result = outcome["result"].as_str().unwrap_or_default();
    assert!(
        result.contains("\"orgUnit\"") && result.contains(&unit),
        "the result pane shows the unit: {result}"
    );
    assert_eq!(
        outcome["violations"],
        json!([]),
        "nothing the page loads is refused by its Content-Security-Policy"
    );

    // Everything the page asked for came from the guard: the page, its assets, the
    // schema introspection and the query.
    let origin = url.trim_end_matches("/graphql");
    let requested = cdp.requested();
    assert!(
        requested
            .iter()
            .any(|u| u.ends_with("/explorer/graphiql.min.js")),
        "{requested:?}"
    );
    let elsewhere: Vec<_> = requested
        .iter()
        .filter(|u| !u.starts_with(origin) && !u.starts_with("data:"))
        .collect();
    assert!(
        elsewhere.is_empty(),
        "the page asked elsewhere: {elsewhere:?}"
    );

    let _ = browser.kill().await;
    platform.stop().await;
}

#[tokio::test]
async fn the_routers_laboratory_is_off_and_the_explorer_can_be_switched_off() {
    let platform = Platform::start_with(
        Subgraphs::Venues,
        Options {
            guard: tongxin_guard::GuardSettings {
                explorer: false,
                ..Default::default()
            },
            ..Options::default()
        },
    )
    .await;
    let client = reqwest::Client::new();
    let get_html = |url: String| {
        client
            .get(url)
            .header("accept", "text/html,application/xhtml+xml")
            .send()
    };
    // The router behind the guard no longer serves its CDN-loading GraphiQL.
    let router = get_html(platform.router_url()).await.expect("router");
    let body = router.text().await.unwrap_or_default();
    assert!(
        !body.contains("<script") && !body.contains("graphiql"),
        "the router serves a laboratory: {body}"
    );
    // Switched off (production), the guard serves neither the page nor its assets.
    let page = get_html(platform.url()).await.expect("guard");
    let body = page.text().await.unwrap_or_default();
    assert!(!body.contains("/explorer/"), "{body}");
    let asset = get_html(
        platform
            .url()
            .replace("/graphql", "/explorer/graphiql.min.js"),
    )
    .await
    .expect("guard");
    assert_ne!(asset.status().as_u16(), 200);
    platform.stop().await;
}
