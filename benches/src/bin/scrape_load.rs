//! Scrape load: Corral's `/metrics` server and the peers' HTTP paths under `wrk`, serving
//! the same counter series, in one run.
//!
//! ```text
//! cargo run --release -p corral-benches --bin scrape_load -- \
//!     [--families 100] [--duration 20] [--connections 16] [--wrk-threads 2] \
//!     [--record-secs 5] [--stall-families 1000] [--stall-secs 5]
//! ```
//!
//! Each server gets `families` counter families of 100 series (labels `method` × `status`,
//! 10 × 10 values): 100 families are 10,000 series. Servers, one after the other, each for
//! `duration` seconds with `connections` concurrent scrapers, identity then gzip:
//! - `corral`: `MetricsServer::spawn_thread` (a single-threaded runtime; renders on its
//!   blocking pool), `max_in_flight` = `connections` so no scrape is refused;
//! - `metrics-exporter-prometheus`: its own HTTP listener (`with_http_listener`), on a
//!   single-threaded runtime of its own; it has no gzip and answers identity to both;
//! - `prometheus` (tikv) and `prometheus-client`: rendered in an axum handler as their docs
//!   show (`TextEncoder::encode` of `gather()`; `encode` into a `String`), each on a
//!   single-threaded runtime, gzip through tower-http's `CompressionLayer`.
//!
//! Then the recording rate of a thread incrementing Corral counters, alone and while
//! `wrk` scrapes Corral (identity), as a ratio; and the longest a 1 ms ticker task on the
//! same single-threaded runtime as Corral's server was held up while one scraper fetched a
//! `stall-families` × 100 series registry, beside the same ticker with no scrapes.
//!
//! Needs `wrk` (`apt-get install -y wrk`). Every server's body is checked for the series
//! count before it is loaded, and a run with non-2xx answers or socket errors is reported
//! as such.
#![allow(clippy::std_instead_of_core, reason = "a std bench binary")]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::Command;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use corral_core::{Counter, Desc, DynamicFamily, Registry, RegistryConfig};
use corral_exporters::http::MetricsServer;

const METHODS: [&str; 10] = [
    "GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "CONNECT", "TRACE", "PROPFIND",
];
const STATUSES: [&str; 10] = [
    "200", "201", "204", "301", "304", "400", "401", "404", "500", "503",
];

struct Args {
    families: usize,
    duration: u64,
    connections: usize,
    wrk_threads: usize,
    record_secs: u64,
    stall_families: usize,
    stall_secs: u64,
}

fn args() -> Args {
    let mut args = Args {
        families: 100,
        duration: 20,
        connections: 16,
        wrk_threads: 2,
        record_secs: 5,
        stall_families: 1000,
        stall_secs: 5,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().unwrap_or_else(|| panic!("{flag} needs a value"));
        let n: u64 = value
            .parse()
            .unwrap_or_else(|_| panic!("{flag}: {value} is not a number"));
        match flag.as_str() {
            "--families" => args.families = n as usize,
            "--duration" => args.duration = n,
            "--connections" => args.connections = n as usize,
            "--wrk-threads" => args.wrk_threads = n as usize,
            "--record-secs" => args.record_secs = n,
            "--stall-families" => args.stall_families = n as usize,
            "--stall-secs" => args.stall_secs = n,
            other => panic!("unknown flag {other}"),
        }
    }
    args
}

fn leak(s: String) -> &'static str {
    Box::leak(s.into_boxed_str())
}

/// `(family, method, status, value)` of every series.
fn series(families: usize) -> impl Iterator<Item = (usize, &'static str, &'static str, u64)> {
    (0..families).flat_map(|f| {
        (0..100).map(move |i| {
            (
                f,
                METHODS[i / 10],
                STATUSES[i % 10],
                (f * 100 + i) as u64 * 7 + 1,
            )
        })
    })
}

fn names(families: usize) -> Vec<&'static str> {
    (0..families)
        .map(|f| leak(format!("bench_requests_{f:04}_total")))
        .collect()
}

const HELP: &str = "Requests by method and status";

type CorralFamily = DynamicFamily<Counter, 2, 256>;

