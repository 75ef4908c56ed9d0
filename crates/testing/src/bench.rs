//! The benches' shared recorder: every bench of `make bench` writes its figures here, each
//! beside the baseline it was measured against in the same run, and `bench-report` prints
//! them as one table at the end.
//!
//! Figures go to `target/bench/results.json` at the repository root (or the directory in
//! `TONGXIN_BENCH_DIR`), merged by scenario name: a bench run alone replaces its own
//! scenarios and keeps everyone else's, so benches run one after another fill one file. The
//! file also names the machine and the commit of the last writer.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{Value, json};

/// How long a timed phase runs: `BENCH_SECONDS` (default `default`), at least one second.
pub fn seconds(default: u64) -> u64 {
    std::env::var("BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
        .max(1)
}

/// The `p` quantile (0..=1) of `sorted` (nearest rank); zero when empty.
pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

/// Milliseconds, as the table shows them.
pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// The median of `values` (the middle one, or the mean of the two middle ones); zero when
/// empty. Repetitions of a phase are summarised by it, so one disturbed run does not move
/// the figure.
pub fn median(values: &[f64]) -> f64 {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(f64::total_cmp);
    let mid = v.len() / 2;
    if v.len() % 2 == 1 {
        v[mid]
    } else {
        (v[mid - 1] + v[mid]) / 2.0
    }
}

/// POSTs a JSON body to a GraphQL endpoint as `token`'s bearer and returns the answer: the
/// one request shape every load client in the benches sends (a transport error is an error;
/// GraphQL errors are the caller's to read).
pub async fn post_json(
    client: &reqwest::Client,
    url: &str,
    token: &str,
    body: &Value,
) -> anyhow::Result<Value> {
    Ok(client
        .post(url)
        .bearer_auth(token)
        .json(body)
        .send()
        .await?
        .json()
        .await?)
}

/// Peak resident memory of process `pid` in MiB (`VmHWM` of `/proc/<pid>/status`); `None`
/// when the process is gone or the kernel does not say.
pub fn peak_rss_mib(pid: u32) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kib: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()?;
    Some(kib / 1024.0)
}

/// What one pgbench run gave: transactions per second and every transaction's latency.
pub struct Pgbench {
    /// Transactions per second (pgbench's own figure, without connection time).
    pub tps: f64,
    /// Each transaction's latency, sorted (from pgbench's per-transaction log).
    pub latencies: Vec<Duration>,
}

/// Runs `script` (a pgbench custom script) with `clients` clients for `secs` against
/// `db_url`, statements prepared (`-M prepared`, as the services' driver prepares and caches
/// them), logging every transaction for p50/p99.
pub async fn pgbench(
    db_url: &str,
    script: &str,
    clients: usize,
    secs: u64,
) -> anyhow::Result<Pgbench> {
    let dir = tempfile::tempdir()?;
    let file = dir.path().join("script.sql");
    std::fs::write(&file, script)?;
    let prefix = dir.path().join("tx");
    let out = tokio::process::Command::new("pgbench")
        .args(["-n", "-M", "prepared", "-j", "2", "-l"])
        .arg(format!("--log-prefix={}", prefix.display()))
        .arg(format!("-c{clients}"))
        .arg(format!("-T{secs}"))
        .arg("-f")
        .arg(&file)
        .arg(db_url)
        .output()
        .await
        .map_err(|e| {
            anyhow::anyhow!("pgbench could not run (is postgresql-client installed?): {e}")
        })?;
    let text = String::from_utf8_lossy(&out.stdout);
    let tps = text
        .lines()
        .find_map(|l| {
            l.trim()
                .strip_prefix("tps = ")
                .and_then(|r| r.split_whitespace().next())
                .and_then(|n| n.parse::<f64>().ok())
        })
        .ok_or_else(|| {
            anyhow::anyhow!(
                "pgbench printed no tps: {text} {}",
                String::from_utf8_lossy(&out.stderr)
            )
        })?;
    // One log per thread: `client transaction latency_us script epoch epoch_us` a line.
    let mut latencies = Vec::new();
    for entry in std::fs::read_dir(dir.path())? {
        let path = entry?.path();
        if !path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with("tx"))
        {
            continue;
        }
        for line in std::fs::read_to_string(&path)?.lines() {
            if let Some(us) = line
                .split_whitespace()
                .nth(2)
                .and_then(|v| v.parse::<u64>().ok())
            {
                latencies.push(Duration::from_micros(us));
            }
        }
    }
    latencies.sort_unstable();
    Ok(Pgbench { tps, latencies })
}

