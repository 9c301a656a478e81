//! Every value a user can record renders to output that the real parsers accept: Python's
//! `prometheus_client` OpenMetrics and text parsers, and `promtool check metrics`.
//!
//! The registry records the edge values of every metric type: NaN, both infinities,
//! negative values and negative zero, subnormals, the integer extremes, histograms with
//! negative bucket bounds, and summaries over negative values. Where OpenMetrics forbids a
//! sample (a NaN or negative `_sum`, `_sum` on a histogram with negative buckets, a negative
//! quantile value), the encoder leaves it out, as the specification prescribes; the test
//! checks both that the parsers accept the output and that exactly those samples are gone.
//! Without Python, `prometheus_client` or promtool the test fails and says how to install
//! them.
#![allow(clippy::std_instead_of_core, reason = "a std test binary")]
use std::process::Command;

mod peers;
use peers::{promtool_check, run_with_input};

use corral_core::encode::{Renderer, SliceSink};
use corral_core::{
    Counter, Desc, DynamicFamily, FloatCounter, Gauge, Histogram, HistogramCells, IntGauge,
    Registry, RegistryConfig, Summary, SummaryConfig,
};

const BOUNDS: &[f64] = &[0.5, 1.0, 2.5];
const NEGATIVE_BOUNDS: &[f64] = &[-10.0, -1.0, 0.0, 1.0];

/// Parses stdin with the parser named by argv[1]; prints one line per sample name, or the
/// parser's error, and exits non-zero on an error.
const SCRIPT: &str = r#"
import sys
from prometheus_client.parser import text_string_to_metric_families as text_parse
from prometheus_client.openmetrics.parser import text_string_to_metric_families as om_parse
text = sys.stdin.read()
parse = om_parse if sys.argv[1] == "openmetrics" else text_parse
try:
    for family in parse(text):
        for s in family.samples:
            print("%s %s %r" % (family.type, s.name, s.value))
except Exception as e:
    print("PARSE ERROR: %s" % e)
    sys.exit(1)
"#;

fn python(format: &str, text: &str) -> (bool, String) {
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
    run_with_input(Command::new("python3").args(["-c", SCRIPT, format]), text)
}

/// Records every edge value into a fresh registry.
fn record() -> &'static Registry<16> {
    fn leak<T>(value: T) -> &'static T {
        Box::leak(Box::new(value))
    }
    let registry = leak(Registry::<16>::with_config(
        RegistryConfig::DEFAULT.with_self_metrics(false),
    ));

    let counter = leak(Counter::new());
    counter.inc_by(u64::MAX);
    let float_counter = leak(FloatCounter::new());
    for v in [f64::NAN, -1.0, 1e-310, f64::INFINITY, f64::NEG_INFINITY] {
        float_counter.inc_by(v);
    }
    let gauges = leak(DynamicFamily::<Gauge, 1, 16>::new(["case"]));
    for (case, v) in [
        ("nan", f64::NAN),
        ("inf", f64::INFINITY),
        ("neg_inf", f64::NEG_INFINITY),
        ("neg_zero", -0.0),
        ("subnormal", -1e-310),
        ("max", f64::MAX),
        ("min", f64::MIN),
    ] {
        gauges.with_labels([case]).set(v);
    }
    // `add(NaN)` is ignored: this one stays at 2.
    let added = gauges.with_labels(["added"]);
    added.add(2.0);
    added.add(f64::NAN);
    let int_gauges = leak(DynamicFamily::<IntGauge, 1, 4>::new(["case"]));
    int_gauges.with_labels(["min"]).set(i64::MIN);
    int_gauges.with_labels(["max"]).set(i64::MAX);

    let histograms = leak(DynamicFamily::<HistogramCells<4>, 1, 16>::histogram(
        ["case"],
        BOUNDS,
    ));
    for (case, values) in [
        ("nan", &[f64::NAN, 1.0][..]),
        ("negative", &[-3.0, 0.25]),
        ("neg_inf", &[f64::NEG_INFINITY]),
        ("pos_inf", &[f64::INFINITY, 2.0]),
        ("both_inf", &[f64::INFINITY, f64::NEG_INFINITY]),
        ("neg_zero", &[-0.0]),
        ("empty", &[]),
    ] {
        let series = histograms.with_labels([case]);
        // Touch the series even when there is nothing to observe, so it renders.
        let _ = series.count();
        for v in values {
            series.observe(*v);
        }
    }
    let negative_buckets = leak(Histogram::<5>::new(NEGATIVE_BOUNDS));
    for v in [-20.0, -5.0, 0.0, 0.5, 3.0] {
        negative_buckets.observe(v);
    }

    let summaries = leak(
        DynamicFamily::<corral_core::SummaryCells<64>, 1, 8>::summary(
            ["case"],
            SummaryConfig::new(0.001),
        ),
    );
    for (case, values) in [
        ("negative", &[-5.0, -1.0, 2.0][..]),
        ("all_negative", &[-5.0, -1.0]),
        ("nan_only", &[f64::NAN]),
        ("infinities", &[f64::INFINITY, f64::NEG_INFINITY]),
        ("subnormal", &[1e-310, 5e-324]),
    ] {
        let series = summaries.with_labels([case]);
        let _ = series.count();
        for v in values {
            series.observe(*v);
        }
    }
    let empty_summary = leak(Summary::<64>::new(SummaryConfig::new(0.001)));

    let desc = Desc::new;
    registry
        .register(desc("edge_hits_total", "u64::MAX"), counter)
        .unwrap();
    registry
        .register(desc("edge_float_total", "ignored NaN, +Inf"), float_counter)
        .unwrap();
    registry
        .register(desc("edge_level", "every f64 edge"), gauges)
        .unwrap();
    registry
        .register(desc("edge_int_level", "i64 extremes"), int_gauges)
        .unwrap();
    registry
        .register(desc("edge_observed", "edge observations"), histograms)
        .unwrap();
    registry
        .register(desc("edge_below", "negative bounds"), negative_buckets)
        .unwrap();
    registry
        .register(desc("edge_quantiles", "edge observations"), summaries)
        .unwrap();
    registry
        .register(
            desc("edge_empty_quantiles", "nothing observed"),
            empty_summary,
        )
        .unwrap();
    registry
}

