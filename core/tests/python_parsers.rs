//! Round trip through Python's `prometheus_client` parsers: the text 0.0.4 parser
//! (`prometheus_client.parser.text_string_to_metric_families`) and the OpenMetrics parser
//! (`prometheus_client.openmetrics.parser.text_string_to_metric_families`).
//!
//! Label values, help texts and exemplar labels are generated from fragments that need
//! escaping (quotes, backslashes, newlines, a literal backslash-n), unicode, separators and
//! the empty string. The test writes down, independently of the encoders, every sample it
//! recorded; a Python script parses the rendered text and compares what it recovered with
//! that list exactly. Without Python or `prometheus_client` the test fails and says how to
//! install them.
#![allow(clippy::std_instead_of_core, reason = "a std test binary")]
use std::fmt::Write as _;
use std::io::Write as _;
use std::process::{Command, Stdio};

use corral_core::encode::{Renderer, SliceSink};
use corral_core::{
    Counter, CounterWithExemplar, Desc, DynamicFamily, Exemplar, HistogramCells, Registry,
    RegistryConfig,
};

const FRAGMENTS: &[&str] = &[
    "\"", "\\", "\n", "\\n", "\\\"", "é", "日本", "🦀", "{", "}", ",", "=", " ", "#", "a", "Z",
    "\t", "'", "$", "0",
];

/// Exemplar label values leave out double quotes: prometheus_client 0.26's OpenMetrics
/// parser flips its in-quotes state on every `"` after a sample's value, escaped or not
/// (`_parse_remaining_text`), so it misreads exemplar labels holding `\"` although they are
/// valid per the OpenMetrics ABNF. Sample label values use every fragment.
const EXEMPLAR_FRAGMENTS: &[&str] = &[
    "\\", "\n", "\\n", "é", "日本", "🦀", "{", "}", ",", "=", " ", "#", "a", "Z", "\t", "'", "$",
    "0",
];

/// A small deterministic generator (xorshift), so failures reproduce.
struct Gen(u64);

impl Gen {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn value(&mut self, max_fragments: u64) -> String {
        self.value_from(FRAGMENTS, max_fragments)
    }

    fn value_from(&mut self, pool: &[&str], max_fragments: u64) -> String {
        let n = self.next() % (max_fragments + 1);
        (0..n)
            .map(|_| pool[(self.next() % pool.len() as u64) as usize])
            .collect()
    }
}

