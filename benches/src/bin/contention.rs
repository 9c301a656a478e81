//! Throughput under contention: N threads, started together behind a barrier, each doing a
//! fixed number of operations; aggregate Mops/s (all threads' operations / wall time),
//! median of R runs, per library and thread count, as markdown tables.
//!
//! ```text
//! cargo build --release -p corral-benches --bin contention
//! target/release/contention                      # 1,2,4,8,16 threads, 3 runs
//! target/release/contention --threads 1,2 --runs 1 --ops 10000
//! ```
//!
//! Workloads:
//! - `shared`: every thread increments the same unlabelled counter.
//! - `sharded`: one logical counter spread over per-thread cells: Corral's
//!   `ShardedCounter<16>::inc_by_stripe(thread, 1)`; the peers have no sharded counter, so
//!   their nearest equivalent is one series per thread (`worker` label) resolved once into
//!   a cached handle (OpenTelemetry has no handle: its attribute slice on every call).
//! - `own-labelled`: each thread increments its own series of one family,
//!   `{method="GET", worker="wNN"}`, resolving the labels from strings on every call.
//! - `histogram`: every thread observes into the same latency histogram. Corral has two
//!   rows: its plain `Histogram` (`corral`) and its `ShardedHistogram<14, 16>` with one
//!   stripe per thread (`corral-sharded`), the type it offers for a contended histogram.
//!
//! Options: `--threads 1,2,4,8,16`, `--runs 3`, `--ops 500000` (operations per thread for
//! the counter workloads; the labelled and histogram workloads do a quarter of that),
//! `--libs corral,prometheus,...`, `--workloads shared,sharded,own-labelled,histogram`.

use std::hint::black_box;
use std::sync::Barrier;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use corral_benches::peers::measured_labels::{self, WorkerLabels};
use corral_benches::peers::{self, Otel, PcWorkerLabels};
use corral_benches::raw::{self, RawHistogram, RawStriped, RawWorkers};
use corral_benches::{OBSERVATIONS, WORKERS};
use corral_core::{Counter, DynamicFamily, Histogram, ShardedCounter, ShardedHistogram, buckets};
use opentelemetry::KeyValue;
use prometheus_client::metrics::counter::Counter as PcCounter;
use prometheus_client::metrics::family::Family as PcFamily;

const LIBRARIES: [&str; 8] = [
    "raw-atomic",
    "raw-cell",
    "corral",
    "prometheus",
    "prometheus-client",
    "metrics",
    "measured",
    "opentelemetry",
];
const PEERS: [&str; 5] = [
    "prometheus",
    "prometheus-client",
    "metrics",
    "measured",
    "opentelemetry",
];
const WORKLOADS: [&str; 4] = ["shared", "sharded", "own-labelled", "histogram"];

struct Options {
    threads: Vec<usize>,
    runs: usize,
    ops: u64,
    libs: Vec<String>,
    workloads: Vec<String>,
}

fn parse_list(value: &str) -> Vec<String> {
    value
        .split(',')
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

fn parse_args() -> Result<Options, String> {
    let mut options = Options {
        threads: vec![1, 2, 4, 8, 16],
        runs: 3,
        ops: 500_000,
        libs: LIBRARIES.iter().map(|s| (*s).to_owned()).collect(),
        workloads: WORKLOADS.iter().map(|s| (*s).to_owned()).collect(),
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args.next().ok_or_else(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--threads" => {
                options.threads = parse_list(&value)
                    .iter()
                    .map(|t| t.parse().map_err(|_| format!("bad thread count {t:?}")))
                    .collect::<Result<_, _>>()?;
            }
            "--runs" => options.runs = value.parse().map_err(|_| "bad --runs")?,
            "--ops" => options.ops = value.parse().map_err(|_| "bad --ops")?,
            "--libs" => options.libs = parse_list(&value),
            "--workloads" => options.workloads = parse_list(&value),
            _ => return Err(format!("unknown option {flag}")),
        }
    }
    if let Some(t) = options
        .threads
        .iter()
        .find(|t| **t == 0 || **t > WORKERS.len())
    {
        return Err(format!(
            "thread counts must be 1 to {}, got {t}",
            WORKERS.len()
        ));
    }
    if options.runs == 0 || options.ops == 0 {
        return Err("--runs and --ops must be at least 1".into());
    }
    for lib in &options.libs {
        if !LIBRARIES.contains(&lib.as_str()) {
            return Err(format!("unknown library {lib:?}; known: {LIBRARIES:?}"));
        }
    }
    for workload in &options.workloads {
        if !WORKLOADS.contains(&workload.as_str()) {
            return Err(format!(
                "unknown workload {workload:?}; known: {WORKLOADS:?}"
            ));
        }
    }
    Ok(options)
}

