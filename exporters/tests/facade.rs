//! The `metrics` facade recorder, driven through the real macros from a module of its own
//! (as a library that depends on `metrics` would), rendered with corral-core's encoders and
//! checked line by line, by `promtool check metrics` and by Python's `prometheus_client`
//! parsers. Without promtool or prometheus_client the tests fail and say how to install
//! them.
#![cfg(feature = "metrics-facade")]

use std::io::Write as _;
use std::process::{Command, Stdio};

use corral_core::encode::{self};
use corral_core::{Registry, RegistryConfig};
use corral_exporters::facade::{Matcher, MetricsRecorder, SummaryOptions};
use corral_std::encode::VecSink;

/// Stands in for a dependency instrumented with `metrics`: it knows nothing of Corral.
mod instrumented_library {
    use metrics::{
        Unit, counter, describe_counter, describe_gauge, describe_histogram, gauge, histogram,
    };

    pub fn describe() {
        describe_counter!("http_requests", "HTTP requests served");
        describe_counter!("sent_bytes", Unit::Bytes, "Bytes sent");
        describe_gauge!("queue_depth", "Jobs waiting");
        describe_histogram!("request_duration_seconds", Unit::Seconds, "Request latency");
        describe_histogram!("payload_size_bytes", Unit::Bytes, "Payload sizes");
        describe_histogram!("db_query_seconds", Unit::Seconds, "Query latency");
    }

    pub fn serve(method: &'static str, status: String) {
        counter!("http_requests", "method" => method, "status" => status).increment(1);
    }

    pub fn work() {
        counter!("sent_bytes").increment(1500);
        counter!("sent_bytes").increment(500);
        // Label order differs from the first key: same family, same series.
        counter!("http_requests", "status" => "200", "method" => "GET").increment(10);
        gauge!("queue_depth", "queue" => "emails").set(7.0);
        gauge!("queue_depth", "queue" => "emails").increment(3.0);
        gauge!("queue_depth", "queue" => "sms").decrement(2.5);
        for v in [0.003, 0.02, 0.2, 4.0, 30.0] {
            histogram!("request_duration_seconds", "route" => "/users").record(v);
        }
        for v in [100.0, 2000.0, 70000.0] {
            histogram!("payload_size_bytes").record(v);
        }
        for v in 1..=100 {
            histogram!("db_query_seconds", "table" => "users").record(f64::from(v) / 1000.0);
        }
        metrics::describe_counter!("synced_total", "Records synced");
        counter!("synced_total").absolute(40);
        counter!("synced_total").absolute(25); // lower: no change
        counter!("synced_total").absolute(42);
    }
}

fn render(registry: &'static Registry<32>, openmetrics: bool) -> String {
    let mut out = Vec::new();
    let mut sink = VecSink::new(&mut out);
    if openmetrics {
        encode::openmetrics(registry, &mut sink).unwrap();
    } else {
        encode::prometheus(registry, &mut sink).unwrap();
    }
    String::from_utf8(out).unwrap()
}

fn promtool_check(text: &str) {
    let installed = Command::new("promtool")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        installed,
        "promtool is not installed; install it with `apt-get install -y prometheus` \
         (Debian; do not start the service) or run ./test.sh, which installs it"
    );
    let mut child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success() && report.trim().is_empty(),
        "promtool: {report}\n{text}"
    );
}

