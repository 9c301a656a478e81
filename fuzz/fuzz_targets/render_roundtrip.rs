//! The text encoders against an independent parser: an arbitrary registry (counters, float
//! counters, gauges with any `f64` bits, integer gauges, histograms with any bounds,
//! summaries, dynamic families with any label values, any help text) is rendered in both
//! formats, one-shot and in chunks of an arbitrary size, and read back with the
//! `openmetrics-parser` crate.
//!
//! Oracles:
//! - the chunks concatenate to exactly the one-shot output (or the chunk size is smaller
//!   than the output and the renderer says a piece does not fit, never loops);
//! - both outputs parse, and every sample the registry's visit produced is read back:
//!   family names, help text and label values byte for byte, values bit for bit where the
//!   format keeps them (every float but NaN's payload; integers exactly), histogram
//!   buckets, sums and counts, summary quantiles; the parser finds no other series.
//!
//! Where the parser is wrong or narrower than the formats (listed in `fuzz/README.md`),
//! the input avoids the edge instead of weakening the check: a raw carriage return in a
//! label value or help text (both formats allow it; the parser's grammar ends a line
//! there), a family without samples followed by another family (the parser's grammar
//! then reads the next family's metadata as the first one's; every dynamic family here
//! gets a series, and the chunk check still covers empty families), a negative summary
//! quantile in the Prometheus format (which allows it; the parser applies OpenMetrics'
//! rule to both formats: summaries here observe non-negative values), a histogram with a
//! negative bound or a negative or NaN sum, and a `_sum`, in the Prometheus format (the
//! same: those `_sum` and
//! `_count` lines are read strictly here instead), a family whose series have different
//! label names (a dynamic family's overflow series: read strictly here instead), an exposition of zero families (checked to be exactly empty, or `# EOF`, instead), and
//! counters above `i64::MAX` (the parser keeps integers as `i64`, so such
//! totals are compared with this target's own strict reading of the sample line).

#![no_main]

use std::any::Any;
use std::collections::HashMap;
use std::ops::ControlFlow;

use arbitrary::Arbitrary;
use corral_core::encode::{EncodeError, Format, Progress, Renderer, SliceSink};
use corral_core::visit::{FamilyInfo, SeriesLabels, Value, Visitor};
use corral_core::{
    Collect, Counter, Desc, DynamicFamily, FloatCounter, Gauge, Histogram, IntGauge, MetricKind,
    Registry, RegistryConfig, Summary, SummaryConfig,
};
use corral_std::encode::VecSink;
use libfuzzer_sys::fuzz_target;
use openmetrics_parser::{MetricNumber, OpenMetricsValue, PrometheusValue};

/// Owns everything a registry of one fuzz input refers to, and hands out `'static`
/// references to it. Nothing is freed before the whole arena (registry included) is
/// dropped at the end of the input.
#[derive(Default)]
struct Arena {
    items: Vec<Box<dyn Any>>,
}

impl Arena {
    fn keep<T: 'static>(&mut self, value: T) -> &'static T {
        let boxed = Box::new(value);
        let pointer: *const T = &*boxed;
        self.items.push(boxed);
        // SAFETY: the box's heap allocation does not move when the box is moved into
        // `items`, and it lives until the arena is dropped. Every `'static` reference handed
        // out is used only while the arena lives: by this input's registry (itself in the
        // arena, dropped with it; no core type's drop reads another) and by the checks
        // that run before the arena goes out of scope.
        unsafe { &*pointer }
    }

    fn text(&mut self, text: String) -> &'static str {
        self.keep(text).as_str()
    }
}

#[derive(Arbitrary, Debug)]
enum Name {
    Pool(u8),
    Chars(Vec<u8>),
}

