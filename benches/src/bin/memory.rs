//! Memory per series: 10,000 labelled counter series (100 families of 100, two short labels)
//! and 1,000 histogram series (10 families of 100, the 13 latency bounds), one process per
//! library so that no library's heap or recorder is charged to another.
//!
//! ```text
//! cargo build --release -p corral-benches --bin memory
//! target/release/memory                          # driver: every library, one child process each
//! target/release/memory corral                   # one library, one result line
//! target/release/memory --counters 200 --histograms 20   # smaller sizes (CI)
//! ```
//!
//! Per library it reports the resident set growth (`VmRSS` after populating minus before),
//! the peak growth (`VmHWM`, reset through `/proc/self/clear_refs` before populating, minus
//! `VmRSS` before), and, from a counting global allocator, the heap still allocated, its
//! peak and the number of allocations, per phase (counters, then histograms).
//!
//! Corral's families are `static`s of fixed capacity (here 256 slots per family): their
//! memory is reserved in the binary image whatever is used, and pages are resident once
//! touched. Its row therefore shows the touched RSS, and the static size separately.

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::ops::ControlFlow;
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};

use corral_benches::LATENCY_BOUNDS;
use corral_benches::peers::measured_labels::{StringLabelSet, StringLabels};
use corral_benches::peers::{self, Otel, PcLabels};
use corral_core::{
    Counter, Desc, DynamicFamily, FamilyInfo, HistogramCells, Registry, RegistryConfig,
    SeriesLabels, Value, Visitor, buckets,
};
use measured::lasso::Rodeo;
use opentelemetry::KeyValue;
use prometheus_client::metrics::counter::Counter as PcCounter;
use prometheus_client::metrics::family::Family as PcFamily;
use prometheus_client::metrics::histogram::Histogram as PcHistogram;

/// Counts every allocation, the bytes live and their peak.
struct CountingAllocator;

static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);
static LIVE: AtomicU64 = AtomicU64::new(0);
static PEAK: AtomicU64 = AtomicU64::new(0);

impl CountingAllocator {
    fn grew(size: usize) {
        let live = LIVE.fetch_add(size as u64, Ordering::Relaxed) + size as u64;
        PEAK.fetch_max(live, Ordering::Relaxed);
    }
}

// SAFETY: every method forwards to `System` with the caller's arguments unchanged, so the
// `GlobalAlloc` contract holds as it does for `System`; the counters are side effects only.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        Self::grew(layout.size());
        // SAFETY: forwarded unchanged; the caller upholds `alloc`'s contract.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        Self::grew(layout.size());
        // SAFETY: forwarded unchanged; the caller upholds `alloc_zeroed`'s contract.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as u64, Ordering::Relaxed);
        // SAFETY: forwarded unchanged; `ptr` came from this allocator with `layout`.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        LIVE.fetch_sub(layout.size() as u64, Ordering::Relaxed);
        Self::grew(new_size);
        // SAFETY: forwarded unchanged; the caller upholds `realloc`'s contract.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

const LIBRARIES: [&str; 6] = [
    "corral",
    "prometheus",
    "prometheus-client",
    "metrics",
    "measured",
    "opentelemetry",
];

/// Series per family.
const PER_FAMILY: usize = 100;
/// Label values: 10 x 10 combinations make a family's 100 series.
const METHODS: [&str; 10] = ["m0", "m1", "m2", "m3", "m4", "m5", "m6", "m7", "m8", "m9"];
const STATUSES: [&str; 10] = ["s0", "s1", "s2", "s3", "s4", "s5", "s6", "s7", "s8", "s9"];

/// Corral's capacity: 100 counter families and 10 histogram families of 256 slots each
/// (100 used; 128 slots would admit only 96 at the three-quarter load bound), registered
/// in one registry with room for them all.
const COUNTER_FAMILIES: usize = 100;
const HISTOGRAM_FAMILIES: usize = 10;
static REGISTRY: Registry<128> = Registry::with_config(
    RegistryConfig::DEFAULT
        .with_max_total_series(20_000)
        .with_self_metrics(false),
);
static CORRAL_COUNTERS: [DynamicFamily<Counter, 2, 256>; COUNTER_FAMILIES] =
    [const { DynamicFamily::new(["method", "status"]) }; COUNTER_FAMILIES];
