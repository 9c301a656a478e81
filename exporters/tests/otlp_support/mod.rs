//! The real collector for the OTLP metric tests: `rotel`, a plain process on free loopback
//! ports (or ports the test chooses, to restart it in place), with its own temporary
//! directory, killed when dropped (also on panic). Its detailed debug log of every metric
//! it receives is what the tests assert on.

#![allow(dead_code)] // each test file uses part of it

use std::io::{BufRead, BufReader};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A free loopback port (bound, read, released).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("no free loopback port")
}

struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Self {
        static N: AtomicU32 = AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!(
            "corral-otlp-rotel-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).expect("create temp dir");
        Self(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The `rotel-agent` binary of the `rotel` Python package (or `$ROTEL_AGENT`).
fn rotel_binary() -> PathBuf {
    if let Some(path) = std::env::var_os("ROTEL_AGENT") {
        return PathBuf::from(path);
    }
    let found = Command::new("python3")
        .args([
            "-c",
            "import os, rotel; print(os.path.dirname(rotel.__file__))",
        ])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()).join("rotel-agent"))
        .filter(|p| p.is_file());
    found.unwrap_or_else(|| {
        panic!(
            "the rotel OTLP collector is not installed: run `python3 -m pip install rotel==0.0.1a15` \
             (./test.sh does), or set ROTEL_AGENT to a rotel-agent binary"
        )
    })
}

/// A running `rotel` collector that prints every metric it receives.
pub struct Rotel {
    child: Child,
    _dir: TempDir,
    pub grpc_port: u16,
    pub http_port: u16,
    stdout: Arc<Mutex<String>>,
}

impl Rotel {
    pub fn start() -> Self {
        Self::start_on(free_port(), free_port())
    }

    /// On these ports (a restart in place).
    pub fn start_on(grpc_port: u16, http_port: u16) -> Self {
        let binary = rotel_binary();
        let dir = TempDir::new();
        let mut child = Command::new(&binary)
            .arg("start")
            .args(["--otlp-grpc-endpoint", &format!("127.0.0.1:{grpc_port}")])
            .args(["--otlp-http-endpoint", &format!("127.0.0.1:{http_port}")])
            .args([
                "--debug-log",
                "metrics",
                "--debug-log-verbosity",
                "detailed",
            ])
            .args(["--exporter", "blackhole"])
            .arg("--pid-file")
            .arg(dir.0.join("rotel.pid"))
            .arg("--log-file")
            .arg(dir.0.join("rotel.log"))
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", binary.display()));
        let out = Arc::new(Mutex::new(String::new()));
        let stdout = child.stdout.take().expect("piped stdout");
        let sink = Arc::clone(&out);
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                let mut text = sink.lock().unwrap();
                text.push_str(&line);
                text.push('\n');
            }
        });
        let mut rotel = Self {
            child,
            _dir: dir,
            grpc_port,
            http_port,
            stdout: out,
        };
        rotel.wait_for_port(grpc_port);
        rotel.wait_for_port(http_port);
        rotel
    }

    fn wait_for_port(&mut self, port: u16) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "rotel exited ({status}) before listening on {port}:\n{}",
                    self.output()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!(
            "rotel did not listen on {port} within 20 s:\n{}",
            self.output()
        );
    }

    pub fn grpc_endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.grpc_port)
    }

    pub fn http_endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.http_port)
    }

    /// Everything rotel printed so far.
    pub fn output(&self) -> String {
        self.stdout.lock().unwrap().clone()
    }

    /// Waits until the output satisfies `done`; returns it either way after `timeout`.
    pub fn wait_for(&self, timeout: Duration, done: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            let out = self.output();
            if done(&out) || Instant::now() >= deadline {
                return out;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Stops the collector (and waits for the process to end).
    pub fn stop(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Rotel {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