/// Parses `text` with prometheus_client's parser for the format and prints one line per
/// sample, `name{k=v,...} value` with sorted labels, plus `TYPE name type` and
/// `HELP name help` and (OpenMetrics) `UNIT name unit` per family.
fn python_parse(text: &str, openmetrics: bool) -> Vec<String> {
    let ok = Command::new("python3")
        .args([
            "-c",
            "import prometheus_client.parser, prometheus_client.openmetrics.parser",
        ])
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        ok,
        "python3 with prometheus_client is required: install it with `pip install prometheus_client` \
         (or run ./test.sh, which installs it)"
    );
    let module = if openmetrics {
        "prometheus_client.openmetrics.parser"
    } else {
        "prometheus_client.parser"
    };
    let script = format!(
        r#"
import sys, importlib
parser = importlib.import_module("{module}")
for fam in parser.text_string_to_metric_families(sys.stdin.read()):
    print("TYPE", fam.name, fam.type)
    print("HELP", fam.name, fam.documentation)
    if fam.unit:
        print("UNIT", fam.name, fam.unit)
    for s in fam.samples:
        labels = ",".join(f"{{k}}={{v}}" for k, v in sorted(s.labels.items()))
        print(f"{{s.name}}{{{{{{labels}}}}}} {{float(s.value)!r}}")
"#
    );
    let mut child = Command::new("python3")
        .args(["-c", &script])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "the parser refused the output: {}\n{text}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

#[test]
fn macros_land_in_corral_families() {
    static REGISTRY: Registry<32> =
        Registry::with_config(RegistryConfig::DEFAULT.with_self_metrics(false));
    let recorder = MetricsRecorder::builder(&REGISTRY)
        .buckets_for(
            Matcher::Suffix("_bytes".into()),
            &[1000.0, 10000.0, 100000.0],
        )
        .summary(
            Matcher::Prefix("db_".into()),
            SummaryOptions {
                quantiles: vec![0.5, 0.99],
                lowest: 1e-6,
            },
        )
        .build()
        .unwrap();
    metrics::with_local_recorder(&recorder, || {
        instrumented_library::describe();
        instrumented_library::serve("GET", "200".to_owned());
        instrumented_library::serve("POST", "500".to_owned());
        instrumented_library::work();
    });

    let text = render(&REGISTRY, false);
    let expect = [
        "# HELP http_requests_total HTTP requests served",
        "# TYPE http_requests_total counter",
        "http_requests_total{method=\"GET\",status=\"200\"} 11",
        "http_requests_total{method=\"POST\",status=\"500\"} 1",
        "# HELP sent_bytes_total Bytes sent",
        "# TYPE sent_bytes_total counter",
        "sent_bytes_total 2000",
        "# HELP queue_depth Jobs waiting",
        "# TYPE queue_depth gauge",
        "queue_depth{queue=\"emails\"} 10.0",
        "queue_depth{queue=\"sms\"} -2.5",
        "# HELP request_duration_seconds Request latency",
        "# TYPE request_duration_seconds histogram",
        "request_duration_seconds_bucket{route=\"/users\",le=\"0.005\"} 1",
        "request_duration_seconds_bucket{route=\"/users\",le=\"0.025\"} 2",
        "request_duration_seconds_bucket{route=\"/users\",le=\"0.25\"} 3",
        "request_duration_seconds_bucket{route=\"/users\",le=\"5.0\"} 4",
        "request_duration_seconds_bucket{route=\"/users\",le=\"10.0\"} 4",
        "request_duration_seconds_bucket{route=\"/users\",le=\"+Inf\"} 5",
        "request_duration_seconds_sum{route=\"/users\"} 34.223",
        "request_duration_seconds_count{route=\"/users\"} 5",
        "# TYPE payload_size_bytes histogram",
        "payload_size_bytes_bucket{le=\"1000.0\"} 1",
        "payload_size_bytes_bucket{le=\"10000.0\"} 2",
        "payload_size_bytes_bucket{le=\"100000.0\"} 3",
        "payload_size_bytes_bucket{le=\"+Inf\"} 3",
        "payload_size_bytes_sum 72100.0",
        "payload_size_bytes_count 3",
        "# TYPE db_query_seconds summary",
        "db_query_seconds_count{table=\"users\"} 100",
        "# TYPE synced_total counter",
        "synced_total 42",
    ];
    for line in expect {
        assert!(
            text.lines().any(|l| l == line),
            "missing `{line}` in:\n{text}"
        );
    }
    // Summary quantiles from the sketch: within its relative error of the exact values.
    for (q, exact) in [("0.5", 0.05), ("0.99", 0.099)] {
        let prefix = format!("db_query_seconds{{table=\"users\",quantile=\"{q}\"}} ");
        let line = text
            .lines()
            .find(|l| l.starts_with(&prefix))
            .unwrap_or_else(|| panic!("{prefix} in {text}"));
        let value: f64 = line[prefix.len()..].parse().unwrap();
        let bound = exact * corral_exporters::facade::SUMMARY_RELATIVE_ERROR * 1.0001;
        assert!((value - exact).abs() <= bound, "{q}: {value} vs {exact}");
    }
    // Buckets for `_bytes` names came from the suffix rule: no default bound in between.
    assert!(!text.contains("payload_size_bytes_bucket{le=\"0.005\"}"));
    promtool_check(&text);

    let parsed = python_parse(&text, false);
    for line in [
        "TYPE http_requests counter",
        "HELP http_requests HTTP requests served",
        "http_requests_total{method=GET,status=200} 11.0",
        "TYPE queue_depth gauge",
        "queue_depth{queue=emails} 10.0",
        "TYPE request_duration_seconds histogram",
        "request_duration_seconds_bucket{le=+Inf,route=/users} 5.0",
        "TYPE db_query_seconds summary",
        "db_query_seconds_count{table=users} 100.0",
        "synced_total{} 42.0",
    ] {
        assert!(
            parsed.iter().any(|l| l == line),
            "parser: missing `{line}` in {parsed:#?}"
        );
    }

    // Units: OpenMetrics writes them, and the parser reads them back.
    let om = render(&REGISTRY, true);
    for line in [
        "# TYPE sent_bytes counter",
        "# UNIT sent_bytes bytes",
        "# UNIT request_duration_seconds seconds",
        "# UNIT payload_size_bytes bytes",
        "# UNIT db_query_seconds seconds",
    ] {
        assert!(om.lines().any(|l| l == line), "missing `{line}` in:\n{om}");
    }
    let parsed = python_parse(&om, true);
    for line in [
        "UNIT sent_bytes bytes",
        "UNIT request_duration_seconds seconds",
        "sent_bytes_total{} 2000.0",
    ] {
        assert!(
            parsed.iter().any(|l| l == line),
            "parser: missing `{line}` in {parsed:#?}"
        );
    }
}