static CORRAL_HISTOGRAMS: [DynamicFamily<HistogramCells<14>, 2, 256>; HISTOGRAM_FAMILIES] =
    [const { DynamicFamily::histogram(["method", "status"], buckets::LATENCY_MS) };
        HISTOGRAM_FAMILIES];

#[derive(Clone, Copy, Debug, Default)]
struct Snapshot {
    rss_kib: u64,
    hwm_kib: u64,
    live: u64,
    allocations: u64,
}

/// Reads a `kB` field of `/proc/self/status` into a stack buffer: no allocation, so that
/// taking a snapshot is not charged to the library being measured.
fn status_kib(field: &str) -> u64 {
    use std::io::Read;
    let mut buffer = [0u8; 8192];
    let mut file = std::fs::File::open("/proc/self/status").expect("/proc/self/status");
    let mut len = 0;
    loop {
        let n = file
            .read(&mut buffer[len..])
            .expect("read /proc/self/status");
        if n == 0 || len + n == buffer.len() {
            len += n;
            break;
        }
        len += n;
    }
    let status = std::str::from_utf8(&buffer[..len]).expect("utf-8 status");
    status
        .lines()
        .find_map(|line| line.strip_prefix(field))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("no {field} in /proc/self/status"))
}

fn snapshot() -> Snapshot {
    Snapshot {
        rss_kib: status_kib("VmRSS:"),
        hwm_kib: status_kib("VmHWM:"),
        live: LIVE.load(Ordering::Relaxed),
        allocations: ALLOCATIONS.load(Ordering::Relaxed),
    }
}

/// Resets `VmHWM` to the current RSS (Linux 4.0+), so the peak covers what follows only.
fn reset_peak() {
    std::fs::write("/proc/self/clear_refs", "5").expect("write /proc/self/clear_refs");
    PEAK.store(LIVE.load(Ordering::Relaxed), Ordering::Relaxed);
}

/// What one library is asked to hold.
#[derive(Clone, Copy, Debug)]
struct Sizes {
    counters: usize,
    histograms: usize,
}

/// Family `f`'s series as `(family, method, status)`, `total` series in families of 100.
fn layout(total: usize) -> impl Iterator<Item = (usize, &'static str, &'static str)> {
    (0..total).map(|i| {
        let s = i % PER_FAMILY;
        (i / PER_FAMILY, METHODS[s / 10], STATUSES[s % 10])
    })
}

fn families(total: usize) -> usize {
    total.div_ceil(PER_FAMILY)
}

/// Names made before measuring, so that no library is charged for them.
struct Names {
    counters: Vec<&'static str>,
    histograms: Vec<&'static str>,
}

impl Names {
    fn new(sizes: Sizes) -> Self {
        let leak = |s: String| -> &'static str { Box::leak(s.into_boxed_str()) };
        Self {
            counters: (0..families(sizes.counters))
                .map(|f| leak(format!("mem_c{f}_total")))
                .collect(),
            histograms: (0..families(sizes.histograms))
                .map(|f| leak(format!("mem_h{f}")))
                .collect(),
        }
    }
}

/// The live objects of one library, kept until after the last snapshot.
type Keep = Vec<Box<dyn std::any::Any>>;
/// prometheus-client's histogram family, built by a plain constructor function.
type PcHistogramFamily = PcFamily<PcLabels, PcHistogram, fn() -> PcHistogram>;
/// What each library keeps alive.
type PromState = (
    prometheus::Registry,
    Vec<prometheus::IntCounterVec>,
    Vec<prometheus::HistogramVec>,
);
type PcState = (
    prometheus_client::registry::Registry,
    Vec<PcFamily<PcLabels, PcCounter>>,
    Vec<PcHistogramFamily>,
);
type MeasuredState = (
    Vec<measured::CounterVec<StringLabelSet>>,
    Vec<measured::HistogramVec<StringLabelSet, 13>>,
);
type OtelState = (
    Otel,
    Vec<opentelemetry::metrics::Counter<u64>>,
    Vec<opentelemetry::metrics::Histogram<f64>>,
);