fn json_str(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => write!(out, "\\u{:04x}", c as u32).unwrap(),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

type Labels = Vec<(String, String)>;

/// One expected sample: name, labels, value, optional exemplar (labels, value, nanos).
struct Sample {
    name: String,
    labels: Labels,
    value: f64,
    exemplar: Option<(Labels, f64, u64)>,
}

fn labels_json(labels: &[(String, String)]) -> String {
    let items: Vec<String> = labels
        .iter()
        .map(|(k, v)| format!("{}:{}", json_str(k), json_str(v)))
        .collect();
    format!("{{{}}}", items.join(","))
}

fn expected_json(families: &[(String, String, String)], samples: &[Sample]) -> String {
    let families: Vec<String> = families
        .iter()
        .map(|(name, kind, help)| {
            format!("[{},{},{}]", json_str(name), json_str(kind), json_str(help))
        })
        .collect();
    let samples: Vec<String> = samples
        .iter()
        .map(|s| {
            let exemplar = match &s.exemplar {
                Some((labels, value, ts)) => format!("[{},{value:?},{ts}]", labels_json(labels)),
                None => "null".to_owned(),
            };
            format!(
                "[{},{},{:?},{exemplar}]",
                json_str(&s.name),
                labels_json(&s.labels),
                s.value
            )
        })
        .collect();
    format!(
        "{{\"families\":[{}],\"samples\":[{}]}}",
        families.join(","),
        samples.join(",")
    )
}

const SCRIPT: &str = r#"
import json, sys
expected = json.loads(open(sys.argv[2], encoding="utf-8").read())
text = sys.stdin.buffer.read().decode("utf-8")
if sys.argv[1] == "openmetrics":
    from prometheus_client.openmetrics.parser import text_string_to_metric_families
else:
    from prometheus_client.parser import text_string_to_metric_families
families = {}
samples = {}
for family in text_string_to_metric_families(text):
    families[family.name] = (family.type, family.documentation)
    for s in family.samples:
        key = (s.name, tuple(sorted(s.labels.items())))
        if key in samples:
            print("duplicate sample", key); sys.exit(1)
        exemplar = None
        if getattr(s, "exemplar", None) is not None:
            e = s.exemplar
            ts = None if e.timestamp is None else e.timestamp.sec * 10**9 + e.timestamp.nsec
            exemplar = (tuple(sorted(e.labels.items())), e.value, ts)
        samples[key] = (s.value, exemplar)
want_families = {name: (kind, help) for name, kind, help in expected["families"]}
want = {}
for name, labels, value, exemplar in expected["samples"]:
    if exemplar is not None:
        exemplar = (tuple(sorted(exemplar[0].items())), exemplar[1], exemplar[2])
    want[(name, tuple(sorted(labels.items())))] = (value, exemplar)
errors = []
for name, meta in want_families.items():
    if families.get(name) != tuple(meta):
        errors.append("family %r: parsed %r, expected %r" % (name, families.get(name), tuple(meta)))
for key in sorted(set(want) | set(samples), key=repr):
    if want.get(key) != samples.get(key):
        errors.append("sample %r: parsed %r, expected %r" % (key, samples.get(key), want.get(key)))
if errors:
    print("\n".join(errors[:40])); print("%d mismatches" % len(errors)); sys.exit(1)
print("OK %d samples %d families" % (len(samples), len(families)))
"#;

fn python() -> Command {
    let ok = Command::new("python3")
        .args([
            "-c",
            "import prometheus_client.parser, prometheus_client.openmetrics.parser",
        ])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    assert!(
        ok,
        "python3 with prometheus_client is required: install it with `pip install prometheus_client` \
         (or run ./test.sh, which installs it)"
    );
    Command::new("python3")
}

fn run_parser(format: &str, text: &str, expected: &str) -> (bool, String) {
    static RUNS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let run = RUNS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("corral-python-{}-{run}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let script = dir.join("check.py");
    let want = dir.join("expected.json");
    std::fs::write(&script, SCRIPT).unwrap();
    std::fs::write(&want, expected).unwrap();
    let mut child = python()
        .arg(&script)
        .arg(format)
        .arg(&want)
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
    let _ = std::fs::remove_dir_all(&dir);
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

struct Recorded {
    registry: &'static Registry<4>,
    families: Vec<(String, String, String)>,
    prometheus: Vec<Sample>,
    openmetrics: Vec<Sample>,
}

const BOUNDS: &[f64] = &[0.5, 1.0, 2.5];

fn record(seed: u64) -> Recorded {
    let mut g = Gen(seed);
    let registry: &'static Registry<4> = Box::leak(Box::new(Registry::with_config(
        RegistryConfig::DEFAULT.with_self_metrics(false),
    )));
    let requests: &'static DynamicFamily<Counter, 2, 256> =
        Box::leak(Box::new(DynamicFamily::new(["a", "b"])));
    let traced: &'static DynamicFamily<CounterWithExemplar, 1, 64> =
        Box::leak(Box::new(DynamicFamily::new(["path"])));
    let latency: &'static DynamicFamily<HistogramCells<4>, 1, 16> =
        Box::leak(Box::new(DynamicFamily::histogram(["route"], BOUNDS)));
    // Both parsers (like Go's) skip the blanks between the name and the help text, so a
    // help text cannot start with one.
    let help = g.value(12);
    let help: &'static str = Box::leak(help.trim_start_matches([' ', '\t']).into());
    registry
        .register(Desc::new("requests_total", help), requests)
        .unwrap();
    registry
        .register(
            Desc::new("traced_total", "Traced \\ \"requests\"\nby path"),
            traced,
        )
        .unwrap();
    registry
        .register(
            Desc::new("latency_seconds", "Latency").with_unit("seconds"),
            latency,
        )
        .unwrap();
    let families = vec![
        ("requests".to_owned(), "counter".to_owned(), help.to_owned()),
        (
            "traced".to_owned(),
            "counter".to_owned(),
            "Traced \\ \"requests\"\nby path".to_owned(),
        ),
        (
            "latency_seconds".to_owned(),
            "histogram".to_owned(),
            "Latency".to_owned(),
        ),
    ];

    let mut prometheus = Vec::new();
    let mut openmetrics = Vec::new();
    let mut seen = std::collections::HashSet::new();
    let mut total = 0u64;
    while seen.len() < 150 {
        let (a, b) = (g.value(6), g.value(6));
        if !seen.insert((a.clone(), b.clone())) {
            continue;
        }
        total += 1;
        requests.try_with_labels([&a, &b]).unwrap().inc_by(total);
        for out in [&mut prometheus, &mut openmetrics] {
            out.push(Sample {
                name: "requests_total".into(),
                labels: vec![("a".into(), a.clone()), ("b".into(), b.clone())],
                value: total as f64,
                exemplar: None,
            });
        }
    }
    let mut paths = std::collections::HashSet::new();
    while paths.len() < 40 {
        let path = g.value(5);
        if !paths.insert(path.clone()) {
            continue;
        }
        let (trace, span) = (
            g.value_from(EXEMPLAR_FRAGMENTS, 8),
            g.value_from(EXEMPLAR_FRAGMENTS, 3),
        );
        let delta = g.next() % 1000;
        let nanos = g.next() % 4_000_000_000_000_000_000;
        let labels = [("trace_id", trace.as_str()), ("span_id", span.as_str())];
        let series = traced.try_with_labels([&path]).unwrap();
        series.inc_by(7);
        series
            .inc_by_with_exemplar(
                delta,
                &Exemplar::new(&labels).with_timestamp_unix_nanos(nanos),
            )
            .unwrap();
        let base = Sample {
            name: "traced_total".into(),
            labels: vec![("path".into(), path.clone())],
            value: (7 + delta) as f64,
            exemplar: None,
        };
        prometheus.push(Sample {
            exemplar: None,
            ..clone_sample(&base)
        });
        openmetrics.push(Sample {
            exemplar: Some((
                vec![
                    ("trace_id".into(), trace.clone()),
                    ("span_id".into(), span.clone()),
                ],
                delta as f64,
                nanos,
            )),
            ..base
        });
    }
    let mut routes = std::collections::HashSet::new();
    while routes.len() < 10 {
        let route = g.value(4);
        if !routes.insert(route.clone()) {
            continue;
        }
        let series = latency.try_with_labels([&route]).unwrap();
        let observations = [0.25, 0.75, 0.75, 2.0, 9.5];
        for v in observations {
            series.observe(v);
        }
        let cumulative = [1.0, 3.0, 4.0, 5.0];
        for out in [&mut prometheus, &mut openmetrics] {
            for (le, count) in ["0.5", "1.0", "2.5", "+Inf"].iter().zip(cumulative) {
                out.push(Sample {
                    name: "latency_seconds_bucket".into(),
                    labels: vec![("route".into(), route.clone()), ("le".into(), (*le).into())],
                    value: count,
                    exemplar: None,
                });
            }
            out.push(Sample {
                name: "latency_seconds_sum".into(),
                labels: vec![("route".into(), route.clone())],
                value: observations.iter().sum(),
                exemplar: None,
            });
            out.push(Sample {
                name: "latency_seconds_count".into(),
                labels: vec![("route".into(), route.clone())],
                value: 5.0,
                exemplar: None,
            });
        }
    }
    Recorded {
        registry,
        families,
        prometheus,
        openmetrics,
    }
}