/// A string as an SQL literal (for pgbench scripts built from stored rows).
pub fn sql_literal(v: &Value) -> String {
    match v {
        Value::Null => "NULL".to_owned(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => format!("'{}'", s.replace('\'', "''")),
        other => format!("'{}'", other.to_string().replace('\'', "''")),
    }
}

/// What a figure must reach.
#[derive(Clone, Copy, Debug)]
pub enum Goal {
    /// value / baseline at least this.
    RatioAtLeast(f64),
    /// value strictly below this.
    Below(f64),
    /// value at most this.
    AtMost(f64),
}

impl Goal {
    fn describe(self, unit: &str) -> String {
        match self {
            Goal::RatioAtLeast(r) => format!("≥ {r}× baseline"),
            Goal::Below(v) => format!("< {v} {unit}"),
            Goal::AtMost(v) => format!("≤ {v} {unit}"),
        }
    }

    fn met(self, value: f64, ratio: Option<f64>) -> Option<bool> {
        match self {
            Goal::RatioAtLeast(r) => ratio.map(|x| x >= r),
            Goal::Below(v) => Some(value < v),
            Goal::AtMost(v) => Some(value <= v),
        }
    }
}

/// One measured figure, with its baseline when it has one.
#[derive(Clone, Debug)]
pub struct Figure {
    name: String,
    value: f64,
    unit: String,
    p50_ms: Option<f64>,
    p99_ms: Option<f64>,
    baseline: Option<(String, f64)>,
    goal: Option<Goal>,
    note: Option<String>,
    lower_is_better: bool,
}

impl Figure {
    /// `value` in `unit` (e.g. `requests/s`, `ms`, `MiB`).
    pub fn new(name: impl Into<String>, value: f64, unit: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            value,
            unit: unit.into(),
            p50_ms: None,
            p99_ms: None,
            baseline: None,
            goal: None,
            note: None,
            lower_is_better: false,
        }
    }

    /// The value is a time or a size, where less is better: the ratio becomes baseline /
    /// value, so a ratio above 1 always means "better than the baseline".
    pub fn lower_is_better(mut self) -> Self {
        self.lower_is_better = true;
        self
    }

    /// p50 and p99 of the requests behind it (`sorted` ascending).
    pub fn latencies(self, sorted: &[Duration]) -> Self {
        self.p50_p99(ms(percentile(sorted, 0.50)), ms(percentile(sorted, 0.99)))
    }

    /// p50 and p99 in milliseconds, when they come from elsewhere (pgbench).
    pub fn p50_p99(mut self, p50_ms: f64, p99_ms: f64) -> Self {
        self.p50_ms = Some(p50_ms);
        self.p99_ms = Some(p99_ms);
        self
    }

    /// The baseline measured in the same run, in the same unit.
    pub fn baseline(mut self, name: impl Into<String>, value: f64) -> Self {
        self.baseline = Some((name.into(), value));
        self
    }

    /// What it must reach.
    pub fn goal(mut self, goal: Goal) -> Self {
        self.goal = Some(goal);
        self
    }

    /// A short remark printed under the table (what the figure includes, why it missed).
    pub fn note(mut self, note: impl Into<String>) -> Self {
        self.note = Some(note.into());
        self
    }

    fn ratio(&self) -> Option<f64> {
        let (_, b) = self.baseline.as_ref()?;
        let (num, den) = if self.lower_is_better {
            (*b, self.value)
        } else {
            (self.value, *b)
        };
        (den != 0.0).then(|| num / den)
    }

    fn to_json(&self) -> Value {
        let ratio = self.ratio();
        json!({
            "name": self.name,
            "value": self.value,
            "unit": self.unit,
            "p50_ms": self.p50_ms,
            "p99_ms": self.p99_ms,
            "baseline_name": self.baseline.as_ref().map(|b| &b.0),
            "baseline_value": self.baseline.as_ref().map(|b| b.1),
            "ratio": ratio,
            "lower_is_better": self.lower_is_better,
            "goal": self.goal.map(|g| g.describe(&self.unit)),
            "met": self.goal.and_then(|g| g.met(self.value, ratio)),
            "note": self.note,
        })
    }
}