/// Runs `work(thread_index, ops)` on `threads` threads released together by a barrier;
/// returns aggregate millions of operations per second. The wall time runs from the
/// earliest thread's start to the latest thread's end, each taken by the worker itself (a
/// coordinating thread may not be scheduled until the workers are done).
fn timed(threads: usize, ops: u64, work: &(dyn Fn(usize, u64) + Sync)) -> f64 {
    let barrier = Barrier::new(threads);
    let spans: Vec<(Instant, Instant)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let barrier = &barrier;
                scope.spawn(move || {
                    barrier.wait();
                    let start = Instant::now();
                    work(t, ops);
                    (start, Instant::now())
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("a bench thread panicked"))
            .collect()
    });
    let start = spans
        .iter()
        .map(|s| s.0)
        .min()
        .expect("at least one thread");
    let end = spans
        .iter()
        .map(|s| s.1)
        .max()
        .expect("at least one thread");
    (threads as u64 * ops) as f64 / (end - start).as_secs_f64() / 1e6
}

/// All the state of every library, made once: the runs reuse it, as a service would.
struct State {
    raw_shared: AtomicU64,
    raw_striped: RawStriped,
    raw_workers: RawWorkers,
    raw_histogram: RawHistogram,
    prom_shared: prometheus::IntCounter,
    prom_workers: prometheus::IntCounterVec,
    prom_own: prometheus::IntCounterVec,
    prom_histogram: prometheus::Histogram,
    pc_shared: PcCounter,
    pc_workers: PcFamily<PcWorkerLabels, PcCounter>,
    pc_own: PcFamily<PcWorkerLabels, PcCounter>,
    pc_histogram: prometheus_client::metrics::histogram::Histogram,
    metrics_shared: metrics::Counter,
    metrics_histogram: metrics::Histogram,
    measured_shared: measured::Counter,
    measured_workers: measured::CounterVec<measured_labels::WorkerLabelSet>,
    measured_own: measured::CounterVec<measured_labels::WorkerLabelSet>,
    measured_histogram: measured::Histogram<13>,
    otel: Otel,
    otel_shared: opentelemetry::metrics::Counter<u64>,
    otel_workers: opentelemetry::metrics::Counter<u64>,
    otel_own: opentelemetry::metrics::Counter<u64>,
    otel_histogram: opentelemetry::metrics::Histogram<f64>,
}

static CORRAL_SHARED: Counter = Counter::new();
static CORRAL_SHARDED: ShardedCounter<16> = ShardedCounter::new();
static CORRAL_OWN: DynamicFamily<Counter, 2, 128> = DynamicFamily::new(["method", "worker"]);
static CORRAL_HISTOGRAM: Histogram<14> = Histogram::new(buckets::LATENCY_MS);
static CORRAL_SHARDED_HISTOGRAM: ShardedHistogram<14, 16> =
    ShardedHistogram::new(buckets::LATENCY_MS);