/// Populates `lib`: counters first, then a snapshot, then histograms. Returns what must
/// stay alive and a closure-free check of the series count, run after measuring.
fn populate(lib: &str, sizes: Sizes, names: &Names, mid: &mut Snapshot, keep: &mut Keep) {
    match lib {
        "corral" => {
            for (f, name) in names.counters.iter().enumerate() {
                REGISTRY
                    .register(Desc::new(name, "help"), &CORRAL_COUNTERS[f])
                    .expect("register");
            }
            for (f, m, s) in layout(sizes.counters) {
                CORRAL_COUNTERS[f].with_labels([m, s]).inc();
            }
            *mid = snapshot();
            for (f, name) in names.histograms.iter().enumerate() {
                REGISTRY
                    .register(Desc::new(name, "help"), &CORRAL_HISTOGRAMS[f])
                    .expect("register");
            }
            for (f, m, s) in layout(sizes.histograms) {
                CORRAL_HISTOGRAMS[f].with_labels([m, s]).observe(42.0);
            }
        }
        "prometheus" => {
            let registry = prometheus::Registry::new();
            let vecs: Vec<prometheus::IntCounterVec> = names
                .counters
                .iter()
                .map(|name| {
                    let vec = prometheus::IntCounterVec::new(
                        prometheus::Opts::new(*name, "help"),
                        &["method", "status"],
                    )
                    .expect("valid counter");
                    registry.register(Box::new(vec.clone())).expect("register");
                    vec
                })
                .collect();
            for (f, m, s) in layout(sizes.counters) {
                vecs[f].with_label_values(&[m, s]).inc();
            }
            *mid = snapshot();
            let hists: Vec<prometheus::HistogramVec> = names
                .histograms
                .iter()
                .map(|name| {
                    let vec = prometheus::HistogramVec::new(
                        prometheus::HistogramOpts::new(*name, "help")
                            .buckets(LATENCY_BOUNDS.to_vec()),
                        &["method", "status"],
                    )
                    .expect("valid histogram");
                    registry.register(Box::new(vec.clone())).expect("register");
                    vec
                })
                .collect();
            for (f, m, s) in layout(sizes.histograms) {
                hists[f].with_label_values(&[m, s]).observe(42.0);
            }
            keep.push(Box::new((registry, vecs, hists)));
        }
        "prometheus-client" => {
            let mut registry = prometheus_client::registry::Registry::default();
            let families: Vec<PcFamily<PcLabels, PcCounter>> = names
                .counters
                .iter()
                .map(|name| {
                    let family = PcFamily::<PcLabels, PcCounter>::default();
                    let name = name.strip_suffix("_total").unwrap_or(name);
                    registry.register(name, "help", family.clone());
                    family
                })
                .collect();
            for (f, method, status) in layout(sizes.counters) {
                families[f]
                    .get_or_create(&PcLabels { method, status })
                    .inc();
            }
            *mid = snapshot();
            let hists: Vec<PcHistogramFamily> = names
                .histograms
                .iter()
                .map(|name| {
                    let family =
                        PcFamily::new_with_constructor(peers::pc_histogram as fn() -> PcHistogram);
                    registry.register(*name, "help", family.clone());
                    family
                })
                .collect();
            for (f, method, status) in layout(sizes.histograms) {
                hists[f]
                    .get_or_create(&PcLabels { method, status })
                    .observe(42.0);
            }
            keep.push(Box::new((registry, families, hists)));
        }
        "metrics" => {
            let handle = peers::metrics_handle();
            for (f, m, s) in layout(sizes.counters) {
                metrics::counter!(names.counters[f], "method" => m, "status" => s).increment(1);
            }
            *mid = snapshot();
            for (f, m, s) in layout(sizes.histograms) {
                metrics::histogram!(names.histograms[f], "method" => m, "status" => s).record(42.0);
            }
            // Values are bucketed in the upkeep: without it the histograms are only queues.
            handle.run_upkeep();
        }
        "measured" => {
            let set = || {
                StringLabelSet::new(
                    Rodeo::from_iter(METHODS).into_reader(),
                    Rodeo::from_iter(STATUSES).into_reader(),
                )
            };
            let vecs: Vec<measured::CounterVec<StringLabelSet>> = names
                .counters
                .iter()
                .map(|_| measured::CounterVec::with_label_set(set()))
                .collect();
            for (f, method, status) in layout(sizes.counters) {
                vecs[f].inc(StringLabels { method, status });
            }
            *mid = snapshot();
            let hists: Vec<measured::HistogramVec<StringLabelSet, 13>> = names
                .histograms
                .iter()
                .map(|_| {
                    measured::HistogramVec::with_label_set_and_metadata(
                        set(),
                        peers::measured_thresholds(),
                    )
                })
                .collect();
            for (f, method, status) in layout(sizes.histograms) {
                hists[f].observe(StringLabels { method, status }, 42.0);
            }
            keep.push(Box::new((vecs, hists)));
        }
        "opentelemetry" => {
            let otel = Otel::new();
            let counters: Vec<opentelemetry::metrics::Counter<u64>> = names
                .counters
                .iter()
                .map(|name| otel.meter.u64_counter(*name).build())
                .collect();
            for (f, m, s) in layout(sizes.counters) {
                counters[f].add(1, &[KeyValue::new("method", m), KeyValue::new("status", s)]);
            }
            *mid = snapshot();
            let hists: Vec<opentelemetry::metrics::Histogram<f64>> = names
                .histograms
                .iter()
                .map(|name| otel.latency_histogram(name))
                .collect();
            for (f, m, s) in layout(sizes.histograms) {
                hists[f].record(
                    42.0,
                    &[KeyValue::new("method", m), KeyValue::new("status", s)],
                );
            }
            keep.push(Box::new((otel, counters, hists)));
        }
        _ => unreachable!("libraries are checked before"),
    }
}