fn corral_registry(families: usize) -> (&'static Registry<2048>, Vec<&'static CorralFamily>) {
    let registry: &'static Registry<2048> = Box::leak(Box::new(Registry::with_config(
        RegistryConfig::DEFAULT
            .with_max_total_series(families * 100 + 100)
            .with_self_metrics(false),
    )));
    let names = names(families);
    let handles: Vec<&'static CorralFamily> = (0..families)
        .map(|f| {
            let family: &'static CorralFamily =
                Box::leak(Box::new(DynamicFamily::new(["method", "status"])));
            registry
                .register(Desc::new(names[f], HELP), family)
                .expect("register");
            family
        })
        .collect();
    for (f, method, status, value) in series(families) {
        handles[f]
            .try_with_labels([method, status])
            .expect("room for 100 series")
            .inc_by(value);
    }
    (registry, handles)
}

/// Runs `serve` on a single-threaded runtime on a thread of its own.
fn on_own_runtime<F, Fut>(name: &str, serve: F)
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()>,
{
    std::thread::Builder::new()
        .name(name.to_string())
        .spawn(move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime")
                .block_on(serve());
        })
        .expect("thread");
}

fn free_addr() -> SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

fn std_listener() -> std::net::TcpListener {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.set_nonblocking(true).unwrap();
    l
}

fn start_metrics_exporter(families: usize) -> SocketAddr {
    let addr = free_addr();
    let names = names(families);
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    on_own_runtime("metrics-exporter", move || async move {
        let (recorder, exporter) = metrics_exporter_prometheus::PrometheusBuilder::new()
            .with_http_listener(addr)
            .build()
            .expect("metrics-exporter-prometheus listener");
        metrics::with_local_recorder(&recorder, || {
            for name in &names {
                metrics::describe_counter!(*name, HELP);
            }
            for (f, method, status, value) in series(families) {
                metrics::counter!(names[f], "method" => method, "status" => status)
                    .increment(value);
            }
        });
        ready_tx.send(()).unwrap();
        let _recorder = recorder;
        let _ = exporter.await;
    });
    ready_rx.recv().unwrap();
    addr
}

fn start_prometheus_tikv(families: usize) -> SocketAddr {
    use axum::extract::State;
    use axum::http::header::CONTENT_TYPE;
    use axum::response::IntoResponse;
    use prometheus::{Encoder, TextEncoder};

    let registry = prometheus::Registry::new();
    let names = names(families);
    let vecs: Vec<prometheus::IntCounterVec> = (0..families)
        .map(|f| {
            let vec = prometheus::IntCounterVec::new(
                prometheus::Opts::new(names[f], HELP),
                &["method", "status"],
            )
            .unwrap();
            registry.register(Box::new(vec.clone())).unwrap();
            vec
        })
        .collect();
    for (f, method, status, value) in series(families) {
        vecs[f].with_label_values(&[method, status]).inc_by(value);
    }
    async fn handler(State(registry): State<prometheus::Registry>) -> impl IntoResponse {
        let encoder = TextEncoder::new();
        let mut buffer = Vec::new();
        encoder.encode(&registry.gather(), &mut buffer).unwrap();
        ([(CONTENT_TYPE, encoder.format_type().to_string())], buffer)
    }
    let app = axum::Router::new()
        .route("/metrics", axum::routing::get(handler))
        .with_state(registry)
        .layer(tower_http::compression::CompressionLayer::new());
    let listener = std_listener();
    let addr = listener.local_addr().unwrap();
    on_own_runtime("prometheus-tikv", move || async move {
        let listener = tokio::net::TcpListener::from_std(listener).unwrap();
        axum::serve(listener, app).await.unwrap();
    });
    addr
}