impl State {
    fn new() -> Self {
        peers::metrics_handle();
        let otel = Otel::new();
        let worker_opts = |name| prometheus::Opts::new(name, "help");
        Self {
            raw_shared: AtomicU64::new(0),
            raw_striped: RawStriped::new(),
            raw_workers: RawWorkers::new(),
            raw_histogram: RawHistogram::new(),
            prom_shared: prometheus::IntCounter::new("shared_total", "help").unwrap(),
            prom_workers: prometheus::IntCounterVec::new(worker_opts("sharded_total"), &["worker"])
                .unwrap(),
            prom_own: prometheus::IntCounterVec::new(
                worker_opts("own_total"),
                &["method", "worker"],
            )
            .unwrap(),
            prom_histogram: peers::prometheus_histogram("latency"),
            pc_shared: PcCounter::default(),
            pc_workers: PcFamily::default(),
            pc_own: PcFamily::default(),
            pc_histogram: peers::pc_histogram(),
            metrics_shared: metrics::counter!("contention_shared_total"),
            metrics_histogram: metrics::histogram!("contention_latency"),
            measured_shared: measured::Counter::new(),
            measured_workers: measured::CounterVec::with_label_set(
                measured_labels::worker_label_set(),
            ),
            measured_own: measured::CounterVec::with_label_set(measured_labels::worker_label_set()),
            measured_histogram: measured::Histogram::with_metadata(peers::measured_thresholds()),
            otel_shared: otel.meter.u64_counter("shared").build(),
            otel_workers: otel.meter.u64_counter("sharded").build(),
            otel_own: otel.meter.u64_counter("own").build(),
            otel_histogram: otel.latency_histogram("latency"),
            otel,
        }
    }

    /// One timed run of `workload` for `lib`.
    fn run(&self, workload: &str, lib: &str, threads: usize, ops: u64) -> f64 {
        match workload {
            "shared" => self.shared(lib, threads, ops),
            "sharded" => self.sharded(lib, threads, ops),
            "own-labelled" => self.own(lib, threads, ops),
            "histogram" => self.histogram(lib, threads, ops),
            _ => unreachable!("workloads are checked when parsing"),
        }
    }

    fn shared(&self, lib: &str, threads: usize, ops: u64) -> f64 {
        match lib {
            "raw-atomic" => timed(threads, ops, &|_, n| {
                let c = &(self.raw_shared);
                for _ in 0..n {
                    black_box(c).fetch_add(1, Ordering::Relaxed);
                }
            }),
            "raw-cell" => timed(threads, ops, &|_, n| {
                for _ in 0..n {
                    raw::cell_inc();
                }
                black_box(raw::cell_total());
            }),
            "corral" => timed(threads, ops, &|_, n| {
                let c = &(CORRAL_SHARED);
                for _ in 0..n {
                    black_box(c).inc();
                }
            }),
            "prometheus" => timed(threads, ops, &|_, n| {
                let c = &(self.prom_shared);
                for _ in 0..n {
                    black_box(c).inc();
                }
            }),
            "prometheus-client" => timed(threads, ops, &|_, n| {
                let c = &(self.pc_shared);
                for _ in 0..n {
                    black_box(c).inc();
                }
            }),
            "metrics" => timed(threads, ops, &|_, n| {
                let c = &(self.metrics_shared);
                for _ in 0..n {
                    black_box(c).increment(1);
                }
            }),
            "measured" => timed(threads, ops, &|_, n| {
                let c = &(self.measured_shared);
                for _ in 0..n {
                    black_box(c).inc();
                }
            }),
            "opentelemetry" => timed(threads, ops, &|_, n| {
                let c = &(self.otel_shared);
                for _ in 0..n {
                    black_box(c).add(1, &[]);
                }
            }),
            _ => unreachable!(),
        }
    }

