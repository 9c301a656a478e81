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

    // CPU: user + system ticks, read between two independent reads of /proc/self/stat, and
    // a usage ratio between the bounds those reads give. The spin runs until this process'
    // own CPU clock has advanced by `SPIN_TICKS`, so a loaded machine makes it take longer,
    // never makes it spend less.
    const SPIN_TICKS: f64 = 20.0;
    let cpu_ticks = || stat_field(14) + stat_field(15);
    let cpus = std::thread::available_parallelism().unwrap().get() as f64;
    // The collector keeps its usage base unless 100 ms have passed since it was taken: wait
    // longer than that, so the next scrape becomes the base the ratio is measured from.
    std::thread::sleep(Duration::from_millis(150));
    let (t_a, i_a) = (Instant::now(), cpu_ticks());
    let before = scrape()["process_cpu_seconds_total"];
    let (t_b, i_b) = (Instant::now(), cpu_ticks());
    assert!(
        i_a / ticks <= before && before <= i_b / ticks,
        "{before} s of CPU is not between the reads before ({}) and after ({})",
        i_a / ticks,
        i_b / ticks
    );
    let mut x = 0u64;
    let patience = Instant::now();
    while cpu_ticks() < i_b + SPIN_TICKS {
        for _ in 0..10_000 {
            x = core::hint::black_box(x.wrapping_mul(6364136223846793005).wrapping_add(1));
        }
        assert!(
            patience.elapsed() < Duration::from_secs(120),
            "the CPU clock did not advance {SPIN_TICKS} ticks in 120 s of spinning"
        );
    }
    let (t_c, i_c) = (Instant::now(), cpu_ticks());
    let after = scrape();
    let (t_d, i_d) = (Instant::now(), cpu_ticks());
    let spent = after["process_cpu_seconds_total"];
    assert!(
        i_c / ticks <= spent && spent <= i_d / ticks,
        "{spent} s of CPU is not between the reads before ({}) and after ({})",
        i_c / ticks,
        i_d / ticks
    );
    assert!(spent - before >= SPIN_TICKS / ticks, "{before} -> {spent}");
    // The ratio: (CPU between the two scrapes) / (wall between them) / CPUs, each side
    // bounded by the independent reads around the scrapes, clamped to at most 1.
    let lowest = (i_c - i_b) / ticks / (t_d - t_a).as_secs_f64() / cpus;
    let highest = ((i_d - i_a) / ticks / (t_c - t_b).as_secs_f64() / cpus).min(1.0);
    let ratio = after["process_cpu_usage_ratio"];
    assert!(
        lowest * (1.0 - 1e-9) <= ratio && ratio <= highest * (1.0 + 1e-9),
        "usage ratio {ratio} outside [{lowest}, {highest}] on {cpus} CPUs"
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
