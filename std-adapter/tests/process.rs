//! The process collector's values, read through a real registry visit, checked against
//! `/proc/self` read independently here (plain file reads and `getconf`, no procfs crate).
//!
//! One test function: thread and file-descriptor counts would move if other tests ran
//! beside it.

use core::ops::ControlFlow;
use core::time::Duration;
use std::collections::HashMap;
use std::process::Command;
use std::sync::mpsc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use corral_std::core::{
    Counter, Desc, FamilyInfo, MetricKind, Registry, SeriesLabels, Value, Visitor,
};
use corral_std::process::{ProcessCollector, ProcessError};

static REGISTRY: Registry<16> = Registry::new();
static ELSEWHERE: Registry<4> = Registry::new();
static STILL_WORKS: Counter = Counter::new();

/// Collects every unlabelled series as `name -> (kind, value)`.
#[derive(Default)]
struct Scrape(HashMap<String, (MetricKind, f64)>);

impl Visitor for Scrape {
    fn series(
        &mut self,
        family: &FamilyInfo<'_>,
        labels: &SeriesLabels<'_>,
        value: &Value<'_>,
    ) -> ControlFlow<()> {
        assert!(labels.is_empty(), "{}", family.name);
        let v = match *value {
            Value::Counter(c) => c as f64,
            Value::FloatCounter(f) | Value::Gauge(f) => f,
            Value::IntGauge(i) => i as f64,
            other => panic!("{}: unexpected {other:?}", family.name),
        };
        self.0.insert(family.name.to_owned(), (family.kind, v));
        ControlFlow::Continue(())
    }
}

fn scrape() -> HashMap<String, f64> {
    let mut s = Scrape::default();
    REGISTRY.visit(&mut s);
    s.0.into_iter().map(|(k, (_, v))| (k, v)).collect()
}