/// The figures of one scenario, saved together.
pub struct Scenario {
    name: String,
    figures: Vec<Figure>,
}

impl Scenario {
    /// A scenario named `name` (`orders/placeOrder`); the name is the merge key.
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            figures: Vec::new(),
        }
    }

    /// Adds a figure and prints it as one line, so a bench run alone shows it too.
    pub fn add(&mut self, figure: Figure) -> &mut Self {
        println!("{}", line(&self.name, &figure.to_json()));
        self.figures.push(figure);
        self
    }

    /// Merges this scenario into the results file (replacing an earlier one of the same name)
    /// with the machine and the commit; returns the file's path.
    pub fn save(&self) -> anyhow::Result<PathBuf> {
        let path = results_path();
        self.save_to(&path)?;
        println!("[{}] saved to {}", self.name, path.display());
        Ok(path)
    }

    /// [`Self::save`] into the file at `path`.
    pub fn save_to(&self, path: &Path) -> anyhow::Result<()> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let mut results = read_results(path)?;
        let entry = json!({
            "name": self.name,
            "recorded_at": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            "figures": self.figures.iter().map(Figure::to_json).collect::<Vec<_>>(),
        });
        let scenarios = results["scenarios"]
            .as_array_mut()
            .ok_or_else(|| anyhow::anyhow!("{}: scenarios is not a list", path.display()))?;
        match scenarios.iter_mut().find(|s| s["name"] == self.name) {
            Some(existing) => *existing = entry,
            None => scenarios.push(entry),
        }
        results["machine"] = machine();
        // Write beside it and rename, so a bench killed halfway never leaves half a file.
        let tmp = path.with_extension("json.tmp");
        std::fs::write(&tmp, serde_json::to_string_pretty(&results)?)?;
        std::fs::rename(&tmp, path)?;
        Ok(())
    }
}

fn line(scenario: &str, f: &Value) -> String {
    let mut s = format!(
        "[{scenario}] {}: {} {}",
        f["name"].as_str().unwrap_or_default(),
        number(&f["value"]),
        f["unit"].as_str().unwrap_or_default()
    );
    if f["p50_ms"].is_number() {
        s += &format!(
            ", p50 {} ms, p99 {} ms",
            number(&f["p50_ms"]),
            number(&f["p99_ms"])
        );
    }
    if let Some(b) = f["baseline_name"].as_str() {
        s += &format!(
            "; baseline {b}: {}, ratio {}",
            number(&f["baseline_value"]),
            number(&f["ratio"])
        );
    }
    if let Some(g) = f["goal"].as_str() {
        s += &format!("; goal {g}: {}", met(&f["met"]));
    }
    s
}

/// Where the results go: `$TONGXIN_BENCH_DIR/results.json`, else `target/bench/` at the
/// repository root (whatever `CARGO_TARGET_DIR` the build used, so `make bench` finds it).
pub fn results_path() -> PathBuf {
    let dir = std::env::var_os("TONGXIN_BENCH_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join("target/bench"));
    dir.join("results.json")
}

fn repo_root() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    root.canonicalize().unwrap_or(root)
}