impl Name {
    fn text(&self) -> String {
        const POOL: [&str; 6] = ["a", "requests", "http:server", "_x", "b9", "lat"];
        match self {
            Name::Pool(i) => POOL[usize::from(*i) % POOL.len()].to_owned(),
            Name::Chars(bytes) => {
                const FIRST: &[u8] = b"abcxyz_:";
                const REST: &[u8] = b"abcxyz_:019";
                let mut out = String::new();
                for (i, b) in bytes.iter().take(12).enumerate() {
                    let set = if i == 0 { FIRST } else { REST };
                    out.push(char::from(set[usize::from(*b) % set.len()]));
                }
                if out.is_empty() { "m".to_owned() } else { out }
            }
        }
    }
}

#[derive(Arbitrary, Debug)]
enum Text {
    Pool(u8),
    Any(String),
}

impl Text {
    fn text(&self) -> String {
        const POOL: [&str; 9] = [
            "",
            "x",
            "a\"b",
            "back\\slash",
            "new\nline",
            "\\n",
            "é ünïcödé",
            "{}=,",
            "# HELP",
        ];
        let text = match self {
            Text::Pool(i) => POOL[usize::from(*i) % POOL.len()].to_owned(),
            Text::Any(s) => s.chars().take(40).collect(),
        };
        // The parser ends a line at a raw carriage return (see the module docs).
        text.replace('\r', "")
    }
}

#[derive(Arbitrary, Debug)]
enum Metric {
    Counter(u64),
    FloatCounter(Vec<u64>),
    Gauge(u64),
    IntGauge(i64),
    Histogram {
        bounds: Vec<u64>,
        observations: Vec<u64>,
    },
    Summary(Vec<u64>),
    DynamicCounter(Vec<(Text, Text, u32)>),
    DynamicGauge(Vec<(Text, u64)>),
}

#[derive(Arbitrary, Debug)]
struct Family {
    name: Name,
    help: Text,
    metric: Metric,
}

#[derive(Arbitrary, Debug)]
struct Input {
    families: Vec<Family>,
    chunk: u16,
}

/// An awkward float for a few selector values, else the bits as they are.
fn float(bits: u64) -> f64 {
    const EDGES: [f64; 10] = [
        0.0,
        -0.0,
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::NAN,
        5e-324,
        f64::MAX,
        1e-5,
        1e21,
        0.1,
    ];
    if bits >> 56 == 0xa5 {
        EDGES[(bits & 0xff) as usize % EDGES.len()]
    } else {
        f64::from_bits(bits)
    }
}

fn build(input: &Input, arena: &mut Arena) -> &'static Registry<16> {
    let registry: &'static Registry<16> = arena.keep(Registry::with_config(
        RegistryConfig::DEFAULT.with_self_metrics(false),
    ));
    for family in input.families.iter().take(12) {
        let base = family.name.text();
        let help = arena.text(family.help.text());
        let metric: &'static dyn Collect;
        let mut name = base.clone();
        match &family.metric {
            Metric::Counter(v) => {
                name.push_str("_total");
                let c = arena.keep(Counter::new());
                c.inc_by(*v);
                metric = c;
            }
            Metric::FloatCounter(incs) => {
                name.push_str("_total");
                let c = arena.keep(FloatCounter::new());
                incs.iter().take(4).for_each(|&b| c.inc_by(float(b)));
                metric = c;
            }
            Metric::Gauge(bits) => {
                let g = arena.keep(Gauge::new());
                g.set(float(*bits));
                metric = g;
            }
            Metric::IntGauge(v) => {
                let g = arena.keep(IntGauge::new());
                g.set(*v);
                metric = g;
            }
            Metric::Histogram {
                bounds,
                observations,
            } => {
                let bounds: Vec<f64> = bounds.iter().take(5).map(|&b| float(b)).collect();
                let bounds: &'static [f64] = arena.keep(bounds).as_slice();
                // Refused bounds are left out, as refused registrations are.
                let Ok(h) = Histogram::<6>::try_new(bounds) else {
                    continue;
                };
                let h = arena.keep(h);
                observations
                    .iter()
                    .take(8)
                    .for_each(|&b| h.observe(float(b)));
                metric = h;
            }
            Metric::Summary(observations) => {
                const CONFIG: SummaryConfig =
                    SummaryConfig::new(1e-3).with_quantiles(&[0.0, 0.5, 0.99, 1.0]);
                let s = arena.keep(Summary::<64>::new(CONFIG));
                // Non-negative: see the module docs.
                observations
                    .iter()
                    .take(8)
                    .for_each(|&b| s.observe(float(b).abs()));
                metric = s;
            }
            Metric::DynamicCounter(series) => {
                name.push_str("_total");
                let f = arena.keep(DynamicFamily::<Counter, 2, 4>::new(["path", "code"]));
                // Never a family without samples: see the module docs.
                f.with_labels(["/", "200"]).inc();
                for (a, b, by) in series.iter().take(6) {
                    f.with_labels([&a.text(), &b.text()]).inc_by(u64::from(*by));
                }
                metric = f;
            }
            Metric::DynamicGauge(series) => {
                let f = arena.keep(DynamicFamily::<Gauge, 1, 8>::new(["v"]));
                f.with_labels(["first"]).set(1.0);
                for (a, bits) in series.iter().take(6) {
                    f.with_labels([&a.text()]).set(float(*bits));
                }
                metric = f;
            }
        }
        let name = arena.text(name);
        // Refused registrations (a clashing name, invalid bounds) are simply left out.
        let _ = registry.register(Desc::new(name, help), metric);
    }
    registry
}