mod cardinality_library {
    pub fn hit(i: usize) {
        metrics::counter!("tenant_requests", "tenant" => format!("t{i}")).increment(2);
    }
}

#[test]
fn the_1001st_label_set_lands_in_overflow_with_totals_exact() {
    static REGISTRY: Registry<32> = Registry::new();
    let recorder = MetricsRecorder::builder(&REGISTRY).build().unwrap();
    metrics::with_local_recorder(&recorder, || {
        metrics::describe_counter!("tenant_requests", "Requests by tenant");
        for i in 0..1001 {
            cardinality_library::hit(i);
        }
        // Existing series still resolve to themselves; the 1,001st stays in overflow.
        cardinality_library::hit(0);
        cardinality_library::hit(1000);
    });
    let text = render(&REGISTRY, false);
    let series: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("tenant_requests_total{"))
        .collect();
    assert_eq!(series.len(), 1001, "1,000 series and the overflow series");
    assert!(series.contains(&"tenant_requests_total{tenant=\"t0\"} 4"));
    assert!(series.contains(&"tenant_requests_total{tenant=\"t999\"} 2"));
    assert!(!text.contains("tenant=\"t1000\""));
    assert!(
        series.contains(&"tenant_requests_total{otel_metric_overflow=\"true\"} 4"),
        "{series:?}"
    );
    let total: u64 = series
        .iter()
        .map(|l| l.rsplit(' ').next().unwrap().parse::<u64>().unwrap())
        .sum();
    assert_eq!(total, 1003 * 2, "every increment is in some series");
    // Both lookups of the 1,001st label set were counted.
    assert!(
        text.lines().any(|l| l
            == "metrics_registry_series_overflow_total{metric=\"tenant_requests_total\",reason=\"family_full\"} 2"),
        "{}",
        text.lines().filter(|l| l.contains("overflow_total")).collect::<Vec<_>>().join("\n")
    );
    promtool_check(&text);
}