fn prometheus_client_app(families: usize) -> axum::Router {
    use axum::body::Body;
    use axum::extract::State;
    use axum::http::StatusCode;
    use axum::http::header::CONTENT_TYPE;
    use axum::response::{IntoResponse, Response};
    use prometheus_client::encoding::text::encode;
    use prometheus_client::metrics::counter::Counter as PcCounter;
    use prometheus_client::metrics::family::Family;

    type Labels = Vec<(&'static str, &'static str)>;
    let mut registry = prometheus_client::registry::Registry::default();
    let names = names(families);
    let families_vec: Vec<Family<Labels, PcCounter>> = (0..families)
        .map(|f| {
            let family = Family::<Labels, PcCounter>::default();
            // prometheus-client appends `_total` itself.
            registry.register(names[f].trim_end_matches("_total"), HELP, family.clone());
            family
        })
        .collect();
    for (f, method, status, value) in series(families) {
        families_vec[f]
            .get_or_create(&vec![("method", method), ("status", status)])
            .inc_by(value);
    }
    async fn handler(
        State(registry): State<Arc<prometheus_client::registry::Registry>>,
    ) -> impl IntoResponse {
        let mut buffer = String::new();
        encode(&mut buffer, &registry).unwrap();
        Response::builder()
            .status(StatusCode::OK)
            .header(
                CONTENT_TYPE,
                "application/openmetrics-text; version=1.0.0; charset=utf-8",
            )
            .body(Body::from(buffer))
            .unwrap()
    }
    axum::Router::new()
        .route("/metrics", axum::routing::get(handler))
        .with_state(Arc::new(registry))
        .layer(tower_http::compression::CompressionLayer::new())
}

fn start_prometheus_client(families: usize) -> SocketAddr {
    let app = prometheus_client_app(families);
    let listener = std_listener();
    let addr = listener.local_addr().unwrap();
    on_own_runtime("prometheus-client", move || async move {
        let listener = tokio::net::TcpListener::from_std(listener).unwrap();
        axum::serve(listener, app).await.unwrap();
    });
    addr
}

/// One `GET /metrics` with `Connection: close`: the body's bench sample lines.
fn bench_samples(addr: SocketAddr) -> usize {
    let mut stream = TcpStream::connect(addr).expect("connect");
    write!(
        stream,
        "GET /metrics HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut bytes = Vec::new();
    stream.read_to_end(&mut bytes).unwrap();
    let text = String::from_utf8_lossy(&bytes);
    text.lines()
        .filter(|l| l.starts_with("bench_requests_"))
        .count()
}

const WRK_SCRIPT: &str = r#"
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT requests=%d duration_us=%d bytes=%d non2xx=%d socket_errors=%d p50=%d p95=%d p99=%d max=%d\n",
    summary.requests, summary.duration, summary.bytes, e.status, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(95), latency:percentile(99), latency.max))
end
"#;

#[derive(Debug, Default)]
struct WrkResult {
    requests: u64,
    duration_us: u64,
    bytes: u64,
    non2xx: u64,
    socket_errors: u64,
    p50: u64,
    p95: u64,
    p99: u64,
    max: u64,
}