/// One visited series, owned.
#[derive(Debug, Clone)]
enum Point {
    Counter(u64),
    Float(f64),
    Int(i64),
    Histogram {
        buckets: Vec<(f64, u64)>,
        sum: f64,
        count: u64,
    },
    Summary {
        quantiles: Vec<(f64, f64)>,
        sum: f64,
        count: u64,
    },
}

#[derive(Debug)]
struct Seen {
    name: String,
    help: String,
    kind: MetricKind,
    series: Vec<(Vec<(String, String)>, Point)>,
}

#[derive(Default)]
struct Collector {
    families: Vec<Seen>,
}

impl Visitor for Collector {
    fn family(&mut self, family: &FamilyInfo<'_>) -> ControlFlow<()> {
        self.families.push(Seen {
            name: family.name.to_owned(),
            help: family.help.to_owned(),
            kind: family.kind,
            series: Vec::new(),
        });
        ControlFlow::Continue(())
    }

    fn series(
        &mut self,
        _family: &FamilyInfo<'_>,
        labels: &SeriesLabels<'_>,
        value: &Value<'_>,
    ) -> ControlFlow<()> {
        let labels = labels
            .iter()
            .map(|(n, v)| (n.to_owned(), v.to_owned()))
            .collect();
        let point = match value {
            Value::Counter(v) | Value::CounterWithExemplar(v, _) => Point::Counter(*v),
            Value::FloatCounter(v) | Value::Gauge(v) => Point::Float(*v),
            Value::IntGauge(v) => Point::Int(*v),
            Value::Histogram(h) => Point::Histogram {
                buckets: h.cumulative().collect(),
                sum: h.sum(),
                count: h.count(),
            },
            Value::Summary(s) => Point::Summary {
                quantiles: s.quantiles().to_vec(),
                sum: s.sum(),
                count: s.count(),
            },
            other => panic!("a value this target does not build: {other:?}"),
        };
        self.families
            .last_mut()
            .unwrap()
            .series
            .push((labels, point));
        ControlFlow::Continue(())
    }
}

fn same_float(a: f64, b: f64) -> bool {
    a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan())
}

fn number_is_float(n: &MetricNumber, want: f64) -> bool {
    match n {
        MetricNumber::Float(f) => same_float(*f, want),
        MetricNumber::Int(i) => (*i as f64).to_bits() == want.to_bits(),
    }
}

fn number_is_u64(n: &MetricNumber, want: u64) -> bool {
    match n {
        MetricNumber::Int(i) => u64::try_from(*i) == Ok(want),
        // Past i64::MAX the parser falls back to f64; the exact text is checked separately.
        MetricNumber::Float(f) => want > i64::MAX as u64 && *f == want as f64,
    }
}