/// Counts Corral's series holding exactly one increment or one observation.
#[derive(Default)]
struct CountSeries {
    counters: usize,
    histograms: usize,
}

impl Visitor for CountSeries {
    fn series(
        &mut self,
        _: &FamilyInfo<'_>,
        _: &SeriesLabels<'_>,
        value: &Value<'_>,
    ) -> ControlFlow<()> {
        match value {
            Value::Counter(1) => self.counters += 1,
            Value::Histogram(h) if h.count() == 1 => self.histograms += 1,
            _ => {}
        }
        ControlFlow::Continue(())
    }
}

/// Counts the series each library reports, through its own read path: the proof that the
/// populate step really created them. Runs after the measurements.
fn count_series(lib: &str, names: &Names, keep: &Keep) -> (usize, usize) {
    let text_counts = |text: &str, counter_prefix: &str, histogram_suffix: &str| {
        let counters = text
            .lines()
            .filter(|l| l.starts_with("mem_c") && l.contains(counter_prefix))
            .count();
        let histograms = text
            .lines()
            .filter(|l| l.starts_with("mem_h") && l.contains(histogram_suffix))
            .count();
        (counters, histograms)
    };
    match lib {
        "corral" => {
            let mut count = CountSeries::default();
            let _ = REGISTRY.visit(&mut count);
            (count.counters, count.histograms)
        }
        "prometheus" => {
            let (registry, _, _) = keep[0]
                .downcast_ref::<PromState>()
                .expect("prometheus state");
            let text = prometheus::TextEncoder::new()
                .encode_to_string(&registry.gather())
                .expect("encode");
            text_counts(&text, "_total{", "_count{")
        }
        "prometheus-client" => {
            let (registry, _, _) = keep[0]
                .downcast_ref::<PcState>()
                .expect("prometheus-client state");
            let mut text = String::new();
            prometheus_client::encoding::text::encode(&mut text, registry).expect("encode");
            text_counts(&text, "_total{", "_count{")
        }
        "metrics" => text_counts(&peers::metrics_handle().render(), "_total{", "_count{"),
        "measured" => {
            use measured::metric::MetricFamilyEncoding;
            use measured::metric::name::MetricName;
            let (vecs, hists) = keep[0]
                .downcast_ref::<MeasuredState>()
                .expect("measured state");
            let mut encoder = measured::text::BufferedTextEncoder::new();
            for (vec, name) in vecs.iter().zip(&names.counters) {
                vec.collect_family_into(MetricName::from_str(name), &mut encoder)
                    .expect("encode");
            }
            for (vec, name) in hists.iter().zip(&names.histograms) {
                vec.collect_family_into(MetricName::from_str(name), &mut encoder)
                    .expect("encode");
            }
            let text = String::from_utf8(encoder.finish().to_vec()).expect("utf-8");
            text_counts(&text, "_total{", "_count{")
        }
        "opentelemetry" => {
            use opentelemetry_sdk::metrics::data::{AggregatedMetrics, MetricData};
            let (otel, _, _) = keep[0]
                .downcast_ref::<OtelState>()
                .expect("opentelemetry state");
            let mut rm = opentelemetry_sdk::metrics::data::ResourceMetrics::default();
            otel.reader.collect_into(&mut rm);
            let (mut counters, mut histograms) = (0, 0);
            for metric in rm.scope_metrics().flat_map(|s| s.metrics()) {
                match metric.data() {
                    AggregatedMetrics::U64(MetricData::Sum(sum)) => {
                        counters += sum.data_points().count()
                    }
                    AggregatedMetrics::F64(MetricData::Histogram(h)) => {
                        histograms += h.data_points().count()
                    }
                    _ => {}
                }
            }
            (counters, histograms)
        }
        _ => unreachable!(),
    }
}