fn render(registry: &Registry<16>, mut renderer: Renderer) -> String {
    let mut buf = vec![0u8; 1 << 16];
    let mut sink = SliceSink::new(&mut buf);
    renderer.render(registry, &mut sink).unwrap();
    sink.as_str().to_owned()
}

/// The lines of `text` that start with `prefix`.
fn lines<'t>(text: &'t str, prefix: &str) -> Vec<&'t str> {
    text.lines().filter(|l| l.starts_with(prefix)).collect()
}

#[test]
#[cfg_attr(
    miri,
    ignore = "runs Python and promtool in child processes, which miri cannot"
)]
fn openmetrics_parser_accepts_every_edge_value() {
    let text = render(record(), Renderer::openmetrics());
    let (ok, report) = python("openmetrics", &text);
    assert!(ok, "the OpenMetrics parser refuses:\n{report}\n---\n{text}");

    // What OpenMetrics forbids is left out, and only that.
    let sum = |case: &str| format!("edge_observed_sum{{case=\"{case}\"}}");
    for case in ["negative", "neg_inf", "both_inf"] {
        assert!(!text.contains(&sum(case)), "{case}: no _sum\n{text}");
        let count = format!("edge_observed_count{{case=\"{case}\"}}");
        assert!(!text.contains(&count), "{case}: no _count without _sum");
    }
    for case in ["nan", "pos_inf", "neg_zero", "empty"] {
        assert!(text.contains(&sum(case)), "{case}: keeps _sum\n{text}");
    }
    // The NaN observation was ignored; the 1.0 was not.
    assert!(
        text.contains("edge_observed_sum{case=\"nan\"} 1.0\n"),
        "{text}"
    );
    assert!(
        text.contains("edge_observed_count{case=\"nan\"} 1\n"),
        "{text}"
    );
    assert!(lines(&text, "edge_below_sum").is_empty());
    assert!(lines(&text, "edge_below_count").is_empty());
    assert!(text.contains("edge_below_bucket{le=\"+Inf\"} 5\n"));
    assert!(text.contains("edge_below_bucket{le=\"-10.0\"} 1\n"));
    // Summaries: negative quantile values and negative `_sum`s are gone, `_count` stays.
    assert!(
        lines(&text, "edge_quantiles{case=\"all_negative\"")
            .iter()
            .all(|l| !l.contains("quantile")),
        "{text}"
    );
    assert!(!text.contains("edge_quantiles_sum{case=\"all_negative\"}"));
    assert!(text.contains("edge_quantiles_count{case=\"all_negative\"} 2\n"));
    assert!(!text.contains("edge_quantiles_sum{case=\"infinities\"}"));
    assert!(text.contains("edge_quantiles_count{case=\"nan_only\"} 0\n"));
    assert!(text.contains("edge_quantiles{case=\"negative\",quantile=\"0.99\"}"));
    // Gauges carry every value, NaN included; `add(NaN)` changed nothing.
    assert!(text.contains("edge_level{case=\"nan\"} NaN\n"));
    assert!(text.contains("edge_level{case=\"neg_inf\"} -Inf\n"));
    assert!(text.contains("edge_level{case=\"added\"} 2.0\n"));
    assert!(text.contains("edge_float_total +Inf\n"), "{text}");
}

#[test]
#[cfg_attr(
    miri,
    ignore = "runs Python and promtool in child processes, which miri cannot"
)]
fn text_parser_and_promtool_accept_every_edge_value() {
    let text = render(record(), Renderer::prometheus());
    let (ok, report) = python("text", &text);
    assert!(ok, "the text parser refuses:\n{report}\n---\n{text}");
    let (ok, report) = promtool_check(&text);
    assert!(ok, "promtool refuses:\n{report}\n---\n{text}");
    assert!(report.trim().is_empty(), "promtool reports:\n{report}");
    // The text format has no counter rule for `_sum`: every sample is there.
    assert!(
        text.contains("edge_observed_sum{case=\"negative\"} -2.75\n"),
        "{text}"
    );
    assert!(
        text.contains("edge_observed_sum{case=\"both_inf\"} NaN\n"),
        "{text}"
    );
    assert!(text.contains("edge_below_sum -21.5\n"), "{text}");
    assert!(text.contains("edge_quantiles_sum{case=\"all_negative\"} -6.0\n"));
}

#[test]
#[cfg_attr(miri, ignore = "runs Python in a child process, which miri cannot")]
fn the_openmetrics_parser_refuses_what_the_encoder_leaves_out() {
    // The check above can fail: the same output with a negative histogram `_sum` put back
    // is refused by the parser.
    let text = render(record(), Renderer::openmetrics());
    let broken = text.replacen(
        "edge_observed_bucket{case=\"negative\",le=\"0.5\"}",
        "edge_observed_sum{case=\"negative\"} -2.75\nedge_observed_count{case=\"negative\"} 2\nedge_observed_bucket{case=\"negative\",le=\"0.5\"}",
        1,
    );
    assert_ne!(broken, text);
    let (ok, report) = python("openmetrics", &broken);
    assert!(!ok && report.contains("PARSE ERROR"), "{report}");
}