    fn sharded(&self, lib: &str, threads: usize, ops: u64) -> f64 {
        match lib {
            "raw-atomic" => timed(threads, ops, &|t, n| {
                let c = &(self.raw_striped);
                for _ in 0..n {
                    black_box(c).inc(t);
                }
            }),
            "raw-cell" => timed(threads, ops, &|_, n| {
                for _ in 0..n {
                    raw::cell_inc();
                }
                black_box(raw::cell_total());
            }),
            "corral" => timed(threads, ops, &|t, n| {
                let c = &(CORRAL_SHARDED);
                for _ in 0..n {
                    black_box(c).inc_by_stripe(t, 1);
                }
            }),
            "prometheus" => timed(threads, ops, &|t, n| {
                let c = self.prom_workers.with_label_values(&[WORKERS[t]]);
                for _ in 0..n {
                    black_box(&c).inc();
                }
            }),
            "prometheus-client" => timed(threads, ops, &|t, n| {
                let c = self.pc_workers.get_or_create_owned(&PcWorkerLabels {
                    method: "GET",
                    worker: WORKERS[t],
                });
                for _ in 0..n {
                    black_box(&c).inc();
                }
            }),
            "metrics" => timed(threads, ops, &|t, n| {
                let c = metrics::counter!("contention_sharded_total", "worker" => WORKERS[t]);
                for _ in 0..n {
                    black_box(&c).increment(1);
                }
            }),
            "measured" => timed(threads, ops, &|t, n| {
                let vec = &self.measured_workers;
                let id = vec.with_labels(WorkerLabels {
                    method: "GET",
                    worker: WORKERS[t],
                });
                for _ in 0..n {
                    black_box(vec).get_metric(black_box(id)).inc();
                }
            }),
            "opentelemetry" => timed(threads, ops, &|t, n| {
                let attributes = [KeyValue::new("worker", WORKERS[t])];
                for _ in 0..n {
                    black_box(&self.otel_workers).add(1, black_box(&attributes));
                }
            }),
            _ => unreachable!(),
        }
    }

    fn own(&self, lib: &str, threads: usize, ops: u64) -> f64 {
        match lib {
            "raw-atomic" => timed(threads, ops, &|t, n| {
                for _ in 0..n {
                    self.raw_workers
                        .inc(black_box("GET"), black_box(WORKERS[t]));
                }
            }),
            "raw-cell" => timed(threads, ops, &|t, n| {
                for _ in 0..n {
                    raw::cell_inc_worker(black_box("GET"), black_box(WORKERS[t]));
                }
                black_box(raw::cell_labelled_total());
            }),
            "corral" => timed(threads, ops, &|t, n| {
                for _ in 0..n {
                    CORRAL_OWN
                        .with_labels([black_box("GET"), black_box(WORKERS[t])])
                        .inc();
                }
            }),
            "prometheus" => timed(threads, ops, &|t, n| {
                for _ in 0..n {
                    self.prom_own
                        .with_label_values(&[black_box("GET"), black_box(WORKERS[t])])
                        .inc();
                }
            }),
            "prometheus-client" => timed(threads, ops, &|t, n| {
                for _ in 0..n {
                    self.pc_own
                        .get_or_create(&PcWorkerLabels {
                            method: black_box("GET"),
                            worker: black_box(WORKERS[t]),
                        })
                        .inc();
                }
            }),
            "metrics" => timed(threads, ops, &|t, n| {
                for _ in 0..n {
                    metrics::counter!(
                        "contention_own_total",
                        "method" => black_box("GET"),
                        "worker" => black_box(WORKERS[t])
                    )
                    .increment(1);
                }
            }),
            "measured" => timed(threads, ops, &|t, n| {
                for _ in 0..n {
                    self.measured_own.inc(WorkerLabels {
                        method: black_box("GET"),
                        worker: black_box(WORKERS[t]),
                    });
                }
            }),
            "opentelemetry" => timed(threads, ops, &|t, n| {
                for _ in 0..n {
                    self.otel_own.add(
                        1,
                        &[
                            KeyValue::new("method", black_box("GET")),
                            KeyValue::new("worker", black_box(WORKERS[t])),
                        ],
                    );
                }
            }),
            _ => unreachable!(),
        }
    }

