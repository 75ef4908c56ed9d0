//! One authorization table, walked through the gateway.
//!
//! `table.toml` beside this file says, for every query, mutation and subscription of the
//! composed schema, what each actor gets: the answer, the answer with personal data masked,
//! or a refusal with its `extensions.code`. This test asks the router which operations the
//! schema has, fails when one has no row (so a new operation cannot ship without its
//! rules), then sends every row as every actor and compares. On a mismatch it prints every
//! cell that differs; with `TONGXIN_AUTHZ_OBSERVED=<file>` it also writes what it saw, row
//! by row, for review.

mod world;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use serde::Deserialize;
use serde_json::{Value, json};

use self::world::{ACTORS, World};
use crate::platform::{Options, Platform, Subgraphs};

/// The table: named profiles (an outcome per actor, `default` for the rest) and one row
/// per operation.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Table {
    profiles: BTreeMap<String, BTreeMap<String, String>>,
    op: Vec<Row>,
}

/// The rules of one operation.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Row {
    /// `Query.order`, `Mutation.placeOrder`, `Subscription.orderProgress`.
    op: String,
    /// The document sent, selecting at least the fields the rules are about.
    doc: String,
    /// Its variables; a string `"$name"` is a fixture of the world (see world.rs).
    #[serde(default)]
    vars: Value,
    /// The profile the outcomes start from.
    profile: String,
    /// Outcomes that differ from the profile, by actor.
    #[serde(default)]
    expect: BTreeMap<String, String>,
    /// A path below the operation's field holding personal data: an answer with it
    /// masked (stars, or null) is `masked`, in the clear `ok`.
    masked: Option<String>,
    /// Why the rule is what it is, when the profile does not say it.
    why: Option<String>,
}

impl Row {
    fn kind(&self) -> &str {
        self.op.split_once('.').map(|(k, _)| k).unwrap_or_default()
    }

    fn field(&self) -> &str {
        self.op.split_once('.').map(|(_, f)| f).unwrap_or_default()
    }

    fn expected(&self, table: &Table, actor: &str) -> String {
        let profile = table
            .profiles
            .get(&self.profile)
            .unwrap_or_else(|| panic!("{}: no profile {}", self.op, self.profile));
        // The row's own word for the actor, the profile's, the row's default, the profile's.
        self.expect
            .get(actor)
            .or_else(|| profile.get(actor))
            .or_else(|| self.expect.get("default"))
            .or_else(|| profile.get("default"))
            .unwrap_or_else(|| panic!("{}: no outcome for {actor}", self.op))
            .clone()
    }
}

fn table() -> Table {
    toml::from_str(include_str!("table.toml")).expect("authz/table.toml parses")
}

/// Every `Type.field` of the root types, as the router serves the composed schema.
async fn operations(platform: &Platform) -> BTreeSet<String> {
    let r = platform
        .graphql(
            None,
            "{ __schema { queryType { name fields { name } } mutationType { name fields { name } } subscriptionType { name fields { name } } } }",
            json!({}),
        )
        .await;
    let mut ops = BTreeSet::new();
    for root in ["queryType", "mutationType", "subscriptionType"] {
        let t = &r["data"]["__schema"][root];
        for f in t["fields"]
            .as_array()
            .unwrap_or_else(|| panic!("{root}: {r}"))
        {
            ops.insert(format!(
                "{}.{}",
                t["name"].as_str().unwrap_or_default(),
                f["name"].as_str().unwrap_or_default()
            ));
        }
    }
    ops
}

#[test]
fn every_row_names_an_outcome_for_every_actor() {
    let table = table();
    let known: BTreeSet<&str> = ACTORS.iter().copied().chain(["default"]).collect();
    for (name, profile) in &table.profiles {
        for actor in profile.keys() {
            assert!(
                known.contains(actor.as_str()),
                "profile {name}: unknown actor {actor}"
            );
        }
    }
    for row in &table.op {
        for actor in row.expect.keys() {
            assert!(
                known.contains(actor.as_str()),
                "{}: unknown actor {actor}",
                row.op
            );
        }
        for actor in ACTORS {
            row.expected(&table, actor);
        }
    }
}