/// Counters above `i64::MAX`: this target's own reading of the sample line (the series
/// name, a space, the decimal total) must find the exact total in `text`.
fn strict_counter_line(text: &str, sample: &str, labels: &[(String, String)], want: u64) {
    if want <= i64::MAX as u64 {
        return;
    }
    let suffix = format!(" {want}\n");
    let found = text.lines().any(|line| {
        let line = format!("{line}\n");
        line.starts_with(sample)
            && line.ends_with(&suffix)
            && (labels.is_empty() || line.contains('{'))
    });
    assert!(found, "no line `{sample}... {want}` in\n{text}");
}

fn labels_of<V>(sample: &openmetrics_parser::Sample<V>) -> Vec<(String, String)>
where
    V: openmetrics_parser::RenderableMetricValue + Clone,
{
    let mut labels: Vec<(String, String)> = sample
        .get_labelset()
        .expect("a label set")
        .iter()
        .map(|(n, v)| (n.clone(), v.clone()))
        .collect();
    labels.sort();
    labels
}

fn sorted(labels: &[(String, String)]) -> Vec<(String, String)> {
    let mut labels = labels.to_vec();
    labels.sort();
    labels
}

fn check_prometheus(text: &str, seen: &[Seen]) {
    if seen.is_empty() {
        // An empty registry renders nothing; the parser refuses an empty text (an edge of
        // the parser: the format allows zero families).
        assert_eq!(text, "");
        return;
    }
    let full = text;
    let (text, seen) = strip_overflow(text, seen);
    let seen = &seen[..];
    let text = &strip_negative_histogram_sums(&text, seen);
    let parsed = openmetrics_parser::prometheus::parse_prometheus(text)
        .unwrap_or_else(|e| panic!("Prometheus text does not parse: {e:?}\n{text}"));
    let text = full;
    let expected_families = seen.len();
    assert_eq!(
        parsed.families.len(),
        expected_families,
        "families in\n{text}"
    );
    for family in seen {
        let got = parsed
            .families
            .get(&family.name)
            .unwrap_or_else(|| panic!("no family {}\n{text}", family.name));
        assert_eq!(got.help, family.help, "help of {}", family.name);
        let samples: Vec<_> = got.iter_samples().collect();
        assert_eq!(
            samples.len(),
            family.series.len(),
            "series of {}\n{text}",
            family.name
        );
        let mut by_labels: HashMap<Vec<(String, String)>, &PrometheusValue> = HashMap::new();
        for s in &samples {
            assert!(
                by_labels.insert(labels_of(s), &s.value).is_none(),
                "a series twice"
            );
        }
        for (labels, point) in &family.series {
            let value = by_labels
                .get(&sorted(labels))
                .unwrap_or_else(|| panic!("{}{labels:?} not read back\n{text}", family.name));
            match (point, value) {
                (Point::Counter(v), PrometheusValue::Counter(c)) => {
                    assert!(
                        number_is_u64(&c.value, *v),
                        "{}: {v} read as {:?}",
                        family.name,
                        c.value
                    );
                    strict_counter_line(text, &family.name, labels, *v);
                }
                (Point::Float(v), PrometheusValue::Counter(c)) => {
                    assert!(
                        number_is_float(&c.value, *v),
                        "{}: {v:?} read as {:?}",
                        family.name,
                        c.value
                    );
                }
                (Point::Float(v), PrometheusValue::Gauge(n)) => {
                    assert!(
                        number_is_float(n, *v),
                        "{}: {v:?} read as {n:?}",
                        family.name
                    );
                }
                (Point::Int(v), PrometheusValue::Gauge(n)) => {
                    assert_eq!(n.as_i64(), Some(*v), "{}", family.name);
                }
                (
                    Point::Histogram {
                        buckets,
                        sum,
                        count,
                    },
                    PrometheusValue::Histogram(h),
                ) => {
                    check_buckets(&family.name, buckets, &h.buckets);
                    if let Some(s) = h.sum.as_ref() {
                        assert!(
                            number_is_float(s, *sum),
                            "{} sum {sum:?} read as {s:?}",
                            family.name
                        );
                    } else {
                        assert!(om_forbids_sum(buckets, *sum), "{}: no _sum", family.name);
                    }
                    if h.sum.is_some() {
                        assert_eq!(h.count, Some(*count), "{} count", family.name);
                    }
                }
                (
                    Point::Summary {
                        quantiles,
                        sum,
                        count,
                    },
                    PrometheusValue::Summary(s),
                ) => {
                    check_quantiles(&family.name, quantiles, &s.quantiles, true);
                    let got = s.sum.as_ref().expect("_sum");
                    assert!(number_is_float(got, *sum), "{} sum", family.name);
                    assert_eq!(s.count, Some(*count), "{} count", family.name);
                }
                (point, value) => panic!("{}: {point:?} read as {value:?}", family.name),
            }
        }
    }
}

