//! Real peers for the tracing tests: the `rotel` OTLP collector and a Prometheus server,
//! each a plain process on free loopback ports with its own temporary directory, killed
//! when dropped (also on panic).

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

/// A fresh directory under the system temp dir, removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> Self {
        static N: AtomicU32 = AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!(
            "corral-{tag}-{}-{}",
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

fn wait_for_port(port: u16, child: &mut Child, what: &str, log: &dyn Fn() -> String) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return;
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!(
                "{what} exited ({status}) before listening on {port}:\n{}",
                log()
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("{what} did not listen on {port} within 20 s:\n{}", log());
}

/// Collects a child's stdout lines in the background.
fn collect(child: &mut Child) -> Arc<Mutex<String>> {
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
    out
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

/// A running `rotel` collector that prints every span it receives.
pub struct Rotel {
    child: Child,
    _dir: TempDir,
    pub grpc_port: u16,
    pub http_port: u16,
    stdout: Arc<Mutex<String>>,
}

impl Rotel {
    pub fn start() -> Self {
        let binary = rotel_binary();
        let dir = TempDir::new("rotel");
        let grpc_port = free_port();
        let http_port = free_port();
        let mut child = Command::new(&binary)
            .arg("start")
            .args(["--otlp-grpc-endpoint", &format!("127.0.0.1:{grpc_port}")])
            .args(["--otlp-http-endpoint", &format!("127.0.0.1:{http_port}")])
            .args(["--debug-log", "traces", "--debug-log-verbosity", "detailed"])
            .args(["--exporter", "blackhole"])
            .arg("--pid-file")
            .arg(dir.0.join("rotel.pid"))
            .arg("--log-file")
            .arg(dir.0.join("rotel.log"))
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", binary.display()));
        let stdout = collect(&mut child);
        let log = || stdout.lock().unwrap().clone();
        wait_for_port(grpc_port, &mut child, "rotel (gRPC)", &log);
        wait_for_port(http_port, &mut child, "rotel (HTTP)", &log);
        Self {
            child,
            _dir: dir,
            grpc_port,
            http_port,
            stdout,
        }
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

    /// Waits until rotel's output satisfies `done` (it prints a batch as it receives it);
    /// returns the output either way after `timeout`.
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
}

impl Drop for Rotel {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One span as rotel's detailed debug log prints it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PrintedSpan {
    pub trace_id: String,
    pub parent_id: String,
    pub span_id: String,
    pub name: String,
    pub kind: String,
    pub status: String,
    pub attributes: Vec<(String, String)>,
    pub service_name: String,
}

impl PrintedSpan {
    pub fn attribute(&self, key: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// Every span in rotel's output.
pub fn parse_spans(out: &str) -> Vec<PrintedSpan> {
    let mut spans: Vec<PrintedSpan> = Vec::new();
    let mut service = String::new();
    let mut in_span = false;
    let mut in_resource = false;
    for line in out.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with("ResourceSpans #") {
            in_resource = true;
            in_span = false;
            service.clear();
            continue;
        }
        if trimmed.starts_with("Span #") {
            in_span = true;
            in_resource = false;
            spans.push(PrintedSpan {
                service_name: service.clone(),
                ..PrintedSpan::default()
            });
            continue;
        }
        if trimmed.starts_with("ScopeSpans #")
            || trimmed.starts_with("Events:")
            || trimmed.starts_with("Links:")
        {
            // Attributes of events and links are not the span's.
            in_span = false;
            in_resource = false;
            continue;
        }
        let field = |name: &str| {
            trimmed
                .strip_prefix(name)
                .and_then(|r| r.trim_start().strip_prefix(':'))
                .map(|v| v.trim().to_owned())
        };
        if let Some(kv) = trimmed.strip_prefix("-> ") {
            if let Some((k, v)) = kv.split_once(": ") {
                let v = v
                    .split_once('(')
                    .map(|(_, rest)| rest.trim_end_matches(')'))
                    .unwrap_or(v)
                    .to_owned();
                if in_resource && k == "service.name" {
                    service = v;
                } else if in_span {
                    if let Some(span) = spans.last_mut() {
                        span.attributes.push((k.to_owned(), v));
                    }
                }
            }
            continue;
        }
        if !in_span {
            continue;
        }
        let Some(span) = spans.last_mut() else {
            continue;
        };
        if let Some(v) = field("Trace ID") {
            span.trace_id = v;
        } else if let Some(v) = field("Parent ID") {
            span.parent_id = v;
        } else if let Some(v) = field("ID") {
            span.span_id = v;
        } else if let Some(v) = field("Name") {
            span.name = v;
        } else if let Some(v) = field("Kind") {
            span.kind = v;
        } else if let Some(v) = field("Status code") {
            span.status = v;
        }
    }
    spans
}