fn read_results(path: &Path) -> anyhow::Result<Value> {
    match std::fs::read_to_string(path) {
        Ok(text) => {
            let v: Value = serde_json::from_str(&text)
                .map_err(|e| anyhow::anyhow!("{}: not bench results: {e}", path.display()))?;
            anyhow::ensure!(
                v["scenarios"].is_array(),
                "{}: not bench results (no scenarios list)",
                path.display()
            );
            Ok(v)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            Ok(json!({"machine": null, "scenarios": []}))
        }
        Err(e) => Err(e.into()),
    }
}

/// Cores, memory, kernel, date and commit: what a figure means depends on all of them.
fn machine() -> Value {
    let mem_mib = std::fs::read_to_string("/proc/meminfo").ok().and_then(|m| {
        m.lines()
            .find_map(|l| l.strip_prefix("MemTotal:"))
            .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
            .map(|kib| kib / 1024)
    });
    let git = |args: &[&str]| {
        std::process::Command::new("git")
            .args(args)
            .current_dir(repo_root())
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
    };
    let commit = git(&["rev-parse", "--short=12", "HEAD"]).map(|c| {
        // Uncommitted changes make the commit alone a lie about what was measured.
        match git(&["status", "--porcelain", "--untracked-files=no"]) {
            Some(s) if !s.is_empty() => format!("{c}+dirty"),
            _ => c,
        }
    });
    json!({
        "cores": std::thread::available_parallelism().map(|n| n.get()).ok(),
        "memory_mib": mem_mib,
        "kernel": std::fs::read_to_string("/proc/sys/kernel/osrelease").ok().map(|s| s.trim().to_owned()),
        "date": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "commit": commit,
        "profile": if cfg!(debug_assertions) { "dev" } else { "release" },
    })
}

fn number(v: &Value) -> String {
    match v.as_f64() {
        None => "–".to_owned(),
        Some(x) if x.abs() >= 100.0 => format!("{x:.0}"),
        Some(x) if x.abs() >= 1.0 => format!("{x:.2}"),
        Some(0.0) => "0".to_owned(),
        // Three significant digits for small values (µs figures in ms columns).
        Some(x) => {
            let decimals = (2 - x.abs().log10().floor() as i32).clamp(3, 6) as usize;
            format!("{x:.decimals$}")
        }
    }
}

fn met(v: &Value) -> &'static str {
    match v.as_bool() {
        Some(true) => "met",
        Some(false) => "MISSED",
        None => "–",
    }
}

/// The whole results file as a Markdown table (readable in a terminal too), with the
/// machine above it and the figures' notes below.
pub fn render(results: &Value) -> String {
    let m = &results["machine"];
    let mut out = String::from("# Tongxin bench results\n\n");
    out += &format!(
        "Machine: {} cores, {} MiB, kernel {}; {} build; commit {}; {}\n\n",
        m["cores"],
        m["memory_mib"],
        m["kernel"].as_str().unwrap_or("?"),
        m["profile"].as_str().unwrap_or("?"),
        m["commit"].as_str().unwrap_or("?"),
        m["date"].as_str().unwrap_or("?"),
    );
    out += "| scenario | figure | value | p50 ms | p99 ms | baseline | baseline value | ratio | goal | |\n";
    out += "|---|---|---:|---:|---:|---|---:|---:|---|---|\n";
    let mut notes = Vec::new();
    for s in results["scenarios"].as_array().into_iter().flatten() {
        let scenario = s["name"].as_str().unwrap_or_default();
        for f in s["figures"].as_array().into_iter().flatten() {
            out += &format!(
                "| {scenario} | {} | {} {} | {} | {} | {} | {} | {} | {} | {} |\n",
                f["name"].as_str().unwrap_or_default(),
                number(&f["value"]),
                f["unit"].as_str().unwrap_or_default(),
                number(&f["p50_ms"]),
                number(&f["p99_ms"]),
                f["baseline_name"].as_str().unwrap_or("–"),
                number(&f["baseline_value"]),
                number(&f["ratio"]),
                f["goal"].as_str().unwrap_or("–"),
                met(&f["met"]),
            );
            if let Some(n) = f["note"].as_str() {
                notes.push(format!(
                    "- {scenario} / {}: {n}",
                    f["name"].as_str().unwrap_or_default()
                ));
            }
        }
    }
    out += "\nratio: how many times the baseline's performance the figure reaches (value / baseline, or baseline / value for times and sizes): above 1 is better than the baseline.\n";
    if !notes.is_empty() {
        out += "\nNotes:\n\n";
        out += &notes.join("\n");
        out += "\n";
    }
    out
}