    fn histogram(&self, lib: &str, threads: usize, ops: u64) -> f64 {
        let value = |k: u64| black_box(OBSERVATIONS[(k & 15) as usize]);
        match lib {
            "raw-atomic" => timed(threads, ops, &|_, n| {
                for k in 0..n {
                    self.raw_histogram.observe(value(k));
                }
            }),
            "raw-cell" => timed(threads, ops, &|_, n| {
                for k in 0..n {
                    raw::cell_observe(value(k));
                }
                black_box(raw::cell_observed());
            }),
            "corral" => timed(threads, ops, &|_, n| {
                for k in 0..n {
                    CORRAL_HISTOGRAM.observe(value(k));
                }
            }),
            "corral-sharded" => timed(threads, ops, &|t, n| {
                for k in 0..n {
                    CORRAL_SHARDED_HISTOGRAM.observe_on_stripe(t, value(k));
                }
            }),
            "prometheus" => timed(threads, ops, &|_, n| {
                for k in 0..n {
                    self.prom_histogram.observe(value(k));
                }
            }),
            "prometheus-client" => timed(threads, ops, &|_, n| {
                for k in 0..n {
                    self.pc_histogram.observe(value(k));
                }
            }),
            "metrics" => {
                let mops = timed(threads, ops, &|_, n| {
                    for k in 0..n {
                        self.metrics_histogram.record(value(k));
                    }
                });
                // Bucketing is deferred to upkeep; drain the queue outside the timing.
                peers::metrics_handle().run_upkeep();
                mops
            }
            "measured" => timed(threads, ops, &|_, n| {
                for k in 0..n {
                    self.measured_histogram.observe(value(k));
                }
            }),
            "opentelemetry" => timed(threads, ops, &|_, n| {
                for k in 0..n {
                    self.otel_histogram.record(value(k), &[]);
                }
            }),
            _ => unreachable!(),
        }
    }