#[tokio::test]
async fn every_operation_answers_every_actor_as_the_table_says() {
    let platform = Platform::start_with(
        Subgraphs::OrderLoop,
        Options {
            hooks: vec![world::other_district()],
            // Every actor's cells run back to back from one address: the per-client rate
            // limit (tested in door.rs) is not what this table is about.
            guard: tongxin_guard::GuardSettings {
                rate_per_second: 100_000,
                rate_burst: 100_000,
                ..tongxin_guard::GuardSettings::default()
            },
            ..Options::default()
        },
    )
    .await;
    let table = table();

    let schema = operations(&platform).await;
    let rows: BTreeSet<String> = table.op.iter().map(|r| r.op.clone()).collect();
    let missing: Vec<_> = schema.difference(&rows).collect();
    let stale: Vec<_> = rows.difference(&schema).collect();
    assert!(
        missing.is_empty() && stale.is_empty(),
        "tests/e2e/authz/table.toml must have exactly one row per operation of the schema;\n without a row: {missing:?}\n rows for no operation: {stale:?}"
    );
    assert_eq!(rows.len(), table.op.len(), "one row per operation");

    let mut reads = World::new(&platform, "r");
    let mut mismatches = Vec::new();
    let mut observed = String::new();
    for (n, row) in table.op.iter().enumerate() {
        let mut cells = Vec::new();
        for actor in ACTORS {
            let seen = if row.kind() == "Mutation" {
                // A mutation may change what it touches: every cell gets a world of its own.
                let mut fresh = World::new(&platform, format!("m{n}{actor}"));
                run(&platform, &mut fresh, row, actor).await
            } else {
                run(&platform, &mut reads, row, actor).await
            };
            let expected = row.expected(&table, actor);
            if seen.outcome != expected {
                mismatches.push(format!(
                    "{:<36} {actor:<21} expected {expected:<18} got {:<18} {}{}",
                    row.op,
                    seen.outcome,
                    seen.detail,
                    row.why
                        .as_deref()
                        .map(|w| format!(" (rule: {w})"))
                        .unwrap_or_default()
                ));
            }
            cells.push(format!("{actor} = \"{}\"", seen.outcome));
        }
        observed.push_str(&format!("{}: {}\n", row.op, cells.join(", ")));
    }
    if let Ok(path) = std::env::var("TONGXIN_AUTHZ_OBSERVED") {
        std::fs::write(&path, &observed).expect("write the observed table");
    }
    platform.stop().await;
    assert!(
        mismatches.is_empty(),
        "{} cell(s) of the authorization table differ:\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );
}

/// What one cell answered: its outcome and, for a mismatch, the answer.
struct Seen {
    outcome: String,
    detail: String,
}

async fn run(platform: &Platform, world: &mut World<'_>, row: &Row, actor: &str) -> Seen {
    let vars = substitute(world, &row.vars).await;
    let token = world.token(actor).await;
    let answer = if row.kind() == "Subscription" {
        first_event(&platform.url(), token.as_deref(), &row.doc, &vars).await
    } else {
        Some(platform.graphql(token.as_deref(), &row.doc, vars).await)
    };
    let Some(answer) = answer else {
        return Seen {
            outcome: "open".into(),
            detail: "no event, no error: the subscription is open".into(),
        };
    };
    let detail = answer.to_string().chars().take(300).collect();
    let outcome = if let Some(error) = answer["errors"].get(0) {
        error["extensions"]["code"]
            .as_str()
            .map(str::to_owned)
            .unwrap_or_else(|| format!("NO_CODE({})", error["message"]))
    } else {
        let value = &answer["data"][row.field()];
        if value.is_null() {
            "null".into()
        } else if let Some(path) = &row.masked {
            // Masked: shown with stars, or withheld (null) where the field is nullable.
            match at(value, path) {
                Value::String(s) if !s.contains('*') => "ok".into(),
                Value::String(_) | Value::Null => "masked".into(),
                other => format!("{path} is {other}"),
            }
        } else {
            "ok".into()
        }
    };
    Seen { outcome, detail }
}

/// `value` at a dotted path (`edges.0.node.phone`).
fn at<'v>(value: &'v Value, path: &str) -> &'v Value {
    path.split('.')
        .fold(value, |v, key| match key.parse::<usize>() {
            Ok(i) => &v[i],
            Err(_) => &v[key],
        })
}

/// `vars` with every `"$name"` string replaced by the world's fixture of that name.
async fn substitute(world: &mut World<'_>, vars: &Value) -> Value {
    match vars {
        Value::String(s) if s.starts_with('$') => Value::String(world.value(&s[1..]).await),
        Value::Array(items) => {
            let mut out = Vec::new();
            for item in items {
                out.push(Box::pin(substitute(world, item)).await);
            }
            Value::Array(out)
        }
        Value::Object(map) => {
            let mut out = serde_json::Map::new();
            for (k, v) in map {
                out.insert(k.clone(), Box::pin(substitute(world, v)).await);
            }
            Value::Object(out)
        }
        Value::Null => json!({}),
        other => other.clone(),
    }
}

/// The first event of a subscription over SSE, or `None` when none comes within a second
/// (the subscription was accepted and waits for something to happen). A refusal arrives at
/// once, as the first event or as the response itself.
async fn first_event(url: &str, token: Option<&str>, doc: &str, vars: &Value) -> Option<Value> {
    let mut request = reqwest::Client::new()
        .post(url)
        .header("accept", "text/event-stream")
        .json(&json!({ "query": doc, "variables": vars }));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let mut response = request.send().await.expect("SSE request");
    let sse = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/event-stream"));
    if !sse {
        return Some(response.json().await.expect("a JSON refusal"));
    }
    let mut buffer = String::new();
    let read = async {
        while let Some(chunk) = response.chunk().await.expect("SSE chunk") {
            buffer.push_str(&String::from_utf8_lossy(&chunk));
            while let Some(end) = buffer.find("\n\n") {
                let event: String = buffer.drain(..end + 2).collect();
                if let Some(data) = event.lines().find_map(|l| l.strip_prefix("data:")) {
                    let data = data.trim();
                    if !data.is_empty() {
                        return Some(serde_json::from_str(data).expect("SSE data is JSON"));
                    }
                }
            }
        }
        None
    };
    tokio::time::timeout(Duration::from_secs(1), read)
        .await
        .ok()
        .flatten()
}