/// Reads the results file, prints the table and writes it beside it as `results.md`.
pub fn report() -> anyhow::Result<()> {
    let path = results_path();
    let results = read_results(&path)?;
    let table = render(&results);
    print!("{table}");
    let md = path.with_extension("md");
    std::fs::write(&md, &table)?;
    println!("\n(written to {} and {})", path.display(), md.display());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn goals_decide_met_from_value_or_ratio() {
        let f = Figure::new("x", 300.0, "orders/s")
            .baseline("pgbench", 1000.0)
            .goal(Goal::RatioAtLeast(0.5))
            .to_json();
        assert_eq!(f["ratio"], 0.3);
        assert_eq!(f["met"], false);
        let f = Figure::new("added", 0.2, "ms")
            .goal(Goal::Below(0.3))
            .to_json();
        assert_eq!(f["met"], true);
        assert_eq!(f["goal"], "< 0.3 ms");
        let f = Figure::new("no baseline", 1.0, "x")
            .goal(Goal::RatioAtLeast(0.5))
            .to_json();
        assert!(f["met"].is_null(), "no baseline, no verdict: {f}");
        let f = Figure::new("coverage", 100.0, "ms")
            .baseline("PostGIS", 800.0)
            .lower_is_better()
            .goal(Goal::RatioAtLeast(5.0))
            .to_json();
        assert_eq!(f["ratio"], 8.0);
        assert_eq!(f["met"], true);
    }

    #[test]
    fn scenarios_merge_by_name() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("results.json");
        let mut a = Scenario::new("a");
        a.add(Figure::new("first", 1.0, "x"));
        a.save_to(&path).expect("save a");
        let mut b = Scenario::new("b");
        b.add(Figure::new("other", 2.0, "x"));
        b.save_to(&path).expect("save b");
        let mut a2 = Scenario::new("a");
        a2.add(Figure::new("second", 3.0, "x"));
        a2.save_to(&path).expect("save a again");
        let results = read_results(&path).expect("read");
        let names: Vec<_> = results["scenarios"]
            .as_array()
            .expect("list")
            .iter()
            .map(|s| s["name"].as_str().unwrap_or_default().to_owned())
            .collect();
        assert_eq!(names, ["a", "b"], "a replaced in place, b kept");
        assert_eq!(results["scenarios"][0]["figures"][0]["name"], "second");
        assert!(results["machine"]["cores"].as_u64().is_some_and(|c| c > 0));
        let table = render(&results);
        assert!(table.contains("| a | second | 3.00 x |"), "{table}");
    }

    #[test]
    fn small_numbers_keep_three_digits() {
        assert_eq!(number(&json!(0.0016)), "0.00160");
        assert_eq!(number(&json!(0.25)), "0.250");
        assert_eq!(number(&json!(0.0)), "0");
        assert_eq!(number(&json!(1234.4)), "1234");
        assert_eq!(number(&Value::Null), "–");
    }

    #[test]
    fn median_and_percentiles() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
        assert_eq!(median(&[]), 0.0);
        let d: Vec<_> = (1..=100).map(Duration::from_millis).collect();
        assert_eq!(percentile(&d, 0.5), Duration::from_millis(51));
        assert_eq!(percentile(&d, 0.99), Duration::from_millis(99));
    }
}
