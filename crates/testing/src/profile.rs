//! `make profile SCENARIO=…`: a sampling profiler attached to one process for a bench's
//! measured phase (scripts/profile.sh draws the flame graph).
//!
//! A bench calls [`Profiler::start`] with the name and pid of each process it could profile
//! when its load begins, and [`Profiler::stop`] when it ends; only the process named by
//! `TONGXIN_PROFILE` (`orders`, `router`, `bench` for the bench's own process, …) gets `perf
//! record`, writing to `TONGXIN_PROFILE_DATA`. Without those variables nothing happens, so
//! `make bench` measures the same code unprofiled.

use std::process::Stdio;

use tokio::process::{Child, Command};

/// A running `perf record`, or nothing.
pub struct Profiler {
    perf: Option<Child>,
}

impl Profiler {
    /// Starts sampling `pid` if `TONGXIN_PROFILE` names `process` (CPU clock at 499 Hz,
    /// stacks unwound from DWARF call-frame information: release builds keep no frame
    /// pointers).
    pub fn start(process: &str, pid: Option<u32>) -> Self {
        let wanted = std::env::var("TONGXIN_PROFILE").ok();
        let data = std::env::var("TONGXIN_PROFILE_DATA").ok();
        let (Some(wanted), Some(data), Some(pid)) = (wanted, data, pid) else {
            return Self { perf: None };
        };
        if wanted != process {
            return Self { perf: None };
        }
        let perf = Command::new("perf")
            .args(["record", "-F", "499", "--call-graph", "dwarf,16384", "-p"])
            .arg(pid.to_string())
            .arg("-o")
            .arg(&data)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn();
        match perf {
            Ok(child) => {
                println!("profiling {process} (pid {pid}) into {data}");
                Self { perf: Some(child) }
            }
            Err(e) => {
                eprintln!("profile: perf did not start: {e}");
                Self { perf: None }
            }
        }
    }

    /// The pid of this process, for profiling the bench itself (services run in it).
    pub fn this_process() -> Option<u32> {
        Some(std::process::id())
    }

    /// Stops sampling and waits until perf has written its data.
    pub async fn stop(self) {
        let Some(mut perf) = self.perf else {
            return;
        };
        if let Some(pid) = perf.id() {
            // perf writes its file on SIGINT (a kill would leave it truncated).
            let _ = Command::new("kill")
                .args(["-INT", &pid.to_string()])
                .status()
                .await;
        }
        let _ = perf.wait().await;
    }
}