/// The parser refuses a family whose series have different label names, which both
/// formats allow and which a dynamic family's overflow series (`otel_metric_overflow`
/// only) is. Each overflow sample is read here, strictly (the exact line, the value bit for
/// bit), and taken out of the text and of the expected series.
fn strip_overflow(text: &str, seen: &[Seen]) -> (String, Vec<Seen>) {
    let mut text = text.to_owned();
    let mut kept = Vec::new();
    for family in seen {
        let mut series = Vec::new();
        for (labels, point) in &family.series {
            if labels != &[("otel_metric_overflow".to_owned(), "true".to_owned())] {
                series.push((labels.clone(), point.clone()));
                continue;
            }
            let prefix = format!("{}{{otel_metric_overflow=\"true\"}} ", family.name);
            let line = text
                .lines()
                .find(|l| l.starts_with(&prefix))
                .unwrap_or_else(|| panic!("no `{prefix}` line in\n{text}"))
                .to_owned();
            let value = &line[prefix.len()..];
            match point {
                Point::Counter(v) => assert_eq!(value, v.to_string(), "{line}"),
                Point::Float(v) => {
                    let got = match value {
                        "+Inf" => f64::INFINITY,
                        "-Inf" => f64::NEG_INFINITY,
                        "NaN" => f64::NAN,
                        v => v.parse::<f64>().unwrap_or_else(|e| panic!("{line}: {e}")),
                    };
                    assert!(same_float(got, *v), "{line}: want {v:?}");
                }
                other => panic!("an overflow series of {other:?}"),
            }
            text = text.replace(&format!("{line}\n"), "");
        }
        kept.push(Seen {
            name: family.name.clone(),
            help: family.help.clone(),
            kind: family.kind,
            series,
        });
    }
    (text, kept)
}

/// Whether OpenMetrics forbids this histogram's `_sum` (a negative bound, or a negative
/// or NaN sum), and with it, for the parser, its `_count`.
fn om_forbids_sum(buckets: &[(f64, u64)], sum: f64) -> bool {
    buckets.iter().any(|(b, _)| *b < 0.0) || !(sum >= 0.0)
}

/// The parser refuses a histogram with a negative bucket bound (or a negative or NaN
/// sum) and a `_sum` in the
/// Prometheus format too (an OpenMetrics rule; the Prometheus format has no such rule and
/// Corral keeps the sample), and then a `_count` without a `_sum`. Those `_sum` and
/// `_count` lines are read here, strictly (the exact line, the value bit for bit), and
/// taken out of what the parser gets.
fn strip_negative_histogram_sums(text: &str, seen: &[Seen]) -> String {
    let mut text = text.to_owned();
    for family in seen {
        for (labels, point) in &family.series {
            let Point::Histogram {
                buckets,
                sum,
                count,
            } = point
            else {
                continue;
            };
            if !om_forbids_sum(buckets, *sum) {
                continue;
            }
            assert!(labels.is_empty(), "histograms here have no labels");
            let prefix = format!("{}_sum ", family.name);
            let line = text
                .lines()
                .find(|l| l.starts_with(&prefix))
                .unwrap_or_else(|| panic!("no `{prefix}` line in\n{text}"))
                .to_owned();
            let value = match &line[prefix.len()..] {
                "+Inf" => f64::INFINITY,
                "-Inf" => f64::NEG_INFINITY,
                "NaN" => f64::NAN,
                v => v.parse::<f64>().unwrap_or_else(|e| panic!("{line}: {e}")),
            };
            assert!(same_float(value, *sum), "{line}: want {sum:?}");
            text = without_line(&text, &line);
            // The parser then also wants no `_count` without a `_sum`.
            let line = format!("{}_count {count}", family.name);
            assert!(text.lines().any(|l| l == line), "no `{line}` in\n{text}");
            text = without_line(&text, &line);
        }
    }
    text
}