fn wrk(addr: SocketAddr, connections: usize, threads: usize, secs: u64, gzip: bool) -> WrkResult {
    let script =
        std::env::temp_dir().join(format!("corral-scrape-load-{}.lua", std::process::id()));
    std::fs::write(&script, WRK_SCRIPT).unwrap();
    let mut command = Command::new("wrk");
    command
        .arg(format!("-t{}", threads.min(connections)))
        .arg(format!("-c{connections}"))
        .arg(format!("-d{secs}s"))
        .arg("--timeout")
        .arg("10s")
        .arg("-s")
        .arg(&script);
    if gzip {
        command.arg("-H").arg("Accept-Encoding: gzip");
    }
    command.arg(format!("http://{addr}/metrics"));
    let output = command.output().unwrap_or_else(|e| {
        panic!("cannot run wrk ({e}): install it with `apt-get install -y wrk`")
    });
    assert!(
        output.status.success(),
        "wrk failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    let line = stdout
        .lines()
        .find(|l| l.starts_with("RESULT "))
        .unwrap_or_else(|| panic!("no RESULT line from wrk:\n{stdout}"));
    let mut result = WrkResult::default();
    for field in line["RESULT ".len()..].split(' ') {
        let (name, value) = field.split_once('=').unwrap();
        let value: u64 = value.parse().unwrap();
        match name {
            "requests" => result.requests = value,
            "duration_us" => result.duration_us = value,
            "bytes" => result.bytes = value,
            "non2xx" => result.non2xx = value,
            "socket_errors" => result.socket_errors = value,
            "p50" => result.p50 = value,
            "p95" => result.p95 = value,
            "p99" => result.p99 = value,
            "max" => result.max = value,
            _ => {}
        }
    }
    result
}

fn ms(us: u64) -> f64 {
    us as f64 / 1000.0
}

/// Increments Corral counters (100 handles, round robin) for `secs`; increments a second.
fn record_rate(families: &[&'static CorralFamily], secs: u64) -> f64 {
    let handles: Vec<&Counter> = (0..100)
        .map(|i| families[i % families.len()].with_labels([METHODS[i / 10], STATUSES[i % 10]]))
        .collect();
    let deadline = Instant::now() + Duration::from_secs(secs);
    let started = Instant::now();
    let mut ops = 0u64;
    while Instant::now() < deadline {
        for _ in 0..100 {
            for handle in &handles {
                handle.inc();
            }
        }
        ops += 100 * handles.len() as u64;
    }
    ops as f64 / started.elapsed().as_secs_f64()
}

/// What shares the ticker's runtime in [`stall`].
#[derive(Clone, Copy, PartialEq)]
enum Neighbour {
    /// Nothing: the machine's own scheduling noise.
    Idle,
    /// Corral's server, scraped by one client.
    Corral,
    /// prometheus-client's axum handler (renders on the worker), scraped by one client.
    PrometheusClient,
}

/// How long the worker of a single-threaded runtime runs without parking (p99, p99.9, max
/// of its busy stretches, in µs) while it serves `neighbour` and a 1 ms ticker task, over
/// `stall_secs`; and the scrapes served meanwhile. A render on the worker is one long
/// stretch; the wall-clock stretches also hold any time the OS ran another thread instead.
#[derive(Default)]
struct Stretches {
    since: Option<(Instant, u64)>,
    wall: Vec<u64>,
    cpu: Vec<u64>,
}

/// CPU time of the calling thread, in µs.
fn thread_cpu_us() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable `timespec`; CLOCK_THREAD_CPUTIME_ID exists on Linux.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime(CLOCK_THREAD_CPUTIME_ID)");
    ts.tv_sec as u64 * 1_000_000 + ts.tv_nsec as u64 / 1_000
}

std::thread_local! {
    /// When the task being polled on this thread began, wall and CPU.
    static POLL_START: std::cell::Cell<Option<(Instant, u64)>> = const { std::cell::Cell::new(None) };
}

/// What [`stall`] measured: p99, p99.9 and max, in µs.
struct Stall {
    stretch_wall: [u64; 3],
    stretch_cpu: [u64; 3],
    poll_wall: Option<[u64; 3]>,
    poll_cpu: Option<[u64; 3]>,
    polls: usize,
    scrapes: u64,
}

fn stall(args: &Args, neighbour: Neighbour) -> Stall {
    let listener = std_listener();
    let addr = listener.local_addr().unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let corral = (neighbour == Neighbour::Corral).then(|| {
        let (registry, _) = corral_registry(args.stall_families);
        MetricsServer::new(registry).expect("self-metrics")
    });
    let peer = (neighbour == Neighbour::PrometheusClient)
        .then(|| prometheus_client_app(args.stall_families));
    // Busy stretches of the runtime's one worker, from each unpark to the next park: wall
    // time, and the worker thread's own CPU time.
    let stretches: Arc<Mutex<Stretches>> = Arc::new(Mutex::new(Stretches::default()));
    let (on_unpark, on_park) = (Arc::clone(&stretches), Arc::clone(&stretches));
    let measuring = Arc::new(AtomicBool::new(false));
    let measuring_park = Arc::clone(&measuring);
    // Every task poll on that worker (only with `--cfg tokio_unstable`, whose task hooks
    // see each poll): the longest one is the longest the worker was held.
    let polls: Arc<Mutex<Stretches>> = Arc::new(Mutex::new(Stretches::default()));
    #[cfg(tokio_unstable)]
    let (polls_after, measuring_polls) = (Arc::clone(&polls), Arc::clone(&measuring));
    let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
    {
        let stop = Arc::clone(&stop);
        std::thread::spawn(move || {
            let mut builder = tokio::runtime::Builder::new_current_thread();
            #[cfg(tokio_unstable)]
            {
                let polls = Arc::clone(&polls_after);
                let measuring = Arc::clone(&measuring_polls);
                builder
                    .on_before_task_poll(|_| {
                        POLL_START.set(Some((Instant::now(), thread_cpu_us())));
                    })
                    .on_after_task_poll(move |_| {
                        if let Some((wall, cpu)) = POLL_START.take()
                            && measuring.load(Ordering::Relaxed)
                        {
                            let mut p = polls.lock().unwrap();
                            p.wall.push(wall.elapsed().as_micros() as u64);
                            p.cpu.push(thread_cpu_us().saturating_sub(cpu));
                        }
                    });
            }
            let runtime = builder
                .enable_all()
                .on_thread_unpark(move || {
                    on_unpark.lock().unwrap().since = Some((Instant::now(), thread_cpu_us()));
                })
                .on_thread_park(move || {
                    let mut s = on_park.lock().unwrap();
                    if let Some((wall, cpu)) = s.since.take()
                        && measuring_park.load(Ordering::Relaxed)
                    {
                        s.wall.push(wall.elapsed().as_micros() as u64);
                        s.cpu.push(thread_cpu_us().saturating_sub(cpu));
                    }
                })
                .build()
                .expect("runtime");
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                let stop_serving = Arc::clone(&stop);
                let stopped = async move {
                    while !stop_serving.load(Ordering::Relaxed) {
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                };
                let serving = if let Some(server) = corral {
                    Some(tokio::spawn(async move {
                        let _ = server.serve(listener, stopped).await;
                    }))
                } else if let Some(app) = peer {
                    Some(tokio::spawn(async move {
                        let _ = axum::serve(listener, app)
                            .with_graceful_shutdown(stopped)
                            .await;
                    }))
                } else {
                    drop(listener);
                    None
                };
                // A 1 ms ticker keeps the worker waking as a busy application's would.
                while !stop.load(Ordering::Relaxed) {
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
                if let Some(serving) = serving {
                    let _ = serving.await;
                }
            });
            done_tx.send(()).unwrap();
        });
    }
    std::thread::sleep(Duration::from_millis(300));
    measuring.store(true, Ordering::Relaxed);
    let scrapes = if neighbour == Neighbour::Idle {
        std::thread::sleep(Duration::from_secs(args.stall_secs));
        0
    } else {
        wrk(addr, 1, 1, args.stall_secs, false).requests
    };
    measuring.store(false, Ordering::Relaxed);
    stop.store(true, Ordering::Relaxed);
    done_rx.recv().unwrap();
    let mut s = stretches.lock().unwrap();
    let mut p = polls.lock().unwrap();
    let summary = |busy: &mut Vec<u64>| {
        if busy.is_empty() {
            return None;
        }
        busy.sort_unstable();
        let at = |q: f64| busy[((busy.len() - 1) as f64 * q) as usize];
        Some([at(0.99), at(0.999), *busy.last().unwrap()])
    };
    Stall {
        stretch_wall: summary(&mut s.wall).expect("the worker parked"),
        stretch_cpu: summary(&mut s.cpu).expect("the worker parked"),
        poll_wall: summary(&mut p.wall),
        poll_cpu: summary(&mut p.cpu),
        polls: p.wall.len(),
        scrapes,
    }
}

fn main() {
    let args = args();
    let expected = args.families * 100;
    println!(
        "scrape_load: {expected} series, {} connections, {} wrk threads, {} s per run",
        args.connections, args.wrk_threads, args.duration
    );

    let (registry, corral_families) = corral_registry(args.families);
    let corral = MetricsServer::new(registry)
        .expect("self-metrics")
        .address("127.0.0.1:0")
        .max_in_flight(args.connections)
        .spawn_thread()
        .expect("corral server");
    let servers: Vec<(&str, SocketAddr)> = vec![
        ("corral", corral.local_addr()),
        (
            "metrics-exporter-prometheus",
            start_metrics_exporter(args.families),
        ),
        ("prometheus (axum)", start_prometheus_tikv(args.families)),
        (
            "prometheus-client (axum)",
            start_prometheus_client(args.families),
        ),
    ];
    std::thread::sleep(Duration::from_millis(300));
    for (name, addr) in &servers {
        let n = bench_samples(*addr);
        assert_eq!(
            n, expected,
            "{name} serves {n} bench series, not {expected}"
        );
    }

    println!();
    println!(
        "| server | encoding | requests/s | p50 ms | p95 ms | p99 ms | max ms | bytes/response | non-2xx | socket errors |"
    );
    println!("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    let mut best_peer = [0.0f64; 2];
    let mut corral_rps = [0.0f64; 2];
    for (name, addr) in &servers {
        for (i, gzip) in [false, true].into_iter().enumerate() {
            let r = wrk(
                *addr,
                args.connections,
                args.wrk_threads,
                args.duration,
                gzip,
            );
            let rps = r.requests as f64 / (r.duration_us as f64 / 1e6);
            if *name == "corral" {
                corral_rps[i] = rps;
            } else {
                best_peer[i] = best_peer[i].max(rps);
            }
            println!(
                "| {name} | {} | {rps:.0} | {:.2} | {:.2} | {:.2} | {:.2} | {} | {} | {} |",
                if gzip { "gzip" } else { "identity" },
                ms(r.p50),
                ms(r.p95),
                ms(r.p99),
                ms(r.max),
                r.bytes / r.requests.max(1),
                r.non2xx,
                r.socket_errors
            );
        }
    }
    println!();
    println!(
        "corral requests/s over the best peer: identity {:.2}x, gzip {:.2}x",
        corral_rps[0] / best_peer[0],
        corral_rps[1] / best_peer[1]
    );

    let alone = record_rate(&corral_families, args.record_secs);
    let corral_addr = corral.local_addr();
    let (record_secs, connections, threads) =
        (args.record_secs, args.connections, args.wrk_threads);
    // The load starts first and ends after the recording window.
    let loader =
        std::thread::spawn(move || wrk(corral_addr, connections, threads, record_secs + 2, false));
    std::thread::sleep(Duration::from_millis(500));
    let loaded = record_rate(&corral_families, record_secs);
    let load_result = loader.join().unwrap();
    println!(
        "recording (one thread, 100 Corral counters round robin): alone {:.1} M/s, while scraped {:.1} M/s ({} scrapes): ratio {:.3}",
        alone / 1e6,
        loaded / 1e6,
        load_result.requests,
        loaded / alone
    );

    println!();
    println!(
        "busy stretches of the server's single-threaded runtime worker, {} series, one scraper:",
        args.stall_families * 100
    );
    println!(
        "| on the runtime | scrapes | stretch wall p99 / p99.9 / max ms | stretch CPU p99 / p99.9 / max ms | task polls | poll wall p99 / p99.9 / max ms | poll CPU p99 / p99.9 / max ms |"
    );
    println!("| --- | ---: | ---: | ---: | ---: | ---: | ---: |");
    let three = |v: Option<[u64; 3]>| match v {
        Some([a, b, c]) => format!("{:.3} / {:.3} / {:.3}", ms(a), ms(b), ms(c)),
        None => "— (needs --cfg tokio_unstable)".to_string(),
    };
    for (name, neighbour) in [
        ("the ticker alone", Neighbour::Idle),
        ("corral", Neighbour::Corral),
        (
            "prometheus-client (axum, renders on the worker)",
            Neighbour::PrometheusClient,
        ),
    ] {
        let r = stall(&args, neighbour);
        println!(
            "| {name} | {} | {} | {} | {} | {} | {} |",
            r.scrapes,
            three(Some(r.stretch_wall)),
            three(Some(r.stretch_cpu)),
            r.polls,
            three(r.poll_wall),
            three(r.poll_cpu)
        );
    }
    drop(corral);
}
