//! Real peers for the tracing tests: the `rotel` OTLP collector, a plain process on free
//! loopback ports with its own temporary directory, killed when dropped (also on panic),
//! and a minimal OpenMetrics target for a Prometheus server (`support/prometheus.rs`) to
//! scrape.

#![allow(dead_code)] // each test file uses part of it

// The including test crate declares `mod peers;` (`tests/peers/mod.rs`).
use crate::peers::{TempDir, start_on_fresh_ports, wait_ready};

use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Collects a child's stdout lines in the background.
fn collect(child: &mut Child) -> Arc<Mutex<String>> {
    lines_of(child.stdout.take().expect("piped stdout"))
}

/// Collects a child's stderr lines in the background.
fn collect_stderr(child: &mut Child) -> Arc<Mutex<String>> {
    lines_of(child.stderr.take().expect("piped stderr"))
}

fn lines_of(pipe: impl std::io::Read + Send + 'static) -> Arc<Mutex<String>> {
    let out = Arc::new(Mutex::new(String::new()));
    let sink = Arc::clone(&out);
    std::thread::spawn(move || {
        for line in BufReader::new(pipe).lines() {
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

/// A running `rotel` collector that prints every span and metric it receives.
pub struct Rotel {
    child: Child,
    _dir: TempDir,
    pub grpc_port: u16,
    pub http_port: u16,
    stdout: Arc<Mutex<String>>,
}

impl Rotel {
    /// A collector on fresh ports (retried on new ones if it loses them, see
    /// [`start_on_fresh_ports`]).
    pub fn start() -> Self {
        start_on_fresh_ports("rotel", |[grpc_port, http_port]| {
            Self::try_start_on(grpc_port, http_port)
        })
    }

    /// A collector on these ports (for example those of one stopped before).
    pub fn start_on(grpc_port: u16, http_port: u16) -> Self {
        Self::try_start_on(grpc_port, http_port).unwrap_or_else(|why| panic!("{why}"))
    }

    /// One start; `Err` if the process exited before it listened on both ports.
    fn try_start_on(grpc_port: u16, http_port: u16) -> Result<Self, String> {
        let binary = rotel_binary();
        let dir = TempDir::new("rotel");
        let log_file = dir.0.join("rotel.log");
        let mut child = Command::new(&binary)
            .arg("start")
            .args(["--otlp-grpc-endpoint", &format!("127.0.0.1:{grpc_port}")])
            .args(["--otlp-http-endpoint", &format!("127.0.0.1:{http_port}")])
            .args(["--debug-log", "traces", "--debug-log", "metrics"])
            .args(["--debug-log-verbosity", "detailed"])
            .args(["--exporter", "blackhole"])
            .arg("--pid-file")
            .arg(dir.0.join("rotel.pid"))
            .arg("--log-file")
            .arg(&log_file)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", binary.display()));
        let stdout = collect(&mut child);
        let stderr = collect_stderr(&mut child);
        let log = || {
            // The reader threads may lag the exit by a moment.
            std::thread::sleep(Duration::from_millis(50));
            format!(
                "stdout:\n{}stderr:\n{}log file:\n{}",
                stdout.lock().unwrap(),
                stderr.lock().unwrap(),
                std::fs::read_to_string(&log_file).unwrap_or_default()
            )
        };
        let listening = |port: u16| move || TcpStream::connect(("127.0.0.1", port)).is_ok();
        let within = Duration::from_secs(20);
        let up = wait_ready(
            &mut child,
            "rotel (gRPC)",
            within,
            listening(grpc_port),
            log,
        )
        .and_then(|()| {
            wait_ready(
                &mut child,
                "rotel (HTTP)",
                within,
                listening(http_port),
                log,
            )
        });
        if let Err(e) = up {
            let _ = child.kill();
            let _ = child.wait();
            return Err(e);
        }
        Ok(Self {
            child,
            _dir: dir,
            grpc_port,
            http_port,
            stdout,
        })
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
        wait_until(timeout, || done(&self.output()));
        self.output()
    }

    /// Stops the collector (and waits for the process to end).
    pub fn stop(self) {
        drop(self);
    }
}

/// Polls `done` every 10 ms until it holds or `timeout` has passed; whether it held.
pub fn wait_until(timeout: Duration, mut done: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if done() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(10));
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
                } else if let Some(span) = spans.last_mut().filter(|_| in_span) {
                    span.attributes.push((k.to_owned(), v));
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

/// Serves `render()` as OpenMetrics text on a free loopback port, one request at a time,
/// on a background thread that lives as long as the test process; returns the address.
pub fn serve_openmetrics(render: impl Fn() -> Vec<u8> + Send + 'static) -> SocketAddr {
    use std::io::{Read, Write};
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
            // Read the request head; its content does not matter.
            let mut head = Vec::new();
            let mut buf = [0u8; 1024];
            while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                match stream.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => head.extend_from_slice(&buf[..n]),
                }
            }
            let body = render();
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Type: application/openmetrics-text; version=1.0.0; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = stream.write_all(&body);
        }
    });
    addr
}