/// Measures one library in this process and prints one `key=value` line.
fn measure(lib: &str, sizes: Sizes) {
    let names = Names::new(sizes);
    let mut keep: Keep = Vec::new();
    let mut mid = Snapshot::default();
    // Touch what every library shares (the allocator, stdout) before the first snapshot.
    black_box(lib.to_owned());
    reset_peak();
    let before = snapshot();
    populate(lib, sizes, &names, &mut mid, &mut keep);
    let after = snapshot();
    let heap_peak = PEAK.load(Ordering::Relaxed);
    let (counters, histograms) = count_series(lib, &names, &keep);
    if counters != sizes.counters || histograms != sizes.histograms {
        eprintln!(
            "memory: {lib} reports {counters} counter and {histograms} histogram series, expected {} and {}",
            sizes.counters, sizes.histograms
        );
        std::process::exit(1);
    }
    let static_bytes = if lib == "corral" {
        size_of_val(&CORRAL_COUNTERS) + size_of_val(&CORRAL_HISTOGRAMS) + size_of_val(&REGISTRY)
    } else {
        0
    };
    println!(
        "RESULT lib={lib} counters={} histograms={} rss_before_kib={} rss_mid_kib={} rss_after_kib={} hwm_after_kib={} \
         live_before={} live_mid={} live_after={} heap_peak={} allocs_before={} allocs_mid={} allocs_after={} static_bytes={static_bytes}",
        sizes.counters,
        sizes.histograms,
        before.rss_kib,
        mid.rss_kib,
        after.rss_kib,
        after.hwm_kib,
        before.live,
        mid.live,
        after.live,
        heap_peak,
        before.allocations,
        mid.allocations,
        after.allocations,
    );
    drop(keep);
}

fn field(line: &str, key: &str) -> f64 {
    line.split_whitespace()
        .find_map(|kv| kv.strip_prefix(key).and_then(|v| v.strip_prefix('=')))
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no {key} in {line:?}"))
}