fn clone_sample(s: &Sample) -> Sample {
    Sample {
        name: s.name.clone(),
        labels: s.labels.clone(),
        value: s.value,
        exemplar: s.exemplar.clone(),
    }
}

fn render(registry: &Registry<4>, mut renderer: Renderer) -> String {
    let mut buf = vec![0u8; 1 << 20];
    let mut sink = SliceSink::new(&mut buf);
    renderer.render(registry, &mut sink).unwrap();
    sink.as_str().to_owned()
}

#[test]
#[cfg_attr(
    miri,
    ignore = "runs Python's prometheus_client in a child process, which miri cannot; tests/golden.rs renders the same encoders in-process under miri"
)]
fn text_format_parser_recovers_every_recorded_value() {
    for seed in [0x9e37_79b9_7f4a_7c15, 42] {
        let r = record(seed);
        let text = render(r.registry, Renderer::prometheus());
        assert!(text.contains("\\\\n") && text.contains("\\\"") && text.contains("\\n"));
        let (ok, report) = run_parser("text", &text, &expected_json(&r.families, &r.prometheus));
        assert!(ok, "prometheus_client text parser disagrees:\n{report}");
        assert!(report.starts_with("OK 250 samples 3 families"), "{report}");
    }
}

#[test]
#[cfg_attr(
    miri,
    ignore = "runs Python's prometheus_client in a child process, which miri cannot; tests/golden.rs renders the same encoders in-process under miri"
)]
fn openmetrics_parser_recovers_every_recorded_value_and_exemplar() {
    for seed in [0x9e37_79b9_7f4a_7c15, 42] {
        let r = record(seed);
        let text = render(r.registry, Renderer::openmetrics());
        assert!(text.ends_with("# EOF\n"));
        let (ok, report) = run_parser(
            "openmetrics",
            &text,
            &expected_json(&r.families, &r.openmetrics),
        );
        assert!(
            ok,
            "prometheus_client OpenMetrics parser disagrees:\n{report}"
        );
        assert!(report.starts_with("OK 250 samples 3 families"), "{report}");
    }
}

#[test]
#[cfg_attr(
    miri,
    ignore = "runs Python's prometheus_client in a child process, which miri cannot; tests/golden.rs renders the same encoders in-process under miri"
)]
fn the_comparison_can_fail() {
    // A value the parser recovers differently from what the expectation says is reported.
    let r = record(7);
    let text = render(r.registry, Renderer::prometheus());
    let mut wrong: Vec<Sample> = r.prometheus.iter().map(clone_sample).collect();
    wrong[0].value += 1.0;
    let (ok, report) = run_parser("text", &text, &expected_json(&r.families, &wrong));
    assert!(!ok && report.contains("1 mismatches"), "{report}");
}
