//! Helpers for the HTTP tests: a plain HTTP/1.1 client over `std::net::TcpStream` (so a
//! test controls every byte it sends) and a collector that holds a render open.
#![allow(dead_code)]

// `prometheus` starts its server through `crate::peers`, which the including test crate
// declares (`tests/peers/mod.rs`).
pub mod prometheus;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::ops::ControlFlow;
use std::sync::Mutex;
use std::sync::mpsc;
use std::time::Duration;

use corral_core::visit::{SeriesLabels, Value};
use corral_core::{Collect, MetricKind, Registry, SeriesSink};

/// A parsed HTTP response.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8(self.body.clone()).expect("UTF-8 body")
    }
}

/// Sends `GET`/`HEAD`/... `target` with `headers` and `Connection: close`, reads the whole
/// response.
pub fn request(addr: SocketAddr, method: &str, target: &str, headers: &[(&str, &str)]) -> Response {
    try_request(addr, method, target, headers)
        .unwrap_or_else(|e| panic!("{method} {target} on {addr}: {e}"))
}

/// [`request`], with a connection or parse error returned instead of panicking.
pub fn try_request(
    addr: SocketAddr,
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
) -> std::io::Result<Response> {
    let mut raw = format!("{method} {target} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (name, value) in headers {
        raw.push_str(&format!("{name}: {value}\r\n"));
    }
    raw.push_str("\r\n");
    send_raw(addr, raw.as_bytes())
}

pub fn get(addr: SocketAddr, target: &str, headers: &[(&str, &str)]) -> Response {
    request(addr, "GET", target, headers)
}

/// Writes `raw` and parses what comes back until the server closes.
pub fn send_raw(addr: SocketAddr, raw: &[u8]) -> std::io::Result<Response> {
    let mut stream = TcpStream::connect(addr)?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    stream.write_all(raw)?;
    let mut bytes = Vec::new();
    stream.read_to_end(&mut bytes)?;
    parse(&bytes, raw.starts_with(b"HEAD ")).ok_or_else(|| {
        std::io::Error::other(format!("not an HTTP response: {} bytes", bytes.len()))
    })
}

fn parse(bytes: &[u8], head: bool) -> Option<Response> {
    let end = bytes.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head_text = std::str::from_utf8(&bytes[..end]).ok()?;
    let mut lines = head_text.split("\r\n");
    let status_line = lines.next()?;
    let status = status_line.split(' ').nth(1)?.parse().ok()?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_string(), v.trim().to_string()))
        .collect();
    let rest = &bytes[end + 4..];
    let chunked = headers
        .iter()
        .any(|(n, v)| n.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked"));
    let body = if head {
        rest.to_vec()
    } else if chunked {
        dechunk(rest)?
    } else {
        rest.to_vec()
    };
    Some(Response {
        status,
        headers,
        body,
    })
}

fn dechunk(mut rest: &[u8]) -> Option<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let line_end = rest.windows(2).position(|w| w == b"\r\n")?;
        let size_text = std::str::from_utf8(&rest[..line_end]).ok()?;
        let size = usize::from_str_radix(size_text.split(';').next()?.trim(), 16).ok()?;
        rest = &rest[line_end + 2..];
        if size == 0 {
            return Some(body);
        }
        body.extend_from_slice(rest.get(..size)?);
        rest = rest.get(size + 2..)?;
    }
}

/// A registry of its own for one test (the server registers its self-metrics into it).
pub fn registry() -> &'static Registry<16> {
    Box::leak(Box::new(Registry::new()))
}

/// A gauge whose collection signals `entered` and then waits for `release`: holds a
/// render open exactly as long as a test wants.
pub struct Gate {
    entered: Mutex<mpsc::Sender<()>>,
    release: Mutex<mpsc::Receiver<()>>,
}

/// The test's side of a [`Gate`].
pub struct GateControl {
    pub entered: mpsc::Receiver<()>,
    pub release: mpsc::Sender<()>,
}

impl GateControl {
    /// Waits until a render is inside the gate.
    pub fn wait_entered(&self) {
        self.entered
            .recv_timeout(Duration::from_secs(20))
            .expect("a render entered the gate");
    }
}

pub fn gate() -> (&'static Gate, GateControl) {
    let (entered_tx, entered_rx) = mpsc::channel();
    let (release_tx, release_rx) = mpsc::channel();
    let gate = Box::leak(Box::new(Gate {
        entered: Mutex::new(entered_tx),
        release: Mutex::new(release_rx),
    }));
    (
        gate,
        GateControl {
            entered: entered_rx,
            release: release_tx,
        },
    )
}

impl Collect for Gate {
    fn kind(&self) -> MetricKind {
        MetricKind::Gauge
    }

    fn collect(&self, from: usize, sink: &mut SeriesSink<'_>) -> ControlFlow<usize> {
        if from == 0 {
            let _ = self.entered.lock().unwrap().send(());
            let _ = self
                .release
                .lock()
                .unwrap()
                .recv_timeout(Duration::from_secs(20));
            if sink(0, &SeriesLabels::NONE, &Value::Gauge(1.0)).is_break() {
                return ControlFlow::Break(0);
            }
        }
        ControlFlow::Continue(())
    }
}