/// Runs every library in its own child process and prints the table.
fn drive(sizes: Sizes, libs: &[String]) {
    let exe = std::env::current_exe().expect("current executable");
    println!(
        "# Memory: {} labelled counter series ({} families) + {} histogram series ({} families, 13 bounds), one process per library\n",
        sizes.counters,
        families(sizes.counters),
        sizes.histograms,
        families(sizes.histograms)
    );
    println!(
        "| library | rss Δ KiB | peak Δ KiB | heap live KiB | heap peak KiB | allocs | allocs/series | counter: rss B/series | counter: heap B/series | histogram: rss B/series | histogram: heap B/series | static KiB |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    let mut failed = false;
    for lib in libs {
        let output = Command::new(&exe)
            .arg(lib)
            .args(["--counters", &sizes.counters.to_string()])
            .args(["--histograms", &sizes.histograms.to_string()])
            .output()
            .expect("run a child process");
        let stdout = String::from_utf8_lossy(&output.stdout);
        let Some(line) = stdout.lines().find(|l| l.starts_with("RESULT ")) else {
            eprintln!(
                "memory: {lib} failed ({}): {}",
                output.status,
                String::from_utf8_lossy(&output.stderr)
            );
            failed = true;
            continue;
        };
        let f = |key| field(line, key);
        let series = (sizes.counters + sizes.histograms) as f64;
        let per = |bytes: f64, n: usize| {
            if n == 0 {
                "n/a".to_owned()
            } else {
                format!("{:.0}", bytes / n as f64)
            }
        };
        let rss = f("rss_after_kib") - f("rss_before_kib");
        let live = f("live_after") - f("live_before");
        let allocs = f("allocs_after") - f("allocs_before");
        let static_kib = f("static_bytes") / 1024.0;
        println!(
            "| {lib} | {rss:.0} | {:.0} | {:.0} | {:.0} | {allocs:.0} | {:.1} | {} | {} | {} | {} | {} |",
            f("hwm_after_kib") - f("rss_before_kib"),
            live / 1024.0,
            (f("heap_peak") - f("live_before")) / 1024.0,
            allocs / series,
            per(
                (f("rss_mid_kib") - f("rss_before_kib")) * 1024.0,
                sizes.counters
            ),
            per(f("live_mid") - f("live_before"), sizes.counters),
            per(
                (f("rss_after_kib") - f("rss_mid_kib")) * 1024.0,
                sizes.histograms
            ),
            per(f("live_after") - f("live_mid"), sizes.histograms),
            if static_kib > 0.0 {
                format!("{static_kib:.0}")
            } else {
                "0".to_owned()
            },
        );
    }
    if failed {
        std::process::exit(1);
    }
}

fn main() {
    let mut sizes = Sizes {
        counters: COUNTER_FAMILIES * PER_FAMILY,
        histograms: HISTOGRAM_FAMILIES * PER_FAMILY,
    };
    let mut lib = None;
    let mut libs: Vec<String> = LIBRARIES.iter().map(|s| (*s).to_owned()).collect();
    let mut args = std::env::args().skip(1);
    let usage = |message: String| -> ! {
        eprintln!(
            "memory: {message}\nusage: memory [LIBRARY] [--counters N] [--histograms N] [--libs a,b]"
        );
        std::process::exit(2)
    };
    while let Some(arg) = args.next() {
        let mut value = |flag: &str| -> usize {
            args.next()
                .and_then(|v| v.parse().ok())
                .unwrap_or_else(|| usage(format!("{flag} needs a number")))
        };
        match arg.as_str() {
            "--counters" => sizes.counters = value("--counters"),
            "--histograms" => sizes.histograms = value("--histograms"),
            "--libs" => {
                libs = args
                    .next()
                    .unwrap_or_default()
                    .split(',')
                    .map(str::to_owned)
                    .collect()
            }
            name if LIBRARIES.contains(&name) => lib = Some(name.to_owned()),
            other => usage(format!(
                "unknown argument {other:?}; libraries: {LIBRARIES:?}"
            )),
        }
    }
    if sizes.counters > COUNTER_FAMILIES * PER_FAMILY
        || sizes.histograms > HISTOGRAM_FAMILIES * PER_FAMILY
    {
        usage(format!(
            "at most {} counters and {} histograms (Corral's static capacity here)",
            COUNTER_FAMILIES * PER_FAMILY,
            HISTOGRAM_FAMILIES * PER_FAMILY
        ));
    }
    if let Some(bad) = libs.iter().find(|l| !LIBRARIES.contains(&l.as_str())) {
        usage(format!("unknown library {bad:?}"));
    }
    match lib {
        Some(lib) => measure(&lib, sizes),
        None => drive(sizes, &libs),
    }
}