mod misbehaving_library {
    pub fn record() {
        metrics::describe_gauge!("jobs", "Jobs running");
        metrics::describe_counter!("events", "Events seen");
        metrics::counter!("bad-name").increment(1);
        metrics::counter!("bad-name").increment(1);
        metrics::gauge!("jobs").set(1.0);
        // `jobs` is a gauge: a counter of that name collides with it... as `jobs_total`,
        // which is a different name. A histogram `jobs` is a real collision.
        metrics::histogram!("jobs").record(1.0);
        metrics::counter!("events", "kind" => "a").increment(5);
        metrics::counter!("events", "other" => "b").increment(3);
        metrics::counter!("events", "kind" => "a", "extra" => "x").increment(1);
    }
}

#[test]
fn refusals_are_no_ops_or_overflow_and_are_counted() {
    static REGISTRY: Registry<32> =
        Registry::with_config(RegistryConfig::DEFAULT.with_self_metrics(false));
    let recorder = MetricsRecorder::builder(&REGISTRY).build().unwrap();
    metrics::with_local_recorder(&recorder, misbehaving_library::record);
    let text = render(&REGISTRY, false);
    assert!(!text.contains("# TYPE bad"), "{text}");
    assert!(text.lines().any(|l| l == "jobs 1.0"), "{text}");
    assert!(!text.contains("# TYPE jobs histogram"), "{text}");
    assert!(
        text.lines().any(|l| l == "events_total{kind=\"a\"} 5"),
        "{text}"
    );
    // Other label names: dropped (and counted below); nothing else in the family.
    assert_eq!(
        text.lines()
            .filter(|l| l.starts_with("events_total"))
            .count(),
        1,
        "{text}"
    );
    for line in [
        "metrics_facade_refused_total{metric=\"bad-name\",reason=\"invalid_name\"} 2",
        "metrics_facade_refused_total{metric=\"jobs\",reason=\"type\"} 1",
        "metrics_facade_refused_total{metric=\"events\",reason=\"label_names\"} 2",
    ] {
        assert!(
            text.lines().any(|l| l == line),
            "missing `{line}` in:\n{text}"
        );
    }
    promtool_check(&text);
}

#[test]
fn invalid_bounds_are_refused_at_build() {
    static REGISTRY: Registry<4> = Registry::new();
    let err = MetricsRecorder::builder(&REGISTRY)
        .buckets_for(Matcher::Full("x".into()), &[2.0, 1.0])
        .build()
        .unwrap_err();
    assert!(err.to_string().contains("strictly increasing"), "{err}");
    let err = MetricsRecorder::builder(&REGISTRY)
        .summary(
            Matcher::Full("x".into()),
            SummaryOptions {
                quantiles: vec![0.9, 0.5],
                lowest: 1e-3,
            },
        )
        .build()
        .unwrap_err();
    assert!(err.to_string().contains("summary configuration"), "{err}");
    assert!(REGISTRY.is_empty(), "nothing registered by a failed build");
}

#[test]
fn per_name_capacity_bounds_a_family() {
    static REGISTRY: Registry<8> =
        Registry::with_config(RegistryConfig::DEFAULT.with_self_metrics(false));
    let recorder = MetricsRecorder::builder(&REGISTRY)
        .max_series_for(Matcher::Prefix("small_".into()), 16)
        .build()
        .unwrap();
    metrics::with_local_recorder(&recorder, || {
        for i in 0..30 {
            metrics::counter!("small_things", "i" => i.to_string()).increment(1);
        }
    });
    let text = render_small(&REGISTRY);
    let series = text
        .lines()
        .filter(|l| l.starts_with("small_things_total{"))
        .count();
    // 16 rounds up to the 32-slot table, which admits 24 series.
    assert_eq!(series, 25, "24 series and the overflow series:\n{text}");
    assert!(
        text.contains("small_things_total{otel_metric_overflow=\"true\"} 6"),
        "{text}"
    );
}