fn getconf(name: &str) -> f64 {
    let out = Command::new("getconf")
        .arg(name)
        .output()
        .expect("getconf (libc-bin) is needed to check process metrics independently");
    String::from_utf8(out.stdout)
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

fn read(path: &str) -> String {
    std::fs::read_to_string(path).unwrap()
}

/// Fields of `/proc/self/stat` after the command name, numbered as in proc(5).
fn stat_field(n: usize) -> f64 {
    let stat = read("/proc/self/stat");
    let after = &stat[stat.rfind(')').unwrap() + 2..];
    after
        .split_whitespace()
        .nth(n - 3)
        .unwrap()
        .parse()
        .unwrap()
}

fn status_field(name: &str) -> f64 {
    read("/proc/self/status")
        .lines()
        .find_map(|l| l.strip_prefix(name))
        .unwrap()
        .trim()
        .trim_end_matches(" kB")
        .parse()
        .unwrap()
}

fn within(actual: f64, expected: f64, fraction: f64) -> bool {
    (actual - expected).abs() <= expected.abs() * fraction
}

#[test]
fn process_metrics_match_proc_self() {
    let page = getconf("PAGESIZE");
    let ticks = getconf("CLK_TCK");

    let process = ProcessCollector::register(&REGISTRY).unwrap();
    let mut kinds = Scrape::default();
    REGISTRY.visit(&mut kinds);
    for name in ProcessCollector::NAMES {
        let (kind, _) = kinds.0[name];
        let expected = if name.ends_with("_total") {
            MetricKind::Counter
        } else {
            MetricKind::Gauge
        };
        assert_eq!(kind, expected, "{name}");
    }

    // Memory: resident and virtual size against /proc/self/statm (pages) and status (kB).
    let m = scrape();
    let statm: Vec<f64> = read("/proc/self/statm")
        .split_whitespace()
        .map(|f| f.parse().unwrap())
        .collect();
    let rss = m["process_resident_memory_bytes"];
    assert!(
        within(rss, statm[1] * page, 0.10),
        "{rss} vs statm {}",
        statm[1] * page
    );
    assert!(within(rss, status_field("VmRSS:") * 1024.0, 0.10));
    assert_eq!(m["process_memory_bytes"], rss);
    let vsize = m["process_virtual_memory_bytes"];
    assert!(
        within(vsize, statm[0] * page, 0.10),
        "{vsize} vs {}",
        statm[0] * page
    );

    // Threads: equal to /proc, and one more while a thread is alive.
    let threads = m["process_threads"];
    assert_eq!(threads, status_field("Threads:"));
    let (tx, rx) = mpsc::channel::<()>();
    let (ready_tx, ready_rx) = mpsc::channel::<()>();
    let extra = std::thread::spawn(move || {
        ready_tx.send(()).unwrap();
        rx.recv().unwrap();
    });
    ready_rx.recv().unwrap();
    assert_eq!(scrape()["process_threads"], threads + 1.0);
    tx.send(()).unwrap();
    extra.join().unwrap();
    assert_eq!(scrape()["process_threads"], threads);

    // File descriptors: three more while three files are open; the limit as in limits.
    let fds = scrape()["process_open_fds"];
    let files: Vec<_> = (0..3)
        .map(|_| std::fs::File::open("/proc/self/stat").unwrap())
        .collect();
    assert_eq!(scrape()["process_open_fds"], fds + 3.0);
    drop(files);
    assert_eq!(scrape()["process_open_fds"], fds);
    let limit = read("/proc/self/limits")
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .unwrap()
        .split_whitespace()
        .nth(3)
        .unwrap()
        .to_owned();
    let max_fds = scrape()["process_max_fds"];
    match limit.as_str() {
        "unlimited" => assert_eq!(max_fds, f64::INFINITY),
        n => assert_eq!(max_fds, n.parse::<f64>().unwrap()),
    }

    // Start time: boot time plus the start tick, and in the past.
    let btime: f64 = read("/proc/stat")
        .lines()
        .find_map(|l| l.strip_prefix("btime "))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let start = btime + stat_field(22) / ticks;
    let reported = scrape()["process_start_time_seconds"];
    assert!((reported - start).abs() < 0.02, "{reported} vs {start}");
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    assert!(
        reported <= now && reported > now - 3600.0,
        "{reported} vs now {now}"
    );

    // CPU: user + system ticks, and it grows while this thread spins.
    let before = scrape()["process_cpu_seconds_total"];
    let independent = (stat_field(14) + stat_field(15)) / ticks;
    assert!(
        (before - independent).abs() <= 0.05,
        "{before} vs {independent}"
    );
    let spin = Instant::now();
    let mut x = 0u64;
    while spin.elapsed() < Duration::from_millis(300) {
        x = core::hint::black_box(x.wrapping_mul(6364136223846793005).wrapping_add(1));
    }
    let after = scrape();
    let spent = after["process_cpu_seconds_total"] - before;
    assert!(
        spent >= 0.1,
        "spinning 300 ms added only {spent} s of CPU time"
    );
    let cpus = std::thread::available_parallelism().unwrap().get() as f64;
    let ratio = after["process_cpu_usage_ratio"];
    assert!(
        ratio > 0.25 / cpus && ratio <= 1.0,
        "usage ratio {ratio} after one thread spun on {cpus} CPUs"
    );

    // The handle reads the same way, and reports no error.
    let direct = process.read().unwrap();
    assert!(direct.threads >= 1);
    assert!(process.last_error().is_none());

    // Registering again: the names are taken, and the registry says which.
    match ProcessCollector::register(&REGISTRY) {
        Err(ProcessError::Register(e)) => assert_eq!(e.metric, "process_cpu_seconds_total"),
        other => panic!("{other:?}"),
    }

    // Without procfs: a clear error, nothing registered, the registry keeps working.
    match ProcessCollector::register_with_proc(&ELSEWHERE, "/nonexistent-proc") {
        Err(e @ ProcessError::Unavailable { .. }) => {
            let text = e.to_string();
            assert!(
                text.starts_with("process metrics are unavailable: /nonexistent-proc"),
                "{text}"
            );
        }
        other => panic!("{other:?}"),
    }
    assert!(ELSEWHERE.is_empty());
    ELSEWHERE
        .register(Desc::new("still_works_total", "x"), &STILL_WORKS)
        .unwrap();
    STILL_WORKS.inc();
    let mut s = Scrape::default();
    ELSEWHERE.visit(&mut s);
    assert_eq!(s.0["still_works_total"].1, 1.0);
}
