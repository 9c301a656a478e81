//! Helpers for the demo's tests: running the demo as a child process (killed on drop, even
//! when a test panics), temp directories. The real Prometheus is the exporters' tests' own
//! (`exporters/tests/support/prometheus.rs`).
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// The repository root.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A child process killed on drop.
pub struct Running {
    pub child: Child,
    pub name: &'static str,
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts the demo on a free port; returns it and the address it prints.
pub fn start_demo(extra: &[&str]) -> (Running, SocketAddr, mpsc::Receiver<String>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_corral-demo"))
        .args(["--listen", "127.0.0.1:0"])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start corral-demo");
    let stdout = child.stdout.take().unwrap();
    let running = Running {
        child,
        name: "corral-demo",
    };
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let line = rx
            .recv_timeout(left)
            .expect("corral-demo did not print its metrics URL within 30 s");
        if let Some(rest) = line.strip_prefix("corral-demo: metrics  http://") {
            let addr = rest.trim_end_matches("/metrics").parse().unwrap();
            return (running, addr, rx);
        }
    }
}