    /// Checks that Corral and the raw baselines counted every operation of `workload`.
    fn check_totals(&self, expected: &[(&str, u64)]) -> Result<(), String> {
        for (workload, ops) in expected {
            let got = match *workload {
                "shared" => [CORRAL_SHARED.get(), self.raw_shared.load(Ordering::Relaxed)],
                "sharded" => [CORRAL_SHARDED.get(), self.raw_striped.total()],
                "own-labelled" => [
                    (0..WORKERS.len())
                        .filter_map(|t| CORRAL_OWN.try_with_labels(["GET", WORKERS[t]]).ok())
                        .map(Counter::get)
                        .sum(),
                    self.raw_workers.total(),
                ],
                "histogram" => {
                    if CORRAL_SHARDED_HISTOGRAM.count() != *ops {
                        return Err(format!(
                            "histogram/corral-sharded: counted {}, expected {ops}",
                            CORRAL_SHARDED_HISTOGRAM.count()
                        ));
                    }
                    [CORRAL_HISTOGRAM.count(), self.raw_histogram.count()]
                }
                _ => unreachable!(),
            };
            for (who, got) in ["corral", "raw-atomic"].iter().zip(got) {
                if got != *ops {
                    return Err(format!("{workload}/{who}: counted {got}, expected {ops}"));
                }
            }
        }
        let _ = &self.otel;
        Ok(())
    }
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn main() {
    let options = match parse_args() {
        Ok(options) => options,
        Err(message) => {
            eprintln!("contention: {message}");
            std::process::exit(2);
        }
    };
    let state = State::new();
    let cores = std::thread::available_parallelism().map_or(0, usize::from);
    println!(
        "# Contention: aggregate Mops/s, median of {} runs ({} hardware threads available)\n",
        options.runs, cores
    );
    // results[workload][lib][thread index]
    let mut results: Vec<Vec<Vec<f64>>> = Vec::new();
    let mut expected: Vec<(&str, u64)> = Vec::new();
    for workload in &options.workloads {
        let ops = match workload.as_str() {
            "shared" | "sharded" => options.ops,
            _ => (options.ops / 4).max(1),
        };
        let libs = libraries_for(&options.libs, workload);
        let mut table = Vec::new();
        for lib in &libs {
            let mut row = Vec::new();
            for &threads in &options.threads {
                let mut runs: Vec<f64> = (0..options.runs)
                    .map(|_| state.run(workload, lib, threads, ops))
                    .collect();
                row.push(median(&mut runs));
            }
            table.push(row);
        }
        if options.libs.iter().any(|l| l == "corral")
            && options.libs.iter().any(|l| l == "raw-atomic")
        {
            let total: u64 =
                options.threads.iter().map(|t| *t as u64 * ops).sum::<u64>() * options.runs as u64;
            let name = WORKLOADS
                .iter()
                .find(|w| *w == workload)
                .copied()
                .unwrap_or("");
            expected.push((name, total));
        }
        println!(
            "## {workload} ({ops} operations per thread)\n\n| library | {} |\n|---|{}",
            options
                .threads
                .iter()
                .map(|t| format!("{t} thr"))
                .collect::<Vec<_>>()
                .join(" | "),
            "---:|".repeat(options.threads.len())
        );
        for (lib, row) in libs.iter().zip(&table) {
            println!(
                "| {lib} | {} |",
                row.iter()
                    .map(|v| format!("{v:.1}"))
                    .collect::<Vec<_>>()
                    .join(" | ")
            );
        }
        println!();
        results.push(table);
    }
    if let Err(message) = state.check_totals(&expected) {
        eprintln!("contention: wrong total: {message}");
        std::process::exit(1);
    }
    print_goals(&options, &results);
}

/// The rows of `workload`: the chosen libraries, plus Corral's `ShardedHistogram<14, 16>`
/// (`observe_on_stripe(thread, value)`) beside its plain `Histogram` in the histogram table.
fn libraries_for(libs: &[String], workload: &str) -> Vec<String> {
    let mut out = libs.to_vec();
    if workload == "histogram" && libs.iter().any(|l| l == "corral") {
        let at = out
            .iter()
            .position(|l| l == "corral")
            .map_or(out.len(), |i| i + 1);
        out.insert(at, "corral-sharded".to_owned());
    }
    out
}

/// The issue's contention goals, computed from this run.
fn print_goals(options: &Options, results: &[Vec<Vec<f64>>]) {
    let Some(last) = options.threads.len().checked_sub(1) else {
        return;
    };
    let threads = options.threads[last];
    let cell = |workload: &str, lib: &str| -> Option<f64> {
        let w = options.workloads.iter().position(|x| x == workload)?;
        let l = libraries_for(&options.libs, workload)
            .iter()
            .position(|x| x == lib)?;
        Some(results[w][l][last])
    };
    println!("## Goals at {threads} threads, from this run\n");
    if let (Some(sharded), Some(shared)) = (cell("sharded", "corral"), cell("shared", "raw-atomic"))
    {
        println!(
            "- sharded counter vs one shared atomic: {sharded:.1} / {shared:.1} Mops/s = {:.1}x (goal: at least 8x)",
            sharded / shared
        );
    }
    let best_peer = PEERS
        .iter()
        .filter_map(|p| cell("histogram", p).map(|v| (p, v)))
        .max_by(|a, b| a.1.total_cmp(&b.1));
    if let Some((peer, best)) = best_peer {
        for (row, what) in [
            ("corral", "Histogram"),
            ("corral-sharded", "ShardedHistogram<14, 16>"),
        ] {
            if let Some(corral) = cell("histogram", row) {
                println!(
                    "- shared histogram, Corral's {what} vs the best peer ({peer}): {corral:.1} / {best:.1} Mops/s = {:.1}x (goal: at least 5x)",
                    corral / best
                );
            }
        }
    }
}
