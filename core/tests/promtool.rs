//! `promtool check metrics` (Prometheus 2.42, Debian's `prometheus` package) on the
//! Prometheus text rendering of a registry that uses every feature: it must report nothing.
//! Without promtool the test fails and says how to install it.
#![allow(clippy::std_instead_of_core, reason = "a std test binary")]
#[path = "encode_fixture/mod.rs"]
mod common;

mod peers;

fn check(text: &str) -> (bool, String) {
    peers::promtool_check(text)
}

#[test]
#[cfg_attr(
    miri,
    ignore = "runs promtool in a child process, which miri cannot; tests/golden.rs renders the same fixture in-process under miri"
)]
fn promtool_reports_nothing_on_every_feature() {
    let f = common::every_feature();
    let text = common::one_shot(f.registry, false, None);
    // The registry really does use every feature.
    for needle in [
        "# TYPE requests_total counter",
        "otel_metric_overflow=\"true\"",
        "_bucket{le=\"+Inf\"}",
        "quantile=\"0.99\"",
        "\\\"",
        "\\\\",
        "\\n",
        "ünï",
        "note=\"\"",
        "# TYPE queue_depth gauge",
        "kind=\"feedback\",outcome=\"error\"",
        "18446744073709551615",
        "-Inf",
    ] {
        assert!(text.contains(needle), "fixture lacks {needle}");
    }
    let (ok, report) = check(&text);
    assert!(
        ok && report.is_empty(),
        "promtool check metrics:\n{report}\n--- input:\n{text}"
    );
}

#[test]
#[cfg_attr(
    miri,
    ignore = "runs promtool in a child process, which miri cannot; tests/golden.rs renders the same fixture in-process under miri"
)]
fn promtool_is_a_real_check() {
    // The same tool flags a broken exposition, so the test above can fail.
    let (ok, report) = check("# TYPE x counter\nx{a=\"unterminated} 1\n");
    assert!(!ok, "{report}");
    let (ok, report) = check("# HELP x Help\n# TYPE x counter\nx 1\n");
    assert!(
        !ok && report.contains("_total"),
        "lint finding expected: {report}"
    );
}