/// `text` without its lines equal to `line` (whole lines: a family `a`'s `a_sum 0` is not
/// the end of family `xa`'s `xa_sum 0`).
fn without_line(text: &str, line: &str) -> String {
    text.split_inclusive('\n')
        .filter(|l| l.strip_suffix('\n').unwrap_or(l) != line)
        .collect()
}

fn check_buckets(name: &str, want: &[(f64, u64)], got: &[openmetrics_parser::HistogramBucket]) {
    assert_eq!(got.len(), want.len(), "{name}: buckets {got:?}");
    for ((bound, count), bucket) in want.iter().zip(got) {
        assert!(
            same_float(bucket.upper_bound, *bound),
            "{name}: le {bound:?} read as {}",
            bucket.upper_bound
        );
        assert!(
            number_is_u64(&bucket.count, *count),
            "{name}: bucket {bound} count"
        );
    }
}

/// Every parsed quantile is one visited, value bit for bit; with `all`, none is missing.
fn check_quantiles(
    name: &str,
    want: &[(f64, f64)],
    got: &[openmetrics_parser::Quantile],
    all: bool,
) {
    if all {
        assert_eq!(got.len(), want.len(), "{name}: quantiles {got:?}");
    }
    for q in got {
        let (_, v) = want
            .iter()
            .find(|(wq, _)| same_float(*wq, q.quantile))
            .unwrap_or_else(|| panic!("{name}: quantile {} was not visited", q.quantile));
        assert!(
            number_is_float(&q.value, *v),
            "{name}: quantile {} {v:?} read as {:?}",
            q.quantile,
            q.value
        );
    }
}

