//! Helpers for the demo's tests: running the demo and a real Prometheus as child processes
//! (killed on drop, even when a test panics), a minimal HTTP/1.0 client, temp directories.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime};

/// The repository root.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A directory removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> Self {
        let nanos = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let dir =
            std::env::temp_dir().join(format!("corral-demo-{tag}-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
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

/// A free loopback port (bound, then released for the child to take).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
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

/// `GET target` over HTTP/1.0 (no chunked bodies); returns status and body.
pub fn http_get(addr: SocketAddr, target: &str) -> std::io::Result<(u16, String)> {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5))?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    write!(stream, "GET {target} HTTP/1.0\r\nHost: {addr}\r\n\r\n")?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text
        .split_once("\r\n\r\n")
        .ok_or_else(|| std::io::Error::other("no HTTP head"))?;
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::other("no status"))?;
    Ok((status, body.to_owned()))
}

/// Percent-encodes a query value.
pub fn encode(value: &str) -> String {
    let mut out = String::new();
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A real Prometheus server on a free loopback port, with its own data directory.
pub struct Prometheus {
    pub addr: SocketAddr,
    _process: Running,
    _dir: TempDir,
}

impl Prometheus {
    /// Starts `prometheus` with `config` (YAML) and waits until it is ready.
    pub fn start(config: &str, extra: &[&str]) -> Self {
        let dir = TempDir::new("prometheus");
        let config_path = dir.0.join("prometheus.yml");
        std::fs::write(&config_path, config).unwrap();
        // A server that exits before it is ready most likely lost its port to a concurrent
        // test between `free_port` releasing it and the server binding it: retry on another.
        let log_path = dir.0.join("prometheus.log");
        let mut failures = Vec::new();
        let (addr, process) = 'start: loop {
            assert!(
                failures.len() < 5,
                "prometheus exited before it was ready, five times:\n{}",
                failures.join("\n---\n")
            );
            let port = free_port();
            let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
            let log = std::fs::File::create(&log_path).unwrap();
            let child = Command::new("prometheus")
                .arg(format!("--config.file={}", config_path.display()))
                .arg(format!(
                    "--storage.tsdb.path={}",
                    dir.0.join("data").display()
                ))
                .arg(format!("--web.listen-address={addr}"))
                .args(extra)
                .stdout(Stdio::null())
                .stderr(log)
                .spawn()
                .expect(
                    "cannot start `prometheus`: install Debian's prometheus package \
                     (apt-get install -y prometheus; ./test.sh does)",
                );
            let mut process = Running {
                child,
                name: "prometheus",
            };
            let deadline = Instant::now() + Duration::from_secs(30);
            loop {
                if let Ok((200, _)) = http_get(addr, "/-/ready") {
                    break 'start (addr, process);
                }
                let log = || std::fs::read_to_string(&log_path).unwrap_or_default();
                if let Ok(Some(status)) = process.child.try_wait() {
                    failures.push(format!("exited ({status}):\n{}", log()));
                    continue 'start;
                }
                assert!(
                    Instant::now() < deadline,
                    "prometheus not ready after 30 s:\n{}",
                    log()
                );
                std::thread::sleep(Duration::from_millis(100));
            }
        };
        Self {
            addr,
            _process: process,
            _dir: dir,
        }
    }

    /// `GET /api/v1/<path>` as JSON.
    pub fn api(&self, path: &str) -> serde_json::Value {
        let (status, body) = http_get(self.addr, &format!("/api/v1/{path}")).unwrap();
        let json: serde_json::Value = serde_json::from_str(&body)
            .unwrap_or_else(|e| panic!("{path}: not JSON ({e}), status {status}: {body}"));
        json
    }

    /// An instant query; the whole answer.
    pub fn query(&self, expr: &str) -> serde_json::Value {
        self.api(&format!("query?query={}", encode(expr)))
    }
}