fn render_small(registry: &'static Registry<8>) -> String {
    let mut out = Vec::new();
    encode::prometheus(registry, &mut VecSink::new(&mut out)).unwrap();
    String::from_utf8(out).unwrap()
}

/// A service's `main`: one line installs the recorder globally, over corral-std's default
/// registry. (The only test here that touches the global recorder; the others use local
/// recorders, which take precedence.)
#[test]
fn installs_globally_in_one_line() {
    corral_exporters::facade::install_default().unwrap();

    std::thread::spawn(|| {
        metrics::describe_counter!("global_jobs", "Jobs finished");
        metrics::counter!("global_jobs", "queue" => "emails").increment(3);
    })
    .join()
    .unwrap();
    let mut out = Vec::new();
    encode::prometheus(corral_std::default_registry(), &mut VecSink::new(&mut out)).unwrap();
    let text = String::from_utf8(out).unwrap();
    assert!(
        text.contains("# HELP global_jobs_total Jobs finished\n"),
        "{text}"
    );
    assert!(
        text.contains("global_jobs_total{queue=\"emails\"} 3\n"),
        "{text}"
    );
    // A second recorder cannot be installed; the error says why.
    let err = corral_exporters::facade::install_default().unwrap_err();
    assert!(
        err.to_string().contains("one recorder per registry"),
        "{err}"
    );
}

#[test]
fn threads_racing_first_sight_count_every_increment_once() {
    static REGISTRY: Registry<8> = Registry::new();
    let recorder = MetricsRecorder::builder(&REGISTRY).build().unwrap();
    let recorder = &recorder;
    std::thread::scope(|scope| {
        for _ in 0..4 {
            scope.spawn(move || {
                metrics::with_local_recorder(recorder, || {
                    for round in 0..3 {
                        for i in 0..200 {
                            metrics::counter!("raced", "k" => format!("v{i}")).increment(1);
                            metrics::gauge!("raced_gauge").increment(1.0);
                            if round == 0 && i == 0 {
                                metrics::histogram!("raced_seconds").record(0.1);
                            }
                        }
                    }
                });
            });
        }
    });
    let text = render_small(&REGISTRY);
    let series: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("raced_total{"))
        .collect();
    assert_eq!(series.len(), 200, "{text}");
    // A first sight racing another thread's insert of the same key may give up waiting for
    // it (core's bounded wait, reachable with more threads than cores) and count into the
    // overflow series instead: every increment is in one or the other.
    let count = |line: &str| -> u64 { line.rsplit(' ').next().unwrap().parse().unwrap() };
    let in_series: u64 = series.iter().map(|l| count(l)).sum();
    assert!(
        series.iter().all(|l| count(l) <= 12),
        "4 threads × 3 rounds each:\n{text}"
    );
    let overflow = text
        .lines()
        .find(|l| l.starts_with("raced_total{otel_metric_overflow=\"true\"}"))
        .map_or(0, count);
    assert_eq!(in_series + overflow, 4 * 3 * 200, "{text}");
    // Contention is the only reason, and it counts exactly those recordings.
    let reasons: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("metrics_registry_series_overflow_total{"))
        .collect();
    let contended = (overflow > 0).then(|| {
        format!(
            "metrics_registry_series_overflow_total{{metric=\"raced_total\",reason=\"contended\"}} {overflow}"
        )
    });
    assert_eq!(reasons, contended.as_slice(), "{text}");
    assert!(text.lines().any(|l| l == "raced_gauge 2400.0"), "{text}");
    assert!(text.lines().any(|l| l == "raced_seconds_count 4"), "{text}");
    assert_eq!(
        recorder.cached_keys(),
        202,
        "one cache entry per distinct key"
    );
}