fn check_openmetrics(text: &str, seen: &[Seen]) {
    if seen.is_empty() {
        // The same parser edge: it wants at least one family before `# EOF`.
        assert_eq!(text, "# EOF\n");
        return;
    }
    let (stripped, seen) = strip_overflow(text, seen);
    let seen = &seen[..];
    let full = text;
    let text = &stripped;
    let parsed = openmetrics_parser::openmetrics::parse_openmetrics(text)
        .unwrap_or_else(|e| panic!("OpenMetrics text does not parse: {e:?}\n{text}"));
    let text = full;
    assert_eq!(parsed.families.len(), seen.len(), "families in\n{text}");
    for family in seen {
        let name = match family.kind {
            MetricKind::Counter => family.name.strip_suffix("_total").unwrap(),
            _ => family.name.as_str(),
        };
        let got = parsed
            .families
            .get(name)
            .unwrap_or_else(|| panic!("no family {name}\n{text}"));
        assert_eq!(got.help, family.help, "help of {name}");
        let samples: Vec<_> = got.iter_samples().collect();
        assert_eq!(
            samples.len(),
            family.series.len(),
            "series of {name}\n{text}"
        );
        let mut by_labels: HashMap<Vec<(String, String)>, &OpenMetricsValue> = HashMap::new();
        for s in &samples {
            assert!(
                by_labels.insert(labels_of(s), &s.value).is_none(),
                "a series twice"
            );
        }
        for (labels, point) in &family.series {
            let value = by_labels
                .get(&sorted(labels))
                .unwrap_or_else(|| panic!("{name}{labels:?} not read back\n{text}"));
            match (point, value) {
                (Point::Counter(v), OpenMetricsValue::Counter(c)) => {
                    assert!(
                        number_is_u64(&c.value, *v),
                        "{name}: {v} read as {:?}",
                        c.value
                    );
                    strict_counter_line(text, &family.name, labels, *v);
                }
                (Point::Float(v), OpenMetricsValue::Counter(c)) => {
                    assert!(
                        number_is_float(&c.value, *v),
                        "{name}: {v:?} read as {:?}",
                        c.value
                    );
                }
                (Point::Float(v), OpenMetricsValue::Gauge(n)) => {
                    assert!(number_is_float(n, *v), "{name}: {v:?} read as {n:?}");
                }
                (Point::Int(v), OpenMetricsValue::Gauge(n)) => {
                    assert_eq!(n.as_i64(), Some(*v), "{name}");
                }
                (
                    Point::Histogram {
                        buckets,
                        sum,
                        count,
                    },
                    OpenMetricsValue::Histogram(h),
                ) => {
                    check_buckets(name, buckets, &h.buckets);
                    // `_sum` and `_count` are left out where OpenMetrics forbids them.
                    if let Some(s) = &h.sum {
                        assert!(number_is_float(s, *sum), "{name} sum {sum:?} read as {s:?}");
                    }
                    if let Some(c) = h.count {
                        assert_eq!(c, *count, "{name} count");
                    }
                }
                (
                    Point::Summary {
                        quantiles,
                        sum,
                        count,
                    },
                    OpenMetricsValue::Summary(s),
                ) => {
                    // Negative quantile values are left out, as OpenMetrics prescribes.
                    let kept = quantiles.iter().filter(|(_, v)| !(*v < 0.0)).count();
                    assert_eq!(s.quantiles.len(), kept, "{name}: quantiles");
                    check_quantiles(name, quantiles, &s.quantiles, false);
                    if let Some(got) = &s.sum {
                        assert!(number_is_float(got, *sum), "{name} sum");
                    }
                    if let Some(c) = s.count {
                        assert_eq!(c, *count, "{name} count");
                    }
                }
                (point, value) => panic!("{name}: {point:?} read as {value:?}"),
            }
        }
    }
}

fn one_shot(registry: &Registry<16>, format: Format) -> String {
    let mut out = Vec::new();
    Renderer::new(format)
        .render(registry, &mut VecSink::new(&mut out))
        .expect("a Vec has room");
    String::from_utf8(out).expect("the encoders write UTF-8")
}

fn chunked(registry: &Registry<16>, format: Format, size: usize, whole: &str) {
    let mut renderer = Renderer::new(format);
    let mut buf = vec![0u8; size];
    let mut out = Vec::new();
    loop {
        let mut sink = SliceSink::new(&mut buf);
        match renderer.render_chunk(registry, &mut sink) {
            Ok(progress) => {
                assert!(sink.as_bytes().len() <= size);
                out.extend_from_slice(sink.as_bytes());
                if progress == Progress::Done {
                    break;
                }
                assert!(!sink.as_bytes().is_empty(), "a chunk made no progress");
            }
            Err(EncodeError::TooLarge { .. }) => {
                assert!(
                    size < whole.len(),
                    "{size} bytes hold the whole output, yet too large"
                );
                assert!(
                    whole.as_bytes().starts_with(&out),
                    "chunks before the refusal differ"
                );
                return;
            }
            Err(e) => panic!("chunked render: {e}"),
        }
    }
    assert_eq!(
        String::from_utf8(out).unwrap(),
        whole,
        "{format:?} chunks of {size}"
    );
}

fuzz_target!(|input: Input| {
    let mut arena = Arena::default();
    let registry = build(&input, &mut arena);
    let mut collector = Collector::default();
    registry.visit(&mut collector);
    let size = usize::from(input.chunk % 2048) + 1;
    for format in [Format::Prometheus, Format::OpenMetrics] {
        let whole = one_shot(registry, format);
        chunked(registry, format, size, &whole);
        match format {
            Format::Prometheus => check_prometheus(&whole, &collector.families),
            _ => check_openmetrics(&whole, &collector.families),
        }
    }
    drop(arena);
});
